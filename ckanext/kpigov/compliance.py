"""Per-period update compliance over plain data (pure Python, no CKAN import).

Rules, chosen so the ledger cannot be gamed:

* Only ``new_data`` entries count as updates. Metadata-only edits never count;
  corrections count only with ``count_corrections=True``.
* The cadence in force at the *start* of a period (Bangkok midnight) decides that
  period, so lowering the cadence mid-period cannot erase a miss. Exception: the
  period that starts on the creation day takes the cadence set during that day.
* What a dataset owes in a fiscal year is fixed by the cadence in force when the
  year starts (or when the dataset is created in it): within the year a stricter
  cadence takes effect from the next period start, a laxer one (or one without a
  schedule) only from the next fiscal year. Relief within the year is an
  evaluator's approved exemption, never the publisher's own edit.
* Periods never cross a fiscal year boundary (1 October).
* Each ledger entry satisfies at most one period. Periods take, in order, the
  earliest unused entry inside their window ``start .. end + grace`` (on time);
  leftover entries after a deadline, within the period's fiscal year, then fill
  earlier unmet periods (late). :func:`evaluate_fiscal_year` also judges the
  previous year, so an entry in September's grace days (early October) counts for
  September when September needs it and for October otherwise — never for both.
* ``retired`` (the day a dataset was deleted): later periods are 'not_required';
  the period it was deleted in is still owed.
* The evaluated range ``start .. end`` is partitioned exactly: calendar periods are
  clipped to it, and a period that would start before the dataset's creation is
  cut to begin on the creation day (the part before is 'not_required').
* Periods whose cadence has no schedule (never/unknown/other, or no cadence yet)
  are calendar months with status 'not_required', so heat maps have a cell per month.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple, Protocol, cast

from ckanext.kpigov.cadence import (
    Cadence,
    Period,
    expected_gap,
    parse_cadence,
    period_containing,
)
from ckanext.kpigov.fiscal import (
    fiscal_year_bounds,
    fiscal_year_of,
    local_date,
    month_bounds,
    quarter_of,
)

__all__ = [
    "NATURES",
    "SEVERITY",
    "STATUSES",
    "ComplianceResult",
    "EntryLike",
    "Exemption",
    "LedgerEntry",
    "MonthCell",
    "PeriodStatus",
    "Tally",
    "evaluate_compliance",
    "evaluate_fiscal_year",
    "tally",
]

NATURES = ("new_data", "correction", "metadata")
STATUSES = ("on_time", "late", "missed", "upcoming", "exempt", "not_required")
# Worst first: a month cell shows the worst status of the periods it overlaps.
SEVERITY = ("missed", "late", "upcoming", "on_time", "exempt", "not_required")
_RANK = {status: rank for rank, status in enumerate(SEVERITY)}

_MONTHLY = parse_cadence("monthly")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Asia/Bangkok has been UTC+7 without DST since 1920, so a constant offset is exact
# and lets us turn timestamps into Bangkok day numbers without a zoneinfo lookup.
_BANGKOK_OFFSET = 7 * 3600
_DAY = 86400
_NAIVE_EPOCH = datetime(1970, 1, 1)
_COUNTED = frozenset({"new_data"})
_COUNTED_WITH_CORRECTIONS = frozenset({"new_data", "correction"})


class EntryLike(Protocol):
    """Anything with the three ledger attributes (e.g. a model row)."""

    @property
    def id(self) -> str: ...

    @property
    def timestamp(self) -> datetime: ...

    @property
    def nature(self) -> str: ...


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger entry: an aware timestamp and its nature (see :data:`NATURES`)."""

    id: str
    timestamp: datetime
    nature: str = "new_data"


@dataclass(frozen=True)
class Exemption:
    """An approved exemption for the periods it fully covers.

    It stops applying on the Bangkok date of ``expires_at`` (None = never expires):
    an expired exemption is ignored and its periods are judged normally.
    """

    period_start: date
    period_end: date
    expires_at: datetime | None = None
    id: str | None = None


ExemptionLike = Exemption | tuple[date, date, datetime | None]


