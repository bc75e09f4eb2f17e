"""A trained network as an ONNX model: the whole prediction path, from raw rows to what `nettrain predict` writes.

`build(spec)` turns a plain description (ExportSpec) into an onnx.ModelProto, checked with
onnx.checker.check_model(full_check=True); writing it to a file is the caller's job. The graph
computes, for rows (one example per row, N rows):

    numeric cells      x_j ← fill_j where x_j is NaN          Where(IsNaN(x), fill, x)
    categorical cells  one 0/1 column per category, in place   ai.onnx.ml OneHotEncoder
    standardisation    x̂ = (x − μ)/σ                           in float64, then cast to dtype once
    whitening          x ↦ M(x − μ_w), M (k, n)                 in float64, then cast to dtype
    the network        z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾                 MatMul(a, W⁽ˡ⁾ᵀ) + b⁽ˡ⁾: rows are examples
                       a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾)                       ACTIVATION_NODES[f]
    classification     probabilities (N, K) = a⁽ⁿˡ⁾; one sigmoid unit h as [1 − h, h]
                       label (N,) = labels[argmax] (binary: labels[h ≥ 0.5])
    regression, autoencode   y (N, s_nl) = a⁽ⁿˡ⁾

The preprocessing runs in float64 whatever the network's dtype, as Preprocessing.transform_into and
ZCA.apply do, so that a float32 model sees the same inputs as nettrain's float32 network (the casts
between the steps are nettrain's own roundings, kept on purpose).

Inputs: without categorical columns, one input `x` (N, columns) of input_dtype: float64 by default, the
raw values as nettrain reads them, whatever the network's dtype (a float32 x would round them before the
standardisation: a column 2008.37 ± 0.01 would lose a hundredth of its σ). With categorical columns,
`x` holds the numeric columns in their order and each categorical column is one more input of
strings (N, 1) named by the column. A NaN where a numeric column has no fill stays NaN, and so does
every output of its row (W⁽¹⁾x sums 0·NaN); an empty string is a category like any other (unknown
unless listed), or, with Categorical.empty "zeros" (a run with data.missing: mean), all zeros. Strings are
compared as given: nettrain strips a cell's spaces before it looks its category up, the model does not.

Written with the `onnx` package's helper API: opset OPSET of the default domain (and ML_OPSET of
ai.onnx.ml for the one-hot encoders), with the oldest IR version that allows them (8), not the newest
the onnx package knows, which older runtimes refuse; ONNX Runtime 1.15.1 (the oldest on PyPI for
Python 3.11) to 1.32 run the tests' models with the same labels.

Left out on purpose: files, checkpoints, configs (the caller builds the ExportSpec: from_trained does it
from nettrain's own objects).
"""

from __future__ import annotations

import itertools
import json
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .version import __version__
from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from .errors import MissingExtra, ModelError

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError:
    raise MissingExtra('ONNX export needs the onnx package, an optional extra: pip install -e ".[onnx]"') from None

OPSET = 17  # the default domain's opset: every operator used here exists in it; ONNX Runtime ≥ 1.12 reads it
ML_OPSET = 3  # ai.onnx.ml: OneHotEncoder (unchanged since version 1)
TASKS = ("classification", "regression", "autoencode")
INPUT, PROBABILITIES, LABEL, Y = "x", "probabilities", "label", "y"
BATCH = "N"  # the symbolic row count of every input and output
# metadata_props written by build; ExportSpec.metadata may not use these keys
META_KEYS = ("task", "labels", "binary", "feature_names", "target_names", "inputs", "outputs", "layers",
             "activation", "output_activation", "dtype")


@dataclass(frozen=True)
class Numeric:
    """A numeric input column; fill: the value an empty (NaN) cell takes, None to leave it NaN."""

    name: str
    fill: Optional[float] = None


@dataclass(frozen=True)
class Categorical:
    """A text input column, one-hot encoded in place: one 0/1 column per category, in this order.

    unknown: "error" (ONNX Runtime refuses the run) or "ignore" (an all-zero one-hot) for a value not
    in categories. empty: what an empty string (a missing cell) is — "unknown" (like any value not in
    categories) or "zeros" (an all-zero one-hot whatever unknown says: data.missing: mean).
    """

    name: str
    categories: tuple[str, ...]
    unknown: str = "error"
    empty: str = "unknown"


