"""Secrets at rest (mailbox passwords, OAuth tokens, API keys of other systems), encrypted with Fernet.

The keys come from the deployment's configuration, ``secret_keys`` (a list; separate from the
cookie-signing ``secret_key``): the first key encrypts, every key decrypts, so a new key goes first and
the old one stays until ``voronka secrets rotate`` has re-encrypted everything with the new one.

A model declares a column as :class:`EncryptedText`; the database holds only the Fernet token. The
keyring is attached to an engine with :func:`install_keys` (``create_app`` and the CLI do it), so
applications with different keys can share a process, as tests do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Engine, MetaData, Table, Text, column, select, table, tuple_, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from .db import make_sessionmaker, write_transaction
from .errors import ConfigError, VoronkaError

log = logging.getLogger("voronka.secrets")

MISSING_KEY = (
    "No key to encrypt or decrypt stored secrets is configured. Set secret_keys in voronka.toml "
    "(or VORONKA_SECRET_KEYS); generate one with `voronka secrets generate-key`."
)
WRONG_KEY = (
    "A stored secret in {where} cannot be decrypted with any key in secret_keys: the key it was encrypted with "
    "is missing. Put that key back in secret_keys (after the current one), then run `voronka secrets rotate` "
    "to re-encrypt everything with the first key."
)

_ATTR = "_voronka_keyring"


class SecretKeyError(VoronkaError):
    """A secret cannot be encrypted or decrypted: the key is missing or is not the one used."""


def generate_key() -> str:
    """A new random key for ``secret_keys`` (32 random bytes, url-safe base64)."""
    return Fernet.generate_key().decode("ascii")


class Keyring:
    """The configured keys: the first encrypts, all decrypt."""

    def __init__(self, keys: Iterable[str]):
        fernets = []
        for n, key in enumerate(keys):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError, AttributeError):
                raise ConfigError(
                    f"secret_keys[{n}] is not a valid key (it must be 32 url-safe base64-encoded bytes); "
                    "generate one with `voronka secrets generate-key`."
                ) from None
        if not fernets:
            raise SecretKeyError(MISSING_KEY)
        self._first = fernets[0]
        self._all = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._all.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, where: str = "the database") -> str:
        try:
            return self._all.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretKeyError(WRONG_KEY.format(where=where)) from None

    def current(self, token: str) -> bool:
        """Whether ``token`` is already encrypted with the first key (rotation skips it)."""
        try:
            self._first.decrypt(token.encode("ascii"))
            return True
        except (InvalidToken, UnicodeError):
            return False

    def rotate(self, token: str, where: str = "the database") -> str:
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise SecretKeyError(WRONG_KEY.format(where=where)) from None


def install_keys(engine: Engine, keys: Iterable[str]) -> Keyring | None:
    """Attach the keyring for ``keys`` to ``engine`` (none configured: secrets fail with MISSING_KEY on use)."""
    keys = [k for k in keys if k and k.strip()]
    keyring = Keyring(keys) if keys else None
    setattr(engine.dialect, _ATTR, keyring)
    return keyring


def keyring_of(dialect: Dialect) -> Keyring:
    keyring = getattr(dialect, _ATTR, None)
    if keyring is None:
        raise SecretKeyError(MISSING_KEY)
    return keyring


class EncryptedText(TypeDecorator[str]):
    """Text stored encrypted: plaintext in Python, a Fernet token in the database.

    A value that no configured key decrypts raises :class:`SecretKeyError` naming the fix. Encrypted values
    cannot be searched or compared in SQL (each encryption differs), so filter on other columns.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).decrypt(value)


@dataclass(frozen=True)
class EncryptedColumn:
    table: Table
    column: Column[Any]

    @property
    def where(self) -> str:
        return f"{self.table.name}.{self.column.name}"

    def raw(self) -> Any:
        """A lightweight table over the same columns with plain types, to read and write tokens as stored."""
        pk = [column(c.name, c.type) for c in self.table.primary_key.columns]
        return table(self.table.name, *pk, column(self.column.name, Text()))


def encrypted_columns(metadata: MetaData) -> list[EncryptedColumn]:
    found = []
    for tbl in metadata.sorted_tables:
        for col in tbl.columns:
            if isinstance(col.type, EncryptedText):
                found.append(EncryptedColumn(tbl, col))
    return found


def check_keys(engine: Engine, metadata: MetaData) -> None:
    """At start-up: refuse clearly when stored secrets exist and the configured keys cannot read them.

    One stored value per encrypted column is tried; tables not created yet (a plugin whose migrations
    have not run) are skipped.
    """
    keyring = getattr(engine.dialect, _ATTR, None)
    for enc in encrypted_columns(metadata):
        raw = enc.raw()
        value_col = raw.c[enc.column.name]
        try:
            with engine.connect() as conn:
                token = conn.scalar(select(value_col).where(value_col.is_not(None)).limit(1))
        except Exception:
            continue
        if token is None:
            continue
        if keyring is None:
            raise SecretKeyError(f"{enc.where} holds encrypted secrets. {MISSING_KEY}")
        keyring.decrypt(token, enc.where)


def rotate(
    engine: Engine, metadata: MetaData, *, batch_size: int = 500, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Re-encrypt every stored secret with the first key, in batches of one short transaction each.

    Values already on the first key are left alone, so an interrupted rotation simply runs again.
    Returns {"table.column": values re-encrypted}.
    """
    keyring = keyring_of(engine.dialect)
    sessions = make_sessionmaker(engine)
    done: dict[str, int] = {}
    for enc in encrypted_columns(metadata):
        raw = enc.raw()
        pk = [raw.c[c.name] for c in enc.table.primary_key.columns]
        value_col = raw.c[enc.column.name]
        last: tuple[Any, ...] | None = None
        count = 0
        while True:
            with write_transaction(sessions) as session:
                query = select(*pk, value_col).where(value_col.is_not(None)).order_by(*pk).limit(batch_size)
                if last is not None:
                    query = query.where(tuple_(*pk) > tuple_(*last) if len(pk) > 1 else pk[0] > last[0])
                rows = session.execute(query).all()
                for row in rows:
                    token = row[-1]
                    if keyring.current(token):
                        continue
                    new = keyring.rotate(token, enc.where)
                    condition = [c == v for c, v in zip(pk, row[:-1], strict=True)]
                    session.execute(update(raw).where(*condition).values({enc.column.name: new}))
                    count += 1
            if not rows:
                break
            last = tuple(rows[-1][:-1])
            if progress is not None:
                progress(enc.where, count)
            if len(rows) < batch_size:
                break
        done[enc.where] = count
    return done


__all__ = [
    "EncryptedText",
    "Keyring",
    "SecretKeyError",
    "check_keys",
    "encrypted_columns",
    "generate_key",
    "install_keys",
    "rotate",
]
