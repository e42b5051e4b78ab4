"""Compile the Lucene AST into SQL over ``kpigov_search_doc`` (alias ``d``).

Every value becomes a bound parameter; field names are validated by the
parser and only ever appear inside bound JSON or as bound keys.
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any, Optional

from dateutil.parser import ParserError, parse as parse_date
from dateutil.relativedelta import relativedelta

from ckan.lib.search.common import SearchQueryError

from . import lucene

__all__ = ["Compiler"]

# Fields Solr tokenizes (text fields): matched word by word, not exactly.
TEXT_FIELDS = {"title", "notes", "res_name", "res_description", "author",
               "maintainer"}
# Solr's text_ngram copies of name and title (package_autocomplete): grams of
# 2 to 10 characters, lower-cased; the query side is split on whitespace.
NGRAM_FIELDS = {"title_ngram": "title", "name_ngram": "name"}
NGRAM_MIN, NGRAM_MAX = 2, 10
DATE_COLUMNS = {"metadata_modified", "metadata_created"}
# Filters CKAN adds to every package_search (+capacity:public,
# +state:(active)) or that select (almost) all datasets.
UBIQUITOUS_FIELDS = {"state", "capacity", "dataset_type", "type"}
# Short keyword fields copied, complete, into the small inline ``keywords``
# column (besides ``fields``, which holds everything, large text included,
# and is usually TOAST-compressed). Exact matches, prefixes, ranges, facets
# on these read ``keywords``. The list is static: the compiler must know,
# without looking at the data, that ``keywords`` holds ALL values of a field.
# The migration b7d4e91c5a20 keeps a frozen copy of it.
KEYWORD_FIELDS = frozenset({
    "state", "capacity", "organization", "owner_org", "groups", "tags",
    "res_format", "license_id", "dataset_type", "type", "name",
    "kpigov_freshness", "kpigov_cadence", "entity_type", "site_id",
    "private", "isopen", "num_resources", "num_tags", "res_type",
})
KEYWORD_PREFIXES = ("vocab_",)
# Plain columns that hold the single value of these fields.
STATE_COLUMNS = {"state", "capacity"}


def is_keyword(field: str) -> bool:
    return field in KEYWORD_FIELDS or field.startswith(KEYWORD_PREFIXES)


def source(field: str) -> str:
    """The JSONB column that holds every value of ``field``."""
    return "d.keywords" if is_keyword(field) else "d.fields"
_ASCII = re.compile(r"^[\x00-\x7f]*$")
_WORD = re.compile(r"[A-Za-z0-9]+")
_DATE_MATH = re.compile(
    r"^NOW(?P<ops>([+-]\d+(YEAR|YEARS|MONTH|MONTHS|DAY|DAYS|HOUR|HOURS|"
    r"MINUTE|MINUTES)|/(YEAR|MONTH|DAY|HOUR))*)$")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _solr_date(value: str) -> datetime:
    """Parse a Solr date (ISO, optionally with Z) or NOW-date-math."""
    m = _DATE_MATH.match(value)
    if m:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        for op in re.findall(r"[+-]\d+[A-Z]+|/[A-Z]+", m.group("ops")):
            if op.startswith("/"):
                unit = op[1:]
                if unit == "DAY":
                    now = now.replace(hour=0, minute=0, second=0, microsecond=0)
                elif unit == "HOUR":
                    now = now.replace(minute=0, second=0, microsecond=0)
                elif unit == "MONTH":
                    now = now.replace(day=1, hour=0, minute=0, second=0,
                                      microsecond=0)
                elif unit == "YEAR":
                    now = now.replace(month=1, day=1, hour=0, minute=0,
                                      second=0, microsecond=0)
                continue
            num = int(re.match(r"[+-]\d+", op).group(0))  # type: ignore[union-attr]
            unit = op.lstrip("+-0123456789").rstrip("S")
            delta = {"YEAR": relativedelta(years=num),
                     "MONTH": relativedelta(months=num),
                     "DAY": relativedelta(days=num),
                     "HOUR": relativedelta(hours=num),
                     "MINUTE": relativedelta(minutes=num)}[unit]
            now = now + delta
        return now
    try:
        parsed = parse_date(value)
    except (ParserError, ValueError, OverflowError):
        raise SearchQueryError("Invalid date in a range query: %r" % value)
    if parsed.tzinfo:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _is_number(text: Optional[str]) -> bool:
    if text is None:
        return True
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


class Compiler:
    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = "p%d" % len(self.params)
        self.params[name] = value
        return ":" + name

    # -- boolean structure -------------------------------------------------
    def compile(self, node: lucene.Node, top: bool = True) -> str:
        if isinstance(node, lucene.All):
            return "TRUE"
        if isinstance(node, lucene.Not):
            return "NOT (%s)" % self.compile(node.child, False)
        if isinstance(node, lucene.Or):
            return " OR ".join("(%s)" % self.compile(c, False)
                               for c in node.children)
        if isinstance(node, lucene.And):
            free = [c for c in node.children
                    if isinstance(c, lucene.Term) and c.field in (None, "text")]
            other = [c for c in node.children if c not in free]
            parts = ["(%s)" % self.compile(c, False) for c in other]
            if top and len(free) > 2:
                # Solr dismax minimum-should-match as CKAN sets it:
                # '2<-1 5<80%' (3-5 terms: all but one; more: 80 %).
                n = len(free)
                need = n - 1 if n <= 5 else int(math.floor(n * 0.8))
                parts.append("(%s) >= %d" % (" + ".join(
                    "(%s)::int" % self.term(c) for c in free), need))
            else:
                parts.extend("(%s)" % self.term(c) for c in free)
            return " AND ".join(parts) if parts else "TRUE"
        if isinstance(node, lucene.Range):
            return self.range(node)
        if isinstance(node, lucene.Term):
            return self.term(node)
        raise SearchQueryError("Unsupported query")  # pragma: no cover

    # -- leaves --------------------------------------------------------------
    def free_text(self, term: lucene.Term, column: str = "d.search_text",
                  tsv: str = "d.tsv") -> str:
        value = term.value
        if not value.strip():
            return "TRUE"
        if _ASCII.match(value):
            if term.kind == "prefix":
                words = _WORD.findall(value)
                if not words:
                    return "TRUE"
                query = " & ".join(words[:-1] + [words[-1] + ":*"])
                return "%s @@ to_tsquery('english', %s)" % (tsv, self.param(query))
            func = "phraseto_tsquery" if term.kind == "phrase" else "plainto_tsquery"
            p = self.param(value)
            return ("(%s @@ %s('english', %s) OR numnode(%s('english', %s)) = 0)"
                    % (tsv, func, p, func, p))
        # Thai and other scripts written without spaces: substring match,
        # served by the pg_trgm GIN index on search_text.
        return "%s LIKE %s" % (column, self.param(
            "%" + _like_escape(value.lower()) + "%"))

    def term(self, term: lucene.Term) -> str:
        field = term.field
        if field in (None, "text"):
            return self.free_text(term)
        if term.kind == "exists":
            return "%s ? %s" % (source(field), self.param(field))
        if field == "site_id":
            return "d.site_id = %s" % self.param(term.value)
        if field == "entity_type":
            return "TRUE" if term.value == "package" else "FALSE"
        if field == "permission_labels":
            return "d.permission_labels && CAST(%s AS text[])" % self.param(
                [term.value])
        if field in NGRAM_FIELDS:
            return self.ngram(term, NGRAM_FIELDS[field])
        if field in TEXT_FIELDS:
            col = "lower(COALESCE((d.fields -> %s)::text, ''))" % self.param(field)
            tsv = "to_tsvector('english', COALESCE((d.fields -> %s)::text, ''))" \
                % self.param(field)
            return self.free_text(term, col, tsv)
        if field in DATE_COLUMNS and term.kind in ("word", "phrase"):
            return "d.%s = %s" % (field, self.param(_solr_date(term.value)))
        if term.kind == "prefix":
            return ("EXISTS (SELECT 1 FROM jsonb_array_elements_text("
                    "%s -> %s) x WHERE x LIKE %s)" % (
                        source(field), self.param(field),
                        self.param(_like_escape(term.value) + "%")))
        if field in STATE_COLUMNS:
            # One value per document, in its own column (NULL when absent,
            # as ``fields -> field @> ...`` is then NULL too).
            return "d.%s = %s" % (field, self.param(term.value))
        if field in UBIQUITOUS_FIELDS:
            # Matches (nearly) every document: as a plain filter, not a GIN
            # index condition. Otherwise the planner, which cannot estimate
            # jsonb containment, bets on the fields index, reads every row
            # and leaves the selective text index unused.
            return "(%s -> %s) @> CAST(%s AS jsonb)" % (
                source(field), self.param(field),
                self.param(json.dumps([term.value], ensure_ascii=False)))
        return "%s @> CAST(%s AS jsonb)" % (source(field), self.param(
            json.dumps({field: [term.value]}, ensure_ascii=False)))

    def ngram(self, term: lucene.Term, source: str) -> str:
        """Substring match of each query word, as Solr's n-gram field does.

        A word shorter or longer than the grams Solr indexes matches nothing
        there; the same here.
        """
        if term.kind == "exists":
            return "d.fields ? %s" % self.param(source)  # title/name
        words = term.value.lower().split()
        if not words:
            return "FALSE"
        conds = []
        for word in words:
            if not NGRAM_MIN <= len(word) <= NGRAM_MAX:
                return "FALSE"
            conds.append(
                "EXISTS (SELECT 1 FROM jsonb_array_elements_text(d.fields -> %s)"
                " x WHERE lower(x) LIKE %s)" % (
                    self.param(source),
                    self.param("%" + _like_escape(word) + "%")))
        return " AND ".join(conds)

    def range(self, node: lucene.Range) -> str:
        lo_op = ">=" if node.include_low else ">"
        hi_op = "<=" if node.include_high else "<"
        if node.field in DATE_COLUMNS:
            conds = []
            if node.low is not None:
                conds.append("d.%s %s %s" % (node.field, lo_op,
                                             self.param(_solr_date(node.low))))
            if node.high is not None:
                conds.append("d.%s %s %s" % (node.field, hi_op,
                                             self.param(_solr_date(node.high))))
            return " AND ".join(conds) or "TRUE"
        numeric = _is_number(node.low) and _is_number(node.high)
        x = "x::numeric" if numeric else "x"
        conds = []
        if numeric:
            conds.append(r"x ~ '^-?[0-9]+(\.[0-9]+)?$'")
        if node.low is not None:
            conds.append("%s %s %s" % (x, lo_op, self.param(
                float(node.low) if numeric else node.low)))
        if node.high is not None:
            conds.append("%s %s %s" % (x, hi_op, self.param(
                float(node.high) if numeric else node.high)))
        return ("EXISTS (SELECT 1 FROM jsonb_array_elements_text(%s -> %s) x"
                " WHERE %s)" % (source(node.field), self.param(node.field),
                                " AND ".join(conds)))

    # -- ranking and order ---------------------------------------------------
    def score(self, terms: list[lucene.Term]) -> str:
        parts = []
        for term in terms[:32]:
            value = term.value.strip()
            if not value:
                continue
            if _ASCII.match(value):
                words = _WORD.findall(value)
                if not words:
                    continue
                parts.append("ts_rank_cd(d.tsv, to_tsquery('english', %s))"
                             % self.param(" | ".join(words)))
            else:
                pat = self.param("%" + _like_escape(value.lower()) + "%")
                parts.append(
                    "(CASE WHEN d.title_text LIKE %s THEN 1.0 ELSE 0 END"
                    " + CASE WHEN d.search_text LIKE %s THEN 0.1 ELSE 0 END"
                    " + similarity(d.title_text, %s))"
                    % (pat, pat, self.param(value.lower())))
        return "(" + " + ".join(parts) + ")" if parts else "0"

    def order_by(self, sort: Optional[str], score_sql: str) -> str:
        sort = (sort or "score desc, metadata_modified desc").strip()
        if sort == "rank":
            sort = "score desc, metadata_modified desc"
        clauses = []
        for part in sort.split(","):
            bits = part.split()
            if not bits:
                continue
            # Solr wants "field asc|desc" for every clause: a bare field is
            # an error there ("Missing sort order"), and CKAN reports it.
            if len(bits) != 2 or bits[1].lower() not in ("asc", "desc"):
                raise SearchQueryError('Invalid "sort" parameter')
            field = bits[0]
            direction = bits[1].upper()
            if field == "score":
                if score_sql == "0":
                    continue  # no free text: every score is equal
                expr = score_sql
            elif field in DATE_COLUMNS:
                expr = "d." + field
            elif field == "title_string":
                expr = "d.title_string"
            elif field == "name":
                expr = "d.name"
            elif field in STATE_COLUMNS:
                expr = "d." + field
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", field):
                expr = "(%s -> %s ->> 0)" % (source(field), self.param(field))
            else:
                raise SearchQueryError('Invalid "sort" parameter')
            clauses.append("%s %s NULLS LAST" % (expr, direction))
        clauses.append("d.id ASC")
        return ", ".join(clauses)

