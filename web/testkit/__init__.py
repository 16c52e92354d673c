"""The Voronka test kit: what Voronka's own tests and partners' plugin tests use.

Installed as a pytest plugin (entry point ``pytest11: voronka``), it provides fixtures:

``db_url``
    A migrated database for this test, cloned from a per-session template; tests using it run once on
    SQLite and once on PostgreSQL (``--voronka-engines``). Under ``CI=true`` a missing PostgreSQL fails.
``make_app`` / ``app``
    An app factory bound to ``db_url``; plugins chosen with ``@pytest.mark.voronka(plugins=[...])``.
``client``
    An HTMX-aware test client that handles CSRF tokens and logs in (``client.login("admin")``).
``hook_recorder``
    Records every hook call of an app.

and helpers: :func:`check_plugin` (conformance), :func:`check_metric` (the metrics contract).
"""

from .client import VoronkaClient
from .conformance import CheckResult, check_metric, check_plugin
from .corpus import corpus_dir
from .recorder import HookRecorder
from .users import TEST_PASSWORD, TEST_USERS

__all__ = [
    "TEST_PASSWORD",
    "TEST_USERS",
    "CheckResult",
    "HookRecorder",
    "VoronkaClient",
    "check_metric",
    "check_plugin",
    "corpus_dir",
]
