"""kpigov's own tables (all prefixed kpigov_); created by alembic migrations."""
from __future__ import annotations

import datetime
import uuid
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from ckan import model
from ckan.model.meta import metadata

__all__ = ["ledger_table", "cadence_history_table", "record_update",
           "exemption_table", "exemption_log_table", "reminder_table",
           "governance_table", "stakeholder_table", "evidence_table",
           "verification_table", "snapshot_table",
           "NATURES", "KINDS", "EXEMPTION_REASONS", "GOVERNANCE_KINDS",
           "USAGE_KINDS", "SHARING_KINDS", "VERIFICATION_DECISIONS"]

NATURES = ("new_data", "correction", "metadata")
KINDS = ("resource_create", "upload", "url_change", "datastore_upsert",
         "backfill", "demo", "resource_delete")


def _uuid() -> str:
    return str(uuid.uuid4())


# One row per data update. `created` is always server time: the ledger never
# takes a date from the client.
ledger_table = sa.Table(
    "kpigov_ledger", metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True, default=_uuid),
    sa.Column("package_id", sa.UnicodeText, nullable=False),
    sa.Column("resource_id", sa.UnicodeText),
    sa.Column("user_id", sa.UnicodeText),
    sa.Column("created", sa.DateTime, nullable=False,
              default=datetime.datetime.utcnow),
    sa.Column("kind", sa.UnicodeText, nullable=False),
    sa.Column("nature", sa.UnicodeText, nullable=False),
    sa.Column("source", sa.UnicodeText, nullable=False, server_default="api"),
    sa.Column("detail", JSONB, nullable=False, server_default="{}"),
    # the content written: sha256 of the uploaded file or of the DataStore
    # records, and its size in bytes (NULL for links and older entries)
    sa.Column("sha256", sa.UnicodeText),
    sa.Column("size", sa.BigInteger),
    # set when the resource was deleted in the period of the entry: the
    # entry stays for audit but no longer counts
    sa.Column("withdrawn", sa.DateTime),
    extend_existing=True,
)

# Every change of a dataset's declared cadence (who, when, from, to).
cadence_history_table = sa.Table(
    "kpigov_cadence_history", metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True, default=_uuid),
    sa.Column("package_id", sa.UnicodeText, nullable=False),
    sa.Column("user_id", sa.UnicodeText),
    sa.Column("changed", sa.DateTime, nullable=False,
              default=datetime.datetime.utcnow),
    sa.Column("unit_from", sa.UnicodeText),
    sa.Column("interval_from", sa.Integer),
    sa.Column("unit_to", sa.UnicodeText),
    sa.Column("interval_to", sa.Integer),
    extend_existing=True,
)

EXEMPTION_REASONS = ("discontinued", "no_new_data", "legal_hold", "embargo",
                     "other")

# A publisher's request to exempt a dataset from one or more periods; an
# evaluator approves or rejects it. Approved periods count as exempt until
# `expires_at`.
exemption_table = sa.Table(
    "kpigov_exemption", metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True, default=_uuid),
    sa.Column("package_id", sa.UnicodeText, nullable=False),
    sa.Column("owner_org", sa.UnicodeText),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("reason", sa.UnicodeText, nullable=False),
    sa.Column("note", sa.UnicodeText),
    sa.Column("status", sa.UnicodeText, nullable=False, server_default="pending"),
    sa.Column("requested_by", sa.UnicodeText),
    sa.Column("requested_at", sa.DateTime, nullable=False),
    sa.Column("decided_by", sa.UnicodeText),
    sa.Column("decided_at", sa.DateTime),
    sa.Column("comment", sa.UnicodeText),
    sa.Column("expires_at", sa.DateTime),
    extend_existing=True,
)

# Every step of an exemption's life (request, approve, reject): who, when.
exemption_log_table = sa.Table(
    "kpigov_exemption_log", metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True, default=_uuid),
    sa.Column("exemption_id", sa.UnicodeText, nullable=False),
    sa.Column("user_id", sa.UnicodeText),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("action", sa.UnicodeText, nullable=False),
    sa.Column("status_before", sa.UnicodeText),
    sa.Column("status_after", sa.UnicodeText),
    sa.Column("comment", sa.UnicodeText),
    extend_existing=True,
)

# Reminders already sent: one per dataset, period and kind, never twice.
reminder_table = sa.Table(
    "kpigov_reminder", metadata,
    sa.Column("package_id", sa.UnicodeText, primary_key=True),
    sa.Column("period_key", sa.UnicodeText, primary_key=True),
    sa.Column("kind", sa.UnicodeText, primary_key=True),
    sa.Column("sent_at", sa.DateTime, nullable=False),
    sa.Column("recipients", sa.UnicodeText),
    extend_existing=True,
)

# --- the agency's governance record (issue: governance metadata) ----------

GOVERNANCE_KINDS = ("team", "plan")
USAGE_KINDS = ("operations", "decision", "planning", "public_service", "report",
               "other")
SHARING_KINDS = ("online_service", "api", "exchange_bma", "exchange_external",
                 "publication")
VERIFICATION_DECISIONS = ("verified", "rejected")

