"""nettrain.compare and its terminal tables: real run and sweep folders (trained here), their numbers read
back against metrics.csv and summary.json, only the keys that differ, sweeps in trial order."""

import csv
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from nettrain import compare, plot
from nettrain.errors import NettrainError, RunIOError, UsageError
from nettrain.render import compare as render

from .runfolders import ROOT, fit_run, make_sweep

IRIS = ROOT / "configs" / "iris.yaml"
SHORT = {"train.epochs": 20, "log.every": 10}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """a, b: iris runs differing in λ and epochs (and name); old: a run without summary.json; grid: a sweep of
    λ × layers, 12 trials, its trials.csv rows in a shuffled order (as parallel trials end)."""
    top = tmp_path_factory.mktemp("compare")
    fit_run(top / "a", IRIS, {**SHORT, "name": "a", "train.weight_decay": 0.001})
    fit_run(top / "b", IRIS, {**SHORT, "name": "b", "train.weight_decay": 0.01, "train.epochs": 25})
    fit_run(top / "old", IRIS, {**SHORT, "name": "old", "train.epochs": 15}, summary=False)
    grid = make_sweep(top / "grid", IRIS, {"train.weight_decay": [0, 1e-4, 1e-2, 0.1],
                                           "model.layers": [[4, 3, 3], [4, 8, 3], [4, 5, 3]]}, SHORT, name="grid")
    lines = (grid / "trials.csv").read_text().splitlines()
    body = lines[1:]
    random.Random(3).shuffle(body)
    assert [int(line.split(",")[0]) for line in body] != sorted(int(line.split(",")[0]) for line in body)
    (grid / "trials.csv").write_text("\n".join([lines[0], *body]) + "\n")
    return top


def last_seconds(run_dir: Path) -> str:
    with open(run_dir / "metrics.csv", newline="") as f:
        return [r["seconds"] for r in csv.DictReader(f) if r["seconds"]][-1]


def test_a_folder_from_before_the_seconds_column_and_without_summary_json_has_no_seconds(folders, tmp_path):
    shutil.copytree(folders / "old", tmp_path / "older")
    metrics = tmp_path / "older" / "metrics.csv"
    metrics.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in metrics.read_text().splitlines()))
    (row,) = compare.compare([tmp_path / "older"]).rows
    assert row["seconds"] is None and row["epochs"] == 15


def last_rows(run_dir: Path) -> tuple[dict, dict]:
    """metrics.csv's last row, and each column's last non-empty cell, read with the csv module alone."""
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    filled = {k: next(r[k] for r in reversed(rows) if r[k] != "") for k in rows[0]
              if any(r[k] != "" for r in rows)}
    return rows[-1], filled


# ----------------------------------------------------------------------------- the keys that differ


def test_the_table_lists_exactly_the_differing_keys(folders):
    c = compare.compare([folders / "a", folders / "b"])
    assert c.keys == ["train.weight_decay", "train.epochs"]  # not name; in the config's order
    assert [r["config"] for r in c.rows] == [{"train.weight_decay": 0.001, "train.epochs": 20},
                                             {"train.weight_decay": 0.01, "train.epochs": 25}]
    text = rendered(c.to_dict(), 80)
    assert "train.weight_decay" in text and "train.epochs" in text
    for same in ("learning_rate", "model.layers", "data.path", "name", "seed"):
        assert same not in text

    c = compare.compare([folders / "grid"])
    assert c.keys == ["train.weight_decay", "model.layers"]  # the swept keys, in trials.csv's order
    assert {json.dumps(r["config"]["model.layers"]) for r in c.rows} == {"[4, 3, 3]", "[4, 8, 3]", "[4, 5, 3]"}
    assert compare.compare([folders / "a"]).keys == []  # one run: nothing differs


def test_differing_keys_compares_lists_whole_and_a_section_once():
    base = {"name": "x", "model": {"layers": [4, 8, 3], "sparsity": None}, "train": {"weight_decay": 0.001}}
    other = {"name": "y", "model": {"layers": [4, 8, 3], "sparsity": {"target": 0.1, "weight": 3}},
             "train": {"weight_decay": 0.001}}
    third = {"name": "z", "model": {"layers": [4, 9, 3], "sparsity": {"target": 0.05, "weight": 3}},
             "train": {"weight_decay": 0.001}}
    assert compare.differing_keys([base, other]) == ["model.sparsity"]
    # model.sparsity.target differs between other and third, but model.sparsity already covers it
    assert compare.differing_keys([base, other, third]) == ["model.layers", "model.sparsity"]
    assert compare.differing_keys([other, third]) == ["model.layers", "model.sparsity.target"]
    assert compare.differing_keys([base, dict(base, name="w")]) == []


