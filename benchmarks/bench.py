"""Seconds per epoch of full-batch gradient descent: nettrain beside the same math written other ways.

    python benchmarks/bench.py [--quick] [--threads 1|2] [--large] [--memmap] [--only NAME ...]

Every (workload, peer) pair runs in its own subprocess, with the thread budget given by --threads
(OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, torch.set_num_threads, threadpoolctl), so that peak memory
is the pair's own and no library's idle threads steal from another's. Every peer starts from the
same initial weights; its J(θ₀) and J(θ₁) (one update) are checked against nettrain's before timing.

peers
    nettrain     train.minimize with gd (sums.Backprop → objective → the two-call update), with the pool
                 parallel.for_training picks under the thread budget (nettrain's own choice)
    ntall        the same with train.threads = the budget: every thread, as the numpy loop uses them
                 (run only where nettrain's own choice is fewer threads: tiny and small at --threads 2)
    numpy        a minimal hand-written numpy loop of the same math (examples in columns)
    matmul       the matrix products of an epoch alone, into preallocated outputs: the practical limit
    tmatmul      the same products in PyTorch (its BLAS, its layout): PyTorch's own limit
    torch        PyTorch CPU, the same math with manual gradients
    autograd     PyTorch CPU, loss.backward() and a manual update
    sklearn      MLPClassifier, solver='sgd' in its full-batch setting (batch_size=m, no momentum,
                 constant rate, alpha = λ·m since it divides the L2 term by m, no shuffling, no early stop)
    fit          (small only) trainer.fit with logging and checkpointing on, log.every 1: per-epoch cost
                 measured as (t(N epochs) − t(0 epochs)) / N, beside the bare step above; fit+term adds
                 the terminal display, fit+val a validation split evaluated every epoch

Seconds per epoch are the median over repeats of (time of E epochs) / E, after one warm-up repeat.
Peak memory is the peer's own: the peak RSS from just after the data and θ₀ exist until the end of
its timing (set-up included), minus the RSS at that start (VmHWM, reset via /proc/self/clear_refs).
Results go to benchmarks/results/ (JSON and Markdown).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

# name: layers, activation, output, loss, alpha, lam, dtype, m (None: from data), epochs per repeat, repeats
WORKLOADS = {
    "tiny": dict(layers=[2, 3, 1], out="sigmoid", alpha=2.0, lam=0.0, dtype="float64", epochs=3000, repeats=7),
    "small": dict(layers=[64, 30, 10], out="softmax", alpha=0.5, lam=1e-4, dtype="float64", epochs=200, repeats=7),
    "medium64": dict(layers=[784, 128, 10], out="softmax", alpha=0.1, lam=1e-4, dtype="float64", m=10_000,
                     epochs=10, repeats=7),
    "medium32": dict(layers=[784, 128, 10], out="softmax", alpha=0.1, lam=1e-4, dtype="float32", m=10_000,
                     epochs=10, repeats=7),
    "large": dict(layers=[784, 512, 256, 10], out="softmax", alpha=0.1, lam=1e-4, dtype="float32", m=60_000,
                  epochs=2, repeats=5),
}
_KEEP: list = []
PEERS = ["nettrain", "numpy", "matmul", "torch", "autograd", "sklearn", "tmatmul", "ntall"]


# ----------------------------------------------------------------------------- data and weights


def make_problem(name: str):
    """x (s_1, m), y (s_nl, m) one-hot/0-1 in the workload's dtype, labels (m,), and θ₀ as (W, b) lists."""
    w = WORKLOADS[name]
    dtype = np.dtype(w["dtype"])
    layers = w["layers"]
    rng = np.random.default_rng(0)
    if name == "tiny":
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
        labels = np.array([0, 1, 1, 0])
        Y = labels[:, None].astype(np.float64)
    elif name == "small":
        raw = np.loadtxt(ROOT / "data" / "digits.csv", delimiter=",", skiprows=1)
        X, labels = raw[:, :-1], raw[:, -1].astype(int)
        sd = X.std(axis=0)
        sd[sd == 0] = 1.0
        X = (X - X.mean(axis=0)) / sd
        Y = np.eye(10)[labels]
    else:
        m, k = w["m"], layers[-1]
        labels = rng.integers(0, k, m)
        X = rng.standard_normal((m, layers[0]), dtype=np.float32 if dtype == np.float32 else np.float64)
        Y = np.eye(k, dtype=dtype)[labels]
    x = np.ascontiguousarray(X.T, dtype=dtype)
    y = np.ascontiguousarray(Y.T, dtype=dtype)
    from nettrain.network import init_params

    p = init_params(tuple(layers), "glorot_uniform", np.random.default_rng(1), dtype=dtype)
    nl = len(layers)
    return x, y, labels, [p.W[l] for l in range(1, nl)], [p.b[l] for l in range(1, nl)]


