"""Assigning enquiries: the engine's choice at submission, by hand, and when a manager leaves."""

from collections import Counter
from datetime import date

import sqlalchemy as sa
from flask import current_app

from crm.assignment.engine import (
    Lead,
    choose_assignee,
    describe_reason,
    is_present,
    lock_choice,
    today_local,
)
from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.enquiries.models import CLOSED_STATUSES, Activity, Enquiry
from crm.enquiries.options import SECTORS, label
from crm.extensions import db
from crm.notifications.services import queue_email
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


def assign_new_enquiry(enquiry, now=None):
    """Give a new, not yet flushed enquiry to the engine's choice, in the caller's transaction.

    The assignee is emailed; when nobody is eligible the enquiry stays in the shared queue and
    each active admin gets one `unassigned` email. Does not commit. Returns the Choice.
    """
    now = now or utcnow()
    lead = Lead.of(enquiry, returning=enquiry.contact.id is not None)
    # No autoflush: every new row is written in the caller's one flush at commit, assignee
    # included. (Flushing first to keep the INSERTs outside the lock measured slower: the lock
    # is not where the time goes, the extra round trips are.)
    with db.session.no_autoflush:
        lock_choice()
        choice = choose_assignee(lead)
        if choice.user is None:
            _tell_admins_unassigned(enquiry)
        else:
            _apply(enquiry, choice.user, None, choice.reason, now)
    return choice


def assign_recorded_enquiry(enquiry, assignee_id, actor, now):
    """An enquiry `actor` recorded by hand goes to whom they chose, in the caller's transaction.

    A colleague is emailed like any assignee; keeping it yourself sends nothing.
    """
    assignee = db.session.get(User, assignee_id)
    reason = {"reason": "recorded"}
    if assignee.id == actor.id:
        enquiry.assignee = assignee
        assignee.last_assigned_at = now
        db.session.add(Activity(enquiry=enquiry, actor_id=actor.id, kind="assigned", created_at=now,
                                details={"from": None, "to": assignee.id, **reason}))
    else:
        _apply(enquiry, assignee, actor, reason, now)


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
            user, reason = choice.user, {"reason": "reassigned", "engine": choice.reason}
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
    return db.session.scalar(sa.select(sa.func.count()).select_from(Enquiry).where(
        Enquiry.assignee_id == user.id, Enquiry.status.not_in(CLOSED_STATUSES)))


def _enquiry_url(enquiry):
    return f"{current_app.config['CRM_BASE_URL']}/staff/enquiries/{enquiry.reference}"


def _apply(enquiry, user, actor, reason, now):
    previous = enquiry.assignee_id
    enquiry.assignee = user
    enquiry.last_activity_at = now
    user.last_assigned_at = now
    db.session.add(Activity(enquiry=enquiry, actor_id=getattr(actor, "id", None), kind="assigned",
                            created_at=now, details={"from": previous, "to": user.id, **reason}))
    contact = enquiry.contact
    message = queue_email(
        "enquiry_assigned", user.email, "assignment/assigned", enquiry=enquiry, user=user,
        staff_name=user.name, reassigned=previous is not None, reference=enquiry.reference,
        sector=enquiry.sector, topic=enquiry.topic, country=contact.country,
        company=contact.company, url=_enquiry_url(enquiry),
        why=describe_reason(reason), by=getattr(actor, "name", None),
    )
    db.session.add(Activity(enquiry=enquiry, kind="email_queued", created_at=now,
                            details={"kind": message.kind, "to": "assignee"}))


def _tell_admins_unassigned(enquiry):
    admins = db.session.scalars(
        sa.select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
    ).all()
    contact = enquiry.contact
    for admin in admins:
        queue_email(
            "enquiry_unassigned", admin.email, "assignment/unassigned", enquiry=enquiry, user=admin,
            staff_name=admin.name, reference=enquiry.reference, sector=enquiry.sector,
            topic=enquiry.topic, country=contact.country, company=contact.company,
            url=_enquiry_url(enquiry),
        )
