"""The objective every optimizer consumes: J(θ), its named parts and ∇J(θ), for one flat θ; and the
interface of the sources of additive sums it is built on.

    J(θ) = J_data + J_reg = (1/m) Σᵢ loss(h(xᵢ), yᵢ) + (λ/2) Σₗ ‖W⁽ˡ⁾‖²
         (+ J_sparse = β Σₗ Σⱼ KL(ρ‖ρ̂ⱼ⁽ˡ⁾), with a sparsity penalty: the sparse autoencoder)

An Objective is built from a Source of additive sums — sums.Backprop over a whole split (chunks, threads,
from memory or a memory map), sums.BatchSums over a minibatch's rows, cluster.session.ClusterSums over a
cluster's partitions — and the weight decay λ. The source adds up Σᵢ loss and Σᵢ δ⁽ˡ⁺¹⁾[1; a⁽ˡ⁾]ᵀ in a
fixed order; network.finish divides by m and adds the λ terms, in that one place, whatever the source.
Source and BatchSource below declare what a source answers (typing.Protocol: nothing here imports the
sources; sums.SumsBase is their common implementation).

The sparsity penalty is a term of the same objective. ρ̂ depends on every example, so it takes two
calls on the source, both additive over examples: source.activation_sums(θ) → Σᵢ a⁽ˡ⁾ for each hidden
layer l; here ρ̂⁽ˡ⁾ = Σᵢ a⁽ˡ⁾ / m and the hidden-δ term β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂)) are made; then
source.sums(θ, delta_terms) adds that term to every example's W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ before the f′ product. Every
source offers both calls (chunks, a minibatch's rows, a cluster's partitions), so every one gets the
penalty; over a minibatch, ρ̂ is the batch's mean activation. Without a penalty, one call.

A call returns (Cost, ∇J). The gradient goes into the caller's `out` when given (a training loop
passes the same buffer every step), else into a new array: a caller that keeps it (scipy's L-BFGS
does) never sees it overwritten by the next call.

Left out on purpose: which examples make a batch, any step rule (optimizers/), files and printing.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Protocol, runtime_checkable

import numpy as np

from .network import (Architecture, Cost, FlatParams, Sparsity, decay_scratch, finish, flat_params, reg_cost,
                      sparse_cost, sparse_delta)


class GradSums(NamedTuple):
    """What Source.sums returns: the additive sums of one backprop pass, not yet divided by m."""

    loss: float  # Σᵢ loss(h(xᵢ), yᵢ)
    G: np.ndarray  # [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] laid out as network.flat_params; the source's buffer, valid until its next call
    theta: FlatParams  # θ the sums were taken at, in the flat layout (finish reads λW from it)


class ForwardSums(NamedTuple):
    """What Source.forward_sums returns: Σᵢ loss of the forward pass alone, and measure(h, y) of each part of
    the examples (a chunk, a partition), in order: what a split's metrics are made of."""

    loss: float  # Σᵢ loss(h(xᵢ), yᵢ), summed over the parts in order (the same bits as sums().loss)
    parts: list  # [measure(h, y) for each part]: h = a⁽ⁿˡ⁾ and y of the part, (s_nl, w); [] without a measure


Measure = Callable[[np.ndarray, np.ndarray], Any]  # (h, y) of a part, columns = examples → its additive sums


@runtime_checkable
class Source(Protocol):
    """A source of additive sums over a set of m examples x (s_1, m), y (s_nl, m), at any θ.

    θ (`theta`) is a network.FlatParams, or plain network.Params copied into the source's own FlatParams.
    Every sum is over examples, added in an order fixed by the source alone (chunks, partitions), so that
    the same source gives the same bits on any number of threads or workers.
    """

    arch: Architecture
    dtype: np.dtype
    m: int  # the examples summed over

    def sums(self, theta: Any, delta_terms: Optional[list] = None) -> GradSums:
        """The backprop pass: Σᵢ loss and [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] at θ. delta_terms: None, or per layer l a
        column (s_l, 1) (None where there is none) added to every example's W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ before the f′ product:
        the sparsity term β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂))."""

    def activation_sums(self, theta: Any) -> dict[int, np.ndarray]:
        """{l: Σᵢ a⁽ˡ⁾(xᵢ)} for each hidden layer l = 2 … nl−1, vectors (s_l,): the penalty's first pass."""

    def forward_sums(self, theta: Any, measure: Optional[Measure] = None) -> ForwardSums:
        """The forward pass alone: Σᵢ loss, and measure(h, y) of each part (a split's metrics: metrics.metric_sums).
        measure runs where the examples are: on a cluster, a module-level function or a partial of one."""