# ----------------------------------------------------------------------------- the peers
# each make_* returns (step, cost0, cost1): step(E) runs E epochs; cost0/cost1 are J(θ₀), J(θ₁)


def workload_arch(name: str):
    """The workload's network: its layers, sigmoid hidden units, its output, cross-entropy."""
    from nettrain.network import Architecture

    w = WORKLOADS[name]
    return Architecture(tuple(w["layers"]), "sigmoid", w["out"], "cross_entropy")


def make_nettrain(name, x, y, W, b, threads, every_thread=False):
    """every_thread: train.threads = threads (what `train.threads: N` in a config does), instead of
    nettrain's own choice under that budget (train.blas_threads)."""
    from nettrain import parallel, train
    from nettrain.network import Params

    w = WORKLOADS[name]
    arch = workload_arch(name)
    params = Params({l + 1: W[l] for l in range(len(W))}, {l + 1: b[l] for l in range(len(b))})
    m = x.shape[1]
    costs = []

    def record(s):
        costs.append(s.cost.J)

    n = threads if every_thread else train.blas_threads(arch, m, threads)
    ctx = parallel.for_training(arch, m, None, x.dtype, threads=n)
    pool = ctx.__enter__()
    _KEEP.append(ctx)  # open until the process ends
    def gd(E, on_step=None):
        train.minimize(arch, params, x, y, lam=w["lam"], epochs=E, on_step=on_step, pool=pool,
                       learning_rate=w["alpha"])

    gd(1, record)

    def step(E):
        gd(E)

    def timed(E, R):
        """One run of (R + 1)·E epochs, timed every E epochs from the callback: the set-up (copying
        x into [1; x] blocks, the workspaces) is once per run, as in a real fit, and not in the epochs."""
        stamps = []

        def tick(s):
            if s.epoch % E == 0:
                stamps.append(time.perf_counter())

        gd((R + 1) * E, tick)
        return [(b - a) / E for a, b in zip(stamps[1:], stamps[2:])]

    t = time.perf_counter()
    gd(0)
    setup = time.perf_counter() - t
    info = {"workers": pool.size if pool else 1, "chunk": train.chunk_width(arch, m, None, x.dtype), "setup": setup,
            "timed": timed}
    return step, costs[0], costs[1], info


def _np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def make_numpy(name, x, y, W, b, threads):
    """The straightforward loop: temporaries everywhere, the math as written."""
    w = WORKLOADS[name]
    alpha, lam, out = w["alpha"], w["lam"], w["out"]
    W = [v.copy() for v in W]
    b = [v.copy() for v in b]
    m, nl = x.shape[1], len(W) + 1

    def epoch():
        a = [x]
        for l in range(nl - 1):
            z = W[l] @ a[l] + b[l][:, None]
            if l < nl - 2 or out == "sigmoid":
                a.append(_np_sigmoid(z))
            else:
                e = np.exp(z - z.max(axis=0))
                a.append(e / e.sum(axis=0))
        h = a[-1]
        with np.errstate(divide="ignore"):
            if out == "sigmoid":
                J = -np.sum(y * np.log(h) + (1 - y) * np.log(1 - h)) / m
            else:
                J = -np.sum(y * np.log(h)) / m
        J += lam / 2 * sum(np.sum(v * v) for v in W)
        delta = h - y
        for l in range(nl - 2, -1, -1):
            dW = delta @ a[l].T / m + lam * W[l]
            db = delta.sum(axis=1) / m
            if l > 0:
                delta = (W[l].T @ delta) * a[l] * (1 - a[l])
            W[l] -= alpha * dW
            b[l] -= alpha * db
        return float(J)

    c0, c1 = epoch(), epoch()
    W[:] = [v.copy() for v in W]  # keep training from θ₂: the timing does not depend on θ

    def step(E):
        for _ in range(E):
            epoch()

    return step, c0, c1, {}


def make_matmul(name, x, y, W, b, threads):
    """The five (or more) products of an epoch, nothing else: forward W a, backward δ aᵀ and Wᵀ δ."""
    dt = x.dtype
    m, nl = x.shape[1], len(W) + 1
    rng = np.random.default_rng(2)
    a = [x] + [rng.random((v.shape[0], m)).astype(dt) for v in W]
    z = [np.empty_like(v) for v in a]
    d = [np.empty_like(v) for v in a]
    dW = [np.empty_like(v) for v in W]
    aT = [v.T for v in a]
    WT = [v.T for v in W]

    def step(E):
        for _ in range(E):
            for l in range(nl - 1):
                np.dot(W[l], a[l], z[l + 1])
            for l in range(nl - 2, -1, -1):
                np.dot(a[l + 1], aT[l], dW[l])
                if l > 0:
                    np.dot(WT[l], a[l + 1], d[l])

    return step, None, None, {}


