"""Honest writes: a request whose transaction failed never reports success.

PostgreSQL answers ``COMMIT`` in an aborted transaction with a silent
rollback, and CKAN's domain-object notifier logs and swallows every error
of a plugin's observer except ``SearchIndexError``. Together they turned a
failed write inside a commit (a search document, a trigger, a revoked
privilege) into an API answer of 200 with nothing saved. Two guards:

- before every commit of CKAN's session, the transaction is checked to be
  alive; an aborted one raises :class:`WriteFailed` from ``commit()``, so
  the action fails and nothing (activity included, which is only written
  after a successful action) is recorded;
- after every request that failed with an exception, the session is
  removed, so one failed request never leaves the next one a broken
  session (CKAN removes it only once a response was made).
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

import ckan.model as model

log = logging.getLogger(__name__)

__all__ = ["WriteFailed", "install", "teardown"]


class WriteFailed(Exception):
    """The request's database transaction failed; nothing was saved."""


_ALIVE = sa.text("SELECT 1")
_INSTALLED: list[bool] = []


def _before_commit(session: Any) -> None:
    if session.get_transaction() is None:
        return
    try:
        session.execute(_ALIVE)
    except sa.exc.DBAPIError as err:
        log.error("commit refused: the transaction had already failed (%s)",
                  getattr(err, "orig", err))
        raise WriteFailed("The change could not be saved: a database error "
                          "occurred during the request. Nothing was stored.") from err


def install() -> None:
    if _INSTALLED:
        return
    # after CKAN's own before_commit listener (search indexing), which is
    # registered when ckan.model is imported
    sa.event.listen(model.Session, "before_commit", _before_commit)
    _INSTALLED.append(True)


def teardown(exc: Any = None) -> None:
    """After a request that ended in an exception (CKAN's own after_request
    removes the session only after a response was made). Request contexts
    that end normally are left alone: CKAN pushes short-lived ones inside
    an action (``url_for`` outside a request), and removing the session
    there would drop the action's uncommitted work."""
    if exc is None:
        return
    try:
        model.Session.remove()
    except Exception:  # pragma: no cover - a dead connection: dropped anyway
        log.warning("could not remove the session after a request", exc_info=True)


def _chained_activity_create(up: Any, context: Any, data_dict: Any) -> Any:
    """CKAN's activity plugin writes a dataset's activity after the change
    itself was committed (a signal once the action succeeded), in a
    transaction of its own. If that write fails, the change stays saved and
    is reported as saved (no 500 after a commit); the missing activity is
    logged for the operator."""
    try:
        return up(context, data_dict)
    except (sa.exc.SQLAlchemyError, WriteFailed) as err:
        model.Session.rollback()
        log.error("activity for %s not recorded: %s", (data_dict or {}).get("object_id"),
                  getattr(err, "orig", err))
        return None


def chained_actions() -> dict[str, Any]:
    import ckan.plugins as p
    import ckan.plugins.toolkit as tk
    if not p.plugin_loaded("activity"):
        return {}
    return {"activity_create": tk.chained_action(_chained_activity_create)}
