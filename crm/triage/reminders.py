"""`flask crm remind`: the daily digests that keep anything from slipping (CONTRACT §7, §8).

Each assignee with follow-ups overdue or due today gets one digest (subject contains "overdue");
the admins get one digest of the enquiries past their response target ("unanswered"). A
ReminderDigest row per person, kind and local day, under a unique constraint, is written in the
transaction that queues the email: however often the command runs (or two at once), each
person gets at most one digest of each kind a day.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.enquiries.models import CLOSED_STATUSES, Enquiry
from crm.extensions import db
from crm.notifications.services import queue_email
from crm.staff.models import User
from crm.triage.calendar import local_today
from crm.triage.models import ReminderDigest

DIGEST_LIMIT = 100  # rows listed in one email; the rest are counted


@dataclass
class RemindResult:
    overdue_sent: list = field(default_factory=list)  # user ids
    unanswered_sent: list = field(default_factory=list)
    skipped: int = 0  # digests already sent today


def _follow_ups_due(today):
    """Enquiries with a follow-up due today or earlier, by assignee (landed ones are in aftercare)."""
    rows = db.session.scalars(
        sa.select(Enquiry).options(joinedload(Enquiry.contact))
        .where(Enquiry.next_follow_up_on <= today, Enquiry.assignee_id.is_not(None),
               Enquiry.status.not_in(("lost", "spam")))
        .order_by(Enquiry.next_follow_up_on, Enquiry.id)
    )
    by_assignee = defaultdict(list)
    for enquiry in rows:
        by_assignee[enquiry.assignee_id].append(enquiry)
    return by_assignee


def _unanswered(now):
    query = (sa.select(Enquiry).options(joinedload(Enquiry.contact), joinedload(Enquiry.assignee))
             .where(Enquiry.first_response_at.is_(None), Enquiry.response_due_at < now,
                    Enquiry.status.not_in(CLOSED_STATUSES))
             .order_by(Enquiry.response_due_at, Enquiry.id))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    return db.session.scalars(query.limit(DIGEST_LIMIT)).unique().all(), total


def _send_once(user, kind, today, now, queue):
    """Claim (user, kind, today) and queue the digest in one transaction; False if already sent."""
    try:
        with db.session.begin_nested():
            db.session.add(ReminderDigest(user_id=user.id, kind=kind, local_date=today, created_at=now))
            db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    queue()
    record_audit(f"reminders.{kind}_sent", target_type="user", target_id=user.id)
    try:
        db.session.commit()
    except IntegrityError:  # another run claimed it between our flush and commit
        db.session.rollback()
        return False
    return True


def send_reminders(clock=utcnow):
    """Queue today's digests that have not gone out yet; returns a RemindResult. Safe to rerun."""
    now, today = clock(), local_today(clock)
    base_url = current_app.config["CRM_BASE_URL"]
    result = RemindResult()
    due_by_assignee = _follow_ups_due(today)
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(
        User.id.in_(list(due_by_assignee)), User.active.is_(True)))}
    for user_id, enquiries in due_by_assignee.items():
        user = people.get(user_id)
        if user is None:
            continue
        overdue = sum(1 for e in enquiries if e.next_follow_up_on < today)

        def queue(user=user, enquiries=enquiries, overdue=overdue):
            queue_email("reminder_overdue", user.email, "triage/overdue", user=user, staff_name=user.name,
                        enquiries=enquiries[:DIGEST_LIMIT], more=max(len(enquiries) - DIGEST_LIMIT, 0),
                        overdue=overdue, due_today=len(enquiries) - overdue, today=today, base_url=base_url)

        if _send_once(user, "overdue", today, now, queue):
            result.overdue_sent.append(user.id)
        else:
            result.skipped += 1

    enquiries, total = _unanswered(now)
    if total:
        admins = db.session.scalars(sa.select(User).where(User.role == "admin", User.active.is_(True))
                                    .order_by(User.id)).all()
        for admin in admins:
            def queue(admin=admin):
                queue_email("reminder_unanswered", admin.email, "triage/unanswered", user=admin,
                            staff_name=admin.name, enquiries=enquiries, total=total,
                            more=max(total - len(enquiries), 0), today=today, base_url=base_url)

            if _send_once(admin, "unanswered", today, now, queue):
                result.unanswered_sent.append(admin.id)
            else:
                result.skipped += 1
    db.session.rollback()  # end the read transaction
    return result
