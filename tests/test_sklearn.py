"""nettrain.sklearn: scikit-learn's own estimator checks, the same weights as `nettrain fit`, pipelines.

The estimator checks use small networks and 100 epochs: enough for the checks that ask for a
training score (blobs, a regression), fast enough to run with the suite.
"""

import subprocess
import sys
import tempfile
from inspect import signature
from pathlib import Path

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import nettrain  # noqa: E402
from nettrain import checkpoint as ckpt  # noqa: E402
from nettrain.data import read_table  # noqa: E402
from nettrain.errors import ConfigError, DataError  # noqa: E402
from nettrain.sklearn import NetClassifier, NetRegressor  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

CHECKED = [
    NetClassifier(hidden_layer_sizes=(8,), init_scheme="glorot_uniform", learning_rate=1.0, epochs=100, random_state=0),
    NetRegressor(hidden_layer_sizes=(8,), init_scheme="glorot_uniform", learning_rate=0.5, epochs=100, random_state=0),
]


@parametrize_with_checks(CHECKED)
def test_scikit_learns_estimator_checks(estimator, check):
    check(estimator)


# ----------------------------------------------------------------------------- the same as nettrain fit


def test_the_classifier_trains_the_weights_nettrain_fit_trains_bit_for_bit(tmp_path, monkeypatch):
    """configs/digits.yaml on all the rows (split train 1.0), and NetClassifier with its parameters."""
    monkeypatch.chdir(tmp_path)
    overrides = {"data.split": {"train": 1.0, "val": 0.0, "test": 0.0}, "train.epochs": 40, "log.every": 20}
    run = nettrain.fit(ROOT / "configs" / "digits.yaml", overrides, out="digits")
    table = read_table(ROOT / "data" / "digits.csv", ["label"])
    clf = NetClassifier(hidden_layer_sizes=(25,), activation="sigmoid", output_activation="softmax",
                        loss="cross_entropy", init_scheme="normal", init_std=0.01, learning_rate=0.5,
                        weight_decay=1e-4, epochs=40, random_state=0).fit(table.X, table.y)
    params, _ = ckpt.load_checkpoint(tmp_path / "digits" / "last.npz")
    for l in (1, 2):
        assert np.array_equal(clf.W_[l], params.W[l]) and np.array_equal(clf.b_[l], params.b[l])
    for col in ("cost", "data_cost", "reg_cost"):
        assert np.array_equal(clf.history_[col], run.history[col])
    assert clf.cost_ == run.cost and clf.n_iter_ == 40 and clf.loss_curve_ == run.history["cost"].tolist()
    assert np.array_equal(clf.predict(table.X), run.model.predict(table.X))


def test_grid_search_over_weight_decay_in_a_pipeline():
    table = read_table(ROOT / "data" / "iris.csv")
    pipe = make_pipeline(StandardScaler(), NetClassifier(hidden_layer_sizes=(6,), learning_rate=0.5, epochs=150,
                                                         random_state=0))
    search = GridSearchCV(pipe, {"netclassifier__weight_decay": [0.0, 1e-3, 1.0]}, cv=3).fit(table.X, table.y)
    assert search.best_params_["netclassifier__weight_decay"] in (0.0, 1e-3)  # λ = 1 flattens the network
    scores = dict(zip(search.cv_results_["param_netclassifier__weight_decay"], search.cv_results_["mean_test_score"]))
    assert scores[1.0] < scores[0.0] and scores[0.0] > 0.8
    assert search.predict(table.X[:2]).tolist() == ["setosa", "setosa"]


# ----------------------------------------------------------------------------- parameters and files


def test_parameters_are_config_keys_and_unset_optimizer_keys_stay_out():
    cfg = NetClassifier(hidden_layer_sizes=[5, 4], weight_decay=1e-3, random_state=7).config(3, 2)
    assert cfg["model"]["layers"] == [3, 5, 4, 2] and cfg["seed"] == 7
    assert cfg["train"]["weight_decay"] == 1e-3 and cfg["data"]["standardize"] is True
    assert cfg["data"]["split"] == {"train": 1.0, "val": 0.0, "test": 0.0}
    assert not {"batch_size", "momentum", "beta1", "beta2", "epsilon", "memory", "early_stopping"} & set(cfg["train"])
    cfg = NetRegressor(hidden_layer_sizes=3, optimizer="adam", beta1=0.9, batch_size=32).config(2, 1)
    assert cfg["model"]["layers"] == [2, 3, 1] and cfg["model"]["output_activation"] == "identity"
    assert cfg["train"]["optimizer"] == "adam" and cfg["train"]["beta1"] == 0.9 and cfg["train"]["batch_size"] == 32
    assert "sample_weight" not in signature(NetClassifier.fit).parameters


