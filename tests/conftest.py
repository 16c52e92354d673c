"""Voronka's own tests. Fixture plugins live in tests/fixture_plugins and import as top-level modules."""

import sys
from pathlib import Path

FIXTURE_PLUGINS = Path(__file__).resolve().parent / "fixture_plugins"
if str(FIXTURE_PLUGINS) not in sys.path:
    sys.path.insert(0, str(FIXTURE_PLUGINS))
