"""Boltzmann learning: the exact gradient against finite differences, the sampled one
against the exact one, and KL falling on T, L and O."""

import numpy as np
import pytest

from engine import SHAPES, exact_boltzmann, exact_moments, to_spins
from engine.learning import (
    BoltzmannLearner,
    LearningStep,
    data_moments,
    exact_gradient,
    kl_divergence,
    log_likelihood,
    sampled_gradient,
)

TLO = to_spins(np.array([SHAPES[k].ravel() for k in "TLO"])).astype(np.int8)


def _random_net(n, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.normal(0, scale, (n, n)), 1)
    return upper + upper.T, rng.normal(0, scale, n)


def _random_data(n, P, seed):
    return np.random.default_rng(seed).choice([-1, 1], size=(P, n))


def test_data_moments_of_tlo():
    m, C = data_moments(TLO)
    S = TLO.astype(float)
    np.testing.assert_array_equal(m, S.mean(0))
    np.testing.assert_array_equal(C, S.T @ S / 3)
    assert m[0] == 1.0 and m[4] == -1 / 3  # the top-left pixel is in every shape
    np.testing.assert_array_equal(np.diag(C), np.ones(9))
    np.testing.assert_array_equal(C, C.T)


@pytest.mark.parametrize("T", [1.0, 0.7])
def test_exact_gradient_matches_central_finite_difference(T):
    n = 5
    W, b = _random_net(n, seed=1)
    data = _random_data(n, 7, seed=2)
    dW, db = exact_gradient(W, b, data, T=T)
    np.testing.assert_array_equal(dW, dW.T)
    np.testing.assert_array_equal(np.diag(dW), np.zeros(n))
    eps = 1e-5
    for i in range(n):
        for j in range(i + 1, n):
            E = np.zeros((n, n))
            E[i, j] = E[j, i] = eps  # w_ij is one parameter, stored twice
            fd = (log_likelihood(data, W + E, b, T) - log_likelihood(data, W - E, b, T)) / (2 * eps)
            assert fd == pytest.approx(dW[i, j] / T, abs=1e-8)
        e = np.zeros(n)
        e[i] = eps
        fd = (log_likelihood(data, W, b + e, T) - log_likelihood(data, W, b - e, T)) / (2 * eps)
        assert fd == pytest.approx(db[i] / T, abs=1e-8)


def test_likelihood_and_kl_agree_with_the_exact_distribution():
    n = 6
    W, b = _random_net(n, seed=3, scale=0.8)
    data = np.concatenate([_random_data(n, 5, seed=4)] * 2 + [_random_data(n, 3, seed=5)])
    states, _, probs = exact_boltzmann(W, b, 1.3)
    index = {tuple(s): k for k, s in enumerate(states)}
    rows = [index[tuple(r)] for r in data]
    assert log_likelihood(data, W, b, 1.3) == pytest.approx(np.mean(np.log(probs[rows])))
    p_data = np.bincount(rows, minlength=len(probs)) / len(rows)
    seen = p_data > 0
    expected = np.sum(p_data[seen] * np.log(p_data[seen] / probs[seen]))
    assert kl_divergence(data, W, b, 1.3) == pytest.approx(expected, abs=1e-12)
    entropy = -np.sum(p_data[seen] * np.log(p_data[seen]))
    assert kl_divergence(data, W, b, 1.3) == pytest.approx(
        -entropy - log_likelihood(data, W, b, 1.3), abs=1e-12
    )
    # a model equal to the data's own distribution would have KL 0; uniform has log(2^n) - H
    zero = np.zeros((n, n))
    assert kl_divergence(data, zero, None) == pytest.approx(n * np.log(2) - entropy)


def test_sampled_gradient_averages_to_the_exact_one():
    n = 5
    W, b = _random_net(n, seed=6, scale=0.4)
    data = _random_data(n, 6, seed=7)
    dW, db = exact_gradient(W, b, data)
    exact = np.concatenate([dW[np.triu_indices(n, 1)], db])

    def estimates(n_samples, seeds):
        out = []
        for s in seeds:
            gW, gb = sampled_gradient(W, b, data, n_samples, seed=s, n_chains=4)
            np.testing.assert_array_equal(gW, gW.T)
            out.append(np.concatenate([gW[np.triu_indices(n, 1)], gb]))
        return np.array(out)

    R = 40
    small = estimates(1000, range(R))
    se = small.std(axis=0, ddof=1) / np.sqrt(R)
    assert np.all(se < 0.02)  # the tolerance below is tight enough to mean something
    assert np.all(np.abs(small.mean(axis=0) - exact) < 5 * se)
    # noise shrinks like 1/sqrt(samples): four times the samples, about half the spread
    large = estimates(4000, range(100, 100 + R))
    ratio = np.median(large.std(axis=0, ddof=1) / small.std(axis=0, ddof=1))
    assert 0.35 < ratio < 0.7


