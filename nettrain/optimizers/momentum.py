"""Gradient descent with momentum (torch.optim.SGD's convention, dampening 0):

    v ← μv + g;   θ ← θ − αv
"""

from __future__ import annotations

import numpy as np

from .base import FirstOrder, Hyper, learning_rate

MOMENTUM = Hyper("momentum", float, 0.9, "μ, the decay of the velocity v", ge=0, lt=1)  # nesterov's too


class Momentum(FirstOrder):
    name = "momentum"
    hypers = (learning_rate(0.01), MOMENTUM)
    state_names = ("v",)

    def update(self, t, theta, g, out, s, s_new) -> None:
        v = s_new["v"]
        np.multiply(s["v"], self.hyper["momentum"], v)
        np.add(v, g, v)  # v ← μv + g
        np.multiply(v, self.hyper["learning_rate"], g)  # αv (g is scratch now)
        np.subtract(theta, g, out)  # θ ← θ − αv
