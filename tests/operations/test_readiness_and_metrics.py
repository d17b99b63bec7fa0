"""`/readyz`, `/metrics` and the request id (docs/deploy.md)."""

import json
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.core.db import utcnow
from crm.core.logs import JsonFormatter
from crm.extensions import db
from crm.notifications import heartbeats
from crm.operations.views import migration_heads
from tests.helpers import valid_payload
from tests.notifications.helpers import add_messages

TOKEN = "metrics-test-token-" + "x" * 20


def test_readyz_is_ok_when_the_database_is_at_the_migrations_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "migrations": "ok"}


def readyz_at_version(app, version):
    with app.app_context():
        (head,) = migration_heads()
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": version})
        db.session.commit()
    try:
        return app.test_client().get("/readyz")
    finally:
        with app.app_context():
            db.session.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": head})
            db.session.commit()


def test_readyz_is_503_while_a_migration_is_pending(app):
    response = readyz_at_version(app, "5b1c2e7d9a01")  # an older revision this code knows
    assert response.status_code == 503
    assert response.json["migrations"] == "pending"


def test_readyz_stays_ready_when_a_rolling_upgrade_migrated_the_database_first(app):
    # A revision this code does not know was written by newer code: the old hosts keep
    # serving until their turn comes (migrations only add what the old code can ignore).
    response = readyz_at_version(app, "0123456789ab")
    assert response.status_code == 200
    assert response.json["migrations"] == "newer"


def test_readyz_is_503_when_the_database_does_not_answer(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/nothing.sqlite3")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unavailable"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": TOKEN}])
def test_metrics_are_hidden_from_the_public(make_app, headers):
    app = make_app(CRM_METRICS_TOKEN=TOKEN)
    response = app.test_client().get("/metrics", headers=headers)
    assert response.status_code == 404
    assert b"crm_" not in response.data


def test_metrics_are_off_without_a_token_or_allowed_addresses(client):
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_from_an_allowed_network_need_no_token(make_app):
    import ipaddress

    app = make_app(CRM_METRICS_ALLOW=[ipaddress.ip_network("10.0.0.0/8")])
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 404


def metric(text, name, labels=""):
    match = re.search(rf"^{name}{re.escape(labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} missing from:\n{text}"
    return float(match.group(1))


def test_metrics_report_submissions_outbox_and_worker_heartbeats(make_app):
    app = make_app(CRM_METRICS_TOKEN=TOKEN)
    client = app.test_client()
    for i in range(2):
        assert client.post("/api/v1/enquiries", json=valid_payload(email=f"p{i}@example.com")).status_code == 201
    add_messages(app, 1, status="dead")
    with app.app_context():
        db.session.execute(sa.text("UPDATE outbox_messages SET created_at = :t WHERE status = 'pending'"),
                           {"t": (utcnow() - timedelta(minutes=10)).replace(tzinfo=None)
                            if db.engine.dialect.name == "sqlite" else utcnow() - timedelta(minutes=10)})
        db.session.commit()
        heartbeats.beat("host-a:1", 7)
        heartbeats.beat("host-b:2", 0, clock=lambda: utcnow() - timedelta(minutes=5))

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert metric(text, "crm_enquiries") == 2
    assert metric(text, "crm_enquiries_received_last_hour", '{source="api"}') == 2
    assert metric(text, "crm_outbox_messages", '{status="pending"}') == 2  # the acknowledgements
    assert metric(text, "crm_outbox_messages", '{status="dead"}') == 1
    assert metric(text, "crm_outbox_messages", '{status="sent"}') == 0
    assert 590 <= metric(text, "crm_outbox_oldest_pending_age_seconds") <= 700
    assert metric(text, "crm_outbox_workers_alive") == 1  # host-b is five minutes silent
    assert abs(metric(text, "crm_outbox_worker_last_seen_timestamp_seconds", '{worker="host-a:1"}')
               - utcnow().timestamp()) < 60
    assert "@example.com" not in text  # figures only, never personal data


def test_the_request_id_is_echoed_or_made(client):
    given = client.get("/healthz", headers={"X-Request-ID": "proxy-abc.123"})
    assert given.headers["X-Request-ID"] == "proxy-abc.123"
    made = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    # A header that could forge log lines is not taken.
    forged = client.get("/healthz", headers={"X-Request-ID": "x\u2028level=error" + "y" * 70})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])
    error = client.get("/no-such-page", headers={"X-Request-ID": "req-404"})
    assert error.status_code == 404 and error.headers["X-Request-ID"] == "req-404"


def test_json_log_lines_carry_the_request_id_and_no_personal_data(app, client):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger().addHandler(handler)
    try:
        @app.get("/test-log")
        def test_log():
            app.logger.warning("something happened to enquiry %s", "AAL-0000-0000")
            return "ok"

        client.get("/test-log", headers={"X-Request-ID": "req-42"})
        client.post("/api/v1/enquiries", json=valid_payload(email="secret.person@example.com"),
                    headers={"X-Request-ID": "req-43"})
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [JsonFormatter().format(record) for record in records]
    first = json.loads(lines[0])
    assert first["message"] == "something happened to enquiry AAL-0000-0000"
    assert first["request_id"] == "req-42" and first["level"] == "WARNING" and "time" in first
    assert not any("secret.person" in line for line in lines)


def test_production_logs_in_json(make_app):
    app = make_app(CRM_LOG_FORMAT="json")
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "crm_handler", False)]
    assert isinstance(handler.formatter, JsonFormatter)
    assert app.config["CRM_LOG_FORMAT"] == "json"
