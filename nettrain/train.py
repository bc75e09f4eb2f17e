"""Batch gradient descent: the epoch loop, and nothing else.

    repeat for e = 0, 1, …, epochs − 1:
        J(θ_e), ∇J(θ_e) = backprop(θ_e)        (over the whole train split: full batch)
        W⁽ˡ⁾ ← W⁽ˡ⁾ − α ∂J/∂W⁽ˡ⁾,   b⁽ˡ⁾ ← b⁽ˡ⁾ − α ∂J/∂b⁽ˡ⁾

Epoch e names the state after e updates: its cost J(θ_e) is the one computed at the start of
iteration e; the final state θ_epochs gets the same computation, without an update after it. A report callback
sees every epoch's state before it is updated, so whatever it saves for epoch e (a metrics row,
a checkpoint) describes the same weights.

Speed (benchmarks/ measures it): the gradient is network.Backprop, set up once per run; the
parameters live in two flat vectors (network.flat_params), so that an update is two numpy calls;
floating-point warnings are silenced once around the loop; the examples are summed chunk by chunk
(`chunk_size`, automatic by default: chunk_width) and, on a problem big enough to pay for it
(blas_threads), the chunks are shared out between threads — one per core — by the pool that
parallel.for_training makes. Those threads never change a bit of the result: the chunk sums are
always added in chunk order, each chunk's products on one BLAS thread. Only `chunk_size` changes
the rounding, and the automatic one depends on the problem alone, not on the machine. (BLAS
threads — a single chunk run with train.threads > 1, or a big problem with m < 2·MIN_CHUNK — may
change the last bit of a product: OpenBLAS splits the work differently. Such a run repeats bit for
bit with the same thread count.)

Left out on purpose: files, terminal output and signals. The caller (runs.py) decides what to do
with each epoch through `on_epoch`, which may return True to stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

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


# Measured on a 2-core Xeon VM (benchmarks/README.md): below about this many multiply-adds per
# epoch a second thread costs more in hand-offs than it saves — digits [64, 30, 10] at 12 M gains
# 6 % from two BLAS threads and loses 15 % from two chunk threads, [64, 64, 10] at 57 M gains 15 %
# either way, [784, 128, 10] at 3 G gains 1.8×. Above it the examples are split between the cores.
PARALLEL_MIN_FLOPS = 20_000_000
# Chunks: an automatic chunk holds about this many bytes of z, a and δ (medium [784, 128, 10]:
# 2,500 float64 examples, which measured best single-threaded too: 68 ms against 73 ms unchunked),
# never fewer than MIN_CHUNK examples (the products Σᵢ δaᵀ need long sums to run at BLAS speed).
CHUNK_BYTES = 8 << 20
MIN_CHUNK = 128


def epoch_flops(arch: Architecture, m: int) -> int:
    """Multiply-adds of the matrix products in one epoch: 3·m·Σₗ s_l·s_{l+1} (forward, Σδaᵀ, Wᵀδ)."""
    s = arch.layers
    return 3 * m * sum(s[l] * s[l - 1] for l in range(1, len(s)))


def chunk_width(arch: Architecture, m: int, chunk_size: Optional[int] = None, dtype: Any = np.float64) -> int:
    """Examples per chunk: chunk_size when given, else automatic from the problem size alone.

    Automatic: the whole batch when it is small (one chunk: no per-chunk overhead); otherwise equal
    chunks of about CHUNK_BYTES of activations, at least MIN_CHUNK wide, and at least two of them
    once the problem is big enough for two threads (so that every core has a chunk). It depends on
    the architecture, m and dtype only — not on the machine — so a run resumed elsewhere sums its
    examples in the same chunks.
    """
    if m < 1:
        return 1
    if chunk_size:
        return max(1, min(int(chunk_size), m))
    if epoch_flops(arch, m) < PARALLEL_MIN_FLOPS or m < 2 * MIN_CHUNK:
        return m
    per_example = 3 * sum(arch.layers[1:]) * np.dtype(dtype).itemsize  # z, a, δ of one column
    n = max(2, -(-m * per_example // CHUNK_BYTES))
    n += n % 2  # an even count keeps two threads equally busy
    return max(MIN_CHUNK, -(-m // n))


def blas_threads(arch: Architecture, m: int, cores: int) -> int:
    """Threads to train with: 1 below PARALLEL_MIN_FLOPS multiply-adds per epoch, else `cores`.

    Threads pay only when each has enough work between hand-offs: a thread waking on this kind of
    VM costs tens of µs, and two BLAS threads on a small problem collapse when another process
    keeps the second core busy (digits fit: 2.0 s → 8.2 s). parallel.for_training applies it: the
    threads take a chunk each when there are several, else BLAS gets them.
    """
    if epoch_flops(arch, m) < PARALLEL_MIN_FLOPS:
        return 1
    return max(1, int(cores))


def gradient_descent(
    arch: Architecture,
    params: Params,
    x: Any,
    y: np.ndarray,
    alpha: float,
    lam: float,
    epochs: int,
    start_epoch: int = 0,
    tolerance: float = 0.0,
    chunk_size: Optional[int] = None,
    on_epoch: Optional[OnEpoch] = None,
    pool: Any = None,
) -> TrainResult:
    """Full-batch gradient descent from θ_start_epoch = params to θ_epochs, x (s_1, m), y (s_nl, m).

    Two parameter buffers alternate: θ_{e+1} = θ_e − α∇J is written into the other one, so the
    previous state is still whole if the new cost turns out non-finite (Diverged carries it).
    `params` is copied into the first buffer; the result's params are views of one of them.
    x may be an array or a column source read chunk by chunk (see network.Backprop).
    pool: threads to share the chunks (parallel.for_training makes it); the result is the same
    bit for bit with or without.
    """
    dtype = params.W[1].dtype
    width = chunk_width(arch, int(x.shape[1]), chunk_size, dtype)
    theta = [network.copy_params(network.flat_params(arch.layers, dtype), params),
             network.flat_params(arch.layers, dtype)]
    # divergence shows as a non-finite J, checked every epoch: overflow and NaN are silenced once
    # here instead of on every call (errstate is per thread: the pool's helpers take the caller's)
    with np.errstate(over="ignore", invalid="ignore"), network.Backprop(arch, x, y, lam, dtype, width, pool) as bp:
        return _loop(bp, theta, float(alpha), epochs, start_epoch, tolerance, on_epoch)


def _loop(bp, theta, alpha, epochs, start_epoch, tolerance, on_epoch) -> TrainResult:
    """The epoch loop of gradient_descent: cur holds θ_e, nxt receives θ_{e+1}, then they swap."""
    cur, nxt = theta  # FlatParams: .vec the whole vector, .params the W⁽ˡ⁾, b⁽ˡ⁾ views
    g, grads = bp.g, bp.grads
    multiply, subtract, isfinite = np.multiply, np.subtract, math.isfinite
    last: Optional[tuple[int, Cost]] = None
    for e in range(start_epoch, max(epochs, start_epoch) + 1):
        cost = bp(cur)  # J(θ_e); ∇J(θ_e) into grads
        if not isfinite(cost.J):
            raise Diverged(e, *(last if last else (None, None)), nxt.params if last else None)
        final = e >= epochs
        if on_epoch is not None and on_epoch(e, cost, cur.params, grads, final) and not final:
            return TrainResult(cur.params, e, cost, "stopped")
        if final:
            return TrainResult(cur.params, e, cost, "done")
        if tolerance and last is not None and abs(cost.J - last[1].J) < tolerance:
            return TrainResult(cur.params, e, cost, "converged")
        multiply(g, alpha, g)  # α ∂J/∂θ, every W⁽ˡ⁾ and b⁽ˡ⁾ at once
        subtract(cur.vec, g, nxt.vec)  # W⁽ˡ⁾ ← W⁽ˡ⁾ − α ∂J/∂W⁽ˡ⁾,  b⁽ˡ⁾ ← b⁽ˡ⁾ − α ∂J/∂b⁽ˡ⁾
        cur, nxt = nxt, cur
        last = (e, cost)
    raise AssertionError("unreachable")  # the loop returns at e = epochs
