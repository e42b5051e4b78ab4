"""The KPI checks on plain facts (no database)."""
from __future__ import annotations

import copy

import pytest

from ckanext.kpigov import checks
from ckanext.kpigov.rubric import CHECK_TYPES, evaluate, load_rubrics

MONTHS = ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03",
          "2024-04", "2024-05", "2024-06"]


def ds(id_, **kw):
    base = {"id": id_, "name": id_, "title": id_.title(), "private": False,
            "has_owner": True, "has_steward": True, "completeness": 1.0, "missing": [],
            "dict_columns": 4, "dict_described": 4, "online": True, "api": False,
            "has_cadence": True, "target_fy": None,
            "months": {m: "on_time" for m in MONTHS}, "entries": {"2023-10": ["e1"]}}
    base.update(kw)
    return base


def facts(**kw):
    base = {
        "fiscal_year": 2567, "months": MONTHS, "count_late_as_on_time": False,
        "governance": {"team": {"id": "t", "status": "pending", "document_url": "http://d/t.pdf",
                                "document_name": "order.pdf", "data": {}},
                       "plan": {"id": "p", "status": "verified", "document_url": "http://d/p.pdf",
                                "document_name": "plan.pdf", "data": {}}},
        "stakeholders": [{"role": "steward", "name": "สมศรี"}],
        "datasets": [ds("target", target_fy=2567), ds("other")],
        "targets": ["target"], "previous_targets": [],
        "evidence": [{"id": "u1", "package_id": "target", "evidence_type": "usage",
                      "kind": "operations", "status": "verified", "date": "2024-03-01",
                      "description": "ใช้วางแผน", "url": None}],
    }
    base.update(kw)
    return base


def test_every_rubric_check_type_is_implemented():
    assert set(checks.CHECKS) == set(CHECK_TYPES)


@pytest.mark.parametrize("type_", sorted(CHECK_TYPES))
def test_every_check_returns_a_verdict_on_empty_facts(type_):
    params = {"min": 100, "min_rate": 100}
    spec = CHECK_TYPES[type_]
    out = checks.check(type_, facts(datasets=[], targets=[], evidence=[], stakeholders=[],
                                    governance={"team": None, "plan": None}),
                       {k: v for k, v in params.items() if k in spec.params})
    assert out["type"] == type_ and out["met"] is False
    assert 0 <= out["progress"] <= 1
    assert out["actions"], "an unmet check says what to do"
    for action in out["actions"]:
        assert action["code"] in checks.MESSAGES


def test_governance_record_needs_its_document():
    f = facts()
    assert checks.check("governance_team", f)["met"]
    assert checks.check("development_plan", f)["met"]
    f["governance"]["team"]["document_url"] = None
    out = checks.check("governance_team", f)
    assert not out["met"] and out["actions"][0]["code"] == "team_no_document"
    assert (out["done"], out["total"]) == (1, 2)
    f["governance"]["plan"]["status"] = "rejected"
    assert checks.check("development_plan", f)["actions"][0]["code"] == "plan_rejected"


def test_data_catalog_share_and_missing_people():
    f = facts(datasets=[ds("a"), ds("b", has_steward=False), ds("c", has_steward=False,
                                                                 has_owner=False)])
    out = checks.check("data_catalog", f, {"min_catalog_complete_share": 100})
    assert not out["met"] and (out["done"], out["total"]) == (1, 3)
    codes = {a["code"]: a for a in out["actions"]}
    assert codes["lack_steward"]["n"] == 2 and codes["lack_steward"]["datasets"] == ["b", "c"]
    assert codes["lack_owner"]["n"] == 1
    assert checks.check("data_catalog", f, {"min_catalog_complete_share": 30})["met"]
    assert not checks.check("data_catalog", f, {"min_catalog_complete_share": 0,
                                                "min_datasets": 5})["met"]


def test_stakeholders_from_register_or_target():
    assert checks.check("stakeholders_named", facts())["met"]
    f = facts(stakeholders=[])
    assert checks.check("stakeholders_named", f)["met"]  # the target names both
    f["datasets"][0]["has_steward"] = False
    assert not checks.check("stakeholders_named", f)["met"]


