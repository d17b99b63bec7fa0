"""Assigning enquiries: the engine's choice at submission, by hand, and when a manager leaves."""

from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import cache

import sqlalchemy as sa
from flask import current_app

from crm.assignment.engine import (
    Lead,
    choose_assignee,
    describe_reason,
    is_present,
    lock_choice,
    open_count,
    today_local,
)
from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.enquiries.models import CLOSED_STATUSES, Activity, Enquiry
from crm.enquiries.options import SECTORS, label
from crm.extensions import db
from crm.notifications.services import email_row, queue_email
from crm.staff.models import User


class AssigneeInvalid(Exception):
    """The chosen person cannot take enquiries (unknown, inactive, or never set a password)."""


class NotYours(Exception):
    """A manager acted on an enquiry that has become another manager's (answered as 404)."""


class NeedsConfirmation(Exception):
    """The assignment is allowed but unusual (outside their sectors, away): confirm it first."""

    def __init__(self, warnings):
        super().__init__(warnings)
        self.warnings = warnings


def can_be_assigned(user):
    return user is not None and user.active and user.password_hash is not None


@dataclass(frozen=True)
class NewEnquiry:
    """A new enquiry's plain values: the submission path writes its rows without ORM objects."""

    reference: str
    sector: str
    topic: str
    language: str
    country: str
    company: str
    email: str
    returning: bool  # the contact existed before: the engine looks for continuity


def assign_new_enquiry(new, now):
    """The engine's choice for a new enquiry (`new`: a NewEnquiry), in the caller's transaction.

    Takes the choice lock (held until the caller commits; the caller has already written the
    contact, which on SQLite holds the write lock) and stamps the assignee's `last_assigned_at`.
    Returns (assignee id, timeline entries, outbox rows), the entries and rows without
    `enquiry_id`, which the caller fills in once the enquiry is inserted. When nobody is
    eligible: no assignee, and one `unassigned` email to each active admin.
    """
    lead = Lead(sector=new.sector, topic=new.topic, country=new.country, language=new.language,
                email=new.email if new.returning else None)
    lock_choice(written=True)
    choice = choose_assignee(lead)
    if choice.user is None:
        return None, [], _unassigned_emails(new, now)
    activities, emails = _assigned_rows(new, choice.user, None, choice.reason, now)
    return choice.user.id, activities, emails


def assign_recorded_enquiry(new, assignee_id, actor, now):
    """An enquiry `actor` recorded by hand goes to whom they chose, in the caller's transaction.

    A colleague is emailed like any assignee; keeping it yourself sends nothing. Returns
    (timeline entries, outbox rows) as `assign_new_enquiry` does.
    """
    assignee = db.session.get(User, assignee_id)
    reason = {"reason": "recorded"}
    if assignee.id == actor.id:
        _stamp_last_assigned(assignee.id, now)
        return [Activity.row("assigned", now, {"from": None, "to": assignee.id, **reason}, actor.id)], []
    return _assigned_rows(new, assignee, actor, reason, now)


def assignment_warnings(enquiry, assignee, today=None):
    """What makes giving `enquiry` to `assignee` unusual, in words (empty: nothing)."""
    today = today or today_local()
    warnings = []
    if not assignee.covers(enquiry.sector):
        warnings.append(f"{assignee.name} does not cover {label(SECTORS, enquiry.sector)}.")
    if not is_present(assignee, today):
        warnings.append(f"{assignee.name} is away until {assignee.away_until.isoformat()}.")
    return warnings


def assign_enquiry(enquiry, assignee, actor, *, confirm=False, ip_address=None):
    """Assign `enquiry` to `assignee` by hand: timeline, audit and an email to them.

    An admin assigns any enquiry; a manager one that is theirs or unassigned (NotYours
    otherwise, checked again under the lock so that two claims cannot both win). Unusual
    choices raise NeedsConfirmation unless `confirm`. Assigning to the current assignee again
    changes nothing and sends nothing (returns False).
    """
    if not can_be_assigned(assignee):
        raise AssigneeInvalid()
    lock_choice()
    db.session.refresh(enquiry)
    if not actor.is_admin and enquiry.assignee_id not in (None, actor.id):
        db.session.rollback()
        raise NotYours()
    if enquiry.assignee_id == assignee.id:
        db.session.rollback()
        return False
    warnings = assignment_warnings(enquiry, assignee)
    if warnings and not confirm:
        db.session.rollback()
        raise NeedsConfirmation(warnings)
    reason = {"reason": "manual", **({"outside_sectors": True} if not assignee.covers(enquiry.sector) else {})}
    _apply(enquiry, assignee, actor, reason, utcnow())
    record_audit("enquiry.assigned", actor=actor, target_type="enquiry", target_id=enquiry.reference,
                 ip_address=ip_address)
    db.session.commit()
    return True


