from voronka.core.markers import hookimpl


@hookimpl
def nav_items(request, colour):
    return []
