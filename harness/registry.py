"""A small name -> object registry (after lm-evaluation-harness's ``Registry``).

Targets may be objects or lazy ``"module:attr"`` strings, so heavy imports wait until a
name is looked up. Registering a name twice raises with both targets shown; an unknown
name raises :class:`~harness.exceptions.UnknownNameError` listing the options and the
nearest matches.
"""

import difflib
import importlib

from .exceptions import UnknownNameError


class Registry:
    """Map names to objects (or lazy ``"module:attr"`` strings).

    Parameters
    ----------
    kind : str
        What the registry holds, used in error messages ("task", "model").
    """

    def __init__(self, kind):
        self.kind = kind
        self._entries = {}
        self._frozen = False

    def register(self, name, target=None):
        """Register ``target`` under ``name``; usable as a decorator when target is None."""
        if target is None:
            return lambda obj: self.register(name, obj) or obj
        if self._frozen:
            raise RuntimeError(f"The {self.kind} registry is frozen; cannot add {name!r}.")
        if name in self._entries and self._entries[name] is not target:
            raise ValueError(
                f"{self.kind} {name!r} is already registered as {self._entries[name]!r}; "
                f"refusing to re-register it as {target!r}."
            )
        self._entries[name] = target
        return target

    def freeze(self):
        self._frozen = True

    def names(self):
        return sorted(self._entries)

    def __contains__(self, name):
        return name in self._entries

    def get(self, name):
        """Return the object registered under ``name``, importing a lazy target."""
        try:
            target = self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None
        if isinstance(target, str) and ":" in target:
            module, _, attr = target.partition(":")
            target = getattr(importlib.import_module(module), attr)
            self._entries[name] = target
        return target

    def unknown_message(self, name):
        return unknown_name_message(self.kind, name, self.names())


def unknown_name_message(kind, name, names):
    """``Unknown <kind> '<name>'. Known: ... Did you mean: ...?`` (the nearest names)."""
    msg = f"Unknown {kind} {name!r}. Known: {', '.join(names)}."
    close = difflib.get_close_matches(str(name), list(names), n=3)
    if close:
        msg += f" Did you mean: {', '.join(close)}?"
    return msg
