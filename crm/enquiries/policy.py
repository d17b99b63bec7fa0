"""The privacy policy shown with every enquiry form; consent is tied to its exact text."""

import hashlib

import sqlalchemy as sa

from crm.extensions import db

FIRST_POLICY_VERSION = "2026-01"

# Published by the first migration. A new version is a new row, never an edit of this text:
# consents given under it point at its SHA-256.
FIRST_POLICY_TEXT = """\
Privacy policy for enquiries to Invest in Aalborg (version 2026-01)

Who is responsible
Invest in Aalborg, the investment promotion agency for Aalborg and North Denmark, is the data
controller for the information you send us through this enquiry form or our enquiry API.

What we collect
Your name, email address, company, phone number (if you give it), country, the sector and topic
of your enquiry, and your message. To prove your consent we also record the version of this
policy you accepted, the time, your IP address and your browser's user agent.

Why we use it
Only to answer your enquiry and to help your company or project establish itself, find partners,
talent or funding in North Denmark: an investment manager reads your enquiry, contacts you,
keeps notes of your conversations and schedules follow-ups. We do not sell your data, we do not
use it for newsletters or marketing, and we do not make automated decisions about you.

Legal basis
Your consent (GDPR article 6(1)(a)), which you give by ticking the consent box. You can withdraw
it at any time; withdrawal does not affect what was done before.

Who sees it
The staff of Invest in Aalborg who handle enquiries, and our hosting and email providers, who
process it on our behalf under data processing agreements. We share it with a partner (for
example Aalborg University or a municipality) only if you ask us to.

How long we keep it
While your enquiry is open, and for two years after its last activity once it is closed. Then it
is erased automatically. Emails we send you are deleted from our systems soon after delivery.

Your rights
You may ask for a copy of everything we hold about you, have it corrected, or have it erased, and
you may object to or restrict its use. Write to privacy@investinaalborg.example with the email
address you used. You may also complain to the Danish Data Protection Agency (Datatilsynet).
"""


def policy_sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_policy():
    """The most recently published policy: what the form shows and the API asks for."""
    from crm.enquiries.models import PrivacyPolicy

    return db.session.scalar(
        sa.select(PrivacyPolicy).order_by(PrivacyPolicy.published_at.desc(), PrivacyPolicy.id.desc()).limit(1)
    )
