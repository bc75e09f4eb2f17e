"""nettrain sweep: each trial is the fit of its values bit for bit, in this process or on 2 Dask workers; the
sweep folder's files are what compare and report read; random and TPE draws, median pruning, a failing
trial, resume, and what a fit offers a sweep (summary.json, extra listeners). Tiny iris trials throughout."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pytest
from typer.testing import CliRunner

from nettrain import checkpoint as ckpt
from nettrain import compare
from nettrain import config as config_mod
from nettrain.cli import app
from nettrain.errors import ConfigError, Interrupted, RunIOError
from nettrain.sweep import load_sweep, run_sweep
from nettrain.sweep import folder as files
from nettrain.sweep.search import Known, propose

from .helpers import fit_config
from .runfolders import metrics_less_seconds

pytest.importorskip("optuna")
ROOT = Path(__file__).resolve().parent.parent
IRIS = ROOT / "configs" / "iris.yaml"
GRID = """name: lam
base: BASE
set: [train.epochs=30, log.every=10, log.checkpoint_every=20]
grid:
  train.weight_decay: [0, 1.0e-2]
  model.layers: [[4, 3, 3], [4, 8, 3]]
"""


def sweep_file(tmp_path: Path, text: str = GRID, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("BASE", str(IRIS)), encoding="utf-8")
    return path


def run(path: Path, out: Path, sets=(), workers=None, **kw):
    return run_sweep(load_sweep(path, list(sets), workers), out=out, **kw)


def summary_less_seconds(run_dir: Path) -> dict:
    """summary.json but for the seconds taken and the path of the checkpoint (each folder names its own)."""
    doc = json.loads((run_dir / "summary.json").read_text())
    doc.pop("seconds")
    for split in ("train", "val", "test"):
        if doc[split]:
            assert doc[split].pop("checkpoint") == str(run_dir / "last.npz")
    return doc


def assert_same_folder(a: Path, b: Path, differ: Optional[Callable[[Path, Path, str], None]] = None) -> None:
    """Bit for bit: every file of two run folders (summary.json and metrics.csv but for their seconds). differ:
    what must hold of a file whose bytes differ (it asserts), where no file may differ without one."""
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    for name in names:
        if name == "summary.json":
            assert summary_less_seconds(a) == summary_less_seconds(b)
        elif name == "metrics.csv":
            assert metrics_less_seconds(a / name) == metrics_less_seconds(b / name)
        elif (a / name).read_bytes() != (b / name).read_bytes():
            assert differ is not None, name
            differ(a, b, name)


def trials_less_seconds(folder: Path) -> list[dict]:
    with open(folder / "trials.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def here(tmp_path_factory):
    """The grid swept in this process: (sweep file, sweep folder, SweepResult)."""
    top = tmp_path_factory.mktemp("sweep")
    path = sweep_file(top)
    return path, top / "out", run(path, top / "out")


# ----------------------------------------------------------------------------- a trial is its own fit


def test_each_trial_is_the_fit_of_its_values_bit_for_bit(here, tmp_path):
    path, out, res = here
    sweep = load_sweep(path)
    assert [r["status"] for r in res.rows.values()] == ["done"] * 4 and res.failed == []
    for k, params in enumerate(sweep.grid):
        # what `nettrain fit iris.yaml --set train.epochs=30 … --set train.weight_decay=0.01 …` writes
        fit_config(IRIS, sweep.overrides(params), out=tmp_path / f"fit-{k}")
        assert_same_folder(out / f"trial-{k}", tmp_path / f"fit-{k}")
        row = res.rows[k]
        assert (row["train.weight_decay"], row["model.layers"]) == (params["train.weight_decay"], params["model.layers"])
        summary = json.loads((out / f"trial-{k}" / "summary.json").read_text())
        assert row["val_data_cost"] == summary["val"]["data_cost"] and row["cost"] == summary["train"]["cost"]
        assert row["epochs"] == 30 and row["val_accuracy"] == summary["val"]["accuracy"]


def test_two_workers_give_the_same_trials_and_folders(here, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from nettrain.sweep.executors import OnDask

    path, out, res = here
    handed = []  # (trial, trials under way when it was submitted)
    submit = OnDask.submit
    monkeypatch.setattr(OnDask, "submit", lambda ex, task: (handed.append((task.number, ex.busy())), submit(ex, task)))
    two = run(path, tmp_path / "two", workers=2)
    # longest first (8 hidden units before 3), none submitted ahead of a free worker; the numbers unchanged
    assert [k for k, _ in handed] == [1, 3, 0, 2] and max(busy for _, busy in handed) < 2
    assert list(res.rows) == [0, 1, 2, 3]  # in this process: in number order
    assert trials_less_seconds(tmp_path / "two") == trials_less_seconds(out)
    for k in res.rows:
        assert_same_folder(tmp_path / "two" / f"trial-{k}", out / f"trial-{k}")
    assert (tmp_path / "two" / "best.yaml").read_text() == (out / "best.yaml").read_text()
    assert two.best == res.best


def test_the_files_are_what_compare_and_report_read(here, tmp_path):
    path, out, res = here
    lines = (out / "trials.csv").read_text().splitlines()
    assert lines[0] == ("trial,status,train.weight_decay,model.layers,epochs,cost,data_cost,reg_cost,val_data_cost,"
                        "val_accuracy,seconds,error")
    assert lines[1].startswith('0,done,0,"[4, 3, 3]",30,') and lines[1].endswith(",")
    s = compare.read_sweep(out)
    assert (s.name, s.keys, s.metric, s.direction) == ("lam", ["train.weight_decay", "model.layers"], "val_data_cost",
                                                       "minimize")
    vals = {k: r["val_data_cost"] for k, r in res.rows.items()}
    assert s.best == res.best == min(vals, key=vals.get)
    assert [t["trial"] for t in s.trials] == [0, 1, 2, 3] and [r.path.name for r in s.runs] == [f"trial-{k}"
                                                                                                for k in range(4)]
    for t in s.trials:  # every cell read back as the value written
        assert {k: v for k, v in t.items() if k != "seconds"} == {k: v for k, v in res.rows[t["trial"]].items()
                                                                  if k != "seconds"}
    c = compare.compare([out])
    assert c.keys == ["train.weight_decay", "model.layers"]  # exactly the swept keys: the rest is the same
    assert [r["best"] for r in c.rows] == [k == res.best for k in range(4)]
    assert all(r["test_accuracy"] is not None for r in c.rows)  # from each trial's summary.json
    resolved = load_sweep(path).resolved()
    assert config_mod.read_document(out / "sweep.yaml").data == resolved


def test_compare_and_report_on_the_command_line(here, tmp_path):
    pytest.importorskip("matplotlib")
    path, out, res = here
    runner = CliRunner()
    r = runner.invoke(app, ["compare", str(out), "--json", "--out", str(tmp_path / "c.png")])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["keys"] == ["train.weight_decay", "model.layers"] and len(data["runs"]) == 4
    assert data["sweeps"][0]["best_trial"] == res.best
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    r = runner.invoke(app, ["compare", str(out), str(out / "trial-0")])
    assert r.exit_code == 0 and "model.layers" in r.stdout and "learning_rate" not in r.stdout
    r = runner.invoke(app, ["compare", str(out), "--out", str(tmp_path / "c.gif")])
    assert r.exit_code == 2
    r = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "r.html").read_text()
    assert page.count('<tr class="done') == 4 and f'<tr class="done best">' in page
    assert runner.invoke(app, ["report", str(out / "nope")]).exit_code == 7


def test_best_yaml_fits_to_the_best_trial(here, tmp_path):
    path, out, res = here
    best = config_mod.load_config(out / "best.yaml")
    assert best.name == "lam-best"
    trial = config_mod.load_config(out / f"trial-{res.best}" / "config.yaml")
    assert config_mod.diff_configs(config_mod.config_to_dict(best), config_mod.config_to_dict(trial)) == ["name"]
    fit_config(best, out=tmp_path / "again")
    a, _ = ckpt.load_checkpoint(tmp_path / "again" / "last.npz")
    b, _ = ckpt.load_checkpoint(out / f"trial-{res.best}" / "last.npz")
    assert all(np.array_equal(a.blocks()[k], b.blocks()[k]) for k in a.blocks())


def test_a_folder_in_use_is_refused_and_a_changed_sweep_is_not_resumed(here, tmp_path):
    path, out, res = here
    with pytest.raises(RunIOError, match="already exists: add --resume"):
        run(path, out)
    with pytest.raises(ConfigError, match=r"cannot resume .*: the sweep differs from its sweep\.yaml in set \(a "
                                          r"resume may change only workers, cluster\)"):
        run(path, out, ["train.learning_rate=0.1"], resume=True)
    again = run(path, out, resume=True)  # everything had ended: nothing runs again
    assert again.kept == 4 and again.rows == res.rows
    held = files.lock(out)  # as another sweep holds it while it runs
    try:
        with pytest.raises(RunIOError, match="is in use by another nettrain sweep: wait for it to end"):
            run(path, out, resume=True)
    finally:
        files.unlock(held)
    run(path, out, resume=True)


# ----------------------------------------------------------------------------- random and TPE draws


SPACE = """name: draws
base: BASE
set: [log.every=5]
search: {method: METHOD, trials: 6, seed: 7}
space:
  train.learning_rate: {log: [1.0e-3, 1.0]}
  train.epochs: {int: [5, 12]}
  train.momentum: {uniform: [0.5, 0.9]}
  model.layers: {choice: [[4, 3, 3], [4, 8, 3]]}
