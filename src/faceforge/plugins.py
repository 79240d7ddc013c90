"""Named, replaceable components (swappers, processors, maskers, detectors, landmarkers): one registry type.

Each kind of component has one :class:`Registry`, owned by the module that defines the kind's contract
(``swappers.registry``, ``processors.registry``, ...) and reached through that module's functions
(``register_swapper``, ``register_processor``, ...). Built-ins are registered when that module is
imported. A third-party package adds its own in two ways:

- at run time, calling the ``register_*`` function (tests use :meth:`Registry.registered`, a context
  manager that removes the entry again, so no test patches a dictionary);
- with a Python entry point in the kind's group (``faceforge.swappers``, ``faceforge.processors``,
  ``faceforge.maskers``, ``faceforge.detectors``, ``faceforge.landmarkers``), e.g. in ``pyproject.toml``::

      [project.entry-points."faceforge.processors"]
      sharpen = "my_package.sharpen:entry"

  The names of entry points are listed without importing anything; a plug-in's module is imported
  only when its name is used, and one that fails to import is reported in one sentence
  (:class:`~faceforge.errors.PluginError`) naming the plug-in, not as a traceback.

This module is a leaf (standard library only) so the CLI can list names without loading any model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar, cast

from faceforge.errors import OptionError, PluginError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to components of one kind (``kind`` names it in messages; ``group`` is its entry-point
    group). ``coerce`` turns what a plug-in's entry point loads into an entry (e.g. a bare factory into
    the kind's entry type); without it the loaded object is the entry."""

    def __init__(self, kind: str, group: str | None = None, coerce: Callable[[str, object], T] | None = None):
        self.kind = kind
        self.group = group
        self._coerce = coerce
        self._entries: dict[str, T] = {}
        self._plugins: dict[str, EntryPoint] | None = None  # read from the installed metadata on first use

    def register(self, name: str, entry: T) -> None:
        """Add ``entry`` under ``name``; a name already taken is refused, so a plug-in cannot silently
        replace a built-in (unregister it first to replace it on purpose)."""
        if not name or name in self._entries or name in self._entry_points():
            raise ValueError(f"The {self.kind} name {name!r} is empty or already registered.")
        self._entries[name] = entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (registered at run time or loaded from an entry point)."""
        if name not in self._entries:
            raise ValueError(f"No {self.kind} named {name!r} is registered.")
        del self._entries[name]

    @contextmanager
    def registered(self, name: str, entry: T) -> Iterator[T]:
        """``entry`` registered under ``name`` for the block, removed afterwards."""
        self.register(name, entry)
        try:
            yield entry
        finally:
            self.unregister(name)

    def names(self) -> list[str]:
        """Every usable name, sorted: registered ones and those of installed entry points."""
        return sorted(set(self._entries) | set(self._entry_points()))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._entries or name in self._entry_points())

    def get(self, name: str) -> T:
        """The entry named ``name``, importing its plug-in on first use."""
        if name in self._entries:
            return self._entries[name]
        point = self._entry_points().get(name)
        if point is None:
            raise OptionError(f"Unknown {self.kind} '{name}'; choose one of: {', '.join(self.names())}.")
        try:
            loaded = point.load()
            entry = self._coerce(name, loaded) if self._coerce is not None else cast(T, loaded)
        except Exception as exc:  # any failure of third-party code is that plug-in's, said in one line
            raise PluginError(
                f"The {self.kind} plug-in '{name}' ({point.value}) could not be loaded: "
                f"{type(exc).__name__}: {exc}."
            ) from exc
        self._entries[name] = entry
        return entry

    def _entry_points(self) -> dict[str, EntryPoint]:
        if self._plugins is None:
            found = entry_points(group=self.group) if self.group else ()
            self._plugins = {point.name: point for point in found}
        return self._plugins
