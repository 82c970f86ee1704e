"""``python -m bench``: run the engine benchmarks (see :mod:`bench.engine_bench`)."""

from .engine_bench import main

main()