"""


def test_a_random_draw_depends_on_the_trial_number_alone(tmp_path):
    s = load_sweep(sweep_file(tmp_path, SPACE.replace("METHOD", "random")))
    history = [Known(i, propose(s, i), "done", 0.5 - i / 100) for i in range(4)]
    draws = [propose(s, k) for k in range(6)]
    assert draws == [propose(s, k, history) for k in range(6)]  # whatever has ended, in whatever order
    assert len({json.dumps(d, sort_keys=True) for d in draws}) == 6
    for d in draws:
        assert 1e-3 <= d["train.learning_rate"] <= 1 and d["train.epochs"] in range(5, 13)
        assert 0.5 <= d["train.momentum"] <= 0.9 and d["model.layers"] in ([4, 3, 3], [4, 8, 3])
    other = load_sweep(sweep_file(tmp_path, SPACE.replace("METHOD", "random").replace("seed: 7", "seed: 8"), "o.yaml"))
    assert propose(other, 0) != draws[0]


def test_tpe_learns_from_the_trials_and_repeats_exactly_for_a_seed(tmp_path):
    s = load_sweep(sweep_file(tmp_path, SPACE.replace("METHOD", "tpe")))
    # past TPE's 10 random start-up draws, a draw depends on the trials that ended (and on nothing else)
    history = [Known(i, propose(s, i), "done", float(i)) for i in range(12)]
    reversed_values = [Known(t.number, t.params, "done", 11.0 - t.value) for t in history]
    assert propose(s, 12, history) == propose(s, 12, history)
    assert propose(s, 12, history) != propose(s, 12, reversed_values)
    a, b = run(Path(s.doc.source), tmp_path / "a"), run(Path(s.doc.source), tmp_path / "b")
    assert trials_less_seconds(tmp_path / "a") == trials_less_seconds(tmp_path / "b")
    assert [r["status"] for r in a.rows.values()] == ["done"] * 6 and a.best == b.best
    for k, row in a.rows.items():  # each trial is still the fit of its values
        assert config_mod.diff_configs(
            config_mod.read_document(tmp_path / "a" / f"trial-{k}" / "config.yaml").data,
            config_mod.config_to_dict(config_mod.load_config(IRIS, s.overrides({key: row[key] for key in s.keys})))
        ) == []


# ----------------------------------------------------------------------------- failures, pruning, resume


def test_a_diverging_trial_fails_with_its_reason_and_the_sweep_goes_on(tmp_path):
    path = sweep_file(tmp_path, GRID.replace("grid:\n  train.weight_decay: [0, 1.0e-2]\n  model.layers: "
                                             "[[4, 3, 3], [4, 8, 3]]", "grid: {train.learning_rate: [0.5, 1.0e+100, 0.3]}"))
    r = CliRunner().invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert r.exit_code == 9, r.output
    rows = files.read_trials(tmp_path / "out")[1]
    assert [rows[k]["status"] for k in range(3)] == ["done", "failed", "done"]
    assert rows[1]["error"].startswith("diverged: the cost became non-finite at epoch ")
    assert rows[1]["epochs"] is None and rows[1]["val_data_cost"] is None
    assert "trial-1    failed  train.learning_rate=1e+100  error: diverged" in r.stdout
    assert "best: trial-" in r.stdout and (tmp_path / "out" / "best.yaml").exists()
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("nettrain: failed trials: 1 of 3 trials failed "
                                                            "(trial-1: diverged: ")


def test_median_pruning_stops_a_hopeless_trial(tmp_path):
    """Trials 0 and 1 end done (startup_trials: 2); trial 2's learning rate is far too large: its val J_data at
    epoch 5 is above theirs, so it stops there, pruned, its folder kept; trial 3 is good and runs on."""
    path = sweep_file(tmp_path, """name: prune
