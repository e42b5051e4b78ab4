"""The engine's answers to cadence games, at the minute around each boundary.

The rule (README "Compliance rules"): what a dataset owes in a fiscal year is
fixed by the cadence in force when the year (or the dataset) starts; a
stricter cadence takes effect from the next period start, a laxer one only
from the next fiscal year.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ckanext.kpigov.cadence import expected_gap, parse_cadence
from ckanext.kpigov.compliance import LedgerEntry, evaluate_fiscal_year
from ckanext.kpigov.fiscal import BANGKOK

MONTHLY = parse_cadence("เดือน")
QUARTERLY = parse_cadence("ไตรมาส")
YEARLY = parse_cadence("ปี")
WEEKLY = parse_cadence("สัปดาห์")
NEVER = parse_cadence("ไม่มีการปรับปรุงหลังจากการจัดเก็บข้อมูล")
BASE = [(datetime(2022, 1, 1, tzinfo=BANGKOK), MONTHLY)]
MINUTE = timedelta(minutes=1)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=BANGKOK)


def judge(history, today=date(2024, 9, 1), fy=2567, entries=(), **kw):
    return evaluate_fiscal_year(list(entries), history, fy, today=today, **kw)


def verdicts(result):
    return [(p.key, p.status) for p in result.periods]


UPLOADS = [LedgerEntry("oct", at(2023, 10, 10, 9)), LedgerEntry("jan", at(2024, 1, 8, 9))]


@pytest.mark.parametrize("boundary", [at(2023, 11, 1), at(2024, 1, 1), at(2024, 2, 1),
                                      at(2024, 4, 1)])
@pytest.mark.parametrize("laxer", [YEARLY, QUARTERLY, NEVER, None])
def test_laxer_for_two_minutes_around_a_month_start_changes_nothing(boundary, laxer):
    flip = BASE + [(boundary - MINUTE, laxer), (boundary + MINUTE, MONTHLY)]
    assert verdicts(judge(flip, entries=UPLOADS)) == verdicts(judge(BASE, entries=UPLOADS))


@pytest.mark.parametrize("laxer", [YEARLY, QUARTERLY, NEVER, None])
@pytest.mark.parametrize("when", [at(2023, 10, 1, 0, 1), at(2024, 3, 31, 23, 59),
                                  at(2024, 9, 30, 23, 58)])
def test_laxer_within_the_year_waits_for_the_next_year(laxer, when):
    history = BASE + [(when, laxer)]
    this_year = judge(history, entries=UPLOADS)
    assert verdicts(this_year) == verdicts(judge(BASE, entries=UPLOADS))
    assert all(p.cadence == MONTHLY for p in this_year.periods)
    next_year = judge(history, today=date(2025, 9, 1), fy=2568)
    assert {p.cadence for p in next_year.periods} == {laxer}


def test_laxer_a_minute_before_the_year_starts_applies_to_that_year():
    history = BASE + [(at(2023, 9, 30, 23, 59), YEARLY)]
    assert [p.key for p in judge(history).periods] == ["FY2567"]
    # and the year it was made in is untouched
    assert all(p.cadence == MONTHLY for p in judge(history, fy=2566).periods)


def test_stricter_applies_from_the_next_period_start():
    before = BASE + [(at(2024, 2, 29, 23, 59), WEEKLY)]
    after = BASE + [(at(2024, 3, 1, 0, 1), WEEKLY)]
    keys_before = [p.key for p in judge(before).periods]
    keys_after = [p.key for p in judge(after).periods]
    assert "2024-03" not in keys_before and "2024-02" in keys_before
    assert "2024-03" in keys_after  # March had begun monthly
    assert "2024-04" not in keys_after


def test_stricter_then_back_is_still_owed_until_the_year_ends():
    history = BASE + [(at(2024, 2, 29, 23, 59), WEEKLY), (at(2024, 3, 2, 9), MONTHLY)]
    periods = judge(history).periods
    assert "2024-06" not in [p.key for p in periods]
    assert periods[-1].cadence == WEEKLY
    assert all(p.cadence == MONTHLY for p in judge(history, fy=2568,
                                                   today=date(2025, 9, 1)).periods)


def test_no_cadence_at_the_start_of_the_year_then_monthly_is_owed():
    history = [(datetime(2022, 1, 1, tzinfo=BANGKOK), None),
               (at(2024, 1, 15, 9), MONTHLY), (at(2024, 5, 2, 9), None)]
    got = dict(verdicts(judge(history)))
    assert got["2023-12"] == "not_required"
    assert got["2024-02"] == got["2024-06"] == "missed"


def test_a_dataset_created_in_the_year_owes_what_it_was_created_with():
    history = [(at(2024, 3, 10, 9), QUARTERLY), (at(2024, 3, 10, 9, 5), YEARLY)]
    result = judge(history, created=date(2024, 3, 10))
    assert {p.cadence for p in result.periods if p.status != "not_required"} == {YEARLY}
    # (the creation day's last setting is the initial one)


def test_retired_owes_the_period_it_was_deleted_in():
    got = dict(verdicts(judge(BASE, retired=date(2024, 2, 10))))
    assert got["2024-02"] == "missed"
    assert got["2024-03"] == got["2024-09"] == "not_required"
    assert got["2024-01"] == "missed"


@pytest.mark.parametrize("day", [date(2023, 10, 1), date(2023, 10, 15), date(2023, 10, 16)])
def test_an_upload_in_the_grace_days_counts_for_one_year_only(day):
    entries = [LedgerEntry("x", at(day.year, day.month, day.day, 9))]
    fy66 = judge(BASE, fy=2566, entries=entries, today=date(2024, 1, 1))
    fy67 = judge(BASE, entries=entries, today=date(2024, 1, 1))
    used = [i for r in (fy66, fy67) for p in r.periods for i in p.entry_ids]
    assert used == ["x"]
    sept = {p.key: p for p in fy66.periods}["2023-09"]
    octo = {p.key: p for p in fy67.periods}["2023-10"]
    if day.day <= 15:
        assert (sept.status, octo.status) == ("on_time", "missed")
    else:
        assert (sept.status, octo.status) == ("missed", "on_time")


_CAD = st.sampled_from([MONTHLY, QUARTERLY, YEARLY, WEEKLY, NEVER, None])


@settings(max_examples=80, deadline=None)
@given(changes=st.lists(st.tuples(st.integers(1, 365 * 24 * 60), _CAD), max_size=5),
       days=st.lists(st.integers(0, 364), max_size=15))
def test_no_change_of_cadence_lowers_what_the_year_owes(changes, days):
    """Against monthly since long ago: any sequence of edits within the year
    leaves every period at least as strict, and never fewer periods owed."""
    start = at(2023, 10, 1)
    history = BASE + [(start + timedelta(minutes=m), c) for m, c in sorted(
        changes, key=lambda x: x[0])]
    entries = [LedgerEntry(f"e{i}", start + timedelta(days=d, hours=9))
               for i, d in enumerate(days)]
    gamed = judge(history, entries=entries)
    honest = judge(BASE, entries=entries)
    assert all(expected_gap(p.cadence) <= expected_gap(MONTHLY) for p in gamed.periods)
    assert gamed.tally().due >= honest.tally().due
    # a month the honest reading owes and misses is owed and missed too
    gamed_months = gamed.worst_by_month()
    for (y, m), status in honest.worst_by_month().items():
        if status == "missed":
            assert gamed_months[(y, m)] in ("missed", "late")
