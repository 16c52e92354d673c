from voronka.core.markers import hookimpl
from voronka.core.ui import NavItem


@hookimpl(optionalhook=True)
def fx_pub_channels(kinds):
    return [{"key": "fx_sub.web_form", "kind": "web"}] if "web" in kinds else []


@hookimpl
def nav_items(request):
    return [NavItem("fx_sub.index", "Subscriber", "/fx_sub/")]
