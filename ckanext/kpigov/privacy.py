"""Keep personal contact data (stakeholder emails and phones) from outsiders.

Which data is personal is the schema's word: a dataset field, or a
repeating subfield, marked ``kpigov_personal: true`` (kpigov's own
``kpigov_stakeholders`` preset marks ``email`` and ``phone``; the same
two are personal when no scheming schema is loaded).

Who may see it is one rule, :func:`ckanext.kpigov.logic.auth.may_see_private`
(members of the dataset's organization and evaluators).

Where it is enforced, at the depth each surface needs:

- ``package_show`` (and every page, export and DCAT document built on it):
  stripped for outsiders after the dataset is shown (``strip_contacts``);
- the search index (stored documents, ``data_dict``,
  ``validated_data_dict``, every field, facets and the free-text column):
  never written there (``scrub_index_document``), so ``package_search``
  cannot return, facet on or match a contact, whoever asks and whatever
  ``fl``/``facet.field``/``q`` say;
- activities: never stored in an activity's copy of the dataset
  (``scrub_activity``, on every insert and update of an activity row), so
  the activity API, the activity pages, diffs and activity emails cannot
  show one;
- data stored before this rule: ``ckan kpigov privacy-scrub`` rewrites
  old activities and the search documents (idempotent).
"""
from __future__ import annotations

import copy
import json
from typing import Any, Optional

__all__ = ["strip_contacts", "may_see_contacts", "personal_fields",
           "scrub_package", "scrub_index_document", "scrub_activity_data",
           "install_activity_scrub"]

# field -> personal subfield keys; an empty tuple marks the whole field
_DEFAULT_PERSONAL: dict[str, tuple[str, ...]] = {
    "kpigov_stakeholders": ("email", "phone")}


def _schema_personal() -> dict[str, tuple[str, ...]]:
    try:
        import ckan.plugins as p
        if not p.plugin_loaded("scheming_datasets"):
            return {}
        from ckanext.scheming.helpers import scheming_dataset_schemas
        schemas = scheming_dataset_schemas() or {}
    except Exception:  # pragma: no cover - scheming absent or not configured
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for schema in schemas.values():
        for f in schema.get("dataset_fields") or []:
            name = f.get("field_name")
            if not name:
                continue
            if f.get("kpigov_personal"):
                out[name] = ()
                continue
            keys = tuple(s["field_name"] for s in f.get("repeating_subfields") or []
                         if s.get("kpigov_personal") and s.get("field_name"))
            if keys:
                out[name] = tuple(sorted(set(out.get(name, ())) | set(keys)))
    return out


def personal_fields() -> dict[str, tuple[str, ...]]:
    """The personal dataset fields: {field: subfield keys, () = whole field}."""
    fields = dict(_DEFAULT_PERSONAL)
    for name, keys in _schema_personal().items():
        if keys == () or fields.get(name) == ():
            fields[name] = ()
        else:
            fields[name] = tuple(sorted(set(fields.get(name, ())) | set(keys)))
    return fields


def _scrub_people(value: Any, keys: tuple[str, ...]) -> Any:
    """The value without the personal keys; same shape (a JSON string stays
    a JSON string, a list a list). An unreadable string is dropped whole:
    what cannot be parsed cannot be shown to be free of contacts."""
    if not keys:
        return None
    if isinstance(value, str):
        if not value.strip():
            return value
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        cleaned = _scrub_people(parsed, keys)
        return json.dumps(cleaned, ensure_ascii=False) if cleaned is not None else None
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_scrub_people(item, keys) if isinstance(item, (dict, str)) else item
                for item in value]
    return value


