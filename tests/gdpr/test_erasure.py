"""Erasure leaves nothing of the person: not in the rows, not in the bytes of the SQLite file."""

import json
import pathlib
import subprocess

import sqlalchemy as sa

from crm.core.audit import AuditLog
from crm.enquiries.models import Activity, Consent, Contact, Enquiry, IdempotencyKey
from crm.extensions import db
from crm.gdpr.models import ErasureTombstone
from crm.notifications.models import OutboxMessage
from tests.gdpr.conftest import PERSON, submit
from tests.helpers import count, csrf_token, hidden_value

NEEDLES = [PERSON["email"], PERSON["name"], PERSON["phone"], PERSON["message"], "Quintessa",
           "XYZZY-4821", "Verhoeven"]


def erase(client, email=PERSON["email"]):
    token = hidden_value(client.get("/admin/gdpr").text, "csrf_token") or csrf_token(client)
    return client.post("/admin/gdpr/erase", data={"email": email, "csrf_token": token})


def rows_mentioning(app, needle):
    """Rows of any table (models or not) whose text mentions `needle`."""
    found = {}
    with app.app_context():
        conn = db.session.connection()
        if conn.dialect.name == "postgresql":
            tables = conn.exec_driver_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                "AND table_type = 'BASE TABLE'").scalars().all()
            for table in tables:
                n = conn.exec_driver_sql(
                    f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE %(p)s',  # noqa: S608
                    {"p": f"%{needle}%"}).scalar()
                if n:
                    found[table] = n
        else:
            for table in db.metadata.sorted_tables:
                text = sa.func.coalesce(sa.cast(table.c[0], sa.Text), "")
                for column in list(table.c)[1:]:
                    text = text + "|" + sa.func.coalesce(sa.cast(column, sa.Text), "")
                n = conn.execute(sa.select(sa.func.count()).select_from(table)
                                 .where(text.like(f"%{needle}%"))).scalar()
                if n:
                    found[table.name] = n
        db.session.remove()
    return found


def test_erasure_removes_every_row_about_the_person(app, admin_client, person):
    other = submit(app.test_client(), email="other@example.com", name="Olav Other", phone="+45 11 22 33 44",
                   message="Another plan")
    for needle in NEEDLES:
        assert rows_mentioning(app, needle), needle  # the test can see them before

    response = erase(admin_client)

    assert response.status_code == 303 and response.headers["Location"] == "/admin/gdpr"
    assert "Erased: 1 enquiries anonymised" in admin_client.get("/admin/gdpr").text
    for needle in NEEDLES:
        assert rows_mentioning(app, needle) == {}, needle
    with app.app_context():
        enquiry = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == person))
        # The anonymous figures survive; the person does not.
        assert (enquiry.sector, enquiry.topic, enquiry.status, enquiry.message) == (
            "medtech", "establishment", "new", "")
        assert enquiry.contact.email == "erased@anonymous.invalid" and enquiry.contact.name == ""
        assert [a.kind for a in enquiry.activities] == ["erased"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Consent)
                                 .where(Consent.enquiry_id == enquiry.id)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)
                                 .where(IdempotencyKey.enquiry_id == enquiry.id)) == 0
        # Someone else's records are untouched.
        kept = db.session.scalar(sa.select(Enquiry).where(Enquiry.reference == other))
        assert kept.contact.email == "other@example.com" and kept.message == "Another plan"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.recipient == "other@example.com")) == 1
        tombstone = db.session.scalar(sa.select(ErasureTombstone))
        audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "gdpr.erased"))
        assert audit.target_type == "erasure_tombstone" and audit.target_id == str(tombstone.id)
        assert audit.actor_id is not None and audit.ip_address == "127.0.0.1"
        assert len(tombstone.email_hmac) == 64 and tombstone.reason == "request"


def _file_bytes(path):
    """The file's bytes, read by another process. Opening and closing the database file in this
    one would drop every POSIX lock this process's SQLite connections hold on it: a worker
    process closing its connection later then takes itself for the last one and deletes the WAL
    and shared-memory files under this process's open connections ("disk I/O error" in every
    later test of this pytest process, seen when a worker-process test followed this one)."""
    return subprocess.run(["cat", str(path)], check=True, capture_output=True).stdout  # noqa: S603, S607


def test_erasure_leaves_no_byte_in_the_sqlite_file_or_its_wal(app, admin_client, person):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return  # PostgreSQL: the row-level test above; VACUUM is the operator's (README)
        path = pathlib.Path(db.engine.url.database)
    wal = pathlib.Path(f"{path}-wal")
    before = _file_bytes(path) + (_file_bytes(wal) if wal.exists() else b"")
    assert PERSON["email"].encode() in before  # the check can see the bytes it looks for

    assert erase(admin_client).status_code == 303

    after = _file_bytes(path) + (_file_bytes(wal) if wal.exists() else b"")
    for needle in NEEDLES:
        assert needle.encode() not in after, needle
        assert needle.lower().encode() not in after.lower(), needle


