from voronka.core.markers import hookimpl


@hookimpl(optionalhook=True)
def fx_pub_channels(channel_type):
    return [{"key": "fx_sub_legacy.phone", "kind": channel_type}]
