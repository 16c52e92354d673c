"""Attachments: throughput of a 100 MB file into and out of the file storage, locally and via S3.

    PYTHONPATH=tests/fixture_plugins python -m bench.attachments              # 100 MB, both backends
    PYTHONPATH=tests/fixture_plugins python -m bench.attachments --mb 20 --backend local

Two layers per backend: the storage alone (``put`` from a file, ``open`` read to the end), and the whole
HTTP path through one uvicorn worker (a multipart POST streamed from disk over a socket: BodyLimit,
Starlette's spooling parser, sniffing, sha256, the storage, the row; then the download streamed back). The
server's peak resident memory (VmHWM) is reported to show that neither direction holds the file in memory.

The S3 backend talks to moto's standalone S3 server (``moto[server]``, an emulator, on a loopback port),
so its figures measure our client path plus an emulator in Python, not a real S3 or MinIO.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from voronka.core.db import make_engine, make_sessionmaker, write_transaction
from voronka.core.files import FileStorage, LocalStorage, S3Storage
from voronka.web.testkit.users import TEST_PASSWORD

from .databases import bench_database, environment_for
from .harness import cookie_from, form_body, free_port, raw_request, uvicorn_server

NOTES = "notes=voronka_test_notes"
MiB = 1024 * 1024
TOKEN = re.compile(rb'name="csrf-token" content="([^"]+)"')


@contextmanager
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as out:
        for _ in range(size // MiB):
            out.write(block)


def storage_figures(storage: FileStorage, source: Path, size: int) -> tuple[float, float]:
    """(put MB/s, read MB/s) of one file."""
    key = f"bench/{uuid.uuid4().hex}"
    start = time.perf_counter()
    with open(source, "rb") as stream:
        storage.put(key, stream, size, "application/octet-stream")
    put_s = time.perf_counter() - start
    start = time.perf_counter()
    read = sum(len(chunk) for chunk in storage.open(key))
    read_s = time.perf_counter() - start
    assert read == size
    storage.delete(key)
    return size / MiB / put_s, size / MiB / read_s


def login(base: str) -> tuple[str, str]:
    """(session cookie, CSRF token) of the test user "sales"."""
    status, headers, body = raw_request(base, "GET", "/login")
    anonymous = cookie_from(headers, "voronka_session")
    token = TOKEN.search(body).group(1).decode()  # type: ignore[union-attr]
    post = form_body({"username": "sales", "password": TEST_PASSWORD, "csrf_token": token})
    status, headers, _ = raw_request(base, "POST", "/login", body=post, headers={
        "Cookie": f"voronka_session={anonymous}", "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    session = cookie_from(headers, "voronka_session")
    assert status == 303 and session, f"login answered {status}"
    status, headers, body = raw_request(base, "GET", "/me", headers={"Cookie": f"voronka_session={session}"})
    session = cookie_from(headers, "voronka_session") or session
    return session, TOKEN.search(body).group(1).decode()  # type: ignore[union-attr]


def upload_over_socket(base: str, path: str, cookie: str, token: str, source: Path, size: int) -> tuple[int, float]:
    """POST the file as multipart, streamed from disk in 1 MiB writes; (status, seconds to the answer)."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()  # fmt: skip
    tail = f"\r\n--{boundary}--\r\n".encode()
    host, port = base.removeprefix("http://").split(":")
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nCookie: voronka_session={cookie}\r\n"
        f"X-CSRF-Token: {token}\r\nHX-Request: true\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + size + len(tail)}\r\n\r\n"
    ).encode()
    start = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=300) as sock, open(source, "rb") as stream:
        sock.sendall(request + head)
        while chunk := stream.read(MiB):
            sock.sendall(chunk)
        sock.sendall(tail)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    return int(answer.split(b" ", 2)[1]), time.perf_counter() - start


