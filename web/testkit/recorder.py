"""Record hook calls of an app: which hook, with what arguments, what it returned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class HookCall:
    name: str
    kwargs: dict[str, Any]
    plugins: list[str]
    result: Any = None


@dataclass
class HookRecorder:
    """Attach with ``HookRecorder.attach(app)``; ``calls`` fills as hooks run; ``detach()`` stops."""

    calls: list[HookCall] = field(default_factory=list)
    _undo: Any = None

    @classmethod
    def attach(cls, app: Any) -> HookRecorder:
        recorder = cls()
        pm = app.state.voronka.host.pm

        def before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
            recorder.calls.append(HookCall(hook_name, dict(kwargs), [i.plugin_name for i in impls]))

        def after(outcome: Any, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
            for call in reversed(recorder.calls):
                if call.name == hook_name:
                    try:
                        call.result = outcome.get_result()
                    except BaseException as exc:  # the recorder reports, it never raises
                        call.result = exc
                    break

        recorder._undo = pm.add_hookcall_monitoring(before, after)
        return recorder

    def detach(self) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None

    def named(self, hook_name: str) -> list[HookCall]:
        return [c for c in self.calls if c.name == hook_name]

    def called_on(self, hook_name: str, plugin: str) -> bool:
        return any(plugin in c.plugins for c in self.named(hook_name))
