"""Seconds per epoch of `nettrain fit`, in process, beside its bare training step and hand-written loops.

    OPENBLAS_NUM_THREADS=1 python benchmarks/epoch.py [--only tiny small medium64] [--cycles 7] [--quick]

Everything runs in this one process, on one BLAS thread (threadpoolctl holds BLAS to one; run it with
OPENBLAS_NUM_THREADS=1 too), in cycles: every peer of a workload once a cycle, their order turning from
cycle to cycle, so that a slow spell of a shared machine hits both sides of a ratio. Each cycle records
the CPU other processes used meanwhile; the tables keep the clean cycles (at most --max-others core),
or all of them, saying so, when fewer than three were clean. A ratio is the median over the kept
cycles of (nettrain's time ÷ the peer's time in the same cycle), with the lowest and highest in
brackets; below 1, nettrain is faster. Results also go to benchmarks/results/ (JSON and Markdown).

workloads (bench.py's): tiny (XOR, [2, 3, 1], m = 4, configs/xor.yaml), small (digits [64, 30, 10],
all 1,797 rows, λ = 1e-4), medium64 ([784, 128, 10], m = 10,000 random rows in a temporary .npz), each
a config; every peer starts from the data and the initial weights trainer.fit makes of it.

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
import importlib.util
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CALLGRIND_SLOWDOWN = 50.0  # about how much slower a process runs under callgrind
if "--count-worker" in sys.argv:  # under callgrind: its clocks slowed as much, before nettrain binds them, so that
    _start, _monotonic = time.monotonic(), time.monotonic  # the listeners' clocks fire as often an epoch as
    time.monotonic = lambda: _start + (_monotonic() - _start) / CALLGRIND_SLOWDOWN  # at full speed

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (benchmarks/bench.py: the workloads, their data and the loops)

from nettrain import config as config_mod  # noqa: E402
from nettrain import parallel, train, trainer  # noqa: E402
from nettrain.network import Params  # noqa: E402
from nettrain.problem import initial_params, load_problem  # noqa: E402
from nettrain.render.fit import FitReporter  # noqa: E402
from rich.console import Console  # noqa: E402

ROOT = bench.ROOT
RESULTS = bench.RESULTS
EPOCHS = {"tiny": 20_000, "small": 1_000, "medium64": 30}  # per timed run: ~0.3–3 s each
CADENCE = {"tiny": (500, 1000), "small": (200, 500), "medium64": (200, 500)}  # fit/log: log.every, checkpoint_every
CONFIG = """name: epoch-{name}
seed: 0
data: {{path: {data}, {target}task: classification, standardize: {standardize},
       split: {{train: 1.0, val: 0.0, test: 0.0}}}}
