"""What the fixture plugins record when their hooks run, so tests can check the order of calls.

Not a plugin: a plain module the fixture plugins share. Tests clear ``CALLS`` before they act.
"""

CALLS: list[tuple[str, str]] = []


def record(hook: str, plugin: str) -> None:
    CALLS.append((hook, plugin))


def order_of(hook: str) -> list[str]:
    return [plugin for name, plugin in CALLS if name == hook]
