"""nettrain's Python API: fit, load, gradcheck and explain give what the CLI gives, and raise its errors.

Each function is checked against its command run on the same files (the same weights bit for bit,
the same --json dict), and for what a notebook needs: rows of examples in, nothing printed.
"""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import nettrain
from nettrain import checkpoint as ckpt
from nettrain.cli import app
from nettrain.render.console import json_safe as _json_safe
from nettrain.data import read_table
from nettrain.errors import CheckpointError, ConfigError, DataError, RunIOError, UsageError
from .runfolders import metrics_less_seconds

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def cli(*args):
    res = runner.invoke(app, [str(a) for a in args])
    return res


def weights(run_dir: Path) -> dict:
    params, _ = ckpt.load_checkpoint(Path(run_dir) / "last.npz")
    return params.blocks()


IRIS = {"train.epochs": 60, "log.every": 20}
IRIS_SET = ["train.epochs=60", "log.every=20"]


# ----------------------------------------------------------------------------- import


def test_import_nettrain_loads_nothing_heavy():
    code = ("import sys, nettrain; heavy = {'numpy', 'pydantic', 'yaml', 'rich', 'typer', 'sklearn', 'matplotlib'};"
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"
    assert {"fit", "load", "gradcheck", "explain"} <= set(dir(nettrain))


def test_gradcheck_and_explain_are_the_api_functions_and_nothing_else():
    """One meaning per name: nettrain.gradcheck and nettrain.explain are functions; the numerical gradient
    and the walk through backprop are the modules numgrad and walkthrough."""
    code = ("import types, nettrain, nettrain.numgrad as ng, nettrain.walkthrough as wt;"
            "assert type(nettrain.gradcheck) is types.FunctionType and type(nettrain.explain) is types.FunctionType;"
            "assert type(ng) is types.ModuleType and ng.check and wt.report;"
            "print(nettrain.gradcheck('configs/xor.yaml', sample=2)['passed'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr


# ----------------------------------------------------------------------------- fit


def test_fit_gives_the_cli_run_bit_for_bit(proj, capsys):
    run = nettrain.fit("configs/iris.yaml", IRIS, out="api")
    assert capsys.readouterr().out == ""  # nothing printed without progress=True
    res = cli("fit", "configs/iris.yaml", *[a for s in IRIS_SET for a in ("--set", s)], "--out", "cli")
    assert res.exit_code == 0, res.output
    assert metrics_less_seconds(proj / "api" / "metrics.csv") == metrics_less_seconds(proj / "cli" / "metrics.csv")
    a, b = weights(proj / "api"), weights(proj / "cli")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert run.run_dir == Path("api") and run.epoch == 60 and run.reason == "done"


def test_the_run_holds_history_cost_metrics_and_model(proj):
    run = nettrain.fit("configs/iris.yaml", IRIS, out="runs/iris")
    h = run.history
    assert list(h)[:5] == ["epoch", "cost", "data_cost", "reg_cost", "grad_norm"]
    assert h["epoch"].tolist() == list(range(61))
    assert np.allclose(h["cost"], h["data_cost"] + h["reg_cost"], rtol=1e-15, atol=0)
    assert np.isnan(h["grad_norm"][1]) and not np.isnan(h["grad_norm"][20])  # filled every log.every epochs
    assert list(h)[-1] == "seconds" and np.array_equal(np.isnan(h["seconds"]), np.isnan(h["grad_norm"]))  # so is it
    assert np.all(np.diff(h["seconds"][~np.isnan(h["seconds"])]) >= 0)
    assert run.cost == {"cost": h["cost"][-1], "data_cost": h["data_cost"][-1], "reg_cost": h["reg_cost"][-1]}
    assert set(run.test) >= {"cost", "data_cost", "reg_cost", "accuracy", "confusion"}
    assert run.model.epoch == 60 and run.model.labels == ["setosa", "versicolor", "virginica"]
    assert np.array_equal(run.model.W[1], weights(proj / "runs/iris")["W1"])


def test_a_dict_config_is_the_file_config(proj):
    d = yaml.safe_load((proj / "configs" / "iris.yaml").read_text())
    d["data"]["path"] = "data/iris.csv"  # a dict's relative paths are read from the current folder
    run = nettrain.fit(d, IRIS, out="from-dict")
    nettrain.fit("configs/iris.yaml", IRIS, out="from-file")
    assert run.epoch == 60
    a, b = weights(proj / "from-dict"), weights(proj / "from-file")
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_fit_with_progress_prints_what_the_cli_prints(proj, capsys):
    nettrain.fit("configs/xor.yaml", {"train.epochs": 100, "log.every": 50}, out="p", progress=True)
    out = capsys.readouterr().out
    assert "training [2, 3, 1] on 4 examples with gd, epoch 0 → 100; run folder p" in out
    assert "J_data" in out and "saved p/last.npz; evaluate with: nettrain eval p" in out


@pytest.mark.parametrize(
    "config, overrides, error, message",
    [
        ({"data": {"path": "data/iris.csv"}, "model": {"layers": [4, 3]}, "train": {"learning_rat": 1}}, None,
         ConfigError, "config dict: train.learning_rat: unknown key 'learning_rat' in train, did you mean 'learning_rate'?"),
        ("configs/iris.yaml", {"train.learning_rate": -1}, ConfigError,
         "overrides['train.learning_rate']=-1: must be greater than 0 (got -1)"),
        ("configs/iris.yaml", ["train.learning_rate=-1"], ConfigError,
         "--set train.learning_rate=-1: must be greater than 0 (got -1)"),
        ("configs/nope.yaml", None, ConfigError, "configs/nope.yaml: no such config file"),
        (["not", "a", "config"], None, ConfigError, "config must be a path to a YAML file or a dict of its keys (got list)"),
    ],
)
def test_fit_refusals_are_nettrain_errors_with_the_cli_messages(proj, capsys, config, overrides, error, message):
    with pytest.raises(error) as info:
        nettrain.fit(config, overrides)
    assert str(info.value) == message
    assert capsys.readouterr().out == "" and not (proj / "runs").exists()


def test_fit_into_a_used_folder_is_refused_in_the_words_of_its_caller(proj):
    """The API's message names its own arguments, the CLI's its flags; overwrite replaces a run folder, and only
    a run folder, deliberately."""
    nettrain.fit("configs/xor.yaml", {"train.epochs": 5}, out="x")
    with pytest.raises(RunIOError) as info:
        nettrain.fit("configs/xor.yaml", {"train.epochs": 5}, out="x")
    assert "resume=True" in str(info.value) and "overwrite=True" in str(info.value) and "--" not in str(info.value)
    res = cli("fit", "configs/xor.yaml", "--set", "train.epochs=5", "--out", "x")
    assert res.exit_code == RunIOError.exit_code and "--resume" in res.stderr and "--overwrite" in res.stderr
    assert "resume=True" not in res.stderr
    assert nettrain.fit("configs/xor.yaml", {"train.epochs": 9}, out="x", resume=True).epoch == 9
    again = nettrain.fit("configs/xor.yaml", {"train.epochs": 3}, out="x", overwrite=True)
    assert again.epoch == 3 and list(again.history["epoch"]) == [0, 1, 2, 3]  # a new run, not the old one's rows
    assert cli("fit", "configs/xor.yaml", "--set", "train.epochs=4", "--out", "x", "--overwrite").exit_code == 0
    (proj / "notes").mkdir()
    (proj / "notes" / "mine.txt").write_text("keep me")
    with pytest.raises(RunIOError, match="is not a run folder"):
        nettrain.fit("configs/xor.yaml", out="notes", overwrite=True)
    assert (proj / "notes" / "mine.txt").read_text() == "keep me"
    with pytest.raises(ConfigError, match="give one of them"):
        nettrain.fit("configs/xor.yaml", out="x", overwrite=True, resume=True)


# ----------------------------------------------------------------------------- load


@pytest.fixture
def iris_run(proj):
    nettrain.fit("configs/iris.yaml", IRIS, out="runs/iris")
    return proj / "runs" / "iris"


def test_load_predicts_what_nettrain_predict_writes(iris_run):
    model = nettrain.load(iris_run)
    table = read_table("data/iris.csv")
    res = cli("predict", iris_run, "--data", "data/iris.csv")
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["predicted_species", "p_setosa", "p_versicolor", "p_virginica"]
    assert model.predict(table.X).tolist() == [r[0] for r in rows[1:]]
    proba = model.predict_proba(table.X.tolist())  # nested lists too
    assert np.array_equal(proba, np.array([[float(v) for v in r[1:]] for r in rows[1:]]))
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_load_evaluates_as_nettrain_eval_does(iris_run):
    model = nettrain.load(iris_run / "last.npz")
    table = read_table("data/iris.csv")
    res = cli("eval", iris_run, "--data", "data/iris.csv", "--json")
    expected = json.loads(res.stdout)
    got = model.evaluate(table.X, table.y)
    assert got.pop("data") == "arrays (150 examples)" and expected.pop("data").startswith("data/iris.csv")
    assert got == expected
    assert model.cost(table.X, table.y) == {k: expected[k] for k in ("cost", "data_cost", "reg_cost")}


def test_one_family_of_cost_names_everywhere(iris_run):
    """run.cost, model.cost(), explain()["cost"], eval --json and summary.json name J and its parts alike."""
    table = read_table("data/iris.csv")
    names = {"cost", "data_cost", "reg_cost"}
    run_cost = nettrain.fit("configs/iris.yaml", IRIS, out="runs/iris2").cost
    explained = nettrain.explain(iris_run)["cost"]
    evaluated = json.loads(cli("eval", iris_run, "--json").stdout)
    summary = json.loads((iris_run / "summary.json").read_text())
    assert set(run_cost) == set(nettrain.load(iris_run).cost(table.X, table.y)) == names
    assert set(explained) == names | {"example"} and names <= set(evaluated) and names <= set(summary["test"])
    assert explained["cost"] == run_cost["cost"]  # the same batch J, at the same weights, under the same name


def test_the_model_holds_the_tutorials_arrays(iris_run):
    model = nettrain.load(iris_run)
    assert sorted(model.W) == [1, 2] and model.W[1].shape == (8, 4) and model.b[2].shape == (3,)
    assert model.task == "classification" and model.config["model"]["layers"] == [4, 8, 3]
    # the outputs are h(x) of the standardised rows: the tutorial's forward pass, by hand
    X = read_table("data/iris.csv").X[:3]
    mean, std = np.array(model._loaded.prep.mean), np.array(model._loaded.prep.std)
    a2 = np.tanh(model.W[1] @ ((X - mean) / std).T + model.b[1][:, None])
    z3 = model.W[2] @ a2 + model.b[2][:, None]
    h = np.exp(z3 - z3.max(axis=0)) / np.exp(z3 - z3.max(axis=0)).sum(axis=0)
    assert np.allclose(model.predict_proba(X), h.T, rtol=1e-12, atol=0)


def test_a_regression_model_predicts_outputs_and_has_no_probabilities(proj):
    run = nettrain.fit("configs/diabetes.yaml", {"train.epochs": 20, "log.every": 10}, out="d")
    table = read_table("data/diabetes.csv", task="regression")
    assert run.model.predict(table.X[:4]).shape == (4, 1)
    assert set(run.model.evaluate(table.X, table.y)) >= {"mse", "rmse", "r2", "cost"}
    with pytest.raises(UsageError, match="predict_proba is for a classification"):
        run.model.predict_proba(table.X)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.zeros((2, 3)), "the data has 3 features, the model expects 4"),
        (np.zeros(4), r"X must be 2-D, one row per example \(got shape \(4,\)\): for one example write X.reshape"),
        ([[1.0, 2.0, float("nan"), 4.0]], r"X\[0, 2\] is nan: the data must be finite"),
        ([["a", "b", "c", "d"]], "X must be numbers, one row per example"),
    ],
)
def test_bad_rows_are_refused_with_one_line(iris_run, X, message):
    with pytest.raises(DataError, match=message):
        nettrain.load(iris_run).predict(X)


