"""/privacy/withdraw/<token>: the link in every email to a prospect (CONTRACT §6)."""

from flask import Blueprint, render_template

from crm.core.security import client_address
from crm.gdpr.forms import ConfirmForm
from crm.gdpr.withdrawal import consent_withdrawn, contact_for_token, withdraw_consent

bp = Blueprint("privacy_withdrawal", __name__, url_prefix="/privacy/withdraw")
# The enquiry page says when a person withdrew consent (templates/staff/enquiry.html).
bp.add_app_template_global(consent_withdrawn, "consent_withdrawn")


def _invalid():
    # Bad, expired or tampered links change nothing and say so kindly.
    return render_template("public/withdraw_invalid.html"), 404


@bp.get("/<token>")
def confirm(token):
    contact = contact_for_token(token)
    if contact is None:
        return _invalid()
    return render_template("public/withdraw.html", form=ConfirmForm(),
                           already=consent_withdrawn(contact))


@bp.post("/<token>")
def withdraw(token):
    contact = contact_for_token(token)
    if contact is None:
        return _invalid()
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("public/withdraw.html", form=form, already=False), 400
    withdraw_consent(contact, ip_address=client_address())
    return render_template("public/withdrawn.html")
