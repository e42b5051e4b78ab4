"""PostgreSQL implementations of CKAN's package search index and query.

``PgPackageSearchIndex`` turns a ``package_show`` dict into a search document
the way CKAN's Solr index does (same flattened field names, same permission
labels, same ``before_dataset_index`` hook) and writes it in the current
database transaction. ``PgPackageSearchQuery`` answers the ``q``/``fq``/
facet/sort/paging parameters that ``package_search`` passes to Solr.
"""
from __future__ import annotations

import collections
import datetime
import hashlib
import json
import logging
import re
from typing import Any, Optional

import sqlalchemy as sa
from dateutil.parser import ParserError, parse as parse_date

import ckan.lib.navl.dictization_functions as df
import ckan.lib.plugins as lib_plugins
import ckan.logic as logic
import ckan.model as model
import ckan.plugins as p
from ckan.common import asbool, config
from ckan.lib.search.common import SearchError, SearchIndexError, SearchQueryError
from ckan.lib.search.index import PackageSearchIndex
from ckan.lib.search.query import (
    MAGIC_FIELD_RE, QUERY_PARSER_RE, PackageSearchQuery, VALID_SOLR_PARAMETERS,
    _get_local_query_parser)

from . import lucene
from .compiler import Compiler, is_keyword

log = logging.getLogger(__name__)

__all__ = ["PgPackageSearchIndex", "PgPackageSearchQuery"]

# Keys of the index document that are never copied to the free-text column.
_NOT_TEXT = {
    "id", "index_id", "site_id", "entity_type", "data_dict",
    "validated_data_dict", "metadata_created", "metadata_modified",
    "permission_labels", "capacity", "state", "private", "owner_org",
    "creator_user_id", "type", "dataset_type", "num_resources", "num_tags",
    "isopen", "license_url", "res_url", "res_type", "url", "version",
}
# Below this many matches the facet query fences its filter (see _facets).
_FACET_FENCE_BELOW = 2000
_KEY_CHARS = re.compile(r"[^0-9A-Za-z_\-]")


