"""Imports every model so that metadata (and Alembic) sees the whole schema."""

from crm.assignment.models import AssignmentRule
from crm.core.audit import AuditLog
from crm.enquiries.models import (
    Activity,
    Consent,
    Contact,
    Enquiry,
    IdempotencyKey,
    PrivacyPolicy,
    SpentFormToken,
)
from crm.gdpr.models import ErasureTombstone
from crm.notifications.models import OutboxMessage
from crm.staff.models import RecoveryCode, User, UserSession

__all__ = [
    "Activity",
    "AssignmentRule",
    "AuditLog",
    "Consent",
    "Contact",
    "Enquiry",
    "ErasureTombstone",
    "IdempotencyKey",
    "OutboxMessage",
    "PrivacyPolicy",
    "RecoveryCode",
    "SpentFormToken",
    "User",
    "UserSession",
]
