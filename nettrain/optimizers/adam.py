"""Adam (torch.optim.Adam's convention; λ stays in J, so g holds λW: not AdamW's decoupled decay):

    m ← β₁m + (1−β₁)g;   v ← β₂v + (1−β₂)g²;   θ ← θ − α·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
"""

from __future__ import annotations

import numpy as np

from .base import FirstOrder, Hyper, learning_rate


class Adam(FirstOrder):
    name = "adam"
    hypers = (
        learning_rate(0.001),
        Hyper("beta1", float, 0.9, "β₁, the decay of the mean of g", ge=0, lt=1),
        Hyper("beta2", float, 0.999, "β₂, the decay of the mean of g²", ge=0, lt=1),
        Hyper("epsilon", float, 1.0e-8, "ε in the denominator √v̂ + ε", gt=0),
    )
    state_names = ("m", "v")

    def update(self, t, theta, g, out, s, s_new) -> None:
        h = self.hyper
        b1, b2 = h["beta1"], h["beta2"]
        m, v = s_new["m"], s_new["v"]
        np.multiply(s["m"], b1, m)
        np.multiply(g, 1.0 - b1, out)  # out is scratch until θ′ is written
        np.add(m, out, m)  # m ← β₁m + (1−β₁)g
        np.multiply(g, g, g)  # g² (g is scratch now)
        np.multiply(g, 1.0 - b2, g)
        np.multiply(s["v"], b2, v)
        np.add(v, g, v)  # v ← β₂v + (1−β₂)g²
        np.divide(v, 1.0 - b2**t, g)  # v̂ = v/(1−β₂ᵗ)
        np.sqrt(g, g)
        np.add(g, h["epsilon"], g)  # √v̂ + ε
        np.divide(m, 1.0 - b1**t, out)  # m̂ = m/(1−β₁ᵗ)
        np.divide(out, g, out)  # m̂/(√v̂ + ε)
        np.multiply(out, h["learning_rate"], out)
        np.subtract(theta, out, out)  # θ ← θ − α·m̂/(√v̂ + ε)
