"""KPI rubrics: strict YAML loading and scoring (pure Python, no CKAN import).

A rubric file describes one edition of the KPI (see ``rubrics/*.yaml``)::

    id: bma_kpi52_fy2564
    title: {th: ..., en: ...}
    fiscal_years: [2564]            # or {from: 2564, to: 2566}
    weight: 10                      # the KPI's weight (น้ำหนัก ร้อยละ)
    mode: additive                  # or cumulative
    default: true                   # picked by rubric_for_year for its years
    steps:                          # or parts: [{id, title, weight, steps}]
      - id: step1
        title: {th: ..., en: ...}
        share: 20                   # % of the performance (additive)
        requires_verification: false
        checks: [{type: governance_team, params: {}}]
    criteria:                       # optional: performance → level → points
      thresholds: [60, 70, 80, 90, 100]
      points: [60, 70, 80, 90, 100]
      direction: higher             # or lower (lower performance is better)
    mapping: steps                  # or linear (needs criteria)
    weighted_by: points             # optional: performance | level | points
    rounding: 3

Scoring pipeline (:func:`evaluate`):

1. Steps → performance %. *additive*: sum of ``share × progress`` (progress 0..1,
   a bool counts as 0 or 1); with *parts*, each part's performance is weighted by
   the part's weight. *cumulative*: level n = steps 1..n all met; performance =
   the shares of those steps (equal shares by default, so level 5 of 5 = 100 %).
2. Performance → level and points, if the rubric has ``criteria``. ``steps``
   mapping: the highest level whose threshold is reached earns its points;
   ``linear``: points are interpolated between levels (±10 points per level, seed
   004: 91.143 → 91.143). Below level 1 earns level 1's points (60).
3. Weighted score (คะแนนถ่วงน้ำหนัก), by ``weighted_by``:
   ``performance`` → weight × performance / 100 (seed 000: 10 × 100 / 100 = 10);
   ``level`` → weight × level / 100 (seed 002: 7 × 5 / 100 = 0.35);
   ``points`` → weight × points / 100 (seed 004: 10 × 90 / 100 = 9).
   Default: ``points`` with criteria, else ``level`` for cumulative, else
   ``performance``.

Every number is rounded half-up to ``rounding`` decimals, as on the official forms.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = [
    "CHECK_TYPES",
    "DEFAULT_RUBRICS_DIR",
    "MAPPINGS",
    "MODES",
    "WEIGHTED_BY",
    "Check",
    "CheckSpec",
    "Criteria",
    "Part",
    "PartScore",
    "Rubric",
    "RubricError",
    "Score",
    "Step",
    "StepScore",
    "evaluate",
    "evaluate_performance",
    "load_rubric",
    "load_rubrics",
    "rubric_for_year",
    "rubric_version",
    "total_weighted",
]

DEFAULT_RUBRICS_DIR = Path(__file__).resolve().parent / "rubrics"
MODES = ("additive", "cumulative")
MAPPINGS = ("steps", "linear")
WEIGHTED_BY = ("performance", "level", "points")
_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_BE_MIN, _BE_MAX = 2400, 2700
# Shares are percentages given with at most a few decimals; allow float noise.
_TOLERANCE = 1e-6

ParamKind = Literal["percent", "number", "int", "bool", "str", "str_list"]


@dataclass(frozen=True)
class CheckSpec:
    """A known check: its parameters (name → kind) and which of them are required."""

    description: str
    params: Mapping[str, ParamKind] = field(default_factory=dict)
    required: tuple[str, ...] = ()


# Known check types. The CKAN side implements them; here they are only names with
# typed parameters so a rubric with a typo fails when loaded, not when scored.
# Percent parameters are 0–100.
CHECK_TYPES: Mapping[str, CheckSpec] = {
    "governance_team": CheckSpec("agency data-governance working group appointed "
                                 "(order document attached; with verified, or in a "
                                 "step that requires verification: verified)",
                                 {"verified": "bool"}),
    "development_plan": CheckSpec("agency database development plan attached "
                                  "(verified: as for governance_team)",
                                  {"verified": "bool"}),
    "data_catalog": CheckSpec("data catalog built; share of catalog entries with "
                              "complete required fields",
                              {"min_catalog_complete_share": "percent", "min_datasets": "int"}),
    "stakeholders_named": CheckSpec("stakeholders and people responsible named"),
    "target_database": CheckSpec("this year's target database (new or widened) chosen",
                                 {"min_count": "int"}),
    "metadata_completeness": CheckSpec("average metadata completeness",
                                       {"min": "percent", "scope": "str"}, ("min",)),
    "dictionary_coverage": CheckSpec("share of datasets/columns with a data dictionary",
                                     {"min": "percent", "scope": "str"}, ("min",)),
    "monthly_compliance": CheckSpec("update compliance rate over the fiscal year; "
                                    "include_catalog_share: % of catalog datasets that "
                                    "must also reach min_rate",
                                    {"min_rate": "percent", "include_catalog_share": "percent",
                                     "count_late_as_on_time": "bool"}, ("min_rate",)),
    "usage_evidence": CheckSpec("tangible evidence of use in operations",
                                {"verified": "bool", "min_count": "int"}),
    "published_online": CheckSpec("served online / published to the public",
                                  {"public_only": "bool", "min_datasets": "int"}),
    "sharing_record": CheckSpec("online exchange with other agencies recorded",
                                {"min_count": "int"}),
    "realtime_link": CheckSpec("databases linked in real time (API/harvest)"),
    "data_currency_share": CheckSpec("share of data items correct and current",
                                     {"min": "percent"}, ("min",)),
    "eis_gis_views": CheckSpec("executive (EIS) and GIS views per data group",
                               {"groups": "str_list", "min_topics_per_group": "int"}),
    "entry_complete_correct": CheckSpec("data entry complete and correct",
                                        {"min": "percent"}),
    "entry_on_time": CheckSpec("data entered by the deadline",
                               {"min_rate": "percent", "deadline_day": "int"}),
    "manual": CheckSpec("evaluator judgement on attached evidence", {"note": "str"}),
}


class RubricError(ValueError):
    """A rubric file is unreadable or invalid. The message names file, key and problem."""

    def __init__(self, path: str | Path, key: str, problem: str) -> None:
        self.path = str(path)
        self.key = key
        self.problem = problem
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + problem)


@dataclass(frozen=True)
class Check:
    type: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    id: str
    title_th: str
    title_en: str
    share: float
    checks: tuple[Check, ...] = ()
    requires_verification: bool = False
    part: str | None = None

    def title(self, lang: str = "th") -> str:
        return self.title_th if lang.lower().startswith("th") else self.title_en


@dataclass(frozen=True)
class Part:
    id: str
    title_th: str
    title_en: str
    weight: float
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Criteria:
    """Performance thresholds for levels 1–5 and the points each level earns."""

    thresholds: tuple[float, ...]
    points: tuple[float, ...] = (60.0, 70.0, 80.0, 90.0, 100.0)
    direction: str = "higher"


@dataclass(frozen=True)
class Rubric:
    id: str
    title_th: str
    title_en: str
    fiscal_years: tuple[int, ...]
    fiscal_year_from: int | None  # open-ended range ``{from: X}``
    weight: float
    mode: str
    steps: tuple[Step, ...]  # all steps, flattened across parts
    parts: tuple[Part, ...] = ()
    criteria: Criteria | None = None
    mapping: str = "steps"
    weighted_by: str = "performance"
    rounding: int = 3
    default: bool = True
    source: str = ""
    version: str = ""

    def title(self, lang: str = "th") -> str:
        return self.title_th if lang.lower().startswith("th") else self.title_en

    def covers(self, fiscal_year: int) -> bool:
        if fiscal_year in self.fiscal_years:
            return True
        return self.fiscal_year_from is not None and fiscal_year >= self.fiscal_year_from

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


@dataclass(frozen=True)
class StepScore:
    id: str
    share: float
    progress: float  # 0..1 as given
    met: bool  # progress reached 1
    earned: float  # share points earned (performance points)
    requires_verification: bool = False
    part: str | None = None


@dataclass(frozen=True)
class PartScore:
    id: str
    weight: float
    performance: float  # 0–100 within the part
    earned: float  # contribution to the overall performance


@dataclass(frozen=True)
class Score:
    """The result of scoring a rubric.

    ``performance`` 0–100 (ผลการดำเนินงาน); ``level`` 0–5 or None when the rubric
    defines none; ``points`` 60–100 from the criteria table or None without one
    (ค่าคะแนนที่ได้); ``weighted_score`` (คะแนนถ่วงน้ำหนัก) by ``basis``, see the
    module docstring.
    """

    rubric_id: str
    performance: float
    level: int | None
    points: float | None
    weight: float
    weighted_score: float
    basis: str
    steps: tuple[StepScore, ...] = ()
    parts: tuple[PartScore, ...] = ()
    rubric_version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "rubric_id": self.rubric_id, "rubric_version": self.rubric_version,
            "performance": self.performance, "level": self.level, "points": self.points,
            "weight": self.weight, "weighted_score": self.weighted_score,
            "basis": self.basis,
            "steps": [s.__dict__.copy() for s in self.steps],
            "parts": [p.__dict__.copy() for p in self.parts],
        }


# ----------------------------------------------------------------------- validation


class _Reader:
    """Typed accessors that raise RubricError naming the file and key path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> RubricError:
        return RubricError(self.path, key, problem)

    def mapping(self, value: object, key: str, allowed: Iterable[str],
                required: Iterable[str] = ()) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping, got {_kind(value)}")
        allowed_set = set(allowed)
        for name in value:
            if name not in allowed_set:
                raise self.fail(_join(key, str(name)),
                                f"unknown key (allowed: {', '.join(sorted(allowed_set))})")
        for name in required:
            if name not in value:
                raise self.fail(_join(key, name), "missing required key")
        return value

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected non-empty text, got {_kind(value)}")
        return value.strip()

    def ident(self, value: object, key: str) -> str:
        text = self.text(value, key)
        if not _ID.match(text):
            raise self.fail(key, f"{text!r} is not an id (lower-case letters, digits, _)")
        return text

    def number(self, value: object, key: str, low: float | None = None,
               high: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {_kind(value)}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.fail(key, f"{value} is out of range {low}..{high}")
        return float(value)

    def integer(self, value: object, key: str, low: int | None = None,
                high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {_kind(value)}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.fail(key, f"{value} is out of range {low}..{high}")
        return value

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_kind(value)}")
        return value

    def sequence(self, value: object, key: str, min_len: int = 1) -> Sequence[Any]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_kind(value)}")
        if len(value) < min_len:
            raise self.fail(key, f"expected at least {min_len} item(s)")
        return value

    def choice(self, value: object, key: str, choices: Sequence[str]) -> str:
        if value not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return str(value)

    def titles(self, value: object, key: str) -> tuple[str, str]:
        data = self.mapping(value, key, ("th", "en"), ("th", "en"))
        return self.text(data["th"], _join(key, "th")), self.text(data["en"], _join(key, "en"))


