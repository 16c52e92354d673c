from voronka.core.markers import hookimpl
from voronka.core.ui import NavItem


@hookimpl
def sidebar_items(request):
    return [NavItem("fx_legacy.index", "Legacy", "/fx_legacy/")]
