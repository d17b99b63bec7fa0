"""The inbox's search box: a substring of a contact's name, email or company, or a reference.

Substrings are found through an index made for them: FTS5 with the trigram tokenizer on SQLite
(the `contacts_search` table, kept in step with `contacts` by triggers) and `pg_trgm` GIN
indexes on PostgreSQL (migration 7d3e9a4c1b20). A trigram index needs three characters, so:

- a search needs a run of at least three letters or digits (`Ada`, `@nordic`, `1234`);
  anything shorter, or only punctuation (`%`, `_`, `a.`), matches no contact: an empty list,
  never a scan of the whole table;
- a reference (`AAL-XXXX-XXXX`, any case, the `AAL-` optional) matches exactly through its
  unique index, whatever its length; text of that shape is looked up as a reference only;
- a complete email address (`ada@nordic.example`) that a contact has is looked up through the
  unique email index (otherwise it is searched as a substring like any text): a trigram
  phrase as long as an address costs tens of milliseconds at a million contacts, because its
  common trigrams (`exa`, `.co`) occur everywhere;
- at most MAX_CONTACTS matching contacts, the most recent first, are looked at, so that a
  common surname costs the same as a rare one; narrow the search to see older ones.
"""

import re

import sqlalchemy as sa

from crm.enquiries.models import Contact, Enquiry
from crm.extensions import db

MAX_CONTACTS = 200  # eight pages of 25: enough to pick from, cheap at any size
SAMPLE, SAMPLE_HITS = 2000, 30  # PostgreSQL: how common a word is, from the newest contacts
_WORD_RUN = re.compile(r"[^\W_]{3}")
_REFERENCE = re.compile(r"(AAL-)?[0-9A-Z]{4}-[0-9A-Z]{4}", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")


def searchable(text):
    """Whether `text` can use the trigram index (a run of three letters or digits)."""
    return bool(_WORD_RUN.search(text))


def _reference(text):
    reference = text.strip().upper()
    return reference if reference.startswith("AAL-") else f"AAL-{reference}"


def _trgm_match(text):
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return sa.or_(Contact.name.ilike(pattern, escape="\\"), Contact.email.ilike(pattern, escape="\\"),
                  Contact.company.ilike(pattern, escape="\\"))


def _postgresql_matches(text):
    """Ids of at most MAX_CONTACTS matching contacts, newest first, at a bounded cost.

    PostgreSQL can walk contacts newest-first testing each (cheap for a common word, a walk of
    the whole table for a rare one) or collect every match through the trigram indexes (cheap
    for a rare word, tens of thousands of rows for a common one). A sample of the SAMPLE newest
    contacts tells which: SAMPLE_HITS matches or more and the walk finds MAX_CONTACTS within
    about MAX_CONTACTS * SAMPLE / SAMPLE_HITS rows; fewer, and the indexes hold few matches
    (`id + 0` keeps the planner off the walk).
    """
    match = _trgm_match(text)
    newest = db.session.scalar(sa.select(sa.func.max(Contact.id))) or 0
    sample = sa.select(Contact.id).where(Contact.id > newest - SAMPLE, match).limit(SAMPLE_HITS).subquery()
    common = db.session.scalar(sa.select(sa.func.count()).select_from(sample)) >= SAMPLE_HITS
    order = Contact.id.desc() if common else (Contact.id + 0).desc()
    return list(db.session.scalars(sa.select(Contact.id).where(match).order_by(order).limit(MAX_CONTACTS)))


def matching_contacts(text):
    """SELECT of the ids of at most MAX_CONTACTS contacts whose name, email or company
    contains `text` (case-insensitive), newest first."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.select(Contact.id).where(Contact.id.in_(_postgresql_matches(text) or [0]))
    phrase = '"' + text.replace('"', '""') + '"'  # one FTS5 phrase: the text as typed, no operators
    rowid = sa.column("rowid")
    return (sa.select(rowid).select_from(sa.table("contacts_search"))
            .where(sa.text("contacts_search MATCH :phrase").bindparams(phrase=phrase))
            .order_by(rowid.desc()).limit(MAX_CONTACTS))


def search_clause(text):
    """The WHERE clause for enquiries matching `text` (see the module's docstring)."""
    by_reference = Enquiry.reference == _reference(text)
    if _REFERENCE.fullmatch(text.strip()):
        return by_reference  # a reference's shape: no name, email or company looks like it
    if _EMAIL.fullmatch(text.strip()):
        exact = db.session.scalar(sa.select(Contact.id).where(Contact.email == text.strip().lower()))
        if exact is not None:
            return Enquiry.contact_id == exact
    if not searchable(text):
        return by_reference
    if db.session.get_bind().dialect.name == "postgresql":
        # The ids themselves, not a subquery: told of at most MAX_CONTACTS contacts, PostgreSQL
        # reads their enquiries through the contact_id index instead of walking every enquiry
        # newest-first in the hope of a match (a full walk when there is none).
        ids = _postgresql_matches(text)
        return sa.or_(by_reference, Enquiry.contact_id.in_(ids)) if ids else by_reference
    return sa.or_(by_reference, Enquiry.contact_id.in_(matching_contacts(text).scalar_subquery()))
