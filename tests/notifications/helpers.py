"""Outbox helpers: rows queued straight into the outbox, read back in fresh app contexts."""

import uuid

import sqlalchemy as sa

from crm.core.db import utcnow
from crm.extensions import db
from crm.notifications.models import OutboxMessage


def outbox_row(**fields):
    """Column values of one pending outbox row; `fields` override them."""
    token = uuid.uuid4().hex
    row = {
        "message_id": f"<{token}@crm.test>",
        "kind": "test",
        "recipient": f"person-{token[:8]}@example.com",
        "subject": f"Test message {token[:8]}",
        "text": "Hello in text.",
        "html": "<p>Hello in HTML.</p>",
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "created_at": utcnow(),
    }
    row.update(fields)
    return row


def add_messages(app, n=1, **fields):
    """Queue `n` rows straight into the outbox; returns their ids in insertion order."""
    rows = [outbox_row(**fields) for _ in range(n)]
    with app.app_context():
        db.session.execute(sa.insert(OutboxMessage), rows)
        db.session.commit()
        ids = db.session.scalars(
            sa.select(OutboxMessage.id)
            .where(OutboxMessage.message_id.in_([r["message_id"] for r in rows]))
            .order_by(OutboxMessage.id)
        ).all()
    return list(ids)


def outbox(app, *ids):
    """The outbox rows (all, or those with `ids`) as detached objects, by id."""
    with app.app_context():
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if ids:
            query = query.where(OutboxMessage.id.in_(ids))
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        db.session.rollback()
    return rows


def one(app, message_id):
    (row,) = outbox(app, message_id)
    return row
