"""Imports every model so that metadata (and Alembic) sees the whole schema."""

from crm.assignment.models import AssignmentRule
from crm.core.audit import AuditLog
from crm.dashboard.models import ClosingCount, MonthCount, ResponseHours, StatusCount, WeekCount
from crm.enquiries.models import (
    Activity,
    Consent,
    Contact,
    Enquiry,
    IdempotencyKey,
    PrivacyPolicy,
    SpentFormToken,
)
from crm.gdpr.models import DataSubjectRequest, ErasureTombstone, ProcessingRecord, PurgeRun
from crm.notifications.models import OutboxMessage, WorkerHeartbeat
from crm.staff.models import RecoveryCode, User, UserSession
from crm.triage.models import ReminderDigest

__all__ = [
    "Activity",
    "AssignmentRule",
    "AuditLog",
    "ClosingCount",
    "Consent",
    "Contact",
    "DataSubjectRequest",
    "Enquiry",
    "ErasureTombstone",
    "IdempotencyKey",
    "MonthCount",
    "OutboxMessage",
    "PrivacyPolicy",
    "ProcessingRecord",
    "PurgeRun",
    "RecoveryCode",
    "ResponseHours",
    "ReminderDigest",
    "SpentFormToken",
    "StatusCount",
    "User",
    "UserSession",
    "WeekCount",
    "WorkerHeartbeat",
]
