"""Seconds per epoch of `nettrain fit`, in process, beside its bare training step and hand-written loops.

    OPENBLAS_NUM_THREADS=1 python benchmarks/epoch.py [--only tiny small medium64] [--cycles 7] [--quick]

Everything runs in this one process, on one BLAS thread (run it with OPENBLAS_NUM_THREADS=1: the loops
then run as nettrain does), in cycles: every peer of a workload once a cycle, their order turning from
cycle to cycle, so that a slow spell of a shared machine hits both sides of a ratio. A ratio is the
median over the cycles of (nettrain's time ÷ the peer's time in the same cycle), with the lowest and
highest in brackets; below 1, nettrain is faster.

workloads (bench.py's): tiny (XOR, [2, 3, 1], m = 4, configs/xor.yaml), small (digits [64, 30, 10],
all 1,797 rows, λ = 1e-4), medium64 ([784, 128, 10], m = 10,000 random rows in a temporary .npz)

peers
    fit      trainer.fit into a run folder, as `nettrain fit` trains: a metrics.csv row every epoch,
             log.every = the epochs timed (rows with ‖∇J‖ at the first and the last), no
             checkpoint_every (last.npz at the start, the end, and every minute)
    fit+term the same with `nettrain fit`'s terminal display (render/fit.py's FitReporter: the live
             bar and the rows, drawn into a buffer as into a terminal)
    fit/log  the same at the shipped configs' cadence (xor: log.every 500, checkpoint_every 1000;
             small and medium: 200 and 500, as configs/digits.yaml)
    bare     train.minimize on the same arrays, no listener at all: the floor under fit
    numpy    bench.py's numpy loop: the math as written, temporaries everywhere, J every epoch
    lean     the same loop as a careful hand writes it for speed: buffers made once, in-place ufuncs,
             biases as columns, floating-point warnings silenced once outside the loop, J every epoch
    matmul   bench.py's matrix products of an epoch alone: the practical limit
    torch    (medium64, when installed) bench.py's PyTorch loop with manual gradients, one thread

fit, fit/log and bare are timed as (t(N epochs) − t(0 epochs)) / N, each 0-epoch run beside its
N-epoch run, so that reading the data, the run folder's first files and the set-up are left out;
the loops, which have no set-up, as t(N) / N after a warm-up.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (benchmarks/bench.py: the workloads, their data and the loops)

from nettrain import config as config_mod  # noqa: E402
from nettrain import parallel, train, trainer  # noqa: E402
from nettrain.network import Params  # noqa: E402
from nettrain.render.fit import FitReporter  # noqa: E402
from rich.console import Console  # noqa: E402

ROOT = bench.ROOT
EPOCHS = {"tiny": 20_000, "small": 1_000, "medium64": 20}  # per timed run: ~0.3–2 s each
CADENCE = {"tiny": (500, 1000), "small": (200, 500), "medium64": (200, 500)}  # fit/log: log.every, checkpoint_every
CONFIG = """name: epoch-{name}
seed: 0
data: {{path: {data}, {target}task: classification, standardize: {standardize}, split: {{train: 1.0, val: 0.0, test: 0.0}}}}
model: {{layers: {layers}, activation: sigmoid, output_activation: {out}, init: {{scheme: glorot_uniform}}}}
loss: cross_entropy
train: {{learning_rate: {alpha}, weight_decay: {lam}, epochs: 0, tolerance: 0}}
"""


def write_config(name: str, tmp: Path) -> Path:
    """The workload as a config file (medium64's random rows saved beside it as an .npz)."""
    w = bench.WORKLOADS[name]
    if name == "tiny":
        return ROOT / "configs" / "xor.yaml"
    if name == "small":
        data, target, standardize = ROOT / "data" / "digits.csv", "target: [label], ", "true"
    else:
        x, _, labels, _, _ = bench.make_problem(name)
        data, target, standardize = tmp / f"{name}.npz", "", "false"
        np.savez(data, X=np.ascontiguousarray(x.T), y=labels)
    path = tmp / f"{name}.yaml"
    path.write_text(CONFIG.format(name=name, data=data, target=target, standardize=standardize, layers=w["layers"],
                                  out=w["out"], alpha=w["alpha"], lam=w["lam"]))
    return path


def make_fit(name: str, tmp: Path, cadence: bool, terminal: bool = False):
    """fit(N): seconds of trainer.fit for N epochs into a new run folder (terminal: with `nettrain fit`'s live
    display, rendered into a buffer as into a terminal)."""
    path, runs = write_config(name, tmp), [0]
    every, ck = CADENCE[name]

    def fit(N: int) -> float:
        sets = [f"train.epochs={N}", f"log.every={every if cadence else max(N, 1)}",
                f"log.checkpoint_every={ck if cadence else 0}"]
        cfg = config_mod.load_config(path, sets)
        runs[0] += 1
        reporter = FitReporter(Console(file=io.StringIO(), force_terminal=True, width=120)) if terminal else None
        t = time.perf_counter()
        try:
            trainer.fit(cfg, out=tmp / f"run-{name}-{cadence:d}{terminal:d}-{runs[0]}", reporter=reporter)
        finally:
            if reporter is not None:
                reporter.stop()
        return time.perf_counter() - t

    return fit


def make_bare(name: str, x, y, W, b):
    """bare(N): seconds of train.minimize for N epochs, no on_step (the threads fit would pick)."""
    w = bench.WORKLOADS[name]
    arch = bench.workload_arch(name)
    params = Params({l + 1: v for l, v in enumerate(W)}, {l + 1: v for l, v in enumerate(b)})

    def bare(N: int) -> float:
        with parallel.for_training(arch, x.shape[1], None, x.dtype) as pool:
            t = time.perf_counter()
            train.minimize(arch, params, x, y, lam=w["lam"], optimizer="gd", epochs=N, pool=pool,
                           learning_rate=w["alpha"])
            return time.perf_counter() - t

    return bare


def make_lean(name: str, x, y, W, b):
    """The lean loop: J(θ) and one gradient step per call, every buffer made once (examples in columns)."""
    w = bench.WORKLOADS[name]
    alpha, lam, out = w["alpha"], w["lam"], w["out"]
    W = [v.copy() for v in W]
    b = [v.copy()[:, None] for v in b]
    m, L = x.shape[1], len(W)
    a = [x] + [np.empty((v.shape[0], m)) for v in W]
    d = [None] + [np.empty((v.shape[0], m)) for v in W]  # d[l]: δ of layer l + 1
    dW = [np.empty_like(v) for v in W]
    db = [np.empty_like(v) for v in b]

    def sigmoid(z):  # in place: 1 / (1 + e^(−z))
        np.negative(z, z)
        np.exp(z, z)
        z += 1.0
        np.divide(1.0, z, z)

    def epoch() -> float:
        for l in range(L):
            z = a[l + 1]
            np.dot(W[l], a[l], z)
            z += b[l]
            if l < L - 1:
                sigmoid(z)
            elif out == "sigmoid":  # J from the logits: Σ log(1 + e^z) − y z
                J = float(np.logaddexp(0.0, z).sum() - np.vdot(y, z))
                sigmoid(z)
            else:  # softmax: Σ log Σ_k e^(z_k − max) − y·(z − max)
                z -= z.max(axis=0)
                J = -float(np.vdot(y, z))
                np.exp(z, z)
                s = z.sum(axis=0)
                J += float(np.sum(np.log(s)))
                z /= s
        J /= m
        if lam:
            J += lam / 2 * sum(float(np.vdot(v, v)) for v in W)
        np.subtract(a[L], y, d[L])  # δ⁽ⁿˡ⁾ = h − y (cross-entropy with a matched output)
        for l in range(L - 1, -1, -1):  # W ← W − α(dW/m + λW) = (1 − αλ)W − (α/m)dW
            np.dot(d[l + 1], a[l].T, dW[l])
            np.add.reduce(d[l + 1], 1, None, db[l], True)
            if l > 0:  # δ⁽ˡ⁾ = W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾ · a(1 − a), with W⁽ˡ⁾ before its update
                np.dot(W[l].T, d[l + 1], d[l])
                d[l] *= a[l]
                np.subtract(1.0, a[l], a[l])
                d[l] *= a[l]
            if lam:
                W[l] *= 1.0 - alpha * lam
            dW[l] *= alpha / m
            W[l] -= dW[l]
            db[l] *= alpha / m
            b[l] -= db[l]
        return J

    with np.errstate(over="ignore"):
        c0, c1 = epoch(), epoch()

    def step(E: int) -> float:
        t = time.perf_counter()
        with np.errstate(over="ignore"):
            for _ in range(E):
                epoch()
        return time.perf_counter() - t

    return step, c0, c1


def timed_loop(step):
    def run(E: int) -> float:
        t = time.perf_counter()
        step(E)
        return time.perf_counter() - t

    return run


def peers(name: str, tmp: Path, with_torch: bool) -> dict:
    """{peer: (per_epoch(N) → seconds per epoch)}, every loop checked to compute the same J(θ₀), J(θ₁)."""
    x, y, _, W, b = bench.make_problem(name)
    step, c0, c1, _ = bench.make_numpy(name, x, y, W, b, 1)
    lean, l0, l1 = make_lean(name, x, y, W, b)
    assert np.isclose(l0, c0, rtol=1e-9) and np.isclose(l1, c1, rtol=1e-9), (name, l0, c0, l1, c1)
    fit, fitlog, bare = make_fit(name, tmp, False), make_fit(name, tmp, True), make_bare(name, x, y, W, b)
    fitterm = make_fit(name, tmp, False, terminal=True)
    matmul = bench.make_matmul(name, x, y, W, b, 1)[0]

    def minus_zero(f):  # (t(N) − t(0)) / N, the 0-epoch run next to the N-epoch one
        return lambda N: (f(N) - f(0)) / N

    out = {"fit": minus_zero(fit), "fit/log": minus_zero(fitlog), "fit+term": minus_zero(fitterm),
           "bare": minus_zero(bare),
           "numpy": lambda N: timed_loop(step)(N) / N, "lean": lambda N: lean(N) / N,
           "matmul": lambda N: timed_loop(matmul)(N) / N}
    if with_torch:
        try:
            tstep, t0, t1, _ = bench.make_torch(name, x, y, W, b, 1)
        except ImportError:
            pass
        else:
            assert np.isclose(t0, c0, rtol=1e-7) and np.isclose(t1, c1, rtol=1e-7), (name, t0, c0, t1, c1)
            out["torch"] = lambda N: timed_loop(tstep)(N) / N
    fit(1), fitlog(1), fitterm(1), bare(1)  # warm-up: imports, caches
    return out


def measure(name: str, cycles: int, quick: bool) -> dict:
    N = max(1, EPOCHS[name] // (5 if quick else 1))
    with tempfile.TemporaryDirectory() as tmp:
        ps = peers(name, Path(tmp), with_torch=name == "medium64")
        names = list(ps)
        for p in names:  # one untimed run each
            ps[p](max(1, N // 10))
        times: dict[str, list[float]] = {p: [] for p in names}
        for k in range(cycles):
            for p in names[k % len(names):] + names[: k % len(names)]:
                times[p].append(ps[p](N))
            print(f"{name} cycle {k + 1}: " + ", ".join(f"{p} {bench._fmt(times[p][-1])}" for p in names),
                  file=sys.stderr, flush=True)
    return {"workload": name, "epochs": N, "cycles": cycles, "times": times}


def ratio(res: dict, a: str, b: str) -> str:
    t = res["times"]
    if a not in t or b not in t:
        return "—"
    r = [x / y for x, y in zip(t[a], t[b])]
    return f"{statistics.median(r):.2f}× [{min(r):.2f}, {max(r):.2f}]"


def table(results: list[dict]) -> str:
    cols = ["fit", "fit/log", "fit+term", "bare", "numpy", "lean", "matmul", "torch"]
    lines = ["Seconds per epoch, median of the cycles [lowest, highest]:", "",
             "| workload | epochs × cycles | " + " | ".join(cols) + " |", "|---|---" + "|---" * len(cols) + "|"]
    for r in results:
        t = r["times"]
        cells = [("—" if c not in t else f"{bench._fmt(statistics.median(t[c]))} "
                  f"[{bench._fmt(min(t[c]))}, {bench._fmt(max(t[c]))}]") for c in cols]
        lines.append(f"| {r['workload']} | {r['epochs']} × {r['cycles']} | " + " | ".join(cells) + " |")
    pairs = [("fit", "bare"), ("fit", "numpy"), ("fit", "lean"), ("fit", "matmul"), ("fit/log", "lean"),
             ("fit+term", "lean"),
             ("bare", "lean"), ("fit", "torch")]
    lines += ["", "Ratios, nettrain ÷ peer in the same cycle (below 1: nettrain is faster), median [lowest, highest]:",
              "", "| workload | " + " | ".join(f"{a} ÷ {b}" for a, b in pairs) + " |", "|---" * (len(pairs) + 1) + "|"]
    for r in results:
        lines.append(f"| {r['workload']} | " + " | ".join(ratio(r, a, b) for a, b in pairs) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=list(EPOCHS), choices=list(EPOCHS))
    ap.add_argument("--cycles", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="a fifth of the epochs")
    a = ap.parse_args()
    results = [measure(name, a.cycles, a.quick) for name in a.only]
    print(bench.machine_line(bench.machine()))
    print()
    print(table(results))


if __name__ == "__main__":
    main()
