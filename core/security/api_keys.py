"""API keys: create and revoke the keys that open routes marked ``@api_key(...)``.

A key's secret looks like ``vk_ab12cd34_<random>``. Only its SHA-256 hash is stored, with the public part
(``vk_ab12cd34``, the prefix) for people to tell keys apart; the secret is returned once, when it is made.

Which scopes exist is known to the web layer (the scopes that ``@api_key`` markers on the app's routes
ask for), so callers pass that set in: core does not look at routes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ValidationError
from ..i18n import gettext as _
from ..models import ApiKey, User

PREFIX_START = "vk_"
NAME_LIMIT = 120
_PREFIX_TRIES = 8


def hash_api_key(secret: str) -> str:
    """The stored form of a key's secret (the guard looks keys up by it)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def normal_prefix(prefix: str) -> str:
    """``ab12cd34`` or ``vk_ab12cd34`` (or a whole secret) to the stored prefix ``vk_ab12cd34``."""
    prefix = prefix.strip()
    if not prefix.startswith(PREFIX_START):
        prefix = PREFIX_START + prefix
    return prefix[: len(PREFIX_START) + 8]


def key_problems(
    session: Session, name: str, scopes: Iterable[str], user_id: int | None, known_scopes: Collection[str]
) -> dict[str, str]:
    """Messages per field (``name``, ``scopes``, ``user_id``) for a key that cannot be created; empty when fine."""
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = _("Enter a name for the key, such as the system that uses it.")
    elif len(name) > NAME_LIMIT:
        errors["name"] = _("Keep the name to %(limit)d characters or fewer.") % {"limit": NAME_LIMIT}
    chosen = sorted({s.strip() for s in scopes if s.strip()})
    unknown = [s for s in chosen if s not in known_scopes]
    if not known_scopes:
        errors["scopes"] = _("No route accepts API keys yet, so there is no scope to grant.")
    elif unknown:
        errors["scopes"] = _("Unknown scope(s): %(unknown)s. Known scopes: %(known)s.") % {
            "unknown": ", ".join(unknown),
            "known": ", ".join(sorted(known_scopes)),
        }
    elif not chosen:
        errors["scopes"] = _("Choose at least one scope: a key without scopes opens nothing.")
    if user_id is not None:
        active = session.scalar(select(User.active).where(User.id == user_id))
        if active is None:
            errors["user_id"] = _("That user does not exist.")
        elif not active:
            errors["user_id"] = _("That user is deactivated; a key cannot act for them.")
    return errors


def create_api_key(
    session: Session,
    name: str,
    scopes: Iterable[str],
    user_id: int | None = None,
    *,
    known_scopes: Collection[str],
) -> tuple[ApiKey, str]:
    """Add a key and return it with its secret, the only time the secret exists outside the caller.

    ``known_scopes`` are the scopes the app's routes ask for; raises ``ValidationError`` with a message per
    field (name 1-120 characters, at least one scope, every scope known, the acting user active).
    """
    scopes = list(scopes)
    errors = key_problems(session, name, scopes, user_id, known_scopes)
    if errors:
        raise ValidationError(errors)
    for _try in range(_PREFIX_TRIES):
        prefix = PREFIX_START + secrets.token_hex(4)
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    else:  # pragma: no cover - 2**32 prefixes; only a nearly full table gets here
        raise ValidationError(_("Could not find a free key prefix. Try again."))
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        key_hash=hash_api_key(secret),
        scopes=sorted({s.strip() for s in scopes if s.strip()}),
        user_id=user_id,
        active=True,
    )
    session.add(key)
    session.flush()
    return key, secret


def revoke_api_key(session: Session, key_id: int) -> ApiKey | None:
    """Switch a key off for good (every process refuses it from the next request); None when there is no
    such key. Revoking a revoked key changes nothing. The row stays, so the list still shows it."""
    key = session.get(ApiKey, key_id)
    if key is not None and key.active:
        key.active = False
        session.flush()
    return key


def find_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.prefix == normal_prefix(prefix)))
