"""Nesterov momentum (torch.optim.SGD(nesterov=True)'s convention):

    v ← μv + g;   θ ← θ − α(g + μv)
"""

from __future__ import annotations

import numpy as np

from .base import FirstOrder, learning_rate
from .momentum import MOMENTUM


class Nesterov(FirstOrder):
    name = "nesterov"
    hypers = (learning_rate(0.01), MOMENTUM)
    state_names = ("v",)

    def update(self, t, theta, g, out, s, s_new) -> None:
        mu, v = self.hyper["momentum"], s_new["v"]
        np.multiply(s["v"], mu, v)
        np.add(v, g, v)  # v ← μv + g
        np.multiply(v, mu, out)  # μv, in out until θ′ is written
        np.add(g, out, g)  # g + μv
        np.multiply(g, self.hyper["learning_rate"], g)
        np.subtract(theta, g, out)  # θ ← θ − α(g + μv)
