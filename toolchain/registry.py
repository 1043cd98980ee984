"""Named registries: one table per family, filled by a decorator at the definition site.

Models, augmentations, schedulers, code-generator ops, boards and operation modes are each one
`Registry`. Looking up an unknown name raises `UnknownNameError` listing the valid names and the
closest one, so a misspelt config value never passes silently.

Example:
    MODELS = Registry("model")

    @MODELS.register("mobilenetv2_a035")
    def mobilenetv2_a035(input_shape, **kwargs): ...

    builder = MODELS.get("mobilenetv2_a035")
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from toolchain.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object table for one family.

    Args:
        family: what the entries are, used in error messages ("model", "board"...).
    """

    def __init__(self, family: str):
        self.family = family
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str | None = None, *, aliases: tuple[str, ...] = ()) -> Callable[[T], T]:
        """Decorator adding the decorated object under `name` (default: its `__name__`).

        Raises:
            ValueError: the name or an alias is already registered.
        """

        def decorator(obj: T) -> T:
            self.add(name or getattr(obj, "__name__"), obj, aliases=aliases)
            return obj

        return decorator

    def add(self, name: str, obj: T, *, aliases: tuple[str, ...] = ()) -> None:
        """Register `obj` under `name` (and `aliases`); duplicates are rejected."""
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                raise ValueError(f"{self.family} '{key}' is already registered")
        self._entries[name] = obj
        for alias in aliases:
            self._aliases[alias] = name

    def canonical(self, name: str) -> str:
        """The registered name for `name` or one of its aliases."""
        name = self._aliases.get(name, name)
        if name not in self._entries:
            valid = self.names()
            close = difflib.get_close_matches(name, valid + list(self._aliases), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UnknownNameError(
                f"Unknown {self.family} '{name}'.{hint} Valid: {', '.join(valid)}"
            )
        return name

    def get(self, name: str) -> T:
        """The entry for `name`; an unknown name lists the valid ones."""
        return self._entries[self.canonical(name)]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._entries[n]) for n in self.names()]
