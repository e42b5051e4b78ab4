"""Per-period compliance with a frozen ``today``."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ckanext.kpigov.cadence import Cadence, parse_cadence
from ckanext.kpigov.compliance import (
    ComplianceResult,
    Exemption,
    LedgerEntry,
    evaluate_compliance,
    evaluate_fiscal_year,
)
from ckanext.kpigov.fiscal import BANGKOK, UTC

MONTHLY = parse_cadence("เดือน")
QUARTERLY = parse_cadence("ไตรมาส")
YEARLY = parse_cadence("ปี")
DAILY = parse_cadence("วัน")
FY_START, FY_END = date(2023, 10, 1), date(2024, 9, 30)  # FY 2567
SINCE_LONG_AGO = [(datetime(2022, 1, 1, tzinfo=BANGKOK), MONTHLY)]


def entry(id_: str, day: str, nature: str = "new_data", hour: int = 10,
          minute: int = 0) -> LedgerEntry:
    y, m, d = (int(x) for x in day.split("-"))
    return LedgerEntry(id_, datetime(y, m, d, hour, minute, tzinfo=BANGKOK), nature)


def run(entries: list[LedgerEntry], today: str, history: object = None,
        **kw: object) -> ComplianceResult:
    y, m, d = (int(x) for x in today.split("-"))
    return evaluate_compliance(
        entries, history if history is not None else SINCE_LONG_AGO,  # type: ignore[arg-type]
        start=kw.pop("start", FY_START), end=kw.pop("end", FY_END),  # type: ignore[arg-type]
        today=date(y, m, d), **kw,  # type: ignore[arg-type]
    )


def statuses(result: ComplianceResult) -> dict[str, str]:
    return {p.key: p.status for p in result.periods}


def test_monthly_on_time_and_upcoming() -> None:
    result = run([entry("a", "2023-10-05"), entry("b", "2023-11-05"),
                  entry("c", "2023-12-05")], today="2024-01-20")
    got = statuses(result)
    assert got["2023-10"] == got["2023-11"] == got["2023-12"] == "on_time"
    assert got["2024-01"] == "upcoming"
    assert got["2024-09"] == "upcoming"
    assert len(result.periods) == 12
    counts = result.tally()
    assert (counts.on_time, counts.due, counts.upcoming) == (3, 3, 9)
    assert counts.rate == 1.0
    assert result.periods[0].entry_ids == ("a",)
    assert result.periods[0].deadline == date(2023, 11, 15)


def test_update_within_grace_is_on_time() -> None:
    # BMA: October's data entered by 15 November.
    result = run([entry("oct-data", "2023-11-14")], today="2024-01-20")
    got = statuses(result)
    assert got["2023-10"] == "on_time"
    # One entry satisfies one period only: November is not also covered.
    assert got["2023-11"] == "missed"
    assert result.periods[0].entry_ids == ("oct-data",)


def test_deadline_day_boundaries_in_bangkok_time() -> None:
    on_deadline = entry("x", "2023-11-15", hour=23, minute=59)
    assert statuses(run([on_deadline], today="2023-12-20"))["2023-10"] == "on_time"
    # 15 Nov 17:30 UTC is 16 Nov 00:30 in Bangkok: past October's deadline.
    after = LedgerEntry("y", datetime(2023, 11, 15, 17, 30, tzinfo=UTC))
    got = statuses(run([after], today="2023-12-20"))
    assert got["2023-10"] == "missed"  # the entry is November's, on time
    assert got["2023-11"] == "on_time"


def test_today_on_the_deadline_is_still_upcoming() -> None:
    assert statuses(run([], today="2023-11-15"))["2023-10"] == "upcoming"
    assert statuses(run([], today="2023-11-16"))["2023-10"] == "missed"
    # Within the month itself with no update yet: upcoming.
    assert statuses(run([], today="2023-10-20"))["2023-10"] == "upcoming"


def test_late_update_fills_an_earlier_miss() -> None:
    entries = [entry("n1", "2023-11-20"), entry("d1", "2023-12-10"), entry("d2", "2023-12-20")]
    result = run(entries, today="2024-01-20")
    got = statuses(result)
    assert got["2023-11"] == "on_time"
    assert got["2023-12"] == "on_time"
    assert got["2023-10"] == "late"
    by_key = {p.key: p for p in result.periods}
    assert by_key["2023-10"].entry_ids == ("d2",)
    assert by_key["2023-11"].entry_ids == ("n1",)
    counts = result.tally()
    assert (counts.on_time, counts.late, counts.missed, counts.due) == (2, 1, 0, 3)
    assert counts.rate == pytest.approx(2 / 3)
    lenient = run(entries, today="2024-01-20", count_late_as_on_time=True).tally()
    assert lenient.rate == 1.0
    assert lenient.late == 1  # still reported separately


def test_corrections_and_metadata_do_not_count() -> None:
    entries = [entry("c", "2023-10-05", "correction"), entry("m", "2023-11-05", "metadata")]
    got = statuses(run(entries, today="2024-01-20"))
    assert got["2023-10"] == got["2023-11"] == "missed"
    got = statuses(run(entries, today="2024-01-20", count_corrections=True))
    assert got["2023-10"] == "on_time"
    assert got["2023-11"] == "missed"  # metadata never counts


def test_future_entries_are_ignored() -> None:
    got = statuses(run([entry("f", "2023-12-05")], today="2023-12-01"))
    assert got["2023-12"] == "upcoming"
    assert got["2023-10"] == "missed"


def test_lowering_cadence_mid_year_waits_for_the_next_fiscal_year() -> None:
    # monthly at the start of FY 2567, yearly from 20 January: what the year owes
    # was fixed on 1 October, so every month stays a monthly period
    history = SINCE_LONG_AGO + [(datetime(2024, 1, 20, 9, tzinfo=BANGKOK), YEARLY)]
    result = run([], today="2024-03-01", history=history)
    by_key = {p.key: p for p in result.periods}
    assert by_key["2024-01"].status == "missed"
    assert by_key["2024-01"].cadence == MONTHLY
    assert by_key["2024-02"].status == "upcoming"
    assert by_key["2024-02"].cadence == MONTHLY
    assert len(result.periods) == 12
    # the next fiscal year starts under the yearly cadence
    nxt = run([], today="2024-11-01", history=history,
              start=date(2024, 10, 1), end=date(2025, 9, 30))
    assert [(p.key, p.cadence) for p in nxt.periods] == [("FY2568", YEARLY)]


def test_raising_cadence_after_midnight_applies_from_the_next_period() -> None:
    base = [(datetime(2022, 1, 1, tzinfo=BANGKOK), QUARTERLY)]
    late_change = base + [(datetime(2024, 1, 1, 0, 30, tzinfo=BANGKOK), MONTHLY)]
    got = statuses(run([], today="2024-05-01", history=late_change))
    assert got["2567-Q2"] == "missed"  # Q2 had begun under the quarterly cadence
    assert "2024-01" not in got and got["2024-04"] == "upcoming"
    early_change = base + [(datetime(2023, 12, 31, 23, 0, tzinfo=BANGKOK), MONTHLY)]
    got = statuses(run([], today="2024-05-01", history=early_change))
    assert "2567-Q2" not in got and got["2024-01"] == "missed"


def test_raising_cadence_mid_period_waits_for_the_next_period() -> None:
    history = [(datetime(2022, 1, 1, tzinfo=BANGKOK), QUARTERLY),
               (datetime(2023, 11, 10, tzinfo=BANGKOK), DAILY)]
    result = run([entry("q", "2023-11-20")], today="2024-01-05", history=history)
    first = result.periods[0]
    assert (first.key, first.status, first.cadence) == ("2567-Q1", "on_time", QUARTERLY)
    assert result.periods[1].key == "2024-01-01"
    assert result.periods[1].cadence == DAILY
    # Daily periods get at most one day of grace, not 15.
    assert result.periods[1].deadline == date(2024, 1, 2)


def test_no_cadence_or_unknown_cadence_is_not_required() -> None:
    history = [(datetime(2022, 1, 1, tzinfo=BANGKOK), parse_cadence("ไม่ทราบ")),
               (datetime(2024, 3, 15, tzinfo=BANGKOK), MONTHLY)]
    result = run([], today="2024-05-20", history=history)
    got = statuses(result)
    assert got["2024-03"] == "not_required"  # unknown at the start of March
    assert got["2023-10"] == "not_required"
    assert got["2024-04"] == "missed"
    assert run([], today="2024-05-20", history=[]).tally().due == 0
    assert run([], today="2024-05-20", history=[]).tally().rate is None


def test_exemption_with_expiry() -> None:
    november = Exemption(date(2023, 11, 1), date(2023, 11, 30),
                         datetime(2024, 6, 1, tzinfo=BANGKOK), id="ex-1")
    result = run([], today="2024-01-20", exemptions=[november])
    by_key = {p.key: p for p in result.periods}
    assert by_key["2023-11"].status == "exempt"
    assert by_key["2023-11"].exemption_id == "ex-1"
    assert by_key["2023-10"].status == "missed"
    assert result.tally().due == 2  # Oct and Dec; exempt periods are not due
    expired = run([], today="2024-06-01", exemptions=[november])
    assert statuses(expired)["2023-11"] == "missed"
    forever = (date(2023, 10, 1), date(2023, 12, 31), None)
    got = statuses(run([], today="2024-06-01", exemptions=[forever]))
    assert got["2023-10"] == got["2023-11"] == got["2023-12"] == "exempt"


def test_partial_exemption_does_not_exempt_the_period() -> None:
    half = Exemption(date(2023, 11, 1), date(2023, 11, 15))
    assert statuses(run([], today="2024-01-20", exemptions=[half]))["2023-11"] == "missed"


def test_exempt_period_does_not_consume_entries() -> None:
    october = Exemption(date(2023, 10, 1), date(2023, 10, 31))
    got = statuses(run([entry("n", "2023-11-05")], today="2024-01-20", exemptions=[october]))
    assert got["2023-10"] == "exempt"
    assert got["2023-11"] == "on_time"


def test_dataset_created_mid_year() -> None:
    history = [(datetime(2024, 1, 20, 9, tzinfo=BANGKOK), MONTHLY)]
    result = run([entry("first", "2024-01-20", hour=9, minute=5)], today="2024-03-20",
                 history=history, created=datetime(2024, 1, 20, 2, tzinfo=UTC))
    periods = result.periods
    assert [p.status for p in periods[:4]] == ["not_required"] * 4
    assert (periods[3].start, periods[3].end) == (date(2024, 1, 1), date(2024, 1, 19))
    january = periods[4]
    assert (january.key, january.start, january.status) == ("2024-01", date(2024, 1, 20), "on_time")
    assert statuses(result)["2024-02"] == "missed"
    cells = result.by_month()
    assert cells[(2023, 10)].status == "not_required"
    assert cells[(2024, 1)].status == "on_time"
    assert cells[(2024, 1)].counts == {"not_required": 1, "on_time": 1}


def test_created_on_the_first_day_with_cadence_set_that_morning() -> None:
    history = [(datetime(2023, 10, 1, 9, tzinfo=BANGKOK), MONTHLY)]
    result = run([entry("a", "2023-10-01", hour=9)], today="2023-12-20", history=history,
                 created=date(2023, 10, 1))
    assert statuses(result)["2023-10"] == "on_time"


def test_created_mid_year_with_cadence_set_before_creation() -> None:
    got = statuses(run([], today="2024-03-20", created=date(2024, 2, 1)))
    assert got["2024-01"] == "not_required"
    assert got["2024-02"] == "missed"


def test_grace_per_unit_mapping() -> None:
    late_entry = [entry("x", "2023-11-10")]
    assert statuses(run(late_entry, today="2024-01-20", grace_days={"monthly": 0}))[
        "2023-10"] == "missed"
    assert statuses(run(late_entry, today="2024-01-20", grace_days=10))["2023-10"] == "on_time"
    assert statuses(run(late_entry, today="2024-01-20", grace_days=9))["2023-10"] == "missed"


def test_quarterly_month_cells_and_quarter_tallies() -> None:
    history = [(datetime(2022, 1, 1, tzinfo=BANGKOK), QUARTERLY)]
    result = run([entry("q1", "2023-12-01")], today="2024-05-01", history=history)
    cells = result.months()
    assert len(cells) == 12
    assert [c.status for c in cells[:3]] == ["on_time"] * 3
    assert [c.status for c in cells[3:6]] == ["missed"] * 3
    assert cells[6].status == "upcoming"
    assert cells[0].period_keys == ("2567-Q1",)
    quarters = result.by_quarter()
    assert quarters[(2567, 1)].on_time == 1
    assert quarters[(2567, 2)].missed == 1
    assert quarters[(2567, 3)].upcoming == 1


def test_group_by_fiscal_year_across_two_years() -> None:
    # On the 20th, outside the previous month's grace window.
    entries = [entry(f"e{m}", f"2023-{m:02d}-20") for m in range(1, 13)]
    result = run(entries, today="2024-11-20", start=date(2022, 10, 1), end=FY_END)
    years = result.by_fiscal_year()
    assert sorted(years) == [2566, 2567]
    assert len(years[2566]) == len(years[2567]) == 12
    assert result.tally(2566).on_time == 9  # Jan..Sep 2023
    assert result.tally(2567).on_time == 3  # Oct..Dec 2023
    assert result.tally(2567).missed == 9


def test_evaluate_fiscal_year_matches_range() -> None:
    # September had its own update, so the one of 5 October is October's
    # (created in September: August, which would claim it, was not owed)
    entries = [entry("s", "2023-09-10"), entry("a", "2023-10-05")]
    direct = run(entries, today="2024-01-20")
    by_year = evaluate_fiscal_year(entries, SINCE_LONG_AGO, 2567, today=date(2024, 1, 20),
                                   created=date(2023, 9, 1))
    assert direct.periods == by_year.periods


def test_an_entry_in_septembers_grace_days_counts_once() -> None:
    # 10 October is on time for September (FY 2566, 15 days of grace) and inside
    # October: it counts for September, which needs it, and not for October too
    entries = [entry("x", "2023-10-10")]
    fy66 = evaluate_fiscal_year(entries, SINCE_LONG_AGO, 2566, today=date(2024, 1, 20))
    fy67 = evaluate_fiscal_year(entries, SINCE_LONG_AGO, 2567, today=date(2024, 1, 20))
    assert statuses(fy66)["2023-09"] == "on_time"
    assert statuses(fy67)["2023-10"] == "missed"
    used = [i for r in (fy66, fy67) for p in r.periods for i in p.entry_ids]
    assert used == ["x"]
    # with its own update, September leaves the October one to October
    entries.append(entry("s", "2023-09-20"))
    fy67 = evaluate_fiscal_year(entries, SINCE_LONG_AGO, 2567, today=date(2024, 1, 20))
    assert statuses(fy67)["2023-10"] == "on_time"


def test_month_cells_show_worst_status() -> None:
    history = [(datetime(2022, 1, 1, tzinfo=BANGKOK), parse_cadence("เดือน", 2))]
    result = run([entry("a", "2023-10-03")], today="2023-12-20", history=history)
    october = result.by_month()[(2023, 10)]
    assert october.counts == {"on_time": 1, "missed": 1}
    assert october.status == "missed"


def test_bad_range_and_grace() -> None:
    with pytest.raises(ValueError, match="empty range"):
        run([], today="2024-01-01", start=date(2024, 2, 1), end=date(2024, 1, 1))
    with pytest.raises(ValueError, match="grace days"):
        run([], today="2024-01-01", grace_days=-1)
    with pytest.raises(ValueError, match="grace days"):
        run([], today="2024-01-01", grace_days={"monthly": -3})


_CAD = st.sampled_from([MONTHLY, QUARTERLY, YEARLY, DAILY, parse_cadence("สัปดาห์"),
                        parse_cadence("เดือน", 2), parse_cadence("ไม่ทราบ"), None])


@settings(max_examples=60, deadline=None)
@given(
    changes=st.lists(st.tuples(st.integers(-60, 400), _CAD), max_size=4),
    created_offset=st.one_of(st.none(), st.integers(-30, 400)),
    entry_days=st.lists(st.integers(-30, 420), max_size=30),
    today_offset=st.integers(0, 420),
)
def test_periods_partition_range_and_entries_are_used_once(
    changes: list[tuple[int, Cadence | None]], created_offset: int | None,
    entry_days: list[int], today_offset: int,
) -> None:
    history = [(datetime(2023, 10, 1, 12, tzinfo=BANGKOK) + timedelta(days=d), c)
               for d, c in changes]
    entries = [LedgerEntry(f"e{i}", datetime(2023, 10, 1, 8, tzinfo=BANGKOK) + timedelta(days=d))
               for i, d in enumerate(entry_days)]
    created = FY_START + timedelta(days=created_offset) if created_offset is not None else None
    today = FY_START + timedelta(days=today_offset)
    result = evaluate_compliance(entries, history, start=FY_START, end=FY_END, today=today,
                                 created=created)
    periods = result.periods
    assert periods[0].start == FY_START
    assert periods[-1].end == FY_END
    for before, after in pairwise(periods):
        assert before.end + timedelta(days=1) == after.start
    used = [i for p in periods for i in p.entry_ids]
    assert len(used) == len(set(used))
    for p in periods:
        if created is not None and p.end < created:
            assert p.status == "not_required"
        if p.status in ("on_time", "late"):
            assert len(p.entry_ids) == 1
        if p.status == "missed":
            assert p.deadline is not None and p.deadline < today


@settings(max_examples=60, deadline=None)
@given(unit=st.sampled_from(["วัน", "สัปดาห์", "เดือน", "ไตรมาส", "ครึ่งปี", "ปี"]),
       days=st.lists(st.integers(min_value=0, max_value=420), max_size=40),
       today_offset=st.integers(min_value=0, max_value=420),
       created_offset=st.one_of(st.none(), st.integers(min_value=0, max_value=300)))
def test_worst_by_month_agrees_with_month_cells(unit: str, days: list[int], today_offset: int,
                                                created_offset: int | None) -> None:
    """The one-pass heat-map cells equal the full MonthCell computation."""
    base = date(2023, 9, 1)
    entries = [LedgerEntry("e%d" % i, datetime.combine(base + timedelta(days=d),
                                                       datetime.min.time(), BANGKOK),
                           "new_data") for i, d in enumerate(days)]
    history = [(datetime(2022, 1, 1, tzinfo=BANGKOK), parse_cadence(unit))]
    result = evaluate_fiscal_year(
        entries, history, 2567, today=base + timedelta(days=today_offset),
        created=None if created_offset is None else base + timedelta(days=created_offset))
    expected = {(c.year, c.month): c.status for c in result.months()}
    got = result.worst_by_month()
    assert {k: got.get(k, "not_required") for k in expected} == expected
    assert set(got) <= set(expected)
