"""Generated operation tables, one module per API, imported on first use.

``import sesclient`` loads neither table; the first v1 call loads only v1's.
"""

from __future__ import annotations

import importlib
from types import ModuleType

_MODULES = {"v1": "sesclient._models.ses_v1", "v2": "sesclient._models.ses_v2"}
_LOADED: dict[str, ModuleType] = {}


def load(api: str) -> ModuleType:
    """The table module for ``api`` ("v1" or "v2"); a dict lookup after the first call."""
    module = _LOADED.get(api)
    if module is None:
        try:
            name = _MODULES[api]
        except KeyError:
            raise ValueError(f"api must be 'v1' or 'v2', not {api!r}") from None
        module = _LOADED[api] = importlib.import_module(name)
    return module
