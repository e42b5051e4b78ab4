"""Governance record, stakeholder register, evidence and verification actions.

Permission matrix for the governance record (one parametrized test below):

    role          edit  contacts  verify  history
    anonymous      -       -        -       -
    registered     -       -        -       -
    member         -       x        -       x
    editor         x       x        -       x
    admin          x       x        -       x
    other_admin    -       -        -       -
    evaluator      -       x        x       x
    sysadmin       x       x        x       x

edit = create/update/delete; contacts = emails and phones of the working
group in kpigov_governance_show; history = kpigov_verification_list.
"""
from __future__ import annotations

import datetime as dt
import io

import pytest
from werkzeug.datastructures import FileStorage

import ckan.logic as logic
import ckan.model as model
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov.model import evidence_table, verification_table

MATRIX = {
    #              edit   contacts verify history
    "anonymous":   (False, False, False, False),
    "registered":  (False, False, False, False),
    "member":      (False, True, False, True),
    "editor":      (True, True, False, True),
    "admin":       (True, True, False, True),
    "other_admin": (False, False, False, False),
    "evaluator":   (False, True, True, True),
    "sysadmin":    (True, True, True, True),
}

pytestmark = [pytest.mark.usefixtures("clean_db", "with_plugins"),
              pytest.mark.ckan_config("ckanext.kpigov.evaluators", "evaluator"),
              # FY 2567 is long closed on the real clock: keep it open here
              # (closed years: tests/trust/test_gaming_closed_year.py)
              pytest.mark.ckan_config("ckanext.kpigov.evaluation_close", "100000")]

FY = 2567
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
       b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
       b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def call(action, user=None, **kw):
    ctx = {"user": user["name"] if user else "", "ignore_auth": False}
    return helpers.call_action(action, context=ctx, **kw)


def upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.append(["แผน", "เป้าหมาย"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def portal():
    users = {name: factories.User() for name in
             ("registered", "member", "editor", "admin", "other_admin")}
    users["evaluator"] = factories.User(name="evaluator")
    users["sysadmin"] = factories.Sysadmin()
    org = factories.Organization(name="pathumwan", title="สำนักงานเขตปทุมวัน", users=[
        {"name": users["member"]["name"], "capacity": "member"},
        {"name": users["editor"]["name"], "capacity": "editor"},
        {"name": users["admin"]["name"], "capacity": "admin"}])
    other = factories.Organization(name="bangrak", users=[
        {"name": users["other_admin"]["name"], "capacity": "admin"}])
    public = factories.Dataset(name="elderly", owner_org=org["id"])
    private = factories.Dataset(name="secret-ds", owner_org=org["id"], private=True)
    foreign = factories.Dataset(name="foreign", owner_org=other["id"])
    users["anonymous"] = None
    return dict(org=org, other=other, public=public, private=private,
                foreign=foreign, users=users, **users)


def team(portal, user=None, **kw):
    data = dict(owner_org="pathumwan", fiscal_year=FY, kind="team",
                order_number="123/2567", order_date="2567-01-15",
                members=[{"name": "นายสมชาย ใจดี", "position": "ผู้อำนวยการเขต",
                          "role": "chair", "email": "somchai@bma.example",
                          "phone": "02 214 1234"},
                         {"name": "นางสาวสมศรี", "position": "นักวิชาการ",
                          "role": "secretary"}])
    data.update(kw)
    return call("kpigov_governance_update", user or portal["editor"], **data)


@pytest.mark.parametrize("role", list(MATRIX))
def test_governance_permission_matrix(portal, role):
    edit, contacts, verify, history = MATRIX[role]
    user = portal["users"][role]
    record = team(portal)
    if edit:
        updated = call("kpigov_governance_update", user, owner_org="pathumwan",
                       fiscal_year=FY, kind="team", order_number="124/2567")
        assert updated["data"]["order_number"] == "124/2567"
    else:
        with pytest.raises(logic.NotAuthorized):
            call("kpigov_governance_update", user, owner_org="pathumwan",
                 fiscal_year=FY, kind="team", order_number="124/2567")
        with pytest.raises(logic.NotAuthorized):
            call("kpigov_governance_delete", user, id=record["id"])
    shown = call("kpigov_governance_show", user, owner_org="pathumwan",
                 fiscal_year=FY, kind="team")
    chair = shown["data"]["members"][0]
    assert chair["name"] == "นายสมชาย ใจดี"  # working-group names are public
    assert ("email" in chair) is contacts and ("phone" in chair) is contacts
    assert ("modified_by" in shown) is contacts
    if verify:
        result = call("kpigov_verify", user, object_type="governance",
                      id=record["id"], decision="verified")
        assert result["status_after"] == "verified"
    else:
        with pytest.raises(logic.NotAuthorized):
            call("kpigov_verify", user, object_type="governance",
                 id=record["id"], decision="verified")
    if history:
        assert isinstance(call("kpigov_verification_list", user,
                               owner_org="pathumwan"), list)
    else:
        with pytest.raises(logic.NotAuthorized):
            call("kpigov_verification_list", user, owner_org="pathumwan")
    if edit:
        call("kpigov_governance_delete", user, id=record["id"])
        with pytest.raises(logic.NotFound):
            call("kpigov_governance_show", user, id=record["id"])


def test_create_refuses_a_second_record_update_upserts(portal):
    created = call("kpigov_governance_create", portal["editor"], owner_org="pathumwan",
                   fiscal_year=FY, kind="plan", summary="แผนพัฒนาฐานข้อมูล",
                   target_datasets=["elderly", "secret-ds"])
    assert created["status"] == "pending"
    assert [t["name"] for t in created["data"]["target_datasets"]] == ["elderly", "secret-ds"]
    with pytest.raises(logic.ValidationError) as err:
        call("kpigov_governance_create", portal["editor"], owner_org="pathumwan",
             fiscal_year=FY, kind="plan", summary="again")
    assert "kind" in err.value.error_dict
    updated = call("kpigov_governance_update", portal["editor"], owner_org="pathumwan",
                   fiscal_year=FY, kind="plan", summary="ฉบับแก้ไข")
    assert updated["id"] == created["id"]
    # keys not given keep their stored value
    assert len(updated["data"]["target_datasets"]) == 2
    listed = call("kpigov_governance_list", None, owner_org="pathumwan")
    assert [r["kind"] for r in listed] == ["plan"]
    # the public does not see a private target dataset
    assert [t["name"] for t in listed[0]["data"]["target_datasets"]] == ["elderly"]


@pytest.mark.parametrize("changes, field", [
    ({"members": [{"name": "ก", "role": "chair", "email": "not-an-email"}]}, "members"),
    ({"members": [{"name": "ก", "role": "king"}]}, "members"),
    ({"members": [{"position": "ไม่มีชื่อ", "role": "member"}]}, "members"),
    ({"members": [{"name": "ก" * 201, "role": "member"}]}, "members"),
    ({"members": [{"name": "ก", "role": "member", "phone": "call me"}]}, "members"),
    ({"members": "not rows"}, "members"),
    ({"order_date": "2567-02-30"}, "order_date"),
    ({"order_date": "2023-02-29"}, "order_date"),
    ({"order_date": "15/01/2567"}, "order_date"),
    ({"order_date": "2999-01-01"}, "order_date"),
    ({"order_number": "x" * 101}, "order_number"),
    ({"order_number": "bad\x00byte"}, "order_number"),
    ({"fiscal_year": 2400}, "fiscal_year"),
    ({"fiscal_year": 2024}, "fiscal_year"),
    ({"fiscal_year": "abc"}, "fiscal_year"),
    ({"fiscal_year": 3000}, "fiscal_year"),
    ({"kind": "budget"}, "kind"),
    ({"document_url": "javascript:alert(1)"}, "document_url"),
    ({"document_url": "ftp://example.org/order.pdf"}, "document_url"),
])
def test_team_validation_changes_nothing(portal, changes, field):
    before = team(portal)
    with pytest.raises(logic.ValidationError) as err:
        team(portal, **changes)
    assert field in err.value.error_dict, err.value.error_dict
    after = call("kpigov_governance_show", portal["editor"], id=before["id"])
    assert after["data"] == before["data"]
    assert after["modified"] == before["modified"]


def test_team_accepts_be_and_ce_dates_and_thai_digits(portal):
    assert team(portal, order_date="2024-01-15")["data"]["order_date"] == "2024-01-15"
    assert team(portal, order_date="๒๕๖๗-๐๑-๑๕")["data"]["order_date"] == "2024-01-15"
    assert team(portal, order_date="2567-02-29")["data"]["order_date"] == "2024-02-29"


def test_plan_target_must_belong_to_the_organization(portal):
    with pytest.raises(logic.ValidationError) as err:
        call("kpigov_governance_update", portal["editor"], owner_org="pathumwan",
             fiscal_year=FY, kind="plan", target_datasets=["elderly", "foreign"])
    assert "foreign" in str(err.value.error_dict["target_datasets"])
    with pytest.raises(logic.ValidationError):
        call("kpigov_governance_update", portal["editor"], owner_org="pathumwan",
             fiscal_year=FY, kind="plan", target_datasets=["no-such-dataset"])
    with pytest.raises(logic.NotFound):
        call("kpigov_governance_show", portal["editor"], owner_org="pathumwan",
             fiscal_year=FY, kind="plan")


def test_editor_cannot_touch_another_organization(portal):
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_governance_update", portal["editor"], owner_org="bangrak",
             fiscal_year=FY, kind="team", order_number="1")
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_stakeholder_create", portal["editor"], owner_org="bangrak",
             role="owner", name="x")
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_evidence_create", portal["editor"], package_id="foreign",
             evidence_type="usage", kind="report", description="x", date="2567-01-01")