# ----------------------------------------------------------------------------- the numbers


def test_numbers_equal_metrics_csv_last_row_and_summary_json(folders):
    c = compare.compare([folders / "a", folders / "b"])
    for row, name in zip(c.rows, ("a", "b")):
        last, filled = last_rows(folders / name)
        assert row["epochs"] == int(last["epoch"]) == (20 if name == "a" else 25)
        for col in ("cost", "data_cost", "reg_cost"):
            assert row[col] == float(last[col])  # exactly: metrics.csv holds repr() of each float
        assert row["val_data_cost"] == float(filled["val_data_cost"])
        assert row["val_accuracy"] == float(filled["val_accuracy"])
        summary = json.loads((folders / name / "summary.json").read_text())
        assert row["test_data_cost"] == summary["test"]["data_cost"]
        assert row["test_accuracy"] == summary["test"]["accuracy"]
        assert row["seconds"] == summary["seconds"] and row["reason"] == "done"
    assert c.columns == ["epochs", "cost", "data_cost", "reg_cost", "val_data_cost", "val_accuracy",
                         "test_data_cost", "test_accuracy", "seconds"]
    # J = J_data + J_reg in every row, as metrics.csv writes them
    for row in c.rows:
        assert row["cost"] == pytest.approx(row["data_cost"] + row["reg_cost"], rel=1e-12)
    assert json.loads(json.dumps(c.to_dict(), allow_nan=False))["runs"][0]["run"] == str(folders / "a")


def test_val_data_cost_is_read_under_its_older_name_too(folders, tmp_path):
    shutil.copytree(folders / "a", tmp_path / "renamed")
    path = tmp_path / "renamed" / "metrics.csv"
    path.write_text(path.read_text().replace("val_data_cost", "val_cost", 1))  # as runs before the rename wrote it
    old, new = (compare.compare([p]).rows[0] for p in (folders / "a", tmp_path / "renamed"))
    assert new["val_data_cost"] == old["val_data_cost"] is not None
    assert new["val_epoch"] == old["val_epoch"] == 20


# ----------------------------------------------------------------------------- sweeps


def test_a_sweep_expands_in_trial_order(folders):
    runs, sweeps = compare.expand([folders / "grid", folders / "a"])
    assert [r.label for r in runs] == [str(folders / "grid" / f"trial-{i}") for i in range(12)] + [str(folders / "a")]
    (s,) = sweeps
    assert [t["trial"] for t in s.trials] == list(range(12))  # trial-10 after trial-9, whatever the file's order
    assert s.keys == ["train.weight_decay", "model.layers"] and s.metric == "val_data_cost"
    assert s.direction == "minimize" and s.name == "grid"
    # trials.csv's rows: λ the slower key, the layers the faster (grid order), values parsed
    assert [t["train.weight_decay"] for t in s.trials[:4]] == [0, 0, 0, 0.0001]
    assert s.trials[1]["model.layers"] == [4, 8, 3]
    best = min((t for t in s.trials), key=lambda t: t["val_data_cost"])
    assert s.best == best["trial"]
    c = compare.compare([folders / "grid"])
    assert [r["trial"] for r in c.rows if r["best"]] == [best["trial"]]
    assert all(r["status"] == "done" and r["sweep"] == str(folders / "grid") for r in c.rows)
    assert c.to_dict()["sweeps"][0]["best_trial"] == best["trial"]


def test_the_swept_keys_are_those_sweep_yaml_names(tmp_path):
    s = make_sweep(tmp_path / "s", IRIS, {"seed": [0, 1]}, SHORT)
    lines = (s / "trials.csv").read_text().splitlines()
    (s / "trials.csv").write_text("\n".join([lines[0] + ",worker"] + [line + ",w1" for line in lines[1:]]) + "\n")
    assert compare.read_sweep(s).keys == ["seed"]  # a column sweep.yaml does not sweep is not a key
    (s / "sweep.yaml").unlink()
    assert compare.read_sweep(s).keys == ["seed", "worker"]  # without sweep.yaml: every column of its own
    assert compare.compare([s]).keys == ["seed"]  # the configs differ in seed alone


