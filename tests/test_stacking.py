"""Networks built from trained runs: data.labels (the rows of some classes), data.transform (features from a run's
hidden layers, stored with the model and checked wherever it is used), model.init.from per layer (a stacked start),
and the network with no hidden layer (softmax regression) through every command."""

from __future__ import annotations

import csv
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import nettrain
from nettrain import checkpoint as ckpt
from nettrain import config as config_mod
from nettrain import data as data_mod
from nettrain import network, trainer
from nettrain.checks import gradcheck_run
from nettrain.cli import app
from nettrain.errors import CheckpointError, ConfigError, DataError
from nettrain.evaluation import evaluate_run
from nettrain.prediction import predict_rows
from nettrain.problem import initial_params, load_problem
from nettrain.walkthrough import report

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    """A folder with d.npz: 400 of the 8×8 digits (pixel counts 0–16), their labels in y ('label')."""
    folder = tmp_path_factory.mktemp("stack")
    rows = np.loadtxt(ROOT / "data" / "digits.csv", delimiter=",", skiprows=1)[:400]
    np.savez(folder / "d.npz", X=rows[:, :-1], y=rows[:, -1].astype(np.int64),
             feature_names=np.array([f"p{j}" for j in range(64)]), target_names=np.array(["label"]))
    return folder


def write(folder: Path, name: str, doc: dict) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, **doc}, sort_keys=False), encoding="utf-8")
    return path


AE = {"data": {"path": "d.npz", "task": "autoencode", "target": ["label"], "labels": [5, 6, 7, 8, 9],
               "standardize": False, "scale": {"min": 0, "max": 16}, "split": {"train": 1.0}},
      "model": {"layers": [64, 6, 64], "init": {"scheme": "glorot_uniform"}, "sparsity": {"target": 0.1, "weight": 3}},
      "train": {"optimizer": "lbfgs", "epochs": 8, "weight_decay": 3e-3}, "log": {"every": 4}}
SM = {"data": {"path": "d.npz", "labels": [0, 1, 2, 3, 4], "transform": {"from": "runs/ae"}, "standardize": False,
               "split": {"train": 0.5, "val": 0.0, "test": 0.5}},
      "model": {"layers": [6, 5], "output_activation": "softmax", "init": {"scheme": "normal", "std": 0.005}},
      "loss": "cross_entropy", "train": {"optimizer": "lbfgs", "epochs": 12, "weight_decay": 1e-4},
      "log": {"every": 4}}


def fit(path: Path, **kw):
    return trainer.fit(config_mod.load_config(path), **kw)


@pytest.fixture(scope="module")
def stacked(digits) -> Path:
    """runs/ae (an autoencoder on the digits 5–9) and runs/sm (softmax on its features of the digits 0–4)."""
    fit(write(digits, "ae", AE), out=digits / "runs" / "ae")
    fit(write(digits, "sm", SM), out=digits / "runs" / "sm")
    return digits


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def by_hand(folder: Path, X: np.ndarray) -> np.ndarray:
    """p(k | x) of runs/sm for raw rows X, from the two checkpoints' weights: x/16 → a⁽²⁾ of runs/ae → softmax."""
    ae, _ = ckpt.load_checkpoint(folder / "runs" / "ae" / "last.npz")
    sm, _ = ckpt.load_checkpoint(folder / "runs" / "sm" / "last.npz")
    features = sigmoid(ae.W[1] @ (X / 16.0).T + ae.b[1][:, None])  # a⁽²⁾ (6, m): data.scale {0, 16}, then f
    z = sm.W[1] @ features + sm.b[1][:, None]
    e = np.exp(z - z.max(axis=0))
    return (e / e.sum(axis=0)).T


# ----------------------------------------------------------------------------- data.labels


def test_labels_keep_the_rows_of_those_classes_in_file_order_before_the_split(digits):
    z = np.load(digits / "d.npz")
    cfg = config_mod.load_config(write(digits, "lab", {**SM, "data": {**SM["data"], "transform": None,
                                                                      "standardize": True}, "model": {"layers": [64, 5]}}))
    problem = load_problem(cfg)
    kept = np.flatnonzero(z["y"] < 5)
    spec = data_mod.split_indices(len(kept), 0.5, 0.0, 0.5, 0)  # the split of the kept rows, not of all 400
    np.testing.assert_array_equal(problem.splits["test"][1].argmax(axis=1), z["y"][kept[spec["test"]]])
    assert problem.prep.labels == [0, 1, 2, 3, 4] and len(problem.splits["train"][0]) == len(spec["train"])


