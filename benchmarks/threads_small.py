"""Threads on the small workload: one thread, two BLAS threads, two chunk threads — idle and under load.

    python benchmarks/threads_small.py [--rounds 10] [--busy]

Backprop on small (digits [64, 30, 10], the bench.py workload) set up once per variant, then timed
in 200-epoch blocks, the variants alternating, for --rounds rounds; prints each variant's median
and best µs per epoch. --busy keeps another process spinning on one core meanwhile (as when
two programs share a 2-core machine). This is the measurement behind train.blas_threads leaving
small problems on one thread, and behind `train.threads: 2` as the opt-in. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (benchmarks/bench.py: the workloads and their data)

from nettrain import network, parallel, sums  # noqa: E402
from nettrain.network import Architecture, Params  # noqa: E402

EPOCHS = 200


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--busy", action="store_true", help="keep another process busy on one core meanwhile")
    a = ap.parse_args()
    x, y, _, W, b = bench.make_problem("small")
    arch = Architecture((64, 30, 10), "sigmoid", "softmax", "cross_entropy")
    theta = network.copy_params(network.flat_params(arch.layers), Params({1: W[0], 2: W[1]}, {1: b[0], 2: b[1]}))
    half = -(-x.shape[1] // 2)
    variants = {  # name: (chunk width, pool size, BLAS threads)
        "one thread": (None, 1, 1),
        "two BLAS threads": (None, 1, 2),
        "two chunk threads": (half, 2, 1),
        "two chunks, one thread": (half, 1, 1),
    }
    setups = {}
    for name, (width, workers, _) in variants.items():
        pool = parallel.Pool(workers) if workers > 1 else None
        setups[name] = sums.Backprop(arch, x, y, 1e-4, np.float64, width, pool)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if a.busy else None
    times: dict[str, list[float]] = {name: [] for name in variants}
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(a.rounds):
                for name, bp in setups.items():
                    with parallel.blas_limited(variants[name][2]):
                        bp(theta)
                        t = time.perf_counter()
                        for _ in range(EPOCHS):
                            bp(theta)
                        times[name].append((time.perf_counter() - t) / EPOCHS)
    finally:
        if busy is not None:
            busy.kill()
        for bp in setups.values():
            if bp.pool is not None:
                bp.pool.close()
    print(f"small, µs per epoch over {a.rounds} rounds of {EPOCHS} epochs" + (" (another process busy)" if a.busy else ""))
    for name, ts in times.items():
        print(f"  {name:24s} median {statistics.median(ts) * 1e6:8.1f}   best {min(ts) * 1e6:8.1f}")


if __name__ == "__main__":
    main()
