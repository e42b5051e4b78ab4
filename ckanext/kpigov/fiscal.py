"""Thai fiscal calendar (pure Python, no CKAN import).

The Thai government fiscal year (ปีงบประมาณ) runs 1 October – 30 September and is
named by its Buddhist Era (B.E.) year in which it ends: FY 2567 is
1 Oct 2023 – 30 Sep 2024. Every function here takes fiscal years as B.E. ints.

Calendar dates are plain :class:`datetime.date` in C.E.; the B.E. only appears in
labels and in parsed input. Datetimes are converted to Asia/Bangkok before their
date is taken; naive datetimes are read as UTC because that is how CKAN stores them.
"""
from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "BANGKOK",
    "BE_OFFSET",
    "EN_MONTHS_ABBR",
    "MIN_FISCAL_YEAR",
    "THAI_MONTHS_ABBR",
    "THAI_MONTHS_FULL",
    "UTC",
    "bangkok_today",
    "current_fiscal_year",
    "elapsed_months",
    "evaluation_close_date",
    "fiscal_months",
    "fiscal_year_bounds",
    "fiscal_year_of",
    "format_date",
    "format_fiscal_year",
    "format_month",
    "format_quarter",
    "local_date",
    "month_bounds",
    "parse_date",
    "quarter_bounds",
    "quarter_of",
    "to_bangkok",
    "to_be",
    "to_ce",
    "validate_fiscal_year",
]

BANGKOK = ZoneInfo("Asia/Bangkok")
UTC = ZoneInfo("UTC")
BE_OFFSET = 543
# Fiscal years before this are rejected: no portal data predates it, and the oldest
# edition we ship (Ministry of Interior, seed 002) is FY 2555.
MIN_FISCAL_YEAR = 2550
# Any year at or above this is read as B.E. (2400 B.E. = 1857 C.E., 2400 C.E. is far off).
_BE_THRESHOLD = 2400

THAI_MONTHS_ABBR: tuple[str, ...] = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)
THAI_MONTHS_FULL: tuple[str, ...] = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)
EN_MONTHS_ABBR: tuple[str, ...] = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)

def to_be(year: int) -> int:
    """C.E. year → B.E. year (2024 → 2567)."""
    return year + BE_OFFSET


def to_ce(year: int) -> int:
    """B.E. year → C.E. year (2567 → 2024)."""
    return year - BE_OFFSET


def to_bangkok(moment: datetime) -> datetime:
    """Return ``moment`` in Asia/Bangkok; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BANGKOK)


def bangkok_today(now: datetime | None = None) -> date:
    """Today's date in Bangkok (``now`` defaults to the current instant)."""
    if now is None:
        return datetime.now(BANGKOK).date()
    return to_bangkok(now).date()


def local_date(value: date) -> date:
    """The Bangkok calendar date of a date or datetime."""
    if isinstance(value, datetime):
        return to_bangkok(value).date()
    return value


def _check_fy(fy: int) -> int:
    if isinstance(fy, bool) or not isinstance(fy, int):
        raise TypeError(f"fiscal year must be an integer B.E. year, got {fy!r}")
    if fy < _BE_THRESHOLD:
        raise ValueError(
            f"fiscal year {fy} looks like a C.E. year; fiscal years are B.E. "
            f"(did you mean {to_be(fy)}?)"
        )
    return fy


def fiscal_year_of(value: date) -> int:
    """B.E. fiscal year containing ``value`` (2023-10-01 → 2567, 2024-09-30 → 2567)."""
    d = local_date(value)
    return to_be(d.year) + (1 if d.month >= 10 else 0)


def current_fiscal_year(today: date | None = None) -> int:
    """The fiscal year of ``today`` (default: today in Bangkok)."""
    return fiscal_year_of(today if today is not None else bangkok_today())


def fiscal_year_bounds(fy: int) -> tuple[date, date]:
    """First and last day (inclusive) of B.E. fiscal year ``fy``."""
    ce_end = to_ce(_check_fy(fy))
    return date(ce_end - 1, 10, 1), date(ce_end, 9, 30)


def evaluation_close_date(fy: int, days_after: int = 15) -> date:
    """The last day on which fiscal year ``fy``'s records may still change:
    ``days_after`` days after its 30 September (FY 2569 with 15 → 15 Oct
    2026). From the next day the year is closed."""
    return fiscal_year_bounds(fy)[1] + timedelta(days=max(0, int(days_after)))


def quarter_of(value: date) -> int:
    """Fiscal quarter 1–4 of a date: Q1 Oct–Dec, Q2 Jan–Mar, Q3 Apr–Jun, Q4 Jul–Sep."""
    d = local_date(value)
    return (d.month - 10) % 12 // 3 + 1


