"""The optimizers: one small module each, one registry entry each (see base.py for the interface).

    name       rule                                                            module
    gd         θ ← θ − αg                                                      gd.py
    momentum   v ← μv + g;  θ ← θ − αv                                         momentum.py
    nesterov   v ← μv + g;  θ ← θ − α(g + μv)                                  nesterov.py
    adam       m, v ← moving averages of g, g²;  θ ← θ − α·m̂/(√v̂ + ε)          adam.py
    lbfgs      scipy's L-BFGS-B on the exact full-batch J and ∇J                lbfgs.py
"""

from __future__ import annotations

from .adam import Adam
from .base import FirstOrder, Fitting, Optimizer, Result, Step
from .gd import GD
from .lbfgs import LBFGS
from .momentum import Momentum
from .nesterov import Nesterov

OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (GD, Momentum, Nesterov, Adam, LBFGS)}

# The train.* keys some optimizer reads, and which optimizers read each (the config warns of a key set
# for an optimizer that does not read it).
HYPERPARAMETERS = ("learning_rate", "momentum", "beta1", "beta2", "epsilon", "memory", "batch_size")


def users_of(key: str) -> list[str]:
    """The optimizers that read train.<key>."""
    if key == "batch_size":
        return [n for n, cls in OPTIMIZERS.items() if cls.minibatches]
    return [n for n, cls in OPTIMIZERS.items() if key in cls.uses]


def make(name: str, **hyper) -> Optimizer:
    return OPTIMIZERS[name](**hyper)


__all__ = ["OPTIMIZERS", "HYPERPARAMETERS", "FirstOrder", "Fitting", "Optimizer", "Result", "Step", "make", "users_of"]
