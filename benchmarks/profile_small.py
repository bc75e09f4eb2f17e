"""Where an epoch of the small workload goes: each step of sums.Backprop, timed in place and alone.

    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_small.py [--epochs 3000] [--widths 1797 899 600 450]

Runs the steps of one Backprop call ([64, 30, 10] sigmoid/softmax, cross-entropy, the 1,797 digits,
one chunk) on Backprop's own buffers: "in place" is each step's mean time inside a sequence of whole
epochs (a clock read between steps), "alone" the best mean of the step repeated by itself with its
data hot in cache. The gap is the cost of the epoch's working set (about 2.9 MB against a 2 MiB L2
here). --widths also times the whole call with the examples summed in chunks of those widths
(train.chunk_size). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (benchmarks/bench.py: the workloads and their data)

from nettrain import network, sums  # noqa: E402
from nettrain.network import Architecture, Params  # noqa: E402


def best_mean(fn, calls: int = 500, repeats: int = 5) -> float:
    """The best over `repeats` of the mean time of `calls` calls of fn()."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3000)
    ap.add_argument("--widths", type=int, nargs="*", default=[], help="chunk widths to time the whole call at")
    a = ap.parse_args()
    x, y, _, W, b = bench.make_problem("small")
    arch = Architecture((64, 30, 10), "sigmoid", "softmax", "cross_entropy")
    theta0 = network.copy_params(network.flat_params(arch.layers), Params({1: W[0], 2: W[1]}, {1: b[0], 2: b[1]}))
    bp = sums.Backprop(arch, x, y, 1e-4)
    bp(theta0)
    c = bp.chunks[0]
    _, theta, WT = bp.resolve(theta0)
    f, fprime, step = arch.f.loop_f, arch.f.fprime, bp._k.step
    g, lam, Wl = bp.g, bp.lam, theta0.params.W
    steps = [
        ("z⁽²⁾ = Θ⁽¹⁾[1; x]           (product)", lambda: np.dot(theta[1], c.aug[1], c.z[2])),
        ("a⁽²⁾ = σ(z⁽²⁾)", lambda: f(c.z[2], c.a[2])),
        ("z⁽³⁾ = Θ⁽²⁾[1; a⁽²⁾]        (product)", lambda: np.dot(theta[2], c.aug[2], c.z[3])),
        ("softmax, J, δ⁽³⁾ = a − y", lambda: step(c.z[3], c.a[3], c.y, c.ysum, c.delta[3], c.scratch)),
        ("Σ δ⁽³⁾[1; a⁽²⁾]ᵀ             (product)", lambda: np.dot(c.delta[3], c.augT[2], c.dtheta[2])),
        ("W⁽²⁾ᵀ δ⁽³⁾                   (product)", lambda: np.dot(WT[2], c.delta[3], c.delta[2])),
        ("δ⁽²⁾ ·= f′(z⁽²⁾)", lambda: np.multiply(c.delta[2], fprime(c.z[2], c.a[2], c.fp[2]), c.delta[2])),
        ("Σ δ⁽²⁾[1; x]ᵀ                (product)", lambda: np.dot(c.delta[2], c.augT[1], c.dtheta[1])),
        ("÷ m, + λW, J_reg                (finish)", lambda: network.finish(0.0, g, bp.m, lam, theta0, g, bp._decay)),
    ]
    clock = time.perf_counter
    in_place = np.zeros(len(steps))
    with np.errstate(over="ignore", invalid="ignore"):
        for e in range(a.epochs + 100):
            t = [clock()]
            for _, fn in steps:
                fn()
                t.append(clock())
            if e >= 100:  # warm-up
                in_place += np.diff(t)
        in_place /= a.epochs
        alone = [best_mean(fn) for _, fn in steps]
        whole = best_mean(lambda: bp(theta0))
    print(f"{'step':40s} {'in place':>10s} {'alone':>10s}")
    for (name, _), p, s in zip(steps, in_place, alone):
        print(f"{name:40s} {p * 1e6:8.1f} µs {s * 1e6:8.1f} µs")
    products = sum(p for (name, _), p in zip(steps, in_place) if "product" in name)
    print(f"{'sum':40s} {in_place.sum() * 1e6:8.1f} µs {sum(alone) * 1e6:8.1f} µs   (products in place: "
          f"{products * 1e6:.0f} µs)")
    # multiply-adds: Θ⁽ˡ⁾[1; a⁽ˡ⁾] and Σ δ⁽ˡ⁺¹⁾[1; a⁽ˡ⁾]ᵀ for every layer, W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾ above the first
    flops = 2 * bp.m * sum(2 * theta[l].size + (Wl[l].size if l > 1 else 0) for l in range(1, len(theta)))
    n = 1000
    sq = np.ones((n, n))
    peak = 2 * n**3 / best_mean(lambda: np.dot(sq, sq), calls=3, repeats=3)
    print(f"products: {flops / products / 1e9:.1f} GFLOP/s in place, against {peak / 1e9:.1f} GFLOP/s for "
          f"{n} × {n} (this core's dgemm peak): {flops / products / peak:.0%} of it")
    print(f"Backprop call (the whole epoch but the update): {whole * 1e6:.1f} µs")
    with np.errstate(over="ignore", invalid="ignore"):
        for w in a.widths:
            bw = sums.Backprop(arch, x, y, 1e-4, np.float64, w)
            best = best_mean(lambda: bw(theta0))
            print(f"chunks of {w} examples ({len(bw.chunks)} chunks): {best * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
