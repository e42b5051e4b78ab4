"""Let the tests here import their helper modules (e.g. _writer)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