Column = Union[Numeric, Categorical]


@dataclass
class ExportSpec:
    """Everything the prediction path needs, as plain data.

    W[l] (s_{l+1}, s_l) and b[l] (s_{l+1},) for l = 1 … nl−1, as network.Params. columns: the raw
    input columns in order. mean, std: per column of the ENCODED input (n = numeric columns + the
    categories of every categorical column, each categorical column expanded in place), or None.
    whiten: (M (k, n), μ_w (n,)), applied after the standardisation as x ↦ M(x − μ_w); then s_1 = k.
    labels: sorted, as Preprocessing.labels (strings or numbers); binary: 2 labels on one sigmoid
    unit. dtype: the network's (float32 or float64); input_dtype: x's (float64 or float32). metadata:
    more metadata_props (str → str).
    """

    task: str
    layers: Sequence[int]
    activation: str
    output_activation: str
    W: dict[int, np.ndarray]
    b: dict[int, np.ndarray]
    columns: Sequence[Column]
    mean: Optional[np.ndarray] = None
    std: Optional[np.ndarray] = None
    whiten: Optional[tuple[np.ndarray, np.ndarray]] = None
    labels: Optional[Sequence[Any]] = None
    binary: bool = False
    dtype: Any = np.float64
    target_names: Sequence[str] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    input_dtype: Any = np.float64

    @property
    def x_dtype(self) -> np.dtype:
        """The element type of the input x."""
        return np.dtype(self.input_dtype)

    @property
    def numeric(self) -> list[Numeric]:
        return [c for c in self.columns if isinstance(c, Numeric)]

    @property
    def categorical(self) -> list[Categorical]:
        return [c for c in self.columns if isinstance(c, Categorical)]

    @property
    def encoded_width(self) -> int:
        """n: the width of the encoded input, before whitening."""
        return len(self.numeric) + sum(len(c.categories) for c in self.categorical)


def from_trained(arch: Any, params: Any, prep: Any, *, task: str, zca: Any = None,
                 columns: Optional[Sequence[Column]] = None, metadata: Optional[dict[str, str]] = None,
                 input_dtype: Any = np.float64, unknown: str = "error", missing: str = "refuse") -> ExportSpec:
    """The ExportSpec of a trained network: network.Architecture, network.Params, data.Preprocessing and
    whiten.ZCA (or None). columns: default the Preprocessing's encoding's (data.Encoding: a Numeric column
    with its fill, a Categorical column with its categories, unknown as given and, with missing "mean" (the
    run's data.missing), an empty cell all zeros), or without one a Numeric column per feature name."""
    if columns is None:
        columns = [Numeric(name) for name in prep.feature_names]
        if getattr(prep, "encoding", None) is not None:
            empty = "zeros" if missing == "mean" else "unknown"
            columns = [Categorical(c.name, tuple(c.categories), unknown, empty) if hasattr(c, "categories")
                       else Numeric(c.name, c.fill) for c in prep.encoding.columns]
    return ExportSpec(
        task=task, layers=arch.layers, activation=arch.activation, output_activation=arch.output_activation,
        W=params.W, b=params.b, columns=list(columns),
        mean=None if prep.mean is None else np.asarray(prep.mean, dtype=np.float64),
        std=None if prep.std is None else np.asarray(prep.std, dtype=np.float64),
        # ZCA.apply computes (x − μ)M per row, which is M' (x − μ) per column with M' = Mᵀ (= M: symmetric)
        whiten=None if zca is None else (zca.matrix.T, zca.mean), labels=prep.labels, binary=prep.binary,
        dtype=params.W[1].dtype.type, target_names=list(prep.target_names), metadata=dict(metadata or {}),
        input_dtype=input_dtype,
    )


# ---------------------------------------------------------------------------------------------- the graph