# --- documents ------------------------------------------------------------

def test_document_upload_accepted_and_served_link(portal):
    record = team(portal, document_upload=upload(PDF, "คำสั่ง 123.pdf"))
    assert record["document_name"] == "คำสั่ง 123.pdf"
    assert record["document_url"].endswith(
        "/organization/pathumwan/governance/document/governance/%s" % record["id"])
    plan = call("kpigov_governance_update", portal["editor"], owner_org="pathumwan",
                fiscal_year=FY, kind="plan", summary="s",
                document_upload=upload(xlsx_bytes(), "plan.xlsx"))
    assert plan["document_name"] == "plan.xlsx"
    linked = team(portal, document_url="https://bma.example/order.pdf",
                  document_name="คำสั่ง")
    assert linked["document_url"] == "https://bma.example/order.pdf"


@pytest.mark.parametrize("data, name", [
    (b"MZ\x90\x00 not a document", "virus.exe"),
    (PNG, "order.pdf"),          # content does not match the extension
    (b"PK\x03\x04 broken zip", "plan.docx"),
    (b"<html><script>x</script></html>", "page.html"),
    (b"", "empty.pdf"),
])
def test_document_upload_rejected(portal, data, name):
    before = team(portal, document_url="https://bma.example/order.pdf")
    with pytest.raises(logic.ValidationError) as err:
        team(portal, document_upload=upload(data, name), order_number="999")
    assert "document_upload" in err.value.error_dict
    after = call("kpigov_governance_show", portal["editor"], id=before["id"])
    assert after["document_url"] == "https://bma.example/order.pdf"
    assert after["data"]["order_number"] == "123/2567"


@pytest.mark.ckan_config("ckanext.kpigov.upload_max_mb", "1")
def test_document_upload_too_large(portal):
    big = PDF + b"0" * (1024 * 1024)
    with pytest.raises(logic.ValidationError) as err:
        team(portal, document_upload=upload(big, "big.pdf"))
    assert "1 MB" in str(err.value.error_dict["document_upload"])
    assert team(portal, document_upload=upload(PNG, "scan.png"))["document_name"] == "scan.png"


# --- stakeholder register -------------------------------------------------

