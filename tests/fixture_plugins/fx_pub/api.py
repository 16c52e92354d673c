"""What plugins requiring fx_pub may call."""

from typing import Any


def channels(host: Any, kinds: list[str]) -> list[dict]:
    """Every enabled plugin's channels of ``kinds``, passing the retired argument for one more release."""
    found: list[dict] = []
    for batch in host.hook.fx_pub_channels(kinds=kinds, channel_type=kinds[0] if kinds else ""):
        found.extend(batch or [])
    return found
