from voronka.core.markers import hookimpl
from voronka.core.ui import NavItem


@hookimpl
def nav_items(request):
    return [NavItem("fx_badspecs.index", "Bad specs", "/fx_badspecs/")]
