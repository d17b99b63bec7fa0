"""Password hashing with argon2id (argon2-cffi)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 12
MAX_LENGTH = 128

_strong = PasswordHasher()  # the library's RFC 9106 low-memory defaults
# Tests hash many passwords: the cheapest parameters argon2id allows keep the suite fast.
_fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _hasher():
    return _fast if current_app.config.get("PASSWORD_HASH_FAST") else _strong


def password_problem(password):
    """Why `password` is not acceptable, or None."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    return None


def hash_password(password):
    return _hasher().hash(password)


def verify_password(password_hash, password):
    """True when `password` matches; never raises for a wrong or malformed hash."""
    if not password_hash or not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return _hasher().check_needs_rehash(password_hash)
