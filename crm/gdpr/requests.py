"""Data-subject requests (Art. 15–21): logged with their one-month deadline, marked handled."""

import calendar
from datetime import date

import sqlalchemy as sa

from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.extensions import db
from crm.gdpr.models import REQUEST_KINDS, DataSubjectRequest
from crm.gdpr.subjects import email_hmac, subject_email


class RequestInvalid(Exception):
    """The request's kind or date was refused."""


def one_month_after(day):
    """The same day next month, or that month's last day (Art. 12(3): "within one month")."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def log_request(email, kind, received_on, *, actor, ip_address=None, today=None):
    """Record a data-subject request received on `received_on`; returns it.

    The person is named by the keyed hash of their email, so the log keeps no address.
    """
    today = today or utcnow().date()
    if kind not in REQUEST_KINDS:
        raise RequestInvalid("kind")
    if received_on > today:
        raise RequestInvalid("received_on")
    request = DataSubjectRequest(
        kind=kind, subject_hmac=email_hmac(subject_email(email)), received_on=received_on,
        due_on=one_month_after(received_on), created_by_id=actor.id,
    )
    db.session.add(request)
    db.session.flush()
    record_audit("gdpr.request_logged", actor=actor, target_type="data_subject_request",
                 target_id=request.id, ip_address=ip_address)
    db.session.commit()
    return request


def mark_request_handled(request_id, *, actor, ip_address=None):
    """Record who answered the request and when; returns it (LookupError when there is none)."""
    request = db.session.get(DataSubjectRequest, request_id)
    if request is None:
        raise LookupError(request_id)
    if request.handled_at is None:
        request.handled_at = utcnow()
        request.handled_by_id = actor.id
        record_audit("gdpr.request_handled", actor=actor, target_type="data_subject_request",
                     target_id=request.id, ip_address=ip_address)
    db.session.commit()
    return request


def open_and_recent_requests(limit=50):
    """Unanswered requests (soonest due first), then the most recently answered ones."""
    waiting = db.session.scalars(
        sa.select(DataSubjectRequest).where(DataSubjectRequest.handled_at.is_(None))
        .order_by(DataSubjectRequest.due_on, DataSubjectRequest.id)
    ).all()
    done = db.session.scalars(
        sa.select(DataSubjectRequest).where(DataSubjectRequest.handled_at.is_not(None))
        .order_by(DataSubjectRequest.handled_at.desc()).limit(limit)
    ).all()
    return waiting, done


def requests_for(email):
    digest = email_hmac(subject_email(email))
    return db.session.scalars(
        sa.select(DataSubjectRequest).where(DataSubjectRequest.subject_hmac == digest)
        .order_by(DataSubjectRequest.id)
    ).all()
