"""Enquiries that did not come through the site: a phone call, a meeting at a fair (CONTRACT §5).

They go through the same validator and the same `submit_enquiry` as the form and the API, with
the lawful basis and how consent was obtained instead of a ticked box.
"""

from crm.enquiries.policy import current_policy
from crm.enquiries.services import RecordedBy, submit_enquiry
from crm.enquiries.validation import EnquiryInvalid, validate_enquiry
from crm.staff.queries import staff_member

LAWFUL_BASES = {
    "consent": "Consent given in person or by phone",
    "legitimate_interest": "Legitimate interest (a business contact who asked us)",
    "contract": "Steps the person asked for before an agreement",
}
MAX_EVIDENCE = 500


def record_enquiry(raw, *, lawful_basis, evidence, assignee_id, acknowledge, actor, ip_address=None):
    """Store an enquiry `actor` took by phone or in person; returns the Submission.

    Raises EnquiryInvalid with every bad field (the enquiry's and these) and stores nothing. A
    manager may leave it unassigned, keep it, or hand it to an active colleague; an admin likewise.
    """
    errors = {}
    evidence = " ".join((evidence or "").split())
    if lawful_basis not in LAWFUL_BASES:
        errors["lawful_basis"] = ["Choose the lawful basis."]
    if not evidence:
        errors["evidence"] = ["Say how and when the person agreed, e.g. “verbal, at BIO-Europe”."]
    elif len(evidence) > MAX_EVIDENCE:
        errors["evidence"] = [f"Must be at most {MAX_EVIDENCE} characters."]
    if assignee_id is not None:
        assignee = staff_member(assignee_id)
        if assignee is None or not assignee.active or assignee.password_hash is None:
            errors["assignee_id"] = ["Choose an active staff member, or leave it unassigned."]
    try:
        validate_enquiry(raw, current_policy().version, consent_required=False)
    except EnquiryInvalid as invalid:
        errors = {**invalid.fields, **errors}
    if errors:
        raise EnquiryInvalid(errors)
    return submit_enquiry(raw, source="manual", ip_address=ip_address, recorded=RecordedBy(
        actor=actor, lawful_basis=lawful_basis, evidence=evidence, assignee_id=assignee_id,
        acknowledge=bool(acknowledge)))
