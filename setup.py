"""Build hook: the wheel ships htmx from the npm registry, fetched at build time (never committed)."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithAssets(build_py):
    def run(self) -> None:
        spec = importlib.util.spec_from_file_location("assets_build", Path(__file__).parent / "web/assets/build.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build()
        super().run()


setup(cmdclass={"build_py": BuildWithAssets})