def quarter_bounds(fy: int, quarter: int) -> tuple[date, date]:
    """First and last day (inclusive) of quarter ``quarter`` of fiscal year ``fy``."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1–4, got {quarter!r}")
    months = fiscal_months(fy)
    first_y, first_m = months[(quarter - 1) * 3]
    last_y, last_m = months[(quarter - 1) * 3 + 2]
    return date(first_y, first_m, 1), month_bounds(last_y, last_m)[1]


def fiscal_months(fy: int) -> list[tuple[int, int]]:
    """The 12 (C.E. year, month) pairs of fiscal year ``fy``, October first."""
    ce_end = to_ce(_check_fy(fy))
    return [(ce_end - 1, m) for m in (10, 11, 12)] + [(ce_end, m) for m in range(1, 10)]


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """First and last day of a C.E. calendar month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def elapsed_months(fy: int, today: date | None = None) -> int:
    """How many months of fiscal year ``fy`` have fully ended by ``today`` (0–12).

    A month counts once its last day is before ``today``; this is the "รอบ 3/6/9/12
    เดือน" count used by quarterly reports.
    """
    today = today if today is not None else bangkok_today()
    return sum(1 for y, m in fiscal_months(fy) if month_bounds(y, m)[1] < today)


def validate_fiscal_year(fy: object, today: date | None = None) -> int:
    """Return ``fy`` as int if it is a plausible B.E. fiscal year, else raise ValueError.

    Accepted: MIN_FISCAL_YEAR (2550) up to the current fiscal year + 1 (planning ahead).
    Strings of digits are accepted because the value usually comes from a request.
    """
    if isinstance(fy, str) and fy.strip().isdigit():
        fy = int(fy.strip())
    latest = current_fiscal_year(today) + 1
    if isinstance(fy, int) and not isinstance(fy, bool) and MIN_FISCAL_YEAR <= fy <= latest:
        return fy
    raise ValueError(
        f"fiscal year {fy!r} is out of range: expected a B.E. year "
        f"between {MIN_FISCAL_YEAR} and {latest}"
    )


def _is_thai(lang: str) -> bool:
    return lang.lower().replace("-", "_").split("_")[0] == "th"


def format_date(value: date, lang: str = "th") -> str:
    """'15 ม.ค. 2567' in Thai (B.E.), '15 Jan 2024' otherwise (C.E.)."""
    d = local_date(value)
    if _is_thai(lang):
        return f"{d.day} {THAI_MONTHS_ABBR[d.month - 1]} {to_be(d.year)}"
    return f"{d.day} {EN_MONTHS_ABBR[d.month - 1]} {d.year}"


def format_month(year: int, month: int, lang: str = "th") -> str:
    """'ม.ค. 2567' in Thai, 'Jan 2024' otherwise; ``year`` is C.E."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1–12, got {month!r}")
    if _is_thai(lang):
        return f"{THAI_MONTHS_ABBR[month - 1]} {to_be(year)}"
    return f"{EN_MONTHS_ABBR[month - 1]} {year}"


def format_fiscal_year(fy: int, lang: str = "th") -> str:
    """'ปีงบประมาณ พ.ศ. 2567' in Thai, 'FY 2024 (Oct 2023 – Sep 2024)' otherwise."""
    start, end = fiscal_year_bounds(fy)
    if _is_thai(lang):
        return f"ปีงบประมาณ พ.ศ. {fy}"
    return f"FY {end.year} (Oct {start.year} – Sep {end.year})"


def format_quarter(fy: int, quarter: int, lang: str = "th") -> str:
    """'ไตรมาส 1/2567' in Thai, 'Q1 FY 2024' otherwise."""
    quarter_bounds(fy, quarter)  # validates both
    if _is_thai(lang):
        return f"ไตรมาส {quarter}/{fy}"
    return f"Q{quarter} FY {to_ce(fy)}"


_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?")


def parse_date(text: str) -> date:
    """Parse 'YYYY-MM-DD' in C.E. or B.E. (years ≥ 2400 are B.E.).

    Thai digits are accepted; a time part after 'T' or a space is ignored.
    Impossible dates such as 2023-02-30 raise ValueError. The B.E. year is converted
    before the date is built, so '2567-02-29' (= 2024-02-29) is valid.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a date string, got {text!r}")
    match = _ISO_DATE.fullmatch(text.strip().translate(_THAI_DIGITS))
    if match is None:
        raise ValueError(f"not an ISO date (YYYY-MM-DD): {text!r}")
    year, month, day = (int(part) for part in match.groups())
    if year >= _BE_THRESHOLD:
        year = to_ce(year)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"impossible date {text!r}: {exc}") from None
