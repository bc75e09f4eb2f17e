"""nettrain sweep: its overhead per trial, the shipped digits grid on 1 and 2 workers, scikit-learn's
GridSearchCV on the same grid, and a TPE search with pruning against the full grid.

    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py overhead [--trials 40]
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py speedup [--rounds 3] [--before CHECKOUT]
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py timeline [--rounds 1] [--before CHECKOUT]
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py cpu
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py schedule
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py sklearn
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py tpe [--out runs/bench-sweep] [--set key=value] [--workers N]
    python benchmarks/sweep.py figure runs/digits-lambda [--out docs/images/digits-lambda.png]

overhead: a grid of --trials iris trials of one epoch each (each fit a few ms), swept in this process
    (workers: 1) and on a LocalCluster of 2 workers. The overhead of a trial is what the sweep spends beyond
    its fit: (the loop's wall time × the trials at once − Σ the fits' own seconds) / trials, where the loop
    is from the first submission to the last result (the cluster's start-up, its workers' first imports and
    its stop are fixed costs, printed apart) and a fit's seconds are each trainer.fit call's, whole. Per trial,
    that is loading its config, claiming and emptying its folder, the pruner's study when any, the task's round
    trip through the scheduler, trials.csv written (atomically, fsynced) and the progress line. Wall time on a
    shared machine is what the load leaves, so the CPU seconds are printed beside it: this process's in the
    loop (the client, and the LocalCluster's scheduler, which runs in it), the trial's task beyond its fit (on
    the worker), and all of the worker processes' beyond the fits (their Dask threads and start included).
    Then the parts, one by one, in this process: a config loaded, a folder claimed, trials.csv and best.yaml
    written (medians, wall and CPU).
speedup: `nettrain sweep configs/sweeps/digits-lambda.yaml` (10 trials) as a whole command, with --workers 1
    and --workers 2, --rounds times each, alternating; the median walls and their ratio. --before: a checkout
    of the code before a change (git worktree add, or git archive), whose --workers 2 runs in each round too.
timeline: the same command, workers 2 then 1: where its wall time went, read from the sweep folder's files —
    start-up and checks, the cluster's start, each trial on its worker, the workers idle at the end, the stop.
cpu: the same grid swept in this process with workers 2, then 1: wall and CPU seconds, where they go (this
    process, the worker processes, the fits).
schedule: the same grid swept in this process: each trial's CPU seconds; from them, when two workers would end
    with the trials handed out by number (one submitted ahead per worker, as Dask sent it at once to a worker:
    the trial waited there), by number with none ahead, and longest first (search.longest_first) — the order
    alone, on two free cores, whatever the machine's load.
sklearn: GridSearchCV(MLPClassifier(solver="lbfgs"), n_jobs=2) over the same grid — λ as alpha = λ·m (m the
    train split's rows: scikit-learn divides its L2 term by m), the two widths as hidden_layer_sizes — on
    the same rows and splits (nettrain's seeded split; the inputs standardised with the train split's
    statistics, as nettrain does), scored on the validation split (PredefinedSplit, refit=False): its wall,
    best validation accuracy and that trial's validation log-loss (J_data), beside the nettrain sweep's.
tpe: `nettrain sweep configs/sweeps/digits-tpe.yaml` (30 TPE trials, successive halving) and the digits-lambda
    grid into --out: the best val J_data each found, and the epochs each spent (Σ trials.csv's epochs: a trial
    continued through rungs counts its epochs once). --set goes to the TPE sweep (train.epochs=3000: the grid's).
figure: the README's validation curve, drawn from a digits-lambda sweep folder.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GRID = ROOT / "configs" / "sweeps" / "digits-lambda.yaml"
TPE = ROOT / "configs" / "sweeps" / "digits-tpe.yaml"
ENV = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))


class Clock:
    """A sweep reporter that notes when the loop starts (after the executor is up) and each trial ends, in
    wall seconds and in this process's CPU seconds."""

    def __init__(self) -> None:
        self.started = self.last = self.cpu_started = self.cpu_last = 0.0

    def start(self, info: dict) -> None:
        self.started, self.cpu_started = time.perf_counter(), time.process_time()

    def trial(self, row: dict) -> None:
        self.last, self.cpu_last = time.perf_counter(), time.process_time()

    def note(self, text: str) -> None:
        pass


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # the ended worker processes (and what they started)
    return r.ru_utime + r.ru_stime