def test_unknown_labels_and_missing_checkpoints_are_refused(iris_run):
    model = nettrain.load(iris_run)
    with pytest.raises(DataError, match=r"label 'rose' \(first in data row 2\) is not one of the 3 training labels"):
        model.evaluate(np.zeros((2, 4)), ["setosa", "rose"])
    with pytest.raises(CheckpointError) as info:
        nettrain.load("runs/none")
    assert str(info.value) == "runs/none does not exist: give a run folder (with last.npz) or a .npz checkpoint"


# ----------------------------------------------------------------------------- gradcheck, explain


def test_gradcheck_returns_what_gradcheck_json_prints(proj):
    res = cli("gradcheck", "configs/iris.yaml", "--set", "model.layers=[4, 3, 3]", "--sample", "5", "--json")
    assert res.exit_code == 0, res.output
    got = nettrain.gradcheck("configs/iris.yaml", {"model.layers": [4, 3, 3]}, sample=5)
    assert _json_safe(got) == json.loads(res.stdout) and got["passed"]
    d = yaml.safe_load((proj / "configs" / "iris.yaml").read_text())
    d["data"]["path"], d["model"]["layers"] = "data/iris.csv", [4, 3, 3]
    from_dict = nettrain.gradcheck(d, sample=5)
    assert from_dict["cases"][0]["case"].startswith("config dict (5 examples")
    assert from_dict["cases"][0]["stages"][0]["blocks"] == got["cases"][0]["stages"][0]["blocks"]
    with pytest.raises(UsageError, match=r"sample must be at least 1 \(got 0\)"):
        nettrain.gradcheck("configs/iris.yaml", sample=0)


