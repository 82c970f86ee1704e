"""Boltzmann learning for a fully visible Boltzmann machine on spins {-1, +1}.

The model is ``p(s) = exp(-E(s)/T) / Z`` with ``E(s) = -sum_{i<j} w_ij s_i s_j - sum_i b_i s_i``.
The mean log-likelihood of a data set has the two-phase gradient

    d<log p>/d w_ij = (<s_i s_j>_data - <s_i s_j>_model) / T
    d<log p>/d b_i  = (<s_i>_data     - <s_i>_model)     / T

The "wake" phase measures the data's correlations; the "sleep" phase measures the model's
own.  Here the sleep phase is exact (every one of the 2^n states, via
:func:`engine.exact.exact_stats`) or sampled from heat-bath chains
(:func:`engine.exact.sample_states`), to show the noise that sampling brings.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import temperature as check_temperature
from .exact import exact_stats, sample_states, state_index
from .spins import _check_network, energy

__all__ = [
    "BoltzmannLearner",
    "LearningStep",
    "data_moments",
    "exact_gradient",
    "kl_divergence",
    "log_likelihood",
    "sampled_gradient",
]

MAX_LEARNING_UNITS = 16


# ----------------------------------------------------------------------------- checks


def _check_data(data, n=None) -> np.ndarray:
    """Return data as float64 (P, n) of ±1 (a single row (n,) becomes (1, n))."""
    a = np.asarray(data)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise TypeError(f"data must be a numeric array of ±1, got dtype {a.dtype}")
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"data must have shape (P, n) with P, n >= 1, got {np.shape(data)}")
    if n is not None and a.shape[1] != n:
        raise ValueError(f"data rows must have {n} units, got {a.shape[1]}")
    if a.shape[1] > MAX_LEARNING_UNITS:
        raise ValueError(f"exact Boltzmann learning needs n <= {MAX_LEARNING_UNITS} units")
    if not np.all(np.abs(a) == 1):
        raise ValueError("data must contain only -1/+1 values")
    return a.astype(np.float64)


def _check_model(W, b, data=None):
    W, b = _check_network(W, b)
    if W.shape[0] > MAX_LEARNING_UNITS:
        raise ValueError(f"exact Boltzmann learning needs n <= {MAX_LEARNING_UNITS} units")
    if data is None:
        return W, b
    return W, b, _check_data(data, W.shape[0])


# ------------------------------------------------------------------------ statistics


def _moments_of(S) -> tuple[np.ndarray, np.ndarray]:
    m = S.mean(axis=0)
    C = (S.T @ S) / S.shape[0]  # integer sums: exact and exactly symmetric
    np.fill_diagonal(C, 1.0)
    return m, C


def data_moments(data) -> tuple[np.ndarray, np.ndarray]:
    """The wake-phase statistics of a data set.

    Parameters
    ----------
    data : array_like of ±1, shape (P, n) (or (n,) for one row)

    Returns
    -------
    m : ndarray of float64, shape (n,)
        ``m_i = <s_i>_data``.
    C : ndarray of float64, shape (n, n)
        ``C_ij = <s_i s_j>_data`` (ones on the diagonal).
    """
    return _moments_of(_check_data(data))


def _log_probs_of_rows(stats, S, T):
    """log p(s) for each row of S, read from the exact table in ``stats``."""
    return -stats.energies[state_index(S)] / T - stats.log_z


def _empirical(S):
    """Distinct rows of S (as state indices) and their relative frequencies."""
    idx, counts = np.unique(state_index(S), return_counts=True)
    return idx, counts / S.shape[0]


def _kl_from(stats, S, T) -> float:
    idx, freq = _empirical(S)
    log_p = -stats.energies[idx] / T - stats.log_z
    return float(np.sum(freq * (np.log(freq) - log_p)))


def log_likelihood(data, W, b, T=1.0) -> float:
    """Exact mean log-probability (natural log) of the rows of ``data`` under the model.

    Parameters
    ----------
    data : array_like of ±1, shape (P, n) or (n,)
    W : array_like, shape (n, n), symmetric, zero diagonal, n <= 16
    b : array_like, shape (n,), or None
    T : float > 0
    """
    W, b, S = _check_model(W, b, data)
    T = check_temperature(T, positive=True)
    return float(np.mean(_log_probs_of_rows(exact_stats(W, b, T), S, T)))


def kl_divergence(data, W, b, T=1.0) -> float:
    """KL(empirical data distribution || model), in nats; 0 only if the model reproduces
    the data's frequencies exactly.  Equals ``-H(data) - log_likelihood(data, W, b, T)``."""
    W, b, S = _check_model(W, b, data)
    T = check_temperature(T, positive=True)
    return _kl_from(exact_stats(W, b, T), S, T)


