"""prune: {method: halving}: the rungs' arithmetic, the plan's choices from hand-made trials, and tiny iris sweeps
in which every trial's folder is the fit of its values at the epochs it reached, bit for bit — with 1 worker or
2, and after a stop (or a kill in the middle of a continued rung) and --resume."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from nettrain import checkpoint as ckpt
from nettrain.errors import Interrupted
from nettrain.sweep import halving
from nettrain.sweep import folder as files
from nettrain.sweep.search import Known

from .helpers import fit_config
from . import test_sweep as sweep_tests
from .test_sweep import IRIS, StopAfter, run, sweep_file

pytest.importorskip("optuna")
# 7 trials; rungs: 7 to 10 epochs, the best 3 to 20, the best 1 to 60 (its own 3 rungs; a checkpoint every 5)
HALVING = """name: halving
base: BASE
set: [train.epochs=60, log.every=5, log.checkpoint_every=5]
grid: {train.learning_rate: [0.5, 0.4, 50, 0.45, 0.3, 0.2, 0.1]}
prune: {method: halving, min_epochs: 10, reduction: 2}
"""


def test_the_rungs_of_thirty_trials_of_3000_epochs():
    r = halving.Rungs(min_epochs=100, reduction=3, epochs=3000, trials=30)
    assert r.sizes() == [30, 10, 3, 1]
    assert [r.target(i, n) for i, n in enumerate(r.sizes())] == [100, 300, 900, 3000]  # one trial left: to E
    assert r.total_epochs() == 30 * 100 + 10 * 200 + 3 * 600 + 1 * 2100 == 8900 and r.jobs() == 44
    short = halving.Rungs(min_epochs=100, reduction=3, epochs=500, trials=30)
    assert short.sizes() == [30, 10, 3] and short.describe() == "30 to 100, 10 to 300, 3 to 500 epochs"
    assert short.total_epochs() == 3000 + 2000 + 600
    assert halving.Rungs(10, 2, 60, 1).sizes() == [1] and halving.Rungs(10, 2, 60, 1).target(0, 1) == 60


def assert_same_folder(a: Path, b: Path) -> None:
    """test_sweep's, but for the periodic checkpoints a continued trial wrote before its last rung: the same
    arrays and metadata, but for the config's train.epochs, which names the rung they were written in (as in
    any run resumed with more epochs)."""
    sweep_tests.assert_same_folder(a, b, differ=_earlier_rung)


def _earlier_rung(a: Path, b: Path, name: str) -> None:
    assert name.startswith("checkpoints/epoch-"), name
    metas = [ckpt.read_meta(f / name) for f in (a, b)]
    rung, final = (m["config"]["train"].pop("epochs") for m in metas)
    assert rung < final, name  # written in an earlier rung
    assert metas[0] == metas[1], name
    with np.load(a / name) as x, np.load(b / name) as y:
        assert sorted(x.files) == sorted(y.files)
        for f in x.files:
            if f != "meta":
                assert x[f].tobytes() == y[f].tobytes(), (name, f)


def known(k, status, epochs, steps, value=None):
    return Known(k, {}, status, value, steps, epochs)


def test_a_rung_takes_the_best_of_the_one_before_once_every_trial_has_ended_it():
    rungs = halving.Rungs(min_epochs=10, reduction=2, epochs=40, trials=5)  # 5 to 10, 2 to 20, 1 to 40
    assert rungs.sizes() == [5, 2, 1]
    trials = {0: known(0, "pruned", 10, {10: 0.5}), 1: known(1, "pruned", 10, {10: 0.3}),
              2: known(2, "failed", None, {}), 3: known(3, "pruned", 10, {10: 0.3})}
    p = halving.plan(rungs, trials, set(), "min")
    assert (p.rung, p.jobs, p.ended) == (0, [(4, 10, False)], 4)  # trial 4 not drawn yet: it starts from nothing
    assert halving.plan(rungs, trials, {4}, "min").jobs == []  # under way: wait for it
    trials[4] = known(4, "pruned", 10, {10: 0.3})
    p = halving.plan(rungs, trials, set(), "min")
    # the lowest numbers among equals; a failed trial last; the chosen continue their folders (resume)
    assert (p.rung, p.cohort, p.jobs) == (1, [1, 3], [(1, 20, True), (3, 20, True)])
    assert halving.plan(rungs, trials, set(), "max").cohort == [0, 1]  # the highest first, then trial 1
    trials[1] = known(1, "running", 10, {10: 0.3})  # continuing: it still counts as having ended rung 0
    trials[3] = known(3, "pruned", 20, {10: 0.3, 20: 0.1})
    assert halving.plan(rungs, trials, {1}, "min").jobs == [] and halving.plan(rungs, trials, {1}, "min").ended == 6
    trials[1] = known(1, "done", 15, {10: 0.3, 15: 0.2}, value=0.2)  # stopped at 15 on its own: done, final
    p = halving.plan(rungs, trials, set(), "min")
    assert (p.rung, p.cohort, p.jobs) == (2, [3], [(3, 40, True)])  # 0.1 at epoch 20 beats its 0.2
    trials[3] = known(3, "done", 40, {10: 0.3, 20: 0.1, 40: 0.05}, value=0.05)
    assert halving.plan(rungs, trials, set(), "min").finished


def epochs_column(folder: Path) -> dict:
    with open(folder / "trials.csv", newline="") as f:
        return {int(r["trial"]): (r["status"], int(r["epochs"])) for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def halved(tmp_path_factory):
    top = tmp_path_factory.mktemp("halving")
    path = sweep_file(top, HALVING)
    return path, top / "out", run(path, top / "out")


def test_each_trial_is_the_fit_of_its_values_at_the_epochs_it_reached(halved, tmp_path):
    path, out, res = halved
    # learning rates 0.5, 0.4, 0.45 lead at epoch 10; of them 0.5 leads at 20 and alone trains to 60
    assert epochs_column(out) == {0: ("done", 60), 1: ("pruned", 20), 2: ("pruned", 10), 3: ("pruned", 20),
                                  4: ("pruned", 10), 5: ("pruned", 10), 6: ("pruned", 10)}
    assert sum(r["epochs"] for r in res.rows.values()) == halving.Rungs(10, 2, 60, 7).total_epochs() == 140
    assert res.best == 0 and (out / "best.yaml").exists()
    sweep = res.sweep
    for k, row in res.rows.items():
        # what `nettrain fit iris.yaml --set … --set train.learning_rate=… --set train.epochs=<its epochs>` writes
        fit_config(IRIS, sweep.overrides(sweep.grid[k]) + [f"train.epochs={row['epochs']}"], out=tmp_path / f"{k}")
        assert_same_folder(out / f"trial-{k}", tmp_path / f"{k}")
        summary = json.loads((out / f"trial-{k}" / "summary.json").read_text())
        assert row["val_data_cost"] == summary["val"]["data_cost"] and summary["epoch"] == row["epochs"]
    # the rung values compared: epoch 10 of every trial, epoch 20 of the three the second rung took
    at10 = {k: files_val(out / f"trial-{k}", 10) for k in range(7)}
    assert sorted(at10, key=at10.get)[:3] == [0, 3, 1]
    assert files_val(out / "trial-0", 20) < min(files_val(out / f"trial-{k}", 20) for k in (1, 3))


def files_val(run_dir: Path, epoch: int) -> float:
    with open(run_dir / "metrics.csv", newline="") as f:
        return next(float(r["val_data_cost"]) for r in csv.DictReader(f) if int(r["epoch"]) == epoch)


@pytest.mark.robustness  # a LocalCluster's start: 5–15 s on a busy 2-core machine
def test_two_workers_run_the_same_rungs(halved, tmp_path):
    pytest.importorskip("distributed")
    path, out, res = halved
    run(path, tmp_path / "two", workers=2)
    assert epochs_column(tmp_path / "two") == epochs_column(out)
    for k in res.rows:
        assert_same_folder(tmp_path / "two" / f"trial-{k}", out / f"trial-{k}")


@pytest.mark.parametrize("stop", [3, 7, 10])
def test_a_stopped_sweep_resumes_to_the_same_rungs_and_folders(halved, tmp_path, stop):
    """Stopped in the first rung, as the second starts (trial 0 queued to continue), or within it; then a
    continued trial half-way to its rung, as a kill leaves it: --resume ends as the uninterrupted sweep."""
    path, out, res = halved
    with pytest.raises(Interrupted):
        run(path, tmp_path / "s", reporter=StopAfter(stop))
    rows = files.read_trials(tmp_path / "s")[1]
    if stop == 7:
        assert (rows[0]["status"], rows[0]["epochs"]) == ("running", 10)  # continuing, with its first rung's row
        sweep = res.sweep  # killed at epoch 15 of its way to 20: its last.npz there
        fit_config(IRIS, sweep.overrides(sweep.grid[0]) + ["train.epochs=15"], out=tmp_path / "s" / "trial-0",
                   resume=True)
        assert ckpt.read_meta(tmp_path / "s" / "trial-0" / "last.npz")["epoch"] == 15
    again = run(path, tmp_path / "s", resume=True)
    assert epochs_column(tmp_path / "s") == epochs_column(out) and again.best == res.best
    for k in res.rows:
        assert_same_folder(tmp_path / "s" / f"trial-{k}", out / f"trial-{k}")
