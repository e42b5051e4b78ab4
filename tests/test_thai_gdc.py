"""Drop-in on thai_gdc portals (issue 16): nothing refused, nothing lost.

Datasets are built exactly as thai_gdc 2.1.0's own schema
(tests/data/thai_gdc/ckan_dataset.json, a verbatim copy) allows: every
field, choice values taken from its lists, free-text intervals and years,
blank optional fields. They are created, shown, updated through the API,
patched, edited through the web form and given a resource, under kpigov's
full schema and under the README's merge path (thai_gdc's schema file plus
kpigov's presets and fields), and every field must read back as sent.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from ckan.cli.cli import ckan as ckan_cli

import ckan.model as model
import ckan.plugins as plugins
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov.model import ledger_table

DATA = Path(__file__).parent / "data" / "thai_gdc"
SCHEMA = json.loads((DATA / "ckan_dataset.json").read_text(encoding="utf-8"))
FORKS = json.loads((DATA / "forks.json").read_text(encoding="utf-8"))
FIELDS = {f["field_name"]: f for f in SCHEMA["dataset_fields"]}
RES_FIELDS = {f["field_name"]: f for f in SCHEMA["resource_fields"]}

FULL = [
    pytest.mark.ckan_config("ckan.plugins",
                            "activity kpigov_pgsearch kpigov scheming_datasets"),
    pytest.mark.ckan_config("scheming.dataset_schemas",
                            "ckanext.kpigov.schemas:dataset.yaml"),
    pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                            "ckanext.kpigov.schemas:presets.yaml"),
]

INTERVALS = ["1", "ทุกวันที่ 15", "2", "๒", "12 ครั้งต่อปี", "", "40"]
YEARS = ["2017", "ไม่ทราบ", "2565", "พ.ศ. 2560", "", "๒๕๖๗"]


def _choices(f: dict[str, Any]) -> list[str]:
    return [c["value"] for c in f.get("choices") or []]


def _multiple(f: dict[str, Any]) -> bool:
    return "multiple" in (f.get("validators") or "")


def _value(f: dict[str, Any], n: int, blank: bool) -> Any:
    name = f["field_name"]
    if blank and not f.get("required"):
        return [] if _multiple(f) else ""
    if name in ("first_year_of_data", "last_year_of_data",
                "resource_first_year_of_data", "resource_last_year_of_data"):
        return YEARS[n % len(YEARS)]
    if name == "update_frequency_interval":
        return INTERVALS[n % len(INTERVALS)]
    choices = _choices(f)
    if choices and _multiple(f):
        picked = {choices[n % len(choices)], choices[(n + 3) % len(choices)]}
        return [c for c in choices if c in picked]  # thai_gdc keeps choice order
    if choices:
        return choices[(n * 5 + 1) % len(choices)]
    if f.get("preset") == "date":
        return (dt.date(2023, 1, 1) + dt.timedelta(days=37 * n)).isoformat()
    if name.endswith("_longitude"):
        return "%.4f" % (97.3 + n)
    if name == "url":
        return "https://gdcatalog.go.th/dataset/gdpublish-%d" % n
    if name == "maintainer_email":
        return "gdc%d@agency.go.th" % n
    return "%s ค่าที่ %d" % (name, n)


def thai_gdc_dataset(org: dict[str, Any], n: int, blank: bool = False,
                     tags: str = "สถิติ,ผู้สูงอายุ") -> dict[str, Any]:
    """A dataset exactly as thai_gdc 2.1.0's schema allows (n varies the values;
    blank leaves every optional field empty)."""
    data: dict[str, Any] = {}
    for f in SCHEMA["dataset_fields"]:
        data[f["field_name"]] = _value(f, n, blank)
    data.update(name="thai-gdc-%d" % n, title="ชุดข้อมูล thai_gdc ที่ %d" % n,
                owner_org=org["id"], tag_string=tags)
    data["resources"] = [thai_gdc_resource(n, blank)]
    return data


def thai_gdc_resource(n: int, blank: bool = False) -> dict[str, Any]:
    res = {f["field_name"]: _value(f, n + 1, blank) for f in SCHEMA["resource_fields"]}
    res.update(url="http://example.com/gdc-%d.csv" % n, format="CSV",
               name="ทรัพยากร %d" % n)
    return res


def assert_reads_back(shown: dict[str, Any], sent: dict[str, Any], where: str) -> None:
    for key, value in sent.items():
        if key in ("tag_string", "resources"):
            continue
        if value in ("", []):
            assert shown.get(key) in ("", None, []), (where, key, shown.get(key))
        else:
            assert shown.get(key) == value, (where, key, shown.get(key), value)
    assert sorted(t["name"] for t in shown["tags"]) == sorted(sent["tag_string"].split(","))


def assert_resource_reads_back(shown: dict[str, Any], sent: dict[str, Any],
                               where: str) -> None:
    for key, value in sent.items():
        if value in ("", []):
            assert shown.get(key) in ("", None, []), (where, key, shown.get(key))
        else:
            assert shown.get(key) == value, (where, key, shown.get(key), value)


class _Form(HTMLParser):
    """The fields a browser would submit from the dataset edit form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._option: str | None = None
        self._selected = False
        self._textarea: str | None = None
        self._text = ""
        self._in_form = False
        self._template_depth = 0  # scheming's JS removes the repeating template

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") in ("dataset-edit", "resource-edit"):
            self._in_form = True
        if tag == "div" and (self._template_depth or a.get("name") == "repeating-template"):
            self._template_depth += 1
        if not self._in_form or self._template_depth:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "file"):
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
            self._option = None  # the first option: what a browser sends
            self._selected = "multiple" in a
        elif tag == "option" and self._select:
            if self._option is None:
                self._option = a.get("value", "")
            if "selected" in a:
                self._selected = True
                self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self._text = ""

    def handle_data(self, data: str) -> None:
        if self._textarea and not self._template_depth:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._template_depth:
            self._template_depth -= 1
            return
        if self._template_depth:
            return
        if tag == "select":
            if self._select and not self._selected and self._option is not None:
                self.fields.append((self._select, self._option))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text.lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def edit_through_form(app: Any, url: str, headers: dict[str, str],
                      extra: list[tuple[str, str]]) -> Any:
    page = app.get(url, headers=headers)
    assert page.status_code == 200, page.body[:300]
    form = _Form()
    form.feed(page.body)
    assert form.fields, "no form found"
    import os
    if os.environ.get("KPIGOV_DEBUG_FORM"):
        open("/tmp/form_fields.txt", "w").write("\n".join(map(repr, form.fields)))
        open("/tmp/form_page.html", "w").write(page.body)
    from werkzeug.datastructures import MultiDict
    return app.post(url, headers=headers, data=MultiDict(form.fields + extra),
                    follow_redirects=False)


