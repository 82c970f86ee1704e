"""Restricted Boltzmann machine on bits {0, 1}, trained by CD-k or persistent CD.

Energy ``E(v, h) = -v^T W h - a^T v - b^T h`` with ``W`` shaped (n_visible, n_hidden),
so ``p(h_j = 1 | v) = sigmoid(b_j + (v^T W)_j)`` and ``p(v_i = 1 | h) = sigmoid(a_i + (W h)_i)``.

Training runs in numba: one call updates on one mini-batch (:meth:`RBM.train_step`) or runs
whole epochs (:meth:`RBM.fit`), because with batches of ten rows numpy's per-call overhead
would cost more than the arithmetic.  The exact likelihood sums over every state of the
smaller layer (up to 2^20), visiting them in Gray-code order so each state costs one
column update instead of a full matrix product.

Randomness: an ``RBM`` owns two xoshiro streams derived from its seed, one for training
and one for sampling (``sample_hidden``, ``sample_visible``, ``dream`` without a seed), so
that looking at samples between updates never changes the training numbers.
"""

from __future__ import annotations

import numpy as np

from ._checks import seed_sequence
from ._jit import jit
from ._rng import make_streams, next_u64, randint, uniform

__all__ = ["RBM"]

_MAX_EXACT_UNITS = 20
# Gray-code updates accumulate rounding error; rebuild the fields from scratch this often.
_REFRESH_EVERY = 1024


# ----------------------------------------------------------------------------- kernels


@jit(nogil=True, inline="always")
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@jit(nogil=True, inline="always")
def _softplus(x):
    if x > 0.0:
        return x + np.log1p(np.exp(-x))
    return np.log1p(np.exp(x))


@jit(nogil=True)
def _hidden_field(W, b, v, out):
    """out[j] = b_j + sum_i v_i W_ij, skipping the zeros of v (binary data is sparse)."""
    nv, nh = W.shape
    for j in range(nh):
        out[j] = b[j]
    for i in range(nv):
        vi = v[i]
        if vi != 0.0:
            for j in range(nh):
                out[j] += vi * W[i, j]


@jit(nogil=True)
def _visible_field(WT, a, h, out):
    """out[i] = a_i + sum_j W_ij h_j from the transposed weights WT (n_hidden, n_visible),
    whose rows are contiguous, so the inner loop runs over i and vectorises."""
    nh, nv = WT.shape
    for i in range(nv):
        out[i] = a[i]
    for j in range(nh):
        hj = h[j]
        if hj != 0.0:
            for i in range(nv):
                out[i] += hj * WT[j, i]


@jit(nogil=True)
def _cd_batch(W, a, b, data, rows, lr, k, persistent, chains, streams, r, track_error, work):
    """One CD-k (or PCD-k) update of W, a, b in place on the rows ``rows`` of ``data``.

    Positive statistics: the data and p(h | data), averaged over the batch rows.  Negative
    statistics: a sampled visible state after k Gibbs steps and its hidden probabilities,
    averaged over the chains.  CD runs one chain per batch row, starting from a hidden
    sample drawn given that row; PCD continues the hidden states in ``chains`` (any number
    of rows) and stores a fresh hidden sample back, as scikit-learn's BernoulliRBM does.
    ``work`` is a scratch tuple from :func:`_workspace`.  Returns the summed squared
    mean-field reconstruction error of the batch before the update (0 unless
    ``track_error``).
    """
    ph0, h, v, ph, dW, da, db, WT, fv = work
    nv, nh = W.shape
    n_rows = rows.size
    for i in range(nv):
        for j in range(nh):
            WT[j, i] = W[i, j]
    dW[:, :] = 0.0
    da[:] = 0.0
    db[:] = 0.0
    err = 0.0
    for t in range(n_rows):
        v0 = data[rows[t]]
        p0 = ph0[t]
        _hidden_field(W, b, v0, p0)
        for j in range(nh):
            p0[j] = _sigmoid(p0[j])
        if track_error:
            _visible_field(WT, a, p0, fv)
            for i in range(nv):
                d = v0[i] - _sigmoid(fv[i])
                err += d * d
        for i in range(nv):
            vi = v0[i]
            if vi != 0.0:
                da[i] += vi
                for j in range(nh):
                    dW[i, j] += vi * p0[j]
        for j in range(nh):
            db[j] += p0[j]
    inv = 1.0 / n_rows
    for i in range(nv):
        da[i] *= inv
        for j in range(nh):
            dW[i, j] *= inv
    for j in range(nh):
        db[j] *= inv

    n_chains = chains.shape[0] if persistent else n_rows
    inv = 1.0 / n_chains
    for c in range(n_chains):
        if persistent:
            for j in range(nh):
                h[j] = chains[c, j]
        else:
            for j in range(nh):
                h[j] = 1.0 if uniform(streams, r) < ph0[c, j] else 0.0
        for step in range(k):
            _visible_field(WT, a, h, fv)
            for i in range(nv):
                v[i] = 1.0 if uniform(streams, r) < _sigmoid(fv[i]) else 0.0
            _hidden_field(W, b, v, ph)
            for j in range(nh):
                ph[j] = _sigmoid(ph[j])
            if step < k - 1:
                for j in range(nh):
                    h[j] = 1.0 if uniform(streams, r) < ph[j] else 0.0
        for i in range(nv):
            if v[i] != 0.0:
                da[i] -= inv
                for j in range(nh):
                    dW[i, j] -= inv * ph[j]
        for j in range(nh):
            db[j] -= inv * ph[j]
        if persistent:
            for j in range(nh):
                chains[c, j] = 1.0 if uniform(streams, r) < ph[j] else 0.0

    for i in range(nv):
        a[i] += lr * da[i]
        for j in range(nh):
            W[i, j] += lr * dW[i, j]
    for j in range(nh):
        b[j] += lr * db[j]
    return err


