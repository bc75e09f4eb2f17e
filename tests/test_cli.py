"""End to end: the real CLI on real files in a temp folder — fit, eval, predict, resume, errors."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettrain.render.fit import FitReporter
from nettrain import checkpoint as ckpt
from nettrain.cli import app
from nettrain.evaluation import evaluate_rows
from nettrain.problem import load_problem
from nettrain.trained import load_trained

from .runfolders import metrics_less_seconds

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_same_run(a, b):
    """Two run folders hold the same run: metrics.csv byte for byte but for its seconds, last.npz's weights bit
    for bit."""
    assert metrics_less_seconds(a / "metrics.csv") == metrics_less_seconds(b / "metrics.csv")
    pa, _ = ckpt.load_checkpoint(a / "last.npz")
    pb, _ = ckpt.load_checkpoint(b / "last.npz")
    for k, v in pa.blocks().items():
        assert np.array_equal(v, pb.blocks()[k]), k


def tree(folder: Path) -> dict:
    """Every file under folder with its bytes: to prove nothing was created or changed."""
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def read_metrics(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- configs


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "configs").glob("*.yaml")))
def test_every_shipped_config_validates(proj, name):
    res = run("fit", f"configs/{name}.yaml", "--print-config")
    assert res.exit_code == 0, res.output
    assert "learning_rate:" in res.stdout and "weight_decay:" in res.stdout
    assert not (proj / "runs").exists()  # --print-config writes nothing


def test_schema_is_json_schema_with_descriptions():
    res = run("schema")
    assert res.exit_code == 0
    schema = json.loads(res.stdout)
    assert schema["type"] == "object" and "train" in schema["properties"]
    assert "additionalProperties" in json.dumps(schema)


def test_help_of_every_command_has_an_example():
    for cmd in ("fit", "eval", "predict", "gradcheck", "schema"):
        res = run(cmd, "--help")
        assert res.exit_code == 0
        assert "Example" in res.stdout, cmd


def test_help_examples_are_one_to_a_line():
    lines = [line.strip() for line in run("fit", "--help").stdout.splitlines()]
    assert "Examples:  nettrain fit configs/digits.yaml" in lines
    assert "nettrain fit configs/xor.yaml --set train.epochs=500 --out xor2" in lines
    lines = [line.strip() for line in run("eval", "--help").stdout.splitlines()]
    assert "Examples:  nettrain eval runs/digits" in lines


# ----------------------------------------------------------------------------- fit → eval → predict


def test_fit_eval_predict_round_trip(proj):
    res = run("fit", "configs/iris.yaml", "--set", "train.epochs=300", "--set", "log.checkpoint_every=100")
    assert res.exit_code == 0, res.output
    run_dir = proj / "runs" / "iris"
    assert sorted(p.name for p in run_dir.iterdir()) == ["best.npz", "checkpoints", "config.yaml", "last.npz", "metrics.csv",
                                                         "summary.json"]
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["epoch-100.npz", "epoch-200.npz", "epoch-300.npz"]

    rows = read_metrics(run_dir / "metrics.csv")
    assert list(rows[0]) == ["epoch", "cost", "data_cost", "reg_cost", "grad_norm", "val_data_cost", "val_accuracy",
                             "seconds"]
    assert [int(r["epoch"]) for r in rows] == list(range(301))
    for r in rows:  # J = J_data + J_reg on every row, exactly as computed
        assert float(r["cost"]) == float(r["data_cost"]) + float(r["reg_cost"])
    assert float(rows[-1]["cost"]) < float(rows[0]["cost"])
    assert rows[200]["val_data_cost"] and not rows[201]["val_data_cost"]  # filled every log.every = 200 epochs
    assert rows[200]["seconds"] and not rows[201]["seconds"]

    # checkpoint: plain arrays + JSON, loadable without pickle; epoch-N and row N describe one state
    with np.load(run_dir / "checkpoints" / "epoch-100.npz", allow_pickle=False) as z:
        assert sorted(z.files) == ["W1", "W2", "b1", "b2", "meta"]
        assert z["W1"].shape == (8, 4) and z["W2"].shape == (3, 8) and z["b2"].shape == (3,)
        meta = json.loads(str(z["meta"]))
        W = [z["W1"], z["W2"]]
    assert meta["epoch"] == 100 and meta["format"] == "nettrain-checkpoint"
    assert meta["config"]["train"]["learning_rate"] == 0.5
    assert meta["metrics"]["rows"] == 101  # metrics.csv's rows 0 … 100: the checkpoint names them, by digest
    assert meta["metrics"]["columns"] == list(rows[0])[:-1]  # all but the seconds: no part of the digest
    lam = meta["config"]["train"]["weight_decay"]
    # the logged reg_cost is (λ/2)ΣW² of the saved weights
    assert float(rows[100]["reg_cost"]) == pytest.approx(lam / 2 * sum(float((w * w).sum()) for w in W), rel=1e-14)

    res = run("eval", run_dir, "--json")
    assert res.exit_code == 0, res.output
    ev = json.loads(res.stdout)
    assert ev["m"] == 22 and ev["epoch"] == 300 and ev["split"] == "test" and "note" not in ev
    assert ev["cost"] == pytest.approx(ev["data_cost"] + ev["reg_cost"], rel=1e-15)
    assert 0.8 <= ev["accuracy"] <= 1.0
    assert np.sum(ev["confusion"]) == 22 and ev["labels"] == ["setosa", "versicolor", "virginica"]
    conf = np.array(ev["confusion"])
    for c, scores in enumerate(ev["per_class"]):  # per class, from the confusion matrix printed beside it
        assert scores["label"] == ev["labels"][c] and scores["support"] == conf[c].sum()
        assert scores["recall"] == pytest.approx(conf[c, c] / conf[c].sum())
    assert ev["macro"]["f1"] == pytest.approx(np.mean([s["f1"] for s in ev["per_class"]]))
    text = run("eval", run_dir).stdout
    assert "per class" in text and "macro average" in text and "F1" in text
    assert ev["reg_cost"] == pytest.approx(float(read_metrics(run_dir / "metrics.csv")[-1]["reg_cost"]), rel=1e-14)

    res = run("eval", run_dir, "--data", "data/iris.csv", "--json")
    assert json.loads(res.stdout)["m"] == 150

    res = run("predict", run_dir, "--data", "data/iris.csv", "--out", "pred.csv")
    assert res.exit_code == 0, res.output
    pred = read_metrics(proj / "pred.csv")
    assert len(pred) == 150 and list(pred[0]) == ["predicted_species", "p_setosa", "p_versicolor", "p_virginica"]
    for r in pred:
        p = [float(r[k]) for k in ("p_setosa", "p_versicolor", "p_virginica")]
        assert sum(p) == pytest.approx(1.0, abs=1e-12)
        assert r["predicted_species"] == ["setosa", "versicolor", "virginica"][int(np.argmax(p))]
    truth = [r["species"] for r in read_metrics(proj / "data" / "iris.csv")]
    assert np.mean([a["predicted_species"] == t for a, t in zip(pred, truth)]) > 0.9
    # --keep: the file's own columns first, as written there; the true label beside its prediction
    res = run("predict", run_dir, "--data", "data/iris.csv", "--keep", "species", "--keep", "petal_width",
              "--out", "kept.csv")
    assert res.exit_code == 0, res.output
    kept = list(csv.reader((proj / "kept.csv").open()))
    raw = list(csv.reader((proj / "data" / "iris.csv").open()))
    assert kept[0] == ["species", "petal_width", "predicted_species", "p_setosa", "p_versicolor", "p_virginica"]
    assert [r[:2] for r in kept[1:]] == [[r[4], r[3]] for r in raw[1:]]
    assert [r[2:] for r in kept[1:]] == [[r[k] for k in pred[0]] for r in pred]  # the same predictions
    for keep, says in ((["--keep", "id"], "--keep id: data/iris.csv has no column 'id'; its columns: sepal_length"),
                       (["--keep", "species", "--keep", "species"], "--keep names a column twice")):
        res = run("predict", run_dir, "--data", "data/iris.csv", *keep)
        assert res.exit_code == 2 and says in res.stderr and "Traceback" not in res.output


def test_regression_eval_and_predict(proj):
    res = run("fit", "configs/diabetes.yaml", "--set", "train.epochs=50", "--out", "d")
    assert res.exit_code == 0, res.output
    ev = json.loads(run("eval", "d", "--json").stdout)
    assert {"mse", "rmse", "r2", "cost"} <= set(ev) and ev["rmse"] == pytest.approx(np.sqrt(ev["mse"]))
    # J_data = (1/m) Σ ½(h − y)² = MSE/2 for one output
    assert ev["data_cost"] == pytest.approx(ev["mse"] / 2, rel=1e-12)
    out = run("predict", "d", "--data", "data/diabetes.csv").stdout.splitlines()
    assert out[0] == "predicted_progression" and len(out) == 443


def test_xor_is_learned(proj):
    res = run("fit", "configs/xor.yaml")
    assert res.exit_code == 0, res.output
    ev = json.loads(run("eval", "runs/xor", "--split", "train", "--json").stdout)
    assert ev["accuracy"] == 1.0 and ev["cost"] < 0.01 and ev["split"] == "train" and "note" not in ev
    # the test split is empty (train: 1.0): without --split, eval measures the train split and says so
    res = run("eval", "runs/xor", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {**ev, "note": json.loads(res.stdout)["note"]}
    assert "test split is empty" in json.loads(res.stdout)["note"]
    res = run("eval", "runs/xor")
    assert res.exit_code == 0, res.output
    said = " ".join(res.stdout.split())  # a note wraps at the terminal's width
    assert "test split is empty" in said and "evaluated on the train split" in said
    assert "(train split, 4 examples)" in said
    res = run("eval", "runs/xor", "--split", "test")  # asked for by name: refused, with what to do
    assert res.exit_code == 4 and "--split train" in res.stderr
    assert json.loads(run("eval", "runs/xor", "--data", "data/xor.csv", "--json").stdout)["split"] is None
    pred = run("predict", "runs/xor", "--data", "data/xor.csv").stdout.splitlines()
    assert [line.split(",")[0] for line in pred[1:]] == ["0", "1", "1", "0"]


# ----------------------------------------------------------------------------- resume


def test_interrupted_and_resumed_equals_uninterrupted_bit_for_bit(proj):
    common = ["--set", "train.epochs=400", "--set", "log.every=30", "--set", "log.checkpoint_every=100"]
    assert run("fit", "configs/iris.yaml", *common, "--out", "full").exit_code == 0
    assert run("fit", "configs/iris.yaml", "--set", "train.epochs=170", *common[2:], "--out", "half").exit_code == 0
    res = run("fit", "configs/iris.yaml", *common, "--out", "half", "--resume")
    assert res.exit_code == 0, res.output
    assert_same_run(proj / "full", proj / "half")


def test_resume_refuses_a_changed_config_naming_the_keys(proj):
    assert run("fit", "configs/xor.yaml", "--set", "train.epochs=10", "--out", "r").exit_code == 0
    before = tree(proj / "r")
    res = run("fit", "configs/xor.yaml", "--set", "train.learning_rate=0.1", "--out", "r", "--resume")
    assert res.exit_code == 3
    assert "train.learning_rate" in res.stderr and "a resume may change only train.epochs, train.threads, log.every, log.checkpoint_every" in res.stderr
    assert tree(proj / "r") == before


@pytest.mark.parametrize("damage", ["edited", "short", "missing"])
def test_resume_checks_metrics_csv_against_the_checkpoint_and_says_how_to_go_on(proj, damage):
    """last.npz names metrics.csv's rows by count and SHA-256: a resume never continues a history
    that is not the run's, changes nothing when it refuses, and its advice works as printed."""
    assert run("fit", "configs/xor.yaml", "--set", "train.epochs=20", "--set", "log.every=1", "--out", "r").exit_code == 0
    metrics = proj / "r" / "metrics.csv"
    lines = metrics.read_text().splitlines(keepends=True)
    if damage == "edited":
        metrics.write_text("".join(lines[:5] + [lines[5].replace(",", ",9", 1)] + lines[6:]))
    elif damage == "short":
        metrics.write_text("".join(lines[:-1]))
    else:
        metrics.unlink()
    before = tree(proj / "r")
    res = run("fit", "configs/xor.yaml", "--set", "train.epochs=40", "--set", "log.every=1", "--out", "r", "--resume")
    assert res.exit_code == 7
    msg = res.stderr.strip()
    assert len(msg.splitlines()) == 1 and str(Path("r") / "metrics.csv") in msg
    assert {"edited": "was changed", "short": "has 20 rows", "missing": "is missing"}[damage] in msg
    assert tree(proj / "r") == before
    advice = msg.split("start a new run from these weights with ")[1].split()
    assert advice[-1] == f"model.init.from={Path('r') / 'last.npz'}"
    res = run("fit", "configs/xor.yaml", "--set", "train.epochs=20", *advice, "--out", "again")
    assert res.exit_code == 0, res.output
    J0 = float(read_metrics(proj / "again" / "metrics.csv")[0]["cost"])
    assert J0 == float(lines[-1].split(",")[1])  # the new run starts at the old run's last state


