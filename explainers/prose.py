"""The reader-facing prose, kept as Markdown beside the code in ``explainers/content/``.

Each section has one file, ``content/<key>.md``, cut into named parts by marker lines::

    <!-- intro -->
    A Hopfield network remembers by rolling downhill ...

    <!-- formula -->
    E(s) = -\\sum_{i<j} w_{ij} s_i s_j

    <!-- try_this -->
    corrupt a memory and press Run.

``intro``, ``formula`` (LaTeX) and ``try_this`` are what :class:`~explainers.section.Section`
shows above every section; a section may add parts of its own and read them with
:func:`text`.  A part that quotes a live number writes ``{name}`` where it goes and is read
with ``text(key, part, name=value)``; literal braces in such a part are doubled, as in
:meth:`str.format`.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parent / "content"
_MARKER = re.compile(r"^<!--\s*([A-Za-z_][\w-]*)\s*-->\s*$", re.MULTILINE)


@functools.cache
def parts(key: str) -> dict[str, str]:
    """Every named part of ``content/<key>.md`` (empty when the file does not exist)."""
    path = CONTENT_DIR / f"{key}.md"
    if not path.is_file():
        return {}
    pieces = _MARKER.split(path.read_text(encoding="utf-8"))
    # pieces = [preamble, name1, body1, name2, body2, ...]; the preamble is for editors.
    return {name: body.strip() for name, body in zip(pieces[1::2], pieces[2::2], strict=True)}


def text(key: str, name: str, default: str | None = None, **values: object) -> str:
    """Part ``name`` of section ``key``'s prose, with ``values`` filled in.

    Raises ``KeyError`` for a missing part unless a ``default`` is given, so a renamed
    part fails loudly in the tests rather than leaving a hole on the page.
    """
    found = parts(key).get(name)
    if found is None:
        if default is None:
            raise KeyError(f"explainers/content/{key}.md has no part {name!r}")
        return default
    return found.format(**values) if values else found
