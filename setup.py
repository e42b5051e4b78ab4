from setuptools import setup

# Metadata lives in setup.cfg; this file exists for editable installs.
setup()