def _as_strings(value: Any) -> list[str]:
    """Values of one field as the list of strings stored for filtering."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, set)):
        out: list[str] = []
        for v in value:
            out.extend(_as_strings(v))
        return out
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, dict):
        return [json.dumps(value, ensure_ascii=False, sort_keys=True)]
    return [str(value)]


def _text_of(value: Any) -> str:
    return " ".join(_as_strings(value))


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; other control chars are harmless.
    return text.replace("\x00", "")


def _solr_date(value: Any) -> Optional[str]:
    """A date as Solr stores and returns it: UTC, milliseconds, ``Z``.

    Solr's date fields keep millisecond precision and print the fraction
    only when it is not zero (``2014-06-10T08:24:12.782Z``,
    ``2014-06-10T08:24:12Z``).
    """
    if isinstance(value, datetime.datetime):
        date = value
    else:
        try:
            date = parse_date(str(value))
        except (ParserError, ValueError, OverflowError):
            return None
    if date.tzinfo:
        date = date.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    millis = date.microsecond // 1000
    text = date.replace(microsecond=0).isoformat()
    return text + (".%03dZ" % millis if millis else "Z")


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 10:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def _check_query_parsers(query: dict[str, Any]) -> None:
    """Reject local parameters and magic fields as CKAN does before Solr.

    Same checks, same order, same messages as ``PackageSearchQuery.run``;
    ``fq`` is checked with ``fq_list`` appended, as CKAN merges them.
    """
    def check(param: str, value: Any) -> None:
        if not isinstance(value, str):
            return
        value = value.strip()
        if re.search(MAGIC_FIELD_RE, value):
            raise SearchError(
                f"Magic fields are not supported in param '{param}'.")
        match = QUERY_PARSER_RE.findall(value)
        if match:
            if len(match) > 1:
                raise SearchError(
                    f"Query parsers are not supported in param '{param}'.")
            if not value.startswith("{!"):
                raise SearchError(
                    "Local parameters must be defined at the beginning of "
                    f"param '{param}'.")
            if _get_local_query_parser(value) not in config.get(
                    "ckan.search.solr_allowed_query_parsers", []):
                raise SearchError(
                    f"Local parameters are not supported in param '{param}'.")

    merged_fq: list[Any] = []
    if "fq" in query:
        merged_fq.append(query["fq"])
    merged_fq.extend(query.get("fq_list", []) or [])
    items = list(query.items())
    if "fq" not in query:
        items.append(("fq", merged_fq))
    for param, value in items:
        if param == "fq":
            value = merged_fq
        if isinstance(value, str):
            check(param, value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, list):
                    for sub in item:
                        check(param, sub)
                else:
                    check(param, item)


def _site_id() -> str:
    return config.get("ckan.site_id") or "default"


# Result cache, as Solr's filter and query-result caches: per process,
# keyed by the query's SQL and parameters and by the index generation (a
# sequence moved by a trigger on every write to kpigov_search_doc and again
# after each commit that wrote documents, see migration c2e8f4a6b0d3). An
# entry keeps the total, the page's dataset ids and scores and the facet
# counts; the documents themselves are always read fresh by id.
_CACHE: "collections.OrderedDict[str, tuple[int, Any]]" = collections.OrderedDict()
_GENERATION = sa.text(
    "SELECT pg_sequence_last_value(to_regclass('kpigov_search_generation'))")
_BUMP = sa.text("SELECT nextval(to_regclass('kpigov_search_generation'))"
                " WHERE to_regclass('kpigov_search_generation') IS NOT NULL")


def _cache_size() -> int:
    try:
        return max(0, int(config.get("ckanext.kpigov.search.cache_size") or 0))
    except (TypeError, ValueError):
        return 0


def _generation() -> Optional[int]:
    """The index generation, or None (no cache) before the migration."""
    value = model.Session.execute(_GENERATION).scalar()
    return None if value is None else int(value)


def _mark_written() -> None:
    model.Session.info["kpigov_search_written"] = True


def _after_commit(session: Any) -> None:
    if session.info.pop("kpigov_search_written", False):
        index_written()


def index_written() -> None:
    """After documents were committed (by this process or, for a parallel
    rebuild, by its workers): move the result-cache generation and fold the
    facet-count changes, each on its own connection and transaction."""
    # the trigger moved the generation inside the writing transaction,
    # before its documents were visible: move it again now that they are
    try:
        with model.meta.engine.begin() as conn:
            conn.execute(_BUMP)
    except sa.exc.SQLAlchemyError:  # pragma: no cover - the cache is only an optimisation
        log.warning("kpigov_pgsearch: could not move the index generation; "
                    "clearing this process's search cache", exc_info=True)
        _CACHE.clear()
    try:
        with model.meta.engine.begin() as conn:
            fold_facet_deltas(conn)
    except sa.exc.SQLAlchemyError:  # pragma: no cover - readers sum the deltas anyway
        log.warning("kpigov_pgsearch: could not fold facet counts", exc_info=True)


# Browse-all facet counts (migration e8b3f1a9c4d6): the filters a search
# may have to be answered from kpigov_search_facet, and the table's column.
_FACET_DIMS = ("site_id", "state", "capacity", "dataset_type")
_FACET_TABLES = sa.text("SELECT to_regclass('kpigov_search_facet_delta')")
_facet_tables_found = False


def _facet_tables(conn: Any) -> bool:
    """True once the facet-count tables exist (looked up until they do,
    then remembered: the migration that makes them is not undone while
    CKAN runs)."""
    global _facet_tables_found
    if not _facet_tables_found:
        _facet_tables_found = conn.execute(_FACET_TABLES).scalar() is not None
    return _facet_tables_found
_FOLD = sa.text("""
    WITH moved AS (DELETE FROM kpigov_search_facet_delta RETURNING *)
    INSERT INTO kpigov_search_facet AS f
    SELECT site_id, state, capacity, dataset_type, labels, field, value, sum(n)
    FROM moved
    GROUP BY site_id, state, capacity, dataset_type, labels, field, value
    ON CONFLICT (site_id, state, capacity, dataset_type, labels, field, value)
    DO UPDATE SET n = f.n + excluded.n""")


def _facet_counts_on() -> bool:
    return asbool(config.get("ckanext.kpigov.search.facet_counts", True))


def fold_facet_deltas(conn: Any) -> bool:
    """Fold the pending facet-count changes into kpigov_search_facet, in the
    caller's transaction on ``conn``. One folder at a time (another one
    already folding: return False). Only committed changes are moved; those
    of open transactions stay in the delta table until a later fold."""
    if not _facet_tables(conn):
        return False
    if not conn.execute(sa.text(
            "SELECT pg_try_advisory_xact_lock(hashtext('kpigov_search_facet'))")).scalar():
        return False
    # the delta table's size is unknown to the planner right after a bulk
    # write: never pay JIT compilation (~0.5 s) for a fold of milliseconds
    conn.execute(sa.text("SET LOCAL jit = off"))
    conn.execute(_FOLD)
    conn.execute(sa.text("DELETE FROM kpigov_search_facet WHERE n = 0"))
    return True


def _dim_filter(q_node: Any, fq_nodes: list[Any]) -> Optional[dict[str, set[str]]]:
    """The values each group column must have, when the search selects
    datasets only by site, state, capacity and dataset type (no text, no
    other field): a browse-all search, answered from kpigov_search_facet.
    None for any other search."""
    if not isinstance(q_node, lucene.All):
        return None
    dims: dict[str, set[str]] = {}
    for node in fq_nodes:
        clauses = node.children if isinstance(node, lucene.And) else (node,)
        for clause in clauses:
            if isinstance(clause, lucene.All):
                continue
            if isinstance(clause, lucene.Term):
                terms: tuple[Any, ...] = (clause,)
            elif isinstance(clause, lucene.Or) and all(
                    isinstance(c, lucene.Term) for c in clause.children):
                terms = clause.children
            else:
                return None
            fields = {t.field for t in terms}
            if (len(fields) != 1 or not fields <= set(_FACET_DIMS)
                    or any(t.kind not in ("word", "phrase") or not t.value
                           for t in terms)):
                return None
            field = fields.pop()
            values = {t.value for t in terms}
            dims[field] = dims[field] & values if field in dims else values
    return dims


def install_listeners() -> None:
    # (after a rollback the mark stays: the next commit moves the
    # generation once more than needed, which only costs a cache miss)
    if not sa.event.contains(model.Session, "after_commit", _after_commit):
        sa.event.listen(model.Session, "after_commit", _after_commit)
    if not sa.event.contains(model.Session, "before_commit", flush_pending):
        sa.event.listen(model.Session, "before_commit", flush_pending)
    if not sa.event.contains(model.Session, "after_rollback", _drop_pending):
        sa.event.listen(model.Session, "after_rollback", _drop_pending)


_COLUMNS = ["id", "site_id", "name", "title_string", "title_text",
            "metadata_created", "metadata_modified", "permission_labels",
            "fields", "search_text", "doc", "data_dict",
            "validated_data_dict", "state", "capacity", "keywords"]
_JSON_COLUMNS = ("fields", "keywords", "doc")
_UPSERTS: dict[int, Any] = {}
# documents of a reindex written per statement (and kept in memory at most)
_BATCH = 100
_PENDING = "kpigov_search_pending"


def _upsert_statement(n: int) -> Any:
    """The upsert of ``n`` documents, built once per ``n``: a reindex runs
    it for every batch and compiling it each time costs more than running
    it. Parameters are named ``<column>_<row>``."""
    if n not in _UPSERTS:
        values = []
        for i in range(n):
            cells = [("CAST(:%s_%d AS jsonb)" if c in _JSON_COLUMNS
                      else "CAST(:%s_%d AS text[])" if c == "permission_labels"
                      else ":%s_%d") % (c, i) for c in _COLUMNS]
            tsv = " || ".join(
                "setweight(to_tsvector('english'::regconfig, :tsv_%s_%d), '%s')"
                % (w.lower(), i, w) for w in "ABCD")
            values.append("(%s, %s, now())" % (", ".join(cells), tsv))
        sql = ("INSERT INTO kpigov_search_doc (%s, tsv, indexed_at) VALUES %s "
               "ON CONFLICT (id) DO UPDATE SET %s"
               % (", ".join(_COLUMNS), ", ".join(values),
                  ", ".join("%s = excluded.%s" % (c, c)
                            for c in _COLUMNS[1:] + ["tsv", "indexed_at"])))
        _UPSERTS[n] = sa.text(sql)
    return _UPSERTS[n]


def write_rows(rows: list[dict[str, Any]]) -> None:
    """Upsert documents (rows from PgPackageSearchIndex.row), one statement
    per _BATCH, in the session's transaction."""
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start:start + _BATCH]
        params: dict[str, Any] = {}
        for i, row in enumerate(chunk):
            for key, value in row.items():
                if key in _JSON_COLUMNS:
                    value = json.dumps(value, ensure_ascii=False)
                params["%s_%d" % (key, i)] = value
        model.Session.execute(_upsert_statement(len(chunk)), params)
    if rows:
        _mark_written()


