"""Outbox workers' heartbeats: each running worker says it is alive, in the shared database."""

import os
import socket
from datetime import timedelta

import sqlalchemy as sa

from crm.core.db import utcnow
from crm.extensions import db
from crm.notifications.models import WorkerHeartbeat

# A worker is taken for alive when it beat this recently (it beats every HEARTBEAT_SECONDS,
# also while it waits for mail).
HEARTBEAT_SECONDS = 5
ALIVE_WITHIN = timedelta(seconds=60)
# Rows of workers that died without saying goodbye are forgotten after a day.
FORGET_AFTER = timedelta(days=1)


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


def beat(worker, handled, clock=utcnow):
    """Record that `worker` is alive and has handled `handled` messages (its own transaction)."""
    now = clock()
    updated = db.session.execute(
        sa.update(WorkerHeartbeat).where(WorkerHeartbeat.worker == worker)
        .values(seen_at=now, handled=handled)
    ).rowcount
    if not updated:
        db.session.add(WorkerHeartbeat(worker=worker, started_at=now, seen_at=now, handled=handled))
    db.session.commit()


def forget(worker=None, clock=utcnow):
    """Delete `worker`'s row (a clean stop), or else the rows silent for a day."""
    query = sa.delete(WorkerHeartbeat)
    if worker is not None:
        query = query.where(WorkerHeartbeat.worker == worker)
    else:
        query = query.where(WorkerHeartbeat.seen_at < clock() - FORGET_AFTER)
    db.session.execute(query)
    db.session.commit()