def download_over_socket(base: str, path: str, cookie: str) -> tuple[int, int, float]:
    """(status, body bytes, seconds) of a GET read to the end in 1 MiB reads."""
    host, port = base.removeprefix("http://").split(":")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nCookie: voronka_session={cookie}\r\n\r\n"
    )
    start = time.perf_counter()
    total, head = 0, b""
    with socket.create_connection((host, int(port)), timeout=300) as sock:
        sock.sendall(request.encode())
        while piece := sock.recv(MiB):
            if not head:
                head = piece.split(b"\r\n\r\n", 1)[0]
                total += len(piece) - len(head) - 4
            else:
                total += len(piece)
    return int(head.split(b" ", 2)[1]), total, time.perf_counter() - start


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def http_figures(env: dict[str, str], url: str, source: Path, size: int) -> dict[str, Any]:
    from voronka_test_notes.models import Note

    engine = make_engine(url)
    with write_transaction(make_sessionmaker(engine)) as session:
        from sqlalchemy import select

        from voronka.core.models import User

        owner = session.scalar(select(User.id).where(User.username == "sales"))
        note = Note(title="Bench", title_key="bench", body="", owner_user_id=owner)
        session.add(note)
        session.flush()
        note_id = note.id
    engine.dispose()
    with uvicorn_server(env) as server:
        cookie, token = login(server.base)
        before = peak_rss_mb(server.pid)
        status, up_s = upload_over_socket(server.base, f"/records/note/{note_id}/attachments", cookie, token, source,
                                          size)  # fmt: skip
        assert status == 200, f"upload answered {status}"
        with write_transaction(make_sessionmaker(make_engine(url))) as session:
            from voronka.core.models_files import Attachment

            attachment_id = session.scalar(select(Attachment.id).order_by(Attachment.id.desc()))
        status, got, down_s = download_over_socket(server.base, f"/records/note/{note_id}/attachments/{attachment_id}",
                                                   cookie)  # fmt: skip
        assert status == 200 and got == size, (status, got)
        return {"up": size / MiB / up_s, "down": size / MiB / down_s, "rss_before": before,
                "rss_peak": peak_rss_mb(server.pid)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--backend", choices=["local", "s3", "both"], default="both")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    size = args.mb * MiB
    backends = ["local", "s3"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = workdir / "source.bin"
        make_file(source, size)
        print(f"attachments: one {args.mb} MB file (MB/s, higher is better)")
        for backend in backends:
            with bench_database("sqlite", workdir, [NOTES]) as url, _backend(backend, workdir) as (storage, extra):
                put, read = storage_figures(storage, source, size)
                env = {**environment_for(url, workdir, [NOTES]), **extra,
                       "VORONKA_MAX_UPLOAD_BYTES": str(size + MiB), "VORONKA_ENTRY_POINTS": "false",
                       "VORONKA_RUN_JOBS_IN_SERVER": "false",
                       "PYTHONPATH": os.pathsep.join([str(Path("tests/fixture_plugins").resolve()),
                                                      os.environ.get("PYTHONPATH", "")])}  # fmt: skip
                http = http_figures(env, url, source, size)
                print(
                    f"  {backend:5}  storage put {put:7.1f}  storage read {read:7.1f}  "
                    f"HTTP upload {http['up']:7.1f}  HTTP download {http['down']:7.1f}  "
                    f"server peak RSS {http['rss_peak']:.0f} MB (after login {http['rss_before']:.0f} MB)"
                )
            (workdir / "bench.sqlite").unlink(missing_ok=True)


@contextmanager
def _backend(name: str, workdir: Path) -> Iterator[tuple[FileStorage, dict[str, str]]]:
    if name == "local":
        folder = workdir / "data" / "files"
        yield LocalStorage(folder), {"VORONKA_FILES_DIR": str(folder)}
        return
    with moto_server() as endpoint:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        storage = S3Storage(endpoint, bucket, "us-east-1", "bench", "bench-secret")
        storage.client.create_bucket(Bucket=bucket)
        yield storage, {
            "VORONKA_FILE_STORAGE": "s3", "VORONKA_S3_ENDPOINT_URL": endpoint, "VORONKA_S3_BUCKET": bucket,
            "VORONKA_S3_REGION": "us-east-1", "VORONKA_S3_ACCESS_KEY": "bench", "VORONKA_S3_SECRET_KEY": "bench-secret",
        }  # fmt: skip


if __name__ == "__main__":
    main()
