"""Verification rules of the pure engine (issue 15): a verification applies
to the quarter it was made for; a pending governance record does not meet a
check in a step that requires verification; new datasets cannot raise the
current-data share; a closed year's last open day."""
from __future__ import annotations

import datetime as dt

from ckanext.kpigov import checks, fiscal
from ckanext.kpigov.rubric import Check

MONTHS = ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03",
          "2024-04", "2024-05", "2024-06"]


def dec(decision, quarter, at="2024-03-01T00:00:00"):
    return {"decision": decision, "quarter": quarter, "at": at}


def test_verified_at_q2_does_not_carry_into_q3():
    run_q3 = {"met": False}  # Q3: 2 of 14 months on time
    history = [dec("verified", 2)]
    assert checks.step_status({"met": False}, history, 2) == (True, history[0])
    assert checks.step_status(run_q3, history, 3) == (False, None)
    # verified again in Q3: met in Q3
    history.append(dec("verified", 3, "2024-05-01T00:00:00"))
    assert checks.step_status(run_q3, history, 3)[0] is True
    assert checks.step_status(run_q3, history, 4) == (False, None)


def test_a_rejection_applies_to_its_quarter_and_the_latest_decision_wins():
    history = [dec("verified", 2), dec("rejected", 2, "2024-03-02T00:00:00")]
    assert checks.step_status({"met": True}, history, 2) == (False, history[1])
    # Q3 judges itself: the computed status
    assert checks.step_status({"met": True}, history, 3) == (True, None)
    assert checks.step_decision([], 1) is None
    assert checks.step_decision(history, None) is history[1]


def _facts(status):
    return {"governance": {"team": {"id": "t", "status": status,
                                    "document_url": "http://x/o.pdf",
                                    "document_name": "o.pdf", "data": {}},
                           "plan": None}}


def test_pending_record_does_not_meet_a_check_that_needs_verification():
    step = [Check("governance_team", {})]
    pending = checks.run_step(step, _facts("pending"), requires_verification=True)
    assert not pending["met"]
    assert pending["checks"][0]["actions"][0]["code"] == "team_pending"
    assert checks.run_step(step, _facts("verified"), requires_verification=True)["met"]
    # a step without verification (or a rubric that says verified: false)
    assert checks.run_step(step, _facts("pending"))["met"]
    assert checks.run_step([Check("governance_team", {"verified": False})],
                           _facts("pending"), requires_verification=True)["met"]
    assert not checks.check("development_plan", {"governance": {"plan": {
        "id": "p", "status": "pending", "document_url": "x"}}}, {"verified": True})["met"]


def _ds(id_, created, months):
    return {"id": id_, "name": id_, "title": id_, "private": False, "created": created,
            "months": months}


def test_datasets_created_in_the_judged_quarter_cannot_raise_the_share():
    on_time = {m: "on_time" for m in MONTHS}
    behind = dict(on_time, **{"2024-05": "missed", "2024-06": "missed"})
    june_only = {m: ("on_time" if m == "2024-06" else "not_required") for m in MONTHS}
    old = [_ds("a%d" % i, "2023-09-01", on_time) for i in range(3)]
    old += [_ds("b%d" % i, "2023-09-01", behind) for i in range(2)]
    facts = {"months": MONTHS, "datasets": old}
    assert checks.check("data_currency_share", facts, {"min": 80})["value"] == 60.0
    trivial = [_ds("t%d" % i, "2024-06-01", june_only) for i in range(5)]
    gamed = dict(facts, datasets=old + trivial)
    res = checks.check("data_currency_share", gamed, {"min": 80})
    assert (res["done"], res["total"], res["value"], res["met"]) == (3, 5, 60.0, False)
    # created the day before the quarter (Apr-Jun) starts: it counts
    early = [_ds("e%d" % i, "2024-03-31", on_time) for i in range(5)]
    assert checks.check("data_currency_share", dict(facts, datasets=old + early),
                        {"min": 80})["value"] == 80.0
    # a new dataset that is behind still counts against the share
    late_new = [_ds("n", "2024-04-02", dict(june_only, **{"2024-05": "missed"}))]
    assert checks.check("data_currency_share", dict(facts, datasets=old + late_new),
                        {"min": 80})["total"] == 6
    # facts without creation dates (older callers) count every dataset
    plain = [dict(d, created=None) for d in old + trivial]
    assert checks.check("data_currency_share", dict(facts, datasets=plain),
                        {"min": 80})["value"] == 80.0


def test_evaluation_close_date():
    assert fiscal.evaluation_close_date(2569) == dt.date(2026, 10, 15)
    assert fiscal.evaluation_close_date(2569, 0) == dt.date(2026, 9, 30)
    assert fiscal.evaluation_close_date(2567, 60) == dt.date(2024, 11, 29)
