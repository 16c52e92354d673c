"""Timing tools shared by the benchmarks: statistics, direct ASGI calls, uvicorn, and HTTP load generators.

Nothing here knows about a particular page; ``bench/shell.py`` and later page benchmarks compose these.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


# --- figures ----------------------------------------------------------------------------------------------


@dataclass
class Figures:
    """One measured thing: latency percentiles in milliseconds, and requests/s when it was a load run."""

    name: str
    count: int = 0
    median_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    rps: float | None = None
    note: str = ""

    @classmethod
    def of(cls, name: str, samples_ms: Sequence[float], *, rps: float | None = None, note: str = "") -> Figures:
        cpu = getattr(samples_ms, "cpu_ms_per_call", None)
        if cpu is not None:
            note = f"CPU {cpu:.3f} ms/call" + (f"; {note}" if note else "")
        return cls(
            name,
            len(samples_ms),
            statistics.median(samples_ms),
            percentile(samples_ms, 95),
            percentile(samples_ms, 99),
            rps,
            note,
        )

    def row(self) -> str:
        def ms(value: float | None) -> str:
            return "-" if value is None else (f"{value:.3f}" if value < 100 else f"{value:.1f}")

        rps = "-" if self.rps is None else f"{self.rps:,.0f}"
        return (
            f"{self.name:<44} {self.count:>7} {ms(self.median_ms):>9} {ms(self.p95_ms):>9} {ms(self.p99_ms):>9}"
            f" {rps:>9}  {self.note}"
        ).rstrip()

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


HEADER = f"{'what':<44} {'n':>7} {'median ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'req/s':>9}"


def percentile(samples: Sequence[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def print_table(title: str, rows: Sequence[Figures]) -> None:
    print(f"\n{title}")
    print(HEADER)
    print("-" * len(HEADER))
    for row in rows:
        print(row.row())


# --- direct ASGI calls (no TestClient, no HTTP) ----------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        key = name.lower().encode()
        for k, v in self.headers:
            if k.lower() == key:
                return v.decode("latin-1")
        return None

    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for k, v in self.headers:
            if k.lower() == b"set-cookie":
                parsed: SimpleCookie = SimpleCookie()
                parsed.load(v.decode("latin-1"))
                jar.update({name: morsel.value for name, morsel in parsed.items()})
        return jar


def make_scope(
    method: str,
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
) -> dict[str, Any]:
    path_only, _, query = path.partition("?")
    raw_headers = [(b"host", b"bench.local"), (b"user-agent", b"voronka-bench"), (b"accept", b"text/html")]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers]
    if cookies:
        raw_headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    if body:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path_only,
        "raw_path": path_only.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 40000),
        "server": ("bench.local", 80),
        "state": {},
    }


async def call(
    app: Any,
    method: str,
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
) -> Reply:
    """One request straight into the ASGI app, as uvicorn would make it, minus the socket."""
    scope = make_scope(method, path, cookies=cookies, headers=headers, body=body)
    sent = False
    status = 0
    out_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # like a client that stays connected
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Reply(status, out_headers, b"".join(chunks))


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> Any:
    """Run the app's start-up and shut-down the way a server does."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"start-up failed: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


class Samples(list[float]):
    """Wall-clock milliseconds per call, plus the CPU milliseconds per call over the whole run (which
    other work on the machine does not inflate)."""

    cpu_ms_per_call: float | None = None


async def time_calls(make_call: Callable[[], Any], n: int, warmup: int = 0) -> Samples:
    """Await ``make_call()`` ``warmup`` times, then ``n`` times timed."""
    for _ in range(warmup):
        await make_call()
    samples = Samples()
    clock = time.perf_counter_ns
    cpu = time.process_time()
    for _ in range(n):
        start = clock()
        await make_call()
        samples.append((clock() - start) / 1e6)
    samples.cpu_ms_per_call = (time.process_time() - cpu) * 1000 / n
    return samples


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def run_in_new_loop(coroutine: Any) -> Any:
    """Run ``coroutine`` to the end in a fresh event loop (uvloop when installed), then close the loop."""
    loop = new_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coroutine)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