def test_a_failed_trial_is_a_note(tmp_path):
    s = make_sweep(tmp_path / "s", IRIS, {"train.weight_decay": [0.001, 0.01]}, SHORT,
                   failed={0: "diverged at epoch 3"})
    c = compare.compare([s])
    assert [r["trial"] for r in c.rows] == [1]
    assert any("trial-0 (failed)" in n and "diverged at epoch 3" in n for n in c.notes)
    assert c.sweeps[0].best == 1


def test_a_running_trial_that_has_logged_nothing_is_a_note(tmp_path):
    s = make_sweep(tmp_path / "s", IRIS, {"train.weight_decay": [0.001, 0.01]}, SHORT)
    metrics = s / "trial-1" / "metrics.csv"
    metrics.write_text(metrics.read_text().splitlines()[0] + "\n")  # the header alone: epoch 0 not done yet
    (s / "trials.csv").write_text((s / "trials.csv").read_text().replace("\n1,done", "\n1,running"))
    c = compare.compare([s])
    assert [r["trial"] for r in c.rows] == [0]
    assert any("trial-1 (running) is left out" in n and "no rows yet" in n for n in c.notes)
    (s / "trial-0" / "metrics.csv").write_text(metrics.read_text())
    c = compare.compare([s])
    assert c.rows == [] and any("no run to compare" in n for n in c.notes)
    assert "no run to compare" in rendered(c.to_dict(), 80)


# ----------------------------------------------------------------------------- old and wrong folders


def test_an_old_run_folder_without_summary_json_works(folders):
    c = compare.compare([folders / "a", folders / "old"])
    a, old = c.rows
    last, _ = last_rows(folders / "old")
    assert old["epochs"] == 15 and old["cost"] == float(last["cost"])
    assert "test_accuracy" not in old and "reason" not in old
    assert old["seconds"] == float(last_seconds(folders / "old")) > 0  # metrics.csv's last (epoch 10's)
    assert a["test_accuracy"] is not None
    (note,) = [n for n in c.notes if "summary.json" in n]
    assert str(folders / "old") in note and str(folders / "a") not in note and "left out" in note
    # its validation numbers come from the last logged epoch (log.every = 10: epoch 10, not 15): said
    assert old["val_epoch"] == 10 and any("epoch 10" in n for n in c.notes)
    text = rendered(c.to_dict(), 80)
    assert "no summary.json" in text


@pytest.mark.parametrize("make, says", [
    (lambda p: p.mkdir(), "is neither a run folder"),
    (lambda p: (p.mkdir(), (p / "notes.txt").write_text("hello")), "is neither a run folder"),
    (lambda p: p.write_text("x"), "is not a folder"),
    (lambda p: None, "does not exist"),
    (lambda p: (p.mkdir(), (p / "sweep.yaml").write_text("name: s\n")), "no trials.csv"),
])
def test_a_folder_that_is_neither_a_run_nor_a_sweep_is_one_clear_line(tmp_path, make, says):
    target = tmp_path / "thing"
    make(target)
    with pytest.raises(RunIOError) as e:
        compare.compare([target])
    assert isinstance(e.value, NettrainError) and says in str(e.value) and str(target) in str(e.value)
    assert "\n" not in str(e.value)
    with pytest.raises(UsageError, match="at least one"):
        compare.compare([])


def test_hostile_files_are_one_line_errors(folders, tmp_path):
    shutil.copytree(folders / "a", tmp_path / "r")
    (tmp_path / "r" / "config.yaml").write_text("a: &x [1, 2]\nb: [*x, *x, *x]\n")
    with pytest.raises(RunIOError, match="anchors and aliases are not allowed"):
        compare.compare([tmp_path / "r"])
    (tmp_path / "r" / "config.yaml").write_text("- a list\n")
    with pytest.raises(RunIOError, match="does not hold a config"):
        compare.compare([tmp_path / "r"])
    shutil.copytree(folders / "a", tmp_path / "s")
    (tmp_path / "s" / "summary.json").write_text("{not json")
    c = compare.compare([tmp_path / "s"])  # an optional file: a note, and the row without it
    assert "test_accuracy" not in c.rows[0] and any("summary.json is not valid JSON" in n for n in c.notes)
    metrics = tmp_path / "s" / "metrics.csv"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join(lines[:-1] + ["," + lines[-1].split(",", 1)[1]]) + "\n")  # no epoch in the last row
    assert compare.compare([tmp_path / "s"]).rows[0]["epochs"] == 19
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "trials.csv").write_text("trial,status\nx,done\n")
    with pytest.raises(RunIOError, match=r"trials.csv: line 2, column trial: not a trial number"):
        compare.compare([tmp_path / "t"])


