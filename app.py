"""Serve the explainer: the whole story at ``/`` and each section alone at ``/<key>``.

Run it with ``make run`` (or ``python app.py``, or ``python -m explainers`` where the package
is installed); configuration comes from environment variables, listed in the README and read
by :mod:`explainers.site.serving`.
"""

from explainers.__main__ import main

if __name__ == "__main__":
    main()
