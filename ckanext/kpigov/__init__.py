"""ckanext-kpigov: data governance, an update ledger with cadence compliance and
Bangkok KPI 5.2 scoring for CKAN."""

__version__ = "0.1.0"