@runtime_checkable
class BatchSource(Source, Protocol):
    """A Source over a chosen subset of its rows, the current minibatch: m is the batch's size."""

    batch_size: int  # the largest batch select() takes

    def select(self, idx: np.ndarray) -> None:
        """Make the rows idx (numbers in range of all the rows) the examples every later call sums over."""


NAMES = ("data_cost", "reg_cost")
SPARSE_NAMES = NAMES + ("sparse_cost",)


def cost_names(sparsity: Optional[Sparsity]) -> tuple[str, ...]:
    """The parts of J an objective with this penalty (or None) reports, in order: metrics.csv's cost columns."""
    return SPARSE_NAMES if sparsity is not None else NAMES


class Objective:
    """J and ∇J over a Source (a BatchSource for minibatch steps). with_reg False: the Cost holds J_data alone
    (∇J still has λW): a minibatch step's, whose J is only checked to be finite."""

    names = NAMES  # the parts of J, in order: metrics.csv's cost columns (an instance with a penalty: SPARSE_NAMES)

    def __init__(self, source: Source, lam: float, sparsity: Optional[Sparsity] = None, with_reg: bool = True) -> None:
        self.source, self.lam, self.with_reg = source, float(lam), with_reg
        layers, dtype = source.arch.layers, source.dtype
        self.dtype = np.dtype(dtype)
        self._decay = decay_scratch(layers, self.lam, self.dtype)
        self._x = flat_params(layers, self.dtype)  # θ given as a plain vector is copied here
        self.evaluations = 0  # calls so far (J and ∇J each time)
        self.sparsity = None if sparsity is None else Sparsity(float(sparsity[0]), float(sparsity[1]))
        if self.sparsity is not None:
            self.names = SPARSE_NAMES
            self._delta_terms = [None] * (len(layers) + 1)  # per layer l: the (s_l, 1) column added to W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾

    def __call__(self, theta: Any, out: Optional[np.ndarray] = None) -> tuple[Cost, np.ndarray]:
        """(J(θ) with its parts, ∇J(θ)); θ a FlatParams (or Params). ∇J into `out`, else a new array."""
        if self.sparsity is not None:
            return self._sparse_call(theta, out)
        s = self.source.sums(theta)
        if out is None:
            out = np.empty_like(s.G)
        self.evaluations += 1
        return finish(s.loss, s.G, self.source.m, self.lam, s.theta, out, self._decay, self.with_reg), out

    def rho_hat(self, theta: Any) -> dict[int, np.ndarray]:
        """ρ̂⁽ˡ⁾ = (1/m) Σᵢ a⁽ˡ⁾(xᵢ) for every hidden layer l, over the source's examples (the first pass)."""
        m = self.source.m
        return {l: s / m for l, s in self.source.activation_sums(theta).items()}

    def _sparse_call(self, theta: Any, out: Optional[np.ndarray]) -> tuple[Cost, np.ndarray]:
        """J = J_data + J_reg + J_sparse and its gradient: ρ̂ from the first pass, then the sums with the
        delta_terms hidden-δ term, then finish() (÷m and λ) as for every objective."""
        sp, delta_terms = self.sparsity, self._delta_terms
        rho_hat = self.rho_hat(theta)
        for l, r in rho_hat.items():
            delta_terms[l] = sparse_delta(r, sp)[:, None]  # β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂)), one column for every example
        s = self.source.sums(theta, delta_terms)
        if out is None:
            out = np.empty_like(s.G)
        self.evaluations += 1
        c = finish(s.loss, s.G, self.source.m, self.lam, s.theta, out, self._decay, self.with_reg)
        return Cost.of(c.J_data, c.J_reg, sparse_cost=sparse_cost(rho_hat, sp)), out

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
        J_data = self.source.forward_sums(theta).loss / self.source.m
        W = theta.params.W if isinstance(theta, FlatParams) else theta.W
        J_reg = reg_cost(W, self.lam) if self.lam else 0.0
        if self.sparsity is None:
            return Cost.of(J_data, J_reg)
        return Cost.of(J_data, J_reg, sparse_cost=sparse_cost(self.rho_hat(theta), self.sparsity))
