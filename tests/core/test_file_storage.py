"""The file storage contract, run against both backends: a local folder and an S3-compatible server.

The S3 server is moto's standalone server (``moto[server]`` from PyPI, an emulator of the S3 API) on a
free loopback port: the storage's boto3 client talks HTTP to it exactly as to AWS or MinIO. Without moto
the S3 half is skipped, and fails under ``CI=true``.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from voronka.core.config import Settings
from voronka.core.errors import ConfigError
from voronka.core.files import (
    BlobMissing,
    LocalStorage,
    S3Storage,
    StorageError,
    check_key,
    storage_from_settings,
)
from voronka.web.testkit.plugin import require_service

MiB = 1024 * 1024
KEYS = {"access_key": "testing", "secret_key": "testing-secret", "region": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a loopback port for the whole session."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        require_service(f"moto[server] is not installed ({exc}); pip install 'voronka[test]'")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def new_bucket(endpoint: str) -> S3Storage:
    storage = S3Storage(endpoint, f"b-{uuid.uuid4().hex[:12]}", part_size=5 * MiB, **KEYS)
    storage.client.create_bucket(Bucket=storage.bucket)
    return storage


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> LocalStorage | S3Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    return new_bucket(request.getfixturevalue("s3_endpoint"))


def leftovers(storage: LocalStorage | S3Storage) -> list[str]:
    """Anything the storage holds besides finished files: temporary files, unfinished multipart uploads."""
    if isinstance(storage, LocalStorage):
        if not storage.folder.exists():
            return []
        return [str(p) for p in storage.folder.rglob(".*")]
    uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])
    return [u["Key"] for u in uploads]


def stored_keys(storage: LocalStorage | S3Storage) -> list[str]:
    if isinstance(storage, LocalStorage):
        if not storage.folder.exists():
            return []
        return sorted(str(p.relative_to(storage.folder)) for p in storage.folder.rglob("*") if p.is_file())
    return sorted(o["Key"] for o in storage.client.list_objects_v2(Bucket=storage.bucket).get("Contents", []))


def read_all(storage: LocalStorage | S3Storage, key: str) -> bytes:
    return b"".join(storage.open(key))


class Broken(io.RawIOBase):
    """A stream that fails after ``after`` bytes, like a client that disconnects mid-upload."""

    def __init__(self, after: int):
        self.left = after

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            raise OSError("connection reset by peer")
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        return b"x" * n


def test_put_open_exists_delete(storage):
    key = "note/ab/" + uuid.uuid4().hex
    assert not storage.exists(key)
    assert storage.put(key, io.BytesIO(b"hello, world"), 12, "text/plain") == 12
    assert storage.exists(key)
    assert read_all(storage, key) == b"hello, world"
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting twice is not an error (deletes after commit may be retried)
    with pytest.raises(BlobMissing):
        read_all(storage, key)
    assert leftovers(storage) == []


def test_put_replaces_and_unknown_size_works(storage):
    storage.put("k/one", io.BytesIO(b"first"), None, "text/plain")
    storage.put("k/one", io.BytesIO(b"second version"), None, "text/plain")
    assert read_all(storage, "k/one") == b"second version"


def test_big_file_round_trips_in_parts(storage):
    data = os.urandom(MiB) * 12 + b"tail"  # 12 MiB: three parts of 5 MiB on S3
    assert storage.put("big/file", io.BytesIO(data), len(data), "application/octet-stream") == len(data)
    chunks = list(storage.open("big/file"))
    assert max(len(c) for c in chunks) <= MiB  # downloads stream; never the whole file at once
    assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(data).digest()
    assert leftovers(storage) == []


@pytest.mark.parametrize("size", [100, 6 * MiB])
def test_a_stream_shorter_or_longer_than_announced_stores_nothing(storage, size):
    with pytest.raises(StorageError, match="ended after"):
        storage.put("short/one", io.BytesIO(b"y" * (size - 1)), size, "text/plain")
    with pytest.raises(StorageError, match="longer than"):
        storage.put("long/one", io.BytesIO(b"y" * (size + 1)), size, "text/plain")
    assert not storage.exists("short/one") and not storage.exists("long/one")
    assert stored_keys(storage) == [] and leftovers(storage) == []


@pytest.mark.parametrize("after", [10, 7 * MiB])
def test_a_stream_that_fails_midway_stores_nothing(storage, after):
    with pytest.raises(OSError, match="connection reset"):
        storage.put("broken/upload", Broken(after), None, "application/pdf")
    assert not storage.exists("broken/upload")
    assert stored_keys(storage) == [] and leftovers(storage) == []


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/abs", "a/../b", "a/./b", ".hidden", "a//b", "a\\b", "", "a/", "ä", "x" * 513, "a b"]
)
def test_unsafe_keys_are_refused(storage, key):
    with pytest.raises(ValueError, match="not a safe storage key"):
        storage.put(key, io.BytesIO(b"x"), 1, "text/plain")
    with pytest.raises(ValueError):
        storage.exists(key)
    with pytest.raises(ValueError):
        storage.delete(key)


def test_safe_keys_pass():
    for key in ("note/3f9c", "a.b/c-d_e", "x/y/z.tar.gz"):
        assert check_key(key) == key


def test_local_storage_stays_in_its_folder_and_cleans_empty_folders(tmp_path):
    storage = LocalStorage(tmp_path / "files")
    assert not (tmp_path / "files").exists()  # created on first write, not at start-up
    storage.put("note/ab/one", io.BytesIO(b"1"), 1, "text/plain")
    assert (tmp_path / "files" / "note" / "ab" / "one").read_bytes() == b"1"
    storage.delete("note/ab/one")
    assert list((tmp_path / "files").iterdir()) == []  # the empty folders went too
    (tmp_path / "outside").write_bytes(b"secret")
    with pytest.raises(ValueError):
        storage.path("../outside")


def test_s3_storage_never_shows_its_secret(s3_endpoint):
    storage = S3Storage(s3_endpoint, "bucket", access_key="AKIA", secret_key="very-secret", region="eu-west-1")
    assert "very-secret" not in repr(storage)
    assert "very-secret" not in repr(Settings(s3_secret_key="very-secret"))


def test_s3_errors_are_storage_errors(s3_endpoint):
    storage = S3Storage(s3_endpoint, "no-such-bucket-here", **KEYS)
    with pytest.raises(StorageError, match="NoSuchBucket"):
        storage.put("a/b", io.BytesIO(b"x"), 1, "text/plain")


def test_storage_from_settings(tmp_path):
    local = storage_from_settings(Settings(data_dir=str(tmp_path / "data")))
    assert isinstance(local, LocalStorage) and local.folder == (tmp_path / "data" / "files").resolve()
    chosen = storage_from_settings(Settings(files_dir=str(tmp_path / "elsewhere")))
    assert isinstance(chosen, LocalStorage) and chosen.folder == (tmp_path / "elsewhere").resolve()
    s3 = storage_from_settings(
        Settings(file_storage="s3", s3_bucket="crm", s3_endpoint_url="http://127.0.0.1:9000", s3_region="eu-west-1")
    )
    assert isinstance(s3, S3Storage) and s3.bucket == "crm" and s3.endpoint == "http://127.0.0.1:9000"
    with pytest.raises(ConfigError, match="s3_bucket"):
        storage_from_settings(Settings(file_storage="s3"))
    with pytest.raises(ConfigError, match="local"):
        storage_from_settings(Settings(file_storage="ftp"))
