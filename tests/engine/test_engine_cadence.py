"""thai_gdc cadence: parsing, EU URIs, periods and HDX freshness."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ckanext.kpigov.cadence import (
    EU_FREQUENCY_BASE,
    THAI_LABELS,
    UNITS,
    Cadence,
    freshness,
    freshness_thresholds,
    has_fixed_cadence,
    parse_cadence,
    period_containing,
    periods,
)
from ckanext.kpigov.fiscal import UTC

EU = EU_FREQUENCY_BASE

THAI_GDC = [
    ("ปี", "yearly", "ANNUAL", True),
    ("ครึ่งปี", "half_yearly", "ANNUAL_2", True),
    ("ไตรมาส", "quarterly", "QUARTERLY", True),
    ("เดือน", "monthly", "MONTHLY", True),
    ("สัปดาห์", "weekly", "WEEKLY", True),
    ("วัน", "daily", "DAILY", True),
    ("วันทำการ", "business_daily", "DAILY", True),
    ("ชั่วโมง", "hourly", "HOURLY", True),
    ("นาที", "minutely", "1MIN", True),
    ("ตามเวลาจริง", "realtime", "CONT", True),
    ("ไม่มีการปรับปรุงหลังจากการจัดเก็บข้อมูล", "never", "NEVER", False),
    ("ไม่ทราบ", "unknown", "UNKNOWN", False),
    ("อื่นๆ", "other", "OTHER", False),
]


@pytest.mark.parametrize(("label", "unit", "code", "fixed"), THAI_GDC)
def test_every_thai_gdc_label(label: str, unit: str, code: str, fixed: bool) -> None:
    cadence = parse_cadence(label, 1)
    assert cadence.unit == unit
    assert cadence.label_th == label
    assert cadence.eu_uri == EU + code
    assert cadence.eu_code == code
    assert has_fixed_cadence(cadence) is fixed
    # The English key gives the same cadence.
    assert parse_cadence(unit, 1) == cadence


def test_label_table_is_complete() -> None:
    assert set(THAI_LABELS) == {row[0] for row in THAI_GDC}
    assert set(UNITS) == {row[1] for row in THAI_GDC}


@pytest.mark.parametrize(("unit", "interval", "code"), [
    ("เดือน", 2, "MONTHLY_2"),
    ("เดือน", 3, "MONTHLY_3"),
    ("ปี", 2, "ANNUAL_2"),
    ("ปี", 3, "ANNUAL_3"),
    ("ปี", 4, "QUARTERLY"),
    ("ปี", 6, "BIMONTHLY"),
    ("ปี", 12, "MONTHLY"),
    ("ครึ่งปี", 2, "QUARTERLY"),
    ("ไตรมาส", 3, "MONTHLY"),
    ("สัปดาห์", 2, "WEEKLY_2"),
    ("สัปดาห์", 3, "WEEKLY_3"),
    ("วัน", 2, "DAILY_2"),
    ("วัน", 24, "HOURLY"),
    ("ชั่วโมง", 2, "30MIN"),
    ("ชั่วโมง", 4, "15MIN"),
    ("นาที", 30, "CONT"),
    ("ปี", 5, "OTHER"),
    ("เดือน", 5, "OTHER"),
])
def test_eu_code_depends_on_interval(unit: str, interval: int, code: str) -> None:
    assert parse_cadence(unit, interval).eu_uri == EU + code


@pytest.mark.parametrize(("interval", "expected"), [
    (None, 1), ("", 1), ("2", 2), (" 3 ", 3), ("๒", 2), (2.0, 2), ("2.0", 2),
])
def test_interval_forms(interval: object, expected: int) -> None:
    assert parse_cadence("เดือน", interval).interval == expected


def test_unit_spellings() -> None:
    assert parse_cadence(" เดือน ").unit == "monthly"
    assert parse_cadence("อื่น ๆ").unit == "other"
    assert parse_cadence("Half-Yearly").unit == "half_yearly"
    assert parse_cadence("annual").unit == "yearly"


def test_interval_ignored_without_schedule() -> None:
    assert parse_cadence("ไม่ทราบ", "abc").interval == 1
    assert parse_cadence("ตามเวลาจริง", 99).interval == 1


@pytest.mark.parametrize(("unit", "interval", "message"), [
    ("fortnightly", 1, "unknown update frequency unit"),
    ("", 1, "empty"),
    (None, 1, "empty"),
    ("เดือน", 0, "between 1 and 31"),
    ("เดือน", -1, "between 1 and 31"),
    ("เดือน", 32, "between 1 and 31"),
    ("สัปดาห์", 8, "between 1 and 7"),
    ("วัน", 25, "between 1 and 24"),
    ("ปี", 1000, "between 1 and 366"),
    ("เดือน", 1.5, "whole number"),
    ("เดือน", "twice", "whole number"),
    ("เดือน", True, "whole number"),
])
def test_bad_cadence(unit: object, interval: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cadence(unit, interval)


def test_key_and_describe() -> None:
    assert parse_cadence("เดือน").key == "monthly"
    twice = parse_cadence("เดือน", 2)
    assert twice.key == "monthly*2"
    assert twice.describe("th") == "เดือนละ 2 ครั้ง"
    assert twice.describe("en") == "2 times per month"
    assert parse_cadence("ไม่ทราบ").describe("en") == "unknown"
    assert not has_fixed_cadence(None)


def _spans(cadence: Cadence, start: date, end: date) -> list[tuple[str, str, str]]:
    return [(p.start.isoformat(), p.end.isoformat(), p.key)
            for p in periods(cadence, start, end)]


def test_monthly_periods_are_calendar_months() -> None:
    spans = _spans(parse_cadence("เดือน"), date(2024, 1, 10), date(2024, 3, 5))
    assert spans == [
        ("2024-01-01", "2024-01-31", "2024-01"),
        ("2024-02-01", "2024-02-29", "2024-02"),
        ("2024-03-01", "2024-03-31", "2024-03"),
    ]


def test_semimonthly_splits_at_the_15th() -> None:
    cadence = parse_cadence("เดือน", 2)
    assert _spans(cadence, date(2024, 1, 1), date(2024, 2, 29)) == [
        ("2024-01-01", "2024-01-15", "2024-01#1"),
        ("2024-01-16", "2024-01-31", "2024-01#2"),
        ("2024-02-01", "2024-02-15", "2024-02#1"),
        ("2024-02-16", "2024-02-29", "2024-02#2"),
    ]


def test_three_times_a_month_are_dekads() -> None:
    spans = _spans(parse_cadence("เดือน", 3), date(2023, 2, 1), date(2023, 2, 28))
    assert [(s, e) for s, e, _ in spans] == [
        ("2023-02-01", "2023-02-10"), ("2023-02-11", "2023-02-20"), ("2023-02-21", "2023-02-28"),
    ]


def test_quarterly_periods_are_fiscal_quarters() -> None:
    spans = _spans(parse_cadence("ไตรมาส"), date(2023, 10, 1), date(2024, 9, 30))
    assert spans == [
        ("2023-10-01", "2023-12-31", "2567-Q1"),
        ("2024-01-01", "2024-03-31", "2567-Q2"),
        ("2024-04-01", "2024-06-30", "2567-Q3"),
        ("2024-07-01", "2024-09-30", "2567-Q4"),
    ]


def test_half_yearly_and_yearly() -> None:
    assert _spans(parse_cadence("ครึ่งปี"), date(2023, 10, 1), date(2024, 9, 30)) == [
        ("2023-10-01", "2024-03-31", "2567-H1"),
        ("2024-04-01", "2024-09-30", "2567-H2"),
    ]
    assert _spans(parse_cadence("ปี"), date(2024, 3, 1), date(2024, 11, 1)) == [
        ("2023-10-01", "2024-09-30", "FY2567"),
        ("2024-10-01", "2025-09-30", "FY2568"),
    ]
    # Twice a year = the two fiscal halves; four times = the quarters.
    halves = _spans(parse_cadence("ปี", 2), date(2023, 10, 1), date(2024, 9, 30))
    assert [(s, e) for s, e, _ in halves] == [("2023-10-01", "2024-03-31"),
                                             ("2024-04-01", "2024-09-30")]
    quarters = periods(parse_cadence("ปี", 4), date(2023, 10, 1), date(2024, 9, 30))
    assert [p.start.month for p in quarters] == [10, 1, 4, 7]


def test_weekly_periods_are_iso_weeks() -> None:
    spans = _spans(parse_cadence("สัปดาห์"), date(2024, 1, 3), date(2024, 1, 10))
    assert spans == [
        ("2024-01-01", "2024-01-07", "2024-W01"),
        ("2024-01-08", "2024-01-14", "2024-W02"),
    ]
    # ISO week 1 of 2025 starts on Monday 30 Dec 2024.
    assert period_containing(parse_cadence("weekly"), date(2024, 12, 31)).key == "2025-W01"


def test_daily_and_sub_daily_are_days() -> None:
    for label in ("วัน", "ชั่วโมง", "นาที", "ตามเวลาจริง"):
        spans = _spans(parse_cadence(label), date(2024, 2, 28), date(2024, 3, 1))
        assert [s for s, _, _ in spans] == ["2024-02-28", "2024-02-29", "2024-03-01"]
    # Twice a day is still checked per day.
    assert len(periods(parse_cadence("วัน", 2), date(2024, 1, 1), date(2024, 1, 7))) == 7


def test_business_days_cover_the_weekend_from_friday() -> None:
    spans = _spans(parse_cadence("วันทำการ"), date(2024, 1, 5), date(2024, 1, 8))
    assert spans == [
        ("2024-01-05", "2024-01-07", "2024-01-05"),  # Friday .. Sunday
        ("2024-01-08", "2024-01-08", "2024-01-08"),
    ]


def test_no_periods_without_schedule() -> None:
    for label in ("ไม่มีการปรับปรุงหลังจากการจัดเก็บข้อมูล", "ไม่ทราบ", "อื่นๆ"):
        assert periods(parse_cadence(label), date(2024, 1, 1), date(2024, 12, 31)) == []
    with pytest.raises(ValueError):
        period_containing(parse_cadence("ไม่ทราบ"), date(2024, 1, 1))


_CADENCES = st.sampled_from([
    parse_cadence(u, i) for u, i in [
        ("ปี", 1), ("ปี", 2), ("ปี", 5), ("ปี", 12), ("ครึ่งปี", 1), ("ครึ่งปี", 4),
        ("ไตรมาส", 1), ("ไตรมาส", 2), ("เดือน", 1), ("เดือน", 2), ("เดือน", 3),
        ("เดือน", 31), ("สัปดาห์", 1), ("สัปดาห์", 2), ("สัปดาห์", 7), ("วัน", 1),
        ("วันทำการ", 1), ("ชั่วโมง", 1), ("ตามเวลาจริง", 1),
    ]
])


@given(_CADENCES, st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
       st.integers(min_value=0, max_value=400))
def test_periods_tile_the_range(cadence: Cadence, start: date, length: int) -> None:
    end = start + timedelta(days=length)
    spans = periods(cadence, start, end)
    assert spans[0].start <= start
    assert spans[-1].end >= end
    for before, after in pairwise(spans):
        assert before.end + timedelta(days=1) == after.start
    for p in spans:
        assert p.start <= p.end
        assert period_containing(cadence, p.start) == p


# --------------------------------------------------------------------- freshness

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)


def _ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.mark.parametrize(("label", "interval", "ages"), [
    # (fresh, due, overdue, delinquent) sample ages in days; HDX table
    ("เดือน", 1, (29.9, 30, 44, 60)),
    ("สัปดาห์", 1, (6.9, 7, 14, 21)),
    ("วัน", 1, (0.9, 1, 2, 3)),
    ("ไตรมาส", 1, (89, 90, 120, 150)),
    ("ครึ่งปี", 1, (179, 180, 210, 240)),
    ("ปี", 1, (364, 365, 425, 455)),
    ("ปี", 4, (89, 90, 120, 150)),  # four times a year = quarterly row
    ("ปี", 12, (29, 30, 44, 60)),
    ("ชั่วโมง", 1, (0.5, 1, 2, 3)),  # sub-daily held to the daily row
    ("วันทำการ", 1, (2.9, 3, 4, 5)),
])
def test_hdx_freshness_table(label: str, interval: int, ages: tuple[float, ...]) -> None:
    cadence = parse_cadence(label, interval)
    states = [freshness(cadence, _ago(a), NOW) for a in ages]
    assert states == ["fresh", "due", "overdue", "delinquent"]


def test_freshness_scaled_for_unusual_cadence() -> None:
    due, overdue, delinquent = freshness_thresholds(parse_cadence("เดือน", 2)) or (0, 0, 0)
    assert due == 15
    assert due < overdue < delinquent


def test_freshness_not_applicable_and_never_updated() -> None:
    assert freshness(parse_cadence("ไม่ทราบ"), _ago(1000), NOW) == "not_applicable"
    assert freshness(None, _ago(1), NOW) == "not_applicable"
    assert freshness(parse_cadence("เดือน"), None, NOW) == "delinquent"
    # An update in the future (clock skew) is fresh; naive datetimes are UTC.
    assert freshness(parse_cadence("วัน"), NOW + timedelta(hours=1), NOW) == "fresh"
    assert freshness(parse_cadence("วัน"), datetime(2024, 6, 29, 11, 0), NOW) == "due"


def test_freshness_overrides() -> None:
    monthly = parse_cadence("เดือน")
    custom = {"monthly": (10, 20, 30)}
    assert freshness(monthly, _ago(15), NOW, custom) == "due"
    assert freshness(monthly, _ago(25), NOW, custom) == "overdue"
    # An override by unit key also applies to equivalent cadences (12 a year).
    assert freshness(parse_cadence("ปี", 12), _ago(15), NOW, custom) == "due"
    assert freshness(monthly, _ago(15), NOW, {"MONTHLY": [14, 20, 30]}) == "due"
    assert freshness(parse_cadence("เดือน", 2), _ago(6), NOW, {"monthly*2": (5, 8, 12)}) == "due"
    # Defaults still apply to other cadences.
    assert freshness(parse_cadence("สัปดาห์"), _ago(8), NOW, custom) == "due"
    with pytest.raises(ValueError, match="3 numbers"):
        freshness(monthly, _ago(1), NOW, {"monthly": (1, 2)})
    with pytest.raises(ValueError, match="due <= overdue"):
        freshness(monthly, _ago(1), NOW, {"monthly": (30, 20, 40)})