def test_stakeholder_register_and_privacy(portal):
    s = call("kpigov_stakeholder_create", portal["editor"], owner_org="pathumwan",
             role="steward", name="นางสาวสมศรี", position="นักวิชาการคอมพิวเตอร์",
             agency="ฝ่ายปกครอง", email="somsri@bma.example", phone="02 214 1234 ต่อ 12")
    public = call("kpigov_stakeholder_list", None, owner_org="pathumwan")
    assert public[0]["name"] == "นางสาวสมศรี"
    assert "email" not in public[0] and "phone" not in public[0]
    outsider = call("kpigov_stakeholder_list", portal["other_admin"], owner_org="pathumwan")
    assert "email" not in outsider[0]
    member = call("kpigov_stakeholder_list", portal["member"], owner_org="pathumwan")
    assert member[0]["email"] == "somsri@bma.example"
    updated = call("kpigov_stakeholder_update", portal["admin"], id=s["id"], role="owner")
    assert updated["role"] == "owner" and updated["email"] == "somsri@bma.example"
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_stakeholder_update", portal["member"], id=s["id"], name="x")
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_stakeholder_delete", portal["other_admin"], id=s["id"])
    call("kpigov_stakeholder_delete", portal["editor"], id=s["id"])
    assert call("kpigov_stakeholder_list", portal["member"], owner_org="pathumwan") == []


@pytest.mark.parametrize("changes, field", [
    ({"role": "boss"}, "role"),
    ({"role": ""}, "role"),
    ({"name": ""}, "name"),
    ({"name": "ก" * 201}, "name"),
    ({"email": "somsri@"}, "email"),
    ({"email": "a b@example.org"}, "email"),
    ({"phone": "<script>"}, "phone"),
    ({"agency": "x" * 301}, "agency"),
])
def test_stakeholder_validation(portal, changes, field):
    good = call("kpigov_stakeholder_create", portal["editor"], owner_org="pathumwan",
                role="owner", name="ผู้อำนวยการเขต")
    data = {"owner_org": "pathumwan", "role": "owner", "name": "ผู้อำนวยการเขต",
            **changes}
    with pytest.raises(logic.ValidationError) as err:
        call("kpigov_stakeholder_create", portal["editor"], **data)
    assert field in err.value.error_dict
    with pytest.raises(logic.ValidationError):
        call("kpigov_stakeholder_update", portal["editor"], id=good["id"], **changes)
    stored = call("kpigov_stakeholder_list", portal["editor"], owner_org="pathumwan")
    assert len(stored) == 1 and stored[0]["name"] == "ผู้อำนวยการเขต"
    assert stored[0]["role"] == "owner"


# --- evidence -------------------------------------------------------------

def usage(portal, user=None, **kw):
    data = dict(package_id="elderly", evidence_type="usage", kind="planning",
                description="ใช้วางแผนเยี่ยมบ้านผู้สูงอายุ", date="2567-01-20",
                url="https://bma.example/report.pdf")
    data.update(kw)
    return call("kpigov_evidence_create", user or portal["editor"], **data)


def test_evidence_usage_and_sharing(portal):
    e = usage(portal)
    assert e["fiscal_year"] == 2567 and e["date"] == "2024-01-20"
    assert e["recorded_by"] == portal["editor"]["name"] and e["status"] == "pending"
    assert usage(portal, date="2023-10-01")["fiscal_year"] == 2567
    assert usage(portal, date="2023-09-30")["fiscal_year"] == 2566
    shared = call("kpigov_evidence_create", portal["admin"], package_id="elderly",
                  owner_org="pathumwan", evidence_type="sharing", kind="exchange_bma",
                  partner="สำนักพัฒนาสังคม", description="ส่งข้อมูลรายเดือน",
                  date="2024-02-01", document_upload=upload(PDF, "mou.pdf"))
    assert shared["partner"] == "สำนักพัฒนาสังคม" and shared["document_name"] == "mou.pdf"
    listed = call("kpigov_evidence_list", None, owner_org="pathumwan", fiscal_year=2567)
    assert {x["evidence_type"] for x in listed} == {"usage", "sharing"}
    assert all("recorded_by" not in x for x in listed)
    only = call("kpigov_evidence_list", None, package_id="elderly", evidence_type="sharing")
    assert [x["id"] for x in only] == [shared["id"]]
    updated = call("kpigov_evidence_update", portal["editor"], id=e["id"],
                   description="ใช้ประกอบการตัดสินใจ", kind="decision")
    assert updated["kind"] == "decision" and updated["date"] == "2024-01-20"
    call("kpigov_evidence_delete", portal["editor"], id=e["id"])
    assert e["id"] not in [x["id"] for x in call(
        "kpigov_evidence_list", portal["member"], owner_org="pathumwan")]