def make_tmatmul(name, x, y, W, b, threads):
    """The same products in PyTorch (its layout: examples in rows), into preallocated outputs."""
    import torch

    torch.set_num_threads(threads)
    X = torch.from_numpy(np.ascontiguousarray(x.T))
    m, nl = X.shape[0], len(W) + 1
    Wt = [torch.from_numpy(v.copy()) for v in W]
    g = torch.Generator().manual_seed(2)
    a = [X] + [torch.rand((m, v.shape[0]), generator=g, dtype=X.dtype) for v in W]
    z = [torch.empty_like(v) for v in a]
    d = [torch.empty_like(v) for v in a]
    dW = [torch.empty_like(v) for v in Wt]

    def step(E):
        for _ in range(E):
            for l in range(nl - 1):
                torch.mm(a[l], Wt[l].T, out=z[l + 1])
            for l in range(nl - 2, -1, -1):
                torch.mm(a[l + 1].T, a[l], out=dW[l])
                if l > 0:
                    torch.mm(a[l + 1], Wt[l], out=d[l])

    return step, None, None, {"torch": torch.__version__}


def make_torch(name, x, y, W, b, threads, autograd=False):
    import torch

    torch.set_num_threads(threads)
    w = WORKLOADS[name]
    alpha, lam, out = w["alpha"], w["lam"], w["out"]
    X = torch.from_numpy(np.ascontiguousarray(x.T))  # torch's layout: examples in rows
    Y = torch.from_numpy(np.ascontiguousarray(y.T))
    Wt = [torch.from_numpy(v.copy()) for v in W]
    bt = [torch.from_numpy(v.copy()) for v in b]
    m, nl = X.shape[0], len(W) + 1
    if autograd:
        for v in Wt + bt:
            v.requires_grad_(True)
        tgt = Y if out == "sigmoid" else Y.argmax(dim=1)

        def epoch():
            h = X
            for l in range(nl - 2):
                h = torch.sigmoid(torch.nn.functional.linear(h, Wt[l], bt[l]))
            z = torch.nn.functional.linear(h, Wt[-1], bt[-1])
            if out == "sigmoid":
                J = torch.nn.functional.binary_cross_entropy_with_logits(z, tgt, reduction="sum") / m
            else:
                J = torch.nn.functional.cross_entropy(z, tgt, reduction="sum") / m
            if lam:
                J = J + lam / 2 * sum((v * v).sum() for v in Wt)
            J.backward()
            with torch.no_grad():
                for v in Wt + bt:
                    v -= alpha * v.grad
                    v.grad = None
            return float(J)
    else:

        def epoch():
            with torch.no_grad():
                a = [X]
                for l in range(nl - 2):
                    a.append(torch.sigmoid(torch.addmm(bt[l], a[l], Wt[l].T)))
                z = torch.addmm(bt[-1], a[-1], Wt[-1].T)
                if out == "sigmoid":
                    h = torch.sigmoid(z)
                    J = (torch.nn.functional.softplus(z) - Y * z).sum() / m
                else:
                    logp = torch.log_softmax(z, dim=1)
                    h = logp.exp()
                    J = -(Y * logp).sum() / m
                if lam:
                    J = J + lam / 2 * sum((v * v).sum() for v in Wt)
                delta = h - Y
                for l in range(nl - 2, -1, -1):
                    dW = torch.mm(delta.T, a[l]) / m
                    if lam:
                        dW += lam * Wt[l]
                    db = delta.sum(dim=0) / m
                    if l > 0:
                        delta = torch.mm(delta, Wt[l]) * a[l] * (1 - a[l])
                    Wt[l] -= alpha * dW
                    bt[l] -= alpha * db
                return float(J)

    c0, c1 = epoch(), epoch()

    def step(E):
        for _ in range(E):
            epoch()

    return step, c0, c1, {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def make_sklearn(name, x, y, W, b, threads, labels):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    w = WORKLOADS[name]
    X = np.ascontiguousarray(x.T)
    m = X.shape[0]
    hidden = tuple(w["layers"][1:-1])
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="logistic", solver="sgd", batch_size=m, momentum=0.0,
                        nesterovs_momentum=False, learning_rate="constant", learning_rate_init=w["alpha"],
                        alpha=w["lam"] * m, shuffle=False, tol=0.0, n_iter_no_change=10**9,
                        early_stopping=False, max_iter=1, warm_start=True, random_state=0)
    clf.fit(X, labels)  # builds the layers; its weights are replaced below

    def reset():
        clf.coefs_ = [v.T.copy() for v in W]  # sklearn: (s_l, s_{l+1})
        clf.intercepts_ = [v.copy() for v in b]
        clf.n_iter_, clf.t_ = 0, 0
        clf.loss_curve_ = []
        clf._optimizer = None  # a fresh SGD state (no velocity)
        # warm_start keeps the weights; a new optimizer is built when _optimizer is unset
        if hasattr(clf, "_best_coefs"):
            del clf._best_coefs

    reset()
    clf.max_iter = 2
    clf.fit(X, labels)
    c0, c1 = clf.loss_curve_[0], clf.loss_curve_[1]

    def step(E):
        clf.max_iter = E
        clf.loss_curve_ = []
        clf.n_iter_ = 0
        clf.fit(X, labels)

    return step, c0, c1, {"sklearn": __import__("sklearn").__version__}