def test_a_later_submission_is_a_new_person_and_the_hub_says_the_address_was_erased(
        app, admin_client, person):
    erase(admin_client)
    reference = submit(app.test_client(), name="Quintessa Again", message="New plan")

    page = admin_client.get("/admin/gdpr", query_string={"email": PERSON["email"].upper()})

    assert page.status_code == 200
    assert "This address was erased before" in page.text and "a new person" in page.text
    assert reference in page.text and person not in page.text
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact).where(Contact.email == PERSON["email"]))
        assert [e.reference for e in contact.enquiries] == [reference]
        assert [e.message for e in contact.enquiries] == ["New plan"]
    assert "gdpr.subject_searched" in [a for (a,) in _audit(app)]


def _audit(app):
    with app.app_context():
        return db.session.execute(sa.select(AuditLog.action).order_by(AuditLog.id)).all()


def test_erasing_an_unknown_address_leaves_a_tombstone_and_changes_nothing_else(app, admin_client):
    reference = submit(app.test_client(), email="kept@example.com", name="Kept Person")
    response = erase(admin_client, "nobody@example.com")
    assert response.status_code == 303
    assert "No one with that email was held" in admin_client.get("/admin/gdpr").text
    assert count(app, ErasureTombstone) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(Enquiry.message).where(Enquiry.reference == reference))


def test_erase_without_an_email_answers_422_and_changes_nothing(app, admin_client, person):
    token = csrf_token(admin_client, "/admin/gdpr")
    response = admin_client.post("/admin/gdpr/erase", data={"email": "", "csrf_token": token})
    assert response.status_code == 422 and "Enter an email." in response.text
    assert count(app, ErasureTombstone) == 0 and count(app, Contact) == 1
    assert count(app, Activity, Activity.kind == "erased") == 0


def test_erase_without_csrf_token_is_refused(app, admin_client, person):
    response = admin_client.post("/admin/gdpr/erase", data={"email": PERSON["email"]})
    assert response.status_code == 400
    assert count(app, ErasureTombstone) == 0 and count(app, Contact) == 1


def test_a_manager_cannot_erase(app, manager_client, person):
    token = csrf_token(manager_client, "/account/password")
    response = manager_client.post("/admin/gdpr/erase", data={"email": PERSON["email"],
                                                               "csrf_token": token})
    assert response.status_code == 403
    assert count(app, ErasureTombstone) == 0 and count(app, Contact) == 1


def test_cli_erase_and_export_afterwards(app, runner, person):
    result = runner.invoke(args=["crm", "gdpr", "erase", "--email", PERSON["email"]])
    assert result.exit_code == 0, result.output
    assert "1 enquiries anonymised" in result.output and PERSON["email"] not in result.output
    data = json.loads(runner.invoke(args=["crm", "gdpr", "export", "--email", PERSON["email"]]).output)
    assert data["contact"] is None and data["enquiries"] == data["emails"] == data["notes"] == []
    assert data["erased"] is True and data["erased_at"]
    assert count(app, Contact, Contact.email == PERSON["email"]) == 0


def test_erasures_are_reapplied_after_a_restore(app, runner, person):
    """A restore brings the person back; the tombstone (copied in) erases them again."""
    with app.app_context():
        contact = db.session.scalar(sa.select(Contact).where(Contact.email == PERSON["email"]))
        from crm.core.db import utcnow
        from crm.gdpr.subjects import email_hmac

        # As if restored from a backup taken before an erasure recorded in the live database.
        db.session.add(ErasureTombstone(email_hmac=email_hmac(PERSON["email"]), reason="request",
                                        erased_at=utcnow()))
        later = Contact(email="later@example.com", name="Later Person", country="DK")
        db.session.add(later)
        db.session.flush()
        # A tombstone older than the contact: a new person with a once-erased address stays.
        db.session.add(ErasureTombstone(email_hmac=email_hmac("later@example.com"),
                                        reason="request", erased_at=contact.created_at))
        later.created_at = utcnow()
        db.session.commit()
    result = runner.invoke(args=["crm", "gdpr", "reapply-erasures"])
    assert result.exit_code == 0 and "Erased again: 1 people." in result.output
    assert count(app, Contact, Contact.email == PERSON["email"]) == 0
    assert count(app, Contact, Contact.email == "later@example.com") == 1
    assert rows_mentioning(app, PERSON["name"]) == {}
