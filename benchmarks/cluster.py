"""Per-step time of the cluster path (nettrain.cluster on a LocalCluster) against the same config in process.

    python benchmarks/cluster.py [--steps 10] [--workers 2] [--only medium|large]

medium: [784, 128, 10], m = 10,000, float64; large: [784, 512, 256, 10], m = 60,000, float32. Random data is
written to a .npy file in a temporary folder; the train split is all of it; the config is the same for both
paths (sigmoid → softmax, cross-entropy, λ = 1e-4, partitions: 2 per worker). A step is one J and ∇J over the
whole train split (what every full-batch optimizer asks for per step):

    in process   objective.Objective(sums.Backprop) with parallel.for_training's threads (one per core)
    cluster      objective.Objective(cluster.session.ClusterSums): θ scattered, one task per partition,
                 the partitions' sums gathered and added on the client

Also reported, for the scaling table in docs/cluster.md: one partition's compute time on one thread (the
sums of m/partitions rows, no Dask), and θ's size in bytes. The first step of each path (buffers, the workers
reading their rows) is not timed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nettrain import config as config_mod  # noqa: E402
from nettrain import network, parallel, sums, train  # noqa: E402
from nettrain.problem import initial_params, load_problem  # noqa: E402
from nettrain.cluster import partitions as pt  # noqa: E402
from nettrain.objective import Objective  # noqa: E402

PROBLEMS = {"medium": ([784, 128, 10], 10_000, "float64"), "large": ([784, 512, 256, 10], 60_000, "float32")}


def write_data(folder: Path, n: int, m: int, k: int) -> Path:
    rng = np.random.default_rng(0)
    rows = np.empty((m, n + 1), np.float32)
    rows[:, :n] = rng.random((m, n), dtype=np.float32)
    rows[:, n] = rng.integers(0, k, m)
    path = folder / f"rows-{n}-{m}.npy"
    np.save(path, rows)
    return path


def make_config(path: Path, layers: list, dtype: str, workers: int) -> config_mod.Config:
    return config_mod.config_from_dict({
        "name": "bench", "data": {"path": str(path), "split": {"train": 1.0}},
        "model": {"layers": layers, "output_activation": "softmax"}, "loss": "cross_entropy",
        "train": {"optimizer": "gd", "weight_decay": 1e-4, "dtype": dtype},
        "cluster": {"address": "local", "workers": workers},
    })


def time_steps(obj: Objective, theta: network.FlatParams, steps: int) -> list[float]:
    g = np.empty_like(theta.vec)
    obj(theta, g)  # not timed: first touch of every buffer; on the cluster, the partitions being read
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        obj(theta, g)
        times.append(time.perf_counter() - t0)
    return times


def in_process(cfg: config_mod.Config, steps: int) -> tuple[list[float], float]:
    local = config_mod.config_from_dict(config_mod.config_to_dict(cfg), overrides={"cluster": None})
    problem = load_problem(local)
    x, y = problem.columns("train")
    arch, dtype, m = problem.arch, problem.dtype, x.shape[1]
    theta = network.copy_params(network.flat_params(arch.layers, dtype), initial_params(local, arch, dtype))
    with np.errstate(over="ignore", invalid="ignore"):
        with parallel.for_training(arch, m, None, dtype) as pool:
            bp = sums.Backprop(arch, x, y, 0.0, dtype, train.chunk_width(arch, m, None, dtype), pool)
            times = time_steps(Objective(bp, 1e-4), theta, steps)
        # one partition's sums on one thread, no Dask: the compute a worker does per step
        P = 2 * cfg.cluster.workers
        s, e = pt.bounds(m, P)[0]
        with parallel.blas_limited(1):
            part = sums.Backprop(arch, np.ascontiguousarray(x[:, s:e]), np.ascontiguousarray(y[:, s:e]), 0.0, dtype)
            part_times = time_steps(Objective(part, 1e-4), theta, steps)
    return times, statistics.median(part_times)


def on_cluster(cfg: config_mod.Config, steps: int) -> list[float]:
    from nettrain.cluster.session import Session

    with Session.open(cfg.cluster) as session:
        problem = load_problem(cfg, session=session)
        source = problem.sums("train")
        arch, dtype = problem.arch, problem.dtype
        theta = network.copy_params(network.flat_params(arch.layers, dtype), initial_params(cfg, arch, dtype))
        with np.errstate(over="ignore", invalid="ignore"):
            return time_steps(Objective(source, 1e-4), theta, steps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", choices=sorted(PROBLEMS))
    args = ap.parse_args()
    print(f"{'problem':<8} {'in process':>12} {'cluster':>12} {'ratio':>7} {'1 partition, 1 thread':>22} {'θ bytes':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (layers, m, dtype) in PROBLEMS.items():
            if args.only and name != args.only:
                continue
            cfg = make_config(write_data(Path(tmp), layers[0], m, layers[-1]), layers, dtype, args.workers)
            here, part = in_process(cfg, args.steps)
            there = on_cluster(cfg, args.steps)
            a, b = statistics.median(here), statistics.median(there)
            n_params = sum(layers[l] * (layers[l - 1] + 1) for l in range(1, len(layers)))
            print(f"{name:<8} {a * 1e3:>10.1f}ms {b * 1e3:>10.1f}ms {b / a:>6.2f}× {part * 1e3:>20.1f}ms "
                  f"{n_params * np.dtype(dtype).itemsize:>10,}", flush=True)


if __name__ == "__main__":
    main()
