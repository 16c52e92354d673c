"""Attachments on records of any kind: checked, stored, listed, served and removed.

An upload is checked before anything is kept: its size against ``max_upload_bytes``, its name (cleaned
of paths and control characters), and its type, which is decided from the content (magic numbers), not
from the browser's claim or the name alone: programs and scripts are always refused (an ELF or Windows
executable renamed ``.pdf`` included), a name that promises a format the content is not (``report.pdf``
holding text) is refused, and the deployment's ``upload_types_allowed`` list applies on top.

Nothing is half-written. :func:`prepare` puts the blob in the storage (outside any database transaction,
so a slow upload never holds SQLite's write lock); :func:`attach` writes the row and its audit entry in the
caller's transaction and arranges for the blob to be deleted if that transaction does not commit.
:func:`remove` and the consistency hooks delete rows in the caller's transaction and the blobs only after
it committed, so a rollback never leaves a row without its file. :func:`add` does both steps in one call
for callers that already hold a transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import mimetypes
import os
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session, SessionTransaction

from .errors import ValidationError
from .events import emit
from .files import BlobMissing, FileStorage, storage_for
from .i18n import gettext as _
from .models import User
from .models_files import FILENAME_MAX, Attachment
from .models_records import AuditEntry
from .records import RecordKind, Ref
from .types import utcnow

log = logging.getLogger("voronka.attachments")

AUDIT_FIELD = "attachment"
SNIFF_BYTES = 8192
CHUNK = 1024 * 1024
PENDING = "voronka.attachments.pending"
IN_CHUNK = 1000


class UploadTooLarge(ValidationError):
    """The file is over the size limit (HTTP 413)."""


class UploadTypeRefused(ValidationError):
    """The file's type is forbidden or not on the allow list (HTTP 415)."""


@dataclass(frozen=True)
class UploadLimits:
    """``max_bytes`` per file; ``allowed``: MIME types ("image/*") or extensions (".pdf"), empty = any
    type that is not denied."""

    max_bytes: int = 25 * 1024 * 1024
    allowed: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> UploadLimits:
        return cls(settings.max_upload_bytes, tuple(a.strip().lower() for a in settings.upload_types_allowed if a))


# -- what a file is -----------------------------------------------------------------------------------

_DENIED = """exe dll com bat cmd msi msp mst scr pif cpl ps1 psm1 psd1 vbs vbe js jse wsf wsh wsc hta jar apk aab
xap app appimage sh bash csh ksh zsh fish command run elf so dylib ko sys drv ocx lnk reg msc gadget inf scf url deb
rpm dmg pkg mpkg msix msixbundle appx appxbundle xpi crx vb iso img vhd vhdx"""
DENIED_EXTENSIONS = frozenset(_DENIED.split())
"""Extensions Windows, macOS or Linux desktops run or install when opened (and disk images that mount)."""

DENIED_TYPES = frozenset(
    {
        "application/x-msdownload", "application/x-dosexec", "application/x-executable", "application/x-elf",
        "application/x-mach-binary", "application/x-sharedlib", "application/vnd.microsoft.portable-executable",
        "application/x-msi", "application/x-ms-installer", "application/java-archive", "application/x-java-archive",
        "application/java-vm", "application/wasm", "application/x-sh", "application/x-shellscript",
        "text/x-shellscript", "application/javascript", "text/javascript", "application/x-bat",
        "application/x-msdos-program", "application/vnd.android.package-archive", "application/x-apple-diskimage",
        "application/hta", "application/x-ms-shortcut",
    }
)  # fmt: skip
"""Types named by a browser (or sniffed) that are programs: refused whatever the file is called."""

EXECUTABLE_MAGIC = (
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/x-msdownload"),
    (b"\xfe\xed\xfa\xce", "application/x-mach-binary"),
    (b"\xfe\xed\xfa\xcf", "application/x-mach-binary"),
    (b"\xce\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xca\xfe\xba\xbe", "application/java-vm"),  # a Java class or a universal Mach-O: a program either way
    (b"\x00asm", "application/wasm"),
    (b"#!", "application/x-shellscript"),
)

MAGIC = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"{\\rtf", "application/rtf"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\x1aE\xdf\xa3", "video/webm"),
    (4, b"ftyp", "video/mp4"),
)

RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}

ZIP_FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "epub": "application/epub+zip",
    "zip": "application/zip",
}
OLE_FORMATS = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "msg": "application/vnd.ms-outlook",
}
TEXT_FORMATS = {
    "csv": "text/csv", "tsv": "text/tab-separated-values", "txt": "text/plain", "log": "text/plain",
    "md": "text/markdown", "json": "application/json", "xml": "application/xml", "html": "text/html",
    "htm": "text/html", "svg": "image/svg+xml", "ics": "text/calendar", "vcf": "text/vcard",
    "eml": "message/rfc822", "yaml": "application/yaml", "yml": "application/yaml",
}  # fmt: skip

PROMISES = {
    "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "tif": "image/tiff", "tiff": "image/tiff", "gz": "application/gzip",
    "tgz": "application/gzip", "7z": "application/x-7z-compressed", "rar": "application/vnd.rar",
    "rtf": "application/rtf", **{ext: "application/zip" for ext in ZIP_FORMATS},
    **{ext: "application/x-ole-storage" for ext in OLE_FORMATS},
}  # fmt: skip
"""Extensions whose format the content must show (by its magic number) for the name to be believed."""

FORMAT_NAMES = {
    "application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP",
    "image/tiff": "TIFF", "application/gzip": "gzip", "application/x-7z-compressed": "7-Zip",
    "application/vnd.rar": "RAR", "application/rtf": "RTF", "application/zip": "ZIP (Office/OpenDocument)",
    "application/x-ole-storage": "Microsoft Office (97–2003)",
}  # fmt: skip


def extension(filename: str) -> str:
    """The lower-case extension without its dot ("" when none)."""
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem else ""


def sniff(head: bytes) -> str:
    """The content type the first bytes show: a specific type, "text/plain", or application/octet-stream."""
    for magic, kind in EXECUTABLE_MAGIC:
        if head.startswith(magic):
            return kind
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    if head[:4] == b"RIFF" and head[8:12] in RIFF:
        return RIFF[head[8:12]]
    for offset, magic, kind in MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return kind
    return "text/plain" if _looks_like_text(head) else "application/octet-stream"


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a byte-order mark
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the sample
            try:
                head.decode("cp1251")  # Windows Cyrillic text files, still common in Ukraine
            except UnicodeDecodeError:
                return False
            return not any(b < 9 or 13 < b < 32 for b in head)
    return True


def decide_type(filename: str, head: bytes, claimed: str | None, limits: UploadLimits) -> str:
    """The content type to store, or :class:`UploadTypeRefused` with what to do instead."""
    ext = extension(filename)
    sniffed = sniff(head)
    claimed = (claimed or "").split(";")[0].strip().lower()
    if sniffed in DENIED_TYPES or ext in DENIED_EXTENSIONS or claimed in DENIED_TYPES:
        raise UploadTypeRefused(
            _("“%(name)s” is a program or script. Such files cannot be attached; put it in an archive or share "
              "it another way.") % {"name": filename}
        )  # fmt: skip
    promised = PROMISES.get(ext)
    if promised is not None and promised != sniffed:
        raise UploadTypeRefused(
            _("“%(name)s” is not a %(format)s file, although its name says so. Check that it is the file you "
              "meant, or rename it to what it is.") % {"name": filename, "format": FORMAT_NAMES[promised]}
        )  # fmt: skip
    if sniffed == "application/zip":
        content_type = ZIP_FORMATS.get(ext, "application/zip")
    elif sniffed == "application/x-ole-storage":
        content_type = OLE_FORMATS.get(ext, "application/x-ole-storage")
    elif sniffed == "text/plain":
        content_type = TEXT_FORMATS.get(ext, "text/plain")
    elif sniffed == "application/octet-stream":
        guessed = mimetypes.guess_type(f"x.{ext}")[0] if ext else None
        content_type = guessed if guessed and not guessed.startswith("text/") else "application/octet-stream"
    else:
        content_type = sniffed
    if limits.allowed and not _allowed(content_type, ext, limits.allowed):
        raise UploadTypeRefused(
            _("Files of this type (%(type)s) cannot be attached here. Allowed: %(allowed)s.")
            % {"type": content_type, "allowed": ", ".join(limits.allowed)}
        )
    return content_type