def _kind(value: object) -> str:
    if value is None:
        return "nothing (null)"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "text",
             list: "a list", dict: "a mapping"}
    return f"{names.get(type(value), type(value).__name__)} ({value!r:.40})"


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _read_check(r: _Reader, value: object, key: str) -> Check:
    data = r.mapping(value, key, ("type", "params"), ("type",))
    type_ = r.text(data["type"], _join(key, "type"))
    if type_ not in CHECK_TYPES:
        raise r.fail(_join(key, "type"),
                     f"unknown check type {type_!r} (known: {', '.join(sorted(CHECK_TYPES))})")
    spec = CHECK_TYPES[type_]
    raw = data.get("params") or {}
    params_key = _join(key, "params")
    params = r.mapping(raw, params_key, spec.params, spec.required)
    clean: dict[str, Any] = {}
    for name, kind in spec.params.items():
        if name not in params:
            continue
        pkey = _join(params_key, name)
        value_ = params[name]
        if kind == "percent":
            clean[name] = r.number(value_, pkey, 0, 100)
        elif kind == "number":
            clean[name] = r.number(value_, pkey)
        elif kind == "int":
            clean[name] = r.integer(value_, pkey, 0)
        elif kind == "bool":
            clean[name] = r.boolean(value_, pkey)
        elif kind == "str":
            clean[name] = r.text(value_, pkey)
        else:
            items = r.sequence(value_, pkey)
            clean[name] = tuple(r.text(v, f"{pkey}[{i}]") for i, v in enumerate(items))
    return Check(type_, clean)