def overhead(args: argparse.Namespace) -> None:
    from nettrain.sweep import load_sweep, run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.yaml"
        path.write_text(f"name: tiny\nbase: {ROOT / 'configs' / 'iris.yaml'}\nset: [train.epochs=1, log.every=1]\n"
                        f"grid: {{seed: {list(range(args.trials))}}}\n")
        print("| workers | trials | whole sweep | fixed (start-up, stop) | loop | Σ fits | overhead per trial | of it on "
              "the worker | CPU per trial beyond the fit: this process / the workers' task / the worker processes |")
        print("|---|---|---|---|---|---|---|---|---|")
        for workers in (1, 2):
            clock = Clock()
            t0, children = time.perf_counter(), _children_cpu()
            res = run_sweep(load_sweep(path, workers=workers), out=Path(tmp) / f"w{workers}", reporter=clock)
            wall, children = time.perf_counter() - t0, _children_cpu() - children
            loop, n, t = clock.last - clock.started, len(res.rows), res.timings.values()
            fits = sum(x["fit_seconds"] for x in t)  # trainer.fit's calls, each whole
            per = (loop * workers - fits) / n
            worker = statistics.mean(x["seconds"] - x["fit_seconds"] for x in t)  # the task beyond the fit
            client_cpu = (clock.cpu_last - clock.cpu_started) / n - (0 if workers > 1 else statistics.mean(
                x["cpu"] for x in t))  # in this process (workers: 1) the trials' own CPU is this process's
            task_cpu = statistics.mean(x["cpu"] - x["fit_cpu"] for x in t)
            procs = (children - sum(x["fit_cpu"] for x in t)) / n if workers > 1 else task_cpu
            print(f"| {workers} | {n} | {wall:.2f} s | {wall - loop:.2f} s | {loop:.2f} s | {fits:.2f} s "
                  f"| {per * 1000:.0f} ms | {worker * 1000:.0f} ms | {client_cpu * 1000:.0f} / {task_cpu * 1000:.0f} / "
                  f"{procs * 1000:.0f} ms |")
    parts(args.trials)


def _claim(claimed, folder: Path) -> None:
    with claimed(folder):
        pass


def parts(n: int) -> None:
    """What a trial costs beyond its fit, part by part, in this process: its config loaded (on the worker), its
    folder claimed (on the worker), trials.csv written (atomically and fsynced: the client, once per trial ended)
    and best.yaml (once, at the end): medians of n calls, wall and CPU."""
    from nettrain import config as config_mod
    from nettrain import trainer
    from nettrain.sweep import folder as files
    from nettrain.sweep.trial import claimed

    base, times = ROOT / "configs" / "iris.yaml", {}
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        trainer.fit(config_mod.load_config(base, ["train.epochs=1"]), out=top / "trial-0")
        rows = {k: {"trial": k, "status": "done", "seed": k, "epochs": 1, "cost": 0.1 * k} for k in range(40)}
        jobs = {"config loaded": lambda k: config_mod.load_config(base, ["train.epochs=1", "log.every=1", f"seed={k}"]),
                "folder claimed": lambda k: _claim(claimed, top / f"c-{k}"),
                "trials.csv written (40 rows)": lambda k: files.write_trials(top, ["trial", "status", "seed", "epochs",
                                                                                  "cost"], rows),
                "best.yaml written": lambda k: files.write_best(top, "tiny", 0)}
        for name, job in jobs.items():
            wall, cpu = [], []
            for k in range(n):
                t, c = time.perf_counter(), time.process_time()
                job(k)
                wall.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            times[name] = (statistics.median(wall), statistics.median(cpu))
    print("\n| part (median of %d) | wall | CPU |\n|---|---|---|" % n)
    for name, (w, c) in times.items():
        print(f"| {name} | {w * 1000:.1f} ms | {c * 1000:.1f} ms |")


def _sweep_seconds(workers: int, out: Path, sets: tuple = (), cpu: bool = False, code: str = "") -> Any:
    """The wall seconds of the whole command (with cpu: and the CPU seconds of it and every process it started);
    code: a checkout whose nettrain runs it (PYTHONPATH) instead of this one. The command runs in out's parent
    folder: `python -m` puts the working directory first on sys.path, where this checkout's nettrain would win."""
    shutil.rmtree(out, ignore_errors=True)
    t, c = time.perf_counter(), _children_cpu()
    env = dict(ENV, PYTHONPATH=code) if code else ENV
    subprocess.run([sys.executable, "-m", "nettrain", "sweep", str(GRID), "--workers", str(workers), "--out",
                    str(out), *(a for x in sets for a in ("--set", x))], check=True, env=env, capture_output=True,
                   cwd=out.parent)
    wall = time.perf_counter() - t
    return (wall, _children_cpu() - c) if cpu else wall


