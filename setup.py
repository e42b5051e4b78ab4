from setuptools import setup

# Metadata, dependencies and entry points live in pyproject.toml. setup.py
# stays only for Babel's message extractors (as CKAN's extension template
# does), so `python setup.py extract_messages` finds template strings too.
# Do not add other arguments here (https://github.com/ckan/ckan/issues/8382).
setup(
    message_extractors={
        "ckanext": [
            ("**.py", "python", None),
            # CKAN's Jinja extractor by its import path (as dev/i18n does):
            # the "ckan" entry-point name needs pkg_resources, which recent
            # setuptools no longer ships
            ("**/templates/**.html", "ckan.lib.extract:extract_ckan", None),
        ],
    },
)
