"""Assigning an enquiry to a staff member by hand (the rules engine comes later)."""

from flask import current_app

from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.enquiries.models import Activity
from crm.extensions import db
from crm.notifications.services import queue_email


class AssigneeInvalid(Exception):
    """The chosen person cannot take enquiries (unknown, inactive, or never set a password)."""


def assign_enquiry(enquiry, assignee, actor, ip_address=None):
    """Assign `enquiry` to `assignee`: a timeline entry, an audit entry and an email to them.

    Assigning to the current assignee again changes nothing and sends nothing.
    """
    if assignee is None or not assignee.active or assignee.password_hash is None:
        raise AssigneeInvalid()
    if enquiry.assignee_id == assignee.id:
        return False
    now = utcnow()
    previous = enquiry.assignee_id
    enquiry.assignee_id = assignee.id
    enquiry.last_activity_at = now
    db.session.add(Activity(enquiry=enquiry, actor_id=actor.id, kind="assigned", created_at=now,
                            details={"from": previous, "to": assignee.id}))
    message = queue_email(
        "enquiry_assigned", assignee.email, "assignment/assigned", enquiry=enquiry, user=assignee,
        staff_name=assignee.name, reassigned=previous is not None, reference=enquiry.reference,
        sector=enquiry.sector, topic=enquiry.topic, country=enquiry.contact.country,
        company=enquiry.contact.company,
        url=f"{current_app.config['CRM_BASE_URL']}/staff/enquiries/{enquiry.reference}",
    )
    db.session.add(Activity(enquiry=enquiry, kind="email_queued", created_at=now,
                            details={"kind": message.kind, "to": "assignee"}))
    record_audit("enquiry.assigned", actor=actor, target_type="enquiry", target_id=enquiry.reference,
                 ip_address=ip_address)
    db.session.commit()
    return True
