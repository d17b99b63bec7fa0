"""The public site: the enquiry form, its thanks page, the privacy policy and the health check."""

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from flask import (
    Blueprint,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l

from crm.core.security import CSP, client_address, user_agent
from crm.enquiries.forms import EnquiryForm
from crm.enquiries.policy import current_policy, policy_sections
from crm.enquiries.services import submit_enquiry
from crm.enquiries.time_trap import issue_token, spring_time_trap
from crm.enquiries.validation import EnquiryInvalid, validate_enquiry
from crm.extensions import db, limiter
from crm.i18n import current_language

bp = Blueprint("public", __name__)


def public_rate_limit():
    return current_app.config["CRM_PUBLIC_RATE_LIMIT"]


def _submission_cost():
    # A request the intake fast path counted already and passed on costs nothing more.
    return 0 if request.environ.get("crm.intake.counted") else 1


# One budget per client address, shared by the form and the JSON API (and the intake fast path,
# crm.enquiries.intake_fast_path, which counts with the same storage and key).
submission_limit = limiter.shared_limit(
    public_rate_limit, scope="public-submission", methods=["POST"], cost=_submission_cost
)


@bp.get("/")
def index():
    return redirect(url_for("public.enquire"))


THANKS_SESSION_KEY = "enquiry_thanks"
ORIGIN_RE = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]+)?")  # nothing that could end the directive
TRAP_SESSION_KEY = "enquiry_form_served"
SEND_AGAIN = _l("Please check your details and send again.")


def _render_form(form, policy, status=200, *, first_served=None, token=None, retry_after=None):
    """The form page; the time-trap token carries the first-served time (see time_trap)."""
    form.policy_version.data = policy.version
    form.started.data = token or issue_token(first_served)
    # The session times a client that posts only the documented fields (no `started`).
    session[TRAP_SESSION_KEY] = form.started.data
    return render_template("public/enquire.html", form=form, policy=policy,
                           retry_after=retry_after, embed=embedded()), status


def _show_field_errors(form, policy):
    """Mark the fields that would be refused, so one round trip fixes everything."""
    try:
        validate_enquiry(form.as_submission(policy.version), policy.version)
    except EnquiryInvalid as invalid:
        for field, messages in invalid.fields.items():
            form[field].errors = list(messages)


@bp.route("/enquire", methods=["GET", "POST"])
@submission_limit
def enquire():
    form = EnquiryForm()
    policy = current_policy(current_language())
    if not form.is_submitted():
        return _render_form(form, policy)
    # CSRFProtect has already refused a missing or bad token (400) before this view ran.
    if form.website.data:
        # The honeypot: answer like a success so that a bot learns nothing; store and claim nothing.
        session[THANKS_SESSION_KEY] = {}
        return redirect(_thanks_url(), code=303)
    trap = spring_time_trap(form.started.data or session.get(TRAP_SESSION_KEY),
                            current_app.config["CRM_FORM_MIN_SECONDS"])
    if not trap.passed:
        form.form_errors.append(SEND_AGAIN)
        _show_field_errors(form, policy)
        return _render_form(form, policy, 422, first_served=trap.first_served)
    try:
        submission = submit_enquiry(
            form.as_submission(policy.version), source="form", ip_address=client_address(),
            user_agent=user_agent(), policy_language=policy.language,
        )
    except EnquiryInvalid as invalid:
        for field, messages in invalid.fields.items():
            form[field].errors = list(messages)
        return _render_form(form, current_policy(current_language()), 422, first_served=trap.first_served)
    session.pop(TRAP_SESSION_KEY, None)
    session[THANKS_SESSION_KEY] = thanks_note(submission)
    return redirect(_thanks_url(), code=303)


@bp.errorhandler(429)
def enquire_rate_limited(error):
    """A rate-limited form post: the form again with all input kept and the time to wait.

    The posted time-trap token was not spent (the view never ran), so it is carried as it is.
    """
    if request.endpoint != "public.enquire":
        return error
    form = EnquiryForm()
    wait = retry_after_seconds()
    response = make_response(_render_form(form, current_policy(current_language()), 429,
                                          token=form.started.data or None, retry_after=wait))
    response.headers["Retry-After"] = str(wait)
    return response


def retry_after_seconds():
    limit = limiter.current_limit
    if limit is None:
        return 60
    # As Flask-Limiter computes its Retry-After header.
    return max(1, int(limit.reset_at - time.time()))


def thanks_note(submission):
    """What the thanks page may say about a real submission (kept in the signed session)."""
    due = submission.response_due_at
    return {"reference": submission.reference, "acknowledged": submission.acknowledged,
            "response_due_at": due.isoformat() if due else None}


@bp.get("/enquire/thanks")
def thanks():
    note = session.get(THANKS_SESSION_KEY) or {}
    due = note.get("response_due_at")
    return render_template("public/thanks.html", reference=note.get("reference"),
                           acknowledged=note.get("acknowledged", False), embed=embedded(),
                           response_due_at=datetime.fromisoformat(due) if due else None)


def embedded():
    """`?embed=1`: the form and its thanks page without the site's header and footer."""
    return request.args.get("embed") == "1"


def _thanks_url():
    return url_for("public.thanks", embed=1) if embedded() else url_for("public.thanks")


@bp.after_request
def allow_framing_of_the_embed(response):
    """The embeddable pages may be framed by CRM_CORS_ORIGINS only (none when it is empty)."""
    if embedded() and request.endpoint in ("public.enquire", "public.thanks"):
        origins = " ".join(o for o in current_app.config["CRM_CORS_ORIGINS"] if ORIGIN_RE.fullmatch(o))
        origins = origins or "'none'"
        response.headers["Content-Security-Policy"] = CSP.replace(
            "frame-ancestors 'none'", f"frame-ancestors {origins}")
    return response


@bp.get("/privacy")
def privacy():
    policy = current_policy(current_language())
    return render_template("public/privacy.html", policy=policy, sections=policy_sections(policy.text))


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"})


PROMISED_TIME_FORMATS = {"en": "EEEE d MMMM y, HH:mm", "da": "EEEE 'den' d. MMMM y 'kl.' HH:mm"}


@bp.app_template_filter("promised_time")
def promised_time(moment, language=None):
    """A promised answer time (aware UTC) in the agency's time zone, written in `language`."""
    language = language or current_language()
    zone = ZoneInfo(current_app.config.get("CRM_TIMEZONE", "Europe/Copenhagen"))
    return format_datetime(moment, PROMISED_TIME_FORMATS.get(language, PROMISED_TIME_FORMATS["en"]),
                           tzinfo=zone, locale=language)


bp.add_app_template_global(policy_sections, "policy_sections")
