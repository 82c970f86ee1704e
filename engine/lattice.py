"""Spin models on an L x L periodic square lattice (Ising ferromagnet, +-J glass, Hopfield).

Every site holds a spin ``s = +-1`` and interacts with its four nearest neighbours. The
energy is

    E(s) = - sum_{i,j} ( Jright[i, j] s[i, j] s[i, j+1] + Jdown[i, j] s[i, j] s[i+1, j] ),

indices taken modulo L, so each of the 2 L^2 bonds is counted once. This is the Hopfield
energy ``-sum_{i<j} w_ij s_i s_j`` with ``w`` non-zero only between lattice neighbours.

Couplings
---------
``"ferro"``    J = 1 on every bond: the 2-D Ising model, critical at
               T_c = 2 / ln(1 + sqrt 2) ~ 2.269 (see :data:`T_CRITICAL`).
``"pmJ"``      J = +1 or -1 at random per bond (Edwards-Anderson +-J spin glass).
``"hopfield"`` stored images ``xi^mu`` (p, L, L) recalled on the lattice with the local
               Hebbian rule ``J_ij = (1/p) sum_mu xi_i^mu xi_j^mu``. With one image this
               is the Mattis model: a ferromagnet in disguise whose two ground states
               are the image and its mirror.

Dynamics are checkerboard sweeps: first every "black" site ((i + j) even), then every
"white" one. Row ``i`` owns random stream ``i``, so a run depends only on the seed.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import seed_sequence
from ._checks import temperature as check_temperature
from ._jit import jit
from ._rng import make_streams, uniform

__all__ = ["COUPLINGS", "METHODS", "T_CRITICAL", "Lattice", "onsager_energy_per_spin"]

COUPLINGS = ("ferro", "pmJ", "hopfield")
METHODS = ("heat-bath", "metropolis")
#: Critical temperature of the 2-D ferromagnetic Ising model (Onsager), J = k_B = 1.
T_CRITICAL = 2.0 / math.log(1.0 + math.sqrt(2.0))

_L_MIN, _L_MAX = 2, 1024
_TABLE_MAX_Q = 256
_ZERO_FIELD = 1e-9


# --------------------------------------------------------------------------- kernels


@jit(nogil=True, inline="always")
def _local_field(s, Jr, Jd, i, j, L):
    up = i - 1 if i > 0 else L - 1
    down = i + 1 if i < L - 1 else 0
    left = j - 1 if j > 0 else L - 1
    right = j + 1 if j < L - 1 else 0
    return (
        Jr[i, j] * s[i, right]
        + Jr[i, left] * s[i, left]
        + Jd[i, j] * s[down, j]
        + Jd[up, j] * s[up, j]
    )


@jit(nogil=True)
def _sweep_kernel(s, Jr, Jd, T, n_sweeps, metropolis, table, q, states):
    """Checkerboard sweeps in place; row i draws from stream ``states[i]``.

    When every coupling is a multiple of ``1/q`` (q = 1 for ferro and +-J, q = p for p
    Hopfield images) the local field h is a multiple of 1/q in [-4, 4], so
    ``table[round(q x) + 4q]`` with x = h (heat-bath: p(s = +1)) or x = s h (Metropolis:
    probability of flipping) replaces every exp. An empty ``table`` means "compute exp".
    """
    L = s.shape[0]
    if T == 0.0:
        _greedy_sweeps(s, Jr, Jd, n_sweeps)
        return
    use_table = table.shape[0] > 0
    offset = 4.0 * q + 0.5  # + 0.5 then truncation = rounding, as q x + 4q >= 0
    inv_T = 1.0 / T
    for _ in range(n_sweeps):
        for colour in range(2):
            for i in range(L):
                for j in range((i + colour) & 1, L, 2):
                    h = _local_field(s, Jr, Jd, i, j, L)
                    si = s[i, j]
                    x = si * h if metropolis else h
                    if use_table:
                        prob = table[int(x * q + offset)]
                    elif metropolis:
                        prob = math.exp(-2.0 * x * inv_T) if x > 0.0 else 1.0
                    else:
                        prob = 1.0 / (1.0 + math.exp(-2.0 * x * inv_T))
                    # One draw per visit, even when the flip is certain: no data-dependent
                    # branch in the hot loop, and the stream advances the same way always.
                    u = uniform(states, i)
                    if metropolis:
                        s[i, j] = -si if u < prob else si
                    else:
                        s[i, j] = 1 if u < prob else -1


@jit(nogil=True)
def _greedy_sweeps(s, Jr, Jd, n_sweeps):
    """T = 0: align each spin with its local field; a zero field keeps the spin.

    Hopfield couplings k/p are not exact in binary, so a field that is 0 in exact
    arithmetic can come out as 1e-17; |h| <= _ZERO_FIELD counts as 0 (|J| <= 1, so
    genuine fields are at least 1/p, far larger).
    """
    L = s.shape[0]
    for _ in range(n_sweeps):
        for colour in range(2):
            for i in range(L):
                for j in range((i + colour) & 1, L, 2):
                    h = _local_field(s, Jr, Jd, i, j, L)
                    if h > _ZERO_FIELD:
                        s[i, j] = 1
                    elif h < -_ZERO_FIELD:
                        s[i, j] = -1


@jit(nogil=True)
def _energy_sum(s, Jr, Jd):
    L = s.shape[0]
    total = 0.0
    for i in range(L):
        down = i + 1 if i < L - 1 else 0
        for j in range(L):
            right = j + 1 if j < L - 1 else 0
            total += s[i, j] * (Jr[i, j] * s[i, right] + Jd[i, j] * s[down, j])
    return -total


@jit(nogil=True)
def _spin_sum(s):
    total = 0
    for v in s.ravel():
        total += v
    return total


@jit(nogil=True)
def _overlaps(s, patterns):
    p = patterns.shape[0]
    out = np.zeros(p)
    flat = s.ravel()
    for mu in range(p):
        acc = 0
        pat = patterns[mu].ravel()
        for k in range(flat.shape[0]):
            acc += flat[k] * pat[k]
        out[mu] = acc / flat.shape[0]
    return out


# ------------------------------------------------------------------------ validation


def _as_pm1(x, shape, name) -> np.ndarray:
    arr = np.asarray(x)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numeric with entries -1 or +1, got dtype {arr.dtype}")
    if not np.all((arr == 1) | (arr == -1)):
        raise ValueError(f"{name} must contain only -1 and +1")
    return arr.astype(np.int8)


def _acceptance_table(T: float, metropolis: bool, q: int) -> np.ndarray:
    """Probabilities for x = k / q, k = -4q..4q (see ``_sweep_kernel``), float64 (8q + 1,)."""
    x = np.arange(-4 * q, 4 * q + 1) / q  # h (heat-bath) or s*h (Metropolis)
    if T == 0.0:
        return np.zeros(x.shape)  # unused: T = 0 takes the greedy branch
    if metropolis:
        return np.minimum(1.0, np.exp(-2.0 * np.maximum(x, 0.0) / T))
    return 0.5 * (1.0 + np.tanh(x / T))  # = sigmoid(2h/T) without overflow


def onsager_energy_per_spin(T: float) -> float:
    """Exact energy per spin of the infinite 2-D Ising ferromagnet (J = 1) at temperature T.

    ``u = -coth(2b) [1 + (2/pi)(2 tanh^2(2b) - 1) K(k)]`` with ``b = 1/T``,
    ``k = 2 sinh(2b) / cosh^2(2b)`` and K the complete elliptic integral of the first
    kind, computed through the arithmetic-geometric mean ``K = pi / (2 agm(1, sqrt(1-k^2)))``.
    At ``T = T_CRITICAL`` the product ``(2 tanh^2 - 1) K`` tends to 0, giving ``-sqrt 2``.
    """
    T = check_temperature(T)
    if T == 0.0:
        return -2.0
    b2 = 2.0 / T
    k = 2.0 * math.sinh(b2) / math.cosh(b2) ** 2
    kp = math.sqrt(max(0.0, 1.0 - k * k))
    factor = 2.0 * math.tanh(b2) ** 2 - 1.0
    if kp == 0.0 or factor == 0.0:
        return -1.0 / math.tanh(b2)
    a, g = 1.0, kp
    for _ in range(60):
        a, g = 0.5 * (a + g), math.sqrt(a * g)
        if abs(a - g) < 1e-16 * a:
            break
    K = math.pi / (2.0 * a)
    return -(1.0 / math.tanh(b2)) * (1.0 + (2.0 / math.pi) * factor * K)


# ----------------------------------------------------------------------------- class


class Lattice:
    """An L x L periodic lattice of +-1 spins with nearest-neighbour couplings.

    Parameters
    ----------
    L : int
        Side length, 2 <= L <= 1024.
    couplings : {"ferro", "pmJ", "hopfield"}
        See the module docstring.
    seed : int, numpy.random.Generator or None
        Fixes the +-J couplings, the starting spins and every random number of the
        sweeps: the same seed and the same calls give the same spins.
    patterns : array_like of +-1, shape (p, L, L) or (L, L)
        The stored images; required for ``"hopfield"`` and rejected otherwise.
    start : {"random", "up", "down"}
        Initial spins (random = independent fair coins from the seed).

    Attributes
    ----------
    spins : ndarray of int8, shape (L, L)
        The live state, updated in place by :meth:`sweep` (reading it is free; copy it
        if you keep it). Assigning an array of +-1 copies it in.
    Jright, Jdown : ndarray of float64, shape (L, L), read-only
        ``Jright[i, j]`` couples (i, j) to (i, j+1); ``Jdown[i, j]`` couples (i, j) to (i+1, j).
    patterns : ndarray of int8, shape (p, L, L), or None
    """

    def __init__(self, L, couplings="ferro", seed=0, patterns=None, start="random"):
        if isinstance(L, bool) or not isinstance(L, int | np.integer):
            raise TypeError(f"L must be an int, got {L!r}")
        L = int(L)
        if not _L_MIN <= L <= _L_MAX:
            raise ValueError(f"L must be between {_L_MIN} and {_L_MAX}, got {L}")
        if couplings not in COUPLINGS:
            raise ValueError(f"couplings must be one of {COUPLINGS}, got {couplings!r}")
        if start not in ("random", "up", "down"):
            raise ValueError(f"start must be 'random', 'up' or 'down', got {start!r}")
        self.L = L
        self.couplings = couplings
        ss_couplings, ss_spins, ss_sweeps = seed_sequence(seed).spawn(3)

        self.patterns = None
        if couplings == "hopfield":
            if patterns is None:
                raise ValueError("couplings='hopfield' needs patterns of shape (p, L, L)")
            pats = np.asarray(patterns)
            if pats.ndim == 2:
                pats = pats[None]
            if pats.ndim != 3 or pats.shape[0] < 1:
                raise ValueError(f"patterns must have shape (p, {L}, {L}), got {pats.shape}")
            pats = _as_pm1(pats, (pats.shape[0], L, L), "patterns")
            self.patterns = pats
            xi = pats.astype(np.float64)
            Jr = (xi * np.roll(xi, -1, axis=2)).mean(axis=0)
            Jd = (xi * np.roll(xi, -1, axis=1)).mean(axis=0)
        else:
            if patterns is not None:
                raise ValueError("patterns are only used with couplings='hopfield'")
            if couplings == "ferro":
                Jr = np.ones((L, L))
                Jd = np.ones((L, L))
            else:
                rng = np.random.default_rng(ss_couplings)
                Jr = rng.choice(np.array([-1.0, 1.0]), size=(L, L))
                Jd = rng.choice(np.array([-1.0, 1.0]), size=(L, L))
        # The kernels' lookup tables assume these exact values: freeze them.
        self.Jright = np.ascontiguousarray(Jr, dtype=np.float64)
        self.Jdown = np.ascontiguousarray(Jd, dtype=np.float64)
        self.Jright.setflags(write=False)
        self.Jdown.setflags(write=False)
        # Couplings are multiples of 1/q; tables beat exp while they stay small.
        q = 1 if self.patterns is None else self.patterns.shape[0]
        self._q = q if q <= _TABLE_MAX_Q else 0
        self._table_key: tuple | None = None  # (T, metropolis) of the cached table
        self._table = np.empty(0)

        self._rng = np.random.default_rng(ss_spins)
        self._streams = make_streams(ss_sweeps, L)
        self._spins = np.empty((L, L), dtype=np.int8)
        if start == "random":
            self.randomize()
        else:
            self.set_uniform(1 if start == "up" else -1)

    # -- state ---------------------------------------------------------------------

    @property
    def spins(self) -> np.ndarray:
        """The live (L, L) int8 state (no copy: cheap to read every frame)."""
        return self._spins

    @spins.setter
    def spins(self, value):
        self._spins[...] = _as_pm1(value, (self.L, self.L), "spins")

    @property
    def n_spins(self) -> int:
        return self.L * self.L

    def snapshot(self) -> np.ndarray:
        """A copy of the spins, (L, L) int8, safe to keep while the lattice evolves."""
        return self._spins.copy()

    def randomize(self, seed=None) -> None:
        """Set every spin to +-1 by a fair coin (from ``seed``, else the lattice's own stream)."""
        rng = self._rng if seed is None else np.random.default_rng(seed_sequence(seed))
        self._spins[...] = np.where(rng.random((self.L, self.L)) < 0.5, -1, 1)

    def set_uniform(self, value=1) -> None:
        """Set every spin to ``value`` (+1 or -1): the ordered start."""
        if value not in (1, -1):
            raise ValueError(f"value must be +1 or -1, got {value!r}")
        self._spins.fill(value)

    # -- dynamics ------------------------------------------------------------------

    def sweep(self, T, n_sweeps=1, method="heat-bath") -> None:
        """Run ``n_sweeps`` checkerboard sweeps at temperature ``T`` (each visits every spin once).

        Parameters
        ----------
        T : float
            Temperature >= 0. ``T = 0`` is greedy: each spin aligns with its local field
            and keeps its value when the field is exactly 0.
        n_sweeps : int
            Number of full sweeps (>= 0).
        method : {"heat-bath", "metropolis"}
            Heat-bath sets ``s = +1`` with probability ``sigmoid(2h/T)``; Metropolis flips
            with probability ``min(1, exp(-2 s h / T))``.
        """
        T = check_temperature(T)
        if isinstance(n_sweeps, bool) or not isinstance(n_sweeps, int | np.integer):
            raise TypeError(f"n_sweeps must be an int, got {n_sweeps!r}")
        if n_sweeps < 0:
            raise ValueError(f"n_sweeps must be >= 0, got {n_sweeps}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        metropolis = method == "metropolis"
        key = (T, metropolis)
        if key != self._table_key:  # an animation sweeps at one T for many frames
            self._table = _acceptance_table(T, metropolis, self._q) if self._q else np.empty(0)
            self._table_key = key
        table = self._table
        _sweep_kernel(
            self._spins,
            self.Jright,
            self.Jdown,
            T,
            int(n_sweeps),
            metropolis,
            table,
            float(self._q),
            self._streams,
        )

    # -- observables ---------------------------------------------------------------

    def energy(self) -> float:
        """Total energy E(s) (float)."""
        return float(_energy_sum(self._spins, self.Jright, self.Jdown))

    def energy_per_spin(self) -> float:
        """E(s) / L^2; -2 for the all-up ferromagnet."""
        return self.energy() / self.n_spins

    def magnetization(self) -> float:
        """Mean spin, in [-1, 1]."""
        return float(_spin_sum(self._spins)) / self.n_spins

    def overlap(self, pattern) -> float:
        """Mean of ``s * xi`` for one (L, L) +-1 pattern: 1 = the pattern, -1 = its mirror."""
        pat = _as_pm1(pattern, (self.L, self.L), "pattern")
        return float(_overlaps(self._spins, pat[None])[0])

    def overlaps(self) -> np.ndarray:
        """Overlap with every stored pattern, float64 (p,) (hopfield couplings only)."""
        if self.patterns is None:
            raise ValueError("overlaps() needs couplings='hopfield'")
        return _overlaps(self._spins, self.patterns)

    def __repr__(self) -> str:
        return f"Lattice(L={self.L}, couplings={self.couplings!r})"