def test_an_autoencoder_on_some_labels_leaves_the_label_out_of_x(digits):
    problem = load_problem(config_mod.load_config(write(digits, "ae-rows", AE)))
    z = np.load(digits / "d.npz")
    X, Y = problem.splits["train"]
    np.testing.assert_array_equal(X, z["X"][z["y"] >= 5] / 16.0)
    assert Y is X and problem.prep.feature_names == [f"p{j}" for j in range(64)]


def test_a_label_the_data_lacks_is_named_and_the_widths_say_which_rows(digits):
    with pytest.raises(DataError, match=r"lab2\.yaml:\d+: data\.labels: 11 is not a label of .*d\.npz \(its labels: 0, 1"):
        load_problem(config_mod.load_config(write(digits, "lab2", {**SM, "data": {**SM["data"], "transform": None,
                                                                                  "labels": [0, 11]},
                                                                   "model": {"layers": [64, 2]}})))
    with pytest.raises(ConfigError, match=r"ends with 5 outputs but .*d\.npz \(the rows of data\.labels\) has 3 classes"):
        load_problem(config_mod.load_config(write(digits, "lab3", {**SM, "data": {**SM["data"], "transform": None,
                                                                                  "labels": [0, 1, 2]},
                                                                   "model": {"layers": [64, 5]}})))


# ----------------------------------------------------------------------------- data.transform


def test_eval_predict_and_the_api_take_raw_rows_and_match_the_features_by_hand(stacked):
    z = np.load(stacked / "d.npz")
    X, y = z["X"][z["y"] < 5], z["y"][z["y"] < 5]
    test = data_mod.split_indices(len(X), 0.5, 0.0, 0.5, 0)["test"]
    p = by_hand(stacked, X[test])
    sm, _ = ckpt.load_checkpoint(stacked / "runs" / "sm" / "last.npz")
    J_data = -np.mean(np.log(p[np.arange(len(test)), y[test]]))
    res = evaluate_run(stacked / "runs" / "sm")  # the run's own test split, from the raw file
    assert res["m"] == len(test) and res["data_cost"] == pytest.approx(J_data, rel=1e-12)
    assert res["reg_cost"] == pytest.approx(1e-4 / 2 * np.sum(sm.W[1] ** 2), rel=1e-12)
    assert res["accuracy"] == pytest.approx(np.mean(p.argmax(axis=1) == y[test]))

    np.savez(stacked / "raw.npz", X=X[:7], y=y[:7])  # rows as a user holds them: 64 pixel counts
    header, rows = predict_rows(stacked / "runs" / "sm", stacked / "raw.npz")
    assert header == ["predicted_label", "p_0", "p_1", "p_2", "p_3", "p_4"]
    np.testing.assert_allclose(np.array([r[1:] for r in rows], dtype=float), by_hand(stacked, X[:7]), rtol=1e-12)
    assert evaluate_run(stacked / "runs" / "sm", stacked / "raw.npz")["m"] == 7

    model = nettrain.load(stacked / "runs" / "sm")
    np.testing.assert_allclose(model.predict_proba(X[:7]), by_hand(stacked, X[:7]), rtol=1e-12)
    again = pickle.loads(pickle.dumps(model))  # the features' run goes with the model
    np.testing.assert_array_equal(again.predict_proba(X[:7]), model.predict_proba(X[:7]))


def test_the_transform_is_stored_with_the_model_and_named_by_its_checksum(stacked):
    meta = ckpt.read_meta(stacked / "runs" / "sm" / "last.npz")
    t = meta["transform"]
    assert t["from"] == str((stacked / "runs" / "ae" / "last.npz").resolve()) and t["layers"] == 1
    import hashlib

    assert t["sha256"] == hashlib.sha256((stacked / "runs" / "ae" / "last.npz").read_bytes()).hexdigest()
    assert meta["preprocessing"]["feature_names"] == [f"h{j}" for j in range(1, 7)]