def speedup(args: argparse.Namespace) -> None:
    """workers 1 and 2 (and with --before, workers 2 of that checkout), alternating within and across rounds."""
    runs = [(1, ""), (2, "")] + ([(2, str(Path(args.before).resolve()))] if args.before else [])
    walls: dict[tuple, list[float]] = {r: [] for r in runs}
    cpus: dict[tuple, list[float]] = {r: [] for r in runs}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for workers, code in (runs if r % 2 == 0 else runs[::-1]):
                wall, cpu = _sweep_seconds(workers, Path(tmp) / "out", cpu=True, code=code)
                walls[workers, code].append(wall)
                cpus[workers, code].append(cpu)
                print(f"round {r + 1}: workers {workers}{' (before)' if code else ''}: {wall:.2f} s, {cpu:.2f} s of "
                      f"CPU; load average {os.getloadavg()[0]:.1f}", flush=True)
    one, c1 = statistics.median(walls[1, ""]), statistics.median(cpus[1, ""])
    for workers, code in runs[1:]:
        two, c2 = statistics.median(walls[workers, code]), statistics.median(cpus[workers, code])
        print(f"digits-lambda (10 trials){' before' if code else ''}: workers 1 {one:.2f} s, workers 2 {two:.2f} s "
              f"(medians of {args.rounds}): ratio {two / one:.3f}; CPU seconds {c1:.1f} and {c2:.1f}: on two free "
              f"cores, workers 2 would take at least {c2 / 2:.1f} s (ratio ≥ {c2 / 2 / c1:.2f} of workers 1's CPU)")


def _timeline(out: Path, started: float, ended: float) -> dict:
    """Where the whole command's wall time went, from the sweep folder's files (their mtimes, against the
    command's start and end): until sweep.yaml (start-up, every trial checked); until the first trial's
    config.yaml (the cluster's start, the first task's round trip, its config loaded); each trial from its
    config.yaml to its summary.json, on the worker it ran on (a trial starts on the worker that ended one
    last before it); the end of the last trial to best.yaml, and from best.yaml to the exit (the cluster's
    stop)."""
    def at(path: Path) -> float:
        return path.stat().st_mtime - started

    spans = sorted((at(d / "config.yaml"), at(d / "summary.json"), int(d.name.split("-")[1]))
                   for d in out.glob("trial-*"))
    lanes: list[list] = []  # per worker: its trials' spans in order
    for span in spans:
        free = [lane for lane in lanes if lane[-1][1] <= span[0]]
        if free:
            max(free, key=lambda lane: lane[-1][1]).append(span)
        else:
            lanes.append([span])
    last = max(s[1] for s in spans)
    return {"checked": at(out / "sweep.yaml"), "first": spans[0][0], "last": last, "best": at(out / "best.yaml"),
            "exit": ended - started, "lanes": lanes,
            "idle_end": [last - lane[-1][1] for lane in lanes]}


def timeline(args: argparse.Namespace) -> None:
    runs = [(2, ""), (1, "")] + ([(2, str(Path(args.before).resolve()))] if args.before else [])
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for workers, code in (runs if r % 2 == 0 else runs[::-1]):
                out = Path(tmp) / "out"
                shutil.rmtree(out, ignore_errors=True)
                started = time.time()
                subprocess.run([sys.executable, "-m", "nettrain", "sweep", str(GRID), "--workers", str(workers),
                                "--out", str(out)], check=True, env=dict(ENV, PYTHONPATH=code) if code else ENV,
                               capture_output=True, cwd=tmp)  # (not this checkout: _sweep_seconds)
                t = _timeline(out, started, time.time())
                lanes = "; ".join(" ".join(f"{k}:{a:.2f}-{b:.2f}" for a, b, k in lane) for lane in t["lanes"])
                print(f"workers {workers}{' (before)' if code else ''}: checked {t['checked']:.2f} s, first trial "
                      f"{t['first']:.2f} s, last trial ended {t['last']:.2f} s, best.yaml {t['best']:.2f} s, exit {t['exit']:.2f} s; workers idle "
                      f"at the end {', '.join(f'{x:.2f}' for x in t['idle_end'])} s; load average "
                      f"{os.getloadavg()[0]:.1f}\n    {lanes}", flush=True)