model: {{layers: {layers}, activation: sigmoid, output_activation: {out}, init: {{scheme: glorot_uniform}}}}
loss: cross_entropy
train: {{learning_rate: {alpha}, weight_decay: {lam}, epochs: 0, tolerance: 0}}
"""


def write_config(name: str, tmp: Path) -> Path:
    """The workload as a config file (medium64's random rows saved beside it as an .npz)."""
    w = bench.WORKLOADS[name]
    path = tmp / f"{name}.yaml"
    if path.exists():
        return path
    if name == "tiny":
        return ROOT / "configs" / "xor.yaml"
    if name == "small":
        data, target, standardize = ROOT / "data" / "digits.csv", "target: [label], ", "true"
    else:
        x, _, labels, _, _ = bench.make_problem(name)
        data, target, standardize = tmp / f"{name}.npz", "", "false"
        np.savez(data, X=np.ascontiguousarray(x.T), y=labels)
    path.write_text(CONFIG.format(name=name, data=data, target=target, standardize=standardize, layers=w["layers"],
                                  out=w["out"], alpha=w["alpha"], lam=w["lam"]))
    return path


def problem_of(path: Path) -> tuple:
    """x (s_1, m), y (s_nl, m) and θ₀ as lists of W⁽ˡ⁾, b⁽ˡ⁾, exactly as trainer.fit starts the config: every peer
    follows the same path (a different one could meet other special values, e.g. exp overflowing, at another
    cost)."""
    cfg = config_mod.load_config(path)
    problem = load_problem(cfg)
    x, y = problem.columns("train")
    p = initial_params(cfg, problem.arch, problem.dtype, np.random.default_rng(cfg.seed))
    return x, y, [p.W[l] for l in sorted(p.W)], [p.b[l] for l in sorted(p.b)]


def make_fit(name: str, tmp: Path, cadence: bool, terminal: bool = False):
    """fit(N): seconds of trainer.fit for N epochs into a new run folder (terminal: with `nettrain fit`'s live
    display, rendered into a buffer as into a terminal)."""
    path, runs = write_config(name, tmp), [0]
    every, ck = CADENCE[name]

    def fit(N: int) -> np.ndarray:
        sets = [f"train.epochs={N}", f"log.every={every if cadence else max(N, 1)}",
                f"log.checkpoint_every={ck if cadence else 0}"]
        cfg = config_mod.load_config(path, sets)
        runs[0] += 1
        reporter = FitReporter(Console(file=io.StringIO(), force_terminal=True, width=120)) if terminal else None
        t = now()
        try:
            trainer.fit(cfg, out=tmp / f"run-{name}-{cadence:d}{terminal:d}-{runs[0]}", reporter=reporter)
        finally:
            if reporter is not None:
                reporter.stop()
        return now() - t

    return fit


def make_bare(name: str, x, y, W, b):
    """bare(N): seconds of train.minimize for N epochs, no on_step (the threads fit would pick)."""
    w = bench.WORKLOADS[name]
    arch = bench.workload_arch(name)
    params = Params({l + 1: v for l, v in enumerate(W)}, {l + 1: v for l, v in enumerate(b)})

    def bare(N: int) -> np.ndarray:
        with parallel.for_training(arch, x.shape[1], None, x.dtype) as pool:
            t = now()
            train.minimize(arch, params, x, y, lam=w["lam"], optimizer="gd", epochs=N, pool=pool,
                           learning_rate=w["alpha"])
            return now() - t

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

    def step(E: int) -> np.ndarray:
        t = now()
        with np.errstate(over="ignore"):
            for _ in range(E):
                epoch()
        return now() - t

    return step, c0, c1


def now() -> np.ndarray:
    """(wall seconds, CPU seconds of this process) so far: on a machine other jobs keep busy, this process's
    CPU time is what its own work took, its wall time also the waits for a core."""
    return np.array([time.perf_counter(), time.process_time()])


def timed_loop(step):
    def run(E: int) -> np.ndarray:
        t = now()
        step(E)
        return now() - t

    return run


def peers(name: str, tmp: Path, with_torch: bool, only: tuple[str, ...] = ()) -> dict:
    """{peer: (run(N) → (wall, CPU) seconds of N epochs, whether a 0-epoch run is to be subtracted)} — every peer,
    or those in `only` — each loop checked to compute the same J(θ₀), J(θ₁) as the numpy loop."""
    x, y, W, b = problem_of(write_config(name, tmp))
    step, c0, c1, _ = bench.make_numpy(name, x, y, W, b, 1)

    def lean():
        run, l0, l1 = make_lean(name, x, y, W, b)
        assert np.isclose(l0, c0, rtol=1e-9) and np.isclose(l1, c1, rtol=1e-9), (name, l0, c0, l1, c1)
        return run, False

    def torch():
        tstep, t0, t1, _ = bench.make_torch(name, x, y, W, b, 1)
        assert np.isclose(t0, c0, rtol=1e-7) and np.isclose(t1, c1, rtol=1e-7), (name, t0, c0, t1, c1)
        return timed_loop(tstep), False

    makers = {"fit": lambda: (make_fit(name, tmp, False), True), "fit/log": lambda: (make_fit(name, tmp, True), True),
              "fit+term": lambda: (make_fit(name, tmp, False, terminal=True), True),
              "bare": lambda: (make_bare(name, x, y, W, b), True), "numpy": lambda: (timed_loop(step), False),
              "lean": lean, "matmul": lambda: (timed_loop(bench.make_matmul(name, x, y, W, b, 1)[0]), False)}
    if with_torch and importlib.util.find_spec("torch") is not None:
        makers["torch"] = torch
    out = {p: make() for p, make in makers.items() if not only or p in only}
    for run, setup in out.values():  # warm-up: imports, caches
        run(1)
    return out


def per_epoch(run, setup: bool):
    """N → (wall, CPU) seconds per epoch: (t(N) − t(0)) / N, the 0-epoch run next to the N-epoch one, for a
    peer with a set-up in every run; t(N) / N for the others."""
    return (lambda N: (run(N) - run(0)) / N) if setup else (lambda N: run(N) / N)


def measure(name: str, cycles: int, quick: bool) -> dict:
    """Every peer once a cycle, the order turning; with each cycle the CPU other processes used meanwhile.
    times[peer][kind]: one value per cycle, kind "wall" or "cpu" (seconds per epoch)."""
    N = max(1, EPOCHS[name] // (5 if quick else 1))
    with tempfile.TemporaryDirectory() as tmp:
        ps = {p: per_epoch(*v) for p, v in peers(name, Path(tmp), with_torch=name == "medium64").items()}
        names = list(ps)
        for p in names:  # one untimed run each
            ps[p](max(1, N // 10))
        times: dict[str, dict[str, list[float]]] = {p: {"wall": [], "cpu": []} for p in names}
        others = []
        for k in range(cycles):
            cpu0, t0 = bench._cpu_now(), time.perf_counter()
            for p in names[k % len(names):] + names[: k % len(names)]:
                wall, cpu = ps[p](N)
                times[p]["wall"].append(float(wall))
                times[p]["cpu"].append(float(cpu))
            others.append(bench._others(cpu0, bench._cpu_now(), time.perf_counter() - t0))
            print(f"{name} cycle {k + 1} (others {others[-1]:.2f} core): " + ", ".join(
                f"{p} {bench._fmt(times[p]['cpu'][-1])} ({bench._fmt(times[p]['wall'][-1])} wall)" for p in names),
                file=sys.stderr, flush=True)
    return {"workload": name, "epochs": N, "times": times, "others": others}


def clean(res: dict, max_others: float) -> tuple[list[int], str]:
    """The cycles in which other processes used at most max_others of a core (all of them when fewer than
    three were), and how to say which were kept."""
    keep = [k for k, o in enumerate(res["others"]) if o <= max_others]
    if len(keep) >= 3:
        return keep, f"{len(keep)} of {len(res['others'])}"
    return list(range(len(res["others"]))), f"all {len(res['others'])} (fewer than 3 clean)"


def spread(values: list[float], fmt) -> str:
    return f"{fmt(statistics.median(values))} [{fmt(min(values))}, {fmt(max(values))}]"


COLUMNS = ["fit", "fit/log", "fit+term", "bare", "numpy", "lean", "matmul", "torch"]
PAIRS = [("fit", "bare"), ("fit", "numpy"), ("fit", "lean"), ("fit", "matmul"), ("fit/log", "lean"),
         ("fit+term", "lean"), ("bare", "lean"), ("fit", "torch")]


def table(results: list[dict], max_others: float) -> str:
    lines = [f"Cycles kept: those in which other processes used at most {max_others:g} core "
             "(others: the cores they used, median [lowest, highest])."]
    for kind, what in (("cpu", "CPU time of this process"), ("wall", "wall time")):
        lines += ["", f"Seconds per epoch, {what}, median of the kept cycles [lowest, highest]:", "",
                  "| workload | epochs | cycles kept | others | " + " | ".join(COLUMNS) + " |",
                  "|---|---|---|---" + "|---" * len(COLUMNS) + "|"]
        ratios = ["", f"Ratios of {what}, nettrain ÷ peer in the same cycle (below 1: nettrain is faster), "
                  "median [lowest, highest]:", "", "| workload | " + " | ".join(f"{a} ÷ {b}" for a, b in PAIRS) + " |",
                  "|---" * (len(PAIRS) + 1) + "|"]
        for r in results:
            keep, kept = clean(r, max_others)
            t = {p: [v[kind][k] for k in keep] for p, v in r["times"].items()}
            o = [r["others"][k] for k in keep]
            lines.append(f"| {r['workload']} | {r['epochs']} | {kept} | {spread(o, lambda v: f'{v:.2f}')} | "
                         + " | ".join("—" if c not in t else spread(t[c], bench._fmt) for c in COLUMNS) + " |")
            ratios.append(f"| {r['workload']} | " + " | ".join(
                "—" if a not in t or b not in t else spread([x / y for x, y in zip(t[a], t[b])], lambda v: f"{v:.2f}×")
                for a, b in PAIRS) + " |")
        lines += ratios
    return "\n".join(lines) + "\n"


COUNTED = {"tiny": 2_000, "small": 40}  # epochs of a run under callgrind (~50× slower than without)


def count_worker(name: str, peer: str, N: int) -> None:
    """Set up every peer (as measure() does), then run `peer` for N epochs: the process callgrind counts."""
    with tempfile.TemporaryDirectory() as tmp:
        run, _ = peers(name, Path(tmp), with_torch=False, only=(peer,))[peer]
        run(N)


def instructions(name: str, peer: str, N: int) -> int:
    """Instructions this script executes as count_worker(name, peer, N), counted by valgrind's callgrind."""
    return bench.instructions([sys.executable, __file__, "--count-worker", name, peer, str(N)],
                              dict(os.environ, OPENBLAS_NUM_THREADS="1"), f"{name} {peer}")


def count(names: list[str], peers_counted: list[str]) -> str:
    """Instructions per epoch, (I(N) − I(0)) / N of whole processes: the same whatever else the machine runs."""
    lines = ["Instructions per epoch (valgrind --tool=callgrind: a process running N epochs minus one running 0):",
             "", "| workload | N | " + " | ".join(peers_counted) + " | fit − bare | fit ÷ lean |",
             "|---|---" + "|---" * (len(peers_counted) + 2) + "|"]
    for name in names:
        N = COUNTED[name]
        per = {}
        for p in peers_counted:
            per[p] = (instructions(name, p, N) - instructions(name, p, 0)) / N
            print(f"{name} {p}: {per[p]:,.0f} instructions an epoch", file=sys.stderr, flush=True)
        extra = f"{per['fit'] - per['bare']:,.0f}" if {"fit", "bare"} <= set(per) else "—"
        vs = f"{per['fit'] / per['lean']:.2f}×" if {"fit", "lean"} <= set(per) else "—"
        counts = " | ".join(f"{per[p]:,.0f}" for p in peers_counted)
        lines.append(f"| {name} | {N} | {counts} | {extra} | {vs} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from threadpoolctl import threadpool_limits

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=list(EPOCHS), choices=list(EPOCHS))
    ap.add_argument("--cycles", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="a fifth of the epochs")
    ap.add_argument("--max-others", type=float, default=0.3,
                    help="a cycle is clean when other processes used at most this many cores meanwhile (default 0.3)")
    ap.add_argument("--instructions", nargs="*", metavar="PEER",
                    help="count instructions per epoch under callgrind instead (tiny and small; default peers: fit "
                         "bare lean numpy)")
    ap.add_argument("--count-worker", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.count_worker:
        with threadpool_limits(1, user_api="blas"):
            count_worker(a.count_worker[0], a.count_worker[1], int(a.count_worker[2]))
        return
    if a.instructions is not None:
        print(count([n for n in a.only if n in COUNTED], a.instructions or ["fit", "bare", "lean", "numpy"]))
        return
    with threadpool_limits(1, user_api="blas"):  # every peer on one BLAS thread, as nettrain picks for these
        results = [measure(name, a.cycles, a.quick) for name in a.only]
        mach = bench.machine()
    md = bench.machine_line(mach) + "\n\n" + table(results, a.max_others)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"epoch-{stamp}.json").write_text(json.dumps({"machine": mach, "command": " ".join(sys.argv),
                                                             "results": results}, indent=1))
    (RESULTS / f"epoch-{stamp}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