def scrub_package(pkg_dict: Any, fields: Optional[dict[str, tuple[str, ...]]] = None) -> None:
    """Remove personal data from a dataset dict in place: top-level fields
    and CKAN's ``extras`` list (as package_show without validation gives)."""
    if not isinstance(pkg_dict, dict):
        return
    fields = personal_fields() if fields is None else fields
    for name, keys in fields.items():
        if name in pkg_dict:
            cleaned = _scrub_people(pkg_dict[name], keys)
            if cleaned is None:
                pkg_dict.pop(name, None)
            else:
                pkg_dict[name] = cleaned
    extras = pkg_dict.get("extras")
    if isinstance(extras, list):
        kept = []
        for extra in extras:
            if isinstance(extra, dict) and extra.get("key") in fields:
                cleaned = _scrub_people(extra.get("value"), fields[extra["key"]])
                if cleaned is None:
                    continue
                extra = dict(extra, value=cleaned)
            kept.append(extra)
        pkg_dict["extras"] = kept


def scrub_index_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A search document without personal data (before_dataset_index):
    its flattened fields, ``extras_*`` copies and the two stored dicts.
    A new dict: the caller's (which CKAN may go on using) is left as is."""
    doc = dict(doc)
    fields = personal_fields()
    for name, keys in fields.items():
        for key in (name, "extras_" + name):
            if key in doc:
                cleaned = _scrub_people(doc[key], keys)
                if cleaned is None:
                    doc.pop(key, None)
                else:
                    doc[key] = cleaned
        # subfields flattened for Solr (ckanext-dcat: extras_<field>__<key>)
        for key in list(doc):
            if key.startswith((name + "__", "extras_" + name + "__")) and (
                    not keys or key.rsplit("__", 1)[1] in keys):
                doc.pop(key, None)
    _scrub_stored_dicts(doc, fields)
    return doc


def _scrub_stored_dicts(doc: dict[str, Any], fields: dict[str, tuple[str, ...]],
                        depth: int = 0) -> None:
    """The JSON copies of the dataset a document stores (CKAN's data_dict
    holds the validated_data_dict string in turn)."""
    for key in ("data_dict", "validated_data_dict"):
        raw = doc.get(key)
        if isinstance(raw, str) and raw:
            try:
                stored = json.loads(raw)
            except ValueError:
                doc.pop(key, None)
                continue
            scrub_package(stored, fields)
            if isinstance(stored, dict) and depth < 3:
                _scrub_stored_dicts(stored, fields, depth + 1)
            doc[key] = json.dumps(stored)


def scrub_activity_data(data: Any) -> Any:
    """An activity's ``data`` without personal data in its dataset copy."""
    if not isinstance(data, dict) or not isinstance(data.get("package"), dict):
        return data
    data = dict(data)
    pkg = copy.deepcopy(data["package"])
    scrub_package(pkg)
    data["package"] = pkg
    return data


def _activity_listener(mapper: Any, connection: Any, target: Any) -> None:
    cleaned = scrub_activity_data(target.data)
    if cleaned is not target.data and cleaned != target.data:
        target.data = cleaned


_INSTALLED: list[Any] = []


def install_activity_scrub() -> None:
    """Scrub every activity row as it is written (whatever code writes it:
    the activity plugin's signals, activity_create, a CLI)."""
    if _INSTALLED:
        return
    try:
        from ckanext.activity.model import Activity
    except ImportError:  # pragma: no cover - very old CKAN
        from ckan.model import Activity  # type: ignore[attr-defined,no-redef]
    import sqlalchemy as sa
    sa.event.listen(Activity, "before_insert", _activity_listener)
    sa.event.listen(Activity, "before_update", _activity_listener)
    _INSTALLED.append(Activity)


def _request_user() -> Optional[str]:
    try:
        from flask import has_request_context
        import ckan.plugins.toolkit as tk
        if has_request_context():
            user = tk.current_user
            return getattr(user, "name", None) or ""
    except Exception:  # pragma: no cover - no application context
        return None
    return None


