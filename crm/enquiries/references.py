"""Enquiry references: short, easy to read out on the phone, and not guessable from another."""

import secrets

# Crockford's base32: no I, L, O or U, so nothing is misread.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference():
    """`AAL-XXXX-XXXX`: 40 random bits from the OS's secure generator, in base32."""
    bits = secrets.randbits(40)
    chars = "".join(ALPHABET[(bits >> shift) & 31] for shift in range(35, -1, -5))
    return f"AAL-{chars[:4]}-{chars[4:]}"
