"""The objective every optimizer consumes: J(θ), its named parts and ∇J(θ), for one flat θ.

    J(θ) = J_data + J_reg = (1/m) Σᵢ loss(h(xᵢ), yᵢ) + (λ/2) Σₗ ‖W⁽ˡ⁾‖²

An Objective is built from a source of additive sums — network.Backprop over the whole train split
(chunks, threads), network.BatchSums over a minibatch's rows, or a cluster's partitions — and the
weight decay λ. The source adds up Σᵢ loss and Σᵢ δ⁽ˡ⁺¹⁾[1; a⁽ˡ⁾]ᵀ in a fixed order; network.finish
divides by m and adds the λ terms, in that one place, whatever the source.

A call returns (Cost, ∇J). The gradient goes into the caller's `out` when given (a training loop
passes the same buffer every step), else into a new array: a caller that keeps it (scipy's L-BFGS
does) never sees it overwritten by the next call.

Left out on purpose: which examples make a batch, any step rule (optimizers/), files and printing.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .network import Cost, FlatParams, decay_mask, finish, flat_params, reg_cost


class Objective:
    """J and ∇J over `source` (its .sums(θ) → Σ loss, .g the gradient sums, .m, .theta_now). with_reg False:
    the Cost holds J_data alone (∇J still has λW): a minibatch step's, whose J is only checked to be finite."""

    names = ("data_cost", "reg_cost")  # the parts of J, in order: metrics.csv's cost columns

    def __init__(self, source: Any, lam: float, with_reg: bool = True) -> None:
        self.source, self.lam, self.with_reg = source, float(lam), with_reg
        layers, dtype = source.arch.layers, source.dtype
        self.dtype = np.dtype(dtype)
        self._mask, self._scratch = decay_mask(layers, self.lam, self.dtype)
        self._x = flat_params(layers, self.dtype)  # θ given as a plain vector is copied here
        self.evaluations = 0  # calls so far (J and ∇J each time)

    @property
    def size(self) -> int:
        return self._x.vec.size

    def __call__(self, theta: Any, out: Optional[np.ndarray] = None) -> tuple[Cost, np.ndarray]:
        """(J(θ) with its parts, ∇J(θ)); θ a FlatParams (or Params). ∇J into `out`, else a new array."""
        loss_sum = self.source.sums(theta)
        if out is None:
            out = np.empty_like(self.source.g)
        self.evaluations += 1
        return finish(loss_sum, self.source.g, self.source.m, self.lam, self.source.theta_now, out,
                      self._mask, self._scratch, self.with_reg), out

    def at(self, x: np.ndarray, out: Optional[np.ndarray] = None) -> tuple[Cost, np.ndarray]:
        """The same for θ given as one flat vector (scipy's x): copied into a FlatParams first."""
        np.copyto(self._x.vec, x, casting="unsafe")
        return self(self._x, out)

    def flat(self, x: np.ndarray) -> FlatParams:
        """A FlatParams holding a copy of the flat vector x."""
        fp = flat_params(self.source.arch.layers, self.dtype)
        np.copyto(fp.vec, x, casting="unsafe")
        return fp

    def cost(self, theta: Any) -> Cost:
        """J(θ) and its parts from the forward pass alone (no gradient): the same bits as __call__'s J."""
        J_data, _ = self.source.outputs(theta)
        W = theta.params.W if isinstance(theta, FlatParams) else theta.W
        return Cost.of(J_data, reg_cost(W, self.lam) if self.lam else 0.0)
