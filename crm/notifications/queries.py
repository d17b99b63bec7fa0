"""Read-only queries behind the admin outbox pages."""

import sqlalchemy as sa
from sqlalchemy.orm import load_only

from crm.extensions import db
from crm.notifications.models import OutboxMessage

PAGE_SIZE = 25
LIST_COLUMNS = (
    OutboxMessage.id, OutboxMessage.created_at, OutboxMessage.status, OutboxMessage.kind,
    OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.attempts,
    OutboxMessage.next_attempt_at, OutboxMessage.sent_at, OutboxMessage.last_error,
)


def outbox_page(status=None, before=None, per_page=PAGE_SIZE):
    """Newest first, `per_page` rows with an id below `before`; returns (rows, next_before).

    Keyset pagination on the primary key: no COUNT and no OFFSET, however large the outbox.
    `next_before` is None on the last page. Bodies are not loaded.
    """
    query = (
        sa.select(OutboxMessage)
        .options(load_only(*LIST_COLUMNS))
        .order_by(OutboxMessage.id.desc())
        .limit(per_page + 1)
    )
    if status:
        query = query.where(OutboxMessage.status == status)
    if before:
        query = query.where(OutboxMessage.id < before)
    rows = db.session.scalars(query).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    return rows, (rows[-1].id if more else None)


def waiting_counts():
    """How many messages are pending and dead: the small sets, counted on the status index."""
    counts = dict(db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count())
        .where(OutboxMessage.status.in_(("pending", "dead")))
        .group_by(OutboxMessage.status)
    ).all())
    return {"pending": counts.get("pending", 0), "dead": counts.get("dead", 0)}


def outbox_message(message_id):
    return db.session.get(OutboxMessage, message_id)