def test_target_database():
    out = checks.check("target_database", facts(), {"min_count": 1})
    assert out["met"] and out["evidence"][0]["id"] == "target"
    assert not checks.check("target_database", facts(), {"min_count": 2})["met"]
    out = checks.check("target_database", facts(targets=[]))
    assert out["actions"][0]["code"] == "target_missing"


def test_metadata_completeness_threshold_and_missing_fields():
    f = facts(datasets=[ds("target", completeness=0.5, missing=["notes", "tags"])])
    out = checks.check("metadata_completeness", f, {"min": 100})
    assert not out["met"] and out["value"] == 50.0
    assert out["actions"][0]["fields"] == ["notes", "tags"]
    assert checks.check("metadata_completeness", f, {"min": 50})["met"]
    # the catalog scope averages every dataset
    f = facts(datasets=[ds("target"), ds("x", completeness=0.0)])
    assert checks.check("metadata_completeness", f, {"min": 60, "scope": "catalog"})[
        "value"] == 50.0


def test_dictionary_coverage():
    f = facts(datasets=[ds("target", dict_columns=10, dict_described=7)])
    out = checks.check("dictionary_coverage", f, {"min": 100})
    assert not out["met"] and (out["done"], out["total"]) == (7, 10)
    assert out["actions"][0] == {"code": "dictionary_low", "n": 3}
    assert checks.check("dictionary_coverage", f, {"min": 70})["met"]
    f = facts(datasets=[ds("target", dict_columns=0, dict_described=0)])
    assert checks.check("dictionary_coverage", f, {"min": 0})["actions"][0]["code"] == \
        "dictionary_missing"


def test_monthly_compliance_counts_elapsed_months():
    months = {m: "on_time" for m in MONTHS}
    months.update({"2024-02": "missed", "2024-05": "late"})
    f = facts(datasets=[ds("target", months=months), ds("other")])
    out = checks.check("monthly_compliance", f, {"min_rate": 100})
    assert not out["met"] and (out["done"], out["total"]) == (7, 9)
    codes = {a["code"]: a for a in out["actions"]}
    assert codes["no_data_for"]["months"] == ["2024-02"]
    assert codes["late_for"]["months"] == ["2024-05"]
    assert any(e["kind"] == "ledger" and e["id"] == "e1" for e in out["evidence"])
    # late counts when the rubric says so
    late_ok = checks.check("monthly_compliance", f, {"min_rate": 80,
                                                     "count_late_as_on_time": True})
    assert late_ok["met"] and late_ok["done"] == 8
    # upcoming and exempt months are not due
    months = {m: "on_time" for m in MONTHS[:6]} | {"2024-04": "exempt",
                                                   "2024-05": "upcoming"}
    f = facts(datasets=[ds("target", months=months)])
    out = checks.check("monthly_compliance", f, {"min_rate": 100})
    assert out["met"] and out["total"] == 6


def test_monthly_compliance_catalog_share():
    behind = {m: "missed" for m in MONTHS}
    f = facts(datasets=[ds("target"), ds("b", months=behind), ds("c"), ds("d")])
    assert checks.check("monthly_compliance", f, {"min_rate": 100})["met"]
    out = checks.check("monthly_compliance", f, {"min_rate": 100,
                                                 "include_catalog_share": 100})
    assert not out["met"] and out["catalog_share"] == 75.0
    assert out["actions"][-1] == {"code": "catalog_behind", "n": 1, "datasets": ["b"]}
    assert checks.check("monthly_compliance", f, {"min_rate": 100,
                                                  "include_catalog_share": 75})["met"]


def test_monthly_compliance_nothing_due():
    f = facts(datasets=[ds("target", months={})])
    out = checks.check("monthly_compliance", f, {"min_rate": 100})
    assert not out["met"] and out["actions"][0]["code"] == "nothing_due"
    f = facts(datasets=[ds("target", months={}, has_cadence=False)])
    assert checks.check("monthly_compliance", f, {"min_rate": 100})["actions"][0][
        "code"] == "cadence_missing"


def test_usage_evidence_verified_only():
    assert checks.check("usage_evidence", facts(), {"verified": True})["met"]
    f = facts()
    f["evidence"][0]["status"] = "pending"
    out = checks.check("usage_evidence", f, {"verified": True})
    assert not out["met"] and out["actions"][0] == {"code": "usage_pending", "n": 1}
    assert checks.check("usage_evidence", f, {"verified": False})["met"]
    f["evidence"][0]["status"] = "rejected"
    assert not checks.check("usage_evidence", f, {"verified": False})["met"]
    # evidence on another dataset does not count
    f = facts()
    f["evidence"][0]["package_id"] = "other"
    assert not checks.check("usage_evidence", f)["met"]