_STEP_KEYS = ("id", "title", "share", "checks", "requires_verification")


def _read_steps(r: _Reader, value: object, key: str, need_share: bool,
                part: str | None) -> tuple[Step, ...]:
    items = r.sequence(value, key)
    steps: list[Step] = []
    for index, item in enumerate(items):
        skey = f"{key}[{index}]"
        data = r.mapping(item, skey, _STEP_KEYS,
                         ("id", "title", "share") if need_share else ("id", "title"))
        share = (r.number(data["share"], _join(skey, "share"), 0, 100)
                 if "share" in data else 100.0 / len(items))
        checks = tuple(
            _read_check(r, c, f"{skey}.checks[{ci}]")
            for ci, c in enumerate(r.sequence(data.get("checks", []), _join(skey, "checks"), 0))
        )
        th, en = r.titles(data["title"], _join(skey, "title"))
        steps.append(Step(
            id=r.ident(data["id"], _join(skey, "id")), title_th=th, title_en=en,
            share=share, checks=checks,
            requires_verification=r.boolean(data.get("requires_verification", False),
                                            _join(skey, "requires_verification")),
            part=part,
        ))
    total = sum(s.share for s in steps)
    if abs(total - 100.0) > _TOLERANCE:
        raise r.fail(f"{key}[*].share", f"shares must sum to 100, they sum to {total:g}")
    return tuple(steps)