def _makespan(seconds: dict, order: list, workers: int = 2, ahead: bool = False) -> list:
    """When each of `workers` ends, trials taking `seconds` (by number) handed out in `order`: each to the worker
    free first (list scheduling); ahead: as Dask did with one trial submitted ahead per worker — a trial goes at
    its submission (when one ends) to the worker holding fewer trials (ties: the first), and waits there."""
    if not ahead:
        ends = [0.0] * workers
        for k in order:
            i = ends.index(min(ends))
            ends[i] += seconds[k]
        return ends
    queues: list[list] = [[] for _ in range(workers)]  # per worker: [end time of each trial it holds]
    todo, now = list(order), 0.0
    for _ in range(min(len(todo), 2 * workers)):  # the first submissions: two per worker
        i = min(range(workers), key=lambda w: len(queues[w]))
        queues[i].append((queues[i][-1] if queues[i] else 0.0) + seconds[todo.pop(0)])
    while todo:
        now = min(q[0] for q in queues if q)  # the next trial to end; the next one is submitted then
        for q in queues:
            if q and q[0] == now:
                q.pop(0)
                break
        i = min(range(workers), key=lambda w: len(queues[w]))
        queues[i].append(max(now, queues[i][-1] if queues[i] else now) + seconds[todo.pop(0)])
    return [max([now] + q) for q in queues]


def schedule(args: argparse.Namespace) -> None:
    """The grid's trials on two workers, from each trial's CPU seconds (its thread's, swept in this process:
    what the load leaves alone): when the workers end in each order, against half the sum."""
    from nettrain import config as config_mod
    from nettrain.sweep import load_sweep, run_sweep
    from nettrain.sweep.search import longest_first

    sweep = load_sweep(GRID, workers=1)
    with tempfile.TemporaryDirectory() as tmp:
        res = run_sweep(sweep, out=Path(tmp) / "w1")
    seconds = {k: t["cpu"] for k, t in res.timings.items()}
    base = config_mod.load_config(sweep.spec.base, sweep.sets)
    lpt = longest_first(sweep, base, range(sweep.total))
    print("trials' CPU seconds: " + ", ".join(f"{k}: {seconds[k]:.2f}" for k in sorted(seconds)))
    print(f"Σ {sum(seconds.values()):.2f} s; half {sum(seconds.values()) / 2:.2f} s")
    print("| order | when the two workers end | the first idle for |\n|---|---|---|")
    for name, order, ahead in (("by number, one submitted ahead per worker (before)", sorted(seconds), True),
                               ("by number, none ahead", sorted(seconds), False),
                               ("longest first (search.longest_first), none ahead (now)", lpt, False)):
        ends = sorted(_makespan(seconds, order, ahead=ahead))
        print(f"| {name} | {ends[0]:.2f} s, {ends[1]:.2f} s | {ends[1] - ends[0]:.2f} s |")