base: BASE
set: [train.epochs=60, log.every=5]
grid: {train.learning_rate: [0.5, 0.4, 50, 0.45]}
prune: {method: median, warmup: 0, startup_trials: 2}
""")
    res = run(path, tmp_path / "out")
    rows = res.rows
    assert [rows[k]["status"] for k in range(4)] == ["done", "done", "pruned", "done"]
    assert rows[2]["epochs"] == 5 and rows[3]["epochs"] == 60
    steps = [files_steps(tmp_path / "out" / f"trial-{k}") for k in range(3)]
    assert steps[2][5] > max(steps[0][5], steps[1][5])  # worse than the median of the two at epoch 5
    summary = json.loads((tmp_path / "out" / "trial-2" / "summary.json").read_text())
    assert summary["reason"] == "pruned" and summary["epoch"] == 5
    assert ckpt.read_meta(tmp_path / "out" / "trial-2" / "last.npz")["epoch"] == 5
    assert compare.read_sweep(tmp_path / "out").trials[2]["status"] == "pruned"


def files_steps(run_dir: Path) -> dict:
    with open(run_dir / "metrics.csv", newline="") as f:
        return {int(r["epoch"]): float(r["val_data_cost"]) for r in csv.DictReader(f) if r["val_data_cost"]}


class StopAfter:
    """A sweep reporter that presses Ctrl-C after n trials have ended."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def start(self, info):
        pass

    def note(self, text):
        pass

    def trial(self, row):
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


