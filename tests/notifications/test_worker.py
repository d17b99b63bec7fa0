"""The worker against a real SMTP server (aiosmtpd on 127.0.0.1), in this process."""

import logging
from datetime import timedelta

import sqlalchemy as sa

from crm.core.db import utcnow
from crm.extensions import db
from crm.notifications.models import OutboxMessage
from crm.notifications.worker import claim_batch, deliver, drain
from tests.notifications.helpers import add_messages, one, outbox


def at(moment):
    return lambda: moment


def delivered_ids(smtp_server):
    return [m["message"]["Message-ID"] for m in smtp_server.messages]


def test_delivers_every_due_message_once_with_its_own_message_id(smtp_app, smtp_server):
    ids = add_messages(smtp_app, 3)

    with smtp_app.app_context():
        assert drain() == 3
        assert drain() == 0  # nothing left: a second run sends nothing again

    rows = outbox(smtp_app)
    assert [r.status for r in rows] == ["sent"] * 3
    assert [r.attempts for r in rows] == [1, 1, 1]
    assert all(r.sent_at is not None and r.claimed_by is None and r.claimed_until is None for r in rows)
    assert sorted(delivered_ids(smtp_server)) == sorted(r.message_id for r in rows)
    by_id = {m["message"]["Message-ID"]: m for m in smtp_server.messages}
    for row in outbox(smtp_app, *ids):
        received = by_id[row.message_id]
        assert received["to"] == [row.recipient]
        assert received["message"]["Subject"] == row.subject
        assert received["message"].get_body(("plain",)).get_content().strip() == row.text
        assert received["message"].get_body(("html",)).get_content().strip() == row.html
    # One SMTP connection for the batch: every message came from the same client socket.
    assert len({m["peer"] for m in smtp_server.messages}) == 1


def test_messages_not_yet_due_are_left_alone(smtp_app, smtp_server):
    later = add_messages(smtp_app, 1, next_attempt_at=utcnow() + timedelta(minutes=5))[0]
    with smtp_app.app_context():
        assert drain() == 0
        assert drain(clock=at(utcnow() + timedelta(minutes=6))) == 1
    assert one(smtp_app, later).status == "sent"


def test_451_is_retried_within_a_minute_and_delivered_once(smtp_app, smtp_server):
    (message,) = add_messages(smtp_app, 1)
    smtp_server.fail_next("451 4.3.0 try later")
    now = utcnow()

    with smtp_app.app_context():
        drain(clock=at(now))
    row = one(smtp_app, message)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "SMTPDataError: 451 4.3.0 try later"
    assert timedelta(0) < row.next_attempt_at - now < timedelta(seconds=60)
    assert row.claimed_by is None and row.failing_since == now
    assert smtp_server.messages == []

    with smtp_app.app_context():
        assert drain(clock=at(now + timedelta(seconds=1))) == 0  # not due yet
        assert drain(clock=at(now + timedelta(seconds=61))) == 1
    row = one(smtp_app, message)
    assert (row.status, row.attempts, row.failing_since) == ("sent", 2, None)
    assert delivered_ids(smtp_server) == [row.message_id]


def test_550_makes_only_that_message_dead_and_the_batch_goes_on(smtp_app, smtp_server):
    first, refused, last = add_messages(smtp_app, 3)
    smtp_server.fail_next(None, "550 5.7.1 message refused")  # accept the first, refuse the second

    with smtp_app.app_context():
        batch = claim_batch()
        assert [m.id for m in batch.messages] == [first, refused, last]
        assert deliver(batch) == 2

    assert one(smtp_app, first).status == "sent"
    assert one(smtp_app, last).status == "sent"
    dead = one(smtp_app, refused)
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert dead.last_error == "SMTPDataError: 550 5.7.1 message refused"
    assert dead.claimed_by is None
    assert len(smtp_server.messages) == 2


def test_recipient_refused_550_is_dead_and_450_is_retried(smtp_app, smtp_server):
    gone = add_messages(smtp_app, 1, recipient="gone@example.com")[0]
    busy = add_messages(smtp_app, 1, recipient="busy@example.com")[0]
    fine = add_messages(smtp_app, 1)[0]
    smtp_server.refuse_recipient("gone@example.com", "550 5.1.1 no such user")
    smtp_server.refuse_recipient("busy@example.com", "450 4.2.1 mailbox busy")

    with smtp_app.app_context():
        drain()

    assert one(smtp_app, gone).status == "dead"
    assert one(smtp_app, gone).last_error == "SMTPRecipientsRefused: 550 5.1.1 no such user"
    assert (one(smtp_app, busy).status, one(smtp_app, busy).attempts) == ("pending", 1)
    assert "450 4.2.1 mailbox busy" in one(smtp_app, busy).last_error
    assert one(smtp_app, fine).status == "sent"
    assert [m["to"] for m in smtp_server.messages] == [[one(smtp_app, fine).recipient]]


