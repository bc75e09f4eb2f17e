"""nettrain.export_onnx: the exported model, run by ONNX Runtime, against nettrain's own prediction path.

The reference does the preprocessing by hand in numpy, as nettrain does it (fills, one-hot in place,
(x − μ)/σ in float64 cast once to the dtype, whitening in float64 from the dtype's values) and calls
network.predict for the network; probabilities and labels as trained.class_probabilities and
Preprocessing.decode make them. Each output array equals the reference to 1e-6 (float32) and 1e-12
(float64) relative, as max |got − want| / max |want| over the array (a float32 softmax probability of
1e-22 is exp(z) of a z whose last bit is 4e-6 of it: no two float32 implementations agree on it
entry by entry, nettrain's own float32 is 1e-4 from float64 there); the labels exactly.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import nettrain  # noqa: E402
from nettrain import network, whiten  # noqa: E402
from nettrain.prediction import predict_rows  # noqa: E402
from nettrain.problem import read_data  # noqa: E402
from nettrain.trained import load_trained  # noqa: E402
from nettrain.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS  # noqa: E402
from nettrain.data import Preprocessing  # noqa: E402
from nettrain.errors import ModelError  # noqa: E402
from nettrain.export_onnx import (  # noqa: E402
    ACTIVATION_NODES, OPSET, Categorical, ExportSpec, Numeric, build, from_trained)

RTOL = {np.float32: 1e-6, np.float64: 1e-12}
M_ROWS = 64

# (task, output activation, outputs, labels, binary): every output activation, each kind of label
HEADS = {
    "softmax-text": ("classification", "softmax", 3, ["Adelie", "Chinstrap", "Gentoo"], False),
    "sigmoid-float-labels": ("classification", "sigmoid", 4, [-0.5, 0.25, 1.0, 2.5], False),
    "binary-int-labels": ("classification", "sigmoid", 1, [3, 7], True),
    **{f"regression-{f}": ("regression", f, 3, None, False) for f in ACTIVATIONS},
    "autoencode": ("autoencode", "identity", None, None, False),
}

COLUMNS = [  # raw columns in order: 4 numeric (2 with a fill) and 2 categorical (one-hot: 3 + 2)
    Numeric("bill_length_mm", fill=43.9), Categorical("island", ("Biscoe", "Dream", "Torgersen"), unknown="ignore"),
    Numeric("bill_depth_mm"), Numeric("flipper_length_mm", fill=-1.5), Categorical("sex", ("female", "male")),
    Numeric("year"),
]


def session(model):
    """ONNX Runtime on one thread, its own log lines held back (a failed run is the exception it raises)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


# ------------------------------------------------------------------------------------------- the reference


def encode(columns, X, cats):
    """The encoded input (m, n) in float64: numeric NaN → fill, each categorical column one-hot in place."""
    X = np.array(X, dtype=np.float64)
    for j, c in enumerate(c for c in columns if isinstance(c, Numeric)):
        if c.fill is not None:
            X[np.isnan(X[:, j]), j] = c.fill
    parts, j = [], 0
    for c in columns:
        if isinstance(c, Numeric):
            parts.append(X[:, j : j + 1])
            j += 1
        else:  # an unknown value matches no category: an all-zero row
            parts.append((cats[c.name].reshape(-1, 1) == np.array(c.categories, dtype=object)).astype(np.float64))
    return np.hstack(parts)


def reference(spec, X, cats):
    """What nettrain computes for these rows: {"probabilities", "label"} or {"y"}."""
    dtype = spec.dtype
    E = encode(spec.columns, X, cats)
    if spec.mean is not None:
        E = (E - spec.mean) / spec.std  # Preprocessing.transform_into: in float64, cast once
    A = E.astype(dtype)
    if spec.whiten is not None:  # ZCA.apply: from the dtype's values, in float64, cast
        M, mu = spec.whiten
        A = ((A.astype(np.float64) - mu) @ M.T).astype(dtype)
    arch = network.Architecture(tuple(spec.layers), spec.activation, spec.output_activation, "squared_error")
    params = network.Params({l: w.astype(dtype) for l, w in spec.W.items()},
                            {l: v.astype(dtype) for l, v in spec.b.items()})
    h = network.predict(arch, params, np.ascontiguousarray(A.T)).T.astype(np.float64)
    if spec.task != "classification":
        return {"y": h}
    prep = Preprocessing("classification", [c.name for c in spec.columns], ["species"], None, None, list(spec.labels),
                         spec.binary)
    return {"probabilities": np.hstack([1.0 - h, h]) if h.shape[1] == 1 else h, "label": prep.decode(h)}