def _allowed(content_type: str, ext: str, allowed: Sequence[str]) -> bool:
    for entry in allowed:
        if entry.startswith("."):
            if ext and entry[1:] == ext:
                return True
        elif entry.endswith("/*"):
            if content_type.startswith(entry[:-1]):
                return True
        elif entry == content_type:
            return True
    return False


BIDI_AND_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_filename(raw: str | None) -> str:
    """The name to keep and show: the last path segment, NFC, no control or bidi characters (which can
    disguise ``harmless\u202efdp.exe``), no leading dots or surrounding spaces, at most 255 characters
    (extension kept). Empty when nothing usable is left."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = BIDI_AND_CONTROL.sub("", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").rstrip(". ")
    if len(name) > FILENAME_MAX:
        ext = extension(name)
        keep = FILENAME_MAX - (len(ext) + 1 if ext and len(ext) < 20 else 0)
        name = name[:keep].rstrip() + (f".{ext}" if ext and len(ext) < 20 else "")
    return name


# -- blobs that must go when a transaction ends -------------------------------------------------------


@dataclass
class _Pending:
    storage: FileStorage
    new: list[str] = field(default_factory=list)
    """Blobs written for rows of this transaction: deleted unless it commits."""
    doomed: list[str] = field(default_factory=list)
    """Blobs of rows this transaction deleted: deleted once it commits."""


def _pending(session: Session, storage: FileStorage) -> _Pending:
    found = session.info.get(PENDING)
    if found is None:
        found = session.info[PENDING] = _Pending(storage)
    return found


def _delete_blobs(storage: FileStorage, keys: Iterable[str], why: str) -> None:
    for key in keys:
        try:
            storage.delete(key)
        except Exception:
            log.error("could not delete the file %s (%s); it is now an orphan in %r", key, why, storage, exc_info=True)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if pending is not None and pending.doomed:
        _delete_blobs(pending.storage, pending.doomed, "its attachment was deleted")


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:  # a savepoint or subtransaction: the outer one decides
        return
    pending = session.info.pop(PENDING, None)  # still here: the transaction did not commit
    if pending is not None and pending.new:
        _delete_blobs(pending.storage, pending.new, "its upload was rolled back")


# -- the service --------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A checked file already in the storage, waiting for :func:`attach` (or :meth:`discard`)."""

    storage: FileStorage
    storage_key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    attached: bool = False

    def discard(self) -> None:
        """Delete the blob if no row took it (call when the transaction could not even start)."""
        if not self.attached:
            _delete_blobs(self.storage, [self.storage_key], "its upload was abandoned")


class _Hashing:
    """The stream as the storage reads it, starting with the bytes already read for sniffing."""

    def __init__(self, head: bytes, rest: BinaryIO, max_bytes: int):
        self.head, self.rest, self.max_bytes = head, rest, max_bytes
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        if self.head:
            data, self.head = (self.head, b"") if n < 0 or n >= len(self.head) else (self.head[:n], self.head[n:])
        else:
            data = self.rest.read(n if n >= 0 else CHUNK)
        self.size += len(data)
        if self.size > self.max_bytes:
            raise UploadTooLarge(too_large_message(self.max_bytes))
        self.digest.update(data)
        return data


def too_large_message(max_bytes: int) -> str:
    return _("The file is larger than %(size)s, the most an attachment may be.") % {"size": human_size(max_bytes)}


def human_size(size: int) -> str:
    """1536 → "1.5 KB" (binary units, as file managers show them)."""
    if size < 1024:
        return _("%(n)s B") % {"n": size}
    units = (_("%(n)s KB"), _("%(n)s MB"), _("%(n)s GB"))
    value = size / 1024
    for unit in units:
        if value < 1024 or unit is units[-1]:
            break
        value /= 1024
    return unit % {"n": f"{value:.3g}" if value < 100 else f"{value:.0f}"}


def _size_of(stream: BinaryIO) -> int | None:
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return None


