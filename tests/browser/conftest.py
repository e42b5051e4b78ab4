"""Browser tests: a live CKAN on a free localhost port and headless Chromium.

The server is the test app (same config, same test database) served by
werkzeug in a thread; Chromium is the Debian package (/usr/bin/chromium),
driven by the python ``playwright`` package — no browser is ever downloaded.
Without either, the browser tests are skipped with the reason.
"""
from __future__ import annotations

import os
import shutil
import threading

import pytest

CHROMIUM = os.environ.get("KPIGOV_CHROMIUM") or shutil.which("chromium") or \
    "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def live_server(app, ckan_config, monkeypatch):
    """Serve the test app on 127.0.0.1:<free port>; yields the base URL.

    ``ckan.site_url`` follows the port: CKAN's redirects are absolute."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app.app, threaded=True)
    monkeypatch.setitem(ckan_config, "ckan.site_url",
                        "http://127.0.0.1:%d" % server.server_port)
    thread = threading.Thread(target=server.serve_forever, name="kpigov-live-server",
                              daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="python playwright is not installed")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium not found at %s (apt-get install chromium)" % CHROMIUM)
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def screenshot_dir():
    """Where to save screenshots for the README: set KPIGOV_SCREENSHOTS to a
    folder (e.g. docs/screenshots); unset, none are written."""
    return os.environ.get("KPIGOV_SCREENSHOTS") or None
