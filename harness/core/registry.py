"""One typed registry per plugin kind; the decorator is the only place a name is bound."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from importlib import import_module
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from harness.core.errors import UserError, did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Named plugins of one kind, e.g. adapters or profilers.

    Third parties register through the entry-point group `limitbench.<kind>` (spaces in
    the kind written as underscores: `limitbench.variant_knob`, `limitbench.data_format`),
    loaded the first time a name is looked up, so a plugin package needs no import by the
    user. The old groups with a space still load for one release, with a DeprecationWarning.
    `builtins` names the modules whose import registers the built-in plugins (light modules:
    heavy imports stay inside the plugins), imported at the same moment.
    """

    def __init__(self, kind: str, builtins: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.builtins = builtins
        self._items: dict[str, T] = {}
        self._entry_points_loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = item
            return item

        return decorate

    def get(self, name: str, where: str | None = None) -> T:
        """The plugin called `name`; `where` (e.g. "tasks/foo.yaml: key 'adapter'") says
        where the name came from, for the error when it is unknown."""
        self._load_entry_points()
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "none"
            prefix = f"{where}: " if where else ""
            raise UserError(
                f"{prefix}unknown {self.kind} '{name}'{did_you_mean(name, self._items)}; "
                f"registered: {known}"
            )
        return self._items[name]

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        self._load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[tuple[str, T]]:
        self._load_entry_points()
        return iter(sorted(self._items.items()))

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for module in self.builtins:
            import_module(module)  # its @register decorators run on import
        for ep in entry_points(group=self.group):
            ep.load()  # importing the plugin module runs its @register decorator
        if self.group != (old := f"limitbench.{self.kind}"):
            for ep in entry_points(group=old):
                warnings.warn(
                    f"entry point '{ep.name}' uses the group '{old}', which is deprecated and "
                    f"will stop loading in the next release: use '{self.group}'",
                    DeprecationWarning,
                    stacklevel=2,
                )
                ep.load()

    @property
    def group(self) -> str:
        """The entry-point group third parties register in (no spaces)."""
        return "limitbench." + self.kind.replace(" ", "_")