def test_gradcheck_without_a_config_is_the_built_in_suite():
    res = cli("gradcheck", "--json")
    assert res.exit_code == 0, res.output
    got = nettrain.gradcheck()
    assert _json_safe(got) == json.loads(res.stdout) and got["passed"] and len(got["cases"]) > 100


@pytest.mark.parametrize("layer", [None, 2])
def test_explain_returns_what_explain_json_prints(proj, layer):
    args = ["explain", "configs/xor.yaml", "--example", "3", "--json"] + (["--layer", str(layer)] if layer else [])
    res = cli(*args)
    assert res.exit_code == 0, res.output
    got = nettrain.explain("configs/xor.yaml", example=3, layer=layer)
    assert _json_safe(got) == json.loads(res.stdout)


def test_explain_a_trained_run_and_its_refusals(iris_run):
    res = cli("explain", iris_run, "--example", "1", "--json", "--entries", "20")
    got = nettrain.explain(iris_run, example=1, entries=20)
    assert _json_safe(got) == json.loads(res.stdout) and got["weights"].startswith("checkpoint ")
    with pytest.raises(UsageError, match="--set applies to a config, not to the trained network"):
        nettrain.explain(iris_run, overrides={"loss": "squared_error"})
    with pytest.raises(UsageError, match=r"--example 500 is out of range: the train split has 106 examples"):
        nettrain.explain(iris_run, example=500)