class _Graph:
    """The nodes and constants of the graph being built. Every name made here is new: the inputs' and
    outputs' names are taken first, so a column called "z2" cannot clash with layer 2's z."""

    def __init__(self, taken: Sequence[str]) -> None:
        self.nodes: list = []
        self.constants: list = []
        self.taken = set(taken)
        self.domains: set[str] = set()

    def name(self, base: str) -> str:
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def const(self, base: str, value: Any, dtype: Any = None) -> str:
        array = np.ascontiguousarray(value, dtype=dtype)
        name = self.name(base)
        self.constants.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], base: str, *, out: Optional[str] = None, domain: str = "",
           **attrs: Any) -> str:
        out = out if out is not None else self.name(base)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, domain=domain, **attrs))
        if domain:
            self.domains.add(domain)
        return out


@dataclass(frozen=True)
class _Value:
    """A tensor of the graph and its element type (numpy's)."""

    name: str
    dtype: np.dtype


def _cast(g: _Graph, v: _Value, dtype: Any, base: str) -> _Value:
    """v as dtype: a Cast node, or v itself when it already is."""
    dtype = np.dtype(dtype)
    if v.dtype == dtype:
        return v
    return _Value(g.op("Cast", [v.name], base, to=helper.np_dtype_to_tensor_dtype(dtype)), dtype)


# ------------------------------------------------------------------------------------------- activations


def _sigmoid(g: _Graph, z: str, base: str, dtype: np.dtype) -> str:
    """f(z) = 1 / (1 + exp(−z)), as activations.sigmoid computes it. Not ONNX Runtime's Sigmoid kernel:
    it approximates in the tails (float32: 3.6 times σ(−17.5); float64: relative error 1e-3 at z = −30, 0
    for z ≤ −37), where this keeps nettrain's relative accuracy (a class probability of 1e-20 is 1e-20)."""
    one = g.const("one", 1.0, dtype)
    e = g.op("Exp", [g.op("Neg", [z], f"{base}_neg")], f"{base}_exp")
    return g.op("Div", [one, g.op("Add", [e, one], f"{base}_den")], base)


def _elementwise(op_type: str) -> Callable[..., str]:
    def node(g: _Graph, z: str, base: str, dtype: np.dtype) -> str:
        return g.op(op_type, [z], base)

    return node


def _identity(g: _Graph, z: str, base: str, dtype: np.dtype) -> str:
    return z  # f(z) = z: no node


def _softmax(g: _Graph, z: str, base: str, dtype: np.dtype) -> str:
    return g.op("Softmax", [z], base, axis=1)  # per row (example): activations.softmax per column


# every activation of activations.ACTIVATIONS, as nodes: node(g, z, base, dtype) -> the name of f(z)
ACTIVATION_NODES: dict[str, Callable[..., str]] = {
    "sigmoid": _sigmoid,
    "tanh": _elementwise("Tanh"),
    "relu": _elementwise("Relu"),
    "identity": _identity,
    "softmax": _softmax,
}


# -------------------------------------------------------------------------------------------- the steps


def _inputs(spec: ExportSpec) -> list:
    dtype = helper.np_dtype_to_tensor_dtype(spec.x_dtype)
    out = []
    if spec.numeric:
        out.append(helper.make_tensor_value_info(INPUT, dtype, [BATCH, len(spec.numeric)]))
    out += [helper.make_tensor_value_info(c.name, TensorProto.STRING, [BATCH, 1]) for c in spec.categorical]
    return out


def _encoded(g: _Graph, spec: ExportSpec) -> _Value:
    """The encoded input (N, n): NaN cells filled, each categorical column one-hot in place. In float64 when
    anything is done here (the fills are float64), else x itself."""
    x = _Value(INPUT, spec.x_dtype) if spec.numeric else None
    fills = [np.nan if c.fill is None else float(c.fill) for c in spec.numeric]
    if x is not None and any(not np.isnan(v) for v in fills):
        x = _cast(g, x, np.float64, "x_float64")
        # where x is NaN: fill (NaN again for a column without one, so one node serves every column)
        nan = g.op("IsNaN", [x.name], "x_is_nan")
        x = _Value(g.op("Where", [nan, g.const("fill", fills, np.float64), x.name], "x_filled"), x.dtype)
    if not spec.categorical:
        return x
    x = _cast(g, x, np.float64, "x_float64") if x is not None else None
    names, j = [], 0  # j: the first column of x not yet taken
    for numeric, group in itertools.groupby(spec.columns, key=lambda c: isinstance(c, Numeric)):
        group = list(group)
        if numeric:  # a run of numeric columns: x[:, j : j + len(group)]
            names.append(_numeric_slice(g, x, range(j, j + len(group)), len(spec.numeric)))
            j += len(group)
        else:
            names += [_one_hot(g, c) for c in group]
    return _Value(g.op("Concat", names, "encoded", axis=1), np.dtype(np.float64))


