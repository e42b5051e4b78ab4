"""thai_gdc update cadence: parsing, EU frequency mapping, calendar periods, freshness.

thai_gdc stores a cadence as ``update_frequency_unit`` (a Thai label such as เดือน)
and ``update_frequency_interval``. Here the interval means *at least N updates per
unit*: เดือน × 2 is twice a month (EU ``MONTHLY_2``, semimonthly), ปี × 2 is twice a
year (``ANNUAL_2``, semiannual).

Compliance periods follow the Thai fiscal calendar (quarters and halves start in
October, the year is the fiscal year). Pure Python: no CKAN import.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from ckanext.kpigov.fiscal import UTC, fiscal_year_of

__all__ = [
    "DEFAULT_FRESHNESS",
    "EU_FREQUENCY_BASE",
    "FRESHNESS_STATES",
    "THAI_LABELS",
    "UNITS",
    "Cadence",
    "Period",
    "freshness",
    "freshness_thresholds",
    "expected_gap",
    "has_fixed_cadence",
    "parse_cadence",
    "period_containing",
    "periods",
]

EU_FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"


@dataclass(frozen=True)
class _Unit:
    key: str
    label_th: str  # the thai_gdc value, kept verbatim
    label_en: str
    max_interval: int  # more updates per unit than this is a data-entry error
    fixed: bool  # whether the unit implies a schedule that can be checked
    eu_codes: Mapping[int, str] = field(default_factory=dict)


# Maxima: at most one update per day for day-or-longer units, per minute for hours,
# per second for minutes. Anything above is a typo, not a cadence.
_UNIT_LIST: tuple[_Unit, ...] = (
    _Unit("yearly", "ปี", "yearly", 366, True,
          {1: "ANNUAL", 2: "ANNUAL_2", 3: "ANNUAL_3", 4: "QUARTERLY", 6: "BIMONTHLY",
           12: "MONTHLY", 24: "MONTHLY_2", 36: "MONTHLY_3", 52: "WEEKLY", 365: "DAILY"}),
    _Unit("half_yearly", "ครึ่งปี", "half-yearly", 184, True,
          {1: "ANNUAL_2", 2: "QUARTERLY", 3: "BIMONTHLY", 6: "MONTHLY", 12: "MONTHLY_2",
           18: "MONTHLY_3", 26: "WEEKLY"}),
    _Unit("quarterly", "ไตรมาส", "quarterly", 92, True,
          {1: "QUARTERLY", 3: "MONTHLY", 6: "MONTHLY_2", 9: "MONTHLY_3", 13: "WEEKLY"}),
    _Unit("monthly", "เดือน", "monthly", 31, True,
          {1: "MONTHLY", 2: "MONTHLY_2", 3: "MONTHLY_3"}),
    _Unit("weekly", "สัปดาห์", "weekly", 7, True,
          {1: "WEEKLY", 2: "WEEKLY_2", 3: "WEEKLY_3", 7: "DAILY"}),
    _Unit("daily", "วัน", "daily", 24, True,
          {1: "DAILY", 2: "DAILY_2", 24: "HOURLY"}),
    # No EU code for "every working day"; DAILY is the nearest.
    _Unit("business_daily", "วันทำการ", "every business day", 24, True,
          {1: "DAILY", 2: "DAILY_2", 24: "HOURLY"}),
    _Unit("hourly", "ชั่วโมง", "hourly", 60, True,
          {1: "HOURLY", 2: "30MIN", 4: "15MIN", 6: "10MIN", 12: "5MIN", 60: "1MIN"}),
    _Unit("minutely", "นาที", "every minute", 60, True, {1: "1MIN"}),
    _Unit("realtime", "ตามเวลาจริง", "real time", 1, True, {1: "CONT"}),
    _Unit("never", "ไม่มีการปรับปรุงหลังจากการจัดเก็บข้อมูล",
          "not updated after collection", 1, False, {1: "NEVER"}),
    _Unit("unknown", "ไม่ทราบ", "unknown", 1, False, {1: "UNKNOWN"}),
    _Unit("other", "อื่นๆ", "other", 1, False, {1: "OTHER"}),
)
_UNITS: dict[str, _Unit] = {u.key: u for u in _UNIT_LIST}

UNITS: tuple[str, ...] = tuple(u.key for u in _UNIT_LIST)
THAI_LABELS: dict[str, str] = {u.label_th: u.key for u in _UNIT_LIST}

# Accepted spellings besides the thai_gdc labels and canonical keys (lower-cased,
# spaces and hyphens folded to "_").
_ALIASES: dict[str, str] = {
    "year": "yearly", "annual": "yearly", "annually": "yearly",
    "half_year": "half_yearly", "halfyearly": "half_yearly", "semiannual": "half_yearly",
    "semi_annual": "half_yearly", "semiannually": "half_yearly",
    "quarter": "quarterly",
    "month": "monthly",
    "week": "weekly",
    "day": "daily",
    "business_day": "business_daily", "working_day": "business_daily",
    "workday": "business_daily",
    "hour": "hourly",
    "minute": "minutely",
    "real_time": "realtime", "continuous": "realtime",
    "อื่น_ๆ": "other",
}

# Units whose periods are whole months, anchored on the fiscal year (October).
_MONTHS_PER_UNIT = {"yearly": 12, "half_yearly": 6, "quarterly": 3, "monthly": 1}
# Sub-day cadences are checked per day: the ledger only needs one update per day.
_DAY_UNITS = frozenset({"daily", "hourly", "minutely", "realtime"})


@dataclass(frozen=True)
class Cadence:
    """A canonical update cadence: at least ``interval`` updates per ``unit``."""

    unit: str
    interval: int
    label_th: str
    label_en: str
    eu_uri: str

    @property
    def key(self) -> str:
        """'monthly' for one update per unit, 'monthly*2' for two."""
        return self.unit if self.interval == 1 else f"{self.unit}*{self.interval}"

    @property
    def eu_code(self) -> str:
        return self.eu_uri[len(EU_FREQUENCY_BASE):]

    @property
    def fixed(self) -> bool:
        return _UNITS[self.unit].fixed

    def describe(self, lang: str = "th") -> str:
        """Human wording: 'เดือนละ 2 ครั้ง' / '2 times per month'."""
        info = _UNITS[self.unit]
        thai = lang.lower().startswith("th")
        if not info.fixed or self.unit == "realtime" or self.interval == 1:
            return info.label_th if thai else info.label_en
        if thai:
            return f"{info.label_th}ละ {self.interval} ครั้ง"
        noun = {"half_yearly": "half-year", "business_daily": "business day",
                "yearly": "year", "quarterly": "quarter", "monthly": "month",
                "weekly": "week", "daily": "day", "hourly": "hour",
                "minutely": "minute"}[self.unit]
        return f"{self.interval} times per {noun}"


def _normalize_unit(unit: object) -> str:
    if unit is None or (isinstance(unit, str) and not unit.strip()):
        raise ValueError("update frequency unit is empty")
    text = " ".join(str(unit).split())
    if text in THAI_LABELS:
        return THAI_LABELS[text]
    folded = text.lower().replace("-", "_").replace(" ", "_")
    if folded in _UNITS:
        return folded
    if folded in _ALIASES:
        return _ALIASES[folded]
    raise ValueError(
        f"unknown update frequency unit {unit!r}; expected a thai_gdc label "
        f"({', '.join(THAI_LABELS)}) or one of {', '.join(UNITS)}"
    )


_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


def _normalize_interval(unit: _Unit, interval: object) -> int:
    if interval is None or (isinstance(interval, str) and not interval.strip()):
        return 1
    value: int | None = None
    if isinstance(interval, bool):
        value = None
    elif isinstance(interval, int):
        value = interval
    elif isinstance(interval, float) and interval.is_integer():
        value = int(interval)
    elif isinstance(interval, str):
        text = interval.strip().translate(_THAI_DIGITS)
        if text.lstrip("+-").isdigit():
            value = int(text)
        else:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if number.is_integer():
                value = int(number)
    if value is None:
        raise ValueError(
            f"update frequency interval must be a whole number of updates per "
            f"{unit.label_en} unit, got {interval!r}"
        )
    if not 1 <= value <= unit.max_interval:
        raise ValueError(
            f"update frequency interval for {unit.label_th} ({unit.key}) must be "
            f"between 1 and {unit.max_interval} updates per unit, got {value}"
        )
    return value


@lru_cache(maxsize=512)
def _make(unit_key: str, interval: int) -> Cadence:
    info = _UNITS[unit_key]
    code = info.eu_codes.get(interval)
    if code is None:
        # Many updates per minute is effectively continuous; other odd counts have
        # no EU code.
        code = "CONT" if unit_key == "minutely" else "OTHER"
    return Cadence(unit_key, interval, info.label_th, info.label_en,
                   EU_FREQUENCY_BASE + code)


def parse_cadence(unit: object, interval: object = None) -> Cadence:
    """Canonical :class:`Cadence` from thai_gdc ``update_frequency_unit``/``_interval``.

    ``unit`` is a thai_gdc Thai label or an English key (``monthly``…); ``interval``
    may be an int, a digit string (Thai digits too) or empty (= 1). It is ignored for
    units without a schedule (never/unknown/other) and for real time.
    Raises ValueError for unknown units and for intervals that are not whole numbers
    or fall outside 1..max for the unit (e.g. 31 per month, 7 per week).
    """
    key = _normalize_unit(unit)
    info = _UNITS[key]
    if not info.fixed or key == "realtime":
        return _make(key, 1)
    return _make(key, _normalize_interval(info, interval))


# Nominal days per unit, to tell a stricter cadence from a laxer one. Sub-day
# cadences are checked per day, so they are as strict as daily; a business day
# is a little laxer than a calendar day (weekends).
_STRICTNESS_DAYS = {"yearly": 365.0, "half_yearly": 182.5, "quarterly": 91.25,
                 "monthly": 30.4375, "weekly": 7.0, "business_daily": 1.4,
                 "daily": 1.0, "hourly": 1.0, "minutely": 1.0, "realtime": 1.0}


def expected_gap(cadence: Cadence | None) -> float:
    """Days expected between two checked updates (``inf`` without a schedule).

    The smaller, the stricter: monthly (30.4) is stricter than quarterly (91.25);
    twice a month (15.2) stricter than monthly. Cadences checked per day never go
    below one day.
    """
    if cadence is None or not cadence.fixed:
        return float("inf")
    days = _STRICTNESS_DAYS[cadence.unit]
    return days if days <= 1.4 else max(1.0, days / cadence.interval)


def has_fixed_cadence(cadence: Cadence | None) -> bool:
    """True if the cadence sets a schedule that compliance can check."""
    return cadence is not None and cadence.fixed


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True, order=True)
class Period:
    """A compliance period: ``start``..``end`` inclusive, with a stable ``key``."""

    start: date
    end: date
    key: str = field(default="", compare=False)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end


def _add_months(year: int, month: int, count: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + count
    return index // 12, index % 12 + 1


def _month_block(unit: str, d: date) -> tuple[date, date, str, list[tuple[int, int]]]:
    """The fiscal block (month/quarter/half/year) containing ``d`` and its months."""
    size = _MONTHS_PER_UNIT[unit]
    fy = fiscal_year_of(d)
    offset = (d.month - 10) % 12  # months since October
    first = offset - offset % size
    year, month = _add_months(d.year if d.month >= 10 else d.year - 1, 10, first)
    months = [_add_months(year, month, i) for i in range(size)]
    last_y, last_m = months[-1]
    start = date(year, month, 1)
    end = _add_months(last_y, last_m, 1)
    end_date = date(end[0], end[1], 1) - timedelta(days=1)
    if unit == "monthly":
        key = f"{year:04d}-{month:02d}"
    elif unit == "quarterly":
        key = f"{fy}-Q{first // 3 + 1}"
    elif unit == "half_yearly":
        key = f"{fy}-H{first // 6 + 1}"
    else:
        key = f"FY{fy}"
    return start, end_date, key, months


def _split_days(start: date, end: date, parts: int, nominal: int | None) -> list[tuple[date, date]]:
    """Split start..end into up to ``parts`` consecutive day ranges.

    With ``nominal`` (used for months) boundaries sit at fixed day offsets of a
    ``nominal``-day unit, so a month × 2 is always 1–15 / 16–end and × 3 gives the
    classic dekads 1–10 / 11–20 / 21–end, whatever the month's length.
    """
    length = (end - start).days + 1
    base = nominal if nominal is not None else length
    base = max(base, parts)
    offsets = sorted({min(k * base // parts, length - 1) for k in range(parts)})
    ranges = []
    for i, off in enumerate(offsets):
        nxt = offsets[i + 1] if i + 1 < len(offsets) else length
        ranges.append((start + timedelta(days=off), start + timedelta(days=nxt - 1)))
    return ranges


@lru_cache(maxsize=65536)
def period_containing(cadence: Cadence, d: date) -> Period:
    """The calendar period of ``cadence`` that contains day ``d``.

    Raises ValueError for cadences without a schedule (never/unknown/other).
    """
    unit, n = cadence.unit, cadence.interval
    if not cadence.fixed:
        raise ValueError(f"cadence {cadence.key!r} has no periods")
    if unit in _DAY_UNITS:
        return Period(d, d, d.isoformat())
    if unit == "business_daily":
        # A business day's period runs until the next business day, so weekends
        # belong to Friday and the periods still tile the calendar.
        start = d - timedelta(days=max(0, d.weekday() - 4))
        end = start + timedelta(days=3 if start.weekday() == 4 else 1) - timedelta(days=1)
        return Period(start, end, start.isoformat())
    if unit == "weekly":
        start = d - timedelta(days=d.weekday())
        end = start + timedelta(days=6)
        iso = start.isocalendar()
        key = f"{iso[0]:04d}-W{iso[1]:02d}"
        ranges = _split_days(start, end, n, None) if n > 1 else [(start, end)]
    else:
        start, end, key, months = _month_block(unit, d)
        if n == 1:
            ranges = [(start, end)]
        elif len(months) % n == 0:
            step = len(months) // n
            ranges = []
            for i in range(n):
                y0, m0 = months[i * step]
                y1, m1 = _add_months(*months[i * step + step - 1], 1)
                ranges.append((date(y0, m0, 1), date(y1, m1, 1) - timedelta(days=1)))
        else:
            ranges = _split_days(start, end, n, 30 if unit == "monthly" else None)
    if len(ranges) == 1:
        return Period(ranges[0][0], ranges[0][1], key)
    for index, (s, e) in enumerate(ranges, start=1):
        if s <= d <= e:
            return Period(s, e, f"{key}#{index}")
    raise AssertionError("unreachable: sub-periods tile their unit")  # pragma: no cover


def periods(cadence: Cadence, start: date, end: date) -> list[Period]:
    """Whole periods of ``cadence`` overlapping ``start``..``end``, in order.

    Monthly → calendar months; quarterly → fiscal quarters (Q1 = Oct–Dec);
    half-yearly → Oct–Mar / Apr–Sep; yearly → fiscal year; weekly → ISO weeks
    Mon–Sun; daily, hourly, minutely and real time → days; business-daily → each
    working day (Fri covers the weekend). ``interval`` N > 1 splits the unit into N
    sub-periods (by whole months when N divides the unit's months, otherwise by
    days). Cadences without a schedule have no periods: ``[]``.
    """
    if not cadence.fixed or end < start:
        return []
    result: list[Period] = []
    cursor = start
    while cursor <= end:
        period = period_containing(cadence, cursor)
        result.append(period)
        cursor = period.end + timedelta(days=1)
    return result


# ------------------------------------------------------------------------- freshness

FRESHNESS_STATES = ("fresh", "due", "overdue", "delinquent", "not_applicable")

# HDX data-freshness table: days after the last update at which a dataset becomes
# due / overdue / delinquent. Keyed by EU frequency code so equivalent cadences
# (ปี × 4 and ไตรมาส × 1) share a row; keys by cadence key take precedence.
DEFAULT_FRESHNESS: dict[str, tuple[float, float, float]] = {
    "DAILY": (1, 2, 3),
    "WEEKLY": (7, 14, 21),
    "BIWEEKLY": (14, 21, 28),
    "MONTHLY": (30, 44, 60),
    "QUARTERLY": (90, 120, 150),
    "ANNUAL_2": (180, 210, 240),
    "ANNUAL": (365, 425, 455),
    # A Friday update is due on Monday, not on Saturday.
    "business_daily": (3, 4, 5),
    # Sub-day cadences are held to the daily row, like their compliance periods.
    "hourly": (1, 2, 3),
    "minutely": (1, 2, 3),
    "realtime": (1, 2, 3),
}

_NOMINAL_DAYS = {"yearly": 365.0, "half_yearly": 182.0, "quarterly": 91.0,
                 "monthly": 30.0, "weekly": 7.0}

Thresholds = tuple[float, float, float]
ThresholdOverrides = Mapping[str, Sequence[float]]


def _override_keys(key: str) -> list[str]:
    """Keys an override may be written under: cadence key, unit key or EU code."""
    keys = [key]
    unit, _, count = key.partition("*")
    try:
        cadence = parse_cadence(unit, count or None)
    except ValueError:
        return keys
    keys.append(cadence.key)
    if cadence.eu_code not in ("OTHER", "UNKNOWN"):
        keys.append(cadence.eu_code)
    return keys


def _valid_thresholds(key: str, values: Sequence[float]) -> Thresholds:
    if len(values) != 3:
        raise ValueError(f"freshness thresholds for {key!r} need 3 numbers "
                         f"(due, overdue, delinquent), got {values!r}")
    due, overdue, delinquent = (float(v) for v in values)
    if not 0 < due <= overdue <= delinquent:
        raise ValueError(f"freshness thresholds for {key!r} must satisfy "
                         f"0 < due <= overdue <= delinquent, got {values!r}")
    return due, overdue, delinquent


def freshness_thresholds(cadence: Cadence,
                         overrides: ThresholdOverrides | None = None) -> Thresholds | None:
    """(due, overdue, delinquent) in days for ``cadence``, or None if not applicable.

    ``overrides`` maps a cadence key ('monthly', 'monthly*2'), a unit key or an EU
    code ('MONTHLY') to three numbers and wins over :data:`DEFAULT_FRESHNESS`.
    Cadences with no row are scaled from their expected gap E = unit days / N:
    due E, overdue E + max(1, E/2), delinquent E + max(2, E) (monthly gives 30/45/60,
    close to HDX's 30/44/60).
    """
    if not cadence.fixed:
        return None
    table: dict[str, Thresholds] = {}
    for key, row in DEFAULT_FRESHNESS.items():
        table[key] = (float(row[0]), float(row[1]), float(row[2]))
    for key, values in (overrides or {}).items():
        checked = _valid_thresholds(key, values)
        for alias in _override_keys(key):
            table[alias] = checked
    for lookup in (cadence.key, cadence.unit if cadence.interval == 1 else "", cadence.eu_code):
        if lookup in table:
            return table[lookup]
    if cadence.unit in _NOMINAL_DAYS:
        gap = _NOMINAL_DAYS[cadence.unit] / cadence.interval
        if gap >= 1:
            return gap, gap + max(1.0, gap / 2), gap + max(2.0, gap)
    return table["DAILY"]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def freshness(cadence: Cadence | None, last_update: datetime | None, now: datetime,
              thresholds: ThresholdOverrides | None = None) -> str:
    """HDX-style state: 'fresh' | 'due' | 'overdue' | 'delinquent' | 'not_applicable'.

    The age is ``now - last_update`` in days; a state starts when the age reaches its
    threshold. No cadence or one without a schedule → 'not_applicable'. A fixed
    cadence that was never updated (``last_update`` None) → 'delinquent'. Naive
    datetimes are read as UTC.
    """
    if cadence is None:
        return "not_applicable"
    limits = freshness_thresholds(cadence, thresholds)
    if limits is None:
        return "not_applicable"
    if last_update is None:
        return "delinquent"
    age = (_aware(now) - _aware(last_update)).total_seconds() / 86400.0
    due, overdue, delinquent = limits
    if age >= delinquent:
        return "delinquent"
    if age >= overdue:
        return "overdue"
    if age >= due:
        return "due"
    return "fresh"
