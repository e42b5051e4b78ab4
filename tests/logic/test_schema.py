"""The scheming dataset schema: thai_gdc fields and governance fields."""
from __future__ import annotations

import pytest

import ckan.logic as logic
import ckan.tests.factories as factories
import ckan.tests.helpers as helpers

SCHEMA_PLUGINS = "kpigov_pgsearch kpigov scheming_datasets"

pytestmark = [
    pytest.mark.ckan_config("ckan.plugins", SCHEMA_PLUGINS),
    pytest.mark.ckan_config("scheming.dataset_schemas",
                            "ckanext.kpigov.schemas:dataset.yaml"),
    pytest.mark.ckan_config("scheming.presets",
                            "ckanext.scheming:presets.json "
                            "ckanext.kpigov.schemas:presets.yaml"),
    pytest.mark.usefixtures("clean_db", "with_plugins"),
]


def valid_dataset(org, **overrides):
    data = {
        "name": "elderly-pathumwan",
        "title": "ข้อมูลผู้สูงอายุในชุมชนเขตปทุมวัน",
        "notes": "จำนวนผู้สูงอายุแยกตามชุมชน",
        "owner_org": org["id"],
        "maintainer": "ฝ่ายพัฒนาชุมชน",
        "maintainer_email": "community@pathumwan.example",
        "data_type": "ข้อมูลสถิติ",
        "update_frequency_unit": "เดือน",
        "update_frequency_interval": "1",
        "data_category": "ข้อมูลสาธารณะ",
        "data_classification": "เปิดเผย",
        "data_format": ["CSV"],
        "data_language": ["ไทย"],
        "first_year_of_data": "2560",
        "last_year_of_data": "2568",
        "kpigov_personal_data": "false",
        "kpigov_stakeholders": [
            {"role": "owner", "name": "ผู้อำนวยการเขต", "agency": "สำนักงานเขตปทุมวัน",
             "email": "director@pathumwan.example", "phone": "02 214 1234 ต่อ 12"},
            {"role": "steward", "name": "นางสาวสมศรี", "email": "somsri@pathumwan.example"},
        ],
        "kpigov_target_fy": "2569",
        "kpigov_target_kind": "improved",
        "kpigov_target_rationale": "ใช้วางแผนดูแลผู้สูงอายุ",
        "resources": [{
            "url": "http://example.com/elderly.csv", "format": "CSV",
            "name": "ผู้สูงอายุรายชุมชน",
            "kpigov_dictionary": [
                {"column": "community", "label_th": "ชุมชน", "type": "text"},
                {"column": "elderly_count", "label_th": "จำนวนผู้สูงอายุ",
                 "type": "integer", "unit": "คน", "nullable": "false",
                 "personal_data": "false"},
            ],
        }],
    }
    data.update(overrides)
    return data


def test_round_trip_every_field():
    org = factories.Organization()
    created = helpers.call_action("package_create", **valid_dataset(org))
    shown = helpers.call_action("package_show", id=created["id"])
    expected = valid_dataset(org)
    for key in ("data_type", "update_frequency_unit", "update_frequency_interval",
                "data_category", "data_classification", "data_format",
                "data_language", "first_year_of_data", "kpigov_target_fy",
                "kpigov_target_kind", "kpigov_target_rationale"):
        assert shown[key] == expected[key], key
    assert shown["kpigov_personal_data"] is False
    assert [s["role"] for s in shown["kpigov_stakeholders"]] == ["owner", "steward"]
    assert shown["kpigov_stakeholders"][0]["phone"] == "02 214 1234 ต่อ 12"
    dictionary = shown["resources"][0]["kpigov_dictionary"]
    assert [c["column"] for c in dictionary] == ["community", "elderly_count"]
    patched = helpers.call_action("package_patch", id=created["id"],
                                  update_frequency_unit="ไตรมาส")
    assert patched["update_frequency_unit"] == "ไตรมาส"
    assert patched["kpigov_stakeholders"] == shown["kpigov_stakeholders"]


def test_thai_tags_are_accepted():
    org = factories.Organization()
    created = helpers.call_action("package_create", **valid_dataset(
        org, tag_string="ผู้สูงอายุ,สวัสดิการ,elderly"))
    assert sorted(t["name"] for t in created["tags"]) == [
        "elderly", "ผู้สูงอายุ", "สวัสดิการ"]
    with pytest.raises(logic.ValidationError):
        helpers.call_action("package_create", **valid_dataset(
            org, name="bad-tags", tag_string="ok,<script>"))


@pytest.mark.parametrize("bad", [1, {"a": "b"}, ["ok", 2]])
def test_tags_that_are_not_text_are_refused(bad):
    org = factories.Organization()
    with pytest.raises(logic.ValidationError) as err:
        helpers.call_action("package_create", **valid_dataset(org, tag_string=bad))
    assert "tag_string" in err.value.error_dict
    created = helpers.call_action("package_create", **valid_dataset(
        org, tag_string=["ผู้สูงอายุ", "elderly"]))
    assert sorted(t["name"] for t in created["tags"]) == ["elderly", "ผู้สูงอายุ"]


