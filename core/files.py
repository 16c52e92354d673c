"""File storage: where attachments' bytes live, behind one small interface.

A deployment on one machine keeps files in a local folder (:class:`LocalStorage`, the default); several
web and worker processes on different machines share an S3-compatible bucket (:class:`S3Storage`: AWS S3,
MinIO, Ceph, Cloudflare R2 …). Keys are opaque and chosen by core (``note/3f/3f9c…``), never by a user, and
both backends refuse keys that could step outside their folder or bucket prefix.

Writes are all-or-nothing: a local file appears under its key only once it is complete (written to a
temporary file in the same folder, flushed, renamed); an S3 upload is one PUT or a multipart upload that is
completed only after every part arrived and aborted on any failure. A stream whose length differs from the
``size`` announced leaves nothing behind either.

Which storage a database's attachments use is registered once per engine (:func:`attach_storage`, called
by the app factory) and looked up from a session (:func:`storage_for`), so the consistency hooks that get
only a session can still delete blobs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from .errors import ConfigError, VoronkaError

log = logging.getLogger("voronka.files")

CHUNK = 1024 * 1024
"""Bytes per read when copying and per chunk when downloading: few system calls, bounded memory."""
PART = 8 * 1024 * 1024
"""S3 multipart part size (S3's minimum is 5 MiB for every part but the last)."""
KEY_MAX = 512
SEGMENT = r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*"
KEY = re.compile(rf"^{SEGMENT}(?:/{SEGMENT})*$")
"""Segments of letters, digits, ``_``, ``-`` and inner dots: no ``..``, no leading dot or slash, no ``\\``."""


class StorageError(VoronkaError):
    """The storage could not do what was asked (unreachable, refused, short write). Nothing was kept."""


class BlobMissing(StorageError, FileNotFoundError):
    """There is no file under this key (deleted, or lost by the storage)."""


def check_key(key: str) -> str:
    """``key`` when it is a safe storage key, else ValueError (keys come from core, so this is a bug)."""
    if not isinstance(key, str) or len(key) > KEY_MAX or not KEY.match(key):
        raise ValueError(f"not a safe storage key: {key!r}")
    return key


@runtime_checkable
class FileStorage(Protocol):
    """What attachments need of a place to keep bytes."""

    def put(self, key: str, stream: BinaryIO, size: int | None, content_type: str) -> int:
        """Store everything ``stream.read()`` gives under ``key`` (replacing what was there); return the
        number of bytes stored. With ``size`` given, a stream of another length stores nothing and raises
        :class:`StorageError`."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """The stored bytes in chunks; :class:`BlobMissing` when there is nothing under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file; a key with nothing under it is not an error (deletes are retried)."""
        ...

    def exists(self, key: str) -> bool: ...


class _Counted:
    """Read ``stream`` and refuse when it gives more (or, at its end, fewer) bytes than ``size``."""

    def __init__(self, stream: BinaryIO, size: int | None):
        self.stream, self.size, self.count = stream, size, 0

    def read(self, n: int) -> bytes:
        data = self.stream.read(n)
        self.count += len(data)
        if self.size is not None and self.count > self.size:
            raise StorageError(f"the stream is longer than the {self.size} bytes announced")
        return data

    def finish(self) -> int:
        if self.size is not None and self.count != self.size:
            raise StorageError(f"the stream ended after {self.count} of the {self.size} bytes announced")
        return self.count


class LocalStorage:
    """Files in a folder on this machine: ``<folder>/<key>``, created on first write."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder).resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.folder)!r})"

    def path(self, key: str) -> Path:
        """Where ``key`` lives; refuses anything that would resolve outside the folder."""
        target = (self.folder / check_key(key)).resolve()
        if not target.is_relative_to(self.folder) or target == self.folder:
            raise ValueError(f"not a safe storage key: {key!r}")
        return target

    def put(self, key: str, stream: BinaryIO, size: int | None, content_type: str) -> int:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the folder {target.parent}: {exc.strerror}") from exc
        # a leading dot: never a valid key, so a temporary file can neither collide with nor be read as one
        temp = target.parent / f".tmp-{uuid.uuid4().hex}"
        reader = _Counted(stream, size)
        try:
            with _storage_errors(f"write {target}"), open(temp, "xb") as out:
                while chunk := _passing(reader.read, CHUNK):  # the stream's own errors are not ours
                    out.write(chunk)
                written = reader.finish()
                out.flush()
                os.fsync(out.fileno())
                os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        _fsync_dir(target.parent)
        return written

    def open(self, key: str) -> Iterator[bytes]:
        path = self.path(key)
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed by the generator)
        except FileNotFoundError:
            raise BlobMissing(f"no file under {key!r} in {self.folder}") from None
        return _read_chunks(handle)

    def delete(self, key: str) -> None:
        path = self.path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        # drop folders the key left empty, up to the storage folder itself
        parent = path.parent
        while parent != self.folder and parent.is_relative_to(self.folder):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (a crash right after would otherwise lose the new name on some filesystems)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, Ceph, R2 …) through boto3 (the ``voronka[s3]`` extra).

    Small files go up in one PUT; larger ones (or of unknown size) as a multipart upload in
    :data:`PART`-sized parts, ``parallel`` at a time, so memory stays at a few parts whatever the file
    size, and a failure aborts the upload so the bucket keeps no parts. ``prefix`` places every key
    under a folder of the bucket. With an ``endpoint`` (anything but AWS) path-style addressing is used,
    which every S3 clone supports. Empty access keys fall back to boto3's usual credential chain
    (environment, instance role).
    """

    def __init__(
        self,
        endpoint: str | None,
        bucket: str,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        *,
        prefix: str = "",
        part_size: int = PART,
        parallel: int = 4,
        client: Any = None,
    ):
        if not bucket:
            raise ConfigError('file_storage = "s3" needs s3_bucket: the name of the bucket to keep files in.')
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 parts must be at least 5 MiB")
        self.endpoint, self.bucket, self.region = endpoint or None, bucket, region or None
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        self.parallel = max(1, parallel)
        self._client = client
        self._access_key, self._secret_key = access_key or None, secret_key or None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the secret key
        return f"S3Storage(endpoint={self.endpoint!r}, bucket={self.bucket!r}, region={self.region!r})"

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (thread-safe; boto3 clients may be shared by threads)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = _boto3_client(self.endpoint, self.region, self._access_key, self._secret_key)
        return self._client

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, stream: BinaryIO, size: int | None, content_type: str) -> int:
        name = self._key(key)
        reader = _Counted(stream, size)
        first = _read_full(reader, self.part_size)
        if len(first) < self.part_size:  # the whole file fits one part: one PUT
            written = reader.finish()
            with _storage_errors(f"store {key}"):
                self.client.put_object(Bucket=self.bucket, Key=name, Body=first, ContentType=content_type)
            return written
        with _storage_errors(f"start the upload of {key}"):
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=name, ContentType=content_type)[
                "UploadId"
            ]
        try:
            parts = self._upload_parts(key, name, upload_id, first, reader)
            written = reader.finish()
            with _storage_errors(f"finish the upload of {key}"):
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
            except Exception:  # the bucket's lifecycle rule for incomplete uploads is the backstop
                log.warning("could not abort the multipart upload of %s", name, exc_info=True)
            raise
        return written

    def _upload_parts(self, key: str, name: str, upload_id: str, first: bytes, reader: _Counted) -> list[dict]:
        """Send parts ``self.parallel`` at a time (one S3 connection rarely fills the network); memory is
        bounded by that many parts in flight."""

        def send(number: int, data: bytes) -> dict[str, Any]:
            with _storage_errors(f"upload part {number} of {key}"):
                answer = self.client.upload_part(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=data
                )
            return {"ETag": answer["ETag"], "PartNumber": number}

        parts: list[dict[str, Any]] = []
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="voronka-s3") as pool:
            in_flight: deque[Future[dict[str, Any]]] = deque()
            number, data = 1, first
            try:
                while data:
                    if len(in_flight) >= self.parallel:
                        parts.append(in_flight.popleft().result())
                    in_flight.append(pool.submit(send, number, data))
                    number += 1
                    data = _read_full(reader, self.part_size)
                while in_flight:
                    parts.append(in_flight.popleft().result())
            except BaseException:
                for future in in_flight:
                    future.cancel()
                raise
        return parts

    def open(self, key: str) -> Iterator[bytes]:
        name = self._key(key)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=name)["Body"]
        except Exception as exc:
            if _is_missing(exc):
                raise BlobMissing(f"no file under {key!r} in bucket {self.bucket}") from None
            raise StorageError(f"cannot read {key} from bucket {self.bucket}: {_reason(exc)}") from exc
        return _s3_chunks(body, key)

    def delete(self, key: str) -> None:
        name = self._key(key)
        with _storage_errors(f"delete {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=name)

    def exists(self, key: str) -> bool:
        name = self._key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise StorageError(f"cannot check {key} in bucket {self.bucket}: {_reason(exc)}") from exc
        return True


def _boto3_client(endpoint: str | None, region: str | None, access_key: str | None, secret_key: str | None) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ConfigError(
            'file_storage = "s3" needs boto3: install Voronka with the s3 extra (pip install "voronka[s3]").'
        ) from None
    config = Config(
        s3={"addressing_style": "path" if endpoint else "auto"},
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        # MinIO, Ceph and older clones reject the CRC trailers boto3 adds by default since 1.36
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )


def _read_full(reader: _Counted, n: int) -> bytes:
    """Up to ``n`` bytes: short only at the end of the stream (file objects may return less per read)."""
    pieces, left = [], n
    while left > 0:
        piece = reader.read(min(left, CHUNK))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def _s3_chunks(body: Any, key: str) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    except Exception as exc:
        raise StorageError(f"reading {key} was interrupted: {_reason(exc)}") from exc
    finally:
        body.close()


def _is_missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


def _reason(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return f"{error.get('Code')}: {error.get('Message', '')}" if error else f"{type(exc).__name__}: {exc}"


class _StreamFailed(Exception):
    """Carries an error of the caller's stream through :func:`_storage_errors` unchanged."""

    def __init__(self, error: BaseException):
        self.error = error


