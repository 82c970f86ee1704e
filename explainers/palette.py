"""The one palette every section draws with.

Three scales carry meaning across the whole story, so a reader who learns them once can read
every plot: spin on / off, energy low -> high, and weight negative -> positive. Colours are
plain hex strings so Bokeh, CSS and tests all see the same values.
"""

from __future__ import annotations

import numpy as np

# Spins and bits: "on" is ink, "off" is paper.  Both read well on light and dark pages
# because each cell also has an outline.
SPIN_ON = "#243b6b"
SPIN_OFF = "#efe8d8"
CELL_LINE = "#8a8170"
INK_ON_DARK = "#a9c1ee"  # the ink colour for lines drawn on a dark plot background

# Accent colours for traces, markers and highlights.
ACCENT = "#d1495b"  # the "current" thing: marker, highlighted alpha, live trace
ACCENT_2 = "#2e8b8b"  # a second series (e.g. magnetisation, temperature)
ACCENT_3 = "#e8a33d"  # a third series
MUTED = "#9a9a9a"  # faint guides: limits, ceilings, floors

# Energy: low (likely, deep valleys) is cool blue, high (rare) is warm orange.
_ENERGY_STOPS = ["#1d3f72", "#3f7cac", "#9cc5c9", "#f2d49b", "#e08a3c", "#b3402a"]
# Weights: negative is red-brown, zero is neutral, positive is blue-green.
_WEIGHT_STOPS = ["#8c2d04", "#d8814a", "#f6efe2", "#5aa5a0", "#0b5c63"]
# Grey levels for probabilities in [0, 1] (0 = paper, 1 = ink), used for reconstructions.
_GREY_STOPS = [SPIN_OFF, SPIN_ON]

# Outcome classes used by the annealing race and status lines.  A mirror is as deep as its
# memory, so it shares the memory's green (lighter); only spurious valleys are red.
OUTCOME_COLORS = {
    "memory": "#2e8b57",
    "mirror": "#7cc48f",
    "spurious": "#b3402a",
    "no_valley": "#b5b5b5",
}


def _hex_to_rgb(h: str) -> np.ndarray:
    h = h.lstrip("#")
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=float)


def ramp(stops: list[str], n: int = 256) -> list[str]:
    """Linearly interpolate a list of hex colour stops into ``n`` hex colours."""
    rgb = np.array([_hex_to_rgb(s) for s in stops])
    pos = np.linspace(0.0, 1.0, len(stops))
    t = np.linspace(0.0, 1.0, n)
    out = np.stack([np.interp(t, pos, rgb[:, c]) for c in range(3)], axis=1)
    return ["#{:02x}{:02x}{:02x}".format(*np.round(row).astype(int)) for row in out]


ENERGY_PALETTE = ramp(_ENERGY_STOPS)
WEIGHT_PALETTE = ramp(_WEIGHT_STOPS)
GREY_PALETTE = ramp(_GREY_STOPS)


def colors_for(values, palette: list[str], vmin: float, vmax: float) -> list[str]:
    """Map values onto a palette linearly between ``vmin`` and ``vmax`` (clipped).

    Parameters
    ----------
    values : array_like, shape (k,)
    palette : list of str
    vmin, vmax : float

    Returns
    -------
    list of str, length k
    """
    v = np.asarray(values, dtype=float).ravel()
    span = vmax - vmin if vmax > vmin else 1.0
    idx = np.clip(((v - vmin) / span * (len(palette) - 1)).round(), 0, len(palette) - 1)
    return [palette[int(i)] for i in idx]


def spin_colors(values) -> list[str]:
    """Colours for ±1 spins or 0/1 bits: positive = on (ink), otherwise off (paper)."""
    return [SPIN_ON if v > 0 else SPIN_OFF for v in np.asarray(values).ravel()]


def gradient_css(palette: list[str], n_stops: int = 8) -> str:
    """A CSS ``linear-gradient`` through ``palette``, for legends."""
    picks = [palette[int(i)] for i in np.linspace(0, len(palette) - 1, n_stops)]
    return "linear-gradient(90deg, " + ", ".join(picks) + ")"