# ----------------------------------------------------------------------------- terminal tables


def rendered(data: dict, width: int) -> str:
    console = Console(width=width, record=True, force_terminal=False, color_system=None)
    render.render(console, data)
    return console.export_text()


def numbers_shown(data: dict) -> list[str]:
    return [render.number_text(r.get(c), c) for r in data["runs"] for c in data["columns"] if r.get(c) is not None]


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_width_and_cut_no_number(folders, width):
    data = compare.compare([folders / "grid", folders / "a", folders / "old"]).to_dict()
    text = rendered(data, width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    words = set(text.split())
    for shown in numbers_shown(data):
        assert shown in words, shown  # whole, as a word of its own
    assert "(best)" in text


def test_many_keys_wrap_into_more_tables_and_few_runs_transpose():
    keys = [f"section{i}.a_rather_long_key_{i}" for i in range(12)]
    runs = [{"run": f"runs/r{j}", "path": f"runs/r{j}", "config": {k: 10 ** -j * (i + 1) for i, k in enumerate(keys)},
             "epochs": 100, "cost": 1 / 3 + j, "data_cost": 0.123456789, "reg_cost": 1e-7, "seconds": 12.5}
            for j in range(6)]
    data = {"keys": keys, "columns": ["epochs", "cost", "data_cost", "reg_cost", "seconds"], "runs": runs,
            "sweeps": [], "notes": []}
    text = rendered(data, 80)
    assert max(len(line) for line in text.splitlines()) <= 80 and "…" not in text
    assert text.count("runs/r5") >= 3  # several tables, each naming the runs
    for shown in numbers_shown(data):
        assert shown in text.split()
    two = dict(data, runs=runs[:2])
    text = rendered(two, 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.count("runs/r1") == 1  # transposed: one column per run
    assert all(k in text for k in keys)


def test_a_hostile_run_name_is_printed_as_text():
    data = {"keys": [], "columns": ["cost"], "sweeps": [], "notes": ["[red]x[/red]"],
            "runs": [{"run": "[bold]runs/x[/bold]", "path": "x", "config": {}, "cost": 1.5}]}
    text = rendered(data, 80)
    assert "[bold]runs/x[/bold]" in text and "[red]x[/red]" in text


# ----------------------------------------------------------------------------- the figure


def test_the_comparison_figure(folders, tmp_path):
    c = compare.compare([folders / "grid", folders / "old"])
    out = compare.plot_comparison(c, tmp_path / "compare.png")
    from matplotlib.image import imread

    img = imread(out)
    assert img.shape[1] == 1100 and img.shape[0] > 800 and float(img[..., :3].var()) > 0.001


def test_lambda_zero_sits_left_of_the_smallest_positive_lambda():
    fig = plot.new_figure((4, 3))
    ax = fig.subplots()
    x = plot.sweep_axis(ax, [0, 1e-4, 1e-3, 0.01], log=True)
    assert x == [1e-5, 1e-4, 1e-3, 0.01] and ax.get_xscale() == "log"
    ticks = dict(zip(ax.get_xticks(), (t.get_text() for t in ax.get_xticklabels())))
    assert ticks[1e-5] == "0" and ticks[1e-4] == "0.0001" and ticks[0.01] == "0.01"
    assert any(t.get_text() == "//" for t in ax.texts)  # the break in the axis
    ax = fig.subplots()
    assert plot.sweep_axis(ax, [[4, 8, 3], [4, 5, 3], [4, 8, 3]]) == [0.0, 1.0, 0.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["[4, 8, 3]", "[4, 5, 3]"]
    assert plot.sweep_axis(fig.subplots(), [0.1, 0.2, 0.3]) == [0.1, 0.2, 0.3]  # within a decade: linear
    assert np.allclose(plot.sweep_axis(fig.subplots(), [1e-3, 1e-1]), [1e-3, 1e-1])
