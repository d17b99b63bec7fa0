"""`/readyz` for load balancers and deploys, `/metrics` for Prometheus (docs/deploy.md)."""

import hmac
import ipaddress
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, abort, current_app, jsonify, request

from crm.core.security import client_address
from crm.extensions import db, limiter
from crm.operations.metrics import render_metrics

bp = Blueprint("operations", __name__)
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@cache
def migration_revisions():
    """(every revision this code knows, the heads it expects the database to be at)."""
    script = ScriptDirectory(str(MIGRATIONS))
    return frozenset(r.revision for r in script.walk_revisions()), frozenset(script.get_heads())


def migration_heads():
    return migration_revisions()[1]


def migrations_state(applied):
    """"ok" at this code's head; "newer" past it (a rolling upgrade migrated the database
    before this host got the new code: expand-only migrations keep the old code working);
    "pending" when the database is behind this code."""
    known, heads = migration_revisions()
    if applied == heads:
        return "ok"
    if applied and not applied & known:
        return "newer"
    return "pending"


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """200 when the database answers and carries every migration of this code; else 503."""
    try:
        applied = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": "unavailable"}), 503
    db.session.rollback()
    state = migrations_state(applied)
    if state == "pending":
        return jsonify({"status": "unavailable", "database": "ok", "migrations": "pending"}), 503
    return jsonify({"status": "ok", "database": "ok", "migrations": state})


def metrics_allowed():
    """A bearer token equal to CRM_METRICS_TOKEN, or a client in CRM_METRICS_ALLOW."""
    config = current_app.config
    token = config["CRM_METRICS_TOKEN"]
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(client_address() or "")
    except ValueError:
        return False
    return any(address in network for network in config["CRM_METRICS_ALLOW"])


@bp.get("/metrics")
@limiter.exempt
def metrics():
    if not metrics_allowed():
        abort(404)  # the public never learns that there is anything here
    return Response(render_metrics(), content_type="text/plain; version=0.0.4; charset=utf-8")