def flush_pending(session: Any) -> None:
    """Write the documents a reindex has kept back (see ``_write``)."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        write_rows(list(pending.values()))


def _drop_pending(session: Any) -> None:
    session.info.pop(_PENDING, None)


class PgPackageSearchIndex(PackageSearchIndex):
    """Keeps ``kpigov_search_doc`` in step with the datasets."""

    def index_package(self, pkg_dict: Optional[dict[str, Any]],
                      defer_commit: bool = False) -> None:
        if pkg_dict is None:
            return
        try:
            doc = self._build_doc(pkg_dict)
            if doc is None:
                return
            self._write(doc, defer=defer_commit)
        except sa.exc.SQLAlchemyError as err:
            # CKAN's notifier re-raises only SearchIndexError (it logs and
            # swallows anything else, and the dataset write would then be
            # reported as saved): the write fails whole.
            log.error("search document of %s not written: %s", pkg_dict.get("id"),
                      getattr(err, "orig", err))
            raise SearchIndexError("the search document could not be written") from err

    def _build_doc(self, pkg_dict: dict[str, Any]) -> Optional[dict[str, Any]]:
        package_plugin = lib_plugins.lookup_package_plugin(pkg_dict.get("type"))
        schema = package_plugin.show_package_schema()
        validated, _errors = lib_plugins.plugin_validate(
            package_plugin, {"model": model, "session": model.Session},
            pkg_dict, schema, "package_show")
        pkg_dict = dict(pkg_dict)
        pkg_dict["validated_data_dict"] = json.dumps(
            validated, cls=df.MissingNullEncoder)
        pkg_dict["data_dict"] = json.dumps(pkg_dict)

        if pkg_dict.get("title"):
            pkg_dict["title_string"] = pkg_dict["title"]

        if config.get("ckan.search.remove_deleted_packages") and \
                pkg_dict.get("state") in (None, "deleted"):
            self.delete_package(pkg_dict)
            return None

        org_title = ""
        if pkg_dict.get("organization"):
            org_title = pkg_dict["organization"].get("title") or ""

        index_fields = set(pkg_dict.keys()) | {
            "tags", "groups", "res_name", "res_description", "res_format",
            "res_url", "res_type", "text", "urls", "entity_type", "site_id"}
        for extra in pkg_dict.pop("extras", None) or []:
            key, value = extra.get("key", ""), extra.get("value")
            if isinstance(value, (tuple, list)):
                value = " ".join(map(str, value))
            key = _KEY_CHARS.sub("", key)
            pkg_dict["extras_" + key] = value
            if key not in index_fields:
                pkg_dict[key] = value

        tags = []
        for tag in pkg_dict.pop("tags", None) or []:
            if tag.get("vocabulary_id"):
                vocab = logic.get_action("vocabulary_show")(
                    {"model": model}, {"id": tag["vocabulary_id"]})
                pkg_dict.setdefault("vocab_%s" % vocab["name"], []).append(
                    tag["name"])
            else:
                tags.append(tag["name"])
        pkg_dict["tags"] = tags
        pkg_dict["groups"] = [g["name"] for g in pkg_dict.pop("groups", None) or []]
        pkg_dict["capacity"] = "private" if pkg_dict.get("private") else "public"
        pkg_dict["organization"] = (pkg_dict["organization"]["name"]
                                    if pkg_dict.get("organization") else None)

        resource_fields = [("name", "res_name"), ("description", "res_description"),
                           ("format", "res_format"), ("url", "res_url"),
                           ("resource_type", "res_type")]
        resource_extras = [(e, "res_extras_" + e)
                           for e in model.Resource.get_extra_columns()]
        for resource in pkg_dict.pop("resources", None) or []:
            for okey, nkey in resource_fields + resource_extras:
                pkg_dict[nkey] = pkg_dict.get(nkey, []) + [resource.get(okey, "")]

        rels: dict[str, list[str]] = collections.defaultdict(list)
        for rel in pkg_dict.pop("relationships_as_object", None) or []:
            rtype = model.PackageRelationship.forward_to_reverse_type(rel["type"])
            other = model.Package.get(rel["subject_package_id"])
            if other:
                rels[rtype].append(other.name)
        for rel in pkg_dict.pop("relationships_as_subject", None) or []:
            other = model.Package.get(rel["object_package_id"])
            if other:
                rels[rel["type"]].append(other.name)
        for key, value in rels.items():
            pkg_dict.setdefault(key, value)

        pkg_dict["entity_type"] = "package"
        pkg_dict["dataset_type"] = pkg_dict.get("type")

        clean: dict[str, Any] = {}
        for key, value in pkg_dict.items():
            if key.endswith("_date"):
                if not value:
                    continue
                value = _solr_date(value)
                if value is None:
                    log.warning("%r: %r value of %r is not a valid date",
                                pkg_dict.get("id"), key, pkg_dict[key])
                    continue
            clean[key] = value
        pkg_dict = clean
        if pkg_dict.get("title"):
            pkg_dict["title"] = pkg_dict["title"].lstrip()
        for key in ("metadata_created", "metadata_modified"):
            if pkg_dict.get(key):
                pkg_dict[key] = _solr_date(pkg_dict[key]) or pkg_dict[key]
        pkg_dict["site_id"] = _site_id()
        pkg_dict["index_id"] = hashlib.md5(
            ("%s%s" % (pkg_dict["id"], _site_id())).encode()).hexdigest()

        for item in p.PluginImplementations(p.IPackageController):
            pkg_dict = item.before_dataset_index(pkg_dict)
        assert pkg_dict, "Plugin must return non empty package dict on index"

        labels = lib_plugins.get_permission_labels()
        dataset = model.Package.get(pkg_dict["id"])
        pkg_dict["permission_labels"] = (
            labels.get_dataset_labels(dataset) if dataset else [])
        pkg_dict["_org_title"] = org_title
        return pkg_dict

    def _write(self, doc: dict[str, Any], defer: bool = False) -> None:
        """Write the document now, or (``defer``: a reindex, which commits
        at the end) keep it and write it with others in one statement,
        before the commit, before any search and every _BATCH documents."""
        row = self.row(doc)
        if defer:
            pending = model.Session.info.setdefault(_PENDING, {})
            pending[row["id"]] = row
            if len(pending) >= _BATCH:
                flush_pending(model.Session)
            return
        flush_pending(model.Session)
        write_rows([row])

    def row(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The kpigov_search_doc row of a document from :meth:`_build_doc`."""
        org_title = doc.pop("_org_title", "")
        data_dict = doc.pop("data_dict", None)
        validated = doc.pop("validated_data_dict", None)

        fields: dict[str, list[str]] = {}
        for key, value in doc.items():
            values = [_clean(v) for v in _as_strings(value)]
            if values:
                fields[key] = values

        name = doc.get("name") or ""
        title = doc.get("title") or ""
        weight_a = " ".join([name.replace("-", " ").replace("_", " "), title])
        weight_b = " ".join([_text_of(doc.get("tags")), _text_of(doc.get("groups")),
                             org_title, _text_of(doc.get("organization"))])
        weight_c = " ".join([doc.get("notes") or "", _text_of(doc.get("res_name")),
                             _text_of(doc.get("res_description"))])
        rest = []
        for key, value in doc.items():
            if key in _NOT_TEXT or key in ("name", "title", "title_string",
                                           "tags", "groups", "notes", "res_name",
                                           "res_description", "organization"):
                continue
            if isinstance(value, (str, list, tuple)):
                rest.append(_text_of(value))
        weight_d = " ".join(rest)
        search_text = _clean(" ".join(
            [weight_a, weight_b, weight_c, weight_d]).lower())

        def when(key: str) -> Optional[datetime.datetime]:
            value = doc.get(key)
            if not value:
                return None
            try:
                return parse_date(str(value).rstrip("Z"))
            except (ParserError, ValueError, OverflowError):
                return None

        row = {
            "id": doc["id"], "site_id": _site_id(), "name": name,
            "title_string": _clean(doc.get("title_string") or ""),
            "title_text": _clean((title + " " + name).lower()),
            "metadata_created": when("metadata_created"),
            "metadata_modified": when("metadata_modified"),
            "permission_labels": list(doc.get("permission_labels") or []),
            "fields": fields, "search_text": search_text,
            "state": (fields.get("state") or [None])[0],
            "capacity": (fields.get("capacity") or [None])[0],
            # distinct values: a facet counts datasets, not resources
            "keywords": {k: list(dict.fromkeys(v)) for k, v in fields.items()
                         if is_keyword(k)},
            "doc": json.loads(json.dumps(doc, default=str).replace("\\u0000", "")),
            "data_dict": _clean(data_dict or ""),
            "validated_data_dict": _clean(validated or ""),
            "tsv_a": _clean(weight_a)[:200000], "tsv_b": _clean(weight_b)[:200000],
            "tsv_c": _clean(weight_c)[:200000], "tsv_d": _clean(weight_d)[:200000],
        }
        return row

    def delete_package(self, pkg_dict: dict[str, Any]) -> None:
        from .model import search_doc_table as t
        ref = pkg_dict.get("id")
        try:
            flush_pending(model.Session)
            model.Session.execute(t.delete().where(
                sa.and_(t.c.site_id == _site_id(),
                        sa.or_(t.c.id == ref, t.c.name == ref))))
        except sa.exc.SQLAlchemyError as err:
            log.error("search document of %s not deleted: %s", ref,
                      getattr(err, "orig", err))
            raise SearchIndexError("the search document could not be removed") from err
        _mark_written()

    def clear(self) -> None:
        from .model import search_doc_table as t
        flush_pending(model.Session)
        model.Session.execute(t.delete().where(t.c.site_id == _site_id()))
        _mark_written()
        model.Session.commit()

    def commit(self) -> None:
        model.Session.commit()


