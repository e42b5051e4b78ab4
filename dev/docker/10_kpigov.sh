#!/bin/sh
# Run by ckan-base's start script before CKAN starts: kpigov's own tables
# come from its alembic migrations, never from start-up code.
ckan -c "$CKAN_INI" db upgrade -p kpigov