def _errors(body: str) -> str:
    """The form's error summary (or the page's start)."""
    found = re.search(r'class="error-explanation.*?</div>', body, re.S)
    return re.sub(r"\s+", " ", found.group(0)) if found else body[:500]


def _lifecycle(app: Any, org: dict[str, Any], sysadmin: dict[str, Any], n: int,
               blank: bool) -> None:
    headers = {"Authorization": sysadmin["token"]}
    ctx = {"user": sysadmin["name"], "ignore_auth": False}

    def show(ref: str) -> dict[str, Any]:
        return helpers.call_action("package_show", dict(ctx), id=ref)

    sent = thai_gdc_dataset(org, n, blank)
    created = helpers.call_action("package_create", dict(ctx), **sent)
    shown = show(created["id"])
    assert_reads_back(shown, sent, "create")
    assert_resource_reads_back(shown["resources"][0], sent["resources"][0], "create")

    # the API: the dataset sent back as shown, then a patch of one field
    helpers.call_action("package_update", dict(ctx), **shown)
    shown = show(created["id"])
    assert_reads_back(shown, sent, "update")
    helpers.call_action("package_patch", dict(ctx), id=created["id"],
                        title="แก้ชื่อ %d" % n)
    shown = show(created["id"])
    assert_reads_back(shown, dict(sent, title="แก้ชื่อ %d" % n), "patch")

    # the web form, saved as it is shown
    res = edit_through_form(app, "/dataset/edit/%s" % sent["name"], headers,
                            [("save", "")])
    assert res.status_code == 302, _errors(res.body)
    shown = show(created["id"])
    assert_reads_back(shown, dict(sent, title="แก้ชื่อ %d" % n), "form edit")
    assert_resource_reads_back(shown["resources"][0], sent["resources"][0], "form edit")

    # a resource through the API and one resource edit through the form
    more = thai_gdc_resource(n + 7, blank)
    new = helpers.call_action("resource_create", dict(ctx), package_id=created["id"],
                              **more)
    assert_resource_reads_back(new, more, "resource_create")
    res = edit_through_form(app, "/dataset/%s/resource/%s/edit" % (
        sent["name"], new["id"]), headers, [("save", "")])
    assert res.status_code == 302, _errors(res.body)
    shown = show(created["id"])
    assert_resource_reads_back(shown["resources"][1], more, "resource form edit")
    assert_reads_back(shown, dict(sent, title="แก้ชื่อ %d" % n), "after resources")