def feeds(spec, X, cats):
    out = {"x": X.astype(spec.x_dtype)} if spec.numeric else {}
    return {**out, **{c.name: cats[c.name].reshape(-1, 1) for c in spec.categorical}}


def run(spec, X, cats):
    """The exported model's outputs for these rows, by name."""
    sess = session(build(spec))
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds(spec, X, cats))))


def relative_difference(got, want):
    """max |got − want| / max |want| over the whole array."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert np.abs(want).max() > 0  # a case with something to compare
    return float(np.abs(got - want).max() / np.abs(want).max())


# ------------------------------------------------------------------------------------------- random cases


def random_rows(rng, spec, m=M_ROWS):
    """Raw rows: numeric columns (m, p) with NaN in the filled ones, categorical values (a few unknown
    ones where unknown="ignore"), representable in the dtype of the model's x."""
    p = len(spec.numeric)
    j = np.arange(p)
    X = (rng.normal(size=(m, p)) * (1.0 + 3.0 * j) + 100.0 * (j + 1)).astype(spec.x_dtype)  # columns in their units
    X = X.astype(np.float64)
    for j, c in enumerate(spec.numeric):
        if c.fill is not None:
            X[rng.random(m) < 0.2, j] = np.nan
    cats = {}
    for c in spec.categorical:
        values = rng.choice(np.array(c.categories + (("Anvers", ""),)[0] if c.unknown == "ignore" else c.categories,
                                     dtype=object), size=m)
        cats[c.name] = values
    return X, cats


def random_spec(rng, hidden, head, dtype, *, columns=COLUMNS, standardize=True, whiten_to="zca"):
    """A network [s_1, 6, 5, s_nl] with random weights and preprocessing fitted to random rows: μ and σ of
    the encoded rows; a ZCA ("zca"), a random (k, n) projection (an int k) or no whitening (None)."""
    task, f_out, outputs, labels, binary = HEADS[head]
    spec = ExportSpec(task, [], hidden, f_out, {}, {}, list(columns), dtype=dtype, labels=labels, binary=binary)
    n = spec.encoded_width
    A = encode(spec.columns, *random_rows(rng, spec, 200))
    if standardize:
        spec.mean, spec.std = A.mean(axis=0), A.std(axis=0) + 0.1
        A = (A - spec.mean) / spec.std
    if whiten_to == "zca":
        zca = whiten.ZCA.fit(A, epsilon=0.1)
        spec.whiten = (zca.matrix, zca.mean)
    elif whiten_to is not None:
        spec.whiten = (rng.normal(size=(whiten_to, n)) / np.sqrt(n), rng.normal(size=n))
    if spec.whiten is not None:
        A = (A - spec.whiten[1]) @ spec.whiten[0].T
    s1 = A.shape[1]
    spec.layers = [s1, 6, 5, s1 if task == "autoencode" else outputs]
    for l in range(1, len(spec.layers)):
        spec.W[l] = rng.normal(size=(spec.layers[l], spec.layers[l - 1]))
    centre_layers(spec, A)
    return spec


def centre_layers(spec, A):
    """Scale and shift each layer so that each unit's z⁽ˡ⁺¹⁾ has mean 0 and standard deviation 2 over the
    rows A (m, s_1), as a trained network's units vary: labels that differ from row to row, ReLUs not all
    0, no z a cancellation of large terms (which would measure the test's conditioning, not the export)."""
    a = np.ascontiguousarray(A.T)
    for l in range(1, len(spec.layers)):
        z = spec.W[l] @ a
        spec.W[l] = spec.W[l] * (2.0 / z.std(axis=1, keepdims=True))
        spec.b[l] = -(spec.W[l] @ a).mean(axis=1)
        f = spec.output_activation if l + 1 == len(spec.layers) else spec.activation
        a = ACTIVATIONS[f].f(spec.W[l] @ a + spec.b[l][:, None])