def test_a_stopped_sweep_resumes_to_the_uninterrupted_result(here, tmp_path):
    path, out, res = here
    with pytest.raises(Interrupted) as e:
        run(path, tmp_path / "s", reporter=StopAfter(2))
    assert f"continue with nettrain sweep {path} --resume --out {tmp_path / 's'}" in str(e.value)
    assert "stopped with 2 of 4 trials ended" in str(e.value)
    # as a kill leaves it: trial 2 under way, half written
    rows = files.read_trials(tmp_path / "s")[1]
    rows[2] = {"trial": 2, "status": "running", "train.weight_decay": 0.01, "model.layers": [4, 3, 3]}
    files.write_trials(tmp_path / "s", files.read_trials(tmp_path / "s")[0], rows)
    (tmp_path / "s" / "trial-2").mkdir()
    (tmp_path / "s" / "trial-2" / "metrics.csv").write_text("epoch,cost\n0,1.0\n")
    again = run(path, tmp_path / "s", resume=True)
    assert again.kept == 2
    assert trials_less_seconds(tmp_path / "s") == trials_less_seconds(out)
    for k in range(4):
        assert_same_folder(tmp_path / "s" / f"trial-{k}", out / f"trial-{k}")


class StartInfo(StopAfter):
    """A sweep reporter that keeps what the sweep said as it started."""

    def __init__(self) -> None:
        super().__init__(0)

    def start(self, info):
        self.info = info


def test_a_grid_handed_out_longest_first_resumes_the_numbers_it_had_not_started(here, tmp_path):
    """A sweep killed as two workers ran trials 1 and 3 first: trial 1 ended, trial 3 running, 0 and 2 never
    started. The resume starts trial 3 over and runs 0 and 2: the uninterrupted sweep's files."""
    path, out, _ = here
    header, rows = files.read_trials(out)
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / files.SPEC).write_bytes((out / files.SPEC).read_bytes())
    sweep = load_sweep(path)
    fit_config(IRIS, sweep.overrides(sweep.grid[1]), out=folder / "trial-1")  # what trial 1 is (the first test)
    (folder / "trial-3").mkdir()
    (folder / "trial-3" / "metrics.csv").write_text("epoch,cost\n0,1.0\n")
    files.write_trials(folder, header, {1: rows[1], 3: {**rows[3], "status": "running"}})
    seen = StartInfo()
    again = run(path, folder, resume=True, reporter=seen)
    assert again.kept == 1 and seen.info["rerun"] == [3]  # 0 and 2 had not started: not said to start over
    assert trials_less_seconds(folder) == trials_less_seconds(out)
    for k in range(4):
        assert_same_folder(folder / f"trial-{k}", out / f"trial-{k}")


def test_a_trial_costs_its_epochs_times_the_layer_products_times_the_train_fraction(tmp_path):
    from nettrain.sweep.search import longest_first, trial_cost

    sweep = load_sweep(sweep_file(tmp_path))
    base = config_mod.load_config(IRIS, sweep.sets)  # 30 epochs, 70 % of the rows to train on
    assert [trial_cost(p, base) for p in sweep.grid] == pytest.approx([441.0, 1176.0, 441.0, 1176.0])  # 30·21·0.7
    assert longest_first(sweep, base, range(4)) == [1, 3, 0, 2] and longest_first(sweep, base, [2, 0]) == [0, 2]
    # a swept layer, epochs or split, however the key names it
    assert trial_cost({"model.layers.1": 20, "train.epochs": 10}, base) == pytest.approx(10 * (80 + 60) * 0.7)
    assert trial_cost({"data.split": {"train": 0.5, "val": 0.5}}, base) == pytest.approx(30 * 56 * 0.5)
    assert trial_cost({"model.layers": [4, 3, 3], "data.split.train": 0.4}, base) == pytest.approx(30 * 21 * 0.4)
    assert trial_cost({"model.layers": "wide"}, base) == trial_cost({}, base) == pytest.approx(1176.0)  # the base's