def may_see_contacts(pkg_dict: dict[str, Any], context: Any) -> bool:
    """Internal calls (ignore_auth: indexing, jobs) and members/evaluators."""
    import ckan.plugins.toolkit as tk
    from .logic.auth import may_see_private
    if context is not None:
        if context.get("ignore_auth"):
            return True
        user = context.get("user") or ""
    else:
        # after_dataset_search has no context: the request's user decides
        request_user = _request_user()
        if request_user is None:
            return True  # no request: trusted server-side code
        user = request_user
    if may_see_private(user, pkg_dict.get("owner_org")):
        return True
    # whoever may edit the dataset (a collaborator, the editor of an
    # unowned dataset) sees what the edit form holds and saves back
    if user and pkg_dict.get("id") and (
            tk.config.get("ckan.auth.allow_dataset_collaborators")
            or not pkg_dict.get("owner_org")):
        try:
            tk.check_access("package_update", {"user": user}, {"id": pkg_dict["id"]})
            return True
        except (tk.NotAuthorized, tk.ObjectNotFound):
            return False
    return False


def _stored(pkg_id: Any) -> dict[str, Any]:
    import ckan.model as model
    pkg = model.Package.get(str(pkg_id)) if pkg_id else None
    extras = getattr(pkg, "extras", None) if pkg is not None else None
    return dict(extras or {})


def _scheming() -> bool:
    import ckan.plugins as p
    return bool(p.plugin_loaded("scheming_datasets"))


def restore_personal(pkg_dict: dict[str, Any]) -> None:
    """Put the personal data back for a viewer who may see it.

    package_show may answer from the search index's copy of the dataset,
    which never holds personal data; the database does. Only the personal
    keys are taken from it (matched item by item), so whatever else the
    schema's output validators made of the field stays as shown."""
    fields = personal_fields()
    shown_extras = pkg_dict.get("extras")
    extras: list[Any] = shown_extras if isinstance(shown_extras, list) else []
    in_extras = [e for e in extras if isinstance(e, dict) and e.get("key") in fields]
    if not in_extras and not any(name in pkg_dict or not keys
                                 for name, keys in fields.items()):
        return
    stored = _stored(pkg_dict.get("id"))
    # CKAN's extras list (no scheming, or validate=False): the stored value
    for extra in in_extras:
        raw = stored.get(extra["key"])
        if raw not in (None, ""):
            extra["value"] = raw
    for name in fields:
        raw = stored.get(name)
        if raw in (None, ""):
            continue
        keys = fields[name]
        if not keys:
            if name in pkg_dict or any(e.get("key") == name for e in in_extras):
                continue
            if extras or "extras" in pkg_dict and not _scheming():
                extras.append({"key": name, "value": raw})
            else:
                pkg_dict[name] = raw
            continue
        try:
            saved = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            continue
        shown = pkg_dict.get(name)
        if isinstance(shown, str):
            pkg_dict[name] = raw  # not validated (validate=False): as stored
            continue
        if not (isinstance(saved, list) and isinstance(shown, list)
                and len(saved) == len(shown)):
            continue
        for was, item in zip(saved, shown):
            if isinstance(was, dict) and isinstance(item, dict):
                for key in keys:
                    if key in was and key not in item:
                        item[key] = was[key]


def strip_contacts(pkg_dict: dict[str, Any], context: Any) -> None:
    """after_dataset_show: outsiders lose the personal data; insiders get
    it even when package_show answered from the (personal-free) index."""
    if may_see_contacts(pkg_dict, context):
        restore_personal(pkg_dict)
        return
    scrub_package(pkg_dict)


# --- CKAN's tag actions ------------------------------------------------------
# tag_list, tag_search and tag_autocomplete read the tag table directly and
# so list the tags of private datasets to anyone; only tags the user may see
# on some dataset are kept.