# One row per organization, fiscal year and kind:
#  team: {"members": [{"name", "position", "role"}], "order_number",
#         "order_date"}  + the appointment order document
#  plan: {"summary", "target_datasets": [package ids]} + the plan document
governance_table = sa.Table(
    "kpigov_governance", metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True, default=_uuid),
    sa.Column("owner_org", sa.UnicodeText, nullable=False),
    sa.Column("fiscal_year", sa.Integer, nullable=False),
    sa.Column("kind", sa.UnicodeText, nullable=False),
    sa.Column("data", JSONB, nullable=False, server_default="{}"),
    sa.Column("document_url", sa.UnicodeText),
    sa.Column("document_name", sa.UnicodeText),
    sa.Column("status", sa.UnicodeText, nullable=False, server_default="pending"),
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.UnicodeText),
    sa.Column("modified", sa.DateTime, nullable=False),
    sa.Column("modified_by", sa.UnicodeText),
    sa.UniqueConstraint("owner_org", "fiscal_year", "kind",
                        name="kpigov_governance_org_fy_kind_key"),
    extend_existing=True,
)

# The agency's register of people responsible for its data.
stakeholder_table = sa.Table(
    "kpigov_stakeholder", metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True, default=_uuid),
    sa.Column("owner_org", sa.UnicodeText, nullable=False),
    sa.Column("role", sa.UnicodeText, nullable=False),
    sa.Column("name", sa.UnicodeText, nullable=False),
    sa.Column("position", sa.UnicodeText),
    sa.Column("agency", sa.UnicodeText),
    sa.Column("email", sa.UnicodeText),
    sa.Column("phone", sa.UnicodeText),
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.UnicodeText),
    extend_existing=True,
)

# Usage evidence (KPI step 4) and sharing records (step 5) on a dataset.
evidence_table = sa.Table(
    "kpigov_evidence", metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True, default=_uuid),
    sa.Column("owner_org", sa.UnicodeText, nullable=False),
    sa.Column("package_id", sa.UnicodeText, nullable=False),
    sa.Column("evidence_type", sa.UnicodeText, nullable=False),  # usage | sharing
    sa.Column("kind", sa.UnicodeText, nullable=False),
    sa.Column("description", sa.UnicodeText, nullable=False),
    sa.Column("partner", sa.UnicodeText),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("fiscal_year", sa.Integer, nullable=False),
    sa.Column("url", sa.UnicodeText),
    sa.Column("document_name", sa.UnicodeText),
    sa.Column("status", sa.UnicodeText, nullable=False, server_default="pending"),
    sa.Column("recorded_by", sa.UnicodeText),
    sa.Column("created", sa.DateTime, nullable=False),
    extend_existing=True,
)

# Every evaluator decision, never overwritten: who, when, on what, before
# and after. object_type: governance | evidence | step; for a KPI step the
# object_id is "<org id>:<fiscal year>:<step id>".
verification_table = sa.Table(
    "kpigov_verification", metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True, default=_uuid),
    sa.Column("object_type", sa.UnicodeText, nullable=False),
    sa.Column("object_id", sa.UnicodeText, nullable=False),
    sa.Column("owner_org", sa.UnicodeText, nullable=False),
    sa.Column("fiscal_year", sa.Integer),
    sa.Column("decision", sa.UnicodeText, nullable=False),
    sa.Column("comment", sa.UnicodeText),
    sa.Column("before", JSONB),
    sa.Column("after", JSONB),
    sa.Column("user_id", sa.UnicodeText),
    sa.Column("at", sa.DateTime, nullable=False),
    extend_existing=True,
)

# Frozen quarter scores (KPI), stamped with the rubric and its version.
snapshot_table = sa.Table(
    "kpigov_snapshot", metadata,
    sa.Column("id", sa.UnicodeText, primary_key=True, default=_uuid),
    sa.Column("owner_org", sa.UnicodeText, nullable=False),
    sa.Column("fiscal_year", sa.Integer, nullable=False),
    sa.Column("quarter", sa.Integer, nullable=False),
    sa.Column("rubric_id", sa.UnicodeText, nullable=False),
    sa.Column("rubric_version", sa.UnicodeText, nullable=False),
    sa.Column("computed_at", sa.DateTime, nullable=False),
    sa.Column("result", JSONB, nullable=False),
    sa.UniqueConstraint("owner_org", "fiscal_year", "quarter",
                        name="kpigov_snapshot_org_fy_q_key"),
    extend_existing=True,
)


def record_update(package_id: str, kind: str, nature: str, *,
                  resource_id: Optional[str] = None,
                  user_id: Optional[str] = None, source: str = "api",
                  created: Optional[datetime.datetime] = None,
                  detail: Optional[dict[str, Any]] = None,
                  sha256: Optional[str] = None, size: Optional[int] = None,
                  connection: Any = None) -> str:
    """Add a ledger entry in the current transaction and return its id.

    ``created`` may only be given by trusted server-side code (backfill from
    the activity stream, demo data); actions never pass a client value.
    """
    if nature not in NATURES:
        raise ValueError("unknown nature %r" % nature)
    if kind not in KINDS:
        raise ValueError("unknown kind %r" % kind)
    entry_id = _uuid()
    target = connection if connection is not None else model.Session
    target.execute(ledger_table.insert().values(
        id=entry_id, package_id=package_id, resource_id=resource_id,
        user_id=user_id, kind=kind, nature=nature, source=source,
        created=created or datetime.datetime.utcnow(), detail=detail or {},
        sha256=sha256, size=size))
    return entry_id