def test_learning_tlo_makes_kl_fall_and_the_shapes_likely():
    learner = BoltzmannLearner(9)
    kls = [learner.step(TLO, lr=0.1).kl for _ in range(200)]
    assert kls[0] == pytest.approx(np.log(2**9 / 3))  # uniform start
    assert np.all(np.diff(kls) < 0)  # exact gradient, small steps: KL falls every step
    assert kls[50] < 0.2 and kls[-1] < 0.05
    assert learner.kl(TLO) < kls[-1]
    p = learner.model_probs(TLO)
    assert np.all(np.abs(p - 1 / 3) < 0.02)
    states, _, probs = exact_boltzmann(learner.W, learner.b, learner.T)
    np.testing.assert_allclose(learner.model_probs(states), probs, rtol=1e-10, atol=1e-300)
    assert isinstance(learner.model_probs(TLO[0]), float)


def test_step_record_holds_the_two_phases():
    learner = BoltzmannLearner(9, init_std=0.3, seed=4)
    W0, b0 = learner.W.copy(), learner.b.copy()
    rec = learner.step(TLO, lr=0.05)
    assert isinstance(rec, LearningStep) and rec.step == 0
    m, C = exact_moments(W0, b0, 1.0)
    np.testing.assert_allclose(rec.model_C, C, atol=1e-12)
    np.testing.assert_allclose(rec.model_m, m, atol=1e-12)
    dm, dC = data_moments(TLO)
    np.testing.assert_array_equal(rec.data_C, dC)
    off = ~np.eye(9, dtype=bool)
    np.testing.assert_allclose(rec.dW[off], (dC - C)[off], atol=1e-12)
    np.testing.assert_allclose(learner.W, W0 + 0.05 * rec.dW, atol=1e-15)
    np.testing.assert_allclose(learner.b, b0 + 0.05 * (dm - m), atol=1e-15)
    assert rec.kl == pytest.approx(kl_divergence(TLO, W0, b0))
    assert rec.log_likelihood == pytest.approx(log_likelihood(TLO, W0, b0))


def test_sampled_steps_are_reproducible_and_learn():
    def run(seed):
        learner = BoltzmannLearner(9, seed=seed)
        kls = [learner.step(TLO, 0.1, negative="sampled", n_samples=300).kl for _ in range(30)]
        return np.array(kls), learner.W

    k1, W1 = run(8)
    k2, W2 = run(8)
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(k1, k2)
    assert not np.array_equal(W1, run(9)[1])
    assert k1[-1] < k1[0] - 3  # noisy, but it learns
    learner = BoltzmannLearner(9, seed=8)
    for _ in range(30):
        learner.step(TLO, 0.1, negative="sampled", n_samples=300)
    learner.reset()
    for _ in range(30):
        learner.step(TLO, 0.1, negative="sampled", n_samples=300)
    np.testing.assert_array_equal(learner.W, W1)


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda L: L.step(TLO[:, :8], 0.1), ValueError),
        (lambda L: L.step(TLO * 2, 0.1), ValueError),
        (lambda L: L.step(np.zeros((0, 9)), 0.1), ValueError),
        (lambda L: L.step(TLO, 0.0), ValueError),
        (lambda L: L.step(TLO, "big"), TypeError),
        (lambda L: L.step(TLO, 0.1, negative="dream"), ValueError),
        (lambda L: L.step(TLO, 0.1, negative="sampled", n_samples=0), ValueError),
        (lambda L: L.step(TLO, 0.1, negative="sampled", n_samples=10, n_chains=11), ValueError),
        (lambda L: L.model_probs(np.zeros(9)), ValueError),
        (lambda L: BoltzmannLearner(17), ValueError),
        (lambda L: BoltzmannLearner(9, T=0), ValueError),
        (lambda L: BoltzmannLearner(9, seed="a"), TypeError),
        (lambda L: exact_gradient(np.ones((3, 3)), None, TLO[:, :3]), ValueError),
        (lambda L: log_likelihood(TLO, np.zeros((9, 9)), None, T=-1), ValueError),
        (lambda L: sampled_gradient(np.zeros((9, 9)), None, TLO, 10, seed="x"), TypeError),
    ],
)
def test_bad_inputs_are_rejected(call, error):
    with pytest.raises(error):
        call(BoltzmannLearner(9))


def test_warm_up_runs():
    from engine.learning import warm_up

    warm_up()
