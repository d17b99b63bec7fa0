"""How often, and with what, the agency acknowledges an enquiry to the address it names.

Anyone can type anyone's address into the public form, so the acknowledgement is a mail the
agency sends to a stranger's choice of recipient. At most one an hour goes to one address
(the enquiry is still stored and staff still hear of it), and the only free text it carries is a
bounded name; everything else in it comes from fixed vocabularies.
"""

from datetime import timedelta

ACKNOWLEDGEMENT_INTERVAL = timedelta(hours=1)
GREETING_NAME_MAX = 60


def acknowledgement_due(last, now):
    """True unless the address was acknowledged (at `last`) within the last hour."""
    return last is None or now - last >= ACKNOWLEDGEMENT_INTERVAL


def greeting_name(name):
    """The name on one line, at most GREETING_NAME_MAX characters (an ellipsis marks a cut)."""
    name = " ".join((name or "").split())
    if len(name) <= GREETING_NAME_MAX:
        return name
    return name[:GREETING_NAME_MAX - 1].rstrip() + "…"
