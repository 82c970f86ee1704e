"""Serve the explainer: the whole story at ``/`` and each section alone at ``/<key>``.

Run it with ``make run`` (or ``python app.py``); configuration comes from environment
variables, listed in the README and read by :mod:`explainers.serving`.
"""

from explainers.page import routes
from explainers.serving import serve

if __name__ == "__main__":
    serve(routes())
