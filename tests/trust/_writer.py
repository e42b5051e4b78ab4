"""A separate process that updates resources through CKAN's actions.

Started with the 'spawn' method by test_concurrency.py: it loads the same
test configuration (and database) as the test session, then changes each
resource's URL ``rounds`` times, every change in its own transaction.
"""
from __future__ import annotations

import os
import sys


def run(ini: str, resource_ids: list[str], rounds: int, tag: str) -> int:
    os.environ.setdefault("CKAN_INI", ini)
    from ckan.cli import load_config
    from ckan.config.middleware import make_app
    conf = load_config(ini)
    app = make_app(conf)
    flask_app = app._wsgi_app if hasattr(app, "_wsgi_app") else app
    import ckan.plugins.toolkit as tk
    import ckan.model as model
    done = 0
    with flask_app.test_request_context():
        site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})["name"]
        for i in range(rounds):
            for rid in resource_ids:
                for attempt in range(5):
                    try:
                        tk.get_action("resource_patch")(
                            {"user": site_user, "ignore_auth": True},
                            # a URL never used before in the dataset: new data
                            {"id": rid, "url": "http://example.com/%s/%s/%d.csv" % (
                                tag, rid, i)})
                        done += 1
                        break
                    except Exception as e:  # deadlock/serialisation: retry
                        model.Session.rollback()
                        if attempt == 4:
                            print("writer %s failed: %r" % (tag, e), file=sys.stderr)
                            raise
    return done
