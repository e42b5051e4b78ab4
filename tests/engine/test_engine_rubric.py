"""Rubric loading, validation and the seed figures."""
from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
import yaml

from ckanext.kpigov.rubric import (
    CHECK_TYPES,
    DEFAULT_RUBRICS_DIR,
    Rubric,
    RubricError,
    evaluate,
    evaluate_performance,
    load_rubric,
    load_rubrics,
    rubric_for_year,
    rubric_version,
    total_weighted,
)

ALL_FIVE = {f"step{i}": True for i in range(1, 6)}


@pytest.fixture(scope="module")
def shipped() -> dict[str, Rubric]:
    return load_rubrics([DEFAULT_RUBRICS_DIR])


def write(tmp_path: Path, text: str, name: str = "rubric.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


BASE = """\
id: test_rubric
title: {th: ทดสอบ, en: Test}
fiscal_years: [2567]
weight: 10
mode: additive
steps:
  - id: a
    title: {th: ก, en: A}
    share: 50
    checks: [{type: governance_team}]
  - id: b
    title: {th: ข, en: B}
    share: 30
    checks:
      - type: metadata_completeness
        params: {min: 80}
  - id: c
    title: {th: ค, en: C}
    share: 20
"""


# ------------------------------------------------------------------ seed figures


def test_shipped_rubrics_load(shipped: dict[str, Rubric]) -> None:
    assert set(shipped) == {"bma_kpi52_fy2564", "bma_kpi52_two_part_fy2564",
                            "moi_levels_fy2555", "bma_eval_form_fy2564"}
    for rubric in shipped.values():
        assert len(rubric.version) == 12
        for step in rubric.steps:
            assert all(check.type in CHECK_TYPES for check in step.checks)


def test_seed_000_all_five_steps(shipped: dict[str, Rubric]) -> None:
    score = evaluate(shipped["bma_kpi52_fy2564"], ALL_FIVE)
    assert score.performance == 100.0
    assert score.weighted_score == 10.000
    assert score.basis == "performance"
    assert score.points is None and score.level is None
    assert [s.earned for s in score.steps] == [20.0] * 5


def test_seed_000_partial_steps(shipped: dict[str, Rubric]) -> None:
    rubric = shipped["bma_kpi52_fy2564"]
    score = evaluate(rubric, {"step1": True, "step2": True, "step3": True, "step4": False})
    assert score.performance == 60.0
    assert score.weighted_score == 6.000
    assert [s.met for s in score.steps] == [True, True, True, False, False]
    # Partial progress earns part of a step's share.
    partial = evaluate(rubric, {**ALL_FIVE, "step5": 0.75})
    assert partial.performance == 95.0
    assert partial.weighted_score == 9.5
    assert not partial.steps[4].met
    # The form's weight can differ from the rubric's.
    assert evaluate(rubric, ALL_FIVE, weight=5).weighted_score == 5.0


def test_seed_002_level_five(shipped: dict[str, Rubric]) -> None:
    rubric = shipped["moi_levels_fy2555"]
    score = evaluate(rubric, {s.id: True for s in rubric.steps})
    assert score.level == 5
    assert score.weighted_score == 0.350
    assert score.basis == "level"


def test_seed_002_cumulative_levels_need_all_earlier_steps(shipped: dict[str, Rubric]) -> None:
    rubric = shipped["moi_levels_fy2555"]
    ids = [s.id for s in rubric.steps]
    score = evaluate(rubric, {ids[0]: True, ids[1]: True, ids[3]: True})
    assert score.level == 2
    assert score.performance == 40.0
    assert score.weighted_score == 0.14
    assert [s.earned for s in score.steps] == [20.0, 20.0, 0.0, 0.0, 0.0]
    assert evaluate(rubric, {ids[1]: True}).level == 0
    assert evaluate_performance(rubric, 60).level == 3


def test_seed_004_steps_mapping(shipped: dict[str, Rubric]) -> None:
    form = shipped["bma_eval_form_fy2564"]
    score = evaluate_performance(form, 95)
    assert (score.level, score.points, score.weighted_score) == (4, 90.0, 9.000)
    from_steps = evaluate(form, {**ALL_FIVE, "step5": 0.75})
    assert (from_steps.performance, from_steps.points,
            from_steps.weighted_score) == (95.0, 90.0, 9.0)
    full = evaluate(form, ALL_FIVE)
    assert (full.level, full.points, full.weighted_score) == (5, 100.0, 10.0)


def test_seed_004_below_level_one_earns_sixty(shipped: dict[str, Rubric]) -> None:
    form = shipped["bma_eval_form_fy2564"]
    score = evaluate_performance(form, 40)
    assert (score.level, score.points, score.weighted_score) == (1, 60.0, 6.0)
    assert evaluate(form, {}).points == 60.0


def test_seed_004_linear_mapping(shipped: dict[str, Rubric]) -> None:
    linear = dataclasses.replace(shipped["bma_eval_form_fy2564"], mapping="linear")
    score = evaluate_performance(linear, 91.143)
    assert score.points == 91.143
    assert score.weighted_score == 9.114
    assert evaluate_performance(linear, 30).points == 60.0
    assert evaluate_performance(linear, 100).points == 100.0
    # Rounded half up like the official forms (round() would give 91.143).
    assert evaluate_performance(linear, 91.1435).points == 91.144


def test_seed_001_two_parts_together(shipped: dict[str, Rubric]) -> None:
    rubric = shipped["bma_kpi52_two_part_fy2564"]
    score = evaluate(rubric, {"p1_complete_correct": True, "p1_on_time": True,
                              "p2_step1": True, "p2_step2": True, "p2_step3": True})
    assert score.performance == 80.0
    assert (score.points, score.weighted_score) == (80.0, 8.0)
    assert [(p.id, p.performance, p.earned) for p in score.parts] == [
        ("part1", 100.0, 50.0), ("part2", 60.0, 30.0)]
    assert {s.part for s in score.steps} == {"part1", "part2"}


def test_group_thresholds_80_to_100(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + """\
criteria:
  thresholds: [80, 85, 90, 95, 100]
mapping: steps
""")
    rubric = load_rubric(path)
    assert rubric.weighted_by == "points"
    score = evaluate_performance(rubric, 95)
    assert (score.level, score.points, score.weighted_score) == (4, 90.0, 9.0)
    assert evaluate_performance(rubric, 94.99).points == 80.0
    assert evaluate_performance(rubric, 19.33).points == 60.0
    linear = dataclasses.replace(rubric, mapping="linear")
    assert evaluate_performance(linear, 99.343).points == 98.686


def test_lower_is_better_criteria(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + """\
criteria:
  thresholds: [100, 80, 60, 40, 20]
  direction: lower
""")
    rubric = load_rubric(path)
    assert evaluate_performance(rubric, 50).level == 3
    assert evaluate_performance(rubric, 10).points == 100.0
    assert evaluate_performance(rubric, 100).points == 60.0


def test_total_weighted(shipped: dict[str, Rubric]) -> None:
    form = shipped["bma_eval_form_fy2564"]
    rows = [evaluate_performance(form, 100), evaluate_performance(form, 95)]
    assert total_weighted(rows) == 19.0


def test_bad_scoring_inputs(shipped: dict[str, Rubric]) -> None:
    rubric = shipped["bma_kpi52_fy2564"]
    with pytest.raises(ValueError, match="no step"):
        evaluate(rubric, {"step9": True})
    with pytest.raises(ValueError, match="0..1"):
        evaluate(rubric, {"step1": 1.5})
    for bad in (-1, 100.5, "90", True):
        with pytest.raises(ValueError, match="between 0 and 100"):
            evaluate_performance(rubric, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        evaluate(rubric, ALL_FIVE, weight=-1)


def test_score_as_dict(shipped: dict[str, Rubric]) -> None:
    data = evaluate(shipped["bma_kpi52_fy2564"], ALL_FIVE).as_dict()
    assert data["weighted_score"] == 10.0
    assert data["steps"][0]["id"] == "step1"
    assert data["rubric_version"] == shipped["bma_kpi52_fy2564"].version


# ------------------------------------------------------------- selection, version


def test_rubric_for_year(shipped: dict[str, Rubric]) -> None:
    assert rubric_for_year(shipped, 2564).id == "bma_kpi52_fy2564"  # type: ignore[union-attr]
    assert rubric_for_year(shipped, 2555).id == "moi_levels_fy2555"  # type: ignore[union-attr]
    assert rubric_for_year(shipped, 2540) is None
    chosen = rubric_for_year(shipped, 2564, {2564: "bma_kpi52_two_part_fy2564"})
    assert chosen is not None and chosen.id == "bma_kpi52_two_part_fy2564"
    with pytest.raises(RubricError, match="unknown rubric id 'nope'"):
        rubric_for_year(shipped, 2564, {2564: "nope"})


def test_rubric_for_year_open_range_and_newest_edition(tmp_path: Path) -> None:
    write(tmp_path, BASE.replace("fiscal_years: [2567]", "fiscal_years: {from: 2565}"), "a.yaml")
    write(tmp_path, BASE.replace("test_rubric", "newer").replace(
        "fiscal_years: [2567]", "fiscal_years: {from: 2567, to: 2570}"), "b.yaml")
    rubrics = load_rubrics(tmp_path)
    assert rubric_for_year(rubrics, 2566).id == "test_rubric"  # type: ignore[union-attr]
    assert rubric_for_year(rubrics, 2568).id == "newer"  # type: ignore[union-attr]
    assert rubric_for_year(rubrics, 2580).id == "test_rubric"  # type: ignore[union-attr]
    write(tmp_path, BASE.replace("test_rubric", "rival").replace(
        "fiscal_years: [2567]", "fiscal_years: [2567, 2568]"), "c.yaml")
    with pytest.raises(RubricError, match="several default rubrics"):
        rubric_for_year(load_rubrics(tmp_path), 2568)


def test_rubric_version_tracks_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    first = rubric_version(path)
    assert len(first) == 12 and int(first, 16) >= 0
    assert load_rubric(path).version == first
    path.write_text(BASE.replace("weight: 10", "weight: 12"), encoding="utf-8")
    assert rubric_version(path) != first


# ------------------------------------------------------------ malformed rubrics


@pytest.mark.parametrize(("old", "new", "key", "problem"), [
    ("weight: 10\n", "", "weight", "missing required key"),
    ("weight: 10", "weight: ten", "weight", "expected a number"),
    ("weight: 10", "weight: 150", "weight", "out of range"),
    ("mode: additive", "mode: sometimes", "mode", "expected one of additive, cumulative"),
    ("    share: 20\n", "    share: 25\n", "steps[*].share", "sum to 105"),
    ("    share: 20\n", "    share: twenty\n", "steps[2].share", "expected a number"),
    ("    share: 20\n", "", "steps[2].share", "missing required key"),
    ("checks: [{type: governance_team}]", "checks: [{type: governance_teem}]",
     "steps[0].checks[0].type", "unknown check type 'governance_teem'"),
    ("params: {min: 80}", "params: {min: 180}", "steps[1].checks[0].params.min", "out of range"),
    ("params: {min: 80}", "params: {minimum: 80}", "steps[1].checks[0].params.minimum",
     "unknown key"),
    ("params: {min: 80}", "params: {}", "steps[1].checks[0].params.min",
     "missing required key"),
    ("  - id: c\n", "  - id: a\n", "steps[2].id", "duplicate step id 'a'"),
    ("  - id: c\n", "  - id: Step C\n", "steps[2].id", "is not an id"),
    ("title: {th: ทดสอบ, en: Test}", "title: {th: ทดสอบ}", "title.en", "missing required key"),
    ("fiscal_years: [2567]", "fiscal_years: [2024]", "fiscal_years[0]", "out of range"),
    ("fiscal_years: [2567]", "fiscal_years: {from: 2567, to: 2560}", "fiscal_years.to",
     "before"),
    ("steps:", "stpes:", "stpes", "unknown key"),
    ("weight: 10", "weight: 10\nmapping: linear", "mapping", "needs a criteria table"),
    ("weight: 10", "weight: 10\ncriteria: {thresholds: [60, 70, 80, 90]}",
     "criteria.thresholds", "expected 5 levels"),
    ("weight: 10", "weight: 10\ncriteria: {thresholds: [60, 80, 70, 90, 100]}",
     "criteria.thresholds", "strictly increasing"),
    ("weight: 10", "weight: 10\nweighted_by: points", "weighted_by", "needs a criteria table"),
    ("weight: 10", "weight: 10\nrounding: 3.5", "rounding", "expected an integer"),
])
def test_malformed_rubric_names_file_and_key(tmp_path: Path, old: str, new: str, key: str,
                                             problem: str) -> None:
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    message = str(info.value)
    assert str(path) in message
    assert info.value.key == key, message
    assert problem in message
    assert message.startswith(f"{path}: {key}: ")


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("weight: 10", "weight: [10"))
    with pytest.raises(RubricError, match=r"line \d+, column \d+: invalid YAML") as info:
        load_rubric(path)
    assert str(path) in str(info.value)


def test_not_a_mapping_and_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "- just\n- a list\n")
    with pytest.raises(RubricError, match="expected a mapping"):
        load_rubric(path)
    with pytest.raises(RubricError, match="cannot read file"):
        load_rubric(tmp_path / "absent.yaml")
    with pytest.raises(RubricError, match="not a directory"):
        load_rubrics([tmp_path / "nowhere"])


