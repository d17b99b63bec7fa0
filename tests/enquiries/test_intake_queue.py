"""The intake queue (CRM_INTAKE_QUEUE): the fast path's 201, the worker's store, and every other
answer exactly as with the queue off, nothing stored."""

import json
import pathlib
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from crm.core.db import utcnow
from crm.core.models import Consent, Contact, Enquiry, OutboxMessage, PrivacyPolicy
from crm.enquiries.intake import store_pending
from crm.enquiries.intake_fast_path import IntakeFastPath
from crm.enquiries.models import PendingIntake
from crm.extensions import db
from tests.helpers import count, stored_counts, valid_payload

URL = "/api/v1/enquiries"
ORIGIN = "https://www.partner.example"
# Values that differ per request by design; every other header must be equal.
PER_REQUEST = {"X-Request-ID", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}


@pytest.fixture
def queue_app(make_app):
    return make_app(CRM_INTAKE_QUEUE=True, CRM_CORS_ORIGINS=[ORIGIN])


@pytest.fixture
def plain_app(make_app):
    return make_app(CRM_CORS_ORIGINS=[ORIGIN])


def pending(app):
    return count(app, PendingIntake)


def nothing_anywhere(app):
    return pending(app) == 0 and set(stored_counts(app).values()) == {0}


def test_the_queue_is_off_by_default(app, plain_app):
    assert not isinstance(app.wsgi_app, IntakeFastPath)
    assert not isinstance(plain_app.wsgi_app, IntakeFastPath)


def test_a_submission_is_accepted_at_once_and_stored_by_the_worker(queue_app, make_user):
    manager = make_user(role="manager")
    make_user(role="admin")
    client = queue_app.test_client()
    response = client.post(URL, json=valid_payload(), headers={"User-Agent": "PartnerSite/1.0"})

    assert response.status_code == 201
    assert response.json == {"reference": response.json["reference"], "status": "received"}
    reference = response.json["reference"]
    assert pending(queue_app) == 1 and count(queue_app, Enquiry) == 0 and count(queue_app, OutboxMessage) == 0
    with queue_app.app_context():
        received_at = db.session.scalar(sa.select(PendingIntake.received_at))

    result = queue_app.test_cli_runner().invoke(args=["crm", "worker", "--once"])
    assert result.exit_code == 0, result.output

    assert pending(queue_app) == 0
    with queue_app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == reference))
        assert (enquiry.source, enquiry.status, enquiry.sector, enquiry.assignee_id) == (
            "api", "new", "medtech", manager)
        assert enquiry.created_at == received_at
        assert enquiry.contact.email == "ada@example.com" and enquiry.contact.phone == "+45 20 12 34 56"
        (consent,) = enquiry.consents
        policy = db.session.scalar(sa.select(PrivacyPolicy).where(PrivacyPolicy.language == "en"))
        assert (consent.method, consent.policy_version, consent.policy_sha256, consent.given_at) == (
            "api", "2026-01", policy.sha256, received_at)
        assert (consent.ip_address, consent.user_agent) == ("127.0.0.1", "PartnerSite/1.0")
        kinds = [a.kind for a in enquiry.activities]
        assert kinds[0] == "created" and "assigned" in kinds
        outbox = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        # The acknowledgement (delivered by the same worker run) and the assignee's email.
        assert [m.kind for m in outbox] == ["enquiry_received", "enquiry_assigned"]
        assert all(reference in m.subject for m in outbox)
        assert outbox[0].recipient == "ada@example.com"


def test_a_danish_submission_consents_to_the_danish_text(queue_app):
    client = queue_app.test_client()
    assert client.post(URL, json=valid_payload(language="da")).status_code == 201
    with queue_app.app_context():
        assert store_pending() == 1
        consent = db.session.scalar(sa.select(Consent))
        danish = db.session.scalar(sa.select(PrivacyPolicy).where(PrivacyPolicy.language == "da"))
        assert (consent.policy_language, consent.policy_sha256) == ("da", danish.sha256)


