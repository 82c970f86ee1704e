"""Run docs/notebook.ipynb in a real Jupyter kernel (nbclient + ipykernel) for the tests.

The kernel runs in a child process, so nothing here touches the test process's asyncio
loop (pytest-playwright keeps one running once a browser test has started).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"

_RUN = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
where = {"metadata": {"path": sys.argv[3]}}
NotebookClient(nb, timeout=600, kernel_name="python3", resources=where).execute()
nbformat.write(nb, sys.argv[2])
"""


def env() -> dict[str, str]:
    """The environment in which the checkout's packages import (as after ``pip install .``)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def execute(out: Path, cwd: Path) -> dict:
    """Execute the notebook with ``cwd`` as its working directory; returns the executed
    notebook as a dict (nbformat 4)."""
    import nbformat

    subprocess.run(
        [sys.executable, "-c", _RUN, str(NOTEBOOK), str(out), str(cwd)],
        env=env(),
        check=True,
        timeout=900,
    )
    return nbformat.read(out, as_version=4)


def outputs(nb) -> list[dict]:
    """Every output of every code cell, in order."""
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]


def as_page(nb) -> str:
    """The executed notebook's rich outputs as one HTML page, in the order a notebook
    front end would run them (the extension's script first, then each view)."""
    parts = []
    for o in outputs(nb):
        data = o.get("data", {})
        if "application/javascript" in data:
            parts.append(f"<script>{data['application/javascript']}</script>")
        if "text/html" in data:
            parts.append(data["text/html"])
    return "<!doctype html><html><head><meta charset='utf-8'></head><body>{}</body></html>".format(
        "\n".join(parts)
    )