def _fl_list(fl: Any) -> list[str]:
    if not fl:
        return ["name"]
    if isinstance(fl, (list, tuple)):
        parts: list[str] = []
        for item in fl:
            parts.extend(str(item).replace(",", " ").split())
        return parts
    return str(fl).replace(",", " ").split()


class PgPackageSearchQuery(PackageSearchQuery):
    """Runs package searches against ``kpigov_search_doc``."""

    def get_all_entity_ids(self, max_results: int = 1000) -> list[str]:
        flush_pending(model.Session)
        rows = model.Session.execute(sa.text(
            "SELECT id FROM kpigov_search_doc WHERE site_id = :site "
            "AND state = 'active' ORDER BY id LIMIT :n"),
            {"site": _site_id(), "n": max_results})
        return [r[0] for r in rows]

    def get_index(self, reference: str) -> dict[str, Any]:
        flush_pending(model.Session)
        row = model.Session.execute(sa.text(
            "SELECT doc, data_dict, validated_data_dict FROM kpigov_search_doc "
            "WHERE site_id = :site AND (id = :ref OR name = :ref) LIMIT 1"),
            {"site": _site_id(), "ref": reference}).first()
        if row is None:
            raise SearchError(
                "Dataset not found in the search index: %s" % reference)
        doc = dict(row[0])
        doc["data_dict"] = row[1]
        doc["validated_data_dict"] = row[2]
        return doc

    def run(self, query: dict[str, Any],
            permission_labels: Optional[list[str]] = None,
            **kwargs: Any) -> dict[str, Any]:
        flush_pending(model.Session)
        if not set(query.keys()) <= VALID_SOLR_PARAMETERS:
            invalid = sorted(set(query.keys()) - VALID_SOLR_PARAMETERS)
            raise SearchQueryError("Invalid search parameters: %s" % invalid)
        _check_query_parsers(query)
        if _has_nul(query):
            # PostgreSQL text cannot hold NUL: a 400, not a database error
            raise SearchQueryError("Search parameters must not contain NUL characters")

        q = query.get("q")
        if not q or q in ('""', "''"):
            q = "*:*"
        try:
            rows = int(query.get("rows", 10))
            start = int(query.get("start", 0) or 0)
        except (TypeError, ValueError):
            raise SearchQueryError('"rows" and "start" must be integers')
        if rows < 0 or start < 0:
            raise SearchQueryError('"rows" and "start" must not be negative')

        fqs: list[str] = []
        if query.get("fq"):
            fq = query["fq"]
            fqs.extend(fq if isinstance(fq, list) else [fq])
        fqs.extend(query.get("fq_list", []) or [])

        compiler = Compiler()
        fq_nodes = []
        try:
            q_node = lucene.parse_user_query(q)
            where = [compiler.compile(q_node)]
            for item in fqs:
                if not isinstance(item, str):
                    raise SearchQueryError("fq must be a string")
                if item.strip():
                    fq_nodes.append(lucene.parse(item))
                    where.append(compiler.compile(fq_nodes[-1]))
        except lucene.QuerySyntaxError as e:
            raise SearchQueryError(str(e))

        dims = _dim_filter(q_node, fq_nodes) if _facet_counts_on() else None
        if not any(re.search(r"(^|[\s(+])state:", f) for f in fqs):
            where.append("d.state = 'active'")
            if dims is not None:
                dims["state"] = dims.get("state", {"active"}) & {"active"}
        where.append("d.site_id = %s" % compiler.param(_site_id()))
        if dims is not None:
            dims["site_id"] = dims.get("site_id", {_site_id()}) & {_site_id()}
        if permission_labels is not None:
            where.append("d.permission_labels && CAST(%s AS text[])"
                         % compiler.param(list(permission_labels)))
        where_sql = " AND ".join("(%s)" % w for w in where)

        score_sql = compiler.score(lucene.free_text_terms(q_node))
        order_sql = compiler.order_by(query.get("sort"), score_sql)

        fl = _fl_list(query.get("fl"))
        params = compiler.params
        sql_from = "FROM kpigov_search_doc d WHERE " + where_sql
        size = _cache_size()
        generation = _generation() if size else None
        key = json.dumps([sql_from, score_sql, order_sql, rows, start, params,
                          self._facet_request(query)], sort_keys=True, default=str)
        cached = _CACHE.get(key) if generation is not None else None
        try:
            with model.Session.begin_nested():
                if cached is not None and cached[0] == generation:
                    _CACHE.move_to_end(key)
                    count, page, facets = cached[1]
                    result_rows = self._documents(page)
                else:
                    count, page = None, []
                    if rows > 0:
                        # free text: the matching rows are scored and sorted
                        # anyway, so count them in the same pass (one text
                        # index scan, not two); a browse-all page reads only
                        # its rows from the sort index and is counted apart
                        window = score_sql != "0"
                        found = model.Session.execute(sa.text(
                            "SELECT d.id, %s AS score%s %s ORDER BY %s LIMIT %d OFFSET %d"
                            % (score_sql, ", count(*) OVER ()" if window else "",
                               sql_from, order_sql, rows, start)), params).fetchall()
                        page = [(r[0], r[1]) for r in found]
                        if window and found:
                            count = found[0][2]
                    grouped = None
                    if dims is not None and _facet_tables(model.Session):
                        grouped = self._grouped_counts(
                            query, dims, permission_labels, count is None)
                    if grouped is not None:
                        count = count if count is not None else grouped[0]
                        facets = grouped[1]
                    else:
                        if count is None:
                            count = model.Session.execute(sa.text(
                                "SELECT count(*) " + sql_from), params).scalar()
                        facets = self._facets(query, sql_from, params,
                                              int(count or 0))
                    result_rows = self._documents(page)
                    if generation is not None:
                        _CACHE[key] = (generation, (count, page, facets))
                        while len(_CACHE) > size:
                            _CACHE.popitem(last=False)
        except sa.exc.DataError as e:
            raise SearchQueryError("Invalid search value: %s"
                                   % str(e.orig).splitlines()[0])
        facets = {f: dict(v) for f, v in facets.items()}

        results = []
        for doc, data_dict, validated, score in result_rows:
            full = dict(doc)
            full["data_dict"] = data_dict
            full["validated_data_dict"] = validated
            full["score"] = float(score or 0)
            if fl == ["*"]:
                item = full
            else:
                item = {k: full[k] for k in fl if k in full}
            extras = {k[len("extras_"):]: item.pop(k)
                      for k in [k for k in item if k.startswith("extras_")]}
            if extras:
                item["extras"] = extras
            results.append(item)
        if len(fl) == 1 and fl[0] in ("id", "name"):
            results = [r.get(fl[0]) for r in results]

        self.count = int(count or 0)
        self.results = results
        self.facets = facets
        return {"results": self.results, "count": self.count}

    @staticmethod
    def _facet_request(query: dict[str, Any]) -> list[Any]:
        return [query.get(k) for k in ("facet", "facet.field", "facet.limit",
                                       "facet.mincount")] + [
            config.get("search.facets.limit")]

    @staticmethod
    def _documents(page: list[tuple[str, Any]]) -> list[tuple[Any, ...]]:
        """(doc, data_dict, validated_data_dict, score) of the page's
        datasets, in the page's order."""
        if not page:
            return []
        found = {r[0]: r[1:] for r in model.Session.execute(sa.text(
            "SELECT id, doc, data_dict, validated_data_dict FROM kpigov_search_doc "
            "WHERE id = ANY(:ids)"), {"ids": [pid for pid, _ in page]})}
        return [found[pid] + (score,) for pid, score in page if pid in found]

    @staticmethod
    def _facet_params(query: dict[str, Any]) -> tuple[list[str], int, int]:
        """(fields, limit, mincount) of the request; no fields: no facets."""
        fields = query.get("facet.field") or []
        if isinstance(fields, str):
            try:
                fields = json.loads(fields)
            except ValueError:
                fields = [fields]
        if not fields or str(query.get("facet", "true")).lower() == "false":
            return [], 0, 0
        try:
            limit = int(query.get("facet.limit",
                                  config.get("search.facets.limit") or 50))
            mincount = int(query.get("facet.mincount", 1))
        except (TypeError, ValueError):
            raise SearchQueryError("facet.limit and facet.mincount must be integers")
        if not isinstance(fields, list):
            fields = [fields]
        return [str(f) for f in fields], limit, mincount

    @staticmethod
    def _top(rows: Any, fields: list[str], limit: int,
             mincount: int) -> dict[str, dict[str, int]]:
        by_field: dict[str, list[tuple[str, int]]] = {f: [] for f in fields}
        for k, v, n in rows:
            if k in by_field and n >= mincount and v != "":
                by_field[k].append((v, int(n)))
        out: dict[str, dict[str, int]] = {}
        for field, items in by_field.items():
            items.sort(key=lambda kv: (-kv[1], kv[0]))
            if limit >= 0:
                items = items[:limit]
            out[field] = dict(items)
        return out

    def _grouped_counts(self, query: dict[str, Any], dims: dict[str, set[str]],
                        labels: Optional[list[str]], need_total: bool,
                        ) -> Optional[tuple[int, dict[str, dict[str, int]]]]:
        """(total, facets) of a browse-all search from kpigov_search_facet
        (migration e8b3f1a9c4d6): the counts of the groups of datasets this
        search selects and the user may see, plus the changes not yet folded
        in. None when a requested facet field is not counted there."""
        fields, limit, mincount = self._facet_params(query)
        if any(not is_keyword(f) or f in ("name", "") for f in fields):
            return None
        if not fields and not need_total:
            return 0, {}
        conds = ["field = ANY(:fields)"]
        params: dict[str, Any] = {"fields": fields + [""]}
        for dim, values in dims.items():
            conds.append("%s = ANY(:dim_%s)" % (dim, dim))
            params["dim_" + dim] = sorted(values)
        if labels is not None:
            conds.append("labels && CAST(:labels AS text[])")
            params["labels"] = list(labels)
        where = " AND ".join(conds)
        rows = model.Session.execute(sa.text(
            "SELECT field, value, sum(n) FROM (SELECT field, value, n FROM "
            "kpigov_search_facet WHERE %s UNION ALL SELECT field, value, n "
            "FROM kpigov_search_facet_delta WHERE %s) c GROUP BY field, value"
            % (where, where)), params).fetchall()
        total = sum(int(n) for k, _v, n in rows if k == "")
        return total, self._top(rows, fields, limit, mincount) if fields else {}

    def _facets(self, query: dict[str, Any], sql_from: str,
                params: dict[str, Any],
                count: int = 0) -> dict[str, dict[str, int]]:
        fields, limit, mincount = self._facet_params(query)
        if not fields:
            return {}
        # Each field once: the keyword form below unnests this list.
        facet_params = dict(params, _facet_fields=list(dict.fromkeys(fields)))
        # Few matches (a text search): plan the filter on its own (OFFSET 0),
        # as the count query was, so that it uses the text indexes; else the
        # planner, misled by the set-returning functions above it, scans
        # every row. Many matches: no fence, a (parallel) scan is right.
        if count < _FACET_FENCE_BELOW:
            sql_from = sql_from + " OFFSET 0"
        if all(is_keyword(f) for f in fields):
            # Keyword fields only (the usual case): the small inline
            # ``keywords`` column, one ``->`` per requested field.
            sql = ("SELECT f.key, v, count(*) AS n FROM (SELECT d.keywords "
                   + sql_from + ") h CROSS JOIN unnest(CAST(:_facet_fields AS "
                   "text[])) f(key), jsonb_array_elements_text(CASE WHEN "
                   "jsonb_typeof(h.keywords -> f.key) = 'array' THEN "
                   "h.keywords -> f.key ELSE '[]'::jsonb END) v "
                   "GROUP BY f.key, v")
        else:
            # Otherwise ``fields``, once per row with one jsonb_each: it is
            # large and usually TOASTed, and every ``fields -> key`` would
            # fetch and decompress it again.
            sql = ("SELECT e.key, v, count(*) AS n FROM (SELECT d.fields "
                   + sql_from + ") h, jsonb_each(h.fields) e, "
                   "jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.value) "
                   "= 'array' THEN e.value ELSE '[]'::jsonb END) v "
                   "WHERE e.key = ANY(CAST(:_facet_fields AS text[])) "
                   "GROUP BY e.key, v")
        rows = model.Session.execute(sa.text(sql), facet_params).fetchall()
        return self._top(rows, fields, limit, mincount)

