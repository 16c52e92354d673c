"""Plugin manifests: who a plugin is, what it needs, which host hook API it speaks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

RESERVED_NAMES = frozenset(
    {"admin", "api", "auth", "core", "health", "login", "logout", "me", "search", "static", "web",
     "voronka", "assets", "p", "plugins", "users", "home", "favicon.ico"}
)  # fmt: skip
"""Names a plugin may not take: its routes mount at ``/<name>`` and these are the host's own paths."""


@dataclass(frozen=True)
class Manifest:
    """What a plugin declares about itself in its package's ``__init__.py`` as ``manifest``.

    ``requires`` and ``optional`` map plugin names to version ranges (PEP 440 specifiers, "" for any).
    ``hook_api`` is the range of host hook API versions the plugin was written against.
    """

    name: str
    label: str
    version: str
    requires: Mapping[str, str] = field(default_factory=dict)
    optional: Mapping[str, str] = field(default_factory=dict)
    hook_api: str = ">=1.0,<2"
    description: str = ""

    def problems(self) -> list[str]:
        """Everything wrong with this manifest, each a sentence that says how to fix it."""
        found: list[str] = []
        if not NAME_RE.match(self.name):
            found.append(
                f"name {self.name!r} must be 2-40 lower-case letters, digits or underscores, starting with a letter"
            )
        if self.name in RESERVED_NAMES:
            found.append(f"name {self.name!r} collides with a core path; choose another name")
        try:
            Version(self.version)
        except InvalidVersion:
            found.append(f"version {self.version!r} is not a PEP 440 version such as '1.0.0'")
        for label, specs in (("requires", self.requires), ("optional", self.optional)):
            for dep, spec in specs.items():
                try:
                    SpecifierSet(spec)
                except InvalidSpecifier:
                    found.append(f"{label}[{dep!r}] = {spec!r} is not a version range such as '>=1.0,<2'")
        try:
            SpecifierSet(self.hook_api)
        except InvalidSpecifier:
            found.append(f"hook_api {self.hook_api!r} is not a version range such as '>=1.0,<2'")
        if self.name in self.requires:
            found.append("a plugin cannot require itself")
        return found


def version_in(version: str, spec: str) -> bool:
    return SpecifierSet(spec).contains(Version(version), prereleases=True)
