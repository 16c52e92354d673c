"""Secrets at rest: encrypted round trip, missing and wrong keys, start-up checks, rotation, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, MetaData, String, event, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from typer.testing import CliRunner

from voronka.core.config import Settings
from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.errors import ConfigError
from voronka.core.secrets import (
    EncryptedText,
    Keyring,
    SecretKeyError,
    check_keys,
    encrypted_columns,
    generate_key,
    install_keys,
    rotate,
)
from voronka.web.app import create_app
from voronka.web.cli import create_cli


class _Local(DeclarativeBase):
    metadata = MetaData()


class Mailbox(_Local):
    """What a mail plugin stores: the password encrypted, everything else plain."""

    __tablename__ = "vtest_mailbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(100))
    password: Mapped[str | None] = mapped_column(EncryptedText(), nullable=True)


class Token(_Local):
    """A composite primary key, so rotation pages by more than one column."""

    __tablename__ = "vtest_token"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    account: Mapped[int] = mapped_column(primary_key=True)
    secret: Mapped[str] = mapped_column(EncryptedText())


KEY1, KEY2 = generate_key(), generate_key()


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    _Local.metadata.create_all(engine)
    try:
        yield engine
    finally:
        _Local.metadata.drop_all(engine)
        engine.dispose()


def other_engine(url: str, keys: list[str]) -> Engine:
    engine = make_engine(url)
    install_keys(engine, keys)
    return engine


def raw_passwords(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT password FROM vtest_mailbox ORDER BY id")).scalars())


def test_round_trip_stores_only_ciphertext(db):
    install_keys(db, [KEY1])
    sessions = make_sessionmaker(db)
    with write_transaction(sessions) as session:
        session.add_all([Mailbox(address="sales@example.com", password="пароль-123 🔑"),
                         Mailbox(address="none@example.com", password=None)])  # fmt: skip
    stored = raw_passwords(db)
    assert stored[1] is None
    assert "пароль" not in stored[0] and Fernet(KEY1.encode()).decrypt(stored[0].encode()).decode() == "пароль-123 🔑"
    with sessions() as session:
        assert session.scalars(select(Mailbox.password).order_by(Mailbox.id)).all() == ["пароль-123 🔑", None]
    assert [c.where for c in encrypted_columns(_Local.metadata)] == ["vtest_mailbox.password", "vtest_token.secret"]


def test_wrong_and_missing_keys_are_clear_errors(db, db_url):
    install_keys(db, [KEY1])
    with write_transaction(make_sessionmaker(db)) as session:
        session.add(Mailbox(address="a@example.com", password="secret"))
    wrong = other_engine(db_url, [KEY2])
    missing = other_engine(db_url, [])
    try:
        with make_sessionmaker(wrong)() as session, pytest.raises(SecretKeyError) as caught:
            session.scalars(select(Mailbox.password)).all()
        assert "cannot be decrypted" in str(caught.value) and "voronka secrets rotate" in str(caught.value)
        with make_sessionmaker(missing)() as session, pytest.raises(SecretKeyError) as caught:
            session.scalars(select(Mailbox.password)).all()
        assert "set secret_keys in voronka.toml" in str(caught.value).lower()
        assert "voronka secrets generate-key" in str(caught.value)
        # writing without a key is refused too, and nothing is written
        with pytest.raises(StatementError, match="secret_keys"), write_transaction(make_sessionmaker(missing)) as s:
            s.add(Mailbox(address="b@example.com", password="x"))
        assert len(raw_passwords(db)) == 1
        # the start-up check names the column and the fix
        with pytest.raises(SecretKeyError, match=r"vtest_mailbox\.password"):
            check_keys(wrong, _Local.metadata)
        with pytest.raises(SecretKeyError, match="holds encrypted secrets"):
            check_keys(missing, _Local.metadata)
        check_keys(db, _Local.metadata)
    finally:
        wrong.dispose()
        missing.dispose()


def test_no_stored_secrets_needs_no_key(db):
    install_keys(db, [])
    check_keys(db, _Local.metadata)  # nothing stored yet: a deployment without mail plugins starts


def test_invalid_keys_are_refused_at_start_up(voronka_settings):
    with pytest.raises(ConfigError, match=r"secret_keys\[1\] is not a valid key"):
        Keyring([KEY1, "not-a-key"])
    values = {**voronka_settings.__dict__, "secret_keys": ["short"]}
    with pytest.raises(ConfigError, match="voronka secrets generate-key"):
        create_app(Settings(**values))
    app = create_app(Settings(**{**values, "secret_keys": [KEY1]}))
    app.state.voronka.engine.dispose()


def test_rotation_re_encrypts_everything_in_short_batches(db, db_url):
    install_keys(db, [KEY1])
    with db.begin() as conn:
        conn.execute(insert(Mailbox), [{"address": f"m{n}@example.com", "password": f"pw-{n}"} for n in range(1200)])
        conn.execute(insert(Token), [{"provider": p, "account": n, "secret": f"{p}-{n}"}
                                     for p in ("graph", "google") for n in range(30)])  # fmt: skip
    before = raw_passwords(db)
    rotating = other_engine(db_url, [KEY2, KEY1])  # the new key first, the old one still decrypts
    commits: list[int] = []
    event.listen(rotating, "commit", lambda conn: commits.append(1))
    try:
        done = rotate(rotating, _Local.metadata, batch_size=500)
        assert done == {"vtest_mailbox.password": 1200, "vtest_token.secret": 60}
        assert len(commits) >= 4  # 3 batches of mailboxes, 1 of tokens: each its own transaction
        after = raw_passwords(db)
        assert all(a != b for a, b in zip(after, before, strict=True))
        assert rotate(rotating, _Local.metadata, batch_size=500) == {
            "vtest_mailbox.password": 0,
            "vtest_token.secret": 0,
        }  # fmt: skip  (already on the first key: an interrupted rotation just runs again)
    finally:
        rotating.dispose()
    new_only = other_engine(db_url, [KEY2])  # the old key can go now
    try:
        check_keys(new_only, _Local.metadata)
        with make_sessionmaker(new_only)() as session:
            passwords = session.scalars(select(Mailbox.password).order_by(Mailbox.id)).all()
            assert passwords == [f"pw-{n}" for n in range(1200)]
            token = session.get(Token, ("google", 29))
            assert token is not None and token.secret == "google-29"
    finally:
        new_only.dispose()
    old_only = other_engine(db_url, [KEY1])
    try:
        with pytest.raises(SecretKeyError):
            check_keys(old_only, _Local.metadata)
    finally:
        old_only.dispose()


def test_rotation_without_the_old_key_stops_with_the_fix(db, db_url):
    install_keys(db, [KEY1])
    with write_transaction(make_sessionmaker(db)) as session:
        session.add(Mailbox(address="a@example.com", password="secret"))
    lost = other_engine(db_url, [KEY2])
    try:
        with pytest.raises(SecretKeyError, match="Put that key back"):
            rotate(lost, _Local.metadata)
    finally:
        lost.dispose()
    assert Fernet(KEY1.encode()).decrypt(raw_passwords(db)[0].encode()) == b"secret"  # untouched


def test_cli_generate_key_and_rotate(voronka_settings, tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(create_cli(), ["secrets", "generate-key"])
    assert result.exit_code == 0
    key = result.output.strip()
    Fernet(key.encode())  # a valid key
    config = tmp_path / "voronka.toml"
    config.write_text(
        f"database_url = {json.dumps(voronka_settings.database_url)}\nsecret_keys = {json.dumps([key])}\n",
        encoding="utf-8",
    )
    result = runner.invoke(create_cli(), ["--config", str(config), "secrets", "rotate"])
    assert result.exit_code == 0, result.output
    config.write_text(f"database_url = {json.dumps(voronka_settings.database_url)}\n", encoding="utf-8")
    result = runner.invoke(create_cli(), ["--config", str(config), "secrets", "rotate"])
    assert result.exit_code == 2 and "voronka secrets generate-key" in result.output


def test_init_config_carries_secret_keys_and_the_environment_can_set_them(tmp_path: Path, monkeypatch):
    from voronka.web.cli import render_config

    config = tmp_path / "voronka.toml"
    config.write_text(render_config(Settings(secret_key="k" * 32, secret_keys=[KEY1])), encoding="utf-8")
    assert Settings.load(config).secret_keys == [KEY1]
    monkeypatch.setenv("VORONKA_SECRET_KEYS", f"{KEY2},{KEY1}")
    assert Settings.load(config).secret_keys == [KEY2, KEY1]


def test_rotation_pages_through_a_composite_primary_key(db, db_url):
    install_keys(db, [KEY1])
    with db.begin() as conn:
        conn.execute(insert(Token), [{"provider": p, "account": n, "secret": f"{p}-{n}"}
                                     for p in ("a", "b", "c") for n in range(10)])  # fmt: skip
    rotating = other_engine(db_url, [KEY2, KEY1])
    try:
        assert rotate(rotating, _Local.metadata, batch_size=4)["vtest_token.secret"] == 30
    finally:
        rotating.dispose()
    new_only = other_engine(db_url, [KEY2])
    try:
        with make_sessionmaker(new_only)() as session:
            rows = session.execute(select(Token.provider, Token.account, Token.secret)).all()
            assert sorted(rows) == sorted((p, n, f"{p}-{n}") for p in ("a", "b", "c") for n in range(10))
    finally:
        new_only.dispose()


@pytest.fixture
def shared_secret_table(db_url: str) -> Iterator[Engine]:
    """An encrypted column in the app's own metadata, as a plugin's model would add it; removed afterwards."""
    from sqlalchemy import Column, Integer, Table

    from voronka.core.db import Base

    table = Table("vtestsec_box", Base.metadata, Column("id", Integer, primary_key=True),
                  Column("secret", EncryptedText(), nullable=True))  # fmt: skip
    engine = make_engine(db_url)
    install_keys(engine, [KEY1])
    try:
        table.create(engine)
        with engine.begin() as conn:
            conn.execute(insert(table), [{"id": n, "secret": f"s{n}"} for n in range(1, 8)])
        yield engine
    finally:
        table.drop(engine)
        Base.metadata.remove(table)
        engine.dispose()


def test_start_up_refuses_a_missing_or_wrong_key_and_the_cli_rotates(shared_secret_table, voronka_settings, tmp_path):
    base = voronka_settings.__dict__
    with pytest.raises(SecretKeyError, match=r"vtestsec_box\.secret holds encrypted secrets.*generate-key"):
        create_app(Settings(**{**base, "secret_keys": []}))
    with pytest.raises(SecretKeyError, match=r"vtestsec_box\.secret cannot be decrypted"):
        create_app(Settings(**{**base, "secret_keys": [KEY2]}))
    create_app(Settings(**{**base, "secret_keys": [KEY2, KEY1]})).state.voronka.engine.dispose()

    config = tmp_path / "voronka.toml"
    url = json.dumps(voronka_settings.database_url)
    config.write_text(f"database_url = {url}\nsecret_keys = {json.dumps([KEY2, KEY1])}\n", encoding="utf-8")
    result = CliRunner().invoke(create_cli(), ["--config", str(config), "secrets", "rotate", "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "vtestsec_box.secret  7" in result.output
    create_app(Settings(**{**base, "secret_keys": [KEY2]})).state.voronka.engine.dispose()  # the old key can go