def cpu(args: argparse.Namespace) -> None:
    """The digits-lambda grid swept in this process (run_sweep) with workers 2, then 1: wall, this process's CPU,
    the worker processes' CPU (reaped children), and the fits' CPU and wall (SweepResult.timings)."""
    from nettrain.sweep import load_sweep, run_sweep

    print("| workers | wall | CPU of this process | CPU of the worker processes | Σ fits' CPU | Σ fits' wall |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for w in (2, 1):
            t, c, kids = time.perf_counter(), time.process_time(), _children_cpu()
            res = run_sweep(load_sweep(GRID, workers=w), out=Path(tmp) / f"w{w}")
            wall, own, kids = time.perf_counter() - t, time.process_time() - c, _children_cpu() - kids
            fits = res.timings.values()
            print(f"| {w} | {wall:.1f} s | {own:.1f} s | {kids:.1f} s | {sum(x['fit_cpu'] for x in fits):.1f} s | "
                  f"{sum(x['fit_seconds'] for x in fits):.1f} s |  (load average {os.getloadavg()[0]:.1f})", flush=True)


def _splits() -> tuple:
    """The digits' rows and nettrain's split of them as digits-lambda's trials see it, standardised by the
    train split's statistics."""
    import numpy as np

    from nettrain import config as config_mod
    from nettrain.data import split_indices
    from nettrain.problem import read_data
    from nettrain.sweep import load_sweep

    sweep = load_sweep(GRID)
    cfg = config_mod.load_config(sweep.spec.base, sweep.sets)
    table = read_data(cfg, cfg.data.path)
    s = cfg.data.split
    idx = split_indices(len(table.X), s.train, s.val, s.test, cfg.seed)
    X, y = np.asarray(table.X, dtype=float), np.asarray(table.y)
    mean, std = X[idx["train"]].mean(axis=0), X[idx["train"]].std(axis=0)
    std[std == 0] = 1.0
    return (X - mean) / std, y, idx, sweep, cfg


def sklearn(args: argparse.Namespace) -> None:
    import numpy as np
    from sklearn.metrics import log_loss
    from sklearn.model_selection import GridSearchCV, PredefinedSplit
    from sklearn.neural_network import MLPClassifier

    X, y, idx, sweep, cfg = _splits()
    rows = np.concatenate([idx["train"], idx["val"]])
    fold = np.r_[np.full(len(idx["train"]), -1), np.zeros(len(idx["val"]), dtype=int)]
    m = len(idx["train"])
    grid = {"alpha": [lam * m for lam in sweep.spec.grid["train.weight_decay"]],
            "hidden_layer_sizes": [tuple(layers[1:-1]) for layers in sweep.spec.grid["model.layers"]]}
    search = GridSearchCV(MLPClassifier(solver="lbfgs", activation="logistic", random_state=0, max_iter=3000),
                          grid, cv=PredefinedSplit(fold), n_jobs=2, refit=False)
    t = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X[rows], y[rows])
        wall = time.perf_counter() - t
        best = search.best_params_
        clf = MLPClassifier(solver="lbfgs", activation="logistic", random_state=0, max_iter=3000, **best)
        clf.fit(X[idx["train"]], y[idx["train"]])
    loss = log_loss(y[idx["val"]], clf.predict_proba(X[idx["val"]]), labels=clf.classes_)
    print(f"GridSearchCV(MLPClassifier(solver='lbfgs', max_iter=3000), n_jobs=2), {len(search.cv_results_['params'])} "
          f"candidates: {wall:.1f} s; best validation accuracy {search.best_score_:.4f} (alpha {best['alpha']:g} = "
          f"λ {best['alpha'] / m:g}, hidden {best['hidden_layer_sizes']}); its validation log-loss {loss:.4f}")
    for what, sets in (("gd, 3,000 epochs, as shipped", ()),
                       ("--set train.optimizer=lbfgs --set train.epochs=400", ("train.optimizer=lbfgs",
                                                                               "train.epochs=400", "log.every=20"))):
        with tempfile.TemporaryDirectory() as tmp:
            seconds = _sweep_seconds(2, Path(tmp) / "out", sets)
            with open(Path(tmp) / "out" / "trials.csv", newline="") as f:
                trials = list(csv.DictReader(f))
        acc = max(trials, key=lambda r: float(r["val_accuracy"]))
        low = min(trials, key=lambda r: float(r["val_data_cost"]))
        print(f"nettrain sweep digits-lambda --workers 2 ({what}): {seconds:.1f} s; best validation accuracy "
              f"{float(acc['val_accuracy']):.4f} (λ {acc['train.weight_decay']}, {acc['model.layers']}); lowest "
              f"validation J_data {float(low['val_data_cost']):.4f} (λ {low['train.weight_decay']}, "
              f"{low['model.layers']})")