def test_server_down_delays_every_message_and_loses_none(smtp_app, smtp_server):
    ids = add_messages(smtp_app, 3)
    smtp_server.stop()
    now = utcnow()

    with smtp_app.app_context():
        assert drain(clock=at(now)) == 3
    for row in outbox(smtp_app, *ids):
        assert (row.status, row.attempts, row.claimed_by) == ("pending", 1, None)
        assert row.last_error.startswith("ConnectionRefusedError")
        assert row.next_attempt_at - now < timedelta(seconds=60)

    smtp_server.start()
    with smtp_app.app_context():
        assert drain(clock=at(now + timedelta(minutes=1))) == 3
    assert [r.status for r in outbox(smtp_app, *ids)] == ["sent"] * 3
    assert len(smtp_server.messages) == 3


def test_a_server_that_hangs_times_out_and_the_rest_of_the_batch_is_released(
    make_app, smtp_server
):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_TIMEOUT=1)
    first, second, third = add_messages(app, 3)
    smtp_server.slow_down(5)

    with app.app_context():
        batch = claim_batch()
        assert deliver(batch) == 0

    hung = one(app, first)
    assert (hung.status, hung.attempts) == ("pending", 1)
    assert "timed out" in hung.last_error
    for untried in outbox(app, second, third):
        # Not counted as an attempt, and claimable again at once.
        assert (untried.status, untried.attempts, untried.claimed_by) == ("pending", 0, None)
    smtp_server.slow_down(0)
    with app.app_context():
        assert drain() == 2
    assert one(app, second).status == one(app, third).status == "sent"


def test_a_421_closing_the_connection_retries_that_message_and_reconnects_for_the_rest(
    smtp_app, smtp_server
):
    first, second, third = add_messages(smtp_app, 3)
    smtp_server.fail_next("421 4.3.2 shutting down")

    with smtp_app.app_context():
        assert drain() == 5  # 3 claimed, then the 2 released ones again on a new connection

    assert (one(smtp_app, first).status, one(smtp_app, first).attempts) == ("pending", 1)
    assert "421" in one(smtp_app, first).last_error
    assert one(smtp_app, second).status == one(smtp_app, third).status == "sent"
    assert one(smtp_app, second).attempts == 1


def test_header_injection_through_subject_or_recipient_is_dead_and_never_sent(
    smtp_app, smtp_server
):
    bad_subject = add_messages(smtp_app, 1, subject="Hello\r\nBcc: evil@example.com")[0]
    folded = add_messages(smtp_app, 1, subject="Hello\r\n Bcc: evil@example.com")[0]
    bare_lf = add_messages(smtp_app, 1, subject="Hello\nBcc: evil@example.com")[0]
    bad_recipient = add_messages(smtp_app, 1, recipient="ada@example.com\r\nBcc: evil@example.com")[0]
    good = add_messages(smtp_app, 1)[0]

    with smtp_app.app_context():
        assert drain() == 5  # the worker neither crashes nor stops at the bad rows

    for message in (bad_subject, folded, bare_lf, bad_recipient):
        row = one(smtp_app, message)
        assert row.status == "dead"
        assert row.last_error == "BadHeaderError: line break in the subject or recipient"
    assert one(smtp_app, good).status == "sent"
    assert len(smtp_server.messages) == 1
    raw = smtp_server.messages[0]["message"].as_string()
    assert "evil@example.com" not in raw
    assert all("evil" not in to for m in smtp_server.messages for to in m["to"])


def test_a_row_claimed_by_a_dead_worker_is_claimable_after_the_lease_and_not_before(
    smtp_app, smtp_server
):
    ids = add_messages(smtp_app, 2)
    now = utcnow()
    lease = timedelta(seconds=smtp_app.config["CRM_OUTBOX_LEASE_SECONDS"])

    with smtp_app.app_context():
        dead_worker = claim_batch(clock=at(now))
        assert [m.id for m in dead_worker.messages] == ids
        assert claim_batch(clock=at(now + lease - timedelta(seconds=1))).messages == []
        survivor = claim_batch(clock=at(now + lease + timedelta(seconds=1)))
        assert [m.id for m in survivor.messages] == ids
        assert deliver(survivor, clock=at(now + lease + timedelta(seconds=1))) == 2
    assert len(smtp_server.messages) == 2


def test_a_worker_that_lost_its_lease_sends_nothing_and_overwrites_nothing(smtp_app, smtp_server):
    ids = add_messages(smtp_app, 3)
    now = utcnow()
    lease = timedelta(seconds=smtp_app.config["CRM_OUTBOX_LEASE_SECONDS"])

    with smtp_app.app_context():
        stale = claim_batch(clock=at(now))
        fresh = claim_batch(clock=at(now + lease + timedelta(seconds=1)))
        # The stale worker wakes up: its lease is over and the rows have a new owner.
        assert deliver(stale, clock=at(now + lease + timedelta(seconds=2))) == 0
        assert smtp_server.messages == []
        assert {r.claimed_by for r in outbox(smtp_app, *ids)} == {fresh.token}
        assert deliver(fresh, clock=at(now + lease + timedelta(seconds=3))) == 3
    assert sorted(delivered_ids(smtp_server)) == sorted(r.message_id for r in outbox(smtp_app, *ids))


