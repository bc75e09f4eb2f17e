"""A registry: components by their user-facing name (the optimizers, the losses), and what follows a change.

    OPTIMIZERS["gd"]                        read it as the dict it is
    with OPTIMIZERS.register("signum", Signum):
        ...                                 "signum" is a choice of the config, the schema, the estimators
    reg = LOSSES.register("pseudo_huber", loss); …; reg.undo()

Add to a registry, or take from it, only through register (and its Registration's undo): what is built
from it — the config's schema, the estimators' parameters — watches it (watch(fn): fn() after every
change), and a change that a check or a watcher refuses is undone before its error goes on, so that the
registry and everything built from it always agree.

Left out on purpose: what an entry must be (each registry's own check), files, printing.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from .errors import UsageError


class Registration:
    """One entry added by Registry.register: undo() takes it out again (once); as a context manager, the
    entry lives for the `with` block."""

    def __init__(self, registry: "Registry", name: str) -> None:
        self.registry, self.name = registry, name
        self._done = False

    def undo(self) -> None:
        if not self._done:
            self._done = True
            self.registry._remove(self.name)

    def __enter__(self) -> "Registration":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.undo()


class Registry(dict):
    """Entries by name, in registration order. check(registry, name, entry) raises a UsageError for an entry
    that cannot be added (the registry as it is before the entry); watchers run after every change."""

    def __init__(self, kind: str, entries: Iterable[tuple[str, Any]] = (),
                 check: Optional[Callable[["Registry", str, Any], None]] = None) -> None:
        super().__init__()
        self.kind, self._check = kind, check
        self._watchers: list[Callable[[], None]] = []
        for name, entry in entries:
            self._add(name, entry)

    def _add(self, name: str, entry: Any) -> None:
        if not (isinstance(name, str) and name[:1].isalpha() and name.replace("_", "").isalnum()
                and name.isascii() and name == name.lower()):
            raise UsageError(f"a {self.kind} name must be lower-case letters, digits and '_', starting with a "
                             f"letter (got {name!r})")
        if name in self:
            raise UsageError(f"{self.kind} {name!r} is registered already; give the new one another name")
        if self._check is not None:
            self._check(self, name, entry)
        super().__setitem__(name, entry)

    def register(self, name: str, entry: Any) -> Registration:
        """Add `entry` under `name`; everything built from the registry follows, or nothing changes."""
        self._add(name, entry)
        try:
            self._changed()
        except BaseException:
            self._remove(name)
            raise
        return Registration(self, name)

    def _remove(self, name: str) -> None:
        if super().pop(name, None) is not None:
            self._changed()

    def watch(self, fn: Callable[[], None]) -> Callable[[], None]:
        """Call fn() after every change from now on (it raises to refuse the change)."""
        self._watchers.append(fn)
        return fn

    def _changed(self) -> None:
        for fn in self._watchers:
            fn()

    def __setitem__(self, name: str, entry: Any) -> None:
        raise UsageError(f"add a {self.kind} with register({name!r}, …), which keeps the config in step")

    def __delitem__(self, name: str) -> None:
        raise UsageError(f"take a {self.kind} out with the undo() of the Registration register() returned")
