"""The Voronka host: plugins, hooks, storage, migrations and security.

Core imports nothing of Voronka's above it (plugins, web); everything CRM-specific arrives through hooks.
"""

HOOK_API_VERSION = "1.2"
"""Version of the host hook API. Plugins declare the range they support in their manifest."""

from . import routing as _routing  # noqa: E402,F401  (bounded {id:int} path parameters, before any route exists)
