"""The simulation engine: numpy in, numpy out, hot loops compiled with numba.

Nothing here imports Panel or Bokeh, so the engine works from a notebook or a script::

    >>> from engine import SHAPES, to_spins, hebbian, settle
    >>> patterns = to_spins([SHAPES["T"].ravel(), SHAPES["L"].ravel()])
    >>> W = hebbian(patterns)

Conventions (fixed for the whole project): Hopfield/Boltzmann units are spins in
{-1, +1}; RBM units are bits in {0, 1}; ``E(s) = -sum_{i<j} w_ij s_i s_j - sum_i b_i s_i``;
heat-bath updates turn a unit on with probability ``sigmoid(2 h_i / T)``.
"""

from ._gcpause import permanent_objects as _permanent_objects

with _permanent_objects(freeze=False):  # numba's start-up objects: see engine._gcpause
    from . import annealing, capacity, exact, lattice, learning, modern, neuron, rbm, spins
    from .annealing import *  # noqa: F403
    from .capacity import *  # noqa: F403
    from .exact import *  # noqa: F403
    from .lattice import *  # noqa: F403
    from .learning import *  # noqa: F403
    from .modern import *  # noqa: F403
    from .neuron import *  # noqa: F403
    from .rbm import *  # noqa: F403
    from .spins import *  # noqa: F403

__all__ = [
    name
    for module in (spins, neuron, exact, annealing, rbm, learning, capacity, lattice, modern)
    for name in module.__all__
]
