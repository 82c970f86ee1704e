"""One interactive section per module, each a ``pn.viewable.Viewer`` whose params are its state.

Use a section in a notebook (JupyterLab, or ``panel serve`` of the notebook), offline::

    >>> import explainers
    >>> explainers.notebook()  # doctest: +SKIP
    >>> explainers.HopfieldGrid(temperature=0.5)  # doctest: +SKIP

Serve the whole explainer with ``python -m explainers``.
"""

from __future__ import annotations

import importlib
import os
import sys

if "numpy" not in sys.modules:
    # Small matrices only: BLAS threads fight the server's own threads for the cores (a
    # capacity sweep ran 20x slower under load). Takes effect only before numpy loads.
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

from .site.page import SECTIONS

_CLASSES = {target.split(":")[1]: target.split(":")[0] for target in SECTIONS.values()}

__all__ = [*sorted(_CLASSES), "notebook"]


def notebook(*extensions: str) -> None:
    """Set Panel up to show sections in a Jupyter notebook, with no internet needed.

    Loads Panel's KaTeX extension (for the formulas) plus any ``extensions`` with every
    resource inlined into the notebook (``pn.extension(..., inline=True)``): nothing comes
    from a CDN, so a section renders in a lecture hall without a network.  Call it once, in
    the first cell, before showing a section.
    """
    import panel as pn

    pn.extension("katex", *extensions, inline=True, design="native")


def __getattr__(name: str):
    # Imported on first use so `import explainers` stays light and each section's module
    # loads only when someone asks for it.
    if name in _CLASSES:
        return getattr(importlib.import_module(_CLASSES[name]), name)
    raise AttributeError(f"module 'explainers' has no attribute {name!r}")
