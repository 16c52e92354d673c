"""fx_pub's hook API, version 1.1. Arguments are added, never removed: ``channel_type`` (1.0) is retired
in favour of ``kinds`` (1.1) and still passed until 2.0; implementations that take it are warned."""

from voronka.core.markers import hookspec


@hookspec(
    warn_on_impl_args={
        "channel_type": DeprecationWarning(
            "fx_pub_channels: the argument 'channel_type' is retired since fx_pub 1.1 and goes away in 2.0; "
            "take 'kinds' (a list of channel kinds) instead"
        )
    }
)
def fx_pub_channels(kinds: list[str], channel_type: str) -> list[dict]:
    """Return the capture channels a plugin offers for the requested ``kinds``.

    Called by fx_pub's ``api.channels()`` on enabled plugins; all results are concatenated.
    ``channel_type`` is ``kinds[0]``, kept for implementations written against 1.0.
    """