@jit(nogil=True)
def _workspace(max_rows, nv, nh):
    return (
        np.empty((max_rows, nh)),
        np.empty(nh),
        np.empty(nv),
        np.empty(nh),
        np.empty((nv, nh)),
        np.empty(nv),
        np.empty(nh),
        np.empty((nh, nv)),
        np.empty(nv),
    )


@jit(nogil=True)
def _fit(W, a, b, data, batch_sizes, epochs, lr, k, persistent, chains, streams, r, shuffle, track):
    """Run ``epochs`` passes over ``data`` in mini-batches; returns the mean per-epoch
    reconstruction error (mean-field, measured on each batch before its update)."""
    n, nv = data.shape
    nh = W.shape[1]
    order = np.arange(n)
    errors = np.zeros(epochs)
    work = _workspace(batch_sizes.max(), nv, nh)
    for e in range(epochs):
        if shuffle:
            for i in range(n - 1, 0, -1):
                j = randint(streams, r, i + 1)
                tmp = order[i]
                order[i] = order[j]
                order[j] = tmp
        start = 0
        err = 0.0
        for m in range(batch_sizes.size):
            rows = order[start : start + batch_sizes[m]]
            err += _cd_batch(
                W, a, b, data, rows, lr, k, persistent, chains, streams, r, track, work
            )
            start += batch_sizes[m]
        errors[e] = err / (n * nv)
    return errors


@jit(nogil=True)
def _bernoulli_flat(p, streams, r):
    out = np.empty(p.size)
    for i in range(p.size):
        out[i] = 1.0 if uniform(streams, r) < p[i] else 0.0
    return out


def _bernoulli(p, streams, r):
    """0/1 samples with probabilities ``p`` (any shape) from stream ``r``, in C order.

    The kernel takes one flat signature: every cached signature is loaded separately
    at start-up, and 1-D and 2-D probabilities would otherwise need one each.
    """
    p = np.ascontiguousarray(p, dtype=np.float64)
    return _bernoulli_flat(p.ravel(), streams, r).reshape(p.shape)


@jit(nogil=True)
def _gibbs_chains(W, a, b, v_start, n_steps, streams, return_probs):
    """Run one Gibbs chain per row of ``v_start`` (stream r for row r) for n_steps
    round trips v -> h -> v; return the last visible samples (or their probabilities)."""
    n_chains, nv = v_start.shape
    nh = W.shape[1]
    out = v_start.copy()
    hf = np.empty(nh)
    h = np.empty(nh)
    fv = np.empty(nv)
    WT = np.ascontiguousarray(W.T)
    for r in range(n_chains):
        v = out[r]
        for step in range(n_steps):
            _hidden_field(W, b, v, hf)
            for j in range(nh):
                h[j] = 1.0 if uniform(streams, r) < _sigmoid(hf[j]) else 0.0
            mean_field = return_probs and step == n_steps - 1
            _visible_field(WT, a, h, fv)
            for i in range(nv):
                p = _sigmoid(fv[i])
                if mean_field:
                    v[i] = p
                else:
                    v[i] = 1.0 if uniform(streams, r) < p else 0.0
    return out