def reassign_open_enquiries(from_user, to_user=None, *, actor=None, ip_address=None):
    """Move `from_user`'s open enquiries to `to_user`, or each to the engine's choice.

    Without `to_user` the engine never picks `from_user`; an enquiry nobody can take goes back
    to the shared queue. Returns a Counter of new assignee ids (None: unassigned).
    """
    if to_user is not None and (not can_be_assigned(to_user) or to_user.id == from_user.id):
        raise AssigneeInvalid()
    lock_choice()
    enquiries = db.session.scalars(
        sa.select(Enquiry).where(Enquiry.assignee_id == from_user.id,
                                 Enquiry.status.not_in(CLOSED_STATUSES))
        .order_by(Enquiry.created_at, Enquiry.id)
    ).all()
    now = utcnow()
    moved = Counter()
    for enquiry in enquiries:
        if to_user is not None:
            user, reason = to_user, {"reason": "reassigned"}
        else:
            # Each choice sees the previous ones (autoflush), so the load spreads.
            choice = choose_assignee(Lead.of(enquiry), exclude={from_user.id})
            user = choice.user and db.session.get(User, choice.user.id)
            reason = {"reason": "reassigned", "engine": choice.reason}
        if user is None:
            enquiry.assignee_id = None
            enquiry.last_activity_at = now
            db.session.add(Activity(enquiry=enquiry, actor_id=getattr(actor, "id", None), kind="unassigned",
                                    created_at=now, details={"from": from_user.id, **reason}))
        else:
            _apply(enquiry, user, actor, reason, now)
        moved[getattr(user, "id", None)] += 1
    record_audit("enquiries.reassigned", actor=actor, target_type="user", target_id=from_user.id,
                 ip_address=ip_address)
    db.session.commit()
    return moved


def set_away(user, away_until, *, actor, ip_address=None):
    """Set (or clear, with None) the last day `user` is away; no new work reaches them till then."""
    if away_until is not None and not isinstance(away_until, date):
        raise AssigneeInvalid()
    user.away_until = away_until
    record_audit("user.away_set", actor=actor, target_type="user", target_id=user.id, ip_address=ip_address)
    db.session.commit()


def open_enquiry_count(user):
    return open_count(user.id)


@cache
def _stamp_statement():
    users = User.__table__
    return (sa.update(users).where(users.c.id == sa.bindparam("user_id"))
            .values(last_assigned_at=sa.bindparam("now", type_=users.c.last_assigned_at.type)))


def _stamp_last_assigned(user_id, now):
    db.session.connection().execute(_stamp_statement(), {"user_id": user_id, "now": now})


def _enquiry_url(reference):
    return f"{current_app.config['CRM_BASE_URL']}/staff/enquiries/{reference}"


def _assignment_email(assignee, actor, reason, facts, previous=None, **row):
    """The `assigned` email to `assignee` about the enquiry described by `facts` (a NewEnquiry):
    the keyword arguments of `queue_email` or `email_row`."""
    return dict(
        kind="enquiry_assigned", recipient=assignee.email, template="assignment/assigned",
        staff_name=assignee.name, reassigned=previous is not None, reference=facts.reference,
        sector=facts.sector, topic=facts.topic, country=facts.country, company=facts.company,
        url=_enquiry_url(facts.reference),
        why=describe_reason(reason), by=getattr(actor, "name", None), **row,
    )


def _assigned_rows(new, user, actor, reason, now):
    _stamp_last_assigned(user.id, now)
    email = email_row(**_assignment_email(user, actor, reason, new, user_id=user.id, now=now))
    return [
        Activity.row("assigned", now, {"from": None, "to": user.id, **reason}, getattr(actor, "id", None)),
        Activity.row("email_queued", now, {"kind": email["kind"], "to": "assignee"}),
    ], [email]


def _unassigned_emails(new, now):
    admins = db.session.execute(
        sa.select(User.id, User.email, User.name).where(User.role == "admin", User.active.is_(True))
        .order_by(User.id)
    ).all()
    return [
        email_row("enquiry_unassigned", admin.email, "assignment/unassigned", user_id=admin.id, now=now,
                  staff_name=admin.name, reference=new.reference, sector=new.sector, topic=new.topic,
                  country=new.country, company=new.company,
                  url=_enquiry_url(new.reference))
        for admin in admins
    ]


def _apply(enquiry, user, actor, reason, now):
    previous = enquiry.assignee_id
    enquiry.assignee = user
    enquiry.last_activity_at = now
    user.last_assigned_at = now
    db.session.add(Activity(enquiry=enquiry, actor_id=getattr(actor, "id", None), kind="assigned",
                            created_at=now, details={"from": previous, "to": user.id, **reason}))
    contact = enquiry.contact
    facts = NewEnquiry(reference=enquiry.reference, sector=enquiry.sector, topic=enquiry.topic,
                       language=enquiry.language, country=contact.country, company=contact.company,
                       email=contact.email, returning=True)
    message = queue_email(**_assignment_email(user, actor, reason, facts, previous=previous,
                                              enquiry=enquiry, user=user))
    db.session.add(Activity(enquiry=enquiry, kind="email_queued", created_at=now,
                            details={"kind": message.kind, "to": "assignee"}))