def test_published_online_and_sharing():
    assert checks.check("published_online", facts())["met"]
    f = facts(datasets=[ds("target", private=True)])
    out = checks.check("published_online", f)
    assert not out["met"] and out["actions"][0]["code"] == "target_private"
    f["evidence"].append({"id": "s1", "package_id": "target", "evidence_type": "sharing",
                          "kind": "api", "status": "verified", "date": "2024-04-01",
                          "description": "API", "url": None})
    assert checks.check("published_online", f)["met"]
    assert not checks.check("published_online", f, {"public_only": True})["met"]
    assert checks.check("sharing_record", f)["met"]
    f["evidence"][-1]["status"] = "pending"
    out = checks.check("sharing_record", f)
    assert not out["met"] and out["actions"][0]["code"] == "sharing_pending"
    f = facts(datasets=[ds("target", online=False)])
    assert checks.check("published_online", f)["actions"][0]["code"] == "not_online"


def test_level_edition_checks():
    f = facts(datasets=[ds("a", api=True), ds("b"), ds("c"),
                        ds("d", months={"2023-10": "missed"})])
    assert checks.check("realtime_link", f)["met"]
    out = checks.check("data_currency_share", f, {"min": 80})
    assert not out["met"] and out["value"] == 75.0
    assert checks.check("data_currency_share", f, {"min": 75})["met"]
    assert not checks.check("eis_gis_views", f, {})["met"]
    assert not checks.check("manual", f, {})["met"]


def test_two_part_edition_checks_read_last_years_target():
    months = {m: "on_time" for m in MONTHS} | {"2024-01": "late"}
    f = facts(datasets=[ds("old", target_fy=2566, months=months)],
              previous_targets=["old"])
    assert checks.check("entry_complete_correct", f, {"min": 100})["met"]
    out = checks.check("entry_on_time", f, {"min_rate": 100})
    assert not out["met"] and (out["done"], out["total"]) == (8, 9)
    assert checks.check("entry_on_time", facts(), {"min_rate": 100})["actions"][0][
        "code"] == "previous_missing"


def test_private_datasets_are_marked_in_evidence():
    f = facts(datasets=[ds("target", private=True, months={"2023-10": "on_time"})])
    out = checks.check("monthly_compliance", f, {"min_rate": 100})
    assert out["evidence"] and all(e["private"] for e in out["evidence"])


def test_facts_are_not_changed():
    f = facts()
    before = copy.deepcopy(f)
    for type_ in CHECK_TYPES:
        checks.check(type_, f, {"min": 100, "min_rate": 100} if type_ in (
            "metadata_completeness", "dictionary_coverage", "monthly_compliance",
            "data_currency_share") else {})
    assert f == before


def test_run_rubric_on_every_shipped_rubric():
    for rubric in load_rubrics().values():
        runs = checks.run_rubric(rubric, facts())
        assert set(runs) == {s.id for s in rubric.steps}
        for run in runs.values():
            assert run["met"] == all(c["met"] for c in run["checks"])
            assert 0 <= run["progress"] <= 1
        score = evaluate(rubric, {k: v["met"] for k, v in runs.items()})
        assert 0 <= score.performance <= 100


def test_seed_000_all_steps_met():
    rubric = load_rubrics()["bma_kpi52_fy2564"]
    f = facts()
    # step 1 requires verification: pending records would not meet it
    for kind in ("team", "plan"):
        f["governance"][kind]["status"] = "verified"
    f["evidence"].append({"id": "s1", "package_id": "target", "evidence_type": "sharing",
                          "kind": "api", "status": "verified", "date": "2024-04-01",
                          "description": "API", "url": None})
    runs = checks.run_rubric(rubric, f)
    assert all(r["met"] for r in runs.values()), {k: [c for c in r["checks"] if not c["met"]]
                                                  for k, r in runs.items()}
    score = evaluate(rubric, {k: v["met"] for k, v in runs.items()})
    assert (score.performance, score.weighted_score) == (100.0, 10.0)
