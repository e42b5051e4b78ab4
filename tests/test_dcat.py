"""DCAT output (only when ckanext-dcat is installed; see README, DCAT)."""
from __future__ import annotations

from importlib.metadata import entry_points

import pytest

pytest.importorskip("ckanext.dcat")

from rdflib import Graph, URIRef  # noqa: E402
from rdflib.namespace import FOAF, Namespace  # noqa: E402

import ckan.tests.factories as factories  # noqa: E402
import ckan.tests.helpers as helpers  # noqa: E402
from ckanext.kpigov.dcat import ROLE_URIS, KpigovDCATProfile  # noqa: E402

DCT = Namespace("http://purl.org/dc/terms/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
PROV = Namespace("http://www.w3.org/ns/prov#")
EU = "http://publications.europa.eu/resource/authority/frequency/"

STAKEHOLDERS = [
    {"role": "owner", "name": "ผู้อำนวยการเขต", "agency": "สำนักงานเขตปทุมวัน",
     "email": "director@bma.example"},
    {"role": "steward", "name": "นางสาวสมศรี", "phone": "02 214 1234"},
    {"role": "producer", "name": "ฝ่ายพัฒนาชุมชน"},
]


def graph_for(dataset):
    g = Graph()
    ref = URIRef("http://test.ckan.net/dataset/x")
    KpigovDCATProfile(g).graph_from_dataset(dataset, ref)
    return g, ref


@pytest.mark.parametrize("unit, interval, code", [
    ("เดือน", "1", "MONTHLY"), ("เดือน", "2", "MONTHLY_2"), ("ปี", "1", "ANNUAL"),
    ("ไตรมาส", None, "QUARTERLY"), ("วัน", "1", "DAILY"),
    ("ตามเวลาจริง", None, "CONT"), ("อื่นๆ", None, "OTHER"), ("ไม่ทราบ", None, "UNKNOWN"),
])
def test_cadence_as_eu_frequency(unit, interval, code):
    g, ref = graph_for({"update_frequency_unit": unit,
                        "update_frequency_interval": interval})
    assert list(g.objects(ref, DCT.accrualPeriodicity)) == [URIRef(EU + code)]


def test_cadence_from_extras_and_unknown_values():
    g, ref = graph_for({"extras": [{"key": "update_frequency_unit", "value": "สัปดาห์"}]})
    assert list(g.objects(ref, DCT.accrualPeriodicity)) == [URIRef(EU + "WEEKLY")]
    g, ref = graph_for({"update_frequency_unit": "ทุกวันพระ"})
    assert list(g.objects(ref, DCT.accrualPeriodicity)) == []


def test_stakeholders_with_roles_and_contact_points():
    g, ref = graph_for({"kpigov_stakeholders": STAKEHOLDERS})
    roles = {}
    for attribution in g.objects(ref, PROV.qualifiedAttribution):
        agent = g.value(attribution, PROV.agent)
        roles[str(g.value(agent, FOAF.name))] = str(g.value(attribution, DCAT.hadRole))
    assert roles == {"ผู้อำนวยการเขต": ROLE_URIS["owner"],
                     "นางสาวสมศรี": ROLE_URIS["steward"],
                     "ฝ่ายพัฒนาชุมชน": ROLE_URIS["producer"]}
    contacts = {str(g.value(c, VCARD.fn)): c for c in g.objects(ref, DCAT.contactPoint)}
    assert set(contacts) == {"ผู้อำนวยการเขต", "นางสาวสมศรี"}
    assert g.value(contacts["ผู้อำนวยการเขต"], VCARD.hasEmail) == \
        URIRef("mailto:director@bma.example")
    # stakeholders stored as a JSON string (no scheming) are read as well
    import json
    g2, ref2 = graph_for({"kpigov_stakeholders": json.dumps(STAKEHOLDERS)})
    assert len(list(g2.objects(ref2, PROV.qualifiedAttribution))) == 3


def _profile_registered():
    return any(ep.name == "kpigov_dcat"
               for ep in entry_points(group="ckan.rdf.profiles"))


@pytest.mark.skipif(not _profile_registered(),
                    reason="kpigov_dcat entry point not installed (setup.cfg)")
@pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch kpigov dcat scheming_datasets")
@pytest.mark.ckan_config("ckanext.dcat.rdf.profiles", "euro_dcat_ap_2 kpigov_dcat")
@pytest.mark.ckan_config("scheming.dataset_schemas", "ckanext.kpigov.schemas:dataset.yaml")
@pytest.mark.ckan_config("scheming.presets", "ckanext.scheming:presets.json "
                         "ckanext.kpigov.schemas:presets.yaml")
@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_dataset_rdf_endpoint(app):
    org = factories.Organization()
    helpers.call_action(
        "package_create", name="elderly", title="ผู้สูงอายุ", notes="n",
        owner_org=org["id"], maintainer="m", maintainer_email="m@bma.example",
        update_frequency_unit="เดือน", update_frequency_interval="2",
        data_category="ข้อมูลสาธารณะ", kpigov_stakeholders=STAKEHOLDERS)
    res = app.get("/dataset/elderly.ttl")
    assert res.status_code == 200
    g = Graph().parse(data=res.body, format="turtle")
    ref = next(g.subjects(DCT.identifier, None))
    assert list(g.objects(ref, DCT.accrualPeriodicity)) == [URIRef(EU + "MONTHLY_2")]
    assert len(list(g.objects(ref, PROV.qualifiedAttribution))) == 3
    # anonymous output: no stakeholder email or phone
    assert "director@bma.example" not in res.body and "02 214 1234" not in res.body
