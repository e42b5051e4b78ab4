"""``package_show`` for many datasets at once, for a full reindex.

A reindex asks ``package_show`` (``use_cache`` and ``validate`` off) for
every dataset: CKAN's ``package_dictize`` sends nine small queries per
dataset (the package, its resources, tags, extras, groups, organization,
relationships both ways), and those round trips and their SQLAlchemy
overhead are half of a reindex's time. :func:`package_show_many` sends the
same queries once for a batch (``IN`` over the batch's ids) and then runs
CKAN's own dictization functions on each dataset's rows, then the same
plugin hooks ``package_show`` calls, so the dicts are those ``package_show``
returns (tests/search/test_bulk_show.py compares them field by field).

Only for the CKAN versions whose ``package_dictize`` it follows (2.10,
2.11); on any other version :func:`supported` is False and it calls
``package_show`` per dataset.
"""
from __future__ import annotations

import collections
from typing import Any, Iterable

import sqlalchemy as sa

import ckan
import ckan.logic as logic
import ckan.model as model
import ckan.plugins as p
from ckan.lib.dictization import model_dictize
from ckan.lib.dictization import obj_list_dictize, table_dictize

__all__ = ["REINDEX_CONTEXT", "supported", "package_show_many"]

# the context a reindex gives package_show (as CKAN's search.rebuild does)
REINDEX_CONTEXT = {"ignore_auth": True, "use_cache": False, "validate": False}

# the versions whose package_dictize and package_show this module follows
_VERSIONS = ("2.10", "2.11")
# the package id added to rows whose CKAN query has no package column;
# removed from every dict before it is returned
_PKG = "kpigov_bulk_package_id"


def supported() -> bool:
    return ".".join(ckan.__version__.split(".")[:2]) in _VERSIONS


