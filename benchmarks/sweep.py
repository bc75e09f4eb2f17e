"""nettrain sweep: its overhead per trial, the shipped digits grid on 1 and 2 workers, scikit-learn's
GridSearchCV on the same grid, and a TPE search with pruning against the full grid.

    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py overhead [--trials 40]
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py speedup [--rounds 3]
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py sklearn
    OPENBLAS_NUM_THREADS=1 python benchmarks/sweep.py tpe [--out runs/bench-sweep]
    python benchmarks/sweep.py figure runs/digits-lambda [--out docs/images/digits-lambda.png]

overhead: a grid of --trials iris trials of one epoch each (each fit a few ms), swept in this process
    (workers: 1) and on a LocalCluster of 2 workers. The overhead of a trial is what the sweep spends beyond
    its fit: (the loop's wall time × the trials at once − Σ the fits' own seconds) / trials, where the loop
    is from the first submission to the last result (the cluster's start-up, its workers' first imports and
    its stop are fixed costs, printed apart) and a fit's seconds are trainer.fit's alone. Per trial, that is
    loading its config, claiming and emptying its folder, the pruner's study when any, the task's round trip
    through the scheduler, trials.csv and best.yaml written (atomically, fsynced) and the progress line.
speedup: `nettrain sweep configs/sweeps/digits-lambda.yaml` (10 trials) as a whole command, with --workers 1
    and --workers 2, --rounds times each, alternating; the median walls and their ratio.
sklearn: GridSearchCV(MLPClassifier(solver="lbfgs"), n_jobs=2) over the same grid — λ as alpha = λ·m (m the
    train split's rows: scikit-learn divides its L2 term by m), the two widths as hidden_layer_sizes — on
    the same rows and splits (nettrain's seeded split; the inputs standardised with the train split's
    statistics, as nettrain does), scored on the validation split (PredefinedSplit, refit=False): its wall,
    best validation accuracy and that trial's validation log-loss (J_data), beside the nettrain sweep's.
tpe: `nettrain sweep configs/sweeps/digits-tpe.yaml` (30 TPE trials, median pruning) and the digits-lambda grid
    into --out: the best val J_data each found, and the epochs each spent (Σ trials.csv's epochs).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GRID = ROOT / "configs" / "sweeps" / "digits-lambda.yaml"
TPE = ROOT / "configs" / "sweeps" / "digits-tpe.yaml"
ENV = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))


class Clock:
    """A sweep reporter that notes when the loop starts (after the executor is up) and each trial ends."""

    def __init__(self) -> None:
        self.started = self.last = 0.0

    def start(self, info: dict) -> None:
        self.started = time.perf_counter()

    def trial(self, row: dict) -> None:
        self.last = time.perf_counter()

    def note(self, text: str) -> None:
        pass


def overhead(args: argparse.Namespace) -> None:
    import json

    from nettrain.sweep import load_sweep, run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.yaml"
        path.write_text(f"name: tiny\nbase: {ROOT / 'configs' / 'iris.yaml'}\nset: [train.epochs=1, log.every=1]\n"
                        f"grid: {{seed: {list(range(args.trials))}}}\n")
        print("| workers | trials | whole sweep | fixed (start-up, stop) | loop | Σ fits | overhead per trial | of it on "
              "the worker |")
        print("|---|---|---|---|---|---|---|---|")
        for workers in (1, 2):
            clock = Clock()
            t0 = time.perf_counter()
            res = run_sweep(load_sweep(path, workers=workers), out=Path(tmp) / f"w{workers}", reporter=clock)
            wall = time.perf_counter() - t0
            loop = clock.last - clock.started
            fit = [json.loads((res.folder / f"trial-{k}" / "summary.json").read_text())["seconds"] for k in res.rows]
            fits = sum(fit)
            per = (loop * workers - fits) / len(res.rows)
            worker = statistics.mean(res.rows[k]["seconds"] - f for k, f in zip(res.rows, fit))  # the task beyond the fit
            print(f"| {workers} | {len(res.rows)} | {wall:.2f} s | {wall - loop:.2f} s | {loop:.2f} s | {fits:.2f} s "
                  f"| {per * 1000:.0f} ms | {worker * 1000:.0f} ms |")


def _sweep_seconds(workers: int, out: Path, sets: tuple = ()) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nettrain", "sweep", str(GRID), "--workers", str(workers), "--out",
                    str(out), *(a for x in sets for a in ("--set", x))], check=True, env=ENV, capture_output=True)
    return time.perf_counter() - t


def speedup(args: argparse.Namespace) -> None:
    walls: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for workers in ((1, 2) if r % 2 == 0 else (2, 1)):
                walls[workers].append(_sweep_seconds(workers, Path(tmp) / "out"))
                print(f"round {r + 1}: workers {workers}: {walls[workers][-1]:.1f} s", flush=True)
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    print(f"digits-lambda (10 trials): workers 1 {one:.1f} s, workers 2 {two:.1f} s (medians of {args.rounds}): "
          f"ratio {two / one:.2f}")


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
        subprocess.run([sys.executable, "-m", "nettrain", "sweep", str(path), "--out", str(out / name)], env=ENV,
                       check=True, capture_output=True)
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
    sub.add_parser("speedup").add_argument("--rounds", type=int, default=3)
    sub.add_parser("sklearn")
    sub.add_parser("tpe").add_argument("--out", default="runs/bench-sweep")
    fig = sub.add_parser("figure")
    fig.add_argument("folder")
    fig.add_argument("--out", default="docs/images/digits-lambda.png")
    args = ap.parse_args()
    {"overhead": overhead, "speedup": speedup, "sklearn": sklearn, "tpe": tpe, "figure": figure}[args.what](args)


if __name__ == "__main__":
    main()
