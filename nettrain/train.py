"""Training on arrays: the objective over the train split, an optimizer, and the size policy.

    minimize(...)     J over x, y (sums.Backprop → objective.Objective), driven by one optimizer
                      from optimizers/ from θ_start to θ_epochs; on_step sees every epoch's state

Epoch e names the state after e epochs: its cost J(θ_e) is reported before the next update, and the
final state θ_epochs is reported too, without an update after it, so whatever a caller saves for
epoch e (a metrics row, a checkpoint) describes the same weights.

Speed (benchmarks/ measures it): the gradient is sums.Backprop, set up once per run; the
parameters live in flat vectors (network.flat_params), so that an update is a few numpy calls;
floating-point warnings are silenced once around the loop; the examples are summed chunk by chunk
(`chunk_size`, automatic by default: chunk_width) and, on a problem big enough to pay for it
(blas_threads), the chunks are shared out between threads — one per core — by the pool that
parallel.for_training makes. Those threads never change a bit of the result: the chunk sums are
always added in chunk order, each chunk's products on one BLAS thread. Only `chunk_size` changes
the rounding, and the automatic one depends on the problem alone, not on the machine. (BLAS
threads — a single chunk run with train.threads > 1, or a big problem with m < 2·MIN_CHUNK — may
change the last bit of a product: OpenBLAS splits the work differently. Such a run repeats bit for
bit with the same thread count.)

Left out on purpose: files, terminal output and signals. The caller (trainer.py) decides what to do
with each epoch through `on_step`, which may return True to stop.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from . import network, optimizers, sums
from .network import Architecture, Params
from .objective import Objective
from .optimizers import Result, Step


# Below this many multiply-adds per epoch a second thread costs more in hand-offs than it saves; above
# it the examples are split between the cores (the measurements: benchmarks/README.md, "Where the
# code's constants come from").
PARALLEL_MIN_FLOPS = 20_000_000
# Chunks: an automatic chunk holds about this many bytes of z, a and δ (measured best: benchmarks/
# README.md), never fewer than MIN_CHUNK examples (the products Σᵢ δaᵀ need long sums to run at BLAS speed).
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

    Threads pay only when each has enough work between hand-offs (a thread's wake-up costs tens of µs,
    and two BLAS threads on a small problem collapse when another process keeps the second core busy:
    benchmarks/README.md). parallel.for_training applies it: the threads take a chunk each when there
    are several, else BLAS gets them. A minibatch run is sized by its batch: m = batch_size.
    """
    if epoch_flops(arch, m) < PARALLEL_MIN_FLOPS:
        return 1
    return max(1, int(cores))


def minimize(
    arch: Architecture,
    params: Params,
    x: Any,
    y: np.ndarray,
    *,
    lam: float,
    optimizer: "str | optimizers.Optimizer" = "gd",
    epochs: int = 1000,
    start_epoch: int = 0,
    tolerance: float = 0.0,
    chunk_size: Optional[int] = None,
    on_step: Optional[Callable[[Step], Optional[bool]]] = None,
    pool: Any = None,
    batch_size: Optional[int] = None,
    rng: Optional[np.random.Generator] = None,
    sparsity: Optional[network.Sparsity] = None,
    source: Any = None,
    cost_at: Optional[Callable[[int], bool]] = None,
    grad_at: Optional[Callable[[int], bool]] = None,
    **hyper: Any,
) -> Result:
    """Train on x (s_1, m), y (s_nl, m) from θ_start_epoch = params to θ_epochs with one optimizer.

    The objective is J over all of x (sums.Backprop: chunks of chunk_width, the pool's threads,
    which change no bit); batch_size N: minibatch steps over permutations drawn from `rng`. hyper:
    the optimizer's train.* keys (learning_rate, momentum, beta1, beta2, epsilon, memory), or an
    optimizer instance made with them (one that continues a checkpoint's state: Optimizer.load_state).
    sparsity: (ρ, β) of a sparsity penalty, a term of the objective (objective.py; over a minibatch, ρ̂
    is the batch's). source: the train split's sums from elsewhere instead of a Backprop over x, y (a
    cluster's partitions, cluster.session.ClusterSums; x and y are then not read; full batch only).
    cost_at(e): whether a minibatch run computes J over the train split after epoch e (None: every
    epoch; the first and the last always; Step.cost is None for the others); full batch has it anyway.
    grad_at(e): whether ∇J over the train split will be asked for at epoch e (a minibatch run then
    computes it with J, in one pass).
    on_step(step) sees every epoch's state and may return True to stop. `params` is copied, never
    changed. A non-finite J raises errors.Diverged, which carries the last finite state.
    """
    dtype = params.W[1].dtype
    theta = network.copy_params(network.flat_params(arch.layers, dtype), params)
    opt = optimizers.make(optimizer, **hyper) if isinstance(optimizer, str) else optimizer
    if source is not None and batch_size is not None and opt.minibatches:
        raise ValueError("minibatch steps need the rows in this process: give batch_size=None with a source")
    if source is None:
        source = sums.Backprop(arch, x, y, 0.0, dtype, chunk_width(arch, int(x.shape[1]), chunk_size, dtype), pool)
    # divergence shows as a non-finite J, checked every step: overflow and NaN are silenced once
    # here instead of on every call (errstate is per thread: the pool's helpers take the caller's)
    with np.errstate(over="ignore", invalid="ignore"):
        fit = optimizers.Fitting(Objective(source, lam, sparsity), theta, tolerance=tolerance, cost_at=cost_at,
                                 grad_at=grad_at)
        if batch_size is not None and opt.minibatches:
            # batches are gathered from rows in memory: a split read from disk is read whole here, once
            X = x.T if isinstance(x, np.ndarray) else np.asarray(x[:, 0 : x.shape[1]]).T
            Y = y if isinstance(y, np.ndarray) else y[:, 0 : y.shape[1]]
            fit.batches = Objective(sums.BatchSums(arch, X, Y, batch_size, dtype), lam, sparsity, with_reg=False)
            fit.rng = rng if rng is not None else np.random.default_rng(0)
        emit = on_step if on_step is not None else (lambda step: False)
        result = opt.run(fit, start_epoch, epochs, emit)
    result.state = opt.state()
    return result
