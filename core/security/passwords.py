"""Password hashing with argon2id; a hash that needs an upgrade is rehashed at the next login."""

from __future__ import annotations

import hashlib
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..i18n import gettext as _

_hasher = PasswordHasher()


@cache
def _dummy() -> str:
    """A hash to verify against when the user does not exist; made on first use, not at import."""
    return _hasher.hash("voronka-dummy-password")


MIN_LENGTH = 8
MAX_LENGTH = 1024  # the login form accepts no more; a longer password could never be typed in


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches; an unknown user is checked against a dummy hash to keep timing flat."""
    try:
        return _hasher.verify(stored or _dummy(), password) and bool(stored)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def password_problem(password: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return _("The password must be at least %(min)d characters long.") % {"min": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return _("The password must be at most %(max)d characters long.") % {"max": MAX_LENGTH}
    if not password.strip():
        return _("The password cannot be only spaces.")
    return None


def session_auth_hash(stored: str) -> str:
    """A short fingerprint of the password hash kept in the session: changing the password logs others out."""
    return hashlib.sha256(stored.encode()).hexdigest()[:16]
