"""Static Thai tables for `ckan kpigov seed-demo` (see ckanext.kpigov.demo)."""
