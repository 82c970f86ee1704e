"""``python -m bench``: run the engine benchmarks (see :mod:`bench.engine_bench`).

Exits with status 1 when a benchmark could not run (a missing kernel or an error).
"""

import os
import sys

# As in the server: BLAS threads on tiny matrices only add contention (set before numpy).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from .engine_bench import main  # noqa: E402

rows = main()
sys.exit(1 if any(r.verdict in ("missing", "error") for r in rows) else 0)