BIG = "x" * (64 * 1024)
FORWARDED = [
    ("not JSON", b"{", "application/json"),
    ("not an object", b"[1, 2]", "application/json"),
    ("not JSON content", json.dumps(valid_payload()).encode(), "text/plain"),
    ("too large", json.dumps(valid_payload(message=BIG)).encode(), "application/json"),
    ("invalid email", json.dumps(valid_payload(email="not-an-address")).encode(), "application/json"),
    ("no consent", json.dumps(valid_payload(consent=False)).encode(), "application/json"),
    ("old policy", json.dumps(valid_payload(policy_version="2025-01")).encode(), "application/json"),
    ("every field bad", json.dumps({"name": 3, "country": "XX"}).encode(), "application/json"),
    ("lone surrogate", b'{"name": "\\ud800", "email": "a@example.com"}', "application/json"),
    ("danish errors", json.dumps(valid_payload(language="da", sector="mining")).encode(), "application/json"),
]


@pytest.mark.parametrize("case,data,content_type", FORWARDED, ids=[c[0] for c in FORWARDED])
def test_every_refusal_answers_as_with_the_queue_off_and_stores_nothing(
        plain_app, queue_app, case, data, content_type):
    headers = {"Origin": ORIGIN, "Accept-Language": "da"}
    off = plain_app.test_client().post(URL, data=data, content_type=content_type, headers=headers)
    on = queue_app.test_client().post(URL, data=data, content_type=content_type, headers=headers)

    assert 400 <= off.status_code < 500
    assert (on.status_code, on.get_json()) == (off.status_code, off.get_json())
    assert sorted(on.headers.keys()) == sorted(off.headers.keys())
    assert nothing_anywhere(queue_app)


def test_an_idempotency_key_goes_through_the_synchronous_path(queue_app):
    client = queue_app.test_client()
    headers = {"Idempotency-Key": "order-42"}
    first = client.post(URL, json=valid_payload(), headers=headers)
    again = client.post(URL, json=valid_payload(), headers=headers)
    other = client.post(URL, json=valid_payload(name="Someone Else"), headers=headers)

    assert first.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert pending(queue_app) == 0 and count(queue_app, Enquiry) == 1


def test_a_201_carries_the_same_headers_on_both_paths(plain_app, queue_app):
    headers = {"Origin": ORIGIN, "User-Agent": "PartnerSite/1.0"}
    off = plain_app.test_client().post(URL, json=valid_payload(), headers=headers)
    on = queue_app.test_client().post(URL, json=valid_payload(email="bo@example.com"), headers=headers)

    assert (off.status_code, on.status_code) == (201, 201)
    assert pending(queue_app) == 1  # the fast path answered this one
    assert sorted(on.headers.keys()) == sorted(off.headers.keys())
    for name, value in off.headers.items():
        if name not in PER_REQUEST | {"Content-Length"}:
            assert on.headers.get_all(name) == [value], name
    assert on.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert len(on.data) == int(on.headers["Content-Length"])
    assert on.data == json.dumps(on.json, separators=(",", ":")).encode() + b"\n"


def test_headers_match_without_an_origin_and_in_production(make_app):
    off = make_app(HSTS=True).test_client().post(URL, json=valid_payload())
    on_app = make_app(HSTS=True, CRM_INTAKE_QUEUE=True)
    on = on_app.test_client().post(URL, json=valid_payload(email="bo@example.com"))
    assert (off.status_code, on.status_code) == (201, 201) and pending(on_app) == 1
    assert "Strict-Transport-Security" in on.headers
    assert sorted(on.headers.keys()) == sorted(off.headers.keys())


def test_a_sane_request_id_is_echoed_and_a_forged_one_replaced(queue_app):
    client = queue_app.test_client()
    given = client.post(URL, json=valid_payload(), headers={"X-Request-ID": "proxy-123"})
    forged = client.post(URL, json=valid_payload(email="bo@example.com"),
                         headers={"X-Request-ID": "bad id INFO forged"})
    assert given.headers["X-Request-ID"] == "proxy-123"
    assert forged.status_code == 201 and forged.headers["X-Request-ID"] != "bad id INFO forged"
    assert len(forged.headers["X-Request-ID"]) == 32