def _visible_tags(context: dict[str, Any], names: list[str]) -> set[str]:
    import sqlalchemy as sa
    import ckan.authz as authz
    import ckan.model as model
    user = context.get("user") or ""
    if not names or context.get("ignore_auth") or (user and authz.is_sysadmin(user)):
        return set(names)
    from .logic.auth import is_evaluator
    if is_evaluator(user):
        return set(names)
    p, pt, t = model.package_table, model.package_tag_table, model.tag_table
    visible = p.c.private == sa.false()
    if user:
        orgs = [g.id for g in (model.User.by_name(user).get_groups("organization")
                               if model.User.by_name(user) else [])]
        if orgs:
            visible = sa.or_(visible, p.c.owner_org.in_(orgs))
    q = (sa.select(t.c.name).distinct()
         .select_from(t.join(pt, pt.c.tag_id == t.c.id).join(p, p.c.id == pt.c.package_id))
         .where(t.c.name.in_(names), pt.c.state == "active", p.c.state == "active",
                visible))
    return {r[0] for r in model.Session.execute(q)}


def _tag_name(tag: Any) -> str:
    return tag.get("name", "") if isinstance(tag, dict) else str(tag)


def _keep_visible(context: dict[str, Any], tags: Any) -> Any:
    if not isinstance(tags, list):
        return tags
    seen = _visible_tags(context, [_tag_name(t) for t in tags])
    return [t for t in tags if _tag_name(t) in seen]


