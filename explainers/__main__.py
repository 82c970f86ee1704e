"""``python -m explainers``: serve the explainer (the story at ``/``, each section at
``/<key>``), configured by the ``EXPLAINER_*`` variables listed in the README.

``app.py`` in a checkout does the same; after ``pip install .`` the command
``boltzmann-explainer`` does too.
"""

from __future__ import annotations


def main() -> None:
    """Warm the engine's kernels, then serve every route until interrupted."""
    from .site.startup import numba_cache

    # Before numba is imported: where its cache can go decides whether the kernels load at all.
    note = numba_cache()
    if note:
        print(note, flush=True)

    from engine.warmup import run as warm_engine

    from .site.page import routes, titles
    from .site.serving import serve

    # Load every compiled kernel before the first visitor arrives (about a second with
    # numba's cache warm), so nobody waits for it in the middle of a lesson.
    warm_engine()
    serve(routes(), title=titles())


if __name__ == "__main__":
    main()