class PeriodStatus(NamedTuple):
    """The verdict for one period (a NamedTuple: hundreds of thousands are built).

    ``deadline`` is the last day an update counts as on time (period end + grace);
    ``entry_ids`` are the ledger entries that decided the period (the update that
    satisfied it, on time or late).
    """

    period: Period
    cadence: Cadence | None
    status: str
    deadline: date | None = None
    entry_ids: tuple[str, ...] = ()
    exemption_id: str | None = None

    @property
    def start(self) -> date:
        return self.period.start

    @property
    def end(self) -> date:
        return self.period.end

    @property
    def key(self) -> str:
        return self.period.key

    @property
    def fiscal_year(self) -> int:
        """Periods belong to the fiscal year in which they end (when they fall due)."""
        return fiscal_year_of(self.period.end)

    @property
    def quarter(self) -> int:
        return quarter_of(self.period.end)


@dataclass(frozen=True)
class Tally:
    """Counts of statuses and the compliance rate.

    ``due`` = on_time + late + missed. ``rate`` = on_time / due (or (on_time + late)
    / due with ``count_late_as_on_time``), None when nothing is due yet.
    """

    on_time: int = 0
    late: int = 0
    missed: int = 0
    upcoming: int = 0
    exempt: int = 0
    not_required: int = 0
    count_late_as_on_time: bool = False

    @property
    def due(self) -> int:
        return self.on_time + self.late + self.missed

    @property
    def rate(self) -> float | None:
        if not self.due:
            return None
        good = self.on_time + (self.late if self.count_late_as_on_time else 0)
        return good / self.due

    @property
    def percent(self) -> float | None:
        """``rate`` as a percentage, rounded to 3 decimals."""
        rate = self.rate
        return None if rate is None else round(rate * 100, 3)

    def as_dict(self) -> dict[str, int | float | None]:
        return {
            "on_time": self.on_time, "late": self.late, "missed": self.missed,
            "upcoming": self.upcoming, "exempt": self.exempt,
            "not_required": self.not_required, "due": self.due, "rate": self.rate,
        }


def tally(results: Iterable[PeriodStatus], count_late_as_on_time: bool = False) -> Tally:
    """Count the statuses of ``results``."""
    counts = Counter(r.status for r in results)
    return Tally(
        on_time=counts["on_time"], late=counts["late"], missed=counts["missed"],
        upcoming=counts["upcoming"], exempt=counts["exempt"],
        not_required=counts["not_required"],
        count_late_as_on_time=count_late_as_on_time,
    )


@dataclass(frozen=True)
class MonthCell:
    """Heat-map cell: the periods overlapping one calendar month (C.E. year)."""

    year: int
    month: int
    status: str
    counts: Mapping[str, int] = field(default_factory=dict)
    period_keys: tuple[str, ...] = ()

    @property
    def fiscal_year(self) -> int:
        return fiscal_year_of(date(self.year, self.month, 1))


@dataclass(frozen=True)
class ComplianceResult:
    """All period verdicts for one dataset over ``start .. end``."""

    start: date
    end: date
    today: date
    periods: tuple[PeriodStatus, ...]
    count_late_as_on_time: bool = False

    def tally(self, fiscal_year: int | None = None) -> Tally:
        """Counts and rate, over everything or one fiscal year."""
        selected: Iterable[PeriodStatus] = self.periods
        if fiscal_year is not None:
            selected = (p for p in self.periods if p.fiscal_year == fiscal_year)
        return tally(selected, self.count_late_as_on_time)

    @property
    def rate(self) -> float | None:
        return self.tally().rate

    def by_fiscal_year(self) -> dict[int, list[PeriodStatus]]:
        grouped: dict[int, list[PeriodStatus]] = {}
        for result in self.periods:
            grouped.setdefault(result.fiscal_year, []).append(result)
        return grouped

    def by_quarter(self) -> dict[tuple[int, int], Tally]:
        """Tally per (fiscal year, quarter), for quarterly trends."""
        grouped: dict[tuple[int, int], list[PeriodStatus]] = {}
        for result in self.periods:
            grouped.setdefault((result.fiscal_year, result.quarter), []).append(result)
        return {k: tally(v, self.count_late_as_on_time) for k, v in grouped.items()}

    def months(self) -> list[MonthCell]:
        """One cell per calendar month overlapping the range, whatever the cadence.

        A period overlapping several months (a quarter, a week across a month end)
        appears in each of them; the cell's ``status`` is the worst by
        :data:`SEVERITY`.
        """
        cells: list[MonthCell] = []
        year, month = self.start.year, self.start.month
        index = 0
        while date(year, month, 1) <= self.end:
            first, last = month_bounds(year, month)
            while index < len(self.periods) and self.periods[index].end < first:
                index += 1
            overlapping = []
            j = index
            while j < len(self.periods) and self.periods[j].start <= last:
                overlapping.append(self.periods[j])
                j += 1
            counts = Counter(p.status for p in overlapping)
            worst = min(counts, key=_RANK.__getitem__) if counts else "not_required"
            cells.append(MonthCell(year, month, worst, dict(counts),
                                   tuple(p.key for p in overlapping)))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return cells

    def by_month(self) -> dict[tuple[int, int], MonthCell]:
        return {(c.year, c.month): c for c in self.months()}

    def worst_by_month(self) -> dict[tuple[int, int], str]:
        """``{(year, month): status}``: the ``status`` of :meth:`months`'
        cells that have periods, in one pass over the periods (no cell
        objects; what a heat map of many datasets needs)."""
        out: dict[tuple[int, int], str] = {}
        rank = _RANK
        lo = (self.start.year, self.start.month)
        hi = (self.end.year, self.end.month)
        for p in self.periods:
            y, m = p.start.year, p.start.month
            last = (p.end.year, p.end.month)
            while (y, m) <= last:
                if lo <= (y, m) <= hi:
                    cur = out.get((y, m))
                    if cur is None or rank[p.status] < rank[cur]:
                        out[(y, m)] = p.status
                y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def _seconds(moment: datetime) -> float:
    """POSIX seconds of ``moment``; naive datetimes are UTC, as CKAN stores them."""
    if moment.tzinfo is None:
        return (moment - _NAIVE_EPOCH).total_seconds()
    return moment.timestamp()