def _read_fiscal_years(r: _Reader, value: object) -> tuple[tuple[int, ...], int | None]:
    key = "fiscal_years"
    if isinstance(value, Mapping):
        data = r.mapping(value, key, ("from", "to"), ("from",))
        first = r.integer(data["from"], f"{key}.from", _BE_MIN, _BE_MAX)
        if "to" not in data or data["to"] is None:
            return (), first
        last = r.integer(data["to"], f"{key}.to", _BE_MIN, _BE_MAX)
        if last < first:
            raise r.fail(f"{key}.to", f"{last} is before {first}")
        return tuple(range(first, last + 1)), None
    items = r.sequence(value, key)
    years = tuple(r.integer(v, f"{key}[{i}]", _BE_MIN, _BE_MAX) for i, v in enumerate(items))
    return tuple(sorted(set(years))), None


def _read_criteria(r: _Reader, value: object) -> Criteria:
    data = r.mapping(value, "criteria", ("thresholds", "points", "direction"),
                     ("thresholds",))
    thresholds = tuple(
        r.number(v, f"criteria.thresholds[{i}]")
        for i, v in enumerate(r.sequence(data["thresholds"], "criteria.thresholds"))
    )
    points = tuple(
        r.number(v, f"criteria.points[{i}]", 0)
        for i, v in enumerate(r.sequence(data.get("points", [60, 70, 80, 90, 100]),
                                         "criteria.points"))
    )
    direction = r.choice(data.get("direction", "higher"), "criteria.direction",
                         ("higher", "lower"))
    if len(thresholds) != 5:
        raise r.fail("criteria.thresholds", f"expected 5 levels, got {len(thresholds)}")
    if len(points) != 5:
        raise r.fail("criteria.points", f"expected 5 levels, got {len(points)}")
    if direction == "higher":
        ordered = all(a < b for a, b in pairwise(thresholds))
    else:
        ordered = all(a > b for a, b in pairwise(thresholds))
    if not ordered:
        raise r.fail("criteria.thresholds",
                     f"must be strictly {'increasing' if direction == 'higher' else 'decreasing'}")
    if not all(a < b for a, b in pairwise(points)):
        raise r.fail("criteria.points", "must be strictly increasing")
    return Criteria(thresholds, points, direction)