def test_a_transform_whose_run_changed_or_is_missing_is_refused_in_one_line(stacked, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(stacked, folder)
    (folder / "sm.yaml").write_text((folder / "sm.yaml").read_text())
    last = folder / "runs" / "ae" / "last.npz"
    # the copy's sm names the original's ae (an absolute path): point it at the copy's
    meta_sm = folder / "runs" / "sm" / "last.npz"
    params, meta = ckpt.load_checkpoint(meta_sm)
    meta["transform"]["from"] = str(last.resolve())
    ckpt.save_checkpoint(meta_sm, params, meta)
    assert evaluate_run(folder / "runs" / "sm")["m"] > 0
    params_ae, meta_ae = ckpt.load_checkpoint(last)
    params_ae.W[1][0, 0] += 1e-9  # the autoencoder trained on, or replaced, after the softmax was
    ckpt.save_checkpoint(last, params_ae, meta_ae)
    for call in (lambda: evaluate_run(folder / "runs" / "sm"), lambda: nettrain.load(folder / "runs" / "sm"),
                 lambda: predict_rows(folder / "runs" / "sm", folder / "d.npz")):
        with pytest.raises(CheckpointError, match=r"was trained on the features of .*ae/last\.npz, which has changed "
                                                  r"since \(its SHA-256 differs\)") as e:
            call()
        assert "\n" not in str(e.value)
    last.unlink()
    res = run("eval", folder / "runs" / "sm")
    assert res.exit_code == 5 and "which is missing: restore that run's checkpoint" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_a_resume_refuses_a_transform_whose_run_changed(digits, tmp_path):
    folder = tmp_path / "r"
    shutil.copytree(digits, folder, ignore=shutil.ignore_patterns("runs"))
    ae = write(folder, "ae", AE)
    fit(ae, out=folder / "runs" / "ae")
    sm = write(folder, "sm", {**SM, "train": {**SM["train"], "optimizer": "gd", "learning_rate": 0.5, "epochs": 4}})
    fit(sm, out=folder / "runs" / "sm")
    cfg = config_mod.load_config(ae, ["train.epochs=10"])
    trainer.fit(cfg, out=folder / "runs" / "ae", resume=True)  # the autoencoder trained further
    with pytest.raises(ConfigError, match=r"cannot resume from .*sm/last\.npz: it was trained on the features of "
                                          r".*ae/last\.npz, and the features are now layer 2 of"):
        trainer.fit(config_mod.load_config(sm, ["train.epochs=8"]), out=folder / "runs" / "sm", resume=True)


def test_features_stack_a_transform_on_a_transform(stacked):
    doc = {"data": {"path": "d.npz", "task": "autoencode", "transform": {"from": "runs/ae"}, "standardize": False,
                    "split": {"train": 1.0}},
           "model": {"layers": [6, 3, 6], "init": {"scheme": "glorot_uniform"}},
           "train": {"optimizer": "lbfgs", "epochs": 3}}
    fit(write(stacked, "ae2", doc), out=stacked / "runs" / "ae2")
    top = {"data": {**SM["data"], "transform": {"from": "runs/ae2"}}, "model": {**SM["model"], "layers": [3, 5]},
           "loss": "cross_entropy", "train": SM["train"]}
    fit(write(stacked, "sm2", top), out=stacked / "runs" / "sm2")
    z = np.load(stacked / "d.npz")
    ae, _ = ckpt.load_checkpoint(stacked / "runs" / "ae" / "last.npz")
    ae2, _ = ckpt.load_checkpoint(stacked / "runs" / "ae2" / "last.npz")
    a3 = sigmoid(ae2.W[1] @ sigmoid(ae.W[1] @ (z["X"][:5] / 16.0).T + ae.b[1][:, None]) + ae2.b[1][:, None])
    model = nettrain.load(stacked / "runs" / "sm2")  # raw pixels → ae's features → ae2's features → softmax
    np.testing.assert_allclose(model._loaded.transform.apply(z["X"][:5]), a3.T, rtol=1e-12)


def test_a_transform_names_a_run_with_hidden_layers_that_exists(stacked):
    with pytest.raises(ConfigError, match=r"data\.transform\.from: .*nothing.*: train that run first"):
        load_problem(config_mod.load_config(write(stacked, "t1", {**SM, "data": {**SM["data"],
                                                                                 "transform": {"from": "nothing"}}})))
    with pytest.raises(ConfigError, match=r"layers is 2, but the run has 1 hidden layer \(model\.layers \[64, 6, 64\]\)"):
        load_problem(config_mod.load_config(write(stacked, "t2", {**SM, "data": {**SM["data"], "transform":
                                                                                 {"from": "runs/ae", "layers": 2}}})))
    with pytest.raises(ConfigError, match=r"the run has no hidden layer \(model\.layers \[6, 5\]\)"):
        load_problem(config_mod.load_config(write(stacked, "t3", {**SM, "data": {**SM["data"],
                                                                                 "transform": {"from": "runs/sm"}}})))
    with pytest.raises(ConfigError, match=r"data\.transform makes 6 features \(hidden layer 2 of .*ae\): set model"):
        load_problem(config_mod.load_config(write(stacked, "t4", {**SM, "model": {**SM["model"], "layers": [64, 5]}})))


def test_hostile_transform_metadata_is_refused(stacked, tmp_path):
    params, meta = ckpt.load_checkpoint(stacked / "runs" / "sm" / "last.npz")
    cases = {"not a mapping": 3, "missing key": {"from": "x", "layers": 1},
             "layers": {**meta["transform"], "layers": True}, "sha": {**meta["transform"], "sha256": "zz"},
             "itself": {**meta["transform"], "from": str(tmp_path / "h.npz")}}
    for name, value in cases.items():
        ckpt.save_checkpoint(tmp_path / "h.npz", params, {**meta, "transform": value})
        with pytest.raises(CheckpointError) as e:
            nettrain.load(tmp_path / "h.npz")
        assert "\n" not in str(e.value), name


# ----------------------------------------------------------------------------- model.init.from per layer


def test_a_stacked_start_copies_each_named_layer_and_draws_the_rest(stacked):
    doc = {"data": {**SM["data"], "transform": None, "scale": {"min": 0, "max": 16}},
           "model": {"layers": [64, 6, 5], "output_activation": "softmax",
                     "init": {"scheme": "glorot_uniform", "from": [{"run": "runs/ae"}, None]}},
           "loss": "cross_entropy", "train": {"optimizer": "lbfgs", "epochs": 0}}
    cfg = config_mod.load_config(write(stacked, "st", doc))
    ae, _ = ckpt.load_checkpoint(stacked / "runs" / "ae" / "last.npz")
    got = initial_params(cfg, cfg.architecture(), np.float64)
    drawn = network.init_params((64, 6, 5), "glorot_uniform", np.random.default_rng(0))  # every layer drawn first
    np.testing.assert_array_equal(got.W[1], ae.W[1])
    np.testing.assert_array_equal(got.b[1], ae.b[1])
    np.testing.assert_array_equal(got.W[2], drawn.W[2])


def test_fine_tuning_starts_exactly_from_the_copied_weights(stacked):
    doc = {"data": {**SM["data"], "transform": None, "scale": {"min": 0, "max": 16}},
           "model": {"layers": [64, 6, 5], "output_activation": "softmax",
                     "init": {"from": [{"run": "runs/ae"}, {"run": "runs/sm"}]}},
           "loss": "cross_entropy", "train": {"optimizer": "gd", "learning_rate": 0.1, "epochs": 1, "weight_decay": 1e-4},
           "log": {"every": 1, "checkpoint_every": 1}}
    res = fit(write(stacked, "ft", doc), out=stacked / "runs" / "ft")
    ae, _ = ckpt.load_checkpoint(stacked / "runs" / "ae" / "last.npz")
    sm, _ = ckpt.load_checkpoint(stacked / "runs" / "sm" / "last.npz")
    # row 0 of metrics.csv is J at the start: the softmax's own train J_data (its features are the stack's a⁽²⁾)
    sm_train = evaluate_run(stacked / "runs" / "sm", split="train")
    rows = list(csv.DictReader(open(stacked / "runs" / "ft" / "metrics.csv", encoding="utf-8")))
    assert float(rows[0]["data_cost"]) == pytest.approx(sm_train["data_cost"], rel=1e-12)
    assert res.epoch == 1
    first, _ = ckpt.load_checkpoint(stacked / "runs" / "ft" / "checkpoints" / "epoch-1.npz")
    cfg = config_mod.load_config(stacked / "ft.yaml")
    problem = load_problem(cfg)
    x, y = problem.columns("train")
    start = network.Params({1: ae.W[1], 2: sm.W[1]}, {1: ae.b[1], 2: sm.b[1]})
    from nettrain import sums

    _, g = sums.backprop(cfg.architecture(), start, x, y, 1e-4)
    np.testing.assert_allclose(first.W[1], ae.W[1] - 0.1 * g.W[1], rtol=1e-12, atol=1e-15)  # one step from there


def test_a_stacked_start_refuses_what_does_not_fit(stacked):
    base = {"data": {**SM["data"], "transform": None, "scale": {"min": 0, "max": 16}},
            "model": {"layers": [64, 6, 5], "output_activation": "softmax"}, "loss": "cross_entropy"}

    def start(entries):
        cfg = config_mod.load_config(write(stacked, "bad", {**base, "model": {**base["model"],
                                                                              "init": {"from": entries}}}))
        initial_params(cfg, cfg.architecture(), np.float64)

    with pytest.raises(ConfigError, match=r"model\.init\.from\.1: W1 of .*ae is 6×64, but W2 of model\.layers "
                                          r"\[64, 6, 5\] is 5×6"):
        start([None, {"run": "runs/ae"}])
    with pytest.raises(ConfigError, match=r"model\.init\.from\.0: layer is 3 but .*ae has weight layers 1 … 2"):
        start([{"run": "runs/ae", "layer": 3}, None])
    with pytest.raises(ConfigError, match=r"model\.init\.from\.0: .*nothing.*train that run first"):
        start([{"run": "runs/nothing"}, None])


def test_gradcheck_passes_on_a_stack_with_a_transform_and_a_copied_start(stacked):
    doc = {"data": {**SM["data"]}, "model": {"layers": [6, 4, 5], "output_activation": "softmax",
                                             "init": {"scheme": "glorot_uniform",
                                                      "from": [None, {"run": "runs/sm", "layer": 1}]}},
           "loss": "cross_entropy", "train": {"weight_decay": 1e-3}}
    with pytest.raises(ConfigError, match=r"W1 of .*sm is 5×6, but W2 of model\.layers \[6, 4, 5\] is 5×4"):
        gradcheck_run(config_mod.load_config(write(stacked, "gc", doc)))
    doc["model"]["layers"] = [6, 6, 5]  # on the autoencoder's features; W2 copied from the softmax on them
    checked = gradcheck_run(config_mod.load_config(write(stacked, "gc", doc)), sample=10)
    assert checked.passed and len(checked.results[0][1]) == 3  # data, reg, all


# ----------------------------------------------------------------------------- no hidden layer


def test_softmax_regression_works_everywhere(stacked, tmp_path):
    doc = {"data": {"path": str(stacked / "d.npz"), "standardize": False, "scale": {"min": 0, "max": 16}},
           "model": {"layers": [64, 10], "output_activation": "softmax"}, "loss": "cross_entropy",
           "train": {"optimizer": "lbfgs", "epochs": 15, "weight_decay": 1e-4}}
    path = write(tmp_path, "smr", doc)
    assert run("fit", path, "--out", tmp_path / "r").exit_code == 0
    assert run("gradcheck", path).exit_code == 0
    assert run("eval", tmp_path / "r").exit_code == 0
    pytest.importorskip("matplotlib")
    assert run("plot", tmp_path / "r").exit_code == 0 and (tmp_path / "r" / "cost.png").exists()
    res = run("plot", tmp_path / "r", "--weights")  # one tile per class: a template of 8×8
    assert res.exit_code == 0 and (tmp_path / "r" / "weights.png").exists()


def test_explain_shows_softmax_regressions_one_delta(stacked, tmp_path):
    doc = {"data": {"path": str(stacked / "d.npz"), "standardize": False, "scale": {"min": 0, "max": 16}},
           "model": {"layers": [64, 10], "output_activation": "softmax"}, "loss": "cross_entropy",
           "train": {"weight_decay": 1e-4}}
    cfg = config_mod.load_config(write(tmp_path, "ex", doc))
    _, res = report(cfg, 3)
    layers = res["layers"]
    assert [L["l"] for L in layers] == [1, 2] and layers[0]["delta"] is None
    a, y = np.array(layers[1]["a"]), np.array(layers[1]["output_delta"]["y"])
    np.testing.assert_allclose(layers[1]["delta"], a - y, rtol=0, atol=1e-15)  # δ⁽²⁾ = a − y, the only δ
    x = np.array(layers[0]["a"])
    np.testing.assert_allclose(layers[0]["dW_example"], np.outer(a - y, x), atol=1e-15)
    num = np.array(layers[0]["dW_numerical"], dtype=float)
    known = ~np.isnan(num)
    np.testing.assert_allclose(num[known], np.outer(a - y, x)[known], atol=1e-8)


def test_export_refuses_a_run_whose_inputs_are_another_runs_features(stacked):
    pytest.importorskip("onnx")
    res = run("export", stacked / "runs" / "sm", "--out", stacked / "sm.onnx")
    msg = res.output.strip()
    assert res.exit_code != 0 and "\n" not in msg, msg
    assert "(data.transform)" in msg and "ae" in msg and "export a run trained on the rows themselves" in msg
    assert not (stacked / "sm.onnx").exists()
