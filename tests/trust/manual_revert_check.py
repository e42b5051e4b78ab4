"""Run by hand: the leak sweep must fail when any one surface's fix is reverted."""
import pytest
import test_leak_sweep as sweep
from test_leak_sweep import *  # noqa  (fixtures, marks)
from ckanext.kpigov import privacy

REVERTS = {
    "index": lambda mp: mp.setattr(privacy, "scrub_index_document", lambda d: d),
    "activity": lambda mp: mp.setattr(privacy, "scrub_activity_data", lambda d: d),
    "show": lambda mp: mp.setattr(privacy, "strip_contacts", lambda pkg, ctx: None),
    "tags": lambda mp: mp.setattr(privacy, "_visible_tags", lambda c, names: set(names)),
}

@pytest.mark.parametrize("surface", sorted(REVERTS))
def test_reverted(surface, app, ckan_config, capsys, monkeypatch):
    REVERTS[surface](monkeypatch)
    with pytest.raises(AssertionError) as err:
        sweep.test_no_outsider_reads_a_contact_or_private_dataset_anywhere(app, ckan_config, capsys)
    print("\n%s reverted -> sweep fails: %s" % (surface, str(err.value)[:300].replace("\n", " | ")))
