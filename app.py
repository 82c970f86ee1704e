"""Serve the explainer: the whole story at ``/`` and each section alone at ``/<key>``.

Run it with ``make run`` (or ``python app.py``); configuration comes from environment
variables, listed in the README and read by :mod:`explainers.site.serving`.
"""

import os

# Small matrices only: BLAS threads fight the server's own threads for the 2 cores and made a
# capacity sweep 20x slower under load. Must be set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from explainers.site.page import routes  # noqa: E402
from explainers.site.serving import serve  # noqa: E402
from explainers.site.startup import numba_cache  # noqa: E402

# Before numba is imported: where its cache can go decides whether the kernels load at all.
_NUMBA_NOTE = numba_cache()

if __name__ == "__main__":
    # Load every compiled kernel before the first visitor arrives (about a second with numba's
    # cache warm), so nobody waits for it in the middle of a lesson.
    if _NUMBA_NOTE:
        print(_NUMBA_NOTE, flush=True)
    from engine.warmup import run as warm_engine

    warm_engine()
    serve(routes())