def _numeric_slice(g: _Graph, x: _Value, columns: range, width: int) -> str:
    """x[:, columns]: x itself when columns are all of them."""
    if columns.start == 0 and columns.stop == width:
        return x.name
    starts, ends, axes = (g.const(f"x_{what}", [v], np.int64) for what, v in
                          (("start", columns.start), ("end", columns.stop), ("axis", 1)))
    return g.op("Slice", [x.name, starts, ends, axes], f"x_{columns.start}_{columns.stop}")


def _one_hot(g: _Graph, column: Categorical) -> str:
    """(N, 1) strings → (N, C) float64 0/1; zeros=1: an unknown value is all zeros, zeros=0: an error. An empty
    string that must be all zeros while unknown values are errors is one more category, whose column is cut."""
    cats = list(column.categories)
    extra = column.empty == "zeros" and column.unknown == "error"
    hot = g.op("OneHotEncoder", [column.name], f"{column.name}_one_hot", domain="ai.onnx.ml",
               cats_strings=cats + [""] * extra, zeros=int(column.unknown == "ignore"))  # (N, 1, C) float
    flat = g.op("Flatten", [hot], f"{column.name}_flat", axis=1)
    if extra:  # the columns of the categories alone: the empty string's last column is dropped
        starts, ends, axes = (g.const(f"{column.name}_{what}", [v], np.int64)
                              for what, v in (("start", 0), ("end", len(cats)), ("axis", 1)))
        flat = g.op("Slice", [flat, starts, ends, axes], f"{column.name}_categories")
    return _cast(g, _Value(flat, np.dtype(np.float32)), np.float64, f"{column.name}_float64").name


def _standardised(g: _Graph, spec: ExportSpec, v: _Value) -> _Value:
    """x̂ = (x − μ)/σ in float64, cast to dtype once (Preprocessing.transform_into); without statistics,
    the encoded input cast to dtype."""
    if spec.mean is not None:
        v = _cast(g, v, np.float64, "encoded_float64")
        centred = g.op("Sub", [v.name, g.const("mean", spec.mean, np.float64)], "centred")
        v = _Value(g.op("Div", [centred, g.const("std", spec.std, np.float64)], "standardised"), v.dtype)
    return _cast(g, v, spec.dtype, "a1" if spec.whiten is None else "standardised_cast")


def _whitened(g: _Graph, spec: ExportSpec, v: _Value) -> _Value:
    """x ↦ M(x − μ_w) for each row x, i.e. (x − μ_w)Mᵀ, in float64 from the dtype's values (as ZCA.apply),
    cast to dtype."""
    if spec.whiten is None:
        return v
    matrix, mean = (np.asarray(a, dtype=np.float64) for a in spec.whiten)
    v = _cast(g, v, np.float64, "whiten_input")
    centred = g.op("Sub", [v.name, g.const("whiten_mean", mean)], "whiten_centred")
    white = g.op("MatMul", [centred, g.const("whiten_matrix_T", np.ascontiguousarray(matrix.T))], "whitened")
    return _cast(g, _Value(white, np.dtype(np.float64)), spec.dtype, "a1")


def _network(g: _Graph, spec: ExportSpec, a: _Value) -> str:
    """a⁽ⁿˡ⁾ (N, s_nl) of rows a⁽¹⁾ (N, s_1): z⁽ˡ⁺¹⁾ = a⁽ˡ⁾W⁽ˡ⁾ᵀ + b⁽ˡ⁾ (the tutorial's W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾,
    transposed: one row per example), a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾), f the output activation at l + 1 = nl.

    MatMul then Add, not Gemm: ONNX Runtime 1.15–1.17 fuse a float64 Gemm and its Relu or Tanh into a
    FusedGemm that has no float64 kernel, and refuse to load the model; the numbers are the same.
    """
    dtype, nl = np.dtype(spec.dtype), len(spec.layers)
    out = a.name
    for l in range(1, nl):
        WT = g.const(f"W{l}_T", np.asarray(spec.W[l]).T, dtype)  # W⁽ˡ⁾ᵀ (s_l, s_{l+1})
        z = g.op("Add", [g.op("MatMul", [out, WT], f"W{l}a{l}"), g.const(f"b{l}", spec.b[l], dtype)], f"z{l + 1}")
        f = spec.output_activation if l + 1 == nl else spec.activation
        out = ACTIVATION_NODES[f](g, z, f"a{l + 1}", dtype)
    return out


