from voronka.core.markers import hookimpl


@hookimpl
def fx_pub_channels(kinds):
    return [{"key": "fx_sub_strict.chat", "kind": "chat"}]
