"""Thai fiscal calendar: plain tests, no CKAN."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ckanext.kpigov import fiscal
from ckanext.kpigov.fiscal import (
    BANGKOK,
    UTC,
    bangkok_today,
    elapsed_months,
    fiscal_months,
    fiscal_year_bounds,
    fiscal_year_of,
    format_date,
    format_fiscal_year,
    format_month,
    format_quarter,
    month_bounds,
    parse_date,
    quarter_bounds,
    quarter_of,
    to_be,
    to_ce,
    validate_fiscal_year,
)


@pytest.mark.parametrize(("day", "fy"), [
    (date(2023, 9, 30), 2566),
    (date(2023, 10, 1), 2567),
    (date(2023, 12, 31), 2567),
    (date(2024, 1, 1), 2567),
    (date(2024, 2, 29), 2567),
    (date(2024, 9, 30), 2567),
    (date(2024, 10, 1), 2568),
])
def test_fiscal_year_of(day: date, fy: int) -> None:
    assert fiscal_year_of(day) == fy


def test_fiscal_year_of_datetime_uses_bangkok_time() -> None:
    # 2023-09-30 18:00 UTC is already 1 Oct 01:00 in Bangkok: the new fiscal year.
    assert fiscal_year_of(datetime(2023, 9, 30, 18, 0, tzinfo=UTC)) == 2567
    # Naive datetimes are UTC, as CKAN stores them.
    assert fiscal_year_of(datetime(2023, 9, 30, 16, 59)) == 2566
    assert fiscal_year_of(datetime(2023, 9, 30, 17, 0)) == 2567


def test_fiscal_year_bounds() -> None:
    assert fiscal_year_bounds(2567) == (date(2023, 10, 1), date(2024, 9, 30))
    assert fiscal_year_bounds(2564) == (date(2020, 10, 1), date(2021, 9, 30))


def test_fiscal_year_bounds_rejects_ce_year() -> None:
    with pytest.raises(ValueError, match="did you mean 2567"):
        fiscal_year_bounds(2024)


@pytest.mark.parametrize(("day", "quarter"), [
    (date(2023, 10, 1), 1), (date(2023, 12, 31), 1), (date(2024, 1, 1), 2),
    (date(2024, 3, 31), 2), (date(2024, 4, 1), 3), (date(2024, 6, 30), 3),
    (date(2024, 7, 1), 4), (date(2024, 9, 30), 4),
])
def test_quarter_of(day: date, quarter: int) -> None:
    assert quarter_of(day) == quarter


def test_quarter_bounds() -> None:
    assert quarter_bounds(2567, 1) == (date(2023, 10, 1), date(2023, 12, 31))
    assert quarter_bounds(2567, 2) == (date(2024, 1, 1), date(2024, 3, 31))
    assert quarter_bounds(2567, 3) == (date(2024, 4, 1), date(2024, 6, 30))
    assert quarter_bounds(2567, 4) == (date(2024, 7, 1), date(2024, 9, 30))
    with pytest.raises(ValueError, match="quarter"):
        quarter_bounds(2567, 5)


def test_fiscal_months_order() -> None:
    months = fiscal_months(2567)
    assert months[0] == (2023, 10)
    assert months[2] == (2023, 12)
    assert months[3] == (2024, 1)
    assert months[-1] == (2024, 9)
    assert len(months) == 12


def test_month_bounds_leap_year() -> None:
    assert month_bounds(2024, 2) == (date(2024, 2, 1), date(2024, 2, 29))
    assert month_bounds(2023, 2) == (date(2023, 2, 1), date(2023, 2, 28))
    assert month_bounds(2023, 12)[1] == date(2023, 12, 31)


@pytest.mark.parametrize(("today", "count"), [
    (date(2023, 9, 15), 0),
    (date(2023, 10, 31), 0),
    (date(2023, 11, 1), 1),
    (date(2024, 1, 15), 3),
    (date(2024, 9, 30), 11),
    (date(2024, 10, 1), 12),
    (date(2030, 1, 1), 12),
])
def test_elapsed_months(today: date, count: int) -> None:
    assert elapsed_months(2567, today) == count


def test_be_conversion() -> None:
    assert to_be(2024) == 2567
    assert to_ce(2567) == 2024


def test_format_date() -> None:
    assert format_date(date(2024, 1, 15), "th") == "15 ม.ค. 2567"
    assert format_date(date(2024, 1, 15), "en") == "15 Jan 2024"
    assert format_date(date(2024, 2, 29), "th_TH") == "29 ก.พ. 2567"
    assert format_date(date(2023, 12, 31), "en_GB") == "31 Dec 2023"
    # A UTC evening is already the next day in Bangkok.
    assert format_date(datetime(2023, 12, 31, 18, tzinfo=UTC), "th") == "1 ม.ค. 2567"


def test_format_month_and_labels() -> None:
    assert format_month(2024, 1, "th") == "ม.ค. 2567"
    assert format_month(2024, 1, "en") == "Jan 2024"
    assert format_month(2023, 10, "th") == "ต.ค. 2566"
    assert format_fiscal_year(2567, "th") == "ปีงบประมาณ พ.ศ. 2567"
    assert format_fiscal_year(2567, "en") == "FY 2024 (Oct 2023 – Sep 2024)"
    assert format_quarter(2567, 2, "th") == "ไตรมาส 2/2567"
    assert format_quarter(2567, 2, "en") == "Q2 FY 2024"
    with pytest.raises(ValueError):
        format_month(2024, 13)


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-01-15", date(2024, 1, 15)),
    ("2567-01-15", date(2024, 1, 15)),
    ("2024-02-29", date(2024, 2, 29)),
    # 2567 is not divisible by 4, but 2567 B.E. = 2024 C.E. is a leap year.
    ("2567-02-29", date(2024, 2, 29)),
    ("๒๕๖๗-๑๒-๓๑", date(2024, 12, 31)),
    (" 2024-1-5 ", date(2024, 1, 5)),
    ("2024-01-15T10:30:00+07:00", date(2024, 1, 15)),
])
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", [
    "2023-02-30", "2023-02-29", "2566-02-29", "2024-13-01", "2024-04-31", "2024-00-10",
    "15/01/2024", "tomorrow", "", "2024-01",
])
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_bangkok_today() -> None:
    assert bangkok_today(datetime(2024, 1, 14, 17, 0, tzinfo=UTC)) == date(2024, 1, 15)
    assert bangkok_today(datetime(2024, 1, 14, 16, 59, tzinfo=UTC)) == date(2024, 1, 14)
    assert bangkok_today(datetime(2024, 1, 15, 0, 30, tzinfo=BANGKOK)) == date(2024, 1, 15)
    assert isinstance(bangkok_today(), date)


def test_validate_fiscal_year() -> None:
    today = date(2024, 1, 15)  # FY 2567
    assert validate_fiscal_year(2567, today) == 2567
    assert validate_fiscal_year(2568, today) == 2568
    assert validate_fiscal_year(fiscal.MIN_FISCAL_YEAR, today) == 2550
    assert validate_fiscal_year("2566", today) == 2566
    for bad in (2569, 2549, 2024, "abc", None, True, 2567.0):
        with pytest.raises(ValueError, match="fiscal year"):
            validate_fiscal_year(bad, today)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31)))
def test_fiscal_year_of_consistent_with_bounds(day: date) -> None:
    fy = fiscal_year_of(day)
    start, end = fiscal_year_bounds(fy)
    assert start <= day <= end
    q_start, q_end = quarter_bounds(fy, quarter_of(day))
    assert q_start <= day <= q_end
    assert (day.year, day.month) in fiscal_months(fy)


@given(st.integers(min_value=2450, max_value=2650))
def test_fiscal_years_are_contiguous(fy: int) -> None:
    assert fiscal_year_bounds(fy)[1] + timedelta(days=1) == fiscal_year_bounds(fy + 1)[0]
    assert fiscal_year_of(fiscal_year_bounds(fy)[0]) == fy


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2300, 12, 31)))
def test_parse_date_round_trips_be(day: date) -> None:
    be_text = f"{to_be(day.year):04d}-{day.month:02d}-{day.day:02d}"
    assert parse_date(be_text) == day
    if day.year < 2400:
        assert parse_date(day.isoformat()) == day
