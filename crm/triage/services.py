"""Use cases of the triage area."""

from crm.core.audit import record_audit
from crm.extensions import db


def record_access(action, viewer, ip_address, *, enquiry=None):
    """Audit that `viewer` saw personal data: a list of enquiries, or one enquiry by id."""
    record_audit(action, actor=viewer, target_type="enquiry" if enquiry else None,
                 target_id=enquiry.id if enquiry else None, ip_address=ip_address)
    db.session.commit()