def prepare(
    storage: FileStorage,
    kind_name: str,
    filename: str | None,
    stream: BinaryIO,
    content_type: str | None,
    limits: UploadLimits = UploadLimits(),
) -> Prepared:
    """Check the file and put it in ``storage``; ValidationError (UploadTooLarge, UploadTypeRefused) keeps
    nothing. The blob is an orphan until :func:`attach` writes its row: call ``discard()`` on failure."""
    name = clean_filename(filename)
    size = _size_of(stream)
    if not name and not size:
        raise ValidationError({"file": _("Choose a file to attach.")})
    if size is not None and size > limits.max_bytes:
        raise UploadTooLarge({"file": too_large_message(limits.max_bytes)})
    head = stream.read(SNIFF_BYTES)
    if not head:
        raise ValidationError({"file": _("“%(name)s” is empty; there is nothing to attach.") % {"name": name}})
    if not name:
        name = _("attachment")
    try:
        stored_type = decide_type(name, head, content_type, limits)
    except UploadTypeRefused as exc:
        raise UploadTypeRefused({"file": str(exc)}) from None
    key = f"{kind_name}/{uuid.uuid4().hex}"
    reader = _Hashing(head, stream, limits.max_bytes)
    try:
        written = storage.put(key, reader, size, stored_type)  # type: ignore[arg-type]
    except UploadTooLarge as exc:
        raise UploadTooLarge({"file": str(exc)}) from None
    return Prepared(storage, key, name, stored_type, written, reader.digest.hexdigest())


def _check_record(session: Session, kind: RecordKind, record_id: int, user: Any) -> None:
    """The record exists and, given a user (not just an id, which names an actor), they see it."""
    viewer = None if isinstance(user, int) else user
    if kind.registry is None or kind.registry.resolve(session, Ref(kind.name, record_id), viewer) is None:
        raise ValidationError(_("There is no such record, or it is not yours to see."))


def _audit(session: Session, kind: RecordKind, record_id: int, user: Any, old: Any, new: Any) -> None:
    session.add(
        AuditEntry(
            kind=kind.name, record_id=record_id, action="update", field=AUDIT_FIELD, old=old, new=new,
            at=utcnow(), actor_id=_user_id(user), source="form", change_id=uuid.uuid4().hex,
        )
    )  # fmt: skip


def _user_id(user: Any) -> int | None:
    return user if isinstance(user, int) or user is None else getattr(user, "id", None)


def attach(session: Session, kind: RecordKind, record_id: int, prepared: Prepared, user: Any) -> Attachment:
    """Write the row and its audit entry for a prepared file in the caller's transaction; if that
    transaction does not commit, the blob is deleted with it. With ``user``, only on a record they see."""
    pending = _pending(session, prepared.storage)
    pending.new.append(prepared.storage_key)  # from here the transaction's end decides the blob's fate
    prepared.attached = True
    _check_record(session, kind, record_id, user)
    row = Attachment(
        kind=kind.name, record_id=record_id, filename=prepared.filename, content_type=prepared.content_type,
        size=prepared.size, sha256=prepared.sha256, storage_key=prepared.storage_key, uploaded_by=_user_id(user),
        uploaded_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    _audit(session, kind, record_id, user, None, prepared.filename)
    session.flush()
    emit(session, "core.attachment_added", _payload(row, user))
    return row


def add(
    session: Session,
    kind: RecordKind,
    record_id: int,
    filename: str | None,
    stream: BinaryIO,
    content_type: str | None,
    user: Any,
    *,
    limits: UploadLimits = UploadLimits(),
    storage: FileStorage | None = None,
) -> Attachment:
    """Check, store and attach a file in one call, inside the caller's transaction (the blob is written
    while it is open: prefer :func:`prepare` then :func:`attach` for big files on SQLite)."""
    _check_record(session, kind, record_id, user)
    prepared = prepare(storage or storage_for(session), kind.name, filename, stream, content_type, limits)
    try:
        return attach(session, kind, record_id, prepared, user)
    except BaseException:
        prepared.discard()
        raise


@dataclass(frozen=True)
class AttachmentView:
    """A row as lists show it."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: dt.datetime
    uploaded_by: int | None
    uploader_name: str | None

    @property
    def size_label(self) -> str:
        return human_size(self.size)


def list_for(session: Session, kind: RecordKind, record_id: int, user: Any = None) -> list[AttachmentView]:
    """The record's attachments, newest first; empty when ``user`` may not see the record."""
    if user is not None:
        try:
            _check_record(session, kind, record_id, user)
        except ValidationError:
            return []
    rows = session.execute(
        select(Attachment, User.display_name)
        .outerjoin(User, User.id == Attachment.uploaded_by)
        .where(Attachment.kind == kind.name, Attachment.record_id == record_id)
        .order_by(Attachment.uploaded_at.desc(), Attachment.id.desc())
    )
    return [
        AttachmentView(a.id, a.filename, a.content_type, a.size, a.sha256, a.uploaded_at, a.uploaded_by, name)
        for a, name in rows
    ]


def get_for(
    session: Session, kind: RecordKind, record_id: int, attachment_id: int, user: Any = None
) -> Attachment | None:
    """The attachment row when it belongs to that record (and ``user`` sees the record), else None."""
    if user is not None:
        try:
            _check_record(session, kind, record_id, user)
        except ValidationError:
            return None
    return session.scalars(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.kind == kind.name, Attachment.record_id == record_id
        )
    ).first()


