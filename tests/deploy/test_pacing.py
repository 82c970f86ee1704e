"""The process-wide Pacer: animations send more frames per message, then slow down, only
when their messages crowd the event loop."""

from __future__ import annotations

from explainers.animation import Pacer

MSG_MS, FRAME_MS = 1.2, 0.1  # a message's fixed cost and each frame's own cost


def _run(pacer: Pacer, sessions: int, seconds: float, t0: float, fps: float = 33.0) -> float:
    """``sessions`` animators for ``seconds``: each sends ``batch`` frames per message, one
    message per ``batch`` (stretched) frame periods, as the animators' timers do; returns
    the end time."""
    t = t0
    while t < t0 + seconds:
        pacer.record((MSG_MS + pacer.batch * FRAME_MS) / 1e3, now=t)
        t += pacer.batch * pacer.stretch / (fps * sessions)
    return t


def _pacer() -> Pacer:
    return Pacer(target=0.5, max_stretch=1.4, window_s=1.0, min_batch=3, max_batch=10)


def test_one_session_is_never_slowed_nor_batched_further():
    pacer = _pacer()
    _run(pacer, sessions=1, seconds=5, t0=0.0)
    assert (pacer.batch, pacer.stretch) == (3, 1.0)


def test_a_crowd_first_batches_then_slows_no_further_than_the_cap_and_recovers():
    pacer = _pacer()
    # 40 sessions at 3 frames a message: (1.2 + 0.3) ms × 440 messages/s = 0.66 of a core.
    # 5 frames a message bring it under the target (1.7 ms × 264 = 0.45), without slowing.
    t = _run(pacer, sessions=40, seconds=5, t0=0.0)
    assert (pacer.batch, pacer.stretch) == (5, 1.0)
    # 100 sessions need more than the largest batch can give: then they slow, to the cap,
    # so each still gets 33 / 1.4 ≈ 24 frames/s.
    t = _run(pacer, sessions=100, seconds=5, t0=t)
    assert (pacer.batch, pacer.stretch) == (10, 1.4)
    # The crowd leaves: full speed first, then small messages again, within a few windows.
    _run(pacer, sessions=1, seconds=6, t0=t)
    assert (pacer.batch, pacer.stretch) == (3, 1.0)
