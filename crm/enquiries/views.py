"""The public site: the enquiry form, its thanks page, the privacy policy and the health check."""

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, session, url_for

from crm.core.security import client_address, user_agent
from crm.enquiries.forms import EnquiryForm, issue_time_trap, looks_automated
from crm.enquiries.policy import current_policy
from crm.enquiries.references import new_reference
from crm.enquiries.services import submit_enquiry
from crm.enquiries.validation import EnquiryInvalid
from crm.extensions import db, limiter

bp = Blueprint("public", __name__)


def public_rate_limit():
    return current_app.config["CRM_PUBLIC_RATE_LIMIT"]


# One budget per client address, shared by the form and the JSON API.
submission_limit = limiter.shared_limit(
    public_rate_limit, scope="public-submission", methods=["POST"]
)


@bp.get("/")
def index():
    return redirect(url_for("public.enquire"))


def _render_form(form, policy, status=200):
    form.policy_version.data = policy.version
    form.started.data = issue_time_trap()
    return render_template("public/enquire.html", form=form, policy=policy), status


@bp.route("/enquire", methods=["GET", "POST"])
@submission_limit
def enquire():
    form = EnquiryForm()
    policy = current_policy()
    if not form.is_submitted():
        return _render_form(form, policy)
    # CSRFProtect has already refused a missing or bad token (400) before this view ran.
    if looks_automated(form):
        # Answer like a success so that a bot learns nothing; store nothing.
        session["enquiry_reference"] = new_reference()
        return redirect(url_for("public.thanks"), code=303)
    try:
        submission = submit_enquiry(
            form.as_submission(policy.version), source="form", ip_address=client_address(), user_agent=user_agent()
        )
    except EnquiryInvalid as invalid:
        for field, messages in invalid.fields.items():
            form[field].errors = list(messages)
        return _render_form(form, current_policy(), 422)
    session["enquiry_reference"] = submission.reference
    return redirect(url_for("public.thanks"), code=303)


@bp.get("/enquire/thanks")
def thanks():
    return render_template("public/thanks.html", reference=session.get("enquiry_reference"))


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html", policy=current_policy())


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"})
