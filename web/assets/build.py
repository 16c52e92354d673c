"""Fetch front-end packages from the npm registry and copy what the wheel ships into web/static/vendor.

Run by setup.py's build step and by `.ci/run`; nothing it produces is committed (see .gitignore).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parent
VENDOR = ASSETS.parent / "static" / "vendor"
FILES = {"htmx.org/dist/htmx.min.js": "htmx.min.js"}


def build(force: bool = False) -> None:
    if not force and all((VENDOR / target).is_file() for target in FILES.values()):
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed to build Voronka's front-end assets (htmx); install Node.js 20+.")
    command = "ci" if (ASSETS / "package-lock.json").is_file() else "install"
    subprocess.run([npm, command, "--no-audit", "--no-fund", "--loglevel=error"], cwd=ASSETS, check=True)
    VENDOR.mkdir(parents=True, exist_ok=True)
    for source, target in FILES.items():
        shutil.copyfile(ASSETS / "node_modules" / source, VENDOR / target)


if __name__ == "__main__":
    build(force="--force" in sys.argv)