# ----------------------------------------------------------------------------- one (workload, peer)


def instructions(cmd: list, env: dict, what: str, cwd: Optional[str] = None) -> int:
    """The instructions the process `cmd` executes, counted by valgrind's callgrind (PYTHONHASHSEED=0: the same
    count whatever else the machine runs). SystemExit naming `what` if callgrind fails."""
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                          env=dict(env, PYTHONHASHSEED="0"), capture_output=True, text=True, cwd=cwd)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"callgrind failed for {what}: {proc.stderr[-500:]}")
    return int(found.group(1))


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu_now() -> tuple[float, float]:
    """(CPU seconds used by the whole machine, by this process) so far: their difference over an
    interval is what OTHER processes took from the cores meanwhile (the machine may be shared)."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        v = [int(t) for t in f.readline().split()[1:]]
    busy = sum(v) - v[3] - v[4]  # all but idle and iowait
    t = os.times()
    return busy / tick, t.user + t.system


def _others(before: tuple[float, float], after: tuple[float, float], wall: float) -> float:
    """Cores' worth of CPU that other processes used during an interval of `wall` seconds."""
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / max(wall, 1e-9))


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(name: str, peer: str, threads: int, quick: bool) -> dict:
    from threadpoolctl import threadpool_info, threadpool_limits

    w = WORKLOADS[name]
    E, R = w["epochs"], w["repeats"]
    if quick:
        E, R = max(1, E // 4), max(3, R // 2)
    x, y, labels, W, b = make_problem(name)
    rss0 = _status("VmRSS")  # the data and θ₀ exist: what follows is the peer's own memory
    peak_ok = _reset_peak()
    with threadpool_limits(threads, user_api="blas"):
        if peer in ("nettrain", "ntall"):
            step, c0, c1, info = make_nettrain(name, x, y, W, b, threads, every_thread=peer == "ntall")
        elif peer == "numpy":
            step, c0, c1, info = make_numpy(name, x, y, W, b, threads)
        elif peer == "matmul":
            step, c0, c1, info = make_matmul(name, x, y, W, b, threads)
        elif peer == "tmatmul":
            step, c0, c1, info = make_tmatmul(name, x, y, W, b, threads)
        elif peer in ("torch", "autograd"):
            step, c0, c1, info = make_torch(name, x, y, W, b, threads, autograd=peer == "autograd")
        elif peer == "sklearn":
            step, c0, c1, info = make_sklearn(name, x, y, W, b, threads, labels)
        else:
            raise SystemExit(f"unknown peer {peer}")
        timed = info.pop("timed", None)
        cpu0, wall0 = _cpu_now(), time.perf_counter()
        if timed is not None:
            times = timed(E, R)  # one run: a warm-up interval, then R intervals of E epochs
        else:
            step(E)  # warm-up
            times = []
            for _ in range(R):
                t = time.perf_counter()
                step(E)
                times.append((time.perf_counter() - t) / E)
        others = _others(cpu0, _cpu_now(), time.perf_counter() - wall0)
        peak = _status("VmHWM") if peak_ok else 0
        blas = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for p in threadpool_info() if p.get("user_api") == "blas"]
    return {"workload": name, "peer": peer, "threads": threads, "sec": statistics.median(times), "times": times,
            "epochs_per_repeat": E, "J0": c0, "J1": c1, "peak_extra": max(0, peak - rss0) if peak_ok else None,
            "peak_rss": peak or None, "blas": blas, "others_cpu": others, **info}


# ----------------------------------------------------------------------------- fit (logging tax)


FIT_CONFIG = """name: bench-small
seed: 0
data: {{path: {data}, target: [label], task: classification, standardize: true,
       split: {{train: {train}, val: {val}, test: 0.0}}}}
model: {{layers: [64, 30, 10], activation: sigmoid, output_activation: softmax, init: {{scheme: glorot_uniform}}}}
loss: cross_entropy
train: {{learning_rate: 0.5, weight_decay: 1.0e-4, epochs: {epochs}}}
log: {{every: 1, checkpoint_every: 500}}
"""