def _label_constant(g: _Graph, labels: Sequence[Any]) -> tuple[str, int]:
    """The labels as a constant tensor and its element type: int64, string or double."""
    if all(isinstance(v, str) for v in labels):
        return g.const("labels", np.array(list(labels), dtype=object)), TensorProto.STRING
    if all(isinstance(v, numbers.Integral) for v in labels):
        return g.const("labels", [int(v) for v in labels], np.int64), TensorProto.INT64
    return g.const("labels", [float(v) for v in labels], np.float64), TensorProto.DOUBLE


def _outputs(g: _Graph, spec: ExportSpec, h: str) -> list:
    """The graph's outputs from h = a⁽ⁿˡ⁾: probabilities and label, or y (prediction.predict_rows' columns)."""
    dtype = np.dtype(spec.dtype)
    tensor_type = helper.np_dtype_to_tensor_dtype(dtype)
    if spec.task != "classification":
        g.op("Identity", [h], Y, out=Y)
        return [helper.make_tensor_value_info(Y, tensor_type, [BATCH, spec.layers[-1]])]
    labels, label_type = _label_constant(g, spec.labels)
    if spec.binary:  # one sigmoid unit h: P = [1 − h, h] (trained.class_probabilities); labels[1] ⇔ h ≥ 0.5 (decode)
        g.op("Concat", [g.op("Sub", [g.const("one", 1.0, dtype), h], "one_minus_h"), h], PROBABILITIES,
             out=PROBABILITIES, axis=1)
        upper = g.op("GreaterOrEqual", [h, g.const("half", 0.5, dtype)], "h_at_least_half")
        index = g.op("Reshape", [g.op("Cast", [upper], "upper_int64", to=TensorProto.INT64),
                                 g.const("rows", [-1], np.int64)], "label_index")
    else:  # the first largest output, as np.argmax
        g.op("Identity", [h], PROBABILITIES, out=PROBABILITIES)
        index = g.op("ArgMax", [PROBABILITIES], "label_index", axis=1, keepdims=0)
    g.op("Gather", [labels, index], LABEL, out=LABEL, axis=0)
    return [helper.make_tensor_value_info(PROBABILITIES, tensor_type, [BATCH, len(spec.labels)]),
            helper.make_tensor_value_info(LABEL, label_type, [BATCH])]


# ------------------------------------------------------------------------------------------------ build


def build(spec: ExportSpec) -> "onnx.ModelProto":
    """The ONNX model of spec's whole prediction path (module docstring), checked with
    onnx.checker.check_model(full_check=True). ModelError, one line naming the field, when spec is
    inconsistent (a shape, a label set, a column name an input or output already has)."""
    _check(spec)
    g = _Graph([INPUT, PROBABILITIES, LABEL, Y] + [c.name for c in spec.categorical])
    a1 = _whitened(g, spec, _standardised(g, spec, _encoded(g, spec)))
    outputs = _outputs(g, spec, _network(g, spec, a1))
    about = (f"nettrain {list(spec.layers)} {spec.activation} → {spec.output_activation}, {spec.task}, "
             f"{np.dtype(spec.dtype).name}")
    graph = helper.make_graph(g.nodes, "nettrain", _inputs(spec), outputs, g.constants, doc_string=about)
    opsets = [helper.make_opsetid("", OPSET)]
    if g.domains:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
    # the oldest IR version these opsets allow, not the onnx package's newest: older runtimes refuse newer IRs
    model = helper.make_model(graph, opset_imports=opsets, producer_name="nettrain", producer_version=__version__,
                              ir_version=helper.find_min_ir_version_for(opsets), doc_string=about)
    helper.set_model_props(model, {**_metadata(spec), **spec.metadata})
    onnx.checker.check_model(model, full_check=True)
    return model


