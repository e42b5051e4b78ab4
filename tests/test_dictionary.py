"""Data-dictionary prefill from real CSV and XLSX files, and its downloads."""
from __future__ import annotations

import io
import json
import os

import pytest
from openpyxl import Workbook
from werkzeug.datastructures import FileStorage

import ckan.tests.factories as factories
import ckan.tests.helpers as helpers
from ckanext.kpigov import dictionary
from ckanext.kpigov.completeness import dictionary_coverage

DATA = os.path.join(os.path.dirname(__file__), "data")
THAI_HEADER = ["ชุมชน", "จำนวนผู้สูงอายุ", "เพศ", "วันที่สำรวจ"]


def read(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def xlsx(rows, title="ข้อมูล") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("name", ["elderly_utf8.csv", "elderly_bom.csv",
                                  "elderly_cp874.csv"])
def test_csv_header_in_every_thai_encoding(name):
    assert dictionary.csv_header(read(name)) == THAI_HEADER


def test_csv_header_semicolon_quoted_and_crlf():
    assert dictionary.csv_header(read("districts_semicolon.csv")) == [
        "รหัสเขต", "ชื่อเขต", "จำนวน; ครัวเรือน"]


def test_csv_header_tis620_and_tabs():
    data = "รหัส\tชื่อ\tยอด\n1\tก\t2\n".encode("tis-620")
    assert dictionary.csv_header(data) == ["รหัส", "ชื่อ", "ยอด"]


def test_csv_header_single_column_and_blank_lines():
    assert dictionary.csv_header(b"\n\nname\nx\n") == ["name"]
    assert dictionary.csv_header(b"") == []


def test_csv_header_long_file_read_only_from_its_start():
    body = ("ก,ข,ค\n" + "1,2,3\n" * 200_000).encode("utf-8")
    assert len(body) > dictionary.MAX_HEADER_BYTES
    assert dictionary.csv_header(body) == ["ก", "ข", "ค"]


def test_xlsx_header_first_nonempty_row_trailing_cells_dropped():
    data = xlsx([[None, None], ["เขต", "จำนวน", None, "หมายเหตุ", None], [1, 2]])
    assert dictionary.xlsx_header(data) == ["เขต", "จำนวน", "", "หมายเหตุ"]


def test_header_from_bytes_by_name_format_or_magic():
    data = xlsx([["a", "b"]])
    assert dictionary.header_from_bytes(data, "report.xlsx") == ["a", "b"]
    assert dictionary.header_from_bytes(data, "", "XLSX") == ["a", "b"]
    assert dictionary.header_from_bytes(data) == ["a", "b"]  # zip magic
    assert dictionary.header_from_bytes(b"a,b\n1,2", "x.csv") == ["a", "b"]
    assert dictionary.header_from_bytes(b"%PDF-1.4", "x.pdf") == []
    # a broken workbook never raises
    assert dictionary.header_from_bytes(b"PK\x03\x04 broken", "x.xlsx") == []


@pytest.fixture
def dictionary_schema(monkeypatch):
    """These unit tests call prefill() outside a request: say the dictionary
    field exists, as it does with the kpigov schema."""
    monkeypatch.setattr(dictionary, "_schema_has_dictionary", lambda: True)


@pytest.mark.usefixtures("dictionary_schema")
def test_prefill_from_upload_fills_an_empty_dictionary_only():
    upload = FileStorage(io.BytesIO(read("elderly_bom.csv")), filename="elderly.csv")
    resource = {"format": "CSV"}
    dictionary.prefill(resource, upload)
    assert resource["kpigov_columns"] == THAI_HEADER
    assert resource["kpigov_dictionary"] == [{"column": c} for c in THAI_HEADER]
    assert upload.stream.tell() == 0  # CKAN still stores the whole file
    described = [{"column": "ชุมชน", "label_en": "Community"}]
    resource = {"kpigov_dictionary": described}
    dictionary.prefill(resource, FileStorage(io.BytesIO(read("elderly_cp874.csv")),
                                             filename="elderly.csv"))
    assert resource["kpigov_dictionary"] == described
    coverage = dictionary_coverage(resource)
    assert (coverage["columns"], coverage["described"]) == (4, 1)
    assert coverage["undescribed"] == ["จำนวนผู้สูงอายุ", "เพศ", "วันที่สำรวจ"]


@pytest.mark.usefixtures("dictionary_schema")
def test_prefill_xlsx_duplicate_and_empty_names_skipped_in_dictionary():
    data = xlsx([["id", "ID", "", "ชื่อ"]])
    resource = {}
    dictionary.prefill(resource, FileStorage(io.BytesIO(data), filename="t.xlsx"))
    assert resource["kpigov_columns"] == ["id", "ID", "", "ชื่อ"]
    assert [r["column"] for r in resource["kpigov_dictionary"]] == ["id", "ชื่อ"]


@pytest.mark.usefixtures("dictionary_schema")
def test_prefill_unreadable_or_other_files_leave_the_resource():
    resource = {"name": "x"}
    dictionary.prefill(resource, FileStorage(io.BytesIO(b"%PDF-1.4"), filename="a.pdf"))
    assert resource == {"name": "x"}
    dictionary.prefill(resource, None)
    assert resource == {"name": "x"}


@pytest.mark.usefixtures("dictionary_schema")
def test_empty_form_rows_are_replaced_by_the_prefill():
    resource = {"kpigov_dictionary": [{"column": "", "label_th": ""}]}
    dictionary.prefill(resource, FileStorage(io.BytesIO(b"a,b\n"), filename="x.csv"))
    assert resource["kpigov_dictionary"] == [{"column": "a"}, {"column": "b"}]


@pytest.fixture
def local_server():
    """A CSV served on 127.0.0.1 (no external network in tests)."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = read("elderly_cp874.csv")
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()


@pytest.mark.usefixtures("ckan_config")
@pytest.mark.ckan_config("ckanext.kpigov.dictionary_fetch", "true")
@pytest.mark.usefixtures("dictionary_schema")
def test_linked_csv_fetched_when_the_portal_allows_it(local_server):
    resource = {"id": "r1", "url": local_server + "/elderly.csv", "format": "CSV"}
    dictionary.prefill(resource)
    assert resource["kpigov_columns"] == THAI_HEADER


@pytest.mark.usefixtures("dictionary_schema")
def test_external_urls_are_not_fetched_by_default(monkeypatch):
    import requests

    def boom(*a, **kw):
        raise AssertionError("fetched an external URL")
    monkeypatch.setattr(requests, "get", boom)
    resource = {"id": "r1", "url": "http://example.com/data.csv", "format": "CSV"}
    dictionary.prefill(resource)
    assert "kpigov_columns" not in resource


def test_dictionary_csv_and_json_are_safe():
    resource = {"id": "r", "name": "n", "kpigov_columns": ["a"], "kpigov_dictionary": [
        {"column": "a", "label_th": "=cmd|' /C calc'!A0", "description": "<b>x</b>"}]}
    text = dictionary.dictionary_csv(resource).decode("utf-8-sig")
    assert "'=cmd" in text and "ชื่อคอลัมน์ (Column name)" in text
    doc = dictionary.dictionary_json(resource)
    assert doc["fields"][0]["description"] == "<b>x</b>" and doc["columns"] == ["a"]


# --- with the portal ------------------------------------------------------

SCHEMING = [
    pytest.mark.ckan_config("ckan.plugins", "kpigov_pgsearch kpigov scheming_datasets"),
    pytest.mark.ckan_config("scheming.dataset_schemas",
                            "ckanext.kpigov.schemas:dataset.yaml"),
    pytest.mark.ckan_config("scheming.presets",
                            "ckanext.scheming:presets.json "
                            "ckanext.kpigov.schemas:presets.yaml"),
]


def schema_dataset(org, **kw):
    data = dict(owner_org=org["id"], title="ผู้สูงอายุ", notes="จำนวนผู้สูงอายุ",
                maintainer="ฝ่ายพัฒนาชุมชน", maintainer_email="c@bma.example",
                update_frequency_unit="เดือน", update_frequency_interval="1",
                data_category="ข้อมูลสาธารณะ")
    data.update(kw)
    return helpers.call_action("package_create", **data)


def with_scheming(fn):
    for mark in SCHEMING:
        fn = mark(fn)
    return fn


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_prefill_from_the_stored_upload_and_datastore_skipped(monkeypatch):
    """A resource uploaded earlier is read back from the portal's storage."""
    org = factories.Organization()
    ds = factories.Dataset(owner_org=org["id"])
    upload = FileStorage(io.BytesIO(xlsx([["เขต", "ประชากร"], ["พระนคร", 1]])),
                         filename="pop.xlsx")
    res = helpers.call_action("resource_create", package_id=ds["id"], upload=upload,
                              url="pop.xlsx", format="XLSX")
    assert res["url_type"] == "upload"
    resource = dict(res)
    monkeypatch.setattr(dictionary, "_schema_has_dictionary", lambda: True)
    dictionary.prefill(resource)
    assert resource["kpigov_columns"] == ["เขต", "ประชากร"]
    # without the datastore plugin CKAN's Data Dictionary is skipped quietly
    assert dictionary.datastore_dictionary(res["id"]) == []


@pytest.mark.usefixtures("clean_db", "with_plugins")
@pytest.mark.usefixtures("dictionary_schema")
def test_datastore_dictionary_labels_used(monkeypatch):
    import ckan.plugins as p
    import ckan.plugins.toolkit as tk
    monkeypatch.setattr(p, "plugin_loaded", lambda name: name == "datastore")
    info = {"fields": [
        {"id": "_id", "type": "int"},
        {"id": "district", "type": "text",
         "info": {"label": "เขต", "notes": "ชื่อเขต"}},
        {"id": "population", "type": "int4", "info": {"label": "", "notes": ""}}]}
    real = tk.get_action

    def fake(name):
        return (lambda ctx, dd: info) if name == "datastore_info" else real(name)
    monkeypatch.setattr(tk, "get_action", fake)
    resource = {"id": "r1", "url": "http://example.com/api", "format": "API"}
    dictionary.prefill(resource)
    assert resource["kpigov_columns"] == ["district", "population"]
    assert resource["kpigov_dictionary"] == [
        {"column": "district", "type": "text", "label_th": "เขต",
         "description": "ชื่อเขต"},
        {"column": "population", "type": "integer"}]
    assert dictionary_coverage(resource)["share"] == 0.5


@with_scheming
@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_dictionary_downloads_and_resource_page(app):
    org = factories.Organization()
    ds = schema_dataset(org, name="elderly")
    res = helpers.call_action(
        "resource_create", package_id=ds["id"], url="http://example.com/e.csv",
        kpigov_columns=["community", "count"],
        kpigov_dictionary=[{"column": "community", "label_th": "ชุมชน<script>x</script>"},
                           {"column": "count"}])
    assert res["kpigov_columns"] == ["community", "count"]
    csv_res = app.get("/dataset/elderly/resource/%s/dictionary.csv" % res["id"])
    assert csv_res.status_code == 200
    assert "ชุมชน<script>x</script>" in csv_res.body  # CSV is data, not HTML
    js = app.get("/dataset/elderly/resource/%s/dictionary.json" % res["id"])
    assert json.loads(js.body)["fields"][0]["column"] == "community"
    page = app.get("/dataset/elderly/resource/%s" % res["id"])
    assert "kpigov-resource-dictionary" in page.body
    assert "&lt;script&gt;x&lt;/script&gt;" in page.body
    assert "<script>x</script>" not in page.body
    assert "1 / 2" in page.body  # coverage against the actual columns
    assert app.get("/dataset/elderly/resource/nope/dictionary.csv").status_code == 404
    other = schema_dataset(org, name="other")
    assert app.get("/dataset/%s/resource/%s/dictionary.json"
                   % (other["name"], res["id"])).status_code == 404


@with_scheming
@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_private_dictionary_needs_access(app):
    org = factories.Organization()
    ds = schema_dataset(org, name="secret-ds", private=True)
    res = helpers.call_action("resource_create", package_id=ds["id"],
                              url="http://example.com/e.csv",
                              kpigov_dictionary=[{"column": "a"}])
    assert app.get("/dataset/%s/resource/%s/dictionary.json"
                   % (ds["name"], res["id"])).status_code == 404


@with_scheming
@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_prefill_as_the_resource_hook_stores_columns_and_dictionary(monkeypatch):
    """The contract plugin.py wires: before_resource_create/update → prefill."""
    import ckan.plugins as p
    from ckan.logic.action import create, update

    class Hook(p.IResourceController):  # the interface supplies the other hooks
        def before_resource_create(self, context, resource):
            dictionary.prefill(resource, resource.get("upload"))

        def before_resource_update(self, context, current, resource):
            dictionary.prefill(resource, resource.get("upload"))

    real = p.PluginImplementations

    def implementations(interface):
        found = list(real(interface))
        return found + [Hook()] if interface is p.IResourceController else found
    monkeypatch.setattr(create.plugins, "PluginImplementations", implementations)
    monkeypatch.setattr(update.plugins, "PluginImplementations", implementations)
    org = factories.Organization()
    ds = schema_dataset(org, name="elderly")
    res = helpers.call_action(
        "resource_create", package_id=ds["id"], url="elderly.csv", format="CSV",
        upload=FileStorage(io.BytesIO(read("elderly_cp874.csv")), filename="elderly.csv"))
    assert res["kpigov_columns"] == THAI_HEADER
    assert [r["column"] for r in res["kpigov_dictionary"]] == THAI_HEADER
    # a described dictionary survives a new upload; the columns follow the file
    described = [dict(r, label_en="x") for r in res["kpigov_dictionary"]]
    res = helpers.call_action(
        "resource_update", id=res["id"], url="v2.xlsx", format="XLSX",
        kpigov_dictionary=described,
        upload=FileStorage(io.BytesIO(xlsx([["ชุมชน", "ปี"]])), filename="v2.xlsx"))
    assert res["kpigov_columns"] == ["ชุมชน", "ปี"]
    assert len(res["kpigov_dictionary"]) == 4
    assert dictionary_coverage(res)["undescribed"] == ["ปี"]


@pytest.mark.usefixtures("clean_db", "with_plugins")
def test_plain_schema_keeps_the_header_as_text():
    """Without the kpigov schema there is no nested field: columns as text."""
    upload = FileStorage(io.BytesIO(read("elderly_bom.csv")), filename="elderly.csv")
    resource = {"format": "CSV"}
    dictionary.prefill(resource, upload)
    assert resource["kpigov_columns"] == ",".join(THAI_HEADER)
    assert "kpigov_dictionary" not in resource
