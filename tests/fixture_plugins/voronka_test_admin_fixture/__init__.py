"""A tiny plugin for the admin screens' tests: a page, a nav item, a permission and one setting of each type.

Load it as ``adminfx=voronka_test_admin_fixture``; ``.dependent`` requires it, ``.broken`` fails to import
and ``.needs_broken`` requires the broken one, so the plugins page has every status to show.
"""

from voronka.core.manifest import Manifest

manifest = Manifest(
    name="adminfx",
    label="Admin fixture",
    version="1.2.0",
    optional={"adminfx_extra": ">=2"},
    description="A fixture plugin for the admin tests.",
)
