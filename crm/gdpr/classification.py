"""Every column of the schema, classified: does it hold a data subject's personal data?

- "subject": personal data of a prospect (a data subject of this CRM): it must be exported by
  `export_subject` (crm.gdpr.services.EXPORTED_COLUMNS) and erased by `erase_subject`
  (crm.gdpr.erasure.ERASED_COLUMNS). tests/gdpr/test_completeness.py checks both.
- "figure": kept on an anonymised enquiry after erasure, because it says nothing about who the
  person was (sector, status, dates, jobs and capex).
- "staff": about staff members' own accounts and actions; managed on /admin/users.
- "none": not personal data (keys, hashes of policy texts, configuration, bookkeeping).

A new column anywhere fails the completeness test until it is classified here.
"""

SUBJECT, FIGURE, STAFF, NONE = "subject", "figure", "staff", "none"

COLUMNS = {
    # The data subject.
    "contacts.id": NONE, "contacts.email": SUBJECT, "contacts.name": SUBJECT,
    "contacts.company": SUBJECT, "contacts.phone": SUBJECT, "contacts.country": SUBJECT,
    "contacts.created_at": SUBJECT, "contacts.updated_at": SUBJECT,
    "contacts.acknowledged_at": SUBJECT,
    # Enquiries: the message and lost reason are free text about the person; the rest are figures.
    "enquiries.id": NONE, "enquiries.reference": FIGURE, "enquiries.contact_id": SUBJECT,
    "enquiries.sector": FIGURE, "enquiries.topic": FIGURE, "enquiries.message": SUBJECT,
    "enquiries.language": FIGURE, "enquiries.source": FIGURE, "enquiries.status": FIGURE,
    "enquiries.lost_reason": SUBJECT, "enquiries.assignee_id": STAFF,
    "enquiries.next_follow_up_on": FIGURE, "enquiries.first_response_at": FIGURE,
    "enquiries.response_due_at": FIGURE, "enquiries.priority": FIGURE,
    "enquiries.created_at": FIGURE, "enquiries.updated_at": FIGURE,
    "enquiries.last_activity_at": FIGURE, "enquiries.closed_at": FIGURE,
    "enquiries.project_type": FIGURE, "enquiries.planned_jobs": FIGURE,
    "enquiries.realised_jobs": FIGURE, "enquiries.planned_capex_eur": FIGURE,
    "enquiries.realised_capex_eur": FIGURE,
    # Consent evidence is about the person: deleted with them.
    "consents.id": NONE, "consents.contact_id": SUBJECT, "consents.enquiry_id": SUBJECT,
    "consents.purpose": SUBJECT, "consents.lawful_basis": SUBJECT,
    "consents.policy_version": SUBJECT, "consents.policy_sha256": SUBJECT,
    "consents.method": SUBJECT, "consents.evidence": SUBJECT, "consents.given_at": SUBJECT,
    "consents.ip_address": SUBJECT, "consents.user_agent": SUBJECT,
    "consents.withdrawn_at": SUBJECT, "consents.policy_language": SUBJECT,
    # The timeline: notes and reasons are free text about the person.
    "activities.id": NONE, "activities.enquiry_id": NONE, "activities.actor_id": STAFF,
    "activities.kind": SUBJECT, "activities.details": SUBJECT, "activities.created_at": SUBJECT,
    # Email: every row to or about a person goes with them.
    "outbox_messages.id": NONE, "outbox_messages.message_id": NONE,
    "outbox_messages.kind": SUBJECT, "outbox_messages.recipient": SUBJECT,
    "outbox_messages.subject": SUBJECT, "outbox_messages.text": SUBJECT,
    "outbox_messages.html": SUBJECT, "outbox_messages.status": SUBJECT,
    "outbox_messages.attempts": NONE, "outbox_messages.next_attempt_at": NONE,
    "outbox_messages.claimed_until": NONE, "outbox_messages.claimed_by": NONE,
    "outbox_messages.last_error": SUBJECT, "outbox_messages.failing_since": NONE,
    "outbox_messages.created_at": SUBJECT, "outbox_messages.sent_at": SUBJECT,
    "outbox_messages.enquiry_id": NONE, "outbox_messages.contact_id": NONE,
    "outbox_messages.user_id": STAFF, "outbox_messages.reply_to": STAFF,
    # The stored first answer to an API request (a client-chosen key and the body's hash).
    "idempotency_keys.key": SUBJECT, "idempotency_keys.request_sha256": SUBJECT,
    "idempotency_keys.enquiry_id": NONE, "idempotency_keys.response": SUBJECT,
    "idempotency_keys.created_at": SUBJECT,
    # The intake queue (CRM_INTAKE_QUEUE): an API submission for the seconds before the worker
    # stores it; everything in it is about the person (exported, erased, deleted on withdrawal).
    **{f"intake.{c}": SUBJECT for c in (
        "reference", "name", "email", "company", "phone", "country", "sector", "topic", "message",
        "language", "policy_version", "policy_language", "ip_address", "user_agent", "received_at",
        "last_error")},
    "intake.id": NONE, "intake.attempts": NONE, "intake.next_attempt_at": NONE,
    # Proof of erasure: a keyed hash, not reversible.
    "erasure_tombstones.id": NONE, "erasure_tombstones.email_hmac": NONE,
    "erasure_tombstones.reason": NONE, "erasure_tombstones.erased_at": NONE,
    "data_subject_requests.id": NONE, "data_subject_requests.kind": NONE,
    "data_subject_requests.subject_hmac": NONE, "data_subject_requests.received_on": NONE,
    "data_subject_requests.due_on": NONE, "data_subject_requests.created_by_id": STAFF,
    "data_subject_requests.created_at": NONE, "data_subject_requests.handled_by_id": STAFF,
    "data_subject_requests.handled_at": NONE,
    "privacy_policies.id": NONE, "privacy_policies.version": NONE, "privacy_policies.text": NONE,
    "privacy_policies.sha256": NONE, "privacy_policies.published_at": NONE,
    "privacy_policies.language": NONE,
    # Spent time-trap tokens of the public form: a random id and when it was used.
    "spent_form_tokens.nonce": NONE, "spent_form_tokens.spent_at": NONE,
    "purge_runs.id": NONE, "purge_runs.started_at": NONE, "purge_runs.finished_at": NONE,
    "purge_runs.dry_run": NONE, "purge_runs.counts": NONE,
    "processing_records.id": NONE, "processing_records.position": NONE,
    "processing_records.heading": NONE, "processing_records.body": NONE,
    "processing_records.updated_at": NONE, "processing_records.updated_by_id": STAFF,
    # Outbox workers' heartbeats: a process name and its counts.
    "worker_heartbeats.worker": NONE, "worker_heartbeats.started_at": NONE,
    "worker_heartbeats.seen_at": NONE, "worker_heartbeats.handled": NONE,
    # Which reminder digests a staff member got on which day.
    "reminder_digests.id": NONE, "reminder_digests.user_id": STAFF, "reminder_digests.kind": NONE,
    "reminder_digests.local_date": NONE, "reminder_digests.created_at": NONE,
    # The audit log names records by id or reference only (crm.core.audit).
    "audit_log.id": NONE, "audit_log.actor_id": STAFF, "audit_log.action": NONE,
    "audit_log.target_type": NONE, "audit_log.target_id": NONE, "audit_log.ip_address": STAFF,
    "audit_log.created_at": NONE,
    # Staff accounts.
    "users.id": NONE, "users.email": STAFF, "users.name": STAFF, "users.title": STAFF,
    "users.role": STAFF, "users.active": STAFF, "users.password_hash": STAFF,
    "users.sectors": STAFF, "users.topics": STAFF, "users.languages": STAFF,
    "users.away_until": STAFF, "users.totp_secret": STAFF, "users.totp_last_counter": STAFF,
    "users.created_at": STAFF, "users.last_login_at": STAFF, "users.last_assigned_at": STAFF,
    "user_sessions.id": NONE, "user_sessions.token_hash": STAFF, "user_sessions.user_id": STAFF,
    "user_sessions.created_at": STAFF, "user_sessions.last_seen_at": STAFF,
    "user_sessions.ip_address": STAFF, "user_sessions.user_agent": STAFF,
    "user_sessions.revoked_at": STAFF,
    "recovery_codes.id": NONE, "recovery_codes.user_id": STAFF, "recovery_codes.code_hash": STAFF,
    "recovery_codes.created_at": STAFF, "recovery_codes.used_at": STAFF,
    "assignment_rules.id": NONE, "assignment_rules.priority": NONE, "assignment_rules.sectors": NONE,
    "assignment_rules.topics": NONE, "assignment_rules.countries": NONE,
    "assignment_rules.description": NONE, "assignment_rules.created_at": NONE,
    "assignment_rules.user_id": STAFF, "assignment_rules.active": NONE,
    # Dashboard counters (crm/dashboard/models.py): counts and sums, no person in them. A lost
    # reason is an enquiry's own free text: erasure blanks it on the enquiry, and the trigger
    # then moves the count to '' and deletes the text's row with its last count.
    **{f"dashboard_months.{c}": NONE for c in (
        "month", "sector", "source", "status", "assignee_id", "n", "answered", "on_time", "answered_late",
        "unanswered_due", "planned_jobs", "planned_capex_eur", "realised_jobs", "realised_capex_eur")},
    **{f"dashboard_weeks.{c}": NONE for c in ("week", "sector", "assignee_id", "n")},
    **{f"dashboard_response_hours.{c}": NONE for c in ("month", "assignee_id", "hours", "n")},
    **{f"dashboard_closings.{c}": NONE for c in (
        "month", "sector", "status", "assignee_id", "n", "planned_jobs", "planned_capex_eur", "realised_jobs",
        "realised_capex_eur")},
    "dashboard_closings.lost_reason": SUBJECT,
    **{f"dashboard_totals.{c}": NONE for c in (
        "sector", "status", "assignee_id", "n", "planned_jobs", "planned_capex_eur", "realised_jobs",
        "realised_capex_eur")},
}