def _py(value: Any) -> Any:
    """A label as JSON writes it: str, int or float (numpy scalars converted)."""
    if isinstance(value, str):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _metadata(spec: ExportSpec) -> dict[str, str]:
    """metadata_props: what the model is and how its inputs and outputs are laid out (JSON values)."""
    inputs = []
    if spec.numeric:
        inputs.append({"name": INPUT, "dtype": spec.x_dtype.name,
                       "columns": [{"name": c.name, "fill": c.fill} for c in spec.numeric]})
    inputs += [{"name": c.name, "dtype": "string", "categories": list(c.categories), "unknown": c.unknown,
                "empty": c.empty} for c in spec.categorical]
    if spec.task == "classification":
        outputs = [{"name": PROBABILITIES, "columns": [_py(v) for v in spec.labels]}, {"name": LABEL}]
    else:
        outputs = [{"name": Y, "columns": list(spec.target_names)}]
    return {
        "task": spec.task,
        "labels": json.dumps(None if spec.labels is None else [_py(v) for v in spec.labels]),
        "binary": json.dumps(bool(spec.binary)),
        "feature_names": json.dumps([c.name for c in spec.columns]),
        "target_names": json.dumps(list(spec.target_names)),
        "inputs": json.dumps(inputs),
        "outputs": json.dumps(outputs),
        "layers": json.dumps([int(s) for s in spec.layers]),
        "activation": spec.activation,
        "output_activation": spec.output_activation,
        "dtype": np.dtype(spec.dtype).name,
    }


# ------------------------------------------------------------------------------------------- the checks


def _fail(message: str) -> ModelError:
    return ModelError(f"ONNX export: {message}")


def _check(spec: ExportSpec) -> None:
    """ModelError at the first inconsistency of spec."""
    _check_network(spec)
    _check_columns(spec)
    _check_preprocessing(spec)
    _check_outputs(spec)


def _finite(a: np.ndarray) -> bool:
    return bool(np.isfinite(a).all())


def _check_network(spec: ExportSpec) -> None:
    if spec.task not in TASKS:
        raise _fail(f"task must be one of {', '.join(TASKS)} (got {spec.task!r})")
    layers = list(spec.layers)
    if len(layers) < 2 or any(not isinstance(s, numbers.Integral) or s < 1 for s in layers):
        raise _fail(f"layers needs at least 2 sizes, each ≥ 1 (got {layers})")
    if spec.activation not in HIDDEN_ACTIVATIONS:
        raise _fail(f"activation must be one of {', '.join(HIDDEN_ACTIVATIONS)} (got {spec.activation!r})")
    if spec.output_activation not in ACTIVATIONS:
        raise _fail(f"output_activation must be one of {', '.join(ACTIVATIONS)} (got {spec.output_activation!r})")
    missing = sorted(set(ACTIVATIONS) - set(ACTIVATION_NODES))
    if missing:  # a new activation in activations.py needs its ONNX nodes here
        raise _fail(f"no ONNX form for the activation(s) {', '.join(missing)}: add them to ACTIVATION_NODES")
    for key in ("dtype", "input_dtype"):
        value = getattr(spec, key)
        if np.dtype(value) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise _fail(f"{key} must be float32 or float64 (got {np.dtype(value).name})")
    for l in range(1, len(layers)):
        for key, params, shape in (("W", spec.W, (layers[l], layers[l - 1])), ("b", spec.b, (layers[l],))):
            a = params.get(l) if isinstance(params, dict) else None
            if a is None or np.shape(a) != shape or not _finite(np.asarray(a, dtype=np.float64)):
                got = "nothing" if a is None else f"shape {np.shape(a)}"
                raise _fail(f"{key}[{l}] must be a finite array of shape {shape} for layers {layers} (got {got})")