FIT_VARIANTS = {  # name: (val fraction, terminal output)
    "fit": (0.0, False),  # logging and checkpointing alone
    "fit+term": (0.0, True),  # and the live terminal display of `nettrain fit` (rich, into a buffer)
    "fit+val": (0.1, False),  # and the val split's J_data and accuracy every epoch (a forward pass on 180 more)
}


def fit_worker(threads: int, quick: bool, variant: str, epochs: int = 1000) -> dict:
    """trainer.fit against the bare training step on the same problem, in the same process.

    Both are timed over N epochs and over 0 epochs; the 0-epoch times (reading the data, the run
    folder's first files, the final metrics) are subtracted, so what remains is the per-epoch
    cost: the training step, plus (for fit) the metrics row, ‖∇J‖ (and the variant's extras) every
    epoch, the checkpoints (every 500 epochs, as configs/digits.yaml) and the progress ticks.
    A single pair of runs is noisy here (±3 %: the A/A spread of two bare runs on this VM), so
    the tax is the median over R interleaved pairs, each run timed in this process's CPU time (on a
    machine other jobs keep busy, wall time is mostly the waits for a core). `callback` is the wall
    time inside trainer.fit's per-epoch callback (the emit: the row, and the listeners when one needs
    the step) over the rest of the run's.
    """
    import io

    from rich.console import Console

    from nettrain import parallel, train, trainer
    from nettrain import config as config_mod
    from nettrain.problem import initial_params, load_problem
    from nettrain.render.fit import FitReporter

    val, terminal = FIT_VARIANTS[variant]
    N, R = (200, 6) if quick else (epochs, 16)
    inside = [0.0]
    real_minimize = train.minimize

    def timed_minimize(*args, **kwargs):  # trainer.fit's call, with its on_step callback (the listeners) timed
        bound = inspect.signature(real_minimize).bind(*args, **kwargs)
        cb = bound.arguments["on_step"]

        def on_step(step):
            t = time.perf_counter()
            try:
                return cb(step)
            finally:
                inside[0] += time.perf_counter() - t

        bound.arguments["on_step"] = on_step
        return real_minimize(*bound.args, **bound.kwargs)

    train.minimize = timed_minimize
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg_path = tmp / "fit.yaml"
        runs_made = [0]

        def write(epochs):
            cfg_path.write_text(FIT_CONFIG.format(data=ROOT / "data" / "digits.csv", epochs=epochs,
                                                  train=round(1 - val, 6), val=val))

        def fit(epochs):
            write(epochs)
            runs_made[0] += 1
            reporter = None
            if terminal:
                console = Console(file=io.StringIO(), force_terminal=True, width=120)
                reporter = FitReporter(console)
            inside[0] = 0.0
            t, c = time.perf_counter(), time.process_time()
            try:
                trainer.fit(config_mod.load_config(cfg_path), out=tmp / f"run-{runs_made[0]}", reporter=reporter)
            finally:
                if reporter is not None:
                    reporter.stop()
            return time.process_time() - c, time.perf_counter() - t, inside[0]

        write(0)
        cfg = config_mod.load_config(cfg_path)
        problem = load_problem(cfg)
        x, y = problem.columns("train")
        p0 = initial_params(cfg, problem.arch, problem.dtype)

        def bare(epochs):
            with parallel.for_training(problem.arch, x.shape[1], None, x.dtype) as pool:
                c = time.process_time()
                real_minimize(problem.arch, p0, x, y, lam=1e-4, epochs=epochs, pool=pool, learning_rate=0.5)
                return time.process_time() - c

        fit(1)
        bare(10)
        fit0 = statistics.median(fit(0)[0] for _ in range(5))
        bare0 = statistics.median(bare(0) for _ in range(5))
        taxes, shares, fits, bares = [], [], [], []
        for i in range(R):  # interleaved pairs, so that a noisy moment hits both; which runs first alternates
            if i % 2:
                b, (f, wall, cb) = bare(N), fit(N)
            else:
                (f, wall, cb), b = fit(N), bare(N)
            f, b = f - fit0, b - bare0
            taxes.append(f / b - 1)
            shares.append(cb / (wall - cb))  # the callback's wall time over the rest of the run's
            fits.append(f / N)
            bares.append(b / N)
        q = statistics.quantiles(taxes, n=4)
        return {"workload": "small", "peer": variant, "threads": threads, "sec": statistics.median(fits),
                "bare": statistics.median(bares), "tax": statistics.median(taxes), "tax_q1": q[0], "tax_q3": q[2],
                "callback": statistics.median(shares), "epochs": N, "pairs": R, "val": val,
                "terminal": terminal, "m": int(x.shape[1])}


# ----------------------------------------------------------------------------- memmap