def _instant(day: date) -> float:
    """POSIX seconds of Bangkok midnight starting ``day``."""
    return float((day.toordinal() - _EPOCH_ORDINAL) * _DAY - _BANGKOK_OFFSET)


def _grace(grace_days: int | tuple[tuple[str, int], ...], cadence: Cadence, base: Period) -> int:
    if isinstance(grace_days, tuple):
        return dict(grace_days).get(cadence.unit, 0)
    # A single number is meant for monthly data ("by the 15th of next month"); it is
    # capped at the period's own length so a daily dataset does not get 15 days.
    return min(grace_days, base.days)


def _as_exemption(item: ExemptionLike) -> Exemption:
    if isinstance(item, Exemption):
        return item
    return Exemption(item[0], item[1], item[2] if len(item) > 2 else None)


class _Timeline(NamedTuple):
    """A cached partition of the range, with everything that does not depend on
    the entries precomputed (the verdict objects for slots that need no entry id)."""

    periods: tuple[Period, ...]
    cadences: tuple[Cadence | None, ...]
    defaults: tuple[PeriodStatus | None, ...]  # set for not-required slots
    required: tuple[int, ...]  # indices of required slots
    opens: tuple[float, ...]  # per required slot: POSIX start of its first day
    closes: tuple[float, ...]  # per required slot: POSIX end of its deadline day
    deadlines: tuple[int, ...]  # per required slot: last on-time day (ordinal)
    late_closes: tuple[float, ...]  # per required slot: end of its fiscal year
    missed: tuple[PeriodStatus, ...]  # per required slot
    upcoming: tuple[PeriodStatus, ...]  # per required slot