def _grouped(rows: Iterable[Any], key: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = collections.defaultdict(list)
    for row in rows:
        out[getattr(row, key)].append(row)
    return out


def _fetch(query: Any, key: str) -> dict[str, list[Any]]:
    """The rows of ``query`` by their ``key`` column (a package id)."""
    return _grouped(model.Session.execute(query), key)


def _without_pkg(dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in dicts:
        item.pop(_PKG, None)
    return dicts


def package_show_many(ids: list[str]) -> tuple[list[model.Package], dict[str, dict[str, Any]]]:
    """The packages of ``ids`` (keep them referenced: later ``Package.get``
    calls of the same ids are then answered from the session) and, per id,
    the dict ``package_show`` returns with the context a reindex gives it
    (``ignore_auth``, ``use_cache`` and ``validate`` off). Ids that are not
    datasets are left out."""
    pkgs = model.Session.query(model.Package).filter(model.Package.id.in_(ids)).all()
    if not pkgs:
        return pkgs, {}
    if not supported():
        show = logic.get_action("package_show")
        return pkgs, {pkg.id: show(dict(REINDEX_CONTEXT), {"id": pkg.id})
                      for pkg in pkgs}
    pids = [pkg.id for pkg in pkgs]

    res = model.resource_table
    resources = _fetch(
        sa.select(res).where(res.c["package_id"].in_(pids)), "package_id")

    tag, pkg_tag = model.tag_table, model.package_tag_table
    tags = _fetch(
        sa.select(tag, pkg_tag.c["state"], pkg_tag.c["package_id"].label(_PKG))
        .select_from(pkg_tag.join(tag, tag.c["id"] == pkg_tag.c["tag_id"]))
        .where(pkg_tag.c["package_id"].in_(pids)), _PKG)

    extra = model.package_extra_table
    extras = _fetch(
        sa.select(extra).where(extra.c["package_id"].in_(pids)), "package_id")

    member, group = model.member_table, model.group_table
    groups = _fetch(
        sa.select(group, member.c["capacity"], member.c["table_id"].label(_PKG))
        .select_from(member.join(group, group.c["id"] == member.c["group_id"]))
        .where(member.c["table_id"].in_(pids), member.c["state"] == "active",
               group.c["is_organization"] == sa.false()), _PKG)

    org_ids = {pkg.owner_org for pkg in pkgs if pkg.owner_org}
    orgs = _fetch(
        sa.select(group).where(group.c["id"].in_(org_ids),
                               group.c["state"] == "active"), "id") if org_ids else {}

    rel = model.package_relationship_table
    as_subject = _fetch(
        sa.select(rel).where(rel.c["subject_package_id"].in_(pids)),
        "subject_package_id")
    as_object = _fetch(
        sa.select(rel).where(rel.c["object_package_id"].in_(pids)),
        "object_package_id")

    shown: dict[str, dict[str, Any]] = {}
    for pkg in pkgs:
        # package_show's context: the caller's (the reindex's), with what
        # get_action, check_access and package_show add
        context: dict[str, Any] = logic._prepopulate_context(  # noqa: SLF001
            dict(REINDEX_CONTEXT))
        context.setdefault("auth_user_obj", None)
        context["package"] = pkg
        shown[pkg.id] = _show(pkg, context, resources, tags, extras, groups,
                              orgs, as_subject, as_object)
    return pkgs, shown


def _show(pkg: model.Package, context: dict[str, Any], resources: Any, tags: Any,
          extras: Any, groups: Any, orgs: Any, as_subject: Any,
          as_object: Any) -> dict[str, Any]:
    """package_dictize (CKAN 2.10/2.11) from prefetched rows, then the rest
    of package_show for a context without validation."""
    ctx: Any = context
    result = table_dictize(pkg, ctx)
    if result.get("title"):
        result["title"] = result["title"].strip()
    result.pop("plugin_data", None)

    result["resources"] = model_dictize.resource_list_dictize(
        resources.get(pkg.id, []), ctx)
    result["num_resources"] = len(result.get("resources", []))

    result["tags"] = _without_pkg(obj_list_dictize(
        tags.get(pkg.id, []), ctx, lambda x: x["name"]))
    result["num_tags"] = len(result.get("tags", []))
    for tag_dict in result["tags"]:
        tag_dict["display_name"] = tag_dict["name"]

    result["extras"] = model_dictize.extras_list_dictize(extras.get(pkg.id, []), ctx)

    context["with_capacity"] = False
    result["groups"] = _without_pkg(model_dictize.group_list_dictize(
        groups.get(pkg.id, []), ctx, with_package_counts=False))

    organizations = obj_list_dictize(orgs.get(pkg.owner_org, []), ctx)
    result["organization"] = organizations[0] if organizations else None

    result["relationships_as_subject"] = obj_list_dictize(
        as_subject.get(pkg.id, []), ctx)
    result["relationships_as_object"] = obj_list_dictize(
        as_object.get(pkg.id, []), ctx)

    result["isopen"] = pkg.isopen if isinstance(pkg.isopen, bool) else pkg.isopen()
    result["type"] = pkg.type or u"dataset"
    if pkg.license and pkg.license.url:
        result["license_url"] = pkg.license.url
        result["license_title"] = pkg.license.title.split("::")[-1]
    elif pkg.license:
        result["license_title"] = pkg.license.title
    else:
        result["license_title"] = pkg.license_id
    result["metadata_modified"] = pkg.metadata_modified.isoformat()
    result["metadata_created"] = pkg.metadata_created.isoformat() \
        if pkg.metadata_created else None

    # the rest of package_show (no for_view, no validation)
    for item in p.PluginImplementations(p.IPackageController):
        item.read(pkg)
    for res_item in p.PluginImplementations(p.IResourceController):
        for resource_dict in result["resources"]:
            res_item.before_resource_show(resource_dict)
    for item in p.PluginImplementations(p.IPackageController):
        item.after_dataset_show(ctx, result)
    return result
