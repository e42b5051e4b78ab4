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
    _scrub_index_relationships(doc)
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
    # the other datasets of its relationships may be (or become) private
    for key in _REL_KEYS:
        pkg.pop(key, None)
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
    it even when package_show answered from the (personal-free) index.
    Relationships to datasets the viewer may not see are left out."""
    filter_relationships(pkg_dict, context)
    _filter_stored_copies(pkg_dict, context)
    if may_see_contacts(pkg_dict, context):
        restore_personal(pkg_dict)
        return
    scrub_package(pkg_dict)


# --- CKAN's tag and format actions -------------------------------------------
# tag_list, tag_search, tag_autocomplete and format_autocomplete read the tag
# and resource tables directly and so list what private datasets hold to
# anyone. kpigov answers them with the same queries restricted, in SQL, to
# datasets the user may see (bounded: no reading of every tag to filter).

def visible_packages(context: dict[str, Any]) -> Any:
    """A SQL condition on ``package`` for the datasets the context's user
    may see (public ones, and private ones of organizations the user is a
    member of), or None when the user sees every dataset (internal calls,
    sysadmins, evaluators)."""
    import sqlalchemy as sa
    import ckan.model as model
    from .logic.auth import is_evaluator
    user = context.get("user") or ""
    if context.get("ignore_auth") or (user and is_evaluator(user)):
        return None
    p = model.package_table
    visible = p.c.private == sa.false()
    user_obj = model.User.by_name(user) if user else None
    if user_obj is not None:
        orgs = [g.id for g in user_obj.get_groups("organization")]
        if orgs:
            visible = sa.or_(visible, p.c.owner_org.in_(orgs))
        if tk_config_collaborators():
            mine = sa.select(model.package_member_table.c.package_id).where(
                model.package_member_table.c.user_id == user_obj.id)
            visible = sa.or_(visible, p.c.id.in_(mine))
    return visible


def tk_config_collaborators() -> bool:
    import ckan.plugins.toolkit as tk
    return bool(tk.asbool(tk.config.get("ckan.auth.allow_dataset_collaborators")))


def _visible_tags(context: dict[str, Any], names: list[str]) -> set[str]:
    """Of these free-tag names, those on a dataset the user may see."""
    if not names:
        return set()
    import sqlalchemy as sa
    import ckan.model as model
    t = model.tag_table
    q = sa.select(t.c.name).where(t.c.name.in_(names), _on_visible_dataset(context))
    return {r[0] for r in model.Session.execute(q)}


def _on_visible_dataset(context: dict[str, Any]) -> Any:
    """EXISTS: the tag is on an active dataset the user may see."""
    import sqlalchemy as sa
    import ckan.model as model
    p, pt, t = model.package_table, model.package_tag_table, model.tag_table
    cond = [pt.c.tag_id == t.c.id, pt.c.state == "active", p.c.state == "active"]
    visible = visible_packages(context)
    if visible is not None:
        cond.append(visible)
    return sa.exists(sa.select(sa.literal(1)).select_from(
        pt.join(p, p.c.id == pt.c.package_id)).where(*cond))


def _tag_name(tag: Any) -> str:
    return tag.get("name", "") if isinstance(tag, dict) else str(tag)


def _whole(data_dict: dict[str, Any], key: str, default: Optional[int]) -> Optional[int]:
    import ckan.plugins.toolkit as tk
    raw = data_dict.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(float(raw))
    except (TypeError, ValueError, OverflowError):
        raise tk.ValidationError({key: [tk._("Must be a whole number")]}) from None
    if value < 0:
        raise tk.ValidationError({key: [tk._("Must be a whole number")]})
    return value


def _tag_query(context: dict[str, Any], data_dict: dict[str, Any],
               with_terms: bool) -> tuple[Any, bool]:
    """CKAN's _tag_search (free tags on datasets, or one vocabulary's tags,
    each term matched as a substring), restricted to datasets the user may
    see. A vocabulary's tags are the vocabulary's public terms
    (vocabulary_show lists them to anyone): not restricted. Returns the
    select and whether it matched anything at all to query."""
    import sqlalchemy as sa
    import ckan.model as model
    t = model.tag_table
    q = sa.select(t)
    vocab_ref = data_dict.get("vocabulary_id")
    if vocab_ref:
        vocab = model.Vocabulary.get(str(vocab_ref))
        if not vocab:
            return q, False
        q = q.where(t.c.vocabulary_id == vocab.id)
    else:
        q = q.where(t.c.vocabulary_id.is_(None), _on_visible_dataset(context))
    if with_terms:
        terms = data_dict.get("query") or data_dict.get("q") or []
        if isinstance(terms, str):
            terms = [terms]
        if not isinstance(terms, list):
            terms = [str(terms)]
        terms = [str(term).strip() for term in terms if str(term).strip()]
        fields = data_dict.get("fields") or {}
        if isinstance(fields, dict):
            terms += [str(v) for k, v in fields.items() if k in ("tag", "tags")]
        if not terms:
            return q, False
        import ckan.model.misc as misc
        for term in terms:
            escaped = misc.escape_sql_like_special_characters(term, escape="\\")
            q = q.where(t.c.name.ilike("%" + escaped + "%"))
    return q, True


def _tags(context: dict[str, Any], data_dict: dict[str, Any], with_terms: bool = True,
          paged: bool = True) -> tuple[list[Any], int]:
    import sqlalchemy as sa
    import ckan.model as model
    q, any_match = _tag_query(context, data_dict, with_terms)
    if not any_match:
        return [], 0
    count = model.Session.execute(
        sa.select(sa.func.count()).select_from(q.subquery())).scalar() or 0
    q = q.order_by(model.tag_table.c.name)
    if paged:
        offset = _whole(data_dict, "offset", None)
        limit = _whole(data_dict, "limit", None)
        if offset:
            q = q.offset(offset)
        if limit is not None:
            q = q.limit(limit)
    ids = [r.id for r in model.Session.execute(q)]
    by_id = {tag.id: tag for tag in model.Session.query(model.Tag).filter(
        model.Tag.id.in_(ids))} if ids else {}
    return [by_id[i] for i in ids if i in by_id], count


def _chained_tag_list(up: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    import ckan.plugins.toolkit as tk
    from ckan.lib.dictization import model_dictize
    data_dict = data_dict or {}
    tk.check_access("tag_list", context, data_dict)
    query = data_dict.get("query") or data_dict.get("q")
    tags, _count = _tags(context, data_dict, with_terms=bool(query))
    if tk.asbool(data_dict.get("all_fields") or False):
        return model_dictize.tag_list_dictize(tags, dict(context))
    return [tag.name for tag in tags]


def _chained_tag_autocomplete(up: Any, context: dict[str, Any],
                              data_dict: dict[str, Any]) -> Any:
    import ckan.plugins.toolkit as tk
    data_dict = data_dict or {}
    tk.check_access("tag_autocomplete", context, data_dict)
    tags, _count = _tags(context, data_dict)
    return [tag.name for tag in tags]


def _chained_tag_search(up: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    """The count and the page are those of the visible tags (a count of all
    matches would let anyone spell out a private tag by its prefix)."""
    import ckan.plugins.toolkit as tk
    from ckan.lib.dictization import table_dictize
    data_dict = data_dict or {}
    tk.check_access("tag_search", context, data_dict)
    tags, count = _tags(context, data_dict)
    return {"count": count, "results": [table_dictize(tag, dict(context)) for tag in tags]}


def _chained_tag_show(up: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    result = up(context, data_dict)
    if isinstance(result, dict) and not result.get("vocabulary_id") and \
            not _visible_tags(context, [_tag_name(result)]):
        import ckan.plugins.toolkit as tk
        raise tk.ObjectNotFound()  # as CKAN answers an unknown tag
    return result


def _chained_format_autocomplete(up: Any, context: dict[str, Any],
                                 data_dict: dict[str, Any]) -> Any:
    """CKAN's query (formats of active resources containing ``q``, most
    used first), over resources of active datasets the user may see."""
    import sqlalchemy as sa
    import ckan.model as model
    import ckan.plugins.toolkit as tk
    from ckan.logic.schema import default_autocomplete_schema
    data, errors = tk.navl_validate(dict(data_dict or {}), default_autocomplete_schema(),
                                    context)
    if errors:
        raise tk.ValidationError(errors)
    tk.check_access("format_autocomplete", context, data)
    limit = data.get("limit", 5)
    r, p = model.resource_table, model.package_table
    cond = [r.c.state == "active", p.c.state == "active",
            r.c.format.ilike("%" + str(data["q"]) + "%")]
    visible = visible_packages(context)
    if visible is not None:
        cond.append(visible)
    q = (sa.select(r.c.format, sa.func.count(r.c.format).label("total"))
         .select_from(r.join(p, p.c.id == r.c.package_id)).where(*cond)
         .group_by(r.c.format).order_by(sa.text("total DESC"), r.c.format).limit(limit))
    return [row[0].lower() for row in model.Session.execute(q)]


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


# --- dataset relationships --------------------------------------------------
# CKAN names the other dataset of a relationship (package_relationships_list,
# package_show's relationships_as_subject/_object, the index's depends_on,
# child_of ... fields) whatever its privacy.

_REL_KEYS = {"relationships_as_subject": "object_package_id",
             "relationships_as_object": "subject_package_id"}


def _context_of_request(context: Any) -> dict[str, Any]:
    if context is not None:
        return context
    user = _request_user()
    return {"ignore_auth": True} if user is None else {"user": user}


def visible_ids(context: Any, refs: Any) -> set[str]:
    """Of these dataset ids or names, those the user may see (as given)."""
    import sqlalchemy as sa
    import ckan.model as model
    refs = {str(r) for r in refs if r}
    if not refs:
        return set()
    p = model.package_table
    q = sa.select(p.c.id, p.c.name).where(sa.or_(p.c.id.in_(refs), p.c.name.in_(refs)))
    visible = visible_packages(_context_of_request(context))
    if visible is not None:
        q = q.where(visible)
    seen: set[str] = set()
    for row in model.Session.execute(q):
        seen.update({row[0], row[1]})
    return refs & seen


def filter_relationships(pkg_dict: dict[str, Any], context: Any) -> None:
    """A dataset dict's relationships without those to datasets the user
    may not see."""
    lists: dict[str, list[Any]] = {
        key: pkg_dict[key] for key in _REL_KEYS
        if isinstance(pkg_dict.get(key), list) and pkg_dict[key]}
    if not lists:
        return
    refs = {_other(rel, key) for key, rels in lists.items() for rel in rels}
    seen = visible_ids(context, refs)
    for key, rels in lists.items():
        pkg_dict[key] = [rel for rel in rels if _other(rel, key) in seen]


def _other(rel: Any, key: str) -> Any:
    """The other dataset's id of a shown relationship (package_show's
    schema moves it into ``__extras``)."""
    if not isinstance(rel, dict):
        return None
    extras = rel.get("__extras")
    return rel.get(_REL_KEYS[key]) or (
        extras.get(_REL_KEYS[key]) if isinstance(extras, dict) else None)


def _scrub_index_relationships(doc: dict[str, Any]) -> None:
    """The index document's relationship fields (the other datasets' names,
    by relationship type: ``depends_on``, ``child_of`` ...), which facets
    and ``fl`` return to anyone, name public datasets only;
    :func:`sync_visibility` reindexes the others of a dataset whose privacy
    changes. (The stored copies keep them: filtered as they are shown.)"""
    import ckan.model as model
    types = {t for pair in model.PackageRelationship.types for t in pair}
    named = {key: doc[key] for key in types if isinstance(doc.get(key), list)}
    if not named:
        return
    public = visible_ids({"user": ""}, {v for values in named.values() for v in values})
    for key, values in named.items():
        kept = [v for v in values if v in public]
        if kept:
            doc[key] = kept
        else:
            doc.pop(key, None)


def _filter_stored_copies(result: dict[str, Any], context: Any) -> None:
    """A search result's stored dataset copies (``fl=data_dict`` ...): their
    relationships as the viewer may see them now."""
    for key in ("data_dict", "validated_data_dict"):
        raw = result.get(key)
        if not (isinstance(raw, str) and "relationships_as_" in raw):
            continue
        try:
            stored = json.loads(raw)
        except ValueError:
            result.pop(key, None)
            continue
        if isinstance(stored, dict):
            filter_relationships(stored, context)
            _filter_stored_copies(stored, context)
            result[key] = json.dumps(stored)


def _chained_package_relationships_list(up: Any, context: dict[str, Any],
                                        data_dict: dict[str, Any]) -> Any:
    result = up(context, data_dict)
    if not isinstance(result, list):
        return result
    refs = {ref for rel in result if isinstance(rel, dict)
            for ref in (rel.get("subject"), rel.get("object"))}
    seen = visible_ids(context, refs)
    return [rel for rel in result if isinstance(rel, dict)
            and rel.get("subject") in seen and rel.get("object") in seen]


# --- activities of datasets whose privacy changed ----------------------------
# CKAN 2.11 labels each activity with the dataset's permission labels when
# it is written, and lists activities by those labels only: the activities
# of a public dataset that later became private stay public (its name,
# title and old content, in organization, user, dashboard and "recently
# changed" streams). kpigov relabels them when the dataset becomes private
# (remembering they were public), and back when it is public again.
# Activities written while it was private keep their private labels.

WAS_PUBLIC = "kpigov-was-public"


def _relabel_activities(pkg: Any) -> int:
    import sqlalchemy as sa
    import ckan.model as model
    from ckan.lib.plugins import get_permission_labels
    try:
        from ckanext.activity.model import Activity
    except ImportError:  # pragma: no cover
        return 0
    if not hasattr(Activity, "permission_labels"):
        return 0  # CKAN 2.10: no labels (and no activities of private datasets)
    if pkg.private:
        labels = list(get_permission_labels().get_dataset_labels(pkg)) + [WAS_PUBLIC]
        was = "public"
    else:
        labels, was = ["public"], WAS_PUBLIC
    result = model.Session.execute(sa.text(
        "UPDATE activity SET permission_labels = :labels "
        "WHERE object_id = :id AND :was = ANY(permission_labels)"),
        {"labels": labels, "id": pkg.id, "was": was})
    return int(result.rowcount or 0)


def sync_visibility(pkg_ids: Any) -> None:
    """After datasets' privacy may have changed: their past activities are
    labelled as the dataset is now, and datasets related to them are
    reindexed (their index documents name public datasets only)."""
    import ckan.model as model
    from ckan.lib import search
    related: set[str] = set()
    for pkg_id in pkg_ids:
        pkg = model.Package.get(pkg_id)
        if pkg is None:
            continue
        _relabel_activities(pkg)
        for rel in pkg.get_relationships():
            related.update({rel.subject_package_id, rel.object_package_id})
        related.discard(pkg.id)
    for other in sorted(related):
        search.rebuild(other, defer_commit=True)
    if related:
        search.commit()


def _chained_bulk_update(up: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    """CKAN updates the datasets with a bulk query that leaves the session's
    copies stale (its own activity for the change was labelled as before:
    public for a dataset just made private). Committed by then: the copies
    are reloaded, past activities relabelled."""
    result = up(context, data_dict)
    import ckan.model as model
    model.Session.expire_all()
    ids = (data_dict or {}).get("datasets") or []
    if isinstance(ids, list) and ids:
        sync_visibility([str(i) for i in ids])
        model.Session.commit()
    return result


def _chained_activity_diff(up: Any, context: dict[str, Any],
                           data_dict: dict[str, Any]) -> Any:
    """CKAN checks the asked activity, not the earlier one it diffs with:
    a dataset made public again diffed its private-era content to anyone.
    The earlier activity must be one the user may see, as activity_show
    requires of the asked one."""
    result = up(context, data_dict)
    import ckan.authz as authz
    import ckan.model as model
    import ckan.plugins.toolkit as tk
    from ckan.lib.plugins import get_permission_labels
    from ckanext.activity.model import Activity
    acts = result.get("activities") if isinstance(result, dict) else None
    if not acts or authz.is_sysadmin(context.get("user")):
        return result
    prev = model.Session.query(Activity).get(acts[0].get("id"))
    labels = getattr(prev, "permission_labels", None)
    if prev is None or labels is None:
        return result
    user_labels = get_permission_labels().get_user_dataset_labels(
        context.get("auth_user_obj"))
    if not set(labels) & set(user_labels):
        raise tk.ObjectNotFound("Previous activity for this object not found")
    return result


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
    "format_autocomplete": (_chained_format_autocomplete, True),
    "package_relationships_list": (_chained_package_relationships_list, True),
    "bulk_update_private": (_chained_bulk_update, False),
    "bulk_update_public": (_chained_bulk_update, False),
    "bulk_update_delete": (_chained_bulk_update, False),
}


# CKAN 2.10's activities have no permission labels: a dataset made private
# keeps its public activities in every list. There, the lists drop the
# activities of datasets the user may not see now.
_ACTIVITY_LISTS = ("package_activity_list", "organization_activity_list",
                   "group_activity_list", "user_activity_list",
                   "recently_changed_packages_activity_list", "dashboard_activity_list")


def _chained_activity_list(up: Any, context: Any, data_dict: Any) -> Any:
    result = up(context, data_dict)
    if not isinstance(result, list):
        return result
    ids = {a.get("object_id") for a in result
           if isinstance(a, dict) and "package" in str(a.get("activity_type") or "")}
    if not ids:
        return result
    seen = visible_ids(context, ids)
    return [a for a in result if not isinstance(a, dict)
            or "package" not in str(a.get("activity_type") or "")
            or a.get("object_id") in seen]


def _activities_have_labels() -> bool:
    try:
        from ckanext.activity.model import Activity
    except ImportError:  # pragma: no cover
        return True
    return hasattr(Activity, "permission_labels")


def chained_actions() -> dict[str, Any]:
    import ckan.plugins as p
    import ckan.plugins.toolkit as tk
    out = {}
    chained = dict(_CHAINED)
    if p.plugin_loaded("activity"):
        chained["activity_diff"] = (_chained_activity_diff, True)
        if not _activities_have_labels():
            for name in _ACTIVITY_LISTS:
                chained[name] = (_chained_activity_list, True)
    for name, (fn, read_only) in chained.items():
        def make(fn_name: str = fn.__name__) -> Any:
            def chained(up: Any, context: Any, data_dict: Any) -> Any:
                # looked up when called (a test may swap one out)
                return globals()[fn_name](up, context, data_dict)
            return chained
        wrapped = make()
        wrapped.__name__ = name
        if read_only:
            wrapped = tk.side_effect_free(wrapped)
        out[name] = tk.chained_action(wrapped)
    return out


# --- data stored before the rule ---------------------------------------------

def scrub_existing(batch: int = 500) -> dict[str, int]:
    """Remove personal data from what was stored before this rule: the
    dataset copies inside activities (and their relationships), the public
    labels of activities of datasets since made private, then the search
    documents of the datasets that have personal fields or relationships
    (reindexed through CKAN, so Solr and kpigov_pgsearch alike).
    Idempotent: a second run changes no activity and writes the same
    documents."""
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
    # activities of datasets made private before kpigov relabelled them
    relabelled = 0
    if hasattr(Activity, "permission_labels"):
        for (pkg_id,) in model.Session.execute(sa.text(
                "SELECT DISTINCT p.id FROM package p JOIN activity a ON a.object_id = p.id "
                "WHERE p.private AND 'public' = ANY(a.permission_labels)")).fetchall():
            pkg = model.Package.get(pkg_id)
            if pkg is not None:
                relabelled += _relabel_activities(pkg)
        model.Session.commit()
    from . import compat
    p = model.package_table
    rel = model.package_relationship_table
    ids = [r[0] for r in model.Session.execute(
        sa.select(p.c.id).where(p.c.state != "deleted", sa.or_(*[
            compat.extra_column(name).isnot(None) for name in fields],
            p.c.id.in_(sa.select(rel.c.subject_package_id)),
            p.c.id.in_(sa.select(rel.c.object_package_id)))))]
    for pkg_id in ids:
        search.rebuild(pkg_id, defer_commit=True)
    search.commit()
    model.Session.commit()
    return {"activities_read": read, "activities_scrubbed": changed,
            "activities_relabelled": relabelled, "datasets_reindexed": len(ids)}
