"""The stochastic (heat-bath) neuron on its own: how likely it is to turn on."""

from __future__ import annotations

import numpy as np

from ._checks import temperature as check_temperature

__all__ = ["p_on"]


def p_on(delta_e, T):
    """Probability that a unit turns on: ``sigmoid(delta_e / T)``.

    ``delta_e`` is the energy the network saves by turning the unit on (``2 h_i`` for ±1
    spins).  ``T = 0`` gives the deterministic step (1/2 exactly at ``delta_e = 0``) and
    ``T = inf`` the fair coin.

    Parameters
    ----------
    delta_e : float or ndarray
    T : float, >= 0 (``inf`` allowed)

    Returns
    -------
    float or ndarray of float64, same shape as ``delta_e``
    """
    T = check_temperature(T, allow_inf=True)
    x = np.asarray(delta_e, dtype=np.float64)
    if T == 0.0:
        out = np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5))
    elif np.isinf(T):
        out = np.full_like(x, 0.5)
    else:
        # exp of a non-positive number never overflows: the two halves of a stable sigmoid
        z = np.exp(-np.abs(x) / T)
        out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return float(out) if out.ndim == 0 else out