def test_a_long_batch_renews_its_lease_before_it_runs_out(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_TIMEOUT=5,
                   CRM_OUTBOX_LEASE_SECONDS=20)
    ids = add_messages(app, 2)
    now = utcnow()
    leases_in_the_database = []

    def look_at_the_second_row():
        # Called before each message: after the first is sent, the second row's lease is the
        # renewed one in the database itself, not only on the worker's batch object.
        with db.engine.connect() as connection:
            leases_in_the_database.append(connection.scalar(
                sa.select(OutboxMessage.claimed_until).where(OutboxMessage.id == ids[1])))
        return False

    with app.app_context():
        batch = claim_batch(clock=at(now))
        # 16 s later 4 s of the lease are left, under the margin of max(lease / 2, MAIL_TIMEOUT).
        assert deliver(batch, should_stop=look_at_the_second_row, clock=at(now + timedelta(seconds=16))) == 2
        assert batch.claimed_until == now + timedelta(seconds=36)
    assert leases_in_the_database == [now + timedelta(seconds=20), now + timedelta(seconds=36)]
    assert [r.status for r in outbox(app, *ids)] == ["sent", "sent"]


def test_a_stale_worker_that_cannot_reach_the_server_leaves_the_new_owners_claim_alone(smtp_app, smtp_server):
    ids = add_messages(smtp_app, 3)
    now = utcnow()
    lease = timedelta(seconds=smtp_app.config["CRM_OUTBOX_LEASE_SECONDS"])

    with smtp_app.app_context():
        stale = claim_batch(clock=at(now))
        fresh = claim_batch(clock=at(now + lease + timedelta(seconds=1)))
    before = [(r.claimed_by, r.claimed_until, r.attempts, r.last_error, r.next_attempt_at, r.status)
              for r in outbox(smtp_app, *ids)]
    smtp_server.stop()
    with smtp_app.app_context():
        # The stale worker wakes up and fails to connect: mark_failed must not touch the rows.
        assert deliver(stale, clock=at(now + lease + timedelta(seconds=2))) == 0
    after = [(r.claimed_by, r.claimed_until, r.attempts, r.last_error, r.next_attempt_at, r.status)
             for r in outbox(smtp_app, *ids)]
    assert after == before and {r[0] for r in after} == {fresh.token}
    smtp_server.start()
    with smtp_app.app_context():
        assert deliver(fresh, clock=at(now + lease + timedelta(seconds=3))) == 3
    assert len(smtp_server.messages) == 3


def test_stopping_finishes_the_current_message_and_releases_the_rest(smtp_app, smtp_server):
    ids = add_messages(smtp_app, 4)
    stop_after_first = iter([False, True])

    with smtp_app.app_context():
        batch = claim_batch()
        assert deliver(batch, should_stop=lambda: next(stop_after_first, True)) == 1

    rows = outbox(smtp_app, *ids)
    assert [r.status for r in rows] == ["sent", "pending", "pending", "pending"]
    assert [r.attempts for r in rows] == [1, 0, 0, 0]
    assert all(r.claimed_by is None and r.claimed_until is None for r in rows[1:])
    assert len(smtp_server.messages) == 1


def test_without_mail_server_messages_are_logged_and_marked_sent(app, caplog):
    (message,) = add_messages(app, 1, subject="Logged subject", text="Logged body")
    assert app.config["MAIL_SERVER"] is None

    with caplog.at_level(logging.INFO), app.app_context():
        assert drain() == 1

    row = one(app, message)
    assert row.status == "sent"
    # The log names the message, never its address, subject or body (those are personal data).
    assert row.message_id in caplog.text and f"id={row.id}" in caplog.text
    assert "Logged subject" not in caplog.text and "Logged body" not in caplog.text
    assert row.recipient not in caplog.text


def test_a_non_ascii_local_part_flask_mail_cannot_address_is_dead_and_the_batch_goes_on(
    smtp_app, smtp_server
):
    # Flask-Mail's sanitize_address cannot encode "søren@…" (no SMTPUTF8 support). Validation
    # refuses such addresses now, but a row from elsewhere must still end visible, not stuck.
    unaddressable = add_messages(smtp_app, 1, recipient="søren@example.dk")[0]
    idn_domain = add_messages(smtp_app, 1, recipient="ada@ærø.dk")[0]
    with smtp_app.app_context():
        drain()
    row = one(smtp_app, unaddressable)
    assert row.status == "dead"
    assert row.last_error.startswith("UnicodeEncodeError")
    assert one(smtp_app, idn_domain).status == "sent"  # the domain is IDNA-encoded
    assert [m["to"] for m in smtp_server.messages] == [["ada@" + "ærø.dk".encode("idna").decode()]]