def _difference(m_data, C_data, m_model, C_model):
    dW = C_data - C_model
    np.fill_diagonal(dW, 0.0)
    return dW, m_data - m_model


def exact_gradient(W, b, data, T=1.0) -> tuple[np.ndarray, np.ndarray]:
    """Wake minus sleep, with the sleep phase exact (by enumerating all 2^n states).

    Returns
    -------
    dW : ndarray of float64, shape (n, n)
        ``<s_i s_j>_data - <s_i s_j>_model``: symmetric, zero diagonal.
    db : ndarray of float64, shape (n,)
        ``<s_i>_data - <s_i>_model``.

    The gradient of :func:`log_likelihood` with respect to the coupling ``w_ij`` (one
    parameter, sitting at both (i, j) and (j, i)) is ``dW[i, j] / T``; for ``b_i`` it is
    ``db[i] / T``.
    """
    W, b, S = _check_model(W, b, data)
    T = check_temperature(T, positive=True)
    stats = exact_stats(W, b, T)
    return _difference(*_moments_of(S), stats.m, stats.C)


def _sampled_moments(W, b, T, n_samples, seed, n_chains, burn_in, updates_between):
    """Model moments from ``n_chains`` independent heat-bath chains (samples split evenly)."""
    n_chains = int(n_chains)
    if n_chains < 1 or n_chains > n_samples:
        raise ValueError(f"n_chains must be in [1, n_samples], got {n_chains}")
    ss = seed if isinstance(seed, np.random.SeedSequence) else None
    if ss is None:
        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(0, 2**63 - 1))
        if seed is not None and not isinstance(seed, int | np.integer):
            raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
        ss = np.random.SeedSequence(None if seed is None else int(seed))
    sizes = np.full(n_chains, n_samples // n_chains)
    sizes[: n_samples % n_chains] += 1
    samples = [
        sample_states(
            W, b, T, int(size), seed=int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)),
            updates_between=updates_between, burn_in=burn_in,
        )
        for size, child in zip(sizes, ss.spawn(n_chains), strict=True)
    ]  # fmt: skip
    return _moments_of(np.concatenate(samples).astype(np.float64))


