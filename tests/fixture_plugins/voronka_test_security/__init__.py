"""Fixture plugin for the security tests: one route per route marker, a path parameter, a nested mount.

It has no models and no migrations, so loading it changes no table; its routes mount under
``/voronka_test_security``.
"""

from voronka.core.manifest import Manifest

manifest = Manifest(name="voronka_test_security", label="Security fixture", version="1.0.0")