@lru_cache(maxsize=4096)
def _timeline(
    changes: tuple[tuple[float, Cadence | None], ...],
    created: date | None,
    start: date,
    end: date,
    grace: int | tuple[tuple[str, int], ...],
    retired: date | None = None,
) -> _Timeline:
    """Partition ``start .. end`` into periods; cached, as most datasets share it."""
    change_times = [c[0] for c in changes]
    periods: list[Period] = []
    cadences: list[Cadence | None] = []
    defaults: list[PeriodStatus | None] = []
    required: list[int] = []
    opens: list[float] = []
    closes: list[float] = []
    deadlines: list[int] = []
    late_closes: list[float] = []
    missed: list[PeriodStatus] = []
    upcoming: list[PeriodStatus] = []
    cursor = start
    one_day = timedelta(days=1)

    def in_force(day: date) -> Cadence | None:
        # On the creation day the cadence is usually set a few seconds after
        # midnight's instant, so there the whole day's settings count.
        moment = _instant(day + one_day) - 1 if day == created else _instant(day)
        at = bisect_right(change_times, moment) - 1
        return changes[at][1] if at >= 0 else None

    fy_start, fy_end = fiscal_year_bounds(fiscal_year_of(start))
    # the year's obligation: the cadence in force when the year (or the dataset,
    # if created in it) started; the range may start later in the year
    floor = in_force(max(fy_start, created) if created else fy_start)
    while cursor <= end:
        if cursor > fy_end:
            fy_start, fy_end = fiscal_year_bounds(fiscal_year_of(cursor))
            floor = None
        raw = in_force(cursor)
        if cursor == fy_start or cursor == created or \
                expected_gap(raw) <= expected_gap(floor):
            floor = raw  # a new year, a new dataset, or a stricter cadence
        # The cadence in force when the period starts decides it, unless it is
        # laxer than the year's obligation.
        cadence = floor
        fixed = cadence is not None and cadence.fixed
        base = period_containing(cadence if fixed and cadence else _MONTHLY, cursor)
        period_end = min(base.end, end, fy_end)
        is_required = fixed
        if created is not None and cursor < created:
            period_end = min(period_end, created - one_day)
            is_required = False
        if retired is not None and cursor > retired:
            is_required = False
        if cursor == base.start and period_end == base.end:
            period = base
        else:
            period = Period(cursor, period_end, base.key)
        if is_required and cadence is not None:
            deadline = period_end + timedelta(days=_grace(grace, cadence, base))
            required.append(len(periods))
            opens.append(_instant(cursor))
            closes.append(_instant(deadline + one_day))
            deadlines.append(deadline.toordinal())
            late_closes.append(_instant(fy_end + one_day))
            missed.append(PeriodStatus(period, cadence, "missed", deadline))
            upcoming.append(PeriodStatus(period, cadence, "upcoming", deadline))
            defaults.append(None)
        else:
            defaults.append(PeriodStatus(period, cadence, "not_required"))
        periods.append(period)
        cadences.append(cadence)
        cursor = period_end + one_day
    return _Timeline(tuple(periods), tuple(cadences), tuple(defaults), tuple(required),
                     tuple(opens), tuple(closes), tuple(deadlines), tuple(late_closes),
                     tuple(missed), tuple(upcoming))