def _check_n_samples(n_samples) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
        raise TypeError(f"n_samples must be an integer, got {n_samples!r}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    return int(n_samples)


def sampled_gradient(
    W, b, data, n_samples, seed=None, T=1.0, n_chains=1, burn_in=None, updates_between=None
) -> tuple[np.ndarray, np.ndarray]:
    """Wake minus sleep, with the sleep phase estimated from heat-bath samples.

    Parameters
    ----------
    W, b, data, T : as in :func:`exact_gradient`
    n_samples : int >= 1
        Model samples in all, split evenly over the chains.
    seed : int, numpy.random.Generator, SeedSequence or None
    n_chains : int
        Independent chains, each started at a random state (one stream each).
    burn_in, updates_between : int, optional
        Passed to :func:`engine.exact.sample_states` (defaults: 100 n single-site updates
        before the first sample, n between samples).

    Returns
    -------
    dW (n, n) symmetric with zero diagonal, db (n,): unbiased for :func:`exact_gradient`
    once the chains have mixed, with noise shrinking like 1/sqrt(n_samples).
    """
    W, b, S = _check_model(W, b, data)
    T = check_temperature(T, positive=True)
    n_samples = _check_n_samples(n_samples)
    model = _sampled_moments(W, b, T, n_samples, seed, n_chains, burn_in, updates_between)
    return _difference(*_moments_of(S), *model)


# --------------------------------------------------------------------------- learner


class LearningStep(NamedTuple):
    """What one learning step saw, measured with the parameters *before* its update.

    ``kl`` and ``log_likelihood`` are exact.  ``data_m`` (n,), ``data_C`` (n, n) are the
    wake statistics; ``model_m``, ``model_C`` the sleep statistics (exact or sampled, as
    the step used); ``dW`` (n, n) and ``db`` (n,) their difference, which the step added
    to W and b times the learning rate.
    """

    step: int
    kl: float
    log_likelihood: float
    data_m: np.ndarray
    data_C: np.ndarray
    model_m: np.ndarray
    model_C: np.ndarray
    dW: np.ndarray
    db: np.ndarray


class BoltzmannLearner:
    """A fully visible Boltzmann machine of ``n`` spins that learns by wake and sleep.

    Parameters
    ----------
    n : int, 1 <= n <= 16
    seed : int, numpy.random.Generator or None
        Seeds the initial weights (if ``init_std > 0``) and the sampled sleep phase.
    T : float > 0
        Temperature of the model (the learning rate absorbs the 1/T of the gradient).
    init_std : float >= 0
        Initial couplings ``w_ij ~ N(0, init_std^2)`` (symmetric); 0 (default) starts
        from the uniform distribution.  Biases start at 0.

    Attributes
    ----------
    W : ndarray of float64, shape (n, n), symmetric, zero diagonal
    b : ndarray of float64, shape (n,)
    n_steps : int
    """

    def __init__(self, n: int, seed=0, T: float = 1.0, init_std: float = 0.0):
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise TypeError(f"n must be an integer, got {n!r}")
        if not 1 <= n <= MAX_LEARNING_UNITS:
            raise ValueError(f"n must be in [1, {MAX_LEARNING_UNITS}], got {n}")
        self.n = int(n)
        self.T = check_temperature(T, positive=True)
        init_std = float(init_std)
        if not (np.isfinite(init_std) and init_std >= 0):
            raise ValueError(f"init_std must be a finite number >= 0, got {init_std}")
        self.init_std = init_std
        self.reset(seed)

    def reset(self, seed=None) -> None:
        """Back to the initial weights; ``seed=None`` replays the original seed."""
        if seed is not None or not hasattr(self, "_seed"):
            if isinstance(seed, np.random.Generator):
                seed = int(seed.integers(0, 2**63 - 1))
            if seed is not None and not isinstance(seed, int | np.integer):
                raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
            self._seed = np.random.SeedSequence(None if seed is None else int(seed)).entropy
        init_ss, sleep_ss = np.random.SeedSequence(self._seed).spawn(2)
        upper = np.triu(np.random.default_rng(init_ss).normal(0, self.init_std, (self.n,) * 2), 1)
        self.W = upper + upper.T
        self.b = np.zeros(self.n)
        self._sleep_rng = np.random.default_rng(sleep_ss)
        self.n_steps = 0

    def _stats(self):
        return exact_stats(self.W, self.b, self.T)

    def step(
        self, data, lr: float = 0.1, negative: str = "exact", n_samples: int = 1000, n_chains=1
    ) -> LearningStep:
        """One learning step ``W += lr * dW``, ``b += lr * db`` on the whole data set.

        Parameters
        ----------
        data : array_like of ±1, shape (P, n)
        lr : float > 0
        negative : "exact" or "sampled"
            How the sleep phase is measured.
        n_samples, n_chains : int
            Sampled sleep phase only: samples in all, and independent chains.

        Returns
        -------
        LearningStep
        """
        S = _check_data(data, self.n)
        try:
            lr = float(lr)
        except (TypeError, ValueError):
            raise TypeError(f"lr must be a number, got {lr!r}") from None
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr}")
        if negative not in ("exact", "sampled"):
            raise ValueError(f'negative must be "exact" or "sampled", got {negative!r}')
        stats = self._stats()
        if negative == "exact":
            model_m, model_C = stats.m, stats.C
        else:
            n_samples = _check_n_samples(n_samples)
            seed = int(self._sleep_rng.integers(0, 2**63 - 1))
            model_m, model_C = _sampled_moments(
                self.W, self.b, self.T, n_samples, seed, n_chains, None, None
            )
        data_m, data_C = _moments_of(S)
        dW, db = _difference(data_m, data_C, model_m, model_C)
        record = LearningStep(
            step=self.n_steps,
            kl=_kl_from(stats, S, self.T),
            log_likelihood=float(np.mean(_log_probs_of_rows(stats, S, self.T))),
            data_m=data_m,
            data_C=data_C,
            model_m=np.array(model_m),
            model_C=np.array(model_C),
            dW=dW,
            db=db,
        )
        self.W = self.W + lr * dW
        self.b = self.b + lr * db
        self.n_steps += 1
        return record

    def model_probs(self, states) -> np.ndarray | float:
        """Exact model probability of each given ±1 state: float for (n,), (R,) for (R, n)."""
        S = np.asarray(states)
        batch = _check_data(S, self.n)
        stats = self._stats()
        p = np.exp(_log_probs_of_rows(stats, batch, self.T))
        return float(p[0]) if S.ndim == 1 else p

    def kl(self, data) -> float:
        """KL(empirical data || model) for the current weights."""
        return kl_divergence(data, self.W, self.b, self.T)

    def log_likelihood(self, data) -> float:
        """Exact mean log p of the data rows for the current weights."""
        return log_likelihood(data, self.W, self.b, self.T)

    def energy(self, states):
        """Energy of ±1 states under the current weights (float or (R,))."""
        return energy(self.W, self.b, states)


def warm_up() -> None:
    """Compile (or load from cache) the kernels this module uses; for
    ``python -m engine.warmup``."""
    learner = BoltzmannLearner(3, seed=0)
    data = np.array([[1, -1, 1], [-1, -1, 1]])
    learner.step(data, 0.1)
    learner.step(data, 0.1, negative="sampled", n_samples=4, n_chains=2)
    learner.model_probs(data)
