"""The operators' commands (CONTRACT §8)."""

import json

import sqlalchemy as sa

from crm.assignment.models import AssignmentRule
from crm.core.models import Activity, AuditLog, Consent, Contact, Enquiry, OutboxMessage, User
from crm.extensions import db
from tests.helpers import count, make_enquiry, valid_payload


def test_create_user_stores_an_argon2id_hash(app, runner):
    result = runner.invoke(args=["crm", "create-user", "--email", "Helena.Peyron@InvestInAalborg.example",
                                 "--name", "Helena Peyron", "--role", "manager",
                                 "--password", "a long enough password", "--sectors", "medtech,biotech",
                                 "--languages", "en,da"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert user.email == "helena.peyron@investinaalborg.example"
        assert user.password_hash.startswith("$argon2id$")
        assert "a long enough password" not in user.password_hash
        assert (user.role, user.sectors, user.languages) == ("manager", ["medtech", "biotech"], ["en", "da"])
        assert user.covers("medtech") and not user.covers("pharma")
        assert db.session.scalar(sa.select(AuditLog.action)) == "user.created"


def test_create_user_prompts_for_the_password(app, runner):
    result = runner.invoke(args=["crm", "create-user", "--email", "a@investinaalborg.example", "--name", "A",
                                 "--role", "admin"], input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    assert count(app, User) == 1


def test_a_manager_with_no_sectors_covers_all(app, runner):
    runner.invoke(args=["crm", "create-user", "--email", "m@investinaalborg.example", "--name", "M",
                        "--role", "manager", "--password", "a long enough password"])
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert user.sectors == [] and user.covers("robotics")


def test_create_user_refuses_bad_input_and_stores_nothing(app, runner):
    cases = [
        (["--email", "not-an-email", "--password", "a long enough password"], "email"),
        (["--email", "m@investinaalborg.example", "--password", "short"], "password"),
        (["--email", "m@investinaalborg.example", "--password", "x" * 129], "password"),
        (["--email", "m@investinaalborg.example", "--password", "a long enough password", "--sectors",
          "medtech,fintech"], "sectors"),
    ]
    for extra, field in cases:
        result = runner.invoke(args=["crm", "create-user", "--name", "M", "--role", "manager", *extra])
        assert result.exit_code == 1, extra
        assert f"{field}:" in result.output
    assert count(app, User) == 0 and count(app, AuditLog) == 0


def test_create_user_refuses_a_duplicate_email(app, runner):
    args = ["crm", "create-user", "--email", "m@investinaalborg.example", "--name", "M", "--role", "manager",
            "--password", "a long enough password"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=[*args[:3], "M@InvestInAalborg.example", *args[4:]])
    assert again.exit_code == 1 and "exists already" in again.output
    assert count(app, User) == 1


def test_seed_demo_creates_staff_and_realistic_enquiries(app, runner):
    result = runner.invoke(args=["crm", "seed-demo", "--enquiries", "300"])
    assert result.exit_code == 0, result.output
    assert "helena.peyron@investinaalborg.example" in result.output and "password:" in result.output
    with app.app_context():
        helena = db.session.scalar(sa.select(User).where(User.name == "Helena Peyron"))
        assert helena.title == "Senior Investment Manager" and helena.role == "manager"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.role == "admin")) == 1
        assert count(app, Enquiry) == count(app, Contact) == count(app, Consent) == 300
        assert count(app, Activity) >= 300
        statuses = set(db.session.scalars(sa.select(Enquiry.status).distinct()))
        assert {"new", "contacted", "won", "lost"} <= statuses
        sectors = set(db.session.scalars(sa.select(Enquiry.sector).distinct()))
        assert len(sectors) >= 5
        oldest, newest = db.session.execute(sa.select(sa.func.min(Enquiry.created_at),
                                                      sa.func.max(Enquiry.created_at))).one()
        assert (newest - oldest).days > 365
        assert count(app, OutboxMessage) == 0  # history is not mailed to anyone
        # Helena leads medtech: the demo's one assignment rule names her.
        rule = db.session.scalar(sa.select(AssignmentRule))
        assert (rule.sectors, rule.user_id, rule.active) == (["medtech"], helena.id, True)


def test_seed_demo_fills_the_search_index_through_its_triggers(app, runner):
    assert runner.invoke(args=["crm", "seed-demo", "--enquiries", "100"]).exit_code == 0
    assert count(app, Enquiry) == count(app, Contact) == count(app, Consent) == count(app, Activity) == 100
    from crm.triage.search import matching_contacts

    with app.app_context():
        name = db.session.scalar(sa.select(Contact.name).order_by(Contact.id.desc()))
        assert len(db.session.scalars(matching_contacts(name)).all()) >= 1
        assert db.session.scalar(sa.select(sa.func.max(Enquiry.id))) == 100


def test_seed_demo_bulk_load_builds_the_search_index_aside(app, runner, monkeypatch):
    """The path of 50,000 or more: indexes and (SQLite) the search index built once at the
    end, the latter by a second connection in a thread."""
    monkeypatch.setattr("crm.enquiries.seed.BULK_FROM", 1)
    assert runner.invoke(args=["crm", "seed-demo", "--enquiries", "200"]).exit_code == 0
    assert count(app, Enquiry) == count(app, Contact) == count(app, Consent) == count(app, Activity) == 200
    from crm.triage.search import matching_contacts

    with app.app_context():
        for contact_id, name in db.session.execute(sa.select(Contact.id, Contact.name).order_by(Contact.id).limit(3)):
            assert contact_id in db.session.scalars(matching_contacts(name)).all()
        if db.engine.dialect.name == "sqlite":
            db.session.execute(sa.text("INSERT INTO contacts_search(contacts_search) VALUES ('integrity-check')"))
            # and the triggers are back: a new contact is found
            db.session.execute(sa.text("UPDATE contacts SET name = 'Zyxwvu Qponml' WHERE id = 5"))
            db.session.commit()
            assert db.session.scalars(matching_contacts("Zyxwvu Qponml")).all() == [5]


def test_seed_demo_draws_again_a_reference_the_database_holds(app, runner, monkeypatch):
    """The seed's references are a bijection of the ids; one the product drew at random may
    still be among them: the seed then draws them all again rather than fail."""
    from crm.enquiries.seed import _Draws

    key = (0x9E3779B97F, 0x5DEECE66D, 0xC2B2AE3D27)  # the seed's key, known to this test only
    monkeypatch.setattr("crm.enquiries.seed._reference_key", lambda rng: key)
    make_enquiry(app)  # id 1: the seed's first will be 2
    with app.app_context():
        draws = _Draws.__new__(_Draws)
        *draws.key, draws.offset = key
        bits = draws.reference("CAST(2 AS BIGINT)")
        taken = db.session.execute(sa.text(
            f"SELECT {draws.reference_text()} FROM (SELECT {bits} AS reference_bits) AS one")).scalar()
        db.session.execute(sa.text("UPDATE enquiries SET reference = :taken"), {"taken": taken})
        db.session.commit()
    assert runner.invoke(args=["crm", "seed-demo", "--enquiries", "20"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(sa.distinct(Enquiry.reference)))) == 21
        assert db.session.scalar(sa.select(Enquiry.reference).where(Enquiry.id == 2)) != taken


def test_seed_demo_if_empty_leaves_a_filled_database_alone(app, runner):
    runner.invoke(args=["crm", "seed-demo", "--enquiries", "10"])
    result = runner.invoke(args=["crm", "seed-demo", "--enquiries", "10", "--if-empty"])
    assert result.exit_code == 0
    assert "nothing seeded" in result.output
    assert count(app, Enquiry) == 10


def test_gdpr_export_prints_everything_held_about_a_person(app, client, runner):
    client.post("/api/v1/enquiries", json=valid_payload(email="ada@example.com", message="Første besked"))
    client.post("/api/v1/enquiries", json=valid_payload(email="other@example.com"))
    result = runner.invoke(args=["crm", "gdpr", "export", "--email", "ADA@example.com"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["contact"]["email"] == "ada@example.com" and data["contact"]["name"] == "Ada Jensen"
    assert [e["message"] for e in data["enquiries"]] == ["Første besked"]
    assert data["consents"][0]["policy_version"] == "2026-01" and data["consents"][0]["method"] == "api"
    assert [t["kind"] for t in data["timeline"]] == ["created", "email_queued"]
    assert data["emails"][0]["to"] == "ada@example.com"
    assert "other@example.com" not in result.output
    with app.app_context():
        audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "gdpr.subject_exported"))
        assert audit.target_type == "contact" and audit.target_id == str(data["contact"]["id"])


def test_gdpr_export_of_an_unknown_person_is_empty_not_an_error(runner):
    result = runner.invoke(args=["crm", "gdpr", "export", "--email", "nobody@example.com"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["contact"] is None and data["enquiries"] == data["consents"] == data["emails"] == []
    assert data["erased"] is False


def test_worker_once_logs_mail_when_no_server_is_configured(app, client, runner, caplog):
    client.post("/api/v1/enquiries", json=valid_payload())
    with caplog.at_level("INFO"):
        result = runner.invoke(args=["crm", "worker", "--once"])
    assert result.exit_code == 0 and "Handled 1 messages" in result.output
    # id, kind and reference: never the address or the body (CONTRACT §1).
    assert "kind=enquiry_received reference=AAL-" in caplog.text
    assert "ada@example.com" not in caplog.text and "Ada Jensen" not in caplog.text
    assert "We received your enquiry" not in caplog.text
    with app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage.status)) == "sent"
