"""ckanext-kpigov: wiring only (interfaces and blanket decorators)."""
from __future__ import annotations

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.lib.plugins import DefaultTranslation

from . import model as _model  # noqa: F401  (tables defined at import)


@tk.blanket.config_declarations
@tk.blanket.cli
@tk.blanket.helpers
@tk.blanket.validators
class KpigovPlugin(p.SingletonPlugin, DefaultTranslation):
    p.implements(p.IConfigurer)
    p.implements(p.ITranslation)

    # IConfigurer
    def update_config(self, config):  # type: ignore[no-untyped-def]
        tk.add_template_directory(config, "templates")
        tk.add_public_directory(config, "assets")
        tk.add_resource("assets", "kpigov")