def _chained_tag_list(up: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    return _keep_visible(context, up(context, data_dict))


def _chained_tag_autocomplete(up: Any, context: dict[str, Any],
                              data_dict: dict[str, Any]) -> Any:
    return _keep_visible(context, up(context, data_dict))


def _chained_tag_search(up: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    """The count and the page are those of the visible tags: every match is
    read, filtered, then paged (a count of all matches would let anyone
    spell out a private tag by its prefix)."""
    data_dict = dict(data_dict or {})
    import ckan.plugins.toolkit as tk
    try:
        raw_limit = data_dict.get("limit")
        limit = int(float(raw_limit)) if raw_limit is not None and raw_limit != "" else 10
        offset = int(float(data_dict.get("offset") or 0))
    except (TypeError, ValueError):
        raise tk.ValidationError({"limit": [tk._("Must be a whole number")]}) from None
    result = up(context, dict(data_dict, limit=100000, offset=0))
    if isinstance(result, dict) and isinstance(result.get("results"), list):
        kept = _keep_visible(context, result["results"])
        result = dict(result, count=len(kept),
                      results=kept[max(0, offset):max(0, offset) + max(0, limit)])
    return result


def _chained_tag_show(up: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    result = up(context, data_dict)
    if isinstance(result, dict) and not result.get("vocabulary_id") and \
            not _visible_tags(context, [_tag_name(result)]):
        import ckan.plugins.toolkit as tk
        raise tk.ObjectNotFound()  # as CKAN answers an unknown tag
    return result


def _user_of(context: dict[str, Any]) -> str:
    return str(context.get("user") or "")


def _may_see_dataset(context: dict[str, Any], ref: Any) -> bool:
    """Whoever CKAN lets read the dataset (members, collaborators,
    sysadmins) and evaluators; an unknown or malformed ref is CKAN's to
    answer."""
    import ckan.model as model
    from .logic.auth import can_see_dataset
    if not isinstance(ref, str) or not ref or "\x00" in ref:
        return True
    pkg = model.Package.get(ref)
    if pkg is None or not pkg.private or context.get("ignore_auth"):
        return True
    return can_see_dataset({"user": _user_of(context)}, pkg.id)


def _hiding_private(up: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    """Follow actions: another agency's private dataset is "not found", as
    an unknown one (its name is no oracle)."""
    if not _may_see_dataset(context, (data_dict or {}).get("id")):
        # CKAN's own answer for a dataset that does not exist, word for word
        import uuid
        return up(context, dict(data_dict, id=str(uuid.uuid4())))
    return up(context, data_dict)


def _strip_each(context: dict[str, Any], items: Any) -> Any:
    """Datasets CKAN returns straight from package_dictize (no
    after_dataset_show): what the caller may see of each."""
    if not isinstance(items, list):
        return items
    for item in items:
        pkg = item.get("dict") if isinstance(item, dict) and isinstance(
            item.get("dict"), dict) else item
        if isinstance(pkg, dict):
            # a followee list needs no contacts, whoever reads it
            scrub_package(pkg)
    return items


def _chained_dataset_followee_list(up: Any, context: dict[str, Any],
                                   data_dict: dict[str, Any]) -> Any:
    return _strip_each(context, up(context, data_dict))


def _chained_followee_list(up: Any, context: dict[str, Any],
                           data_dict: dict[str, Any]) -> Any:
    return _strip_each(context, up(context, data_dict))


def _chained_member_list(up: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    """Members of an organization: its private datasets only for those who
    may see them (CKAN lists every package id to anyone)."""
    result = up(context, data_dict)
    if not isinstance(result, list):
        return result
    import ckan.model as model
    from .logic.auth import may_see_private
    ids = [r[0] for r in result if isinstance(r, (list, tuple)) and len(r) > 1
           and r[1] == "package"]
    if not ids:
        return result
    hidden = {p.id for p in model.Session.query(model.Package).filter(
        model.Package.id.in_(ids), model.Package.private.is_(True))
        if not may_see_private(_user_of(context), p.owner_org)}
    return [r for r in result if not (isinstance(r, (list, tuple)) and r[0] in hidden)]


_CHAINED = {
    "tag_list": (_chained_tag_list, True),
    "tag_search": (_chained_tag_search, True),
    "tag_autocomplete": (_chained_tag_autocomplete, True),
    "tag_show": (_chained_tag_show, True),
    "dataset_followee_list": (_chained_dataset_followee_list, True),
    "followee_list": (_chained_followee_list, True),
    "member_list": (_chained_member_list, True),
    "dataset_follower_count": (_hiding_private, True),
    "dataset_follower_list": (_hiding_private, True),
    "am_following_dataset": (_hiding_private, True),
    "follow_dataset": (_hiding_private, False),
}


def chained_actions() -> dict[str, Any]:
    import ckan.logic as logic
    import ckan.plugins.toolkit as tk
    out = {}
    for name, (fn, read_only) in _CHAINED.items():
        def make(fn: Any = fn) -> Any:
            def chained(up: Any, context: Any, data_dict: Any) -> Any:
                return fn(up, context, data_dict)
            return chained
        wrapped = make()
        wrapped.__name__ = name
        if read_only:
            wrapped = tk.side_effect_free(wrapped)
        out[name] = tk.chained_action(wrapped)
    del logic
    return out


# --- data stored before the rule ---------------------------------------------

def scrub_existing(batch: int = 500) -> dict[str, int]:
    """Remove personal data from what was stored before this rule: the
    dataset copies inside activities, then the search documents of the
    datasets that have personal fields (reindexed through CKAN, so Solr and
    kpigov_pgsearch alike). Idempotent: a second run changes no activity and
    writes the same documents."""
    import sqlalchemy as sa
    import ckan.model as model
    from ckan.lib import search
    try:
        from ckanext.activity.model import Activity
    except ImportError:  # pragma: no cover
        from ckan.model import Activity  # type: ignore[attr-defined,no-redef]
    fields = personal_fields()
    changed = read = 0
    last = ""
    while True:
        rows = (model.Session.query(Activity).filter(Activity.id > last)
                .order_by(Activity.id).limit(batch).all())
        if not rows:
            break
        for act in rows:
            read += 1
            cleaned = scrub_activity_data(act.data)
            if cleaned != act.data:
                act.data = cleaned
                changed += 1
        last = rows[-1].id
        model.Session.commit()
    from . import compat
    p = model.package_table
    ids = [r[0] for r in model.Session.execute(
        sa.select(p.c.id).where(p.c.state != "deleted", sa.or_(*[
            compat.extra_column(name).isnot(None) for name in fields])))]
    for pkg_id in ids:
        search.rebuild(pkg_id, defer_commit=True)
    search.commit()
    model.Session.commit()
    return {"activities_read": read, "activities_scrubbed": changed,
            "datasets_reindexed": len(ids)}
