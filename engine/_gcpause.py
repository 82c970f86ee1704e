"""Start-up helper: keep Python's cyclic garbage collector off numba's start-up objects."""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def permanent_objects(freeze: bool = True):
    """Run a block of start-up work whose objects live as long as the process.

    The cyclic collector is off during the block and, at its end (with ``freeze``),
    :func:`gc.freeze` moves every object tracked so far into the collector's permanent
    generation, which it never walks again; then the collector is switched back on if it
    was on before.  ``import engine`` only pauses the collector: freezing a notebook's
    objects is not an importer's business.  ``engine.warmup.run()``, which a server calls
    once at start, freezes.

    Why: importing numba and loading the engine's cached kernels creates a few hundred
    thousand objects (types, templates, LLVM handles) that are never freed, and almost no
    garbage. While they pile up the collector walks them again and again: 0.06 to 0.1 s of
    CPU per fresh process, about a tenth of the engine's start-up, and every full
    collection later in a long-running server walks them once more.

    Safe: reference counting still frees everything it can, in the block and after. The
    cost is that a reference cycle that is already garbage when the block ends is never
    reclaimed; at import and at a one-off warm-up that is a few stray objects at most.
    Results never depend on the collector. ``gc.unfreeze()`` undoes the freeze.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
