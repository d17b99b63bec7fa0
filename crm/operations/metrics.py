"""Prometheus metrics, read from the database at each scrape.

Every gunicorn worker on every host answers with the same figures, because they come from the
database that all of them share: no per-process counters to add up, nothing lost on a restart.
"""

from datetime import timedelta

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from crm.core.db import utcnow
from crm.enquiries.models import Enquiry
from crm.enquiries.pending import queue_figures
from crm.extensions import db
from crm.notifications.heartbeats import ALIVE_WITHIN
from crm.notifications.models import OUTBOX_STATUSES, OutboxMessage, WorkerHeartbeat


class DatabaseCollector:
    def __init__(self, clock=utcnow):
        self.clock = clock

    def collect(self):
        now = self.clock()
        scalar = db.session.scalar

        yield GaugeMetricFamily("crm_enquiries", "Enquiries stored.",
                                value=scalar(sa.select(sa.func.count()).select_from(Enquiry)))
        recent = GaugeMetricFamily("crm_enquiries_received_last_hour",
                                   "Enquiries received in the last hour, by source.", labels=["source"])
        for source, n in db.session.execute(
            sa.select(Enquiry.source, sa.func.count())
            .where(Enquiry.created_at >= now - timedelta(hours=1)).group_by(Enquiry.source)
        ):
            recent.add_metric([source], n)
        yield recent

        by_status = dict.fromkeys(OUTBOX_STATUSES, 0)
        by_status.update(db.session.execute(
            sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all())
        outbox = GaugeMetricFamily("crm_outbox_messages",
                                   "Outbox messages by status (pending: the queue; dead: given up).",
                                   labels=["status"])
        for status, n in by_status.items():
            outbox.add_metric([status], n)
        yield outbox
        oldest = scalar(sa.select(sa.func.min(OutboxMessage.created_at))
                        .where(OutboxMessage.status == "pending"))
        if oldest is not None and oldest.tzinfo is None:  # SQLite through a raw aggregate
            oldest = oldest.replace(tzinfo=now.tzinfo)
        yield GaugeMetricFamily("crm_outbox_oldest_pending_age_seconds",
                                "Age of the oldest message waiting to be sent (0: none waits).",
                                value=max((now - oldest).total_seconds(), 0) if oldest else 0)

        pending, oldest_age, failing = queue_figures(self.clock)
        yield GaugeMetricFamily("crm_intake_pending",
                                "API submissions accepted by the intake queue, not yet stored.",
                                value=pending)
        yield GaugeMetricFamily("crm_intake_oldest_pending_age_seconds",
                                "Age of the oldest submission waiting in the intake queue (0: none).",
                                value=max(oldest_age, 0))
        yield GaugeMetricFamily("crm_intake_failing",
                                "Intake rows that failed to store at least once (kept, retried).",
                                value=failing)

        beats = db.session.scalars(sa.select(WorkerHeartbeat).order_by(WorkerHeartbeat.worker)).all()
        seen = GaugeMetricFamily("crm_outbox_worker_last_seen_timestamp_seconds",
                                 "When each outbox worker last said it was alive (Unix time).",
                                 labels=["worker"])
        for beat in beats:
            seen.add_metric([beat.worker], beat.seen_at.timestamp())
        yield seen
        yield GaugeMetricFamily("crm_outbox_workers_alive",
                                f"Outbox workers seen in the last {ALIVE_WITHIN.seconds} seconds.",
                                value=sum(1 for b in beats if now - b.seen_at <= ALIVE_WITHIN))
        db.session.rollback()  # read only: end the transaction before the response


def render_metrics(clock=utcnow):
    """The Prometheus text exposition of the figures above."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(clock))
    return generate_latest(registry)
