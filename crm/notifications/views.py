"""/admin/outbox: admins watch the outbox, read a message's last error and requeue dead ones."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.core.params import query_int
from crm.core.security import client_address
from crm.enquiries.pending import intake_summary
from crm.notifications.models import OUTBOX_STATUSES
from crm.notifications.queries import outbox_message, outbox_page, waiting_counts
from crm.notifications.redaction import redact_secrets
from crm.notifications.services import NotRequeueable, requeue_message
from crm.staff.access import admin_required

bp = Blueprint("outbox_admin", __name__, url_prefix="/admin/outbox")
bp.add_app_template_filter(redact_secrets, "redact_secrets")


def _list_arguments():
    """`status` (one of the statuses, or empty) and `before` (a positive id); 400 otherwise."""
    status = request.args.get("status", "")
    if status not in ("", *OUTBOX_STATUSES):
        abort(400)
    return status or None, query_int(request.args, "before")


@bp.get("")
@admin_required
def index():
    status, before = _list_arguments()
    rows, next_before = outbox_page(status, before)
    return render_template(
        "admin/outbox.html", rows=rows, status=status, before=before, next_before=next_before,
        statuses=OUTBOX_STATUSES, counts=waiting_counts(),
        mail_server=current_app.config.get("MAIL_SERVER"), intake=intake_summary(),
    )


@bp.get("/<int:message_id>")
@admin_required
def detail(message_id):
    message = outbox_message(message_id) or abort(404)
    return render_template("admin/outbox_detail.html", message=message,
                           mail_server=current_app.config.get("MAIL_SERVER"))


@bp.post("/<int:message_id>/requeue")
@admin_required
def requeue(message_id):
    try:
        requeue_message(message_id, actor=current_user, ip_address=client_address())
    except LookupError:
        abort(404)
    except NotRequeueable as refusal:
        flash(f"Only a dead message can be requeued; this one is {refusal}.", "error")
    else:
        flash("Requeued: the worker will try it again within a few seconds.", "success")
    return redirect(url_for(".detail", message_id=message_id), code=303)
