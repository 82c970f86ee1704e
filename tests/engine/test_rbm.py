"""The RBM: exact quantities against brute force, learning against the exact gradient,
sampling against exact probabilities, and reproducibility."""

import itertools

import numpy as np
import pytest

from engine import RBM, SHAPES

TLO = np.array([SHAPES[k].ravel() for k in "TLO"], dtype=np.float64)
# Mean log-likelihood of T, L, O under the best model with independent pixels (pixel
# probabilities 1, 2/3, 1/3): an RBM beating it has learnt how the pixels go together.
_p = TLO.mean(axis=0)
_p_safe = np.clip(_p, 1e-300, 1.0)
_q_safe = np.clip(1 - _p, 1e-300, 1.0)
INDEPENDENT_PIXELS_LL = float(np.sum(np.where(_p > 0, _p * np.log(_p_safe), 0.0))) + float(
    np.sum(np.where(_p < 1, (1 - _p) * np.log(_q_safe), 0.0))
)


def _random_rbm(nv, nh, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    r = RBM(nv, nh, seed=seed)
    r.W = rng.normal(0, scale, (nv, nh))
    r.a = rng.normal(0, scale, nv)
    r.b = rng.normal(0, scale, nh)
    return r


def _all_bits(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _brute_force(r):
    """log Z, all visible states, log p(v) and exact gradient pieces, by summing every (v, h)."""
    V, H = _all_bits(r.n_visible), _all_bits(r.n_hidden)
    neg_e = V @ r.W @ H.T + (V @ r.a)[:, None] + (H @ r.b)[None, :]
    log_z = np.logaddexp.reduce(neg_e.ravel())
    joint = np.exp(neg_e - log_z)
    return log_z, V, np.logaddexp.reduce(neg_e, axis=1) - log_z, joint, H


def _exact_gradient(r, data):
    _, V, _, joint, H = _brute_force(r)
    ph = r.hidden_probs(data)
    gW = data.T @ ph / len(data) - V.T @ joint @ H
    ga = data.mean(0) - joint.sum(1) @ V
    gb = ph.mean(0) - joint.sum(0) @ H
    return gW, ga, gb


def _train(r, steps, lr, k=1, persistent=False, **kw):
    for _ in range(steps):
        r.train_step(TLO, lr, k=k, persistent=persistent, **kw)
    return r


# --------------------------------------------------------------------- exact quantities


@pytest.mark.parametrize("nv,nh", [(4, 3), (3, 5), (6, 6), (1, 4)])
def test_log_partition_and_likelihood_match_brute_force(nv, nh):
    r = _random_rbm(nv, nh, seed=nv * 10 + nh)
    log_z, V, log_pv, _, _ = _brute_force(r)
    assert r.log_partition("visible") == pytest.approx(log_z, abs=1e-10)
    assert r.log_partition("hidden") == pytest.approx(log_z, abs=1e-10)
    assert r.log_partition() == pytest.approx(log_z, abs=1e-10)
    np.testing.assert_allclose(r.log_probs(V), log_pv, atol=1e-10)
    rows = V[[0, -1, len(V) // 2, 1]]
    expected = np.mean(log_pv[[0, -1, len(V) // 2, 1]])
    assert r.log_likelihood(rows) == pytest.approx(expected, abs=1e-10)
    assert np.exp(log_pv).sum() == pytest.approx(1.0, abs=1e-12)


def test_free_energy_matches_sum_over_hidden_states():
    r = _random_rbm(5, 4, seed=3)
    V, H = _all_bits(5), _all_bits(4)
    neg_e = V @ r.W @ H.T + (V @ r.a)[:, None] + (H @ r.b)[None, :]
    np.testing.assert_allclose(r.free_energy(V), -np.logaddexp.reduce(neg_e, axis=1), atol=1e-12)
    assert isinstance(r.free_energy(V[3]), float)


def test_log_partition_is_stable_for_huge_weights():
    # exp(-E) overflows float64 here; the log-sum-exp must not
    r = _random_rbm(5, 7, seed=4, scale=300.0)
    log_z, *_ = _brute_force(r)
    assert log_z > 710  # beyond exp's range, so the check is meaningful
    assert r.log_partition("visible") == pytest.approx(log_z, rel=1e-12)
    assert r.log_partition("hidden") == pytest.approx(log_z, rel=1e-12)


def test_log_partition_gray_code_refresh_keeps_precision():
    # 12 hidden units visit 4096 states: several field refreshes happen on the way
    r = _random_rbm(3, 12, seed=5)
    assert r.log_partition("hidden") == pytest.approx(r.log_partition("visible"), abs=1e-9)


def test_exact_sums_refuse_too_many_units():
    r = RBM(21, 22)
    with pytest.raises(ValueError, match="at most 20"):
        r.log_partition()
    with pytest.raises(ValueError, match="at most 20"):
        r.log_likelihood(np.zeros(21))


# ----------------------------------------------------------------------- conditionals


def test_conditionals_shapes_and_values():
    r = _random_rbm(9, 4, seed=6)
    v = TLO[0]
    ph = r.hidden_probs(v)
    assert ph.shape == (4,)
    np.testing.assert_allclose(ph, 1 / (1 + np.exp(-(v @ r.W + r.b))))
    assert r.hidden_probs(TLO).shape == (3, 4)
    pv = r.visible_probs(np.array([1, 0, 1, 1]))
    np.testing.assert_allclose(pv, 1 / (1 + np.exp(-(r.W @ [1, 0, 1, 1] + r.a))))
    np.testing.assert_allclose(r.reconstruct(TLO), r.visible_probs(r.hidden_probs(TLO)))
    assert r.reconstruction_error(TLO) == pytest.approx(np.mean((TLO - r.reconstruct(TLO)) ** 2))
    fields = r.receptive_fields((3, 3))
    assert fields.shape == (4, 3, 3)
    np.testing.assert_array_equal(fields[2].ravel(), r.W[:, 2])


def test_sampled_layers_follow_their_probabilities():
    r = _random_rbm(6, 5, seed=7)
    v = np.tile([1.0, 0, 1, 1, 0, 0], (4000, 1))
    samples = r.sample_hidden(v)
    assert set(np.unique(samples)) <= {0.0, 1.0}
    p = r.hidden_probs(v[0])
    tol = 5 * np.sqrt(p * (1 - p) / len(v)) + 1e-3
    assert np.all(np.abs(samples.mean(0) - p) < tol)
    h = np.tile([0.0, 1, 1, 0, 1], (4000, 1))
    pv = r.visible_probs(h[0])
    tol = 5 * np.sqrt(pv * (1 - pv) / len(h)) + 1e-3
    assert np.all(np.abs(r.sample_visible(h).mean(0) - pv) < tol)


# --------------------------------------------------------------------------- learning


@pytest.mark.parametrize("persistent,k", [(False, 40), (True, 1), (True, 5)])
def test_update_is_an_unbiased_likelihood_gradient(persistent, k):
    """CD with a long chain, and PCD with burnt-in chains, estimate the exact gradient:
    averaged over independent seeds, the update / lr agrees with it within the seeds'
    standard error."""
    data = np.array([[1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.float64)
    base = _random_rbm(4, 3, seed=8, scale=0.5)
    gW, ga, gb = _exact_gradient(base, data)
    lr = 1e-3
    n_seeds = 24
    est = []
    for s in range(n_seeds):
        r = RBM(4, 3, seed=100 + s)  # independent noise, same parameters
        r.W, r.a, r.b = base.W, base.a, base.b
        if persistent:
            # burn the chains in with a negligible update, then measure one real step
            r.train_step(data, 1e-300, k=100, persistent=True, n_chains=2000)
            before = (r.W.copy(), r.a.copy(), r.b.copy())
            r.train_step(data, lr, k=k, persistent=True, n_chains=2000)
        else:
            before = (r.W.copy(), r.a.copy(), r.b.copy())
            r.train_step(np.repeat(data, 700, axis=0), lr, k=k)
        est.append(
            np.concatenate([((r.W - before[0]) / lr).ravel(), (r.a - before[1]) / lr,
                            (r.b - before[2]) / lr])
        )  # fmt: skip
    est = np.array(est)
    exact = np.concatenate([gW.ravel(), ga, gb])
    se = est.std(axis=0, ddof=1) / np.sqrt(n_seeds)
    assert np.all(se < 0.01)  # the comparison below has teeth
    assert np.all(np.abs(est.mean(axis=0) - exact) < 5 * se + 1e-4)


def test_cd1_drives_reconstruction_error_below_005_on_tlo():
    r = RBM(9, 4, seed=0)
    assert r.reconstruction_error(TLO) > 0.2
    for _ in range(300):
        r.train_step(TLO, lr=1.0, k=1)
        if r.reconstruction_error(TLO) < 0.05:
            break
    else:
        pytest.fail("CD-1 did not bring the reconstruction error below 0.05 in 300 updates")


@pytest.mark.parametrize(
    "k,persistent,lr,steps",
    [(1, False, 1.0, 200), (10, False, 0.3, 1000), (1, True, 0.1, 1000)],
)
def test_cd_k_and_pcd_raise_the_exact_likelihood(k, persistent, lr, steps):
    r = RBM(9, 4, seed=1)
    start = r.log_likelihood(TLO)
    assert start == pytest.approx(9 * np.log(0.5), abs=0.05)  # tiny weights: near uniform
    _train(r, steps, lr, k=k, persistent=persistent)
    end = r.log_likelihood(TLO)
    assert end > INDEPENDENT_PIXELS_LL + 1.0
    assert end <= np.log(1 / 3) + 1e-12  # three equally likely shapes is the ceiling


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cd1_reconstruction_keeps_falling_while_likelihood_peaks_and_falls(seed):
    """The lesson of the likelihood panel, at the section's defaults: CD-1, lr 0.5, four
    hidden units, each update on T, L and O ten times over (30 rows, 30 CD chains)."""
    r = RBM(9, 4, seed=seed)
    batch = np.repeat(TLO, 10, axis=0)
    errs, lls = [], []
    for _ in range(50):
        for _ in range(100):
            r.train_step(batch, lr=0.5, k=1)
        errs.append(r.reconstruction_error(TLO))
        lls.append(r.log_likelihood(TLO))
    errs, lls = np.array(errs), np.array(lls)
    peak = int(np.argmax(lls))
    assert peak < 10  # the best model comes within 1000 updates
    assert lls[peak] > INDEPENDENT_PIXELS_LL + 2.5
    assert lls[-1] < lls[peak] - 1.5  # ... and the likelihood then falls a long way
    after = errs[peak:]
    assert after[-1] < after[0] / 100  # while the reconstruction error keeps falling
    assert np.all(after <= 1.5 * np.minimum.accumulate(after))


def _tv_bound(p, n, failure=1e-6):
    """E[TV] <= sum sqrt(p(1-p)/n) / 2, and TV moves by at most 1/n per sample, so
    (McDiarmid) it exceeds that by sqrt(log(1/failure) / 2n) with probability < failure."""
    return 0.5 * np.sum(np.sqrt(p * (1 - p) / n)) + np.sqrt(np.log(1 / failure) / (2 * n))


def test_dreams_sample_the_model_distribution():
    r = _random_rbm(4, 3, seed=12, scale=0.8)
    _, V, log_pv, _, _ = _brute_force(r)
    n = 4000
    dreams = r.dream(n, 50, seed=5)
    index = (dreams @ (2 ** np.arange(3, -1, -1))).astype(int)  # V is in binary order
    freq = np.bincount(index, minlength=16) / n
    p = np.exp(log_pv)
    assert 0.5 * np.abs(freq - p).sum() < _tv_bound(p, n)


def test_dreams_of_a_trained_model_are_mostly_the_shapes():
    r = _train(RBM(9, 4, seed=0), 1000, lr=0.3, k=10)
    mass = np.exp(r.log_probs(TLO)).sum()
    assert mass > 0.5
    n = 2000
    dreams = r.dream(n, 1000, seed=3)
    assert dreams.shape == (n, 9)
    shapes = sum(np.all(dreams == x, axis=1).sum() for x in TLO) / n
    # each chain is one independent draw: a binomial tolerance.  (Only the total is
    # checked: a trained model's chain rarely hops between shapes, so how the dreams
    # split among T, L and O depends on where the chains started.)
    assert abs(shapes - mass) < 4 * np.sqrt(mass * (1 - mass) / n)
    assert shapes > 0.5


def test_dream_options():
    r = _train(RBM(9, 4, seed=2), 200, lr=1.0)
    start = np.tile(TLO[0], (5, 1))
    probs = r.dream(5, 3, seed=1, start=start, return_probs=True)
    assert np.all((probs > 0) & (probs < 1))
    np.testing.assert_array_equal(
        r.dream(5, 3, seed=1, start=TLO[0]), r.dream(5, 3, seed=1, start=start)
    )
    a, b = r.dream(50, 5), r.dream(50, 5)  # the model's stream advances
    assert not np.array_equal(a, b)


def test_same_seed_same_numbers_and_reset_replays():
    def run(r):
        errs = [r.train_step(TLO, 0.5, k=2) for _ in range(20)]
        errs += [r.train_step(TLO[:2], 0.2, persistent=True) for _ in range(20)]
        errs += list(r.fit(np.repeat(TLO, 5, axis=0), 3, batch_size=4, lr=0.1))
        return np.array(errs), r.W.copy(), r.dream(10, 5), r.sample_hidden(TLO)

    one, two = run(RBM(9, 4, seed=11)), run(RBM(9, 4, seed=11))
    for x, y in zip(one, two, strict=True):
        np.testing.assert_array_equal(x, y)
    other = run(RBM(9, 4, seed=12))
    assert not np.array_equal(one[1], other[1])
    r = RBM(9, 4, seed=11)
    run(r)
    r.reset()
    np.testing.assert_array_equal(run(r)[1], one[1])


def test_sampling_does_not_disturb_training():
    quiet, curious = RBM(9, 4, seed=4), RBM(9, 4, seed=4)
    for _ in range(10):
        quiet.train_step(TLO, 0.5)
        curious.train_step(TLO, 0.5)
        curious.dream(3, 2)
        curious.sample_visible(curious.sample_hidden(TLO))
    np.testing.assert_array_equal(quiet.W, curious.W)


@pytest.mark.parametrize("persistent", [False, True])
def test_fit_equals_train_step_loop(persistent):
    data = np.repeat(TLO, 4, axis=0)[[0, 5, 2, 7, 4, 9, 6, 1, 8, 3, 10, 11]]
    looped, fitted = RBM(9, 4, seed=9), RBM(9, 4, seed=9)
    errs = []
    for _ in range(3):  # 12 rows in batches of 5 -> sizes 4, 4, 4
        e = [looped.train_step(data[s : s + 4], 0.3, k=2, persistent=persistent, n_chains=4)
             for s in (0, 4, 8)]  # fmt: skip
        errs.append(np.mean(e))
    fit_errs = fitted.fit(data, 3, batch_size=5, lr=0.3, k=2, persistent=persistent,
                          shuffle=False)  # fmt: skip
    np.testing.assert_allclose(fitted.W, looped.W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fitted.a, looped.a, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fit_errs, errs, rtol=0, atol=1e-12)
    assert fitted.n_updates == looped.n_updates == 9


def test_persistent_chains_live_in_the_model():
    r = RBM(9, 4, seed=0)
    assert r.persistent_chains is None
    r.train_step(TLO, 0.1, persistent=True)
    assert r.persistent_chains.shape == (3, 4)
    r.train_step(TLO[:2], 0.1, persistent=True)  # a new batch size restarts them
    assert r.persistent_chains.shape == (2, 4)
    r.train_step(TLO, 0.1, persistent=True, n_chains=50)
    assert r.persistent_chains.shape == (50, 4)
    r.reset_chains()
    assert r.persistent_chains is None


# ------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda r: r.train_step(np.zeros((3, 8)), 0.1), ValueError),
        (lambda r: r.train_step(TLO * 2, 0.1), ValueError),
        (lambda r: r.train_step(TLO - 0.5, 0.1), ValueError),
        (lambda r: r.train_step(TLO, 0.0), ValueError),
        (lambda r: r.train_step(TLO, -1.0), ValueError),
        (lambda r: r.train_step(TLO, float("nan")), ValueError),
        (lambda r: r.train_step(TLO, "fast"), TypeError),
        (lambda r: r.train_step(TLO, 0.1, k=0), ValueError),
        (lambda r: r.train_step(TLO, 0.1, k=1.5), TypeError),
        (lambda r: r.train_step(TLO, 0.1, persistent=True, n_chains=0), ValueError),
        (lambda r: r.train_step(np.array([["a"] * 9]), 0.1), TypeError),
        (lambda r: r.train_step(np.zeros((0, 9)), 0.1), ValueError),
        (lambda r: r.log_likelihood(TLO * 0.5), ValueError),
        (lambda r: r.hidden_probs(np.zeros((2, 2, 9))), ValueError),
        (lambda r: r.visible_probs(np.zeros(3)), ValueError),
        (lambda r: r.fit(TLO, 2, batch_size=0), ValueError),
        (lambda r: r.dream(0, 5), ValueError),
        (lambda r: r.dream(2, 5, start=np.full(9, 0.5)), ValueError),
        (lambda r: r.log_partition(via="both"), ValueError),
        (lambda r: r.receptive_fields((2, 2)), ValueError),
        (lambda r: setattr(r, "W", np.zeros((4, 9))), ValueError),
        (lambda r: setattr(r, "b", [np.inf] * 4), ValueError),
    ],
)
def test_bad_inputs_are_rejected(call, error):
    with pytest.raises(error):
        call(RBM(9, 4))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError):
        RBM(0, 4)
    with pytest.raises(TypeError):
        RBM(9, 4.0)
    with pytest.raises(ValueError):
        RBM(9, 4, init_std=-1)
    with pytest.raises(TypeError):
        RBM(9, 4, seed="x")


def test_warm_up_runs():
    from engine.rbm import warm_up

    warm_up()
