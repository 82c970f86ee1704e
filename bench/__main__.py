"""``python -m bench``: run the engine benchmarks (see :mod:`bench.engine_bench`).

Exits with status 1 when a benchmark could not run (a missing kernel or an error).
"""

import sys

from .engine_bench import main

rows = main()
sys.exit(1 if any(r.verdict in ("missing", "error") for r in rows) else 0)