def open_for(
    session: Session, kind: RecordKind, record_id: int, attachment_id: int, user: Any = None
) -> tuple[Attachment, Iterator[bytes]] | None:
    """The row and its bytes in chunks; None when there is no such attachment on a record ``user`` sees.
    :class:`~voronka.core.files.BlobMissing` when the storage lost the file."""
    row = get_for(session, kind, record_id, attachment_id, user)
    if row is None:
        return None
    try:
        chunks = storage_for(session).open(row.storage_key)
    except BlobMissing:
        log.error("attachment %s (%s) has no file under %s", row.id, row.filename, row.storage_key)
        raise
    return row, chunks


def remove(session: Session, kind: RecordKind, record_id: int, attachment_id: int, user: Any) -> str:
    """Delete the attachment (audited as field "attachment", old = its name) in the caller's transaction;
    the blob goes after commit. Returns the file name; ValidationError when there is no such attachment."""
    row = get_for(session, kind, record_id, attachment_id, user)
    if row is None:
        raise ValidationError(_("This attachment no longer exists; someone may have deleted it."))
    name, key = row.filename, row.storage_key
    payload = _payload(row, user)
    session.delete(row)
    _audit(session, kind, record_id, user, name, None)
    session.flush()
    _pending(session, storage_for(session)).doomed.append(key)
    emit(session, "core.attachment_removed", payload)
    return name


def _payload(row: Attachment, user: Any) -> dict[str, Any]:
    return {
        "kind": row.kind, "id": row.record_id, "attachment_id": row.id, "filename": row.filename,
        "content_type": row.content_type, "size": row.size, "actor_id": _user_id(user),
    }  # fmt: skip


# -- consistency hooks (called by the recycle bin's purge and by merges) -------------------------------


def on_records_deleted(session: Session, kind_name: str, ids: Iterable[int]) -> int:
    """Records deleted for good: drop their attachments' rows now and their blobs after commit.
    Returns how many attachments went."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    keys: list[str] = []
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        found = list(
            session.scalars(
                select(Attachment.storage_key).where(Attachment.kind == kind_name, Attachment.record_id.in_(chunk))
            )
        )
        if found:
            session.execute(delete(Attachment).where(Attachment.kind == kind_name, Attachment.record_id.in_(chunk)))
            keys += found
    if keys:
        _pending(session, storage_for(session)).doomed.extend(keys)
    return len(keys)


def on_records_merged(session: Session, kind_name: str, kept: int, merged: int) -> int:
    """The merged record's attachments move to the kept one (their blobs stay where they are)."""
    result = session.execute(
        update(Attachment)
        .where(Attachment.kind == kind_name, Attachment.record_id == merged)
        .values(record_id=kept)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


__all__ = [
    "AttachmentView",
    "Prepared",
    "UploadLimits",
    "UploadTooLarge",
    "UploadTypeRefused",
    "add",
    "attach",
    "clean_filename",
    "decide_type",
    "get_for",
    "human_size",
    "list_for",
    "on_records_deleted",
    "on_records_merged",
    "open_for",
    "prepare",
    "remove",
    "sniff",
    "too_large_message",
]
