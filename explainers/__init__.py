"""One interactive section per module, each a ``pn.viewable.Viewer`` whose params are its state.

Use a section in a notebook::

    >>> import panel as pn; pn.extension("katex")
    >>> from explainers import HopfieldGrid
    >>> HopfieldGrid()  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

from .site.page import SECTIONS

_CLASSES = {target.split(":")[1]: target.split(":")[0] for target in SECTIONS.values()}

__all__ = sorted(_CLASSES)


def __getattr__(name: str):
    # Imported on first use so `import explainers` stays light and each section's module
    # loads only when someone asks for it.
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name]), name)
    raise AttributeError(f"module 'explainers' has no attribute {name!r}")