def test_the_limit_counts_each_request_once_on_either_path(make_app):
    app = make_app(CRM_INTAKE_QUEUE=True, CRM_PUBLIC_RATE_LIMIT="4 per minute")
    client = app.test_client()
    answers = [
        client.post(URL, json=valid_payload(email="a1@example.com")),  # fast path
        client.post(URL, json=valid_payload(email="bad")),  # forwarded after counting
        client.post(URL, data=b"{", content_type="application/json"),  # forwarded after counting
        client.post(URL, json=valid_payload(), headers={"Idempotency-Key": "k1"}),  # Flask counts
        client.post(URL, json=valid_payload(email="a5@example.com")),  # over: Flask's 429
    ]
    assert [a.status_code for a in answers] == [201, 422, 400, 201, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["3", "2", "1", "0", "0"]
    assert "Retry-After" in answers[-1].headers and answers[-1].json["error"] == "too_many_requests"
    assert pending(app) == 1 and count(app, Enquiry) == 1


def test_a_policy_published_after_validation_refuses_the_insert(queue_app):
    client = queue_app.test_client()
    assert client.post(URL, json=valid_payload()).status_code == 201  # the process now knows 2026-01
    with queue_app.app_context():
        db.session.add(PrivacyPolicy(version="2027-01", language="en", text="New.", sha256="0" * 64,
                                     published_at=utcnow() + timedelta(seconds=1)))
        db.session.commit()

    response = client.post(URL, json=valid_payload(email="bo@example.com"))

    assert response.status_code == 422
    assert list(response.json["fields"]) == ["policy_version"]
    assert pending(queue_app) == 1 and count(queue_app, Enquiry) == 0
    # Sent with the new version, it is accepted by the fast path again.
    assert client.post(URL, json=valid_payload(email="bo@example.com", policy_version="2027-01")).status_code == 201
    assert pending(queue_app) == 2


def submit_many(app, n):
    client = app.test_client()
    references = [client.post(URL, json=valid_payload(email=f"p{i}@example.com")).json["reference"]
                  for i in range(n)]
    assert pending(app) == n
    return references


@pytest.mark.parametrize("per_transaction", [1, 5])
def test_two_workers_never_store_a_row_twice(queue_app, make_user, per_transaction):
    make_user(role="manager")
    make_user(role="manager")
    references = submit_many(queue_app, 24)
    stored, errors = [], []
    start = threading.Barrier(3)

    def work():
        with queue_app.app_context():
            try:
                start.wait()
                total = 0
                while batch := store_pending(limit=5, per_transaction=per_transaction):
                    total += batch
                stored.append(total)
            except Exception as error:  # pragma: no cover  (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=work) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not errors and sum(stored) == 24
    assert pending(queue_app) == 0
    with queue_app.app_context():
        got = db.session.scalars(sa.select(Enquiry.reference)).all()
        assert sorted(got) == sorted(references)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 24
        assert db.session.scalar(sa.select(sa.func.count()).where(Enquiry.assignee_id.is_(None))) == 0
        acks = db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.kind == "enquiry_received"))
        assert acks == 24


@pytest.mark.expect_traceback  # the failure is logged with its traceback (reference only)
def test_a_row_that_fails_is_kept_retried_later_and_shown(queue_app, make_user, login):
    client = queue_app.test_client()
    assert client.post(URL, json=valid_payload()).status_code == 201
    with queue_app.app_context():
        # A policy version that no longer exists: storing it fails (the consent needs its text).
        db.session.execute(sa.update(PendingIntake).values(policy_version="1999-01"))
        db.session.commit()
        assert store_pending() == 0
        row = db.session.scalar(sa.select(PendingIntake))
        reference = row.reference
        assert row.attempts == 1 and "NoResultFound" in row.last_error
        assert row.next_attempt_at > utcnow() + timedelta(seconds=20)
        assert store_pending() == 0  # not due yet: not tried again
        assert db.session.scalar(sa.select(PendingIntake.attempts)) == 1
    assert count(queue_app, Enquiry) == 0

    admin = queue_app.test_client()
    login(admin, make_user(role="admin"))
    page = admin.get("/admin/outbox").text
    assert "Intake queue" in page and reference in page and "NoResultFound" in page

    with queue_app.app_context():
        db.session.execute(sa.update(PendingIntake).values(policy_version="2026-01"))
        db.session.commit()
        later = utcnow() + timedelta(minutes=2)
        assert store_pending(clock=lambda: later) == 1
        assert db.session.scalar(sa.select(Enquiry.reference)) == reference
    assert pending(queue_app) == 0