def test_evidence_on_private_dataset_hidden_from_outsiders(portal):
    usage(portal, package_id="secret-ds")
    assert call("kpigov_evidence_list", None, owner_org="pathumwan") == []
    assert call("kpigov_evidence_list", portal["other_admin"], owner_org="pathumwan") == []
    assert len(call("kpigov_evidence_list", portal["member"], owner_org="pathumwan")) == 1
    assert len(call("kpigov_evidence_list", portal["evaluator"], owner_org="pathumwan")) == 1


@pytest.mark.parametrize("changes, field", [
    ({"evidence_type": "gossip"}, "evidence_type"),
    ({"kind": "api"}, "kind"),  # a sharing kind on usage evidence
    ({"kind": ""}, "kind"),
    ({"description": ""}, "description"),
    ({"description": "x" * 2001}, "description"),
    ({"date": "2567-13-01"}, "date"),
    ({"date": "2024-02-30"}, "date"),
    ({"date": ""}, "date"),
    ({"date": "2999-01-01"}, "date"),
    ({"date": "2000-01-01"}, "date"),  # before the evaluated fiscal years
    ({"url": "not a url"}, "url"),
    ({"evidence_type": "sharing", "kind": "exchange_external"}, "partner"),
    ({"evidence_type": "sharing", "kind": "exchange_bma", "partner": ""}, "partner"),
    ({"package_id": "elderly", "owner_org": "bangrak"}, "package_id"),  # another org named
    ({"package_id": "no-such-dataset"}, "package_id"),
])
def test_evidence_validation(portal, changes, field):
    with pytest.raises(logic.ValidationError) as err:
        usage(portal, **changes)
    assert field in err.value.error_dict, err.value.error_dict
    assert call("kpigov_evidence_list", portal["member"], owner_org="pathumwan") == []


def test_evidence_update_validation_keeps_stored(portal):
    e = usage(portal)
    with pytest.raises(logic.ValidationError):
        call("kpigov_evidence_update", portal["editor"], id=e["id"], date="2567-02-30",
             description="changed")
    stored = call("kpigov_evidence_list", portal["member"], owner_org="pathumwan")[0]
    assert stored["description"] == e["description"]
    with pytest.raises(logic.NotAuthorized):
        call("kpigov_evidence_update", portal["member"], id=e["id"], description="x")


# --- verification ---------------------------------------------------------

def test_verify_keeps_every_decision(portal):
    record = team(portal)
    evidence = usage(portal)
    with pytest.raises(logic.ValidationError) as err:
        call("kpigov_verify", portal["evaluator"], object_type="evidence",
             id=evidence["id"], decision="rejected")
    assert "comment" in err.value.error_dict
    with pytest.raises(logic.ValidationError):
        call("kpigov_verify", portal["evaluator"], object_type="evidence",
             id=evidence["id"], decision="approve")
    with pytest.raises(logic.NotFound):
        call("kpigov_verify", portal["evaluator"], object_type="evidence",
             id="nope", decision="verified")
    call("kpigov_verify", portal["evaluator"], object_type="evidence",
         id=evidence["id"], decision="rejected", comment="ไม่มีหลักฐานแนบ")
    call("kpigov_verify", portal["sysadmin"], object_type="evidence",
         id=evidence["id"], decision="verified", comment="แนบแล้ว")
    call("kpigov_verify", portal["evaluator"], object_type="governance",
         id=record["id"], decision="verified")
    history = call("kpigov_verification_list", portal["member"], owner_org="pathumwan")
    assert [(h["object_type"], h["decision"]) for h in history] == [
        ("evidence", "rejected"), ("evidence", "verified"), ("governance", "verified")]
    assert history[0]["status_before"] == "pending"
    assert history[1]["status_before"] == "rejected"
    assert history[0]["user"] == "evaluator"
    assert history[1]["before"]["description"] == evidence["description"]
    one = call("kpigov_verification_list", portal["evaluator"], object_id=evidence["id"],
               object_type="evidence")
    assert len(one) == 2
    listed = call("kpigov_evidence_list", None, owner_org="pathumwan")
    assert listed[0]["status"] == "verified"
    # a changed record waits for a new decision; the history stays
    changed = team(portal, order_number="200/2567")
    assert changed["status"] == "pending"
    unchanged = team(portal, order_number="200/2567")
    assert unchanged["status"] == "pending"
    call("kpigov_governance_delete", portal["editor"], id=record["id"])
    count = model.Session.execute(verification_table.select()).fetchall()
    assert len(count) == 3