@jit(nogil=True)
def _log_partition(Ws, bs, bo):
    """log sum over s in {0,1}^ns of exp(bs.s + sum_k softplus(bo_k + (s^T Ws)_k)).

    ``Ws`` (ns, no) couples the summed layer to the other one.  States are visited in
    Gray-code order (one unit flips per step); the log-sum-exp is accumulated online with a
    running maximum so nothing overflows.
    """
    ns, no = Ws.shape
    s = np.zeros(ns)
    field = bo.copy()
    lin = 0.0
    m = -np.inf
    acc = 0.0
    for g in range(1 << ns):
        if g > 0:
            j = 0
            while ((g >> j) & 1) == 0:
                j += 1
            sign = 1.0 if s[j] == 0.0 else -1.0
            s[j] += sign
            lin += sign * bs[j]
            if (g & (_REFRESH_EVERY - 1)) == 0:
                for kk in range(no):
                    field[kk] = bo[kk]
                for jj in range(ns):
                    if s[jj] != 0.0:
                        for kk in range(no):
                            field[kk] += Ws[jj, kk]
                lin = 0.0
                for jj in range(ns):
                    lin += s[jj] * bs[jj]
            else:
                for kk in range(no):
                    field[kk] += sign * Ws[j, kk]
        x = lin
        for kk in range(no):
            x += _softplus(field[kk])
        if x > m:
            acc = acc * np.exp(m - x) + 1.0
            m = x
        else:
            acc += np.exp(x - m)
    return m + np.log(acc)


# ----------------------------------------------------------------------------- helpers