def compare(spec, X, cats):
    """Max relative difference of each numeric output; the labels must be equal."""
    got, want = run(spec, X, cats), reference(spec, X, cats)
    assert set(got) == set(want)
    if "label" in want:
        assert got["label"].tolist() == want["label"].tolist()
        assert len(set(want["label"].tolist())) > 1  # a case whose labels vary
    return {k: relative_difference(got[k], want[k]) for k in want if k != "label"}


# (hidden activation, head, the network's dtype, x's dtype): a float32 network with either x
CASES = [(hidden, head, dtype, x_dtype) for dtype, x_dtype in ((np.float32, np.float64), (np.float32, np.float32),
                                                               (np.float64, np.float64))
         for head in HEADS for hidden in HIDDEN_ACTIVATIONS]


@pytest.mark.parametrize("hidden,head,dtype,x_dtype", CASES,
                         ids=[f"{h}-{head}-{d.__name__}-x{x.__name__[5:]}" for h, head, d, x in CASES])
def test_the_model_computes_what_nettrain_computes(hidden, head, dtype, x_dtype):
    rng = np.random.default_rng([CASES.index((hidden, head, dtype, x_dtype)), 7])
    spec = random_spec(rng, hidden, head, dtype)
    spec.input_dtype = x_dtype
    X, cats = random_rows(rng, spec)
    for name, diff in compare(spec, X, cats).items():
        assert diff <= RTOL[dtype], (name, diff)


def test_a_projection_to_fewer_inputs_without_categorical_columns_or_fills():
    """Whitening as M (k, n) with k < n (a PCA's shape), plain numeric columns: the model has one input x."""
    rng = np.random.default_rng(11)
    columns = [Numeric(f"f{j}") for j in range(5)]
    for dtype in (np.float32, np.float64):
        spec = random_spec(rng, "tanh", "softmax-text", dtype, columns=columns, whiten_to=3)
        assert spec.layers[0] == 3
        X, cats = random_rows(rng, spec)
        assert compare(spec, X, cats)["probabilities"] <= RTOL[dtype]


@pytest.mark.parametrize("standardize", [True, False])
def test_a_model_without_categorical_columns_has_the_one_input_x(standardize):
    rng = np.random.default_rng(12)
    spec = random_spec(rng, "relu", "regression-identity", np.float32, columns=[Numeric("a"), Numeric("b", fill=0.5)],
                       standardize=standardize, whiten_to=None)
    sess = session(build(spec))
    assert [(i.name, i.type, i.shape) for i in sess.get_inputs()] == [("x", "tensor(double)", ["N", 2])]
    assert [(o.name, o.type, o.shape) for o in sess.get_outputs()] == [("y", "tensor(float)", ["N", 3])]
    X, cats = random_rows(rng, spec)
    assert compare(spec, X, cats)["y"] <= RTOL[np.float32]


def test_a_float64_x_keeps_the_raw_values_a_float32_network_is_standardised_from():
    """nettrain reads raw values as float64 and standardises them before the float32 cast: a year-like
    column 2008.37 ± 0.01 loses its last digits in a float32 x (ulp 1.2e-4 = 0.012σ), not in the default
    float64 x."""
    rng = np.random.default_rng(15)
    spec = random_spec(rng, "tanh", "regression-identity", np.float32, columns=[Numeric("t"), Numeric("u")],
                       standardize=False, whiten_to=None)
    X = np.column_stack([2008.37 + 0.01 * rng.normal(size=M_ROWS), rng.normal(size=M_ROWS)])
    spec.mean, spec.std = np.array([2008.37, 0.0]), np.array([0.01, 1.0])
    centre_layers(spec, (X - spec.mean) / spec.std)
    want = reference(spec, X, {})["y"]
    assert spec.x_dtype == np.float64  # the default
    assert relative_difference(run(spec, X, {})["y"], want) <= RTOL[np.float32]
    spec.input_dtype = np.float32  # the raw values rounded first
    assert relative_difference(run(spec, X, {})["y"], want) > 100 * RTOL[np.float32]