def evaluate_compliance(
    entries: Iterable[EntryLike],
    cadence_history: Sequence[tuple[datetime, Cadence | None]],
    *,
    start: date,
    end: date,
    today: date,
    created: date | None = None,
    retired: date | None = None,
    exemptions: Iterable[ExemptionLike] = (),
    grace_days: int | Mapping[str, int] = 15,
    count_corrections: bool = False,
    count_late_as_on_time: bool = False,
) -> ComplianceResult:
    """Judge every period of ``start .. end`` (inclusive dates) for one dataset.

    :param entries: ledger entries, any order; only ``new_data`` counts (plus
        ``correction`` with ``count_corrections``); entries after ``today`` are
        ignored.
    :param cadence_history: ``(effective_from, cadence)`` pairs; ``None`` means no
        cadence. Before the first change nothing is required.
    :param created: dataset creation date (or datetime); earlier days are
        'not_required'.
    :param retired: the day the dataset was deleted (date or datetime); periods
        starting later are 'not_required'.
    :param exemptions: approved :class:`Exemption` (or ``(start, end, expires_at)``).
    :param grace_days: days after a period's end an update still counts as on time;
        an int applies to every unit (capped at the period length), a mapping gives
        days per unit key (missing units get 0).
    :param today: the evaluation day; periods whose deadline is today or later and
        that have no update yet are 'upcoming'.
    """
    if end < start:
        raise ValueError(f"empty range: {start} .. {end}")
    counted = _COUNTED_WITH_CORRECTIONS if count_corrections else _COUNTED
    today_ord = today.toordinal()
    limit = _instant(today + timedelta(days=1))  # entries from tomorrow on are ignored
    # Everything below compares POSIX seconds: converting each entry to a Bangkok
    # date would cost more than the whole matching.
    rows = sorted(
        (s, e.id) for e in entries
        if e.nature in counted and (s := _seconds(e.timestamp)) < limit
    )
    secs = [row[0] for row in rows]
    n = len(secs)
    used = bytearray(n)

    # Changes before the range collapse into one, so datasets that differ only in
    # when their (unchanged) cadence was set share a cached timeline.
    first = _instant(start)
    history = [(_seconds(t), i, c) for i, (t, c) in enumerate(cadence_history)]
    if len(history) > 1:
        history.sort(key=lambda item: (item[0], item[1]))
    changes: list[tuple[float, Cadence | None]] = []
    for seconds, _i, cadence in history:
        if seconds <= first and changes:
            changes[-1] = (-1.0e18, cadence)
        else:
            changes.append((-1.0e18 if seconds <= first else seconds, cadence))
    created_day = local_date(created) if created is not None else None
    if created_day is not None and created_day < start:
        created_day = None  # irrelevant to this range: share the cached timeline
    grace: int | tuple[tuple[str, int], ...] = (
        tuple(sorted((k, int(v)) for k, v in grace_days.items()))
        if isinstance(grace_days, Mapping) else int(grace_days)
    )
    values = [v for _k, v in grace] if isinstance(grace, tuple) else [grace]
    if any(v < 0 for v in values):
        raise ValueError(f"grace days must not be negative, got {grace_days!r}")
    retired_day = local_date(retired) if retired is not None else None
    if retired_day is not None and retired_day >= end:
        retired_day = None
    tl = _timeline(tuple(changes), created_day, start, end, grace, retired_day)
    required, opens, closes, deadlines = tl.required, tl.opens, tl.closes, tl.deadlines
    late_closes = tl.late_closes
    m = len(required)

    exempt: dict[int, Exemption] = {}
    active = [x for x in map(_as_exemption, exemptions)
              if x.expires_at is None or local_date(x.expires_at) > today]
    for j, i in enumerate(required if active else ()):
        period = tl.periods[i]
        for x in active:
            if x.period_start <= period.start and period.end <= x.period_end:
                exempt[j] = x
                break

    matched = [-1] * m
    late = [-1] * m
    if n:
        # Pass 1: on time, earliest unused entry inside [start, deadline].
        for j in range(m):
            if exempt and j in exempt:
                continue
            k = bisect_left(secs, opens[j])
            while k < n and used[k]:
                k += 1
            if k < n and secs[k] < closes[j]:
                used[k] = 1
                matched[j] = k
        # Pass 2: late, earliest leftover entry after a passed deadline.
        for j in range(m):
            if matched[j] >= 0 or deadlines[j] >= today_ord or (exempt and j in exempt):
                continue
            k = bisect_left(secs, closes[j])
            while k < n and used[k]:
                k += 1
            if k < n and secs[k] < late_closes[j]:
                used[k] = 1
                late[j] = k

    results = list(tl.defaults)
    for j, i in enumerate(required):
        base = tl.missed[j]
        if exempt and j in exempt:
            status = PeriodStatus(base.period, base.cadence, "exempt", base.deadline,
                                  (), exempt[j].id)
        elif matched[j] >= 0:
            status = PeriodStatus(base.period, base.cadence, "on_time", base.deadline,
                                  (rows[matched[j]][1],))
        elif late[j] >= 0:
            status = PeriodStatus(base.period, base.cadence, "late", base.deadline,
                                  (rows[late[j]][1],))
        elif deadlines[j] >= today_ord:
            status = tl.upcoming[j]
        else:
            status = base
        results[i] = status
    # Every slot is now filled: not-required ones by default, required ones above.
    verdicts = cast("tuple[PeriodStatus, ...]", tuple(results))
    return ComplianceResult(start, end, today, verdicts, count_late_as_on_time)


def evaluate_fiscal_year(
    entries: Iterable[EntryLike],
    cadence_history: Sequence[tuple[datetime, Cadence | None]],
    fiscal_year: int,
    *,
    today: date,
    created: date | None = None,
    retired: date | None = None,
    exemptions: Iterable[ExemptionLike] = (),
    grace_days: int | Mapping[str, int] = 15,
    count_corrections: bool = False,
    count_late_as_on_time: bool = False,
) -> ComplianceResult:
    """:func:`evaluate_compliance` over B.E. fiscal year ``fiscal_year``.

    The previous fiscal year is judged too (and left out of the result), so an
    entry that September's grace days claimed is not counted again for October.
    """
    start, end = fiscal_year_bounds(fiscal_year)
    previous = fiscal_year_bounds(fiscal_year - 1)[0]
    created_day = local_date(created) if created is not None else None
    if created_day is not None and created_day >= start:
        previous = start  # nothing before the year to claim entries
    whole = evaluate_compliance(
        entries, cadence_history, start=previous, end=end, today=today,
        created=created, retired=retired, exemptions=exemptions, grace_days=grace_days,
        count_corrections=count_corrections, count_late_as_on_time=count_late_as_on_time,
    )
    if previous == start:
        return whole
    periods = tuple(p for p in whole.periods if p.period.start >= start)
    return ComplianceResult(start, end, today, periods, count_late_as_on_time)
