"""The privacy policy shown with every enquiry form; consent is tied to its exact text."""

import hashlib
from functools import cache

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


# The same policy (version 2026-01) in Danish: a text of its own with its own SHA-256, published
# by a later migration. A consent records which language it was shown in.
FIRST_POLICY_TEXT_DA = """\
Privatlivspolitik for henvendelser til Invest in Aalborg (version 2026-01)

Hvem er ansvarlig
Invest in Aalborg, erhvervsfremmeorganisationen for investeringer i Aalborg og Nordjylland, er
dataansvarlig for de oplysninger, du sender os via denne formular eller vores API til henvendelser.

Hvad vi indsamler
Dit navn, din e-mailadresse, din virksomhed, dit telefonnummer (hvis du oplyser det), dit land,
sektor og emne for din henvendelse samt din besked. For at kunne dokumentere dit samtykke
registrerer vi også, hvilken version af denne politik du har accepteret, tidspunktet, din
IP-adresse og din browsers brugeragent.

Hvorfor vi bruger oplysningerne
Kun for at besvare din henvendelse og hjælpe din virksomhed eller dit projekt med at etablere sig,
finde partnere, talent eller finansiering i Nordjylland: en investeringsrådgiver læser din
henvendelse, kontakter dig, noterer jeres samtaler og planlægger opfølgning. Vi sælger ikke dine
oplysninger, vi bruger dem ikke til nyhedsbreve eller markedsføring, og vi træffer ingen
automatiske afgørelser om dig.

Retsgrundlag
Dit samtykke (databeskyttelsesforordningens artikel 6, stk. 1, litra a), som du giver ved at sætte
kryds i samtykkefeltet. Du kan til enhver tid trække det tilbage; det påvirker ikke det, der er
sket forinden.

Hvem ser oplysningerne
Medarbejderne hos Invest in Aalborg, der behandler henvendelser, samt vores hosting- og
e-mailleverandører, der behandler dem på vores vegne efter databehandleraftaler. Vi deler dem kun
med en partner (for eksempel Aalborg Universitet eller en kommune), hvis du beder os om det.

Hvor længe vi opbevarer dem
Så længe din henvendelse er åben, og i to år efter den seneste aktivitet, når den er afsluttet.
Derefter slettes de automatisk. E-mails, vi sender dig, slettes fra vores systemer kort efter
levering.

Dine rettigheder
Du kan bede om en kopi af alt, hvad vi har om dig, få det rettet eller slettet, og du kan gøre
indsigelse mod eller begrænse brugen. Skriv til privacy@investinaalborg.example fra den
e-mailadresse, du brugte. Du kan også klage til Datatilsynet.
"""


def policy_sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_policy(language="en"):
    """The current policy in `language`: what the form shows and whose version the API asks for.

    The current version is the latest English one; its translation is shown where one exists,
    else the English text (a translation of an older version is never shown as current). A row
    (version, language, text, sha256, published_at, id), or None before any is published.
    """
    return db.session.connection().execute(_current_statement(), {"language": language}).first()


def policy_text(version, language="en"):
    """The policy `version` in `language` (else its English text), as current_policy's row.

    For an enquiry accepted by the intake queue: the consent points at the text shown then,
    even if a newer version is current by the time the worker stores it.
    """
    from crm.enquiries.models import PrivacyPolicy

    policies = PrivacyPolicy.__table__
    return db.session.connection().execute(
        sa.select(policies.c.id, policies.c.version, policies.c.language, policies.c.text,
                  policies.c.sha256, policies.c.published_at)
        .where(policies.c.version == version, policies.c.language.in_([language, "en"]))
        .order_by((policies.c.language == language).desc()).limit(1)).one()


def current_version_sql():
    """The current version as a scalar subquery in plain SQL (the intake fast path's insert)."""
    return ("(SELECT version FROM privacy_policies WHERE language = 'en' "
            "ORDER BY published_at DESC, id DESC LIMIT 1)")


@cache
def _current_statement():
    # One statement built once: on the submission path the ORM query cost more than the read.
    from crm.enquiries.models import PrivacyPolicy

    policies = PrivacyPolicy.__table__
    latest = (sa.select(policies.c.version).where(policies.c.language == "en")
              .order_by(policies.c.published_at.desc(), policies.c.id.desc()).limit(1).scalar_subquery())
    wanted = sa.bindparam("language")
    return (sa.select(policies.c.id, policies.c.version, policies.c.language, policies.c.text,
                      policies.c.sha256, policies.c.published_at)
            .where(policies.c.version == latest, policies.c.language.in_([wanted, "en"]))
            .order_by((policies.c.language == wanted).desc()).limit(1))


def policy_sections(text):
    """The policy as (heading, paragraph) pairs for a readable page: the title line first."""
    blocks = [block.strip() for block in text.strip().split("\n\n") if block.strip()]
    sections = []
    for block in blocks:
        first, _, rest = block.partition("\n")
        sections.append((first.strip(), " ".join(line.strip() for line in rest.splitlines())))
    return sections
