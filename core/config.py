"""Deployment configuration: a TOML file plus ``VORONKA_*`` environment variables (which win)."""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_CONFIG = "voronka.toml"


@dataclass
class Settings:
    """Everything a deployment configures. See the README's "Configuration" section."""

    database_url: str = "sqlite:///voronka.db"
    secret_key: str = ""
    secret_keys: list[str] = field(default_factory=list)
    """Keys that encrypt stored secrets (see ``voronka.core.secrets``): the first encrypts, all decrypt."""
    debug: bool = False
    strict_plugins: bool = False
    disabled_plugins: list[str] = field(default_factory=list)
    blocked_plugins: list[str] = field(default_factory=list)
    extra_plugins: list[str] = field(default_factory=list)
    """Plugin modules to load besides the entry points (``module`` or ``name=module``)."""
    entry_points: bool = True
    """Discover plugins through the ``voronka.plugins`` entry points (off in some tests)."""
    template_dir: str = ""
    """A folder whose templates override any shipped template of the same name."""
    data_dir: str = "data"
    default_language: str = "en"
    default_timezone: str = "Europe/Kyiv"
    max_body_bytes: int = 10 * 1024 * 1024
    file_storage: str = "local"
    """Where attachments are kept: "local" (a folder, ``files_dir``) or "s3" (an S3-compatible bucket)."""
    files_dir: str = ""
    """The folder of the local file storage; empty means ``<data_dir>/files``."""
    s3_endpoint_url: str = ""
    """Empty for AWS; the URL of MinIO, Ceph, R2 or another S3-compatible service otherwise."""
    s3_bucket: str = ""
    s3_region: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = field(default="", repr=False)
    max_upload_bytes: int = 25 * 1024 * 1024
    """The largest attachment; upload requests get their own body limit of this (plus the form's framing)."""
    upload_types_allowed: list[str] = field(default_factory=list)
    """MIME types ("application/pdf", "image/*") or extensions (".docx") attachments may have; empty: any
    type that is not an executable program or script."""
    secure_cookies: bool = False
    session_max_age: int = 14 * 24 * 3600
    state_poll_seconds: float = 1.0
    run_jobs_in_server: bool = True
    """Run background jobs and event delivery inside the web server (embedded setup); turn it off when
    ``voronka worker`` processes do that work."""
    job_poll_seconds: float = 0.2
    gc_tuning: bool = True
    """Freeze the objects alive after start-up and collect garbage less often (``voronka.web.tuning``): an
    import of 100,000 records ran 27 % faster and its longest transaction fell from 214 to 132 ms."""
    source: str = ""

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
        """Read ``path`` (or ``$VORONKA_CONFIG``, or ./voronka.toml if present), then env, then overrides."""
        values: dict[str, Any] = {}
        chosen = path or os.environ.get("VORONKA_CONFIG")
        if chosen is None and Path(DEFAULT_CONFIG).exists():
            chosen = DEFAULT_CONFIG
        if chosen:
            values.update(_read_file(Path(chosen)))
            values["source"] = str(chosen)
        known = {f.name: f for f in fields(cls)}
        for name, f in known.items():
            env = os.environ.get(f"VORONKA_{name.upper()}")
            if env is not None:
                values[name] = _coerce(name, env, f.type)
        values.update(overrides)
        return cls(**values)

    def ensure_secret(self) -> str:
        if not self.secret_key:
            # A per-process key still works for one server; `voronka init` writes a stable one.
            self.secret_key = secrets.token_urlsafe(32)
        return self.secret_key


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"The configuration file {path} does not exist; run `voronka init` to create it.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The configuration file {path} is not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    plugins = raw.pop("plugins", {})
    if not isinstance(plugins, dict):
        raise ConfigError(f"{path}: [plugins] must be a table")
    for key, target in (("disabled", "disabled_plugins"), ("blocked", "blocked_plugins"),
                        ("extra", "extra_plugins"), ("strict", "strict_plugins")):  # fmt: skip
        if key in plugins:
            values[target] = plugins.pop(key)
    if plugins:
        raise ConfigError(f"{path}: unknown keys in [plugins]: {', '.join(sorted(plugins))} "
                          "(known: disabled, blocked, extra, strict)")  # fmt: skip
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(unknown)}")
    for key in ("disabled_plugins", "blocked_plugins", "extra_plugins"):
        if key in values and not (isinstance(values[key], list) and all(isinstance(v, str) for v in values[key])):
            raise ConfigError(f"{path}: plugins.{key.split('_')[0]} must be a list of plugin names")
    values.update(raw)
    return values


def _coerce(name: str, raw: str, annotation: Any) -> Any:
    kind = str(annotation)
    if "bool" in kind:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if "list" in kind:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if "int" in kind:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"VORONKA_{name.upper()} must be a whole number, not {raw!r}") from None
    if "float" in kind:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"VORONKA_{name.upper()} must be a number, not {raw!r}") from None
    return raw
