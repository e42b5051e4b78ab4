"""Every translatable string of the extension has a Thai translation."""
from __future__ import annotations

import os

import polib
from babel.messages.extract import extract_from_dir

ROOT = os.path.join(os.path.dirname(__file__), "..", "ckanext", "kpigov")
PO = os.path.join(ROOT, "i18n", "th", "LC_MESSAGES", "ckanext-kpigov.po")
MO = os.path.join(ROOT, "i18n", "th", "LC_MESSAGES", "ckanext-kpigov.mo")


def _extracted():
    method_map = [("templates/**.html", "ckan.lib.extract:extract_ckan"),
                  ("**.py", "python")]
    keywords = {"_": None, "N_": None, "ungettext": (1, 2)}
    out = set()
    for _f, _l, message, _c, _ctx in extract_from_dir(ROOT, method_map=method_map,
                                                       keywords=keywords):
        out.add(message if isinstance(message, str) else message[0])
    return out


def test_every_string_has_a_thai_translation():
    po = polib.pofile(PO)
    translated = {e.msgid for e in po if e.msgstr and not e.obsolete}
    missing = sorted(_extracted() - translated)
    assert not missing, "run dev/i18n and translate: %s" % missing[:20]


def test_compiled_catalogue_is_current():
    mo = polib.mofile(MO)
    po = polib.pofile(PO)
    assert {e.msgid: e.msgstr for e in mo if e.msgid} == {
        e.msgid: e.msgstr for e in po if e.msgstr and not e.obsolete}
