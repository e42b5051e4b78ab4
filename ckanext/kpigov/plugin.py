"""ckanext-kpigov: wiring only (interfaces and blanket decorators)."""
from __future__ import annotations

from typing import Any

import ckan.model as model
import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.lib.plugins import DefaultTranslation

from . import dictionary, ledger, life, privacy, transactions
from . import model as _model  # noqa: F401  (tables defined at import)


@tk.blanket.blueprints
@tk.blanket.auth_functions
@tk.blanket.config_declarations
@tk.blanket.cli
@tk.blanket.helpers
@tk.blanket.validators
class KpigovPlugin(p.SingletonPlugin, DefaultTranslation):
    p.implements(p.IConfigurer)
    p.implements(p.IActions)
    p.implements(p.IConfigurable)
    p.implements(p.ITranslation)
    p.implements(p.IPackageController, inherit=True)
    p.implements(p.IFacets, inherit=True)
    p.implements(p.IResourceController, inherit=True)
    p.implements(p.IMiddleware, inherit=True)
    p.implements(p.IUploader, inherit=True)

    # IConfigurer
    def update_config(self, config: Any) -> None:
        tk.add_template_directory(config, "templates")
        tk.add_resource("assets", "kpigov")  # assets/webassets.yml

    # IMiddleware: a failed request never leaves the next one a broken session
    def make_middleware(self, app: Any, config: Any) -> Any:
        if hasattr(app, "teardown_request"):
            app.teardown_request(transactions.teardown)
        # no control character (NUL ...) in any request reaches a view
        if hasattr(app, "before_request"):
            from .logic.guard import before_request
            app.before_request(before_request)
        return app

    # IActions: every action of logic/action.py, plus the DataStore hooks
    # when the datastore plugin is on (chaining needs the base action).
    def get_actions(self) -> dict[str, Any]:
        from .logic import action, datastore_hooks
        from .logic.guard import chained_guards, guarded
        actions = {name: guarded(getattr(action, name)) for name in action.__all__}
        actions.update(chained_guards())
        from . import keep_fields
        actions.update(keep_fields.chained_actions(actions))
        actions.update(transactions.chained_actions())
        actions.update(privacy.chained_actions())
        from .logic.purge import dataset_purge
        actions["dataset_purge"] = guarded(dataset_purge)
        if p.plugin_loaded("datastore"):
            actions.update(datastore_hooks.chained_actions())
        # every other action of the registry: no NUL, no non-string id
        from .logic.guard import guard_registry
        return guard_registry(actions, self.name)

    # IConfigurable
    def configure(self, config: Any) -> None:
        ledger.install()
        privacy.install_activity_scrub()
        transactions.install()
        # a malformed rubric stops start-up with its path, key and problem
        from . import scoring
        scoring.startup_check()

    # IPackageController
    def after_dataset_create(self, context: Any, pkg_dict: dict[str, Any]) -> None:
        ledger.record_cadence(pkg_dict)
        life.record(pkg_dict["id"])

    def after_dataset_update(self, context: Any, pkg_dict: dict[str, Any]) -> None:
        ledger.record_cadence(pkg_dict)
        life.record(pkg_dict["id"])
        privacy.sync_visibility([pkg_dict.get("id")])

    def after_dataset_delete(self, context: Any, pkg_dict: dict[str, Any]) -> None:
        if pkg_dict.get("id"):
            pkg = model.Package.get(pkg_dict["id"])
            if pkg is not None:
                life.record(pkg.id, deleting=True)

    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        # personal data never reaches the index (fields, stored dicts, text)
        return privacy.scrub_index_document(ledger.index_fields(pkg_dict))

    def after_dataset_show(self, context: Any, pkg_dict: dict[str, Any]) -> None:
        privacy.strip_contacts(pkg_dict, context)

    def after_dataset_search(self, search_results: dict[str, Any],
                             search_params: dict[str, Any]) -> dict[str, Any]:
        for result in search_results.get("results") or []:
            if isinstance(result, dict):
                privacy.strip_contacts(result, None)
        return ledger.label_facets(search_results)

    # IFacets
    def dataset_facets(self, facets_dict: Any, package_type: str) -> Any:
        facets_dict["kpigov_freshness"] = tk._("Freshness")
        return facets_dict

    def organization_facets(self, facets_dict: Any, organization_type: str,
                            package_type: Any) -> Any:
        facets_dict["kpigov_freshness"] = tk._("Freshness")
        return facets_dict

    # IResourceController: record the file's columns, prefill an empty
    # data dictionary from the header (and the DataStore's own dictionary)
    # and hash the file for the ledger (stream rewound for CKAN)
    def before_resource_create(self, context: Any, resource: dict[str, Any]) -> None:
        ledger.note_upload(resource)
        dictionary.prefill(resource, resource.get("upload"))

    def before_resource_update(self, context: Any, current: dict[str, Any],
                               resource: dict[str, Any]) -> None:
        ledger.note_upload(resource)
        dictionary.prefill(resource, resource.get("upload"))

    # IUploader: never an uploader itself (returns None, so CKAN's or another
    # plugin's uploader stores the file); it only hashes the file first, on
    # every path that uploads (package_update with files included)
    def get_resource_uploader(self, data_dict: dict[str, Any]) -> Any:
        ledger.note_upload(data_dict)
        return None

    def get_uploader(self, upload_to: str, old_filename: Any = None) -> Any:
        return None