def memmap_worker(threads: int, quick: bool) -> dict:
    """2,000,000 × 64 float32 rows in a .npy, trained through trainer.fit straight from the map.

    Memory is the peak of RssAnon (resident memory that is not file-backed: the mapped file's
    pages are excluded), sampled every 20 ms in a thread while fit runs, minus RssAnon before.
    """
    from nettrain import config as config_mod
    from nettrain import trainer

    m, n = (400_000 if quick else 2_000_000), 64
    epochs = 2 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "big.npy"
        A = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(m, n + 1))
        rng = np.random.default_rng(0)
        for s in range(0, m, 100_000):
            e = min(s + 100_000, m)
            A[s:e, :n] = rng.standard_normal((e - s, n), dtype=np.float32)
            A[s:e, n] = rng.integers(0, 10, e - s)
        A.flush()
        del A
        cfg = tmp / "big.yaml"
        cfg.write_text(f"""name: big
seed: 0
data: {{path: {path}, task: classification, standardize: false, split: {{train: 1.0, val: 0.0, test: 0.0}}}}
model: {{layers: [64, 32, 10], activation: sigmoid, output_activation: softmax}}
loss: cross_entropy
train: {{learning_rate: 0.5, epochs: {epochs}, dtype: float32}}
log: {{every: 1}}
""")
        base = _status("RssAnon")
        peak = [base]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], _status("RssAnon"))
                time.sleep(0.02)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        t = time.perf_counter()
        res = trainer.fit(config_mod.load_config(cfg), out=tmp / "run")
        elapsed = time.perf_counter() - t
        stop.set()
        th.join()
        peak[0] = max(peak[0], _status("RssAnon"))
        return {"workload": "memmap", "peer": "fit", "threads": threads, "m": m, "n": n, "epochs": epochs,
                "file_bytes": path.stat().st_size, "sec_total": elapsed, "anon_peak_extra": peak[0] - base,
                "final_cost": res.cost.J}


# ----------------------------------------------------------------------------- the parent


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from threadpoolctl import threadpool_info

    blas = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
            for p in threadpool_info() if p.get("user_api") == "blas"]
    vers = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("torch", "sklearn"):
        try:
            vers[mod] = __import__(mod).__version__
        except ImportError:
            vers[mod] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "blas": blas, **vers}