def test_normalises_english_and_short_values():
    org = factories.Organization()
    created = helpers.call_action("package_create", **valid_dataset(
        org, update_frequency_unit="monthly", data_category="สาธารณะ",
        first_year_of_data="2017"))
    assert created["update_frequency_unit"] == "เดือน"
    assert created["data_category"] == "ข้อมูลสาธารณะ"
    # thai_gdc's year fields are free text: kept as written (issue 16)
    assert created["first_year_of_data"] == "2017"


@pytest.mark.parametrize("overrides, field", [
    ({"update_frequency_unit": "ทุกวันพระ"}, "update_frequency_unit"),
    ({"update_frequency_interval": "ก" * 201}, "update_frequency_interval"),
    ({"update_frequency_interval": "2\x00"}, "update_frequency_interval"),
    ({"update_frequency_interval": {"n": 2}}, "update_frequency_interval"),
    ({"maintainer_email": "not-an-email"}, "maintainer_email"),
    ({"maintainer_email": "a@b"}, "maintainer_email"),
    ({"data_category": "ลับสุดยอด"}, "data_category"),
    ({"first_year_of_data": "2\x0017"}, "first_year_of_data"),
    ({"kpigov_target_fy": "12345"}, "kpigov_target_fy"),
    ({"kpigov_target_kind": "both"}, "kpigov_target_kind"),
    ({"kpigov_target_rationale": "ก" * 501}, "kpigov_target_rationale"),
    ({"notes": "bad\x00text"}, "notes"),
])
def test_bad_dataset_fields_are_rejected(overrides, field):
    org = factories.Organization()
    with pytest.raises(logic.ValidationError) as err:
        helpers.call_action("package_create", **valid_dataset(org, **overrides))
    assert field in err.value.error_dict


@pytest.mark.parametrize("stakeholder", [
    {"role": "king", "name": "x"},
    {"role": "owner", "name": ""},
    {"role": "owner", "name": "x", "email": "nope@"},
    {"role": "owner", "name": "x", "phone": "call me maybe"},
])
def test_bad_stakeholders_are_rejected(stakeholder):
    org = factories.Organization()
    with pytest.raises(logic.ValidationError) as err:
        helpers.call_action("package_create", **valid_dataset(
            org, kpigov_stakeholders=[stakeholder]))
    assert "kpigov_stakeholders" in err.value.error_dict


@pytest.mark.parametrize("dictionary", [
    [{"column": "a"}, {"column": "A"}],
    [{"column": ""}],
    [{"column": "a", "type": "blob"}],
    [{"column": "x" * 121}],
])
def test_bad_dictionaries_are_rejected(dictionary):
    org = factories.Organization()
    data = valid_dataset(org)
    data["resources"][0]["kpigov_dictionary"] = dictionary
    with pytest.raises(logic.ValidationError) as err:
        helpers.call_action("package_create", **data)
    assert "resources" in err.value.error_dict


def test_failed_update_changes_nothing():
    org = factories.Organization()
    created = helpers.call_action("package_create", **valid_dataset(org))
    with pytest.raises(logic.ValidationError):
        helpers.call_action("package_patch", id=created["id"],
                            maintainer_email="not-an-email", title="changed")
    shown = helpers.call_action("package_show", id=created["id"])
    assert shown["title"] == created["title"]
    assert shown["update_frequency_interval"] == "1"


def test_thai_error_messages(app):
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization()
    data = valid_dataset(org, maintainer_email="bad")
    res = app.post("/th/api/3/action/package_create", json=data,
                   headers={"Authorization": sysadmin["token"]}, status=409)
    assert res.json["error"]["maintainer_email"] == ["อีเมลไม่ถูกต้อง"]


def test_contacts_reach_members_but_not_the_public(app):
    member = factories.UserWithToken()
    outsider = factories.UserWithToken()
    org = factories.Organization(users=[{"name": member["name"], "capacity": "member"}])
    helpers.call_action("package_create", **valid_dataset(org))
    url = "/api/3/action/package_show?id=elderly-pathumwan"
    for headers in ({}, {"Authorization": outsider["token"]}):
        shown = app.get(url, headers=headers).json["result"]
        people = shown["kpigov_stakeholders"]
        assert people[0]["name"] == "ผู้อำนวยการเขต"
        assert all("email" not in p and "phone" not in p for p in people)
        found = app.get("/api/3/action/package_search?q=elderly", headers=headers)
        result = found.json["result"]["results"][0]
        assert all("email" not in p for p in result["kpigov_stakeholders"])
        page = app.get("/dataset/elderly-pathumwan", headers=headers).body
        assert "director@pathumwan.example" not in page
    shown = app.get(url, headers={"Authorization": member["token"]}).json["result"]
    assert shown["kpigov_stakeholders"][0]["email"] == "director@pathumwan.example"
    page = app.get("/dataset/elderly-pathumwan",
                   headers={"Authorization": member["token"]}).body
    assert "director@pathumwan.example" in page
