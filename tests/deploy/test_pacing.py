"""The process-wide Pacer: animations slow down only when frames crowd the event loop."""

from __future__ import annotations

import pytest

from explainers.animation import Pacer


def _run(pacer: Pacer, frames_per_s: float, cpu_ms: float, seconds: float, t0: float) -> float:
    """Frames of a crowd for ``seconds``, each following the last after the current
    (stretched) period, as the animators' timers do; returns the end time."""
    t = t0
    while t < t0 + seconds:
        pacer.record(cpu_ms / 1e3, now=t)
        t += pacer.stretch / frames_per_s
    return t


def test_one_session_is_never_slowed():
    pacer = Pacer(target=0.5, max_stretch=1.4, window_s=1.0)
    _run(pacer, frames_per_s=33, cpu_ms=1.5, seconds=5, t0=0.0)  # 5 % of a core
    assert pacer.stretch == 1.0


def test_a_crowd_is_slowed_to_the_target_load_but_no_further_than_the_cap():
    pacer = Pacer(target=0.5, max_stretch=1.4, window_s=1.0)
    # 20 sessions × 33 frames/s × 1 ms = 0.66 of a core: stretch 1.32 brings it to 0.5.
    t = _run(pacer, frames_per_s=20 * 33, cpu_ms=1.0, seconds=4, t0=0.0)
    assert pacer.stretch == pytest.approx(1.32, abs=0.03)
    # 60 sessions would need 3.96: capped, so each still gets 33 / 1.4 ≈ 24 frames/s.
    t = _run(pacer, frames_per_s=60 * 33, cpu_ms=1.0, seconds=3, t0=t)
    assert pacer.stretch == 1.4
    # The crowd leaves: back to full speed within a window or two.
    _run(pacer, frames_per_s=33, cpu_ms=1.0, seconds=3, t0=t)
    assert pacer.stretch == 1.0
