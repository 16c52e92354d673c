"""Packaging: one wheel named voronka that holds everything under ``voronka.*`` and nothing at the top level.

The wheel test builds a real wheel from a copy of the source tree (so the shared checkout gets no build/
folder), which fetches htmx from the npm registry: it takes a while and is kept to one test.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from voronka.web.testkit.plugin import require_service

REPO = Path(__file__).resolve().parents[2]
BUILT_INS = ("contacts", "leads", "pipeline", "planning", "outlook")
TOP_FOLDERS = {"core": "voronka/core", "web": "voronka/web", "plugins": "voronka/plugins"}
NOT_PACKAGES = {"assets", "templates", "static", "locale", "node_modules", "__pycache__"}
"""Folders under core/, web/ and plugins/ that hold data or build inputs, not Python modules."""


def source_packages() -> list[str]:
    """Every folder of the source tree holding Python modules, as its path inside the wheel."""
    found = []
    for top, target in TOP_FOLDERS.items():
        for folder in [REPO / top, *sorted(p for p in (REPO / top).rglob("*") if p.is_dir())]:
            relative = folder.relative_to(REPO / top)
            if NOT_PACKAGES & set(relative.parts) or not any(folder.glob("*.py")):
                continue
            found.append(f"{target}/{relative.as_posix()}".rstrip("/.") if relative.parts else target)
    return found


def build_wheel(out: Path) -> Path:
    if importlib.util.find_spec("build") is None:
        require_service("the `build` package is not installed (pip install 'voronka[test]')")
    if shutil.which("npm") is None:
        require_service("npm is not installed; the wheel build fetches htmx from the npm registry")
    source = out / "src"
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "node_modules", "vendor", "__pycache__", "*.egg-info", ".ruff_cache",
        ".pytest_cache", "screenshots", "*.db", "*.sqlite", "voronka.toml",
    )  # fmt: skip
    shutil.copytree(REPO, source, ignore=ignore)
    dist = out / "dist"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VORONKA_")}
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, f"wheel build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    (wheel,) = dist.glob("voronka-*.whl")
    return wheel


def test_wheel_holds_everything_under_voronka_only(tmp_path: Path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        points = configparser.ConfigParser()
        points.read_string(archive.read(info).decode())
        htmx = archive.read("voronka/web/static/vendor/htmx.min.js")

    assert b"htmx" in htmx and len(htmx) > 10_000  # the real library from npm, not a placeholder
    for required in (
        "voronka/__init__.py",
        "voronka/web/cli.py",
        "voronka/web/templates/layout.html",
        "voronka/web/templates/login.html",
        "voronka/web/static/voronka.css",
        "voronka/core/migrations/env.py",
        "voronka/core/migrations/script.py.mako",
        "voronka/core/migrations/versions/core_0001_core_tables.py",
        *(f"voronka/plugins/{name}/__init__.py" for name in BUILT_INS),
    ):
        assert required in names, f"{required} is missing from {wheel.name}"
    for package in source_packages():  # a folder left out of [tool.setuptools] packages would vanish here
        assert any(n.startswith(package + "/") and n.endswith(".py") for n in names), f"{package} is not in the wheel"
    tops = {n.split("/", 1)[0] for n in names}
    (metadata,) = tops - {"voronka"}
    assert metadata.endswith(".dist-info"), tops
    assert not any(n.startswith(("core/", "web/", "plugins/", "tests/")) for n in names)

    assert dict(points["voronka.plugins"]) == {name: f"voronka.plugins.{name}" for name in BUILT_INS}
    assert points["console_scripts"]["voronka"] == "voronka.web.cli:main"
    assert points["pytest11"]["voronka"] == "voronka.web.testkit.plugin"


def test_installed_entry_points_register_the_built_in_plugins():
    plugins = {ep.name: ep for ep in entry_points(group="voronka.plugins")}
    for name in BUILT_INS:
        assert name in plugins, f"{name} is not registered in the voronka.plugins entry-point group"
        module = plugins[name].load()
        assert module.__name__ == f"voronka.plugins.{name}"
        assert module.manifest.name == name
    (pytest11,) = [ep for ep in entry_points(group="pytest11") if ep.name == "voronka"]
    assert pytest11.value == "voronka.web.testkit.plugin"
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "voronka"]
    assert script.value == "voronka.web.cli:main"


@pytest.mark.skipif(os.environ.get("VORONKA_TEST_INSTALLED") != "1", reason="set VORONKA_TEST_INSTALLED=1 (CI)")
def test_tests_run_against_the_installed_package():
    """`./scripts/test` installs the wheel into .venv and sets VORONKA_TEST_INSTALLED=1: prove it is used."""
    import voronka.core
    import voronka.web

    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert sys.prefix != sys.base_prefix, "the tests should run inside the virtual environment"
    for module in (voronka.core, voronka.web):
        location = Path(module.__file__ or "").resolve()
        assert location.is_relative_to(site), f"{module.__name__} comes from {location}, not from {site}"
        assert not location.is_relative_to(REPO / "core") and not location.is_relative_to(REPO / "web")