# --- uvicorn, one worker ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server process has used so far (Linux), for CPU per request."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def uvicorn_server(env: dict[str, str], *, factory: str = "bench.asgi:app", timeout: float = 30) -> Iterator[Server]:
    """Start ``uvicorn`` (one process, uvloop + httptools when installed); yields its URL and pid."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--app-dir",
        str(REPO),
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, proc, timeout)
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_up(base: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    """Poll /health until it answers; returns seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"uvicorn exited with {proc.returncode}:\n{output}")
        try:
            status, _, _ = raw_request(base, "GET", "/health")
            if status == 200:
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"uvicorn did not answer at {base} within {timeout} s")


def raw_request(
    base: str, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, list[str]], bytes]:
    """A minimal blocking HTTP/1.1 request on a new connection (no client library in the timing)."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, payload = raw.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    status = int(head_lines[0].split()[1])
    parsed: dict[str, list[str]] = {}
    for line in head_lines[1:]:
        key, _, value = line.partition(":")
        parsed.setdefault(key.strip().lower(), []).append(value.strip())
    return status, parsed, payload


def cookie_from(headers: dict[str, list[str]], name: str) -> str | None:
    for value in headers.get("set-cookie", []):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(value)
        if name in parsed:
            return parsed[name].value
    return None


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


# --- load generators ------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    bad_status: int
    errors: int
    tool: str
    cpu_ms_per_request: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def figures(self, name: str, note: str = "") -> Figures:
        extra = f"{self.tool}"
        cpu = self.cpu_ms_per_request
        if cpu:
            extra += f"; server CPU {cpu:.3f} ms/req = {1000 / cpu:,.0f} req/s per core"
        if self.bad_status or self.errors:
            extra += f"; {self.bad_status} bad status, {self.errors} socket errors"
        return Figures(
            name, self.requests, self.p50_ms, self.p95_ms, self.p99_ms, self.rps, f"{note} ({extra})".strip()
        )


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    base: str,
    path: str,
    *,
    seconds: float,
    connections: int,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> LoadResult:
    """``wrk`` with one thread (the other core serves); latency percentiles come from bench/wrk_report.lua."""
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH_DIR / "wrk_report.lua"),
    ]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    cmd.append(base + path)
    env = {**os.environ, "WRK_METHOD": method, "WRK_BODY": body.decode()}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no report:\n{out}")
    report = json.loads(line[len("WRKJSON ") :])
    pct = report["percentiles_us"]
    return LoadResult(
        report["requests"],
        report["duration_us"] / 1e6,
        pct["50"] / 1000,
        pct["95"] / 1000,
        pct["99"] / 1000,
        report["status_errors"],
        report["socket_errors"],
        "wrk",
    )


def run_python_load(
    base: str,
    path: str,
    *,
    seconds: float,
    connections: int,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> LoadResult:
    """An asyncio keep-alive load generator, for machines without ``wrk`` (slower; may limit the result)."""
    return new_loop().run_until_complete(_python_load(base, path, seconds, connections, method, headers, body))


async def _python_load(
    base: str, path: str, seconds: float, connections: int, method: str, headers: dict[str, str] | None, body: bytes
) -> LoadResult:
    host, port = base.removeprefix("http://").split(":")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    latencies: list[float] = []
    counts = {"bad": 0, "errors": 0}
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                close = False
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    key, _, value = line.decode("latin-1").partition(":")
                    key = key.strip().lower()
                    if key == "content-length":
                        length = int(value)
                    elif key == "connection" and "close" in value.lower():
                        close = True
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - start) * 1000)
                if int(status_line.split()[1]) >= 400:
                    counts["bad"] += 1
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            counts["errors"] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    if not latencies:
        raise RuntimeError(f"no request to {path} completed ({counts['errors']} socket errors)")
    return LoadResult(
        len(latencies),
        elapsed,
        statistics.median(latencies),
        percentile(latencies, 95),
        percentile(latencies, 99),
        counts["bad"],
        counts["errors"],
        "python",
    )


def run_load(server: Server, path: str, **kwargs: Any) -> LoadResult:
    """Load ``path`` with wrk (or the Python generator); also records the server's CPU per request,
    which stays meaningful when other work shares the machine and requests/s does not."""
    before = server.cpu_seconds()
    if wrk_available() and not os.environ.get("BENCH_NO_WRK"):
        result = run_wrk(server.base, path, **kwargs)
    else:
        result = run_python_load(server.base, path, **kwargs)
    after = server.cpu_seconds()
    if before is not None and after is not None and result.requests:
        result.cpu_ms_per_request = (after - before) * 1000 / result.requests
    return result