@pytest.mark.expect_traceback  # the failing row is logged with its traceback (reference only)
def test_a_failing_row_in_a_batch_is_kept_and_the_others_stored(queue_app, make_user):
    make_user(role="manager")
    references = submit_many(queue_app, 5)
    with queue_app.app_context():
        # The third row names a policy version that does not exist: storing it fails.
        failing = db.session.scalars(sa.select(PendingIntake.id).order_by(PendingIntake.id)).all()[2]
        db.session.execute(sa.update(PendingIntake).where(PendingIntake.id == failing)
                           .values(policy_version="1999-01"))
        db.session.commit()
        assert store_pending(per_transaction=5) == 4
        row = db.session.scalar(sa.select(PendingIntake))
        assert row.id == failing and row.attempts == 1 and "NoResultFound" in row.last_error
        assert row.next_attempt_at > utcnow() + timedelta(seconds=20)
        got = db.session.scalars(sa.select(Enquiry.reference)).all()
        assert sorted(got) == sorted(r for r in references if r != row.reference)
        # Nothing of the failing row was stored: one consent and one acknowledgement per enquiry.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 4
        assert db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.kind == "enquiry_received")) == 4
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 4
        assert store_pending(per_transaction=5) == 0  # not due yet


def test_a_batch_stores_every_row_in_one_transaction(queue_app, make_user):
    make_user(role="manager")
    submit_many(queue_app, 7)
    commits = []

    def commit(connection):
        commits.append(connection)

    with queue_app.app_context():
        engine = db.engine
        sa.event.listen(engine, "commit", commit)
        try:
            assert store_pending(limit=7, per_transaction=5) == 7
        finally:
            sa.event.remove(engine, "commit", commit)
    assert len(commits) == 2 and pending(queue_app) == 0 and count(queue_app, Enquiry) == 7


def test_metrics_show_the_queue(make_app):
    token = "metrics-test-token-" + "x" * 20
    app = make_app(CRM_INTAKE_QUEUE=True, CRM_METRICS_TOKEN=token)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert "crm_intake_pending 0.0" in client.get("/metrics", headers=auth).text
    client.post(URL, json=valid_payload())
    client.post(URL, json=valid_payload(email="bo@example.com"))
    text = client.get("/metrics", headers=auth).text
    assert "crm_intake_pending 2.0" in text
    assert "crm_intake_oldest_pending_age_seconds" in text and "crm_intake_failing 0.0" in text


def test_a_pending_submission_is_exported_and_erased(queue_app):
    from crm.gdpr.erasure import erase_subject
    from crm.gdpr.services import export_subject

    client = queue_app.test_client()
    reference = client.post(URL, json=valid_payload()).json["reference"]
    client.post(URL, json=valid_payload(email="other@example.com"))
    with queue_app.app_context():
        data = export_subject("Ada@Example.com")
        (row,) = data["pending_submissions"]
        assert (row["reference"], row["name"], row["message"], row["ip_address"]) == (
            reference, "Ada Jensen", valid_payload()["message"], "127.0.0.1")
        erase_subject("ada@example.com")
        assert export_subject("ada@example.com")["pending_submissions"] == []
        assert store_pending() == 1  # only the other person's
        assert db.session.scalar(sa.select(Contact.email)) == "other@example.com"


def test_withdrawing_consent_drops_a_pending_submission(queue_app):
    from crm.gdpr.withdrawal import withdraw_consent

    client = queue_app.test_client()
    client.post(URL, json=valid_payload())
    with queue_app.app_context():
        assert store_pending() == 1
    client.post(URL, json=valid_payload(message="A second enquiry, still in the queue."))
    assert pending(queue_app) == 1
    with queue_app.app_context():
        contact = db.session.scalar(sa.select(Contact))
        withdraw_consent(contact)
        assert store_pending() == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enquiry)) == 1
    assert pending(queue_app) == 0


def test_the_client_address_is_the_one_trusted_proxies_give(make_app):
    app = make_app(CRM_INTAKE_QUEUE=True, CRM_TRUSTED_PROXIES=1, CRM_PUBLIC_RATE_LIMIT="1 per minute")
    client = app.test_client()
    first = client.post(URL, json=valid_payload(), headers={"X-Forwarded-For": "203.0.113.7"})
    other = client.post(URL, json=valid_payload(email="bo@example.com"),
                        headers={"X-Forwarded-For": "198.51.100.9"})
    again = client.post(URL, json=valid_payload(email="cy@example.com"),
                        headers={"X-Forwarded-For": "203.0.113.7"})
    assert [r.status_code for r in (first, other, again)] == [201, 201, 429]  # one budget per address
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(PendingIntake.ip_address))) == ["198.51.100.9", "203.0.113.7"]