def spawn(args: list[str], threads: int) -> dict:
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    proc = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def combine(runs: list[dict], ref: list[dict]) -> dict:
    """One (workload, peer) over --rounds rounds: its median time, and its ratio to nettrain as the
    median of the rounds' ratios (each round's peers run back to back, so a slow spell of the
    machine hits both sides of a ratio). Peak memory and the other processes' CPU: the largest."""
    ok = [r for r in runs if "sec" in r]
    if len(runs) == 1 or not ok:
        return runs[0]
    out = dict(ok[len(ok) // 2])
    out["sec"] = statistics.median(r["sec"] for r in ok)
    out["round_secs"] = [r["sec"] for r in ok]
    pairs = [(r, n) for r, n in zip(runs, ref) if "sec" in r and "sec" in n]
    if pairs:
        out["ratio"] = statistics.median(r["sec"] / n["sec"] for r, n in pairs)
    for key in ("peak_extra", "others_cpu"):
        vals = [r[key] for r in ok if r.get(key) is not None]
        if vals:
            out[key] = max(vals)
    out["same_cost"] = all(r.get("same_cost", True) for r in ok)
    return out


def machine_line(mach: dict) -> str:
    """One line naming the CPU, the BLAS (library, version, kernel, threading) and the versions."""
    blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')} kernel, {b.get('threading_layer')})"
                     for b in mach.get("blas", [])) or "unknown"
    vers = ", ".join(f"{k} {mach[k]}" for k in ("python", "numpy", "torch", "sklearn") if mach.get(k))
    return f"Machine: {mach.get('cpu')}, {mach.get('cores')} cores; BLAS {blas}; {vers}."


def table(results: list[dict], threads: int, rounds: int = 1, mach: Optional[dict] = None) -> str:
    each = (f"; the median of {rounds} interleaved rounds, × the median of the rounds' ratios" if rounds > 1 else "")
    lines = ([machine_line(mach), ""] if mach else []) + [
             f"Seconds per epoch, median (threads: {threads}{each}); × = peer time / nettrain time "
             f"(above 1: nettrain is faster); limit = nettrain / matmul-only time.", "",
             "| workload | nettrain | numpy loop | PyTorch manual | PyTorch autograd | scikit-learn | matmul only "
             "| limit | PyTorch matmul only | nettrain threads / chunk |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r.get("workload"), r.get("peer")): r for r in results}
    setups: list[str] = []
    notes: list[str] = []
    for name in WORKLOADS:
        nt = by.get((name, "nettrain"))
        if not nt or "sec" not in nt:
            continue

        def cell(peer, name=name, nt=nt):
            r = by.get((name, peer))
            if not r:
                return "—"
            if "error" in r:
                return "error"
            return f"{_fmt(r['sec'])} ({r.get('ratio', r['sec'] / nt['sec']):.2f}×)"

        noisy = [p for p in PEERS if by.get((name, p), {}).get("others_cpu", 0) > 0.2]
        if noisy:
            notes.append(f"{name}: other processes used > 0.2 core while timing {', '.join(noisy)}")
        mm = by.get((name, "matmul"))
        limit = f"{1 / mm.get('ratio', mm['sec'] / nt['sec']):.2f}" if mm and "sec" in mm else "—"
        if nt.get("setup") is not None:
            setups.append(f"{name} {_fmt(nt['setup'])}")
        lines.append(f"| {name} | {_fmt(nt['sec'])} | {cell('numpy')} | {cell('torch')} | {cell('autograd')} | "
                     f"{cell('sklearn')} | {_fmt(mm['sec']) if mm and 'sec' in mm else '—'} | {limit} | "
                     f"{cell('tmatmul')} | "
                     f"{nt.get('workers')} / {nt.get('chunk')} |")
    lines += ["", "Peak memory beyond the data (MiB: set-up and training, RSS high-water mark):", "",
              "| workload | " + " | ".join(PEERS) + " |", "|---" * (len(PEERS) + 1) + "|"]
    for name in WORKLOADS:
        if (name, "nettrain") in by:
            cells = [by.get((name, p), {}).get("peak_extra") for p in PEERS]
            lines.append(f"| {name} | " + " | ".join("—" if c is None else f"{c / 2**20:.0f}" for c in cells) + " |")
    alls = [r for r in results if r.get("peer") == "ntall" and "sec" in r]
    if alls:
        lines += ["", f"nettrain on every thread (`train.threads: {threads}`, as the numpy loop runs) where its own "
                      "choice is fewer: " + "; ".join(
                          f"{r['workload']} {_fmt(r['sec'])} ({r.get('ratio', r['sec'] / by[(r['workload'], 'nettrain')]['sec']):.2f}× "
                          "its own choice's time"
                          + (f", the numpy loop {r['loop_ratio']:.2f}× this" if "loop_ratio" in r else "") + ")"
                          for r in alls)]
    if notes:
        lines += ["", "Shared machine: " + "; ".join(notes) + " (those ratios are less reliable)."]
    if setups:
        lines += ["", "nettrain's once-per-run set-up (not in the epochs above; mostly copying x into [1; x] "
                      "blocks): " + ", ".join(setups)]
    fits = [r for r in results if r.get("peer") in FIT_VARIANTS and "sec" in r]
    if fits:
        lines += ["", "`nettrain fit` on small against the bare training step in the same process (log.every 1: a "
                      "metrics row with ‖∇J‖ every epoch; a checkpoint every 500 epochs; CPU time of the process; "
                      f"tax = median of {fits[0]['pairs']} interleaved pairs of {fits[0]['epochs']}-epoch runs, "
                      "quartiles in brackets; callback = wall time inside the training loop's emit / the rest):", "",
                  "| variant | examples | fit per epoch | bare per epoch | tax | callback |", "|---|---|---|---|---|---|"]
        for r in fits:
            n_val = round(r["m"] * r["val"] / (1 - r["val"]))
            what = f"{r['m']} + {n_val} val" if r["val"] else f"{r['m']}"
            lines.append(f"| {r['peer']} | {what} | {_fmt(r['sec'])} | {_fmt(r['bare'])} | {100 * r['tax']:+.1f} % "
                         f"[{100 * r['tax_q1']:+.1f}, {100 * r['tax_q3']:+.1f}] | {100 * r['callback']:.1f} % |")
    mm = [r for r in results if r.get("workload") == "memmap"]
    for r in mm:
        if "anon_peak_extra" in r:
            lines += ["", f"memmap: {r['m']:,} × {r['n']} float32 .npy ({r['file_bytes'] / 2**30:.2f} GiB), "
                          f"[64, 32, 10], {r['epochs']} epochs through `nettrain fit` in {r['sec_total']:.1f} s; "
                          f"peak anonymous (non-file) RSS beyond the start: {r['anon_peak_extra'] / 2**20:.0f} MiB"]
    return "\n".join(lines) + "\n"


def _fewer_threads(name: str, threads: int) -> bool:
    """Whether nettrain's own choice under this budget is fewer threads than the budget (then the
    ntall peer shows nettrain on every thread, as the numpy loop runs)."""
    from nettrain import train

    m = WORKLOADS[name].get("m") or make_problem(name)[0].shape[1]
    return train.blas_threads(workload_arch(name), m, threads) < threads


def _fmt(sec: float) -> str:
    if sec < 1e-3:
        return f"{sec * 1e6:.1f} µs"
    if sec < 1:
        return f"{sec * 1e3:.2f} ms"
    return f"{sec:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    ap.add_argument("--threads", type=int, default=1, help="thread budget for every peer (default 1)")
    ap.add_argument("--large", action="store_true", help="also the large workload (~1 s per epoch per peer)")
    ap.add_argument("--memmap", action="store_true", help="also the 2,000,000-row memory-mapped fit")
    ap.add_argument("--only", nargs="*", help="workloads or peers to run, or fit for the fit variants alone (default: all)")
    ap.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "PEER"), help=argparse.SUPPRESS)
    ap.add_argument("--fit-worker", choices=list(FIT_VARIANTS), help=argparse.SUPPRESS)
    ap.add_argument("--fit-epochs", type=int, default=1000, help="epochs of each timed fit (default 1000)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="time every (workload, peer) this many times, peers interleaved; report medians (default 1)")
    ap.add_argument("--memmap-worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker[0], a.worker[1], a.threads, a.quick)))
        return
    if a.fit_worker is not None:
        print(json.dumps(fit_worker(a.threads, a.quick, a.fit_worker, a.fit_epochs)))
        return
    if a.memmap_worker:
        print(json.dumps(memmap_worker(a.threads, a.quick)))
        return

    only = set(a.only or [])
    names = [n for n in WORKLOADS if (n != "large" or a.large) and (not only & set(WORKLOADS) or n in only)]
    peers = [p for p in PEERS if not only & set(PEERS) or p in only]
    flags = ["--threads", str(a.threads)] + (["--quick"] if a.quick else [])
    results = []
    for name in names if only != {"fit"} else []:  # --only fit: the fit variants alone
        order = ["nettrain"] + [p for p in peers if p != "nettrain" and (p != "ntall" or _fewer_threads(name, a.threads))]
        rounds: dict[str, list[dict]] = {p: [] for p in order}
        for k in range(a.rounds):  # every peer once a round, nettrain first; the others' order turns
            others = order[1:][k % max(1, len(order) - 1):] + order[1:][: k % max(1, len(order) - 1)]
            for peer in order[:1] + others:
                r = spawn(["--worker", name, peer, *flags], a.threads)
                r.setdefault("workload", name)
                r.setdefault("peer", peer)
                ref = rounds["nettrain"][-1] if rounds["nettrain"] else None
                if peer != "nettrain" and ref and r.get("J0") is not None and ref.get("J0") is not None:
                    tol = 1e-4 if WORKLOADS[name]["dtype"] == "float32" else 1e-7
                    r["same_cost"] = bool(np.isclose(r["J0"], ref["J0"], rtol=tol)
                                          and np.isclose(r["J1"], ref["J1"], rtol=tol))
                rounds[peer].append(r)
                status = r.get("error") or f"{_fmt(r['sec'])}" + ("" if r.get("same_cost", True) else "  COST DIFFERS")
                print(f"{name:9s} {peer:9s} {status}", file=sys.stderr, flush=True)
        combined = {p: combine(rounds[p], rounds["nettrain"]) for p in order}
        if rounds.get("ntall") and rounds.get("numpy"):  # the loop against nettrain on the same threads
            pairs = [(n["sec"], t["sec"]) for n, t in zip(rounds["numpy"], rounds["ntall"]) if "sec" in n and "sec" in t]
            if pairs:
                combined["ntall"]["loop_ratio"] = statistics.median(n / t for n, t in pairs)
        results += combined.values()
    if "small" in names and (not only or "fit" in only or "small" in only):
        for variant in FIT_VARIANTS:
            r = spawn(["--fit-worker", variant, "--fit-epochs", str(a.fit_epochs), *flags], a.threads)
            r.setdefault("workload", "small")
            r.setdefault("peer", variant)
            results.append(r)
            status = r.get("error") or f"{_fmt(r['sec'])}, tax {100 * r['tax']:+.1f} %"
            print(f"small     {r.get('peer'):9s} {status}", file=sys.stderr, flush=True)
    if a.memmap:
        r = spawn(["--memmap-worker", *flags], a.threads)
        r.setdefault("workload", "memmap")
        results.append(r)
        print(f"memmap    fit       {r.get('error') or r}", file=sys.stderr, flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    info = {"machine": machine(), "threads": a.threads, "quick": a.quick, "rounds": a.rounds, "command": " ".join(sys.argv),
            "results": results}
    (RESULTS / f"bench-{stamp}-t{a.threads}.json").write_text(json.dumps(info, indent=1))
    md = table(results, a.threads, a.rounds, info["machine"])
    (RESULTS / f"bench-{stamp}-t{a.threads}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
