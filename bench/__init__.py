"""Benchmarks: ``python -m bench`` times the engine against plain-numpy references.

:mod:`bench.harness` holds the timing and table helpers shared by every benchmark script;
:mod:`bench.reference` the numpy implementations the engine is measured against.
"""