# ---------------------------------------------------------------------------------------- worked examples


def identity_spec(columns, mean, std, **kw):
    """A regression whose network is y = x (W = I, b = 0, identity output): y shows the encoded input."""
    n = len(mean)
    return ExportSpec("regression", [n, n], "identity", "identity", {1: np.eye(n)}, {1: np.zeros(n)}, columns,
                      mean=np.array(mean), std=np.array(std), **kw)


def test_fills_one_hot_and_standardisation_by_hand():
    spec = identity_spec([Numeric("a", fill=2.0), Categorical("c", ("u", "v"), unknown="ignore"), Numeric("b")],
                         mean=[1.0, 0.5, 0.5, 10.0], std=[2.0, 0.5, 0.5, 5.0])
    got = session(build(spec)).run(None, {"x": np.array([[np.nan, 1.0], [4.0, 3.0], [4.0, np.nan]]),
                                           "c": np.array([["v"], ["w"], ["u"]], dtype=object)})[0]
    # row 1: a = NaN → 2, c = v → (0, 1), b = 1:  ((2 − 1)/2, (0 − .5)/.5, (1 − .5)/.5, (1 − 10)/5)
    # row 2: a = 4, c = w (unknown, ignored) → (0, 0), b = 3
    # row 3: b = NaN (no fill) stays NaN, and W⁽¹⁾x sums 0·NaN into every output of the row
    want = np.array([[0.5, -1.0, 1.0, -1.8], [1.5, -1.0, -1.0, -1.4], [np.nan] * 4])
    np.testing.assert_array_equal(got, want)


def test_categorical_columns_alone_are_the_only_inputs():
    spec = identity_spec([Categorical("c", ("u", "v"), unknown="ignore"), Categorical("d", ("", "k"))],
                         mean=[0.5, 0.5, 0.0, 0.0], std=[0.5, 0.5, 1.0, 1.0])
    sess = session(build(spec))
    assert [i.name for i in sess.get_inputs()] == ["c", "d"]
    got = sess.run(None, {"c": np.array([["u"], ["?"]], dtype=object), "d": np.array([[""], ["k"]], dtype=object)})[0]
    # c = u → (1, 0) → (1, −1); c = ? (ignored) → (0, 0) → (−1, −1); d: "" is a category like any other
    np.testing.assert_array_equal(got, [[1.0, -1.0, 1.0, 0.0], [-1.0, -1.0, 0.0, 1.0]])