def test_verify_locks_the_row(portal, monkeypatch):
    """The decision reads the record FOR UPDATE (serialising evaluators)."""
    evidence = usage(portal)
    statements = []
    real_execute = model.Session.execute

    def spy(statement, *args, **kw):
        statements.append(str(statement))
        return real_execute(statement, *args, **kw)

    monkeypatch.setattr(model.Session, "execute", spy)
    call("kpigov_verify", portal["evaluator"], object_type="evidence",
         id=evidence["id"], decision="verified")
    monkeypatch.undo()
    assert any("FOR UPDATE" in s and "kpigov_evidence" in s for s in statements)


def test_two_evaluators_at_once_both_land_in_the_audit(portal):
    """Two sessions deciding concurrently: the second waits for the lock."""
    import threading

    from sqlalchemy.orm import sessionmaker
    evidence = usage(portal)
    model.Session.commit()
    engine = model.meta.engine
    Session2 = sessionmaker(bind=engine)
    blocker = Session2()
    blocker.execute(evidence_table.select().where(
        evidence_table.c.id == evidence["id"]).with_for_update())
    done = []

    def second():
        try:
            call("kpigov_verify", portal["sysadmin"], object_type="evidence",
                 id=evidence["id"], decision="rejected", comment="ซ้ำ")
            done.append("ok")
        except Exception as exc:  # pragma: no cover - shown on failure
            done.append(exc)
        finally:
            model.Session.remove()

    t = threading.Thread(target=second)
    t.start()
    t.join(1.0)
    assert t.is_alive()  # waiting for the first evaluator's lock
    blocker.execute(verification_table.insert().values(
        id="first", object_type="evidence", object_id=evidence["id"],
        owner_org=evidence["owner_org"], fiscal_year=2567, decision="verified",
        at=dt.datetime.utcnow(), before={"status": "pending"},
        after={"status": "verified"}))
    blocker.execute(evidence_table.update().where(
        evidence_table.c.id == evidence["id"]).values(status="verified"))
    blocker.commit()
    blocker.close()
    t.join(10)
    assert done == ["ok"]
    history = call("kpigov_verification_list", portal["evaluator"],
                   object_id=evidence["id"])
    assert [h["decision"] for h in history] == ["verified", "rejected"]
    # the second decision saw the first one's result
    assert history[1]["status_before"] == "verified"


def test_demo_seed_is_idempotent_and_leaves_gaps(portal):
    from ckanext.kpigov.governance_demo import _gap, seed_governance
    orgs = [factories.Organization(name="agency-%02d" % i) for i in range(12)]
    for org in orgs:
        factories.Dataset(owner_org=org["id"])
    ids = [o["id"] for o in orgs]
    first = seed_governance(ids, seed=7)
    assert first["records"] > 0 and first["stakeholders"] > 0 and first["evidence"] > 0
    again = seed_governance(ids, seed=7)
    assert again["stakeholders"] == 0 and again["evidence"] == 0
    gaps = {o["name"]: _gap(o["name"], 7) for o in orgs}
    assert any(gaps.values()) and not all(gaps.values())
    for org in orgs:
        records = call("kpigov_governance_list", portal["sysadmin"], owner_org=org["id"])
        kinds = sorted(r["kind"] for r in records)
        expected = {"all": [], "plan": ["team"]}.get(gaps[org["name"]], ["plan", "team"])
        assert kinds == expected, org["name"]
