from voronka.core.markers import hookimpl
from voronka.core.ui import NavItem


@hookimpl
def nav_items(request):
    return [NavItem("fx_unknown.index", "Unknown", "/fx_unknown/")]


@hookimpl
def navigation_itemz(request):
    """A typo of a hook name: no spec, no ``optionalhook``."""
    return []