_TOP_KEYS = ("id", "title", "fiscal_years", "weight", "mode", "steps", "parts", "criteria",
             "mapping", "weighted_by", "rounding", "default", "description", "source_documents")


def _build(r: _Reader, data: object, version: str) -> Rubric:
    top = r.mapping(data, "", _TOP_KEYS, ("id", "title", "fiscal_years", "weight", "mode"))
    rid = r.ident(top["id"], "id")
    th, en = r.titles(top["title"], "title")
    years, year_from = _read_fiscal_years(r, top["fiscal_years"])
    weight = r.number(top["weight"], "weight", 0, 100)
    mode = r.choice(top["mode"], "mode", MODES)
    if ("steps" in top) == ("parts" in top):
        raise r.fail("steps", "give either 'steps' or 'parts' (exactly one)")
    parts: tuple[Part, ...] = ()
    if "parts" in top:
        if mode != "additive":
            raise r.fail("parts", "parts are only allowed with mode: additive")
        built: list[Part] = []
        for index, item in enumerate(r.sequence(top["parts"], "parts")):
            pkey = f"parts[{index}]"
            pdata = r.mapping(item, pkey, ("id", "title", "weight", "steps"),
                              ("id", "title", "weight", "steps"))
            pid = r.ident(pdata["id"], _join(pkey, "id"))
            pth, pen = r.titles(pdata["title"], _join(pkey, "title"))
            built.append(Part(pid, pth, pen,
                              r.number(pdata["weight"], _join(pkey, "weight"), 0, 100),
                              _read_steps(r, pdata["steps"], _join(pkey, "steps"), True, pid)))
        total = sum(p.weight for p in built)
        if abs(total - 100.0) > _TOLERANCE:
            raise r.fail("parts[*].weight", f"part weights must sum to 100, they sum to {total:g}")
        parts = tuple(built)
        steps = tuple(s for p in parts for s in p.steps)
    else:
        steps = _read_steps(r, top["steps"], "steps", mode == "additive", None)
    seen: set[str] = set()
    for index, step in enumerate(steps):
        if step.id in seen:
            raise r.fail(f"steps[{index}].id", f"duplicate step id {step.id!r}")
        seen.add(step.id)
    criteria = _read_criteria(r, top["criteria"]) if "criteria" in top else None
    if "mapping" in top and criteria is None:
        raise r.fail("mapping", "a mapping needs a criteria table")
    mapping = r.choice(top.get("mapping", "steps"), "mapping", MAPPINGS)
    default_basis = "points" if criteria else ("level" if mode == "cumulative" else "performance")
    weighted_by = r.choice(top.get("weighted_by", default_basis), "weighted_by", WEIGHTED_BY)
    if weighted_by == "points" and criteria is None:
        raise r.fail("weighted_by", "weighting by points needs a criteria table")
    if weighted_by == "level" and criteria is None and mode != "cumulative":
        raise r.fail("weighted_by", "weighting by level needs mode: cumulative or criteria")
    rounding = r.integer(top.get("rounding", 3), "rounding", 0, 6)
    default = r.boolean(top.get("default", True), "default")
    if "description" in top:
        r.text(top["description"], "description")
    if "source_documents" in top:
        for i, v in enumerate(r.sequence(top["source_documents"], "source_documents", 0)):
            r.text(v, f"source_documents[{i}]")
    return Rubric(rid, th, en, years, year_from, weight, mode, steps, parts, criteria,
                  mapping, weighted_by, rounding, default, r.path, version)