def test_parts_validation(tmp_path: Path, shipped: dict[str, Rubric]) -> None:
    source = Path(shipped["bma_kpi52_two_part_fy2564"].source).read_text(encoding="utf-8")
    path = write(tmp_path, source.replace("    weight: 50\n", "    weight: 40\n", 1))
    with pytest.raises(RubricError, match=r"parts\[\*\]\.weight: part weights must sum to 100"):
        load_rubric(path)
    path = write(tmp_path, source.replace("mode: additive", "mode: cumulative"))
    with pytest.raises(RubricError, match="parts: parts are only allowed with mode: additive"):
        load_rubric(path)
    both = yaml.safe_load(source)
    both["steps"] = both["parts"][0]["steps"]
    path = write(tmp_path, yaml.safe_dump(both, allow_unicode=True))
    with pytest.raises(RubricError, match="exactly one"):
        load_rubric(path)


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path, BASE, "one.yaml")
    write(tmp_path, BASE, "two.yml")
    with pytest.raises(RubricError, match="duplicate rubric id 'test_rubric'") as info:
        load_rubrics(tmp_path)
    assert "one.yaml" in str(info.value) and "two.yml" in str(info.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"id: x\ntitle: {th: caf\xe9, en: cafe}\n")  # Latin-1, not UTF-8
    with pytest.raises(RubricError, match="not UTF-8"):
        load_rubric(path)


def test_cumulative_shares_default_to_equal(tmp_path: Path) -> None:
    text = BASE.replace("mode: additive", "mode: cumulative")
    for share in ("    share: 50\n", "    share: 30\n", "    share: 20\n"):
        text = text.replace(share, "")
    rubric = load_rubric(write(tmp_path, text))
    assert rubric.weighted_by == "level"
    assert [round(s.share, 3) for s in rubric.steps] == [33.333] * 3
    score = evaluate(rubric, {"a": True, "b": True, "c": True})
    assert (score.level, score.performance, score.weighted_score) == (3, 100.0, 0.3)
