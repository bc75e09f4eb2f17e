"""Batch gradient descent: the epoch loop, and nothing else.

    repeat for e = 0, 1, …, epochs − 1:
        J(θ_e), ∇J(θ_e) = backprop(θ_e)        (over the whole train split: full batch)
        W⁽ˡ⁾ ← W⁽ˡ⁾ − α ∂J/∂W⁽ˡ⁾,   b⁽ˡ⁾ ← b⁽ˡ⁾ − α ∂J/∂b⁽ˡ⁾

Epoch e names the state after e updates: its cost J(θ_e) is the one computed at the start of
iteration e; the final state θ_epochs gets the same computation, without an update after it. A report callback
sees every epoch's state before it is updated, so whatever it saves for epoch e (a metrics row,
a checkpoint) describes the same weights.

Left out on purpose: files, terminal output and signals. The caller (runs.py) decides what to do
with each epoch through `on_epoch`, which may return True to stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from . import network
from .errors import DivergenceError
from .network import Architecture, Cost, Params

# on_epoch(e, J(θ_e), θ_e, ∇J(θ_e), final) -> True to stop after this epoch
OnEpoch = Callable[[int, Cost, Params, Params, bool], Optional[bool]]


class Diverged(DivergenceError):
    """The cost became NaN or infinite at `epoch`; `last_params` is the last state with a finite cost."""

    def __init__(self, epoch: int, last_epoch: Optional[int], last_cost: Optional[Cost], last_params: Optional[Params]):
        self.epoch, self.last_epoch, self.last_cost, self.last_params = epoch, last_epoch, last_cost, last_params
        if last_cost is None:
            msg = f"the cost is not finite at epoch {epoch}, before any update: check the data's scale and model.init"
        else:
            msg = (
                f"the cost became non-finite at epoch {epoch} (last finite cost {last_cost.J:.6g} at epoch "
                f"{last_epoch}): try a smaller learning_rate"
            )
        super().__init__(msg)


@dataclass
class TrainResult:
    params: Params
    epoch: int  # the state's epoch: updates applied so far
    cost: Cost
    reason: str  # "done" | "converged" | "stopped"


def gradient_descent(
    arch: Architecture,
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    lam: float,
    epochs: int,
    start_epoch: int = 0,
    tolerance: float = 0.0,
    chunk_size: Optional[int] = None,
    on_epoch: Optional[OnEpoch] = None,
) -> TrainResult:
    """Full-batch gradient descent from θ_start_epoch = params to θ_epochs, x (s_1, m), y (s_nl, m).

    Two parameter buffers alternate: θ_{e+1} = θ_e − α∇J is written into the other one, so the
    previous state is still whole if the new cost turns out non-finite (Diverged carries it).
    `params` is used as one of the two buffers: it is overwritten.
    """
    m = x.shape[1]
    width = m if not chunk_size else min(chunk_size, m)
    ws = network.Workspace(arch, width, params.W[1].dtype)
    grads = network.zeros_like_params(params)
    cur, nxt = params, params.copy()
    with np.errstate(over="ignore", invalid="ignore"):  # divergence shows as a non-finite J, checked below
        return _loop(arch, cur, nxt, grads, ws, x, y, alpha, lam, epochs, start_epoch, tolerance, on_epoch)


def _loop(arch, cur, nxt, grads, ws, x, y, alpha, lam, epochs, start_epoch, tolerance, on_epoch) -> TrainResult:
    """The epoch loop of gradient_descent: cur holds θ_e, nxt receives θ_{e+1}, then they swap."""
    last: Optional[tuple[int, Cost]] = None
    for e in range(start_epoch, max(epochs, start_epoch) + 1):
        cost, _ = network.backprop(arch, cur, x, y, lam, ws, grads)
        if not math.isfinite(cost.J):
            raise Diverged(e, *(last if last else (None, None)), nxt if last else None)
        final = e >= epochs
        if on_epoch is not None and on_epoch(e, cost, cur, grads, final) and not final:
            return TrainResult(cur, e, cost, "stopped")
        if final:
            return TrainResult(cur, e, cost, "done")
        if tolerance and last is not None and abs(cost.J - last[1].J) < tolerance:
            return TrainResult(cur, e, cost, "converged")
        for l in cur.W:
            grads.W[l] *= alpha  # α ∂J/∂W⁽ˡ⁾
            np.subtract(cur.W[l], grads.W[l], out=nxt.W[l])  # W⁽ˡ⁾ ← W⁽ˡ⁾ − α ∂J/∂W⁽ˡ⁾
            grads.b[l] *= alpha
            np.subtract(cur.b[l], grads.b[l], out=nxt.b[l])  # b⁽ˡ⁾ ← b⁽ˡ⁾ − α ∂J/∂b⁽ˡ⁾
        cur, nxt = nxt, cur
        last = (e, cost)
    raise AssertionError("unreachable")  # the loop returns at e = epochs