def rubric_version(path: str | Path) -> str:
    """Short sha256 of the file's bytes: scores record which rubric text they used."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RubricError(path, "", f"cannot read file: {exc.strerror or exc}") from None
    return hashlib.sha256(data).hexdigest()[:12]


def load_rubric(path: str | Path) -> Rubric:
    """Load and validate one rubric file; any problem raises :class:`RubricError`."""
    version = rubric_version(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RubricError(path, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc)
        raise RubricError(path, where, f"invalid YAML: {problem}") from None
    return _build(_Reader(str(path)), data, version)


def load_rubrics(dirs: str | Path | Iterable[str | Path] = (DEFAULT_RUBRICS_DIR,)
                 ) -> dict[str, Rubric]:
    """Load every ``*.yaml``/``*.yml`` in ``dirs`` (sorted); ids must be unique."""
    if isinstance(dirs, (str, Path)):
        dirs = [dirs]
    rubrics: dict[str, Rubric] = {}
    for directory in dirs:
        folder = Path(directory)
        if not folder.is_dir():
            raise RubricError(folder, "", "not a directory")
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            rubric = load_rubric(path)
            if rubric.id in rubrics:
                raise RubricError(path, "id", f"duplicate rubric id {rubric.id!r}, "
                                              f"also in {rubrics[rubric.id].source}")
            rubrics[rubric.id] = rubric
    return rubrics


def rubric_for_year(rubrics: Mapping[str, Rubric], fiscal_year: int,
                    overrides: Mapping[int, str] | None = None) -> Rubric | None:
    """The rubric for a B.E. fiscal year, or None if no rubric covers it.

    ``overrides`` (fiscal year → rubric id, from config) wins. Otherwise the
    ``default: true`` rubrics covering the year are candidates; the one whose
    coverage starts latest (the newest edition) is chosen. Two equally recent
    candidates are a configuration error.
    """
    if overrides and fiscal_year in overrides:
        rid = overrides[fiscal_year]
        if rid not in rubrics:
            raise RubricError("<config>", f"overrides.{fiscal_year}",
                              f"unknown rubric id {rid!r} (known: {', '.join(sorted(rubrics))})")
        return rubrics[rid]
    candidates = [r for r in rubrics.values() if r.default and r.covers(fiscal_year)]
    if not candidates:
        return None

    def start(r: Rubric) -> int:
        starts = [*r.fiscal_years, *([r.fiscal_year_from] if r.fiscal_year_from else [])]
        return min(starts)

    candidates.sort(key=start, reverse=True)
    if len(candidates) > 1 and start(candidates[0]) == start(candidates[1]):
        ids = ", ".join(sorted(r.id for r in candidates if start(r) == start(candidates[0])))
        raise RubricError("<rubrics>", f"fiscal_years.{fiscal_year}",
                          f"several default rubrics apply ({ids}); set an override")
    return candidates[0]


# -------------------------------------------------------------------------- scoring


def _round(value: float, digits: int) -> float:
    """Round half up (official forms do; Python's round() is banker's rounding)."""
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def _progress(step_id: str, value: object) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and 0 <= value <= 1:
        return float(value)
    raise ValueError(f"step {step_id!r}: progress must be true/false or 0..1, got {value!r}")


def _level_and_points(rubric: Rubric, performance: float) -> tuple[int | None, float | None]:
    criteria = rubric.criteria
    if criteria is None:
        if rubric.mode == "cumulative":
            # Levels are cumulative step counts: the shares of steps 1..n.
            reached, level = 0.0, 0
            for step in rubric.steps:
                reached += step.share
                if performance + _TOLERANCE >= reached:
                    level += 1
                else:
                    break
            return level, None
        return None, None
    sign = 1.0 if criteria.direction == "higher" else -1.0
    perf = sign * performance
    marks = [sign * t for t in criteria.thresholds]
    level = 0
    for index, mark in enumerate(marks):
        if perf + _TOLERANCE >= mark:
            level = index + 1
    if level == 0:
        return 1, criteria.points[0]  # below level 1 earns level 1's points
    points = criteria.points[level - 1]
    if rubric.mapping == "linear" and level < 5:
        low, high = marks[level - 1], marks[level]
        fraction = (perf - low) / (high - low)
        points += fraction * (criteria.points[level] - criteria.points[level - 1])
    return level, points


def _finish(rubric: Rubric, performance: float, weight: float | None,
            steps: tuple[StepScore, ...], parts: tuple[PartScore, ...],
            level_override: int | None = None) -> Score:
    digits = rubric.rounding
    w = rubric.weight if weight is None else float(weight)
    if w < 0:
        raise ValueError(f"weight must not be negative, got {weight!r}")
    level, points = _level_and_points(rubric, performance)
    if level_override is not None and rubric.criteria is None:
        level = level_override
    basis = rubric.weighted_by
    if basis == "points":
        weighted = w * (points or 0.0) / 100
    elif basis == "level":
        weighted = w * (level or 0) / 100
    else:
        weighted = w * performance / 100
    return Score(
        rubric_id=rubric.id,
        performance=_round(performance, digits),
        level=level,
        points=None if points is None else _round(points, digits),
        weight=w,
        weighted_score=_round(weighted, digits),
        basis=basis,
        steps=steps,
        parts=parts,
        rubric_version=rubric.version,
    )


def evaluate(rubric: Rubric, step_results: Mapping[str, bool | float],
             weight: float | None = None) -> Score:
    """Score ``rubric`` from step results (step id → met, or progress 0..1).

    Missing steps count as not met; unknown step ids raise ValueError. ``weight``
    replaces the rubric's KPI weight (an agency's form may weigh the KPI differently).
    See the module docstring for how performance, level, points and the weighted
    score are computed in each mode.
    """
    known = {s.id for s in rubric.steps}
    unknown = sorted(set(step_results) - known)
    if unknown:
        raise ValueError(f"rubric {rubric.id!r} has no step(s) {', '.join(unknown)}")
    scores = []
    for step in rubric.steps:
        progress = _progress(step.id, step_results.get(step.id, False))
        scores.append(StepScore(step.id, step.share, progress, progress >= 1.0,
                                0.0, step.requires_verification, step.part))
    if rubric.mode == "cumulative":
        level = 0
        for score in scores:
            if not score.met:
                break
            level += 1
        performance = sum(s.share for s in scores[:level])
        final = tuple(
            StepScore(s.id, s.share, s.progress, s.met, s.share if i < level else 0.0,
                      s.requires_verification, s.part)
            for i, s in enumerate(scores)
        )
        return _finish(rubric, performance, weight, final, (), level_override=level)
    final = tuple(
        StepScore(s.id, s.share, s.progress, s.met, s.share * s.progress,
                  s.requires_verification, s.part)
        for s in scores
    )
    if not rubric.parts:
        return _finish(rubric, sum(s.earned for s in final), weight, final, ())
    parts = []
    for part in rubric.parts:
        inside = sum(s.earned for s in final if s.part == part.id)
        parts.append(PartScore(part.id, part.weight, _round(inside, rubric.rounding),
                               part.weight * inside / 100))
    performance = sum(p.earned for p in parts)
    rounded = tuple(PartScore(p.id, p.weight, p.performance, _round(p.earned, rubric.rounding))
                    for p in parts)
    return _finish(rubric, performance, weight, final, rounded)


def evaluate_performance(rubric: Rubric, performance: float,
                         weight: float | None = None) -> Score:
    """What-if: score a given performance % (0–100) without step results."""
    valid = not isinstance(performance, bool) and isinstance(performance, (int, float))
    if not valid or not 0 <= performance <= 100:
        raise ValueError(f"performance must be a number between 0 and 100, got {performance!r}")
    return _finish(rubric, float(performance), weight, (), ())


def total_weighted(scores: Iterable[Score], digits: int = 3) -> float:
    """Sum of weighted scores, as an evaluation form totals its rows (out of 100)."""
    return _round(sum(s.weighted_score for s in scores), digits)
