"""Gradient descent, the tutorial's rule:  θ ← θ − αg."""

from __future__ import annotations

import numpy as np

from .base import FirstOrder, learning_rate


class GD(FirstOrder):
    name = "gd"
    hypers = (learning_rate(0.1),)

    def update(self, t, theta, g, out, s, s_new) -> None:
        np.multiply(g, self.hyper["learning_rate"], g)  # αg, every W⁽ˡ⁾ and b⁽ˡ⁾ at once (g is scratch now)
        np.subtract(theta, g, out)  # θ ← θ − αg