def test_config_errors_name_the_estimator_and_the_dotted_key():
    X, y = np.arange(12.0).reshape(6, 2), [0, 1] * 3
    with pytest.raises(ConfigError, match=r"^NetClassifier: train.learning_rate: must be greater than 0 \(got -1\)$"):
        NetClassifier(learning_rate=-1).fit(X, y)
    with pytest.raises(ConfigError, match=r"^NetRegressor: model.activation: must be one of sigmoid, tanh, relu"):
        NetRegressor(activation="sigmoidd").fit(X, y)


def test_one_class_is_refused_as_a_data_error_and_a_value_error():
    with pytest.raises(DataError, match=r"^NetClassifier: y has one class \('a'\): a classifier needs at least 2"):
        NetClassifier().fit(np.zeros((3, 2)), ["a", "a", "a"])
    with pytest.raises(ValueError, match="one class"):
        NetClassifier().fit(np.zeros((3, 2)), [1, 1, 1])


def test_nothing_is_written_unless_a_run_dir_is_asked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.chdir(tmp_path)
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.array(["no", "yes"] * 10)
    clf = NetClassifier(hidden_layer_sizes=(4,), epochs=5, random_state=0).fit(X, y)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"] and not any((tmp_path / "tmp").iterdir())
    assert clf.run_dir_ is None
    kept = NetClassifier(hidden_layer_sizes=(4,), epochs=5, random_state=0, run_dir="runs/kept").fit(X, y)
    assert kept.run_dir_ == Path("runs/kept") and (tmp_path / "runs" / "kept.npz").is_file()
    assert np.array_equal(kept.W_[1], clf.W_[1])
    model = nettrain.load("runs/kept")  # a run folder like any other: its data is beside it
    assert model.evaluate(X, (y == "yes").astype(int))["accuracy"] == clf.score(X, y)


def test_binary_sigmoid_and_string_labels_and_feature_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(40, 2)), columns=["width", "height"])
    y = np.where(X["width"] > 0, "wide", "narrow")
    clf = NetClassifier(hidden_layer_sizes=(), output_activation="sigmoid", learning_rate=1.0, epochs=200,
                        random_state=0).fit(X, y)
    assert clf.W_[1].shape == (1, 2)  # two classes, one sigmoid unit: P(classes_[1])
    assert list(clf.classes_) == ["narrow", "wide"] and list(clf.feature_names_in_) == ["width", "height"]
    proba = clf.predict_proba(X)
    assert proba.shape == (40, 2) and np.allclose(proba.sum(axis=1), 1.0) and clf.score(X, y) > 0.9


def test_regression_keeps_the_shape_of_y():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 3))
    Y = np.column_stack([X @ [1.0, 2.0, 0.0], X[:, 0] - X[:, 2]])
    reg = NetRegressor(hidden_layer_sizes=(6,), learning_rate=0.2, epochs=200, random_state=0)
    assert reg.fit(X, Y).predict(X).shape == (30, 2) and reg.W_[2].shape == (2, 6)
    assert reg.fit(X, Y[:, 0]).predict(X).shape == (30,) and reg.score(X, Y[:, 0]) > 0.8
    assert len(reg.history_["epoch"]) == 201 and np.allclose(reg.history_["cost"], reg.history_["data_cost"])


def test_without_scikit_learn_the_module_says_how_to_install_it():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import nettrain.sklearn\nexcept ImportError as e:\n    print(type(e).__name__, e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out == 'MissingExtra nettrain.sklearn needs scikit-learn, an optional extra: pip install -e ".[sklearn]"\n'


def test_early_stopping_holds_out_a_validation_fraction_and_keeps_the_best_epoch():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    clf = NetClassifier(optimizer="adam", batch_size=64, learning_rate=0.01, epochs=500,
                        early_stopping={"patience": 5}, validation_fraction=0.2, random_state=0).fit(X, y)
    val = clf.history_["val_data_cost"]
    assert clf.n_iter_ < 500 and len(val) == clf.n_iter_ + 1
    best = int(np.nanargmin(val))
    assert clf.n_iter_ == best + 5 and clf.model_.epoch == best  # the model is the best epoch's, as best.npz