def _check_columns(spec: ExportSpec) -> None:
    names = [getattr(c, "name", None) for c in spec.columns]
    if not names or any(not isinstance(c, (Numeric, Categorical)) for c in spec.columns):
        raise _fail("columns must be a non-empty list of Numeric and Categorical columns")
    if any(not isinstance(n, str) or not n for n in names) or len(set(names)) != len(names):
        raise _fail(f"column names must be distinct non-empty strings (got {names})")
    for c in spec.numeric:
        if c.fill is not None and (not isinstance(c.fill, numbers.Real) or not np.isfinite(c.fill)):
            raise _fail(f"column {c.name!r}: fill must be a finite number or None (got {c.fill!r})")
    for c in spec.categorical:
        cats = list(c.categories)
        if not cats or any(not isinstance(v, str) for v in cats) or len(set(cats)) != len(cats):
            raise _fail(f"column {c.name!r}: categories must be distinct strings, at least one (got {cats})")
        if c.unknown not in ("error", "ignore"):
            raise _fail(f"column {c.name!r}: unknown must be 'error' or 'ignore' (got {c.unknown!r})")
        if c.empty not in ("unknown", "zeros") or (c.empty == "zeros" and "" in cats):
            raise _fail(f"column {c.name!r}: empty must be 'unknown' or 'zeros', and '' no category (got "
                        f"{c.empty!r})")
        if c.name in (INPUT, PROBABILITIES, LABEL, Y):
            raise _fail(f"categorical column {c.name!r} would be named like the model's {c.name!r}: rename the column")


def _check_preprocessing(spec: ExportSpec) -> None:
    n, s1 = spec.encoded_width, int(spec.layers[0])
    if (spec.mean is None) != (spec.std is None):
        raise _fail("mean and std must both be arrays or both be None")
    for key in ("mean", "std"):
        a = getattr(spec, key)
        if a is not None and (np.shape(a) != (n,) or not _finite(np.asarray(a, dtype=np.float64))):
            raise _fail(f"{key} must be {n} finite numbers, one per encoded input column (got shape {np.shape(a)})")
    if spec.std is not None and np.min(spec.std) <= 0:
        raise _fail("std must be > 0 for every encoded input column")
    if spec.whiten is None:
        if s1 != n:
            raise _fail(f"layers starts with {s1} inputs but the columns encode to {n}: {_widths(spec)}")
        return
    matrix, mean = (np.asarray(a, dtype=np.float64) for a in spec.whiten)
    if matrix.shape != (s1, n) or mean.shape != (n,) or not (_finite(matrix) and _finite(mean)):
        raise _fail(f"whiten must be a finite matrix of shape ({s1}, {n}) and a mean of {n} (layers starts with "
                    f"{s1} inputs; {_widths(spec)}); got shapes {matrix.shape} and {mean.shape}")


def _widths(spec: ExportSpec) -> str:
    return (f"{len(spec.numeric)} numeric column(s) and " +
            f"{sum(len(c.categories) for c in spec.categorical)} one-hot column(s)")


def _check_outputs(spec: ExportSpec) -> None:
    s_nl = int(spec.layers[-1])
    if spec.task == "classification":
        labels = list(spec.labels or [])
        numbers_only = all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and np.isfinite(v)
                           for v in labels)
        if len(labels) < 2 or not (numbers_only or all(isinstance(v, str) for v in labels)):
            raise _fail(f"labels must be at least 2 strings or 2 finite numbers (got {labels})")
        if any(a >= b for a, b in zip(labels, labels[1:])):
            raise _fail(f"labels must be sorted and distinct (got {labels})")
        want = 1 if spec.binary else len(labels)
        if (spec.binary and len(labels) != 2) or s_nl != want:
            raise _fail(f"{len(labels)} labels{' on one sigmoid unit' if spec.binary else ''} need "
                        f"{'2 labels and ' if spec.binary else ''}{want} output(s) (layers ends with {s_nl})")
    elif spec.task == "autoencode" and s_nl != int(spec.layers[0]):
        raise _fail(f"an autoencoder's output is its input: layers must end with {spec.layers[0]} (got {s_nl})")
    if spec.task == "regression" and spec.target_names and len(spec.target_names) != s_nl:
        raise _fail(f"target_names has {len(spec.target_names)} names for {s_nl} output(s)")
    bad = sorted(k for k in spec.metadata if k in META_KEYS or not isinstance(k, str)
                 or not isinstance(spec.metadata[k], str))
    if bad:
        raise _fail(f"metadata must map new string keys to strings ({', '.join(META_KEYS)} are written by build): "
                    f"{bad}")