def test_an_unknown_category_with_error_fails_in_onnxruntime():
    spec = identity_spec([Numeric("a"), Categorical("sex", ("female", "male"), unknown="error")],
                         mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0])
    sess = session(build(spec))
    x = np.array([[1.0], [2.0]])
    ok = sess.run(None, {"x": x, "sex": np.array([["male"], ["female"]], dtype=object)})[0]
    np.testing.assert_array_equal(ok, [[1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    for unknown in ("", "MALE"):  # an empty cell is unknown too, unless "" is a category
        with pytest.raises(ort.capi.onnxruntime_pybind11_state.Fail, match="sex_one_hot.*Unknown Category"):
            sess.run(None, {"x": x, "sex": np.array([["male"], [unknown]], dtype=object)})


def test_ties_give_the_label_decode_gives():
    """h = 0.5 exactly: labels[1] (decode takes h ≥ 0.5); equal softmax outputs: the first label (np.argmax)."""
    x = {"x": np.zeros((2, 2))}
    binary = ExportSpec("classification", [2, 1], "sigmoid", "sigmoid", {1: np.zeros((1, 2))}, {1: np.zeros(1)},
                        [Numeric("a"), Numeric("b")], labels=["no", "yes"], binary=True, dtype=np.float32)
    p, label = session(build(binary)).run(None, x)
    np.testing.assert_array_equal(p, [[0.5, 0.5], [0.5, 0.5]])
    assert label.tolist() == ["yes", "yes"]
    softmax = ExportSpec("classification", [2, 3], "sigmoid", "softmax", {1: np.zeros((3, 2))}, {1: np.zeros(3)},
                         [Numeric("a"), Numeric("b")], labels=[1, 2, 5], dtype=np.float32)
    p, label = session(build(softmax)).run(None, x)
    assert label.dtype == np.int64 and label.tolist() == [1, 1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_sigmoid_keeps_its_relative_accuracy_in_the_tails(dtype):
    """σ(z) = 1/(1 + exp(−z)) entry by entry, as activations.sigmoid: a class probability of 1e-35 is 1e-35
    (ONNX Runtime's Sigmoid kernel would give 0 or clamp: 3.6 times σ(−17.5) in float32)."""
    z = np.array([-80.0, -30.0, -17.5, -1.0, 0.0, 17.5, 40.0] + ([-700.0] if dtype is np.float64 else []), dtype)
    spec = ExportSpec("regression", [1, 1], "sigmoid", "sigmoid", {1: np.ones((1, 1))}, {1: np.zeros(1)},
                      [Numeric("z")], dtype=dtype, input_dtype=dtype)
    (y,) = session(build(spec)).run(None, {"x": z.reshape(-1, 1)})
    want = ACTIVATIONS["sigmoid"].f(z.copy())
    assert want.min() > 0
    np.testing.assert_allclose(y[:, 0], want, rtol=RTOL[dtype], atol=0)


# -------------------------------------------------------------------------------------- the model itself


def test_every_activation_has_its_onnx_form():
    assert set(ACTIVATION_NODES) == set(ACTIVATIONS)


def test_the_model_passes_the_checker_and_describes_itself():
    spec = random_spec(np.random.default_rng(13), "sigmoid", "softmax-text", np.float32)
    spec.metadata = {"run": "penguins"}
    model = build(spec)
    onnx.checker.check_model(model, full_check=True)
    assert {(o.domain, o.version) for o in model.opset_import} == {("", OPSET), ("ai.onnx.ml", 3)}
    assert model.ir_version == 8  # what opset 17 needs, not the newest the onnx package knows
    assert (model.producer_name, model.producer_version) == ("nettrain", nettrain.__version__)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["task"] == "classification" and meta["run"] == "penguins" and meta["dtype"] == "float32"
    assert json.loads(meta["labels"]) == ["Adelie", "Chinstrap", "Gentoo"]
    assert json.loads(meta["feature_names"]) == [c.name for c in COLUMNS]
    inputs = json.loads(meta["inputs"])
    assert [i["name"] for i in inputs] == ["x", "island", "sex"]
    assert inputs[0]["columns"][0] == {"name": "bill_length_mm", "fill": 43.9}
    assert inputs[1] == {"name": "island", "dtype": "string", "categories": ["Biscoe", "Dream", "Torgersen"],
                         "unknown": "ignore", "empty": "unknown"}
    sess = session(model)
    assert [(i.name, i.type, i.shape) for i in sess.get_inputs()] == [
        ("x", "tensor(double)", ["N", 4]), ("island", "tensor(string)", ["N", 1]), ("sex", "tensor(string)", ["N", 1])]
    assert [(o.name, o.type, o.shape) for o in sess.get_outputs()] == [
        ("probabilities", "tensor(float)", ["N", 3]), ("label", "tensor(string)", ["N"])]


def inconsistent(spec, **changes):
    for key, value in changes.items():
        setattr(spec, key, value)
    return spec


@pytest.mark.parametrize("changes,message", [
    ({"columns": COLUMNS[:-1], "mean": None, "std": None}, "layers starts with 9 inputs but the columns encode to 8"),
    ({"mean": np.zeros(3)}, "mean must be 9 finite numbers"),
    ({"std": None}, "mean and std must both be arrays or both be None"),
    ({"labels": ["b", "a", "c"]}, "labels must be sorted and distinct"),
    ({"labels": ["a", "b"]}, "2 labels need 2 output"),
    ({"columns": COLUMNS[:-1] + [Categorical("label", ("a",))]}, "categorical column 'label' would be named like"),
    ({"activation": "softmax"}, "activation must be one of sigmoid, tanh, relu, identity"),
    ({"metadata": {"task": "x"}}, "metadata must map new string keys"),
])
def test_an_inconsistent_spec_is_a_model_error_naming_the_field(changes, message):
    spec = inconsistent(random_spec(np.random.default_rng(14), "relu", "softmax-text", np.float64, whiten_to=None),
                        **changes)
    with pytest.raises(ModelError, match=message):
        build(spec)


# ---------------------------------------------------------------------------------- trained by nettrain


@pytest.mark.parametrize("config,data,overrides", [
    ("iris", "iris", {"train.epochs": 60}),
    ("xor", "xor", {"train.epochs": 200, "train.dtype": "float32", "data.whiten": {"method": "zca", "epsilon": 0.1}}),
    ("diabetes", "diabetes", {"train.epochs": 60, "train.dtype": "float32"}),
    ("sparse_autoencoder_digits", "digits", {"train.epochs": 5}),  # data.scale: μ = min, σ = max − min
    ("digits", "digits", {"train.epochs": 5, "model.layers": [20, 25, 10],  # PCA: M (n, k), 20 of the 64 inputs
                          "data.whiten": {"method": "pca", "components": 20, "epsilon": 0.1}}),
])
def test_a_trained_run_exports_what_nettrain_predict_writes(proj, config, data, overrides):
    nettrain.fit(f"configs/{config}.yaml", {"log.every": 5, **overrides}, out=f"runs/{config}")
    loaded = load_trained(proj / "runs" / config)
    spec = from_trained(loaded.arch, loaded.params, loaded.prep, task=loaded.cfg.data.task, zca=loaded.zca)
    table = read_data(loaded.cfg, f"data/{data}.csv")
    header, rows = predict_rows(proj / "runs" / config, proj / "data" / f"{data}.csv")
    got = session(build(spec)).run(None, {"x": table.X})  # float64, as read
    if loaded.cfg.data.task == "classification":
        assert got[1].tolist() == [r[0] for r in rows]
        want = np.array([[float(v) for v in r[1:]] for r in rows])
        assert relative_difference(got[0], want) <= RTOL[spec.dtype]
    else:
        assert relative_difference(got[0], np.array(rows, dtype=np.float64)) <= RTOL[spec.dtype]


# ------------------------------------------------------------------------------- nettrain export, the command


def cli(*args):
    from typer.testing import CliRunner

    from nettrain.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def ort_session(path):
    return session(onnx.load(path))


def raw_feeds(sess, path, meta):
    """The inputs of an exported model from a csv as it is: x the numeric columns (NaN where empty), each
    categorical column its text ("" where empty)."""
    import pandas as pd

    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=str)
    inputs = json.loads(meta["inputs"])
    out = {}
    for i in inputs:
        if i["name"] == "x":
            out["x"] = frame[[c["name"] for c in i["columns"]]].astype(np.float64).to_numpy()
        else:
            out[i["name"]] = frame[[i["name"]]].fillna("").to_numpy(dtype=object)
    assert [i.name for i in sess.get_inputs()] == list(out)
    return out


@pytest.mark.parametrize("config,data,overrides,dtype", [
    ("penguins", "penguins", ["train.epochs=30"], np.float64),  # softmax; one-hot inputs, fills, empty categories
    ("penguins", "penguins", ["train.epochs=30", "train.dtype=float32", "data.missing=drop"], np.float32),
    ("xor", "xor", ["train.epochs=200", "train.dtype=float32"], np.float32),  # one sigmoid unit: binary labels
    ("xor", "xor", ["train.epochs=200"], np.float64),
    ("diabetes", "diabetes", ["train.epochs=60"], np.float64),  # regression
    ("sparse_autoencoder_digits", "digits", ["train.epochs=5", "train.dtype=float32"], np.float32),  # autoencode
])
def test_the_exported_file_computes_what_nettrain_predict_writes(proj, config, data, overrides, dtype):
    sets = [a for o in overrides + ["log.every=5"] for a in ("--set", o)]
    assert cli("fit", f"configs/{config}.yaml", *sets, "--out", "runs/r").exit_code == 0
    res = cli("export", "runs/r")
    assert res.exit_code == 0 and "wrote runs/r/model.onnx" in res.stderr, res.output
    model = onnx.load(proj / "runs" / "r" / "model.onnx")
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    sess = ort_session(proj / "runs" / "r" / "model.onnx")
    csv = proj / "data" / f"{data}.csv"
    if data == "penguins" and "data.missing=drop" in overrides:  # predict refuses an empty cell under drop
        lines = csv.read_text().splitlines()
        csv = proj / "complete.csv"
        csv.write_text("\n".join(line for line in lines if ",," not in line and not line.endswith(",")) + "\n")
    got = sess.run(None, raw_feeds(sess, csv, meta))
    header, rows = predict_rows(proj / "runs" / "r", csv)
    if meta["task"] == "classification":
        assert got[1].tolist() == [r[0] for r in rows]
        assert relative_difference(got[0], np.array([[float(v) for v in r[1:]] for r in rows])) <= RTOL[dtype]
        assert [str(v) for v in json.loads(meta["labels"])] == [h[2:] for h in header[1:]]  # p_<label> columns
    else:
        assert relative_difference(got[0], np.array(rows, dtype=np.float64)) <= RTOL[dtype]
    assert meta["dtype"] == np.dtype(dtype).name


def test_export_dtype_and_out(proj):
    assert cli("fit", "configs/iris.yaml", "--set", "train.epochs=20", "--out", "runs/i").exit_code == 0
    res = cli("export", "runs/i/last.npz", "--dtype", "float32")
    assert res.exit_code == 0 and (proj / "runs" / "i" / "last.onnx").exists()
    sess = ort_session(proj / "runs" / "i" / "last.onnx")
    assert [o.type for o in sess.get_outputs()] == ["tensor(float)", "tensor(string)"]
    assert sess.get_inputs()[0].type == "tensor(double)"  # x stays float64: the raw values as read
    res = cli("export", "runs/i", "--out", proj / "no" / "such" / "m.onnx")
    assert res.exit_code == 7 and res.stderr.strip().count("\n") == 0
    assert "the folder" in res.stderr and "does not exist" in res.stderr and not (proj / "no").exists()
    assert cli("export", "runs/i", "--out", "m.txt").exit_code == 2


def test_an_unknown_category_in_the_exported_model(proj):
    assert cli("fit", "configs/penguins.yaml", "--set", "train.epochs=10", "--out", "runs/p").exit_code == 0
    for unknown, ok in (("error", False), ("ignore", True)):
        assert cli("export", "runs/p", "--out", f"{unknown}.onnx", "--unknown", unknown).exit_code == 0
        sess = ort_session(proj / f"{unknown}.onnx")
        x = np.array([[39.1, 18.7, 181.0, 3750.0], [39.1, 18.7, 181.0, 3750.0]])
        feeds = {"x": x, "island": np.array([["Biscoe"], ["Anvers"]], dtype=object),
                 "sex": np.array([["male"], [""]], dtype=object)}  # an empty sex: all zeros (data.missing: mean)
        if ok:
            p, label = sess.run(None, feeds)
            model = nettrain.load("runs/p")
            rows = [{"island": i, "bill_length_mm": 39.1, "bill_depth_mm": 18.7, "flipper_length_mm": 181.0,
                     "body_mass_g": 3750.0, "sex": s} for i, s in (("Biscoe", "male"), ("Anvers", None))]
            assert relative_difference(p, model.predict_proba(rows, unknown="ignore")) <= 1e-12
        else:
            with pytest.raises(ort.capi.onnxruntime_pybind11_state.Fail, match="Unknown Category"):
                sess.run(None, feeds)


def test_the_api_exports_the_same_model(proj):
    assert cli("fit", "configs/iris.yaml", "--set", "train.epochs=20", "--out", "runs/i").exit_code == 0
    assert cli("export", "runs/i").exit_code == 0
    path = nettrain.load("runs/i").export_onnx(proj / "api.onnx")
    a, b = onnx.load(path), onnx.load(proj / "runs" / "i" / "model.onnx")
    assert a.graph == b.graph
