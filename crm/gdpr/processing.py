"""The record of processing activities (Art. 30), kept as data and edited by admins."""

import sqlalchemy as sa

from crm.core.audit import record_audit
from crm.core.db import utcnow
from crm.extensions import db
from crm.gdpr.models import ProcessingRecord


def processing_record():
    return db.session.scalars(
        sa.select(ProcessingRecord).order_by(ProcessingRecord.position, ProcessingRecord.id)
    ).all()


def update_processing_section(section_id, heading, body, *, actor, ip_address=None):
    """Change one section's heading and text; returns it (LookupError when there is none)."""
    section = db.session.get(ProcessingRecord, section_id)
    if section is None:
        raise LookupError(section_id)
    section.heading = heading.strip()
    section.body = body.strip()
    section.updated_at = utcnow()
    section.updated_by_id = actor.id
    record_audit("gdpr.processing_record_updated", actor=actor, target_type="processing_record",
                 target_id=section.id, ip_address=ip_address)
    db.session.commit()
    return section