def test_resume_appends_to_a_metrics_csv_holding_exactly_the_checkpoints_rows(proj):
    """metrics.csv is rewritten on resume only when rows follow the checkpoint's (then they are
    dropped): after a clean stop the resumed run appends to the same file."""
    common = ["--set", "log.every=1", "--out", "r"]
    assert run("fit", "configs/xor.yaml", "--set", "train.epochs=20", *common).exit_code == 0
    metrics = proj / "r" / "metrics.csv"
    inode = metrics.stat().st_ino
    res = run("fit", "configs/xor.yaml", "--set", "train.epochs=40", *common, "--resume")
    assert res.exit_code == 0, res.output
    assert metrics.stat().st_ino == inode
    assert [int(r["epoch"]) for r in read_metrics(metrics)] == list(range(41))
    with open(metrics, "a") as f:  # a row begun after the last checkpoint
        f.write("41,0.")
    res = run("fit", "configs/xor.yaml", "--set", "train.epochs=60", *common, "--resume")
    assert res.exit_code == 0, res.output
    assert metrics.stat().st_ino != inode
    assert [int(r["epoch"]) for r in read_metrics(metrics)] == list(range(61))


def test_existing_run_folder_is_never_overwritten(proj):
    assert run("fit", "configs/xor.yaml", "--set", "train.epochs=5").exit_code == 0
    before = tree(proj / "runs")
    res = run("fit", "configs/xor.yaml", "--set", "train.epochs=5")
    assert res.exit_code == 7 and "--resume" in res.stderr
    assert tree(proj / "runs") == before


