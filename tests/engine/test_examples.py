"""engine.examples: exact reachable fixed points against many random update orders."""

from __future__ import annotations

import numpy as np
import pytest

from engine import hebbian, local_minima, settle
from engine.examples import corruption_outcomes, four_unit_example, reachable_fixed_points


@pytest.mark.parametrize("seed", range(6))
def test_reachable_fixed_points_contain_every_settle_outcome_and_are_minima(seed):
    rng = np.random.default_rng(seed)
    n = 8
    W = hebbian(rng.choice([-1, 1], size=(3, n)))
    b = rng.normal(scale=0.1, size=n)
    s = rng.choice([-1, 1], size=n).astype(np.int8)
    exact = {tuple(x) for x in reachable_fixed_points(W, b, s).tolist()}
    minima = {tuple(x) for x in local_minima(W, b).tolist()}
    assert exact <= minima
    seen = {tuple(settle(W, b, s, order=rng.integers(n, size=300)).tolist()) for _ in range(400)}
    assert seen <= exact
    # with 400 random orders every reachable end of such a small network turns up
    assert seen == exact


def test_a_fixed_point_reaches_only_itself():
    ex = four_unit_example()
    for m in local_minima(ex.W, ex.b):
        assert reachable_fixed_points(ex.W, ex.b, m).tolist() == [m.tolist()]


def test_corruption_outcomes_enumerates_k_subsets():
    ex = four_unit_example()
    outs = corruption_outcomes(ex.W, ex.b, ex.patterns[0], 2)
    assert [c for c, _ in outs] == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    with pytest.raises(ValueError):
        corruption_outcomes(ex.W, ex.b, ex.patterns[0], 5)
