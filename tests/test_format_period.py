"""Period keys as readers say them (Buddhist Era on Thai pages)."""
import pytest

from ckanext.kpigov.helpers import kpigov_format_period


@pytest.mark.parametrize("key, lang, text", [
    ("2024-05", "th", "พ.ค. 2567"),
    ("2024-05", "en", "May 2024"),
    ("2024-12-30", "th", "30 ธ.ค. 2567"),
    ("2567-Q1", "th", "2567-Q1"),
    ("FY2567", "en", "FY2567"),
    ("", "th", ""),
    ("2024-13", "en", "2024-13"),
])
def test_period_keys(key, lang, text):
    assert kpigov_format_period(key, lang) == text
