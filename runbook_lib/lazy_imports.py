"""Modules that other libraries import eagerly and the kit rarely needs, put off until first used.

rfc3987_syntax builds a Lark grammar when imported (about 3 s of CPU). jsonschema imports it for two string
formats (`iri`, `iri-reference`) that no schema the kit validates uses, and nbformat, hence papermill and every
`runbook run`, imports jsonschema: without this, each run paid those seconds before its first cell.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types

# module -> the callables other libraries take from it with `from module import name` when they import it.
DEFERRED: dict[str, tuple[str, ...]] = {
    "rfc3987_syntax": ("is_valid_syntax",),
}


def _real(name: str) -> types.ModuleType:
    module = sys.modules.get(name)
    if isinstance(module, _StandIn):
        del sys.modules[name]
        module = importlib.import_module(name)
    return module


class _StandIn(types.ModuleType):
    def __getattr__(self, attribute: str):
        # The import system asks a module for __path__, __spec__ and the like: they must not import it.
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return getattr(_real(self.__name__), attribute)


def _calls_through(module: str, attribute: str):
    def call(*args, **kwargs):
        return getattr(_real(module), attribute)(*args, **kwargs)

    call.__name__ = call.__qualname__ = attribute
    return call


def defer_slow_imports() -> None:
    """Stand in for each DEFERRED module not imported yet (and installed): the real module is imported the first
    time one of its callables is called or any other attribute is read."""
    for name, callables in DEFERRED.items():
        if name in sys.modules or importlib.util.find_spec(name) is None:
            continue
        stand_in = _StandIn(name, f"stands in for {name} until first used (runbook_lib.lazy_imports)")
        for attribute in callables:
            setattr(stand_in, attribute, _calls_through(name, attribute))
        sys.modules[name] = stand_in