def _passing(read: Any, n: int) -> bytes:
    try:
        return read(n)
    except StorageError:
        raise
    except Exception as exc:
        raise _StreamFailed(exc) from exc


@contextlib.contextmanager
def _storage_errors(action: str) -> Iterator[None]:
    try:
        yield
    except _StreamFailed as failed:
        raise failed.error from None
    except StorageError:
        raise
    except VoronkaError:
        raise
    except Exception as exc:
        raise StorageError(f"cannot {action}: {_reason(exc)}") from exc


# -- which storage a database uses ---------------------------------------------------------------------

_storages: dict[str, FileStorage] = {}
_storages_lock = threading.Lock()


def storage_from_settings(settings: Any) -> FileStorage:
    """The storage the settings describe (``file_storage``: "local" or "s3"); ConfigError if incomplete."""
    kind = (settings.file_storage or "local").strip().lower()
    if kind == "local":
        return LocalStorage(settings.files_dir or Path(settings.data_dir) / "files")
    if kind == "s3":
        return S3Storage(
            settings.s3_endpoint_url or None,
            settings.s3_bucket,
            settings.s3_region or None,
            settings.s3_access_key or None,
            settings.s3_secret_key or None,
        )
    raise ConfigError(f'file_storage must be "local" or "s3", not {settings.file_storage!r}.')


def _database_key(bind: Any) -> str:
    url = getattr(getattr(bind, "engine", bind), "url", bind)
    return url.render_as_string(hide_password=True) if hasattr(url, "render_as_string") else str(url)


def attach_storage(bind: Any, storage: FileStorage) -> FileStorage:
    """Make ``storage`` the one for the database of ``bind`` (an engine) in this process."""
    with _storages_lock:
        _storages[_database_key(bind)] = storage
    return storage


def storage_for(session: Any) -> FileStorage:
    """The storage registered for the session's database; RuntimeError when the app never attached one."""
    key = _database_key(session.get_bind())
    found = _storages.get(key)
    if found is None:
        raise RuntimeError(f"no file storage is attached to {key}; call voronka.core.files.attach_storage first")
    return found


__all__ = [
    "BlobMissing",
    "FileStorage",
    "LocalStorage",
    "S3Storage",
    "StorageError",
    "attach_storage",
    "check_key",
    "storage_for",
    "storage_from_settings",
]