def test_resume_without_a_run_says_so(proj):
    res = run("fit", "configs/xor.yaml", "--out", "nothing", "--resume")
    assert res.exit_code == 7 and "nothing to resume" in res.stderr


# ----------------------------------------------------------------------------- divergence


def test_divergence_stops_with_advice_and_saves_only_finite_state(proj):
    res = run("fit", "configs/diabetes.yaml", "--set", "train.learning_rate=50", "--out", "div")
    assert res.exit_code == 6
    msg = res.stderr.strip()
    assert len(msg.splitlines()) == 1 and "try a smaller learning_rate" in msg and "epoch" in msg
    rows = read_metrics(proj / "div" / "metrics.csv")
    last_epoch = int(rows[-1]["epoch"])
    assert [int(r["epoch"]) for r in rows] == list(range(last_epoch + 1))
    assert all(np.isfinite(float(r["cost"])) for r in rows)
    assert f"at epoch {last_epoch + 1}" in msg
    for p in (proj / "div").rglob("*.npz"):
        params, meta = ckpt.load_checkpoint(p)  # refuses non-finite arrays
        assert all(np.all(np.isfinite(v)) for v in params.blocks().values())
    assert ckpt.read_meta(proj / "div" / "last.npz")["epoch"] == last_epoch


# ----------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_saves_and_says_how_to_resume(proj):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "nettrain", "fit", "configs/digits.yaml", "--set", "train.epochs=1000000", "--out", "cc"]
    p = subprocess.Popen(cmd, cwd=proj, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (proj / "cc" / "last.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "--resume" in err and "last.npz" in err
    meta = ckpt.read_meta(proj / "cc" / "last.npz")
    rows = read_metrics(proj / "cc" / "metrics.csv")
    assert int(rows[-1]["epoch"]) == meta["epoch"] > 0
    assert [int(r["epoch"]) for r in rows] == list(range(meta["epoch"] + 1))


# ----------------------------------------------------------------------------- bad inputs


def _write(p: Path, text: str) -> Path:
    p.write_text(text)
    return p


def _config(proj, data_line="path: ../data/iris.csv", extra="", layers="[4, 8, 3]", target="[species]"):
    return _write(
        proj / "configs" / "bad.yaml",
        f"name: bad\ndata:\n  {data_line}\n  target: {target}\nmodel:\n  layers: {layers}\n"
        f"  output_activation: softmax\nloss: cross_entropy\ntrain:\n  epochs: 5\n{extra}",
    )


def _assert_refused(proj, res, code, *fragments):
    assert res.exit_code == code, (res.exit_code, res.output)
    line = res.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert "Traceback" not in res.output
    for frag in fragments:
        assert frag in line, (frag, line)
    assert not (proj / "runs").exists()  # nothing created before the input was validated


def test_missing_config_file(proj):
    _assert_refused(proj, run("fit", "configs/nope.yaml"), 3, "nope.yaml")


def test_config_error_names_file_line_and_key(proj):
    cfg = _config(proj, extra="  learning_rate: -0.1\n")
    _assert_refused(proj, run("fit", cfg), 3, "bad.yaml:11", "train.learning_rate")


def test_config_typo_suggests_the_key(proj):
    cfg = _config(proj, extra="  learning_rat: 0.1\n")
    _assert_refused(proj, run("fit", cfg), 3, "did you mean 'learning_rate'")


def test_missing_data_file(proj):
    _assert_refused(proj, run("fit", _config(proj, "path: ../data/missing.csv")), 4, "missing.csv")


def test_empty_data_file(proj):
    _write(proj / "data" / "empty.csv", "")
    _assert_refused(proj, run("fit", _config(proj, "path: ../data/empty.csv")), 4, "empty.csv")


def test_non_numeric_cell(proj):
    lines = (proj / "data" / "iris.csv").read_text().splitlines()
    lines[5] = lines[5].replace("3.6", "abc", 1)
    _write(proj / "data" / "broken.csv", "\n".join(lines) + "\n")
    _assert_refused(proj, run("fit", _config(proj, "path: ../data/broken.csv")), 4, "broken.csv:6", "abc")


def test_nan_cell(proj):
    lines = (proj / "data" / "iris.csv").read_text().splitlines()
    lines[9] = "nan," + lines[9].split(",", 1)[1]
    _write(proj / "data" / "nan.csv", "\n".join(lines) + "\n")
    _assert_refused(proj, run("fit", _config(proj, "path: ../data/nan.csv")), 4, "nan.csv:10", "sepal_length")


def test_ragged_row(proj):
    lines = (proj / "data" / "iris.csv").read_text().splitlines()
    lines[3] = lines[3] + ",7.0"
    _write(proj / "data" / "ragged.csv", "\n".join(lines) + "\n")
    _assert_refused(proj, run("fit", _config(proj, "path: ../data/ragged.csv")), 4, "ragged.csv:4")


def test_missing_target_column(proj):
    _assert_refused(proj, run("fit", _config(proj, target="[specie]")), 4, "iris.csv", "specie")


def test_layers_not_matching_the_data(proj):
    _assert_refused(proj, run("fit", _config(proj, layers="[5, 8, 3]")), 3, "bad.yaml:6", "model.layers", "4 feature columns")
    _assert_refused(proj, run("fit", _config(proj, layers="[4, 8, 2]")), 3, "3 classes")


def test_init_checkpoint_with_wrong_shapes_names_each_array(proj):
    assert run("fit", "configs/xor.yaml", "--set", "train.epochs=3", "--out", "x").exit_code == 0
    cfg = _config(proj, extra="")
    res = run("fit", cfg, "--set", f"model.init={{from: {proj / 'x' / 'last.npz'}}}")
    _assert_refused(proj, res, 5, "last.npz", "W1", "W2")


def test_eval_refuses_a_file_that_is_not_a_checkpoint(proj):
    _write(proj / "fake.npz", "a,b\n1,2\n")
    res = run("eval", "fake.npz")
    assert res.exit_code == 5 and "fake.npz" in res.stderr and "allow_pickle" not in res.stderr
    res = run("eval", "nothing_here")
    assert res.exit_code == 5 and "nothing_here" in res.stderr


def test_eval_refuses_unseen_labels(proj):
    assert run("fit", "configs/iris.yaml", "--set", "train.epochs=3", "--out", "i").exit_code == 0
    lines = (proj / "data" / "iris.csv").read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",rose"
    _write(proj / "data" / "roses.csv", "\n".join(lines) + "\n")
    res = run("eval", "i", "--data", "data/roses.csv")
    assert res.exit_code == 4 and "rose" in res.stderr and "roses.csv" in res.stderr


def test_eval_takes_a_file_holding_one_class(proj):
    """The labels come from the checkpoint, so a slice of the data with one class is measured, and its
    numbers are those of the same rows evaluated inside a bigger file: J_data is a mean over rows."""
    assert run("fit", "configs/iris.yaml", "--set", "train.epochs=20", "--out", "i").exit_code == 0
    lines = (proj / "data" / "iris.csv").read_text().splitlines()
    setosa = [ln for ln in lines[1:] if ln.endswith(",setosa")][:7]
    other = [ln for ln in lines[1:] if ln.endswith(",virginica")][:3]
    _write(proj / "one.csv", "\n".join([lines[0], *setosa]) + "\n")
    _write(proj / "mixed.csv", "\n".join([lines[0], *setosa, *other]) + "\n")
    _write(proj / "rest.csv", "\n".join([lines[0], *other]) + "\n")
    got = {}
    for name in ("one", "mixed", "rest"):
        res = run("eval", "i", "--data", f"{name}.csv", "--json")
        assert res.exit_code == 0, res.output
        got[name] = json.loads(res.stdout)
    assert got["one"]["m"] == 7 and sum(got["one"]["confusion"][0]) == 7  # every row is a true setosa
    assert got["mixed"]["data_cost"] == pytest.approx((7 * got["one"]["data_cost"] + 3 * got["rest"]["data_cost"]) / 10,
                                                      rel=1e-12)
    assert got["one"]["reg_cost"] == got["mixed"]["reg_cost"] > 0


def test_eval_and_predict_take_another_kind_of_file_than_training(proj):
    """A csv-trained run measured on an .npz or .npy export of the same rows: the same numbers (the csv's
    data.target names a csv column; another kind of file is read with its own default target)."""
    assert run("fit", "configs/iris.yaml", "--set", "train.epochs=20", "--out", "i").exit_code == 0
    lines = (proj / "data" / "iris.csv").read_text().splitlines()
    rows = [ln.split(",") for ln in lines[1:41]]
    _write(proj / "part.csv", "\n".join(lines[:41]) + "\n")
    X = np.array([[float(v) for v in r[:4]] for r in rows])
    labels = np.array([r[4] for r in rows])
    np.savez(proj / "part.npz", X=X, y=labels)
    np.savez(proj / "features.npz", X=X)
    got = {}
    for name in ("part.csv", "part.npz"):
        res = run("eval", "i", "--data", name, "--json")
        assert res.exit_code == 0, res.output
        got[name] = json.loads(res.stdout)
    for key in ("cost", "data_cost", "accuracy", "confusion", "m"):
        assert got["part.npz"][key] == got["part.csv"][key]
    res = run("predict", "i", "--data", "features.npz")
    assert res.exit_code == 0, res.output
    want = run("predict", "i", "--data", "part.csv")
    assert res.stdout == want.stdout and len(res.stdout.splitlines()) == 41


# ----------------------------------------------------------------------------- scikit-learn oracle


@pytest.mark.parametrize("activation,sk_activation", [("sigmoid", "logistic"), ("tanh", "tanh"), ("relu", "relu")])
def test_weights_match_scikit_learn_mlpregressor(proj, activation, sk_activation):
    """Same start, N full-batch steps: our W ← W − α(∂J/∂W) equals MLPRegressor's sgd with alpha = λ·m."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    from nettrain.network import Params

    rows = np.array([[float(v) for v in line.split(",")] for line in (proj / "data" / "diabetes.csv").read_text().splitlines()[1:]])
    X = (rows[:, :10] - rows[:, :10].mean(0)) / rows[:, :10].std(0)
    y = (rows[:, 10] - 150.0) / 80.0  # a modest scale keeps sigmoid units out of saturation
    np.savetxt(proj / "data" / "d.csv", np.column_stack([X, y]), delimiter=",", header=",".join([f"f{i}" for i in range(10)] + ["t"]), comments="")
    m, lam, alpha, epochs = len(X), 0.01, 0.05, 25
    sk = MLPRegressor(hidden_layer_sizes=(6,), activation=sk_activation, solver="sgd", batch_size=m, momentum=0.0,
                      nesterovs_momentum=False, learning_rate="constant", learning_rate_init=alpha, alpha=lam * m,
                      shuffle=False, random_state=0, tol=0.0, n_iter_no_change=10**9, early_stopping=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.partial_fit(X, y)  # initialises (and takes one step); the start is reset below
    rng = np.random.default_rng(3)
    W1, W2 = rng.normal(0, 0.3, (6, 10)), rng.normal(0, 0.3, (1, 6))
    b1, b2 = rng.normal(0, 0.1, 6), rng.normal(0, 0.1, 1)
    sk.coefs_, sk.intercepts_ = [W1.T.copy(), W2.T.copy()], [b1.copy(), b2.copy()]
    for _ in range(epochs):
        sk.partial_fit(X, y)
    ckpt.save_checkpoint(proj / "start.npz", Params({1: W1, 2: W2}, {1: b1, 2: b2}), {})
    cfg = _write(proj / "configs" / "sk.yaml", f"""
name: sk
data: {{path: ../data/d.csv, target: [t], task: regression, standardize: false, split: {{train: 1.0, val: 0, test: 0}}}}
model: {{layers: [10, 6, 1], activation: {activation}, output_activation: identity, init: {{from: ../start.npz}}}}
loss: squared_error
train: {{learning_rate: {alpha}, weight_decay: {lam}, epochs: {epochs}}}
""")
    res = run("fit", cfg, "--out", "sk")
    assert res.exit_code == 0, res.output
    ours, _ = ckpt.load_checkpoint(proj / "sk" / "last.npz")
    for got, want in [(ours.W[1], sk.coefs_[0].T), (ours.W[2], sk.coefs_[1].T), (ours.b[1], sk.intercepts_[0]), (ours.b[2], sk.intercepts_[1])]:
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-12)
    assert not np.allclose(ours.W[1], W1)  # training moved the weights


def test_the_terminal_shows_at_most_four_rows_a_second_and_always_the_first_and_last(monkeypatch):
    """metrics.csv has every row; the terminal table is throttled (printing under the live bar is slow)
    and says so. A run that logs few rows shows them all, however fast it is."""
    import io

    from rich.console import Console

    from nettrain.render import fit as render_fit

    def show(epochs, every, seconds):
        clock = [100.0]
        monkeypatch.setattr(render_fit.time, "monotonic", lambda: clock[0])
        buf = io.StringIO()
        r = FitReporter(Console(file=buf, width=120))
        r.start({"columns": ["epoch", "cost"], "resumed": False, "layers": [2, 1], "m": 4, "start_epoch": 0,
                 "epochs": epochs, "every": every, "run_dir": "run"})
        for e in range(epochs + 1):
            clock[0] += seconds / epochs
            if e % every == 0 or e == epochs:
                r.row([e, 1.0 / (e + 1)], final=e == epochs)
        r.stop()
        lines = buf.getvalue().splitlines()
        return [int(line.split()[0]) for line in lines if line.strip()[:1].isdigit()], lines[-1]

    printed, last = show(1000, 1, 2.0)  # every epoch, 1,000 epochs in 2 s
    assert printed[0] == 0 and printed[-1] == 1000
    assert 9 <= len(printed) <= 10  # 2 s at 4 rows a second, and the last
    assert all(b - a >= 120 for a, b in zip(printed, printed[1:-1]))  # ≥ 0.25 s apart
    assert last == f"(rows shown: {len(printed)} of 1001, at most 4 a second; metrics.csv has every epoch)"
    printed, last = show(300, 50, 0.2)  # a short fast run logged every 50 epochs: every row
    assert printed == [0, 50, 100, 150, 200, 250, 300] and "rows shown" not in last
    printed, _ = show(100, 1, 100.0)  # a slow run logged every epoch: every row
    assert printed == list(range(101))


def test_the_progress_bar_follows_the_printed_rows_and_ends_at_the_total():
    """The bar is moved to a row's epoch before the row is printed, and to the last epoch at the end."""
    import io

    from rich.console import Console

    buf = io.StringIO()
    r = FitReporter(Console(file=buf, width=120))
    r.start({"columns": ["epoch", "cost"], "resumed": False, "layers": [2, 1], "m": 4, "start_epoch": 0,
             "epochs": 2000, "every": 200, "run_dir": "run"})
    for e in range(0, 2001, 200):
        r.row([e, 1.0], final=e == 2000)
        assert r.bar.tasks[0].completed == e
    assert r.bar.tasks[0].completed == r.bar.tasks[0].total == 2000
    r.stop()


# ----------------------------------------------------------------------------- the sparse autoencoder


SAE = ["--set", "train.epochs=6", "--set", "log.every=2"]


def test_sparse_autoencoder_fit_eval_plot_and_gradcheck(proj):
    res = run("fit", "configs/sparse_autoencoder.yaml", *SAE, "--out", "sae")
    assert res.exit_code == 0, res.output
    assert "J_sparse" in res.stdout
    rows = read_metrics(proj / "sae" / "metrics.csv")
    assert list(rows[0])[:5] == ["epoch", "cost", "data_cost", "reg_cost", "sparse_cost"]
    for r in rows:  # cost = data_cost + reg_cost + sparse_cost, in that order
        assert float(r["cost"]) == float(r["data_cost"]) + float(r["reg_cost"]) + float(r["sparse_cost"])
    ev = run("eval", "sae", "--json")
    assert ev.exit_code == 0, ev.output
    data = json.loads(ev.stdout)
    assert data["task"] == "autoencode" and data["cost"] == pytest.approx(float(rows[-1]["cost"]), rel=1e-12)
    assert data["sparse_cost"] == pytest.approx(float(rows[-1]["sparse_cost"]), rel=1e-12)
    assert 0 < data["rho_hat_mean"] < 1 and "r2" in data
    text = run("eval", "sae")
    assert "J_sparse" in text.stdout and "mean ρ̂" in text.stdout
    pred = run("predict", "sae", "--data", "data/patches.npz")
    assert pred.exit_code == 0 and pred.stdout.splitlines()[0].startswith("predicted_p0,predicted_p1,")
    plot = run("plot", "sae", "--weights")
    assert plot.exit_code == 0, plot.output
    assert (proj / "sae" / "weights.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run("plot", "sae").exit_code == 0
    gc = run("gradcheck", "configs/sparse_autoencoder.yaml", "--json", "--sample", "6", "--entries", "40")
    assert gc.exit_code == 0, gc.output
    (case,) = json.loads(gc.stdout)["cases"]
    assert [s["stage"] for s in case["stages"]] == ["data", "reg", "sparsity", "all"]
    assert case["passed"]  # (at the initial weights J ≈ 57, mostly J_sparse: its rounding limits agreement to ~1e-9)
    assert max(b["rel_diff"] for s in case["stages"] for b in s["blocks"]) < 1e-8


def test_sparse_autoencoder_resumed_equals_uninterrupted_bit_for_bit(proj):
    gd = ["--set", "train.optimizer=gd", "--set", "train.learning_rate=1.0", "--set", "log.every=3",
          "--set", "log.checkpoint_every=4"]
    assert run("fit", "configs/sparse_autoencoder.yaml", *gd, "--set", "train.epochs=10", "--out", "full").exit_code == 0
    assert run("fit", "configs/sparse_autoencoder.yaml", *gd, "--set", "train.epochs=4", "--out", "half").exit_code == 0
    res = run("fit", "configs/sparse_autoencoder.yaml", *gd, "--set", "train.epochs=10", "--out", "half", "--resume")
    assert res.exit_code == 0, res.output
    assert_same_run(proj / "full", proj / "half")


def test_explain_shows_rho_hat_and_the_extra_delta_term(proj):
    res = run("explain", "configs/sparse_autoencoder.yaml", "--example", "2", "--entries", "20", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    hidden = data["layers"][1]
    m, rho, beta = data["m"], data["sparsity"]["rho"], data["sparsity"]["beta"]
    r = np.asarray(hidden["rho_hat"])
    np.testing.assert_allclose(hidden["sparse_term"], beta * (-rho / r + (1 - rho) / (1 - r)), rtol=1e-12)
    delta = (np.sum(hidden["delta_terms"], axis=1) + hidden["sparse_term"]) * np.asarray(hidden["fprime"])
    np.testing.assert_allclose(hidden["delta"], delta, rtol=1e-12)
    num, bp = np.asarray(hidden["dW_numerical"], float), np.asarray(hidden["dW_example"])
    done = np.isfinite(num)
    np.testing.assert_allclose(num[done], bp[done], rtol=1e-7, atol=1e-9)  # this example's share, checked
    c = data["cost"]  # the names run.cost, model.cost() and eval --json use
    assert c["cost"] == pytest.approx(c["data_cost"] + c["reg_cost"] + c["sparse_cost"])
    assert m == 10_000
    text = run("explain", "configs/sparse_autoencoder.yaml", "--example", "2", "--entries", "20")
    assert "2b. the sparsity term" in text.stdout and "s₁⁽²⁾" in text.stdout


def test_zca_whitening_is_stored_and_applied_by_eval(proj):
    sets = ["--set", "data.whiten={method: zca, epsilon: 0.1}", "--set", "model.output_activation=identity",
            "--set", "train.epochs=3", "--set", "data.split={train: 0.9, test: 0.1}"]
    res = run("fit", "configs/sparse_autoencoder.yaml", *sets, "--out", "zca")
    assert res.exit_code == 0, res.output
    meta = ckpt.read_meta(proj / "zca" / "last.npz")
    assert meta["whitening"]["method"] == "zca" and len(meta["whitening"]["matrix"]) == 64

    problem = load_problem(load_trained(proj / "zca").cfg)
    X_test = problem.splits["test"][0]
    ev = json.loads(run("eval", "zca", "--json").stdout)
    loaded = load_trained(proj / "zca")
    want = evaluate_rows(loaded, X_test, X_test, "test")  # the rows as training whitened them
    assert ev["cost"] == want["cost"] and ev["m"] == len(X_test)


def test_autoencode_refusals_name_the_key(proj):
    res = run("fit", "configs/sparse_autoencoder.yaml", "--set", "model.layers=[64, 25, 10]")
    assert res.exit_code == 3 and "model.layers" in res.stderr and "as wide as the input" in res.stderr
    res = run("fit", "configs/sparse_autoencoder.yaml", "--set", "model.activation=relu")
    assert res.exit_code == 3 and "model.sparsity" in res.stderr and "sigmoid" in res.stderr
    res = run("fit", "configs/sparse_autoencoder.yaml", "--set", "data.whiten={epsilon: 0.1}")
    assert res.exit_code == 3 and "identity" in res.stderr
    res = run("plot", "runs/none", "--weights")
    assert res.exit_code != 0


def test_the_digits_sparse_autoencoder_scales_its_pixels_to_0_1_and_trains(proj):
    """data.scale {min: 0, max: 16}: x̂ = x/16 exactly, kept as the run's μ, σ (eval and predict apply it);
    the shipped MNIST-style config trains, with the penalty's three parts."""
    from nettrain import config as config_mod

    cfg = config_mod.load_config("configs/sparse_autoencoder_digits.yaml", ["train.epochs=5"])
    problem = load_problem(cfg)
    X, Y = problem.splits["train"]
    raw = np.loadtxt("data/digits.csv", delimiter=",", skiprows=1)[:, :64]
    assert np.array_equal(np.sort(X, axis=0), np.sort(raw / 16.0, axis=0)) and np.array_equal(X, Y)
    assert problem.prep.mean == [0.0] * 64 and problem.prep.std == [16.0] * 64
    res = run("fit", "configs/sparse_autoencoder_digits.yaml", "--set", "train.epochs=5", "--out", "sd")
    assert res.exit_code == 0, res.output
    data = json.loads(run("eval", "sd", "--json").stdout)
    assert data["sparse_cost"] > 0 and math.isfinite(data["r2"])  # R² over the pixels that are not always blank
    refused = run("fit", "configs/sparse_autoencoder_digits.yaml", "--set", "data.standardize=true")
    assert refused.exit_code == 3 and "cannot be used with data.standardize: true" in refused.stderr


def test_a_refused_resume_says_how_to_go_on_from_its_weights_and_that_works(proj):
    assert run("fit", "configs/iris.yaml", "--set", "train.epochs=4", "--out", "r").exit_code == 0
    res = run("fit", "configs/iris.yaml", "--set", "train.epochs=8", "--set", "train.learning_rate=0.01",
              "--out", "r", "--resume")
    assert res.exit_code == 3 and "differs from the run's in train.learning_rate" in res.stderr
    advice = " ".join(res.stderr.split()).split("start a new run from them: ")[1]
    new = [a.strip("'") for a in advice.replace("NEW_FOLDER", "r2").split()]
    res = run("fit", "configs/iris.yaml", "--set", "train.epochs=3", "--set", "train.learning_rate=0.01", *new)
    assert res.exit_code == 0, res.output
    # the new run's epoch 0 is the old run's last state: the same J on the same split
    old_last = (proj / "r" / "metrics.csv").read_text().splitlines()[-1].split(",")
    new_first = (proj / "r2" / "metrics.csv").read_text().splitlines()[1].split(",")
    assert new_first[1] == old_last[1] and new_first[0] == "0"


def test_shipped_small_configs_train_without_a_warning_and_a_rising_j_still_exits_0(proj):
    """xor, iris and diabetes train cleanly as shipped (no rising-J warning); a learning rate far too large ends
    with exit 0 (a finished run, as the README's exit codes say) and the warning, with its fix, under the summary."""
    for name in ("xor", "iris", "diabetes"):
        res = run("fit", f"configs/{name}.yaml", "--out", f"clean-{name}")
        assert res.exit_code == 0 and "warning" not in res.output, (name, res.output)
    res = run("fit", "configs/iris.yaml", "--set", "train.learning_rate=500", "--set", "train.epochs=60",
              "--out", "too-fast")
    assert res.exit_code == 0
    tail = res.stdout[res.stdout.index("done at epoch 60"):]  # the summary and what follows it
    assert "warning: J rose from" in tail and "try a smaller train.learning_rate (now 500)" in " ".join(tail.split())