def _sqlite_holder(app):
    """A connection of the app's engine (the intake file attached), to hold write locks with."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write locks; PostgreSQL locks rows")
        return db.engine.raw_connection()


def test_the_fast_path_does_not_wait_for_the_main_files_write_lock(queue_app):
    client = queue_app.test_client()
    assert client.post(URL, json=valid_payload()).status_code == 201  # connected, version read
    holder = _sqlite_holder(queue_app)
    holder.execute("BEGIN")
    holder.execute("UPDATE main.privacy_policies SET version = version")  # as a worker storing
    try:
        with queue_app.app_context():  # the main file's lock is taken: another writer waits
            other = db.engine.raw_connection()
            other.execute("PRAGMA busy_timeout=0")
            with pytest.raises(Exception, match="locked"):
                other.execute("UPDATE main.privacy_policies SET version = version")
            other.invalidate()  # not back into the pool without its busy timeout
        started = time.monotonic()
        response = client.post(URL, json=valid_payload(email="bo@example.com"))
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 201 and pending(queue_app) == 2  # queued, not forwarded
    assert waited < 0.2


def test_the_fast_path_waits_for_the_intake_files_write_lock(queue_app):
    client = queue_app.test_client()
    assert client.post(URL, json=valid_payload()).status_code == 201  # connected, version read
    holder = _sqlite_holder(queue_app)
    holder.execute("BEGIN")
    holder.execute("DELETE FROM intake_queue.intake WHERE id < 0")  # as a worker's delete
    release = threading.Timer(0.3, holder.commit)
    release.start()
    started = time.monotonic()
    response = client.post(URL, json=valid_payload(email="bo@example.com"))
    waited = time.monotonic() - started
    release.join()
    holder.close()
    assert response.status_code == 201 and pending(queue_app) == 2  # not forwarded: queued
    assert 0.25 < waited < 2


def test_a_row_whose_enquiry_was_stored_before_is_deleted_not_stored_twice(queue_app, make_user):
    # As after a crash between the commits of SQLite's main and intake files.
    from crm.enquiries.services import store_received_enquiry

    make_user(role="manager")
    reference = submit_many(queue_app, 1)[0]
    with queue_app.app_context():
        store_received_enquiry(db.session.scalar(sa.select(PendingIntake)))
        db.session.commit()  # the enquiry, without the delete
        assert store_pending() == 0
        assert db.session.scalars(sa.select(Enquiry.reference)).all() == [reference]
    assert pending(queue_app) == 0


@pytest.mark.expect_traceback  # the clash is logged with its traceback (reference only)
def test_a_row_whose_reference_another_enquiry_holds_is_kept(queue_app, make_user):
    make_user(role="manager")
    reference = submit_many(queue_app, 1)[0]
    api = queue_app.test_client()
    other = api.post(URL, json=valid_payload(email="bo@example.com"),
                     headers={"Idempotency-Key": "another-person"}).json["reference"]
    with queue_app.app_context():
        db.session.execute(sa.update(Enquiry).where(Enquiry.reference == other).values(reference=reference))
        db.session.commit()
        assert store_pending() == 0
        row = db.session.scalar(sa.select(PendingIntake))
        assert row.reference == reference and row.attempts == 1 and "reference" in row.last_error.lower()


def test_erasure_leaves_no_byte_of_a_pending_submission_in_the_intake_file(queue_app):
    from crm.gdpr.erasure import erase_subject
    from tests.gdpr.test_erasure import _file_bytes

    with queue_app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the SQLite intake file's bytes")
        path = f"{db.engine.url.database}-intake"
    needles = [b"ada@example.com", b"Ada Jensen", valid_payload()["message"].encode()]

    def on_disk():
        wal = pathlib.Path(f"{path}-wal")
        return _file_bytes(path) + (_file_bytes(wal) if wal.exists() else b"")

    queue_app.test_client().post(URL, json=valid_payload())
    assert all(needle in on_disk() for needle in needles)  # the check sees what it looks for
    with queue_app.app_context():
        erase_subject("ada@example.com")
    after = on_disk()
    assert not [needle for needle in needles if needle in after]