def tpe(args: argparse.Namespace) -> None:
    out = Path(args.out)
    found = {}
    for name, path in (("grid", GRID), ("tpe", TPE)):
        shutil.rmtree(out / name, ignore_errors=True)
        t = time.perf_counter()
        sets = [a for x in (args.set if name == "tpe" else []) for a in ("--set", x)]
        subprocess.run([sys.executable, "-m", "nettrain", "sweep", str(path), "--out", str(out / name), *sets,
                        *(["--workers", str(args.workers)] if args.workers else [])], env=ENV, check=True,
                       capture_output=True)
        wall = time.perf_counter() - t
        with open(out / name / "trials.csv", newline="") as f:
            trials = list(csv.DictReader(f))
        done = [r for r in trials if r["status"] == "done"]
        best = min(done, key=lambda r: float(r["val_data_cost"]))
        epochs = sum(int(r["epochs"]) for r in trials if r["epochs"])
        found[name] = (float(best["val_data_cost"]), epochs)
        counts = {s: sum(r["status"] == s for r in trials) for s in ("done", "pruned", "failed")}
        print(f"{name}: {len(trials)} trials ({counts}), {wall:.1f} s; best val J_data {found[name][0]:.6f} "
              f"(λ {best['train.weight_decay']}, {best['model.layers']}); epochs {epochs}")
    (g, ge), (t_, te) = found["grid"], found["tpe"]
    print(f"TPE's best against the grid's: {(t_ - g) / g:+.2%}; its epochs against the grid's: {te / ge:.2f}×")


def figure(args: argparse.Namespace) -> None:
    """The README's validation curve of a digits-lambda sweep folder: train and val J_data against λ (log J_data
    axis: every λ), and the val J_data alone for λ ≤ 10⁻², where it turns back up as λ → 0 (linear axis)."""
    from nettrain import compare, plot

    s = compare.read_sweep(Path(args.folder))
    rows = [t for t in s.trials if t.get("status") == "done"]
    fig = plot.new_figure((9.6, 3.6))
    left, right = fig.subplots(1, 2)
    for ax, shown, cols, log in ((left, rows, ("data_cost", "val_data_cost"), True),
                                 (right, [r for r in rows if r["train.weight_decay"] <= 1e-2], ("val_data_cost",), False)):
        x = plot.sweep_axis(ax, [r["train.weight_decay"] for r in shown], log=True)
        for g, layers in enumerate(dict.fromkeys(plot.value_text(r["model.layers"]) for r in shown)):
            members = sorted((i for i, r in enumerate(shown) if plot.value_text(r["model.layers"]) == layers),
                             key=lambda i: x[i])
            for col in cols:
                train = col == "data_cost"
                ax.plot([x[i] for i in members], [shown[i][col] for i in members], linestyle="--" if train else "-",
                        marker="s" if train else "o", color=f"C{g}", markerfacecolor="white" if train else f"C{g}",
                        markersize=5, linewidth=1.2, label=f"{'train' if train else 'val'} J_data, {layers}")
        best = [(x[i], r["val_data_cost"]) for i, r in enumerate(shown) if r["trial"] == s.best]
        if best:
            ax.scatter(*zip(*best), facecolors="none", edgecolors="C3", s=150, linewidths=1.6, zorder=4,
                       label="best (best.yaml)")
        if log:
            plot.log_y(ax)
        ax.set_xlabel("λ (train.weight_decay)")
        ax.set_ylabel("J_data")
        ax.grid(True, alpha=0.3)
    left.set_title("train and validation J_data against λ", fontsize="medium")
    right.set_title("validation J_data, λ ≤ 10⁻²: it turns back up as λ → 0", fontsize="medium")
    left.legend(fontsize="x-small")
    plot.save_figure(fig, Path(args.out))
    print(f"wrote {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("overhead").add_argument("--trials", type=int, default=40)
    speed = sub.add_parser("speedup")
    speed.add_argument("--rounds", type=int, default=3)
    speed.add_argument("--before", default="", help="a checkout of the code before: its workers 2 run beside")
    line = sub.add_parser("timeline")
    line.add_argument("--rounds", type=int, default=1)
    line.add_argument("--before", default="", help="a checkout of the code before: its workers 2 run beside")
    sub.add_parser("cpu")
    sub.add_parser("schedule")
    sub.add_parser("sklearn")
    tpe_ = sub.add_parser("tpe")
    tpe_.add_argument("--out", default="runs/bench-sweep")
    tpe_.add_argument("--set", action="append", default=[], help="--set for the TPE sweep, e.g. train.epochs=3000")
    tpe_.add_argument("--workers", type=int, default=None, help="both sweeps' --workers (default: the files')")
    fig = sub.add_parser("figure")
    fig.add_argument("folder")
    fig.add_argument("--out", default="docs/images/digits-lambda.png")
    args = ap.parse_args()
    {"overhead": overhead, "speedup": speedup, "cpu": cpu, "timeline": timeline, "schedule": schedule, "sklearn": sklearn,
     "tpe": tpe, "figure": figure}[args.what](args)


if __name__ == "__main__":
    main()