# ----------------------------------------------------------------------------- what a fit offers a sweep


def test_a_fit_ends_with_summary_json_as_eval_gives_each_split(tmp_path):
    from nettrain.evaluation import evaluate_run

    res = fit_config(IRIS, ["train.epochs=15", "log.every=5"], out=tmp_path / "run")
    doc = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (doc["epoch"], doc["reason"]) == (15, "done") and 0 < doc["seconds"] < 60
    for split in ("train", "val", "test"):
        assert doc[split] == json.loads(json.dumps(evaluate_run(tmp_path / "run" / "last.npz", None, split)))
    assert doc["train"]["cost"] == res.train["cost"] and doc["test"]["m"] == 22
    # killed between the last save and summary.json: the resume (with nothing left to train) writes it, and
    # only then
    (tmp_path / "run" / "summary.json").unlink()
    fit_config(IRIS, ["train.epochs=15", "log.every=5"], out=tmp_path / "run", resume=True)
    again = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (again["reason"], again["test"]) == ("done", doc["test"])
    before = (tmp_path / "run" / "summary.json").stat().st_mtime_ns
    fit_config(IRIS, ["train.epochs=15", "log.every=5"], out=tmp_path / "run", resume=True)
    assert (tmp_path / "run" / "summary.json").stat().st_mtime_ns == before
    fit_config(IRIS, ["train.epochs=5", "data.split={train: 1.0}"], out=tmp_path / "all")
    doc = json.loads((tmp_path / "all" / "summary.json").read_text())
    assert doc["val"] is None and doc["test"] is None and doc["train"]["m"] == 150


def test_an_extra_listener_stops_a_fit_with_its_own_reason(tmp_path):
    from nettrain.sweep.pruning import Stop

    seen = []

    def stop_at_7(event):
        seen.append(event.step.epoch)
        return Stop("pruned: enough") if event.step.epoch == 7 else None

    res = fit_config(IRIS, ["train.epochs=20"], out=tmp_path / "run", listeners=[stop_at_7])
    assert (res.epoch, res.reason) == (7, "pruned") and "pruned: enough" in res.notes
    assert seen == list(range(8))
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["reason"] == "pruned"
    res = fit_config(IRIS, ["train.epochs=20"], out=tmp_path / "plain", listeners=[lambda e: "why not" if
                                                                                     e.step.epoch == 3 else None])
    assert (res.epoch, res.reason, res.notes[0]) == (3, "early stopped", "why not")


def test_successive_halving_sees_the_earlier_trials_as_it_would_have_recorded_them_live():
    """The pruner's study is rebuilt for each trial from the ended ones (search.rung_values): the same rung values
    Optuna's SuccessiveHalvingPruner records as a trial runs, so the same decisions."""
    optuna = pytest.importorskip("optuna")
    from nettrain.sweep import search

    curves = {0: [1.0, 0.8, 0.6, 0.5, 0.45, 0.4, 0.38, 0.37, 0.36], 1: [2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.2],
              2: [0.9, 0.7, 0.5, 0.42, 0.4, 0.35, 0.33, 0.32, 0.31], 3: [1.5, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7]}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    live = optuna.create_study(pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=100, reduction_factor=3,
                                                                             min_early_stopping_rate=0))
    recorded, pruned_at = {}, {}
    for k, curve in curves.items():
        trial = live.ask()
        for i, v in enumerate(curve):
            trial.report(v, 100 * (i + 1))
            if trial.should_prune():
                pruned_at[k] = 100 * (i + 1)
                break
        state = optuna.trial.TrialState.PRUNED if k in pruned_at else optuna.trial.TrialState.COMPLETE
        live.tell(trial, None if k in pruned_at else curve[-1], state=state)
        frozen = live.trials[-1]
        recorded[k] = {a: v for a, v in frozen.system_attrs.items() if a.startswith("completed_rung_")}
        steps = dict(frozen.intermediate_values)
        assert search.rung_values(steps, 100, 3) == recorded[k], k
    assert pruned_at == {1: 100, 3: 100}  # worse than the best third at the first rung
