"""Serve the explainer: the whole story at ``/`` and each section alone at ``/<key>``.

Run it with ``make run`` (or ``python app.py``, or ``python -m explainers`` where the package
is installed); configuration comes from environment variables, listed in the README and read
by :mod:`explainers.site.serving`.
"""

from explainers.site.startup import numba_cache

# Before numba is imported: where its cache can go decides whether the kernels load at all.
_NUMBA_NOTE = numba_cache()

from explainers.__main__ import main  # noqa: E402

if __name__ == "__main__":
    if _NUMBA_NOTE:
        print(_NUMBA_NOTE, flush=True)
    main()