def _np_sigmoid(x):
    # tanh form: no overflow warning for large |x|
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _positive_int(value, name, minimum=1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _positive_float(value, name) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(out) or out <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out


# ----------------------------------------------------------------------------- the model


class RBM:
    """A restricted Boltzmann machine with binary visible and hidden units.

    Parameters
    ----------
    n_visible, n_hidden : int
        Layer sizes (>= 1).
    seed : int, numpy.random.Generator or None
        Seeds the initial weights and the model's own random streams.  Equal seeds and
        equal calls give identical numbers.
    init_std : float
        Standard deviation of the initial weights ``W ~ N(0, init_std^2)``; biases start at
        zero.  The default 0.01 is scikit-learn's ``BernoulliRBM`` initialisation.

    Attributes
    ----------
    W : ndarray of float64, shape (n_visible, n_hidden)
    a : ndarray of float64, shape (n_visible,)
        Visible biases.
    b : ndarray of float64, shape (n_hidden,)
        Hidden biases.
    n_updates : int
        Number of parameter updates made so far.
    """

    def __init__(self, n_visible: int, n_hidden: int, seed=0, init_std: float = 0.01):
        self.n_visible = _positive_int(n_visible, "n_visible")
        self.n_hidden = _positive_int(n_hidden, "n_hidden")
        init_std = float(init_std)
        if not np.isfinite(init_std) or init_std < 0:
            raise ValueError(f"init_std must be a finite number >= 0, got {init_std}")
        self.init_std = init_std
        self.reset(seed)

    # -- state --------------------------------------------------------------------------

    def reset(self, seed=None) -> None:
        """Re-initialise weights, biases, random streams and persistent chains.

        ``seed=None`` reuses the seed the model was created with (so ``reset()`` replays
        the same run); any other value starts a new, equally reproducible run.
        """
        if seed is not None or not hasattr(self, "_seed_seq"):
            self._seed_seq = seed_sequence(seed)
        ss = self._seed_seq
        # a fresh copy each time: spawn() counts its children, so reusing ``ss`` itself
        # would hand a replay different streams
        fresh = np.random.SeedSequence(ss.entropy, spawn_key=ss.spawn_key, pool_size=ss.pool_size)
        init_ss, train_ss, sample_ss = fresh.spawn(3)
        rng = np.random.default_rng(init_ss)
        self._W = rng.normal(0.0, self.init_std, (self.n_visible, self.n_hidden))
        self._a = np.zeros(self.n_visible)
        self._b = np.zeros(self.n_hidden)
        self._train_stream = make_streams(train_ss, 1)
        self._sample_stream = make_streams(sample_ss, 1)
        self._chains = None
        self.n_updates = 0

    def _set_param(self, name, value, shape):
        arr = np.array(value, dtype=np.float64, order="C")
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
        setattr(self, "_" + name, arr)

    @property
    def W(self) -> np.ndarray:
        return self._W

    @W.setter
    def W(self, value):
        self._set_param("W", value, (self.n_visible, self.n_hidden))

    @property
    def a(self) -> np.ndarray:
        return self._a

    @a.setter
    def a(self, value):
        self._set_param("a", value, (self.n_visible,))

    @property
    def b(self) -> np.ndarray:
        return self._b

    @b.setter
    def b(self, value):
        self._set_param("b", value, (self.n_hidden,))

    @property
    def persistent_chains(self):
        """Hidden states of the PCD chains, shape (n_chains, n_hidden), or None."""
        return None if self._chains is None else self._chains.copy()

    def reset_chains(self) -> None:
        """Forget the persistent chains; the next PCD step starts new ones at h = 0."""
        self._chains = None

    def _persistent(self, persistent, n_chains):
        """The PCD chains to use (created or restarted as needed), or an empty array."""
        if not persistent:
            return np.zeros((0, self.n_hidden))
        n_chains = _positive_int(n_chains, "n_chains")
        if self._chains is None or self._chains.shape != (n_chains, self.n_hidden):
            # scikit-learn's BernoulliRBM also starts its persistent chains at h = 0
            self._chains = np.zeros((n_chains, self.n_hidden))
        return self._chains

    # -- validation ---------------------------------------------------------------------

    def _layer(self, x, size, name, binary=False):
        arr = np.asarray(x)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
        ):
            raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if arr.ndim not in (1, 2) or arr.shape[-1] != size:
            raise ValueError(f"{name} must have shape ({size},) or (B, {size}), got {arr.shape}")
        if arr.ndim == 2 and arr.shape[0] == 0:
            raise ValueError(f"{name} has no rows")
        if binary:
            if not np.all((arr == 0.0) | (arr == 1.0)):
                raise ValueError(f"{name} must contain only 0 and 1")
        elif not np.all((arr >= 0.0) & (arr <= 1.0)):
            raise ValueError(f"{name} must contain values in [0, 1]")
        return arr

    # -- conditionals and sampling ------------------------------------------------------

    def hidden_probs(self, v) -> np.ndarray:
        """p(h_j = 1 | v) for v of shape (n_visible,) or (B, n_visible) -> (n_hidden,) or
        (B, n_hidden), float64.  These are the hidden activations the UI draws."""
        return self._hidden_probs(self._layer(v, self.n_visible, "v"))

    def visible_probs(self, h) -> np.ndarray:
        """p(v_i = 1 | h) for h of shape (n_hidden,) or (B, n_hidden)."""
        return self._visible_probs(self._layer(h, self.n_hidden, "h"))

    # The same two conditionals for arrays already checked (float64, right shape): the
    # animation computes scores every frame, where re-checking was most of their cost.
    def _hidden_probs(self, v: np.ndarray) -> np.ndarray:
        return _np_sigmoid(v @ self._W + self._b)

    def _visible_probs(self, h: np.ndarray) -> np.ndarray:
        return _np_sigmoid(h @ self._W.T + self._a)

    def sample_hidden(self, v) -> np.ndarray:
        """A binary sample of h given v (float64 0/1, same leading shape as v)."""
        return _bernoulli(self.hidden_probs(v), self._sample_stream, 0)

    def sample_visible(self, h) -> np.ndarray:
        """A binary sample of v given h (float64 0/1, same leading shape as h)."""
        return _bernoulli(self.visible_probs(h), self._sample_stream, 0)

    def reconstruct(self, v) -> np.ndarray:
        """Mean-field reconstruction p(v' = 1 | p(h | v)), deterministic, shape like v."""
        return self.visible_probs(self.hidden_probs(v))

    def reconstruction_error(self, data) -> float:
        """Mean over rows and units of (v - reconstruct(v))^2."""
        data = self._layer(data, self.n_visible, "data")
        recon = self._visible_probs(self._hidden_probs(data))
        return float(np.mean((data - recon) ** 2))

    def receptive_fields(self, shape=None) -> np.ndarray:
        """Each hidden unit's incoming weights, shape (n_hidden, n_visible), or
        (n_hidden, *shape) when ``shape`` is given (e.g. (3, 3) for the 3x3 images)."""
        fields = self._W.T.copy()
        if shape is not None:
            shape = tuple(int(s) for s in shape)
            if int(np.prod(shape)) != self.n_visible:
                raise ValueError(f"shape {shape} does not hold {self.n_visible} visible units")
            fields = fields.reshape((self.n_hidden, *shape))
        return fields

    def dream(self, n_samples: int, n_steps: int, seed=None, start=None, return_probs=False):
        """Run the model's own Gibbs chain: what it "imagines" with no data clamped.

        Parameters
        ----------
        n_samples : int
            Number of independent chains (one random stream each); one sample per chain.
        n_steps : int
            Gibbs round trips v -> h -> v per chain (>= 1).
        seed : int, Generator or None
            None draws from the model's own sampling stream (advancing it).
        start : array, optional
            Starting visible states, (n_visible,) (shared) or (n_samples, n_visible), in
            {0, 1}.  Default: uniformly random bits.
        return_probs : bool
            Return p(v = 1 | h) of the last step instead of a binary sample (a smoother
            picture of the same chain).

        Returns
        -------
        ndarray of float64, shape (n_samples, n_visible)
        """
        n_samples = _positive_int(n_samples, "n_samples")
        n_steps = _positive_int(n_steps, "n_steps")
        if seed is None:
            # successive dreams differ because this advances the sampling stream
            seed = int(next_u64(self._sample_stream, 0))
        streams = make_streams(seed_sequence(seed), n_samples)
        if start is None:
            v0 = np.empty((n_samples, self.n_visible))
            for r in range(n_samples):
                v0[r] = _bernoulli(np.full(self.n_visible, 0.5), streams, r)
        else:
            s = self._layer(start, self.n_visible, "start", binary=True)
            if s.ndim == 1:
                s = np.broadcast_to(s, (n_samples, self.n_visible))
            if s.shape[0] != n_samples:
                raise ValueError(f"start has {s.shape[0]} rows, expected {n_samples}")
            v0 = np.ascontiguousarray(s, dtype=np.float64).copy()
        return _gibbs_chains(self._W, self._a, self._b, v0, n_steps, streams, bool(return_probs))

    # -- learning -----------------------------------------------------------------------

    def train_step(
        self, batch, lr: float, k: int = 1, persistent: bool = False, n_chains=None
    ) -> float:
        """One CD-k update (or PCD-k with ``persistent=True``) on a mini-batch.

        ``W += lr * (<v h>_batch - <v h>_chains)``, where the positive term averages
        ``v p(h | v)`` over the batch rows and the negative term averages the sampled
        ``v_k p(h | v_k)`` over the chains; likewise for ``a`` and ``b``.

        Parameters
        ----------
        batch : array, shape (B, n_visible) or (n_visible,), values in [0, 1]
        lr : float > 0
            Learning rate.
        k : int >= 1
            Gibbs steps in the negative phase.
        persistent : bool
            PCD: the negative phase continues chains kept in the model, created at h = 0
            on first use and restarted if their number changes.
        n_chains : int, optional
            PCD only: number of persistent chains (default one per batch row).  More
            chains than rows give a less noisy negative phase.

        Returns
        -------
        float
            The batch's mean-field reconstruction error before the update.
        """
        batch = self._layer(batch, self.n_visible, "batch")
        if batch.ndim == 1:
            batch = batch[None, :]
        lr = _positive_float(lr, "lr")
        k = _positive_int(k, "k")
        n_rows = batch.shape[0]
        chains = self._persistent(persistent, n_rows if n_chains is None else n_chains)
        # one epoch of one batch, in order: exactly _cd_batch on every row (through _fit,
        # so start-up loads one cached kernel for both train_step and fit)
        sizes = np.array([n_rows], dtype=np.int64)
        errors = _fit(
            self._W, self._a, self._b, batch, sizes, 1, lr, k, bool(persistent),
            chains, self._train_stream, 0, False, True,
        )  # fmt: skip
        self.n_updates += 1
        return float(errors[0])

    def fit(
        self,
        data,
        epochs: int,
        batch_size: int = 10,
        lr: float = 0.1,
        k: int = 1,
        persistent: bool = False,
        shuffle: bool = True,
        n_chains=None,
        track_error: bool = True,
    ) -> np.ndarray:
        """Train for whole epochs in one compiled call.

        The data are cut into ``ceil(P / batch_size)`` nearly equal mini-batches (sizes
        differ by at most one, as in scikit-learn's BernoulliRBM); with ``shuffle`` the row
        order is re-drawn from the training stream every epoch.  With ``shuffle=False`` the
        result equals calling :meth:`train_step` on those batches in order (for PCD, with
        the same ``n_chains``; by default PCD keeps one chain per row of the largest batch).

        Returns
        -------
        ndarray of float64, shape (epochs,)
            Mean mean-field reconstruction error over each epoch's batches (zeros when
            ``track_error`` is false, which skips that work, e.g. in benchmarks).
        """
        data = self._layer(data, self.n_visible, "data")
        if data.ndim == 1:
            data = data[None, :]
        epochs = _positive_int(epochs, "epochs", minimum=0)
        batch_size = _positive_int(batch_size, "batch_size")
        lr = _positive_float(lr, "lr")
        k = _positive_int(k, "k")
        n = data.shape[0]
        n_batches = -(-n // batch_size)
        sizes = np.full(n_batches, n // n_batches, dtype=np.int64)
        sizes[: n % n_batches] += 1
        chains = self._persistent(persistent, int(sizes[0]) if n_chains is None else n_chains)
        errors = _fit(
            self._W, self._a, self._b, data, sizes, epochs, lr, k, bool(persistent),
            chains, self._train_stream, 0, bool(shuffle), bool(track_error),
        )  # fmt: skip
        self.n_updates += epochs * n_batches
        return errors

    # -- exact quantities ---------------------------------------------------------------

    def free_energy(self, v):
        """F(v) = -log sum_h exp(-E(v, h)) = -a.v - sum_j softplus(b_j + (v W)_j).

        v of shape (n_visible,) gives a float; (B, n_visible) gives (B,) float64.
        """
        v = self._layer(v, self.n_visible, "v")
        out = self._free_energy(v)
        return float(out) if v.ndim == 1 else out

    def _free_energy(self, v: np.ndarray) -> np.ndarray:
        """free_energy() of an already checked float64 array (no float() for one row)."""
        return -(v @ self._a) - np.logaddexp(0.0, v @ self._W + self._b).sum(axis=-1)

    def log_partition(self, via=None) -> float:
        """Exact log Z, summing over every state of one layer (``via`` = "visible" or
        "hidden"; default the smaller).  That layer must have at most 20 units."""
        if via is None:
            via = "hidden" if self.n_hidden <= self.n_visible else "visible"
        if via == "hidden":
            size, Ws, bs, bo = self.n_hidden, self._W.T, self._b, self._a
        elif via == "visible":
            size, Ws, bs, bo = self.n_visible, self._W, self._a, self._b
        else:
            raise ValueError(f'via must be "visible", "hidden" or None, got {via!r}')
        if size > _MAX_EXACT_UNITS:
            raise ValueError(
                f"exact log Z sums over 2^{size} states; at most {_MAX_EXACT_UNITS} units"
            )
        return float(_log_partition(np.ascontiguousarray(Ws), bs, bo))

    def log_likelihood(self, data) -> float:
        """Exact mean log p(v) over the rows of ``data`` (binary, (B, n_visible) or
        (n_visible,)); needs min(n_visible, n_hidden) <= 20."""
        data = self._layer(data, self.n_visible, "data", binary=True)
        return float(np.mean(-np.atleast_1d(self.free_energy(data))) - self.log_partition())

    def log_probs(self, v) -> np.ndarray:
        """Exact log p(v) for each row of binary v; shape (B,) (or a float for (n_visible,))."""
        v = self._layer(v, self.n_visible, "v", binary=True)
        out = -np.asarray(self._free_energy(v)) - self.log_partition()
        return float(out) if v.ndim == 1 else out


def warm_up() -> None:
    """Compile (or load from cache) every kernel of this module with the argument types
    the app uses; for ``python -m engine.warmup``."""
    r = RBM(4, 2, seed=0)
    data = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    r.train_step(data, 0.1)
    r.train_step(data, 0.1, persistent=True)
    r.fit(data, 1, batch_size=1)
    r.fit(data, 1, batch_size=1, persistent=True, track_error=False)
    r.sample_visible(r.sample_hidden(data))
    r.dream(2, 1, seed=0)
    r.dream(2, 1, seed=0, return_probs=True)
    r.log_likelihood(data)
    r.log_partition("visible")
