"""Small helpers shared by the GDPR and audit admin views."""

from flask import Response, stream_with_context
from flask_login import current_user

from crm.core.audit import record_audit
from crm.core.security import client_address
from crm.extensions import db


def audit_use(action, target_type=None, target_id=None):
    """Write (and commit) the audit entry for this use of an admin page or export."""
    record_audit(action, actor=current_user, target_type=target_type, target_id=target_id,
                 ip_address=client_address())
    db.session.commit()


def csv_download(lines, filename):
    """A streamed CSV attachment (the generator runs inside the request context)."""
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