# ---------------------------------------------------------------- kpigov's schema

@pytest.mark.usefixtures("clean_db", "with_plugins")
@pytest.mark.parametrize("n, blank", [(0, False), (1, False), (2, False), (3, True),
                                      (4, False), (5, False), (6, False)])
@pytest.mark.ckan_config("ckan.plugins", "activity kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
def test_thai_gdc_datasets_under_kpigov_schema(app, n, blank):
    _lifecycle(app, factories.Organization(), factories.SysadminWithToken(), n, blank)


def test_kpigov_schema_is_a_superset_of_thai_gdc():
    """Every thai_gdc 2.1.0 (and fork) field is listed, and every choice
    value of theirs is a choice of ours."""
    import yaml
    ours_path = Path(__file__).parent.parent / "ckanext" / "kpigov" / "schemas"
    ours = yaml.safe_load((ours_path / "dataset.yaml").read_text(encoding="utf-8"))
    presets = {p["preset_name"]: p["values"] for p in yaml.safe_load(
        (ours_path / "presets.yaml").read_text(encoding="utf-8"))["presets"]}

    def choices(f: dict[str, Any]) -> set[str]:
        f = dict(presets.get(f.get("preset"), {}), **f)
        return {c["value"] for c in f.get("choices") or []}

    mine = {f["field_name"]: f for f in ours["dataset_fields"]}
    mine_res = {f["field_name"]: f for f in ours["resource_fields"]}
    for theirs, ours_fields in ((SCHEMA["dataset_fields"], mine),
                                (SCHEMA["resource_fields"], mine_res)):
        for f in theirs:
            assert f["field_name"] in ours_fields, f["field_name"]
            missing = set(_choices(f)) - choices(ours_fields[f["field_name"]])
            if f["field_name"] != "license_id":  # CKAN's licenses, any id kept
                assert not missing, (f["field_name"], missing)
    for fork in FORKS.values():
        for name, extra in fork["fields"].get("dataset_fields_extra_choices", {}).items():
            if name in ("license_id", "data_source"):
                continue  # any license id and any source text are kept
            missing = {c["value"] for c in extra} - choices(mine[name])
            assert not missing, (name, missing)
        for f in fork["fields"].get("dataset_fields", []):
            if f["field_name"] in mine and f.get("choices"):
                assert not set(_choices(f)) - choices(mine[f["field_name"]]), f["field_name"]


@pytest.mark.usefixtures("clean_db", "with_plugins")
@pytest.mark.ckan_config("ckan.plugins", "activity kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
def test_fork_values_and_unlisted_fields_are_kept(app):
    """A fork's values (data_classification, data_category, objective ...)
    are accepted, and fields no schema lists survive API and form edits."""
    sysadmin = factories.SysadminWithToken()
    headers = {"Authorization": sysadmin["token"]}
    org = factories.Organization()
    sent = thai_gdc_dataset(org, 2)
    ctx = {"user": sysadmin["name"]}
    sent.update(data_classification="ลับที่สุด (Top Secret)",
                data_category="ข้อมูลความลับองค์กร", data_type="ข้อมูลอ้างอิง",
                objective=["ยุทธศาสตร์ด้านการพัฒนาองค์กร"], data_format=["Vector", "Raster"],
                update_frequency_unit="รายเดือน (ของหน่วยงาน)")
    # an unknown unit is refused on a new dataset ...
    with pytest.raises(Exception) as err:
        helpers.call_action("package_create", dict(ctx), **sent)
    assert "update_frequency_unit" in str(err.value)
    sent["update_frequency_unit"] = "เดือน"
    created = helpers.call_action("package_create", dict(ctx), **sent)
    # ... but a dataset that has one (thai_gdc checks no unit choices) keeps it
    pkg = model.Package.get(created["id"])
    pkg.extras["update_frequency_unit"] = "รายเดือน (ของหน่วยงาน)"
    # and fields no schema lists, as a fork or a harvester left them
    pkg.extras["Platform_list"] = '["แพลตฟอร์มบริหารสำนักงาน"]'
    pkg.extras["harvest_source"] = "gdcatalog"
    model.Session.commit()
    sent["update_frequency_unit"] = "รายเดือน (ของหน่วยงาน)"
    shown = helpers.call_action("package_show", dict(ctx), id=created["id"])
    assert_reads_back(shown, sent, "fork create")
    # API update with the unknown fields at the top level, as thai_gdc shows them
    body = {k: v for k, v in shown.items() if k != "extras"}
    body.update(Platform_list='["แพลตฟอร์มบริหารสำนักงาน"]', harvest_source="gdcatalog")
    helpers.call_action("package_update", dict(ctx), **body)
    # a patch, and the form
    helpers.call_action("package_patch", dict(ctx), id=created["id"], notes="ใหม่")
    res = edit_through_form(app, "/dataset/edit/%s" % sent["name"], headers, [("save", "")])
    assert res.status_code == 302, _errors(res.body)
    model.Session.expire_all()
    extras = model.Package.get(created["id"]).extras
    assert extras["Platform_list"] == '["แพลตฟอร์มบริหารสำนักงาน"]'
    assert extras["harvest_source"] == "gdcatalog"
    assert extras["update_frequency_unit"] == "รายเดือน (ของหน่วยงาน)"
    shown = helpers.call_action("package_show", dict(ctx), id=created["id"])
    assert_reads_back(shown, dict(sent, notes="ใหม่"), "fork after edits")
    # an explicit deletion still deletes
    helpers.call_action("package_patch", dict(ctx), id=created["id"],
                        extras=[{"key": "harvest_source", "value": "",
                                                        "deleted": True}])
    model.Session.expire_all()
    assert "harvest_source" not in model.Package.get(created["id"]).extras
    # a resource field no schema lists survives a resource form edit
    rid = shown["resources"][0]["id"]
    helpers.call_action("resource_patch", dict(ctx), id=rid, resource_cdp="ใช่1")
    res = edit_through_form(app, "/dataset/%s/resource/%s/edit" % (sent["name"], rid),
                            headers, [("save", "")])
    assert res.status_code == 302, _errors(res.body)
    assert helpers.call_action("resource_show", id=rid)["resource_cdp"] == "ใช่1"


@pytest.mark.usefixtures("clean_db", "with_plugins")
@pytest.mark.ckan_config("ckan.plugins", "activity kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
def test_empty_interval_never_500(app):
    sysadmin = factories.SysadminWithToken()
    headers = {"Authorization": sysadmin["token"]}
    org = factories.Organization()
    for n, empty in enumerate(("", "   ", None)):
        body = thai_gdc_dataset(org, 10 + n)
        body["update_frequency_interval"] = empty
        res = app.post("/api/3/action/package_create", json=body, headers=headers)
        assert res.status_code == 200, res.body
        assert not res.json["result"].get("update_frequency_interval")
        body["id"] = res.json["result"]["id"]
        res = app.post("/api/3/action/package_update", json=body, headers=headers)
        assert res.status_code == 200, res.body


# ---------------------------------------------------------------- the merge path

KPIGOV_FIELDS = [
    {"field_name": "kpigov_stakeholders",
     "label": {"th": "ผู้รับผิดชอบข้อมูล", "en": "Stakeholders"},
     "preset": "kpigov_stakeholders"},
    {"field_name": "kpigov_target_fy",
     "label": {"th": "ฐานข้อมูลเป้าหมายของปีงบประมาณ", "en": "KPI target for fiscal year"},
     "preset": "kpigov_be_year"},
]
KPIGOV_RESOURCE_FIELDS = [
    {"field_name": "kpigov_dictionary",
     "label": {"th": "พจนานุกรมข้อมูล", "en": "Data dictionary"},
     "preset": "kpigov_data_dictionary"},
    {"field_name": "kpigov_update_nature",
     "label": {"th": "ลักษณะการปรับปรุง", "en": "Nature of this change"},
     "preset": "kpigov_update_nature"},
]


def _use_thai_gdc_schema(tmp_path: Path, ckan_config: Any, monkeypatch: Any,
                         with_kpigov: bool) -> None:
    """thai_gdc's schema file and presets, loaded by scheming; with_kpigov:
    the README's merge path (kpigov's presets, and its fields added as the
    README shows)."""
    text = (DATA / "ckan_dataset.json").read_text(encoding="utf-8")
    # thai_gdc 2.1.0 names `unicode` (maintainer_email): ckanext-scheming maps
    # it to Python's str, which CKAN >= 2.10 refuses as a validator (TypeError
    # on every create); the README's merge path tells portals to write
    # unicode_safe
    text = text.replace("email_validator unicode\"", "email_validator unicode_safe\"")
    schema = json.loads(text)
    if with_kpigov:
        schema["dataset_fields"] += KPIGOV_FIELDS
        schema["resource_fields"] += KPIGOV_RESOURCE_FIELDS
    (tmp_path / "schema.json").write_text(json.dumps(schema, ensure_ascii=False),
                                          encoding="utf-8")
    # thai_gdc's plugin registers package_title_validator (unique titles);
    # it is not installed here, so its presets use CKAN's checks only
    presets = (DATA / "presets.json").read_text(encoding="utf-8").replace(
        " package_title_validator", "")
    (tmp_path / "presets.json").write_text(presets, encoding="utf-8")
    monkeypatch.setitem(ckan_config, "scheming.dataset_schemas",
                        (tmp_path / "schema.json").as_uri())
    monkeypatch.setitem(ckan_config, "scheming.presets",
                        (tmp_path / "presets.json").as_uri()
                        + (" ckanext.kpigov.schemas:presets.yaml" if with_kpigov else ""))
    monkeypatch.setitem(ckan_config, "extra_template_paths", str(DATA / "templates"))


@pytest.fixture
def merged_schema(tmp_path, ckan_config, monkeypatch):
    _use_thai_gdc_schema(tmp_path, ckan_config, monkeypatch, True)


@pytest.fixture
def thai_gdc_only_schema(tmp_path, ckan_config, monkeypatch):
    _use_thai_gdc_schema(tmp_path, ckan_config, monkeypatch, False)


MERGE_PLUGINS = "activity kpigov_pgsearch kpigov scheming_datasets"


@pytest.mark.parametrize("n, blank", [(0, False), (1, False), (3, True), (5, False)])
@pytest.mark.ckan_config("ckan.plugins", MERGE_PLUGINS)
def test_thai_gdc_datasets_under_the_merge_path(merged_schema, clean_db, with_plugins,
                                                app, n, blank):
    org = factories.Organization()
    sysadmin = factories.SysadminWithToken()
    _lifecycle(app, org, sysadmin, n, blank)
    # kpigov's fields work inside thai_gdc's schema
    name = "thai-gdc-%d" % n
    ctx = {"user": sysadmin["name"]}
    helpers.call_action("package_patch", dict(ctx), id=name, kpigov_target_fy="2569",
                        kpigov_stakeholders=[{"role": "owner", "name": "ผอ."}])
    shown = helpers.call_action("package_show", dict(ctx), id=name)
    assert shown["kpigov_target_fy"] == "2569"
    assert shown["kpigov_stakeholders"][0]["role"] == "owner"


# ---------------------------------------------------------------- portal upgrade

UPGRADE_PLUGINS = "activity kpigov_pgsearch scheming_datasets"


@pytest.mark.ckan_config("ckan.plugins", UPGRADE_PLUGINS)
def test_portal_upgrade_backfill_compliance_and_scores(thai_gdc_only_schema, clean_db,
                                                       with_plugins, app):
    """Datasets made on a thai_gdc portal while kpigov is not loaded; then
    kpigov is enabled: backfill, compliance and scores work on them."""
    from ckanext.kpigov import jobs
    assert not plugins.plugin_loaded("kpigov")
    org = factories.Organization(name="gdc-agency")
    user = factories.Sysadmin()
    ctx = {"user": user["name"]}
    made = []
    for n in range(4):
        # CKAN's own tag rule (thai_gdc's plugin, which allows Thai marks, is
        # not installed here)
        sent = thai_gdc_dataset(org, n, tags="stats,elderly")
        # kpigov's own fields are not there yet
        made.append(helpers.call_action("package_create", dict(ctx), **sent))
    helpers.call_action("resource_patch", dict(ctx), id=made[0]["resources"][0]["id"],
                        url="http://example.com/gdc-0-v2.csv")
    assert model.Session.execute(sa.select(sa.func.count()).select_from(
        ledger_table)).scalar() == 0
    plugins.load("kpigov")
    try:
        stats = jobs.backfill_ledger()
        assert stats["inferred"] == 5, stats  # 4 resources, 1 URL change
        fy = 2569
        for pkg in made:
            result = helpers.call_action("kpigov_dataset_compliance", id=pkg["id"],
                                         fiscal_year=fy)
            assert result["cadence"]["unit"] == pkg["update_frequency_unit"]
            assert result["periods"] is not None
        score = helpers.call_action("kpigov_org_score", dict(ctx), id=org["id"],
                                    fiscal_year=fy)
        assert isinstance(score, dict) and score
        # a thai_gdc field kept as written is still there after kpigov's first edit
        helpers.call_action("package_patch", dict(ctx), id=made[1]["id"], notes="x")
        shown = helpers.call_action("package_show", id=made[1]["id"])
        assert shown["update_frequency_interval"] == made[1]["update_frequency_interval"]
        assert shown["first_year_of_data"] == made[1]["first_year_of_data"]
    finally:
        plugins.unload("kpigov")


# ---------------------------------------------------------------- check-schema

@pytest.mark.usefixtures("clean_db", "with_plugins")
@pytest.mark.ckan_config("ckan.plugins", "activity kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
def test_check_schema_reports_and_changes_nothing(cli):
    org = factories.Organization()
    ctx = {"user": factories.Sysadmin()["name"]}
    ids = [helpers.call_action("package_create", dict(ctx), **thai_gdc_dataset(org, n))["id"]
           for n in range(4)]
    pkg = model.Package.get(ids[0])
    pkg.extras["Platform_list"] = "[]"
    model.Session.commit()

    def snapshot() -> list[tuple[Any, ...]]:
        return [tuple(r) for r in model.Session.execute(sa.text(
            "SELECT package_id, key, value, state FROM package_extra ORDER BY 1, 2"))]

    from ckanext.kpigov import schema_check
    direct = schema_check.check(schema_check.portal_rows(), schema_check.schema_fields())
    # fields the active schema does not list (the CLI below runs with
    # test.ini's plugins, without scheming: it reports none)
    assert direct["kept_as_is"] == [{"field": "Platform_list", "datasets": 1}]
    before = snapshot()
    out = cli.invoke(ckan_cli, ["kpigov", "check-schema", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output[out.output.index("{"):])
    assert snapshot() == before
    assert report["datasets"] == 4
    fields = {f["field"]: f for f in report["fields"]}
    interval = fields["update_frequency_interval"]
    # INTERVALS[0..3]: "1", "ทุกวันที่ 15", "2", "๒" (units from thai_gdc's list)
    assert interval["with_value"] == 4
    assert "ทุกวันที่ 15" in [v["value"] for v in interval["unreadable_values"]]
    years = fields["first_year_of_data"]
    assert years["readable"] == 3  # 2017, 2565, พ.ศ. 2560 ; not ไม่ทราบ
    assert [v["value"] for v in years["unreadable_values"]] == ["ไม่ทราบ"]
    assert report["fields"] == direct["fields"]
    text = cli.invoke(ckan_cli, ["kpigov", "check-schema"])
    assert text.exit_code == 0, text.output
    assert re.search(r"update_frequency_interval .*: 4 with a value", text.output)


# ------------------------------------------------- a cadence kept as written

@pytest.mark.usefixtures("clean_db", "with_plugins")
@pytest.mark.ckan_config("ckan.plugins", "activity kpigov_pgsearch kpigov scheming_datasets")
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
def test_free_text_interval_is_kept_and_flagged_on_the_compliance_tab(app):
    sysadmin = factories.SysadminWithToken()
    headers = {"Authorization": sysadmin["token"]}
    org = factories.Organization()
    free = dict(thai_gdc_dataset(org, 20), name="free-text-cadence",
                update_frequency_unit="เดือน", update_frequency_interval="ทุกวันที่ 15")
    fixed = dict(thai_gdc_dataset(org, 21), name="fixed-cadence",
                 update_frequency_unit="เดือน", update_frequency_interval="1")
    for body in (free, fixed):
        res = app.post("/api/3/action/package_create", json=body, headers=headers)
        assert res.status_code == 200, res.body
    shown = helpers.call_action("package_show", id="free-text-cadence")
    assert shown["update_frequency_interval"] == "ทุกวันที่ 15"  # kept as written
    rows = {r["name"]: r for r in helpers.call_action(
        "kpigov_org_compliance", context={"user": sysadmin["name"]}, id=org["id"])["datasets"]}
    assert rows["free-text-cadence"]["cadence_readable"] is False
    assert rows["fixed-cadence"]["cadence_readable"] is True
    page = app.get("/organization/%s/compliance" % org["name"], headers=headers,
                   extra_environ={"HTTP_ACCEPT_LANGUAGE": "en"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    flags = re.findall(r'kpigov-cadence-unreadable" href="([^"]+)"', body)
    assert flags == ["/dataset/edit/free-text-cadence"], flags
