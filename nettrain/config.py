"""The config: its schema, safe YAML loading with line numbers, --set overrides, resolved paths.

One home for every setting a run takes. A config file is read (at most 1 MiB, UTF-8), parsed
by a safe YAML loader that records the line of every key and refuses duplicate keys, anchors,
aliases and non-standard tags; `--set dotted.key=value` overrides are applied (or, from Python,
a mapping {"dotted.key": value}, applied the same way); then a strict pydantic schema validates
the result — a config built as a dict in Python too. Every problem becomes a `ConfigError` with
one line:

    configs/iris.yaml:7: train.learning_rate: must be greater than 0 (got -0.1)

Dotted keys name list items by their index: `model.layers.2`. The names here are the edge
names (`learning_rate`, `weight_decay`); network.py maps them to the tutorial's α and λ.

Left out on purpose: reading data, building or initialising the network, any printing. Paths
are resolved but never opened here; nettrain.data and checkpoint.py report missing files.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal, Mapping, Optional, Sequence, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from .errors import ConfigError, ModelError
from .losses import LOSSES, get_loss
from .network import INIT_SCHEMES, Architecture, Sparsity
from .optimizers import OPTIMIZERS

MAX_CONFIG_BYTES = 1024 * 1024  # a config is a page of text; anything bigger is a mistake
MAX_DEPTH = 32  # nesting levels allowed in a YAML document (the schema needs 3)
BYTES_PER_NUMBER = 8  # float64
COPIES = 4  # weights, gradient, scratch, checkpoint copy
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

# The schema's choices are the registries' names: one list each, kept where the math is.
# Literal[("a", "b")] is Literal["a", "b"]; pydantic's "must be one of" messages list them.
HiddenActivation = Literal[HIDDEN_ACTIVATIONS]  # type: ignore[valid-type]
OutputActivation = Literal[OUTPUT_ACTIVATIONS]  # type: ignore[valid-type]
LossName = Literal[tuple(LOSSES)]  # type: ignore[valid-type]
InitScheme = Literal[INIT_SCHEMES]  # type: ignore[valid-type]
OptimizerName = Literal[tuple(OPTIMIZERS)]  # type: ignore[valid-type]


# ---------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _path_text(value: Any) -> Any:
    """A path must be written as text; a Path object (built in Python) passes through."""
    if isinstance(value, PurePath):
        return Path(value)
    if not isinstance(value, str):
        raise ValueError("must be a file path written as text")
    if not value.strip():
        raise ValueError("must be a file path, not empty text")
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return Path(value)


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Relative to the config file's folder (the current folder for configs built in Python)."""
    base = Path((info.context or {}).get("base_dir") or Path.cwd())
    try:
        return (base / value.expanduser()).resolve()
    except (OSError, RuntimeError, ValueError):  # an unknown ~user, a symlink loop, an unusable name
        return Path(os.path.normpath(os.path.abspath(base / value)))


FilePath = Annotated[Path, BeforeValidator(_path_text), AfterValidator(_resolve_path)]


class _Section(BaseModel):
    """A mapping of the config file: strict types, unknown keys refused, null read as {}."""

    model_config = _STRICT

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value  # `train:` with every key commented out is null


class SplitConfig(_Section):
    """Fractions of the examples used for training, validation and testing.

    A split given in part, such as {train: 1.0}, means what it says when the parts given sum to 1:
    the parts left out are 0. Otherwise they take their defaults (train 0.8, val 0.1, test 0.1).
    """

    train: float = Field(0.8, gt=0, le=1, description="Fraction of examples to train on (> 0).")
    val: float = Field(0.1, ge=0, le=1, description="Fraction held out for validation (0 = none).")
    test: float = Field(0.1, ge=0, le=1, description="Fraction held out for the final test (0 = none).")

    @model_validator(mode="after")
    def _sums_to_one(self) -> "SplitConfig":
        parts = ("train", "val", "test")
        given = [p for p in parts if p in self.model_fields_set]
        left_out = [p for p in parts if p not in given]
        if given and left_out and abs(sum(getattr(self, p) for p in given) - 1.0) <= 1e-9:
            for p in left_out:
                self.__dict__[p] = 0.0  # the parts given are the whole split
            return self
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-9:
            defaults = "".join(
                f"; {p} was not given and defaults to {type(self).model_fields[p].default:g}" for p in left_out
            )
            raise ValueError(f"train + val + test must sum to 1 (they sum to {total:.10g}{defaults}): "
                             "give fractions that sum to 1, e.g. {train: 0.8, val: 0.1, test: 0.1}")
        return self


class WhitenConfig(_Section):
    """ZCA whitening, as the tutorial's "PCA and whitening" chapter: x_ZCA = U diag(1/√(S + ε)) Uᵀ (x − μ)."""

    method: Literal["zca"] = Field("zca", description="zca (the only method).")
    epsilon: float = Field(gt=0, description="ε added to every eigenvalue: it keeps the directions of tiny variance "
                           "(mostly noise) from being blown up; the tutorial takes about 0.01–0.1 for images.")


class ScaleConfig(_Section):
    """A fixed affine map of every input to [0, 1]: x ↦ (x − min)/(max − min), the same for every feature."""

    min: float = Field(description="The value that maps to 0 (e.g. 0 for pixel counts).")
    max: float = Field(description="The value that maps to 1 (e.g. 16 for the digits' pixel counts); > min.")

    @model_validator(mode="after")
    def _ordered(self) -> "ScaleConfig":
        if not self.max > self.min:
            raise ValueError(f"max must be greater than min (got min {self.min:g}, max {self.max:g})")
        return self


class DataConfig(_Section):
    """Where the examples are and how to read them."""

    path: FilePath = Field(
        description="CSV/NPZ/NPY/Parquet data file; a relative path is read from the config file's folder."
    )
    target: Annotated[
        Optional[Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]],
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
                    {"type": "null"},
                ]
            }
        ),
    ] = Field(
        None, description="Target column name(s) in a CSV file; null means the last column."
    )
    features: Annotated[
        Optional[Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]],
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "uniqueItems": True},
                    {"type": "null"},
                ]
            }
        ),
    ] = Field(
        None,
        description="Feature columns, in this order (named as data.target is); null means every column but the "
        "target. Leave out an ID or text column here.",
    )
    task: Literal["classification", "regression", "autoencode"] = Field(
        "classification", description="classification (targets one-hot encoded), regression, or autoencode (the "
        "target is the input itself, y = x; data.target, when given, names label columns left out of x)."
    )
    standardize: bool = Field(True, description="Scale each input to mean 0, std 1 (statistics of the train split).")
    scale: Optional[ScaleConfig] = Field(
        None, description="{min, max}: map every input to [0, 1] by (x − min)/(max − min) instead of standardising "
        "(set standardize: false); for a sigmoid output that must reproduce the input (task autoencode)."
    )
    whiten: Optional[WhitenConfig] = Field(
        None, description="{method: zca, epsilon: ε}: ZCA-whiten the inputs (after standardising), fitted on the "
        "train split and stored with the model; null: no whitening."
    )
    split: SplitConfig = Field(default_factory=SplitConfig, description="train/val/test fractions, summing to 1.")
    delimiter: Optional[Annotated[str, Field(min_length=1, max_length=1)]] = Field(
        None, description="CSV delimiter, one character (\\t: a tab); null means detect it."
    )

    @field_validator("delimiter", mode="before")
    @classmethod
    def _tab_escape(cls, value: Any) -> Any:
        return "\t" if value == "\\t" else value  # \t as typed in a shell or a plain YAML scalar: a tab

    @field_validator("target", "features", mode="before")
    @classmethod
    def _one_name_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("features")
    @classmethod
    def _features_distinct(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        if value is not None:
            twice = sorted({name for name in value if value.count(name) > 1})
            if twice:
                raise ValueError(f"names column {twice[0]!r} twice")
        return value

    @model_validator(mode="after")
    def _target_not_a_feature(self) -> "DataConfig":
        both = [name for name in (self.features or []) if name in (self.target or [])]
        if both:
            raise ValueError(f"column {both[0]!r} is in data.target and in data.features: leave it out of features")
        return self


class InitConfig(_Section):
    """How W⁽ˡ⁾ starts: drawn at random (scheme, std), or copied from a checkpoint (from)."""

    model_config = ConfigDict(**_STRICT, populate_by_name=True)

    scheme: Optional[InitScheme] = Field(
        None, description=f"Random start: {' | '.join(INIT_SCHEMES)} (default normal unless 'from' is given)."
    )
    std: Optional[Annotated[float, Field(gt=0)]] = Field(
        None, description="Standard deviation of the 'normal' scheme (default 0.01 unless 'from' is given)."
    )
    from_: Optional[FilePath] = Field(
        None,
        alias="from",
        description="Start from this checkpoint's weights instead (relative to the config file's folder).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_python_name(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict) and "from_" in value and (info.context or {}).get("strict_keys"):
            raise _UnknownKey("from_")  # the Python name is not a config key; 'from' is
        return value

    @field_validator("from_")
    @classmethod
    def _not_with_scheme(cls, value: Optional[Path], info: ValidationInfo) -> Optional[Path]:
        given = [k for k in ("scheme", "std") if info.data.get(k) is not None]
        if value is not None and given:
            raise ValueError(
                f"cannot be used together with {' and '.join(given)}: "
                "remove 'from' for a random start, or remove " + " and ".join(given)
            )
        return value

    @model_validator(mode="after")
    def _random_start_defaults(self) -> "InitConfig":
        if self.from_ is None:
            self.__dict__["scheme"] = self.scheme or "normal"
            self.__dict__["std"] = 0.01 if self.std is None else self.std
        return self


class SparsityConfig(_Section):
    """The sparse autoencoder's penalty: J += β Σₗ Σⱼ KL(ρ‖ρ̂ⱼ⁽ˡ⁾), ρ̂⁽ˡ⁾ the mean activation of hidden layer l."""

    target: float = Field(gt=0, lt=1, description="ρ, the mean activation each hidden unit should have (UFLDL: 0.01–0.1).")
    weight: float = Field(ge=0, description="β, the weight of the penalty (UFLDL: 3).")


class ModelConfig(_Section):
    """The network: layer sizes s_1 … s_nl, activations and the initial weights."""

    layers: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2)] = Field(
        description="Units per layer, input first and output last: s_1, …, s_nl (at least 2)."
    )
    activation: HiddenActivation = Field(
        "sigmoid", description=f"f of the hidden layers: {' | '.join(HIDDEN_ACTIVATIONS)}."
    )
    output_activation: OutputActivation = Field(
        "sigmoid", description=f"f of the output layer: {' | '.join(OUTPUT_ACTIVATIONS)}."
    )
    init: InitConfig = Field(default_factory=InitConfig, description="Initial weights: {scheme, std} or {from}.")
    sparsity: Optional[SparsityConfig] = Field(
        None, description="{target: ρ, weight: β}: the sparse autoencoder's penalty β Σⱼ KL(ρ‖ρ̂ⱼ) on every hidden "
        "layer (needs sigmoid hidden units); null: no penalty."
    )

    @field_validator("sparsity")
    @classmethod
    def _sigmoid_hidden_units(cls, value: Optional["SparsityConfig"], info: ValidationInfo) -> Any:
        if value is None:
            return value
        act = info.data.get("activation")
        if act is not None and act != "sigmoid":
            raise ValueError(f"needs sigmoid hidden units (model.activation is {act}): ρ̂, the mean activation, "
                             "must lie in (0, 1) as a probability for KL(ρ‖ρ̂) to be defined; set model.activation "
                             "to sigmoid, or remove model.sparsity")
        layers = info.data.get("layers")
        if layers is not None and len(layers) < 3:
            raise ValueError(f"needs a hidden layer to act on (model.layers is {layers}): add one, e.g. "
                             f"[{layers[0]}, 25, {layers[-1]}]")
        return value


class EarlyStoppingConfig(_Section):
    """Stop when the validation data cost has not improved for `patience` logged rows."""

    patience: int = Field(ge=1, description="Logged rows (every log.every epochs) without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0, description="An improvement must lower val J_data by more than this.")


# learning_rate when not given: each optimizer's own default (lbfgs takes none: its line search chooses each step)
DEFAULT_LEARNING_RATE = {name: cls.default_learning_rate for name, cls in OPTIMIZERS.items()
                         if "learning_rate" in cls.uses}


class TrainConfig(_Section):
    """The optimizer and its settings; J(W, b) = J_data + (λ/2) Σ‖W⁽ˡ⁾‖² for every optimizer."""

    optimizer: OptimizerName = Field(
        "gd", description="gd | momentum | nesterov | adam | lbfgs (the README's table says when to use which)."
    )
    learning_rate: Optional[Annotated[float, Field(gt=0)]] = Field(
        None, description="α, the step size (gd, momentum, nesterov, adam); null = 0.1 for gd, 0.01 for momentum "
        "and nesterov, 0.001 for adam."
    )
    momentum: float = Field(0.9, ge=0, lt=1, description="μ (momentum, nesterov).")
    beta1: float = Field(0.9, ge=0, lt=1, description="β₁, the decay of Adam's mean of g.")
    beta2: float = Field(0.999, ge=0, lt=1, description="β₂, the decay of Adam's mean of g².")
    epsilon: float = Field(1.0e-8, gt=0, description="ε in Adam's denominator.")
    memory: int = Field(10, ge=1, description="L-BFGS: the correction pairs kept (scipy's maxcor).")
    batch_size: Optional[Annotated[int, Field(ge=1)]] = Field(
        None, description="null: every step uses the whole train split; N: minibatches of N rows, drawn from a "
        "seeded permutation every epoch (gd, momentum, nesterov, adam)."
    )
    weight_decay: float = Field(0.0, ge=0, description="λ, the weight decay (L2) strength, part of J for every "
                                "optimizer; biases are not decayed.")
    epochs: int = Field(1000, ge=0, description="Passes over the train split (lbfgs: iterations).")
    tolerance: float = Field(0.0, ge=0, description="Stop early when |ΔJ| between epochs < tolerance (between "
                             "rows with J under log.train_cost: logged; lbfgs: the relative decrease, scipy's "
                             "ftol); 0 = never.")
    early_stopping: Optional[EarlyStoppingConfig] = Field(
        None, description="{patience: K, min_delta: 0}: stop when val J_data has not improved for K logged rows "
        "(needs a val split); eval and predict then use best.npz."
    )
    dtype: Literal["float64", "float32"] = Field("float64", description="Floating point type of the computation.")
    chunk_size: Optional[Annotated[int, Field(ge=1)]] = Field(
        None,
        description="Examples per forward/backward chunk (bounds memory); null = automatic: the whole batch for "
        "small problems, else chunks of about 8 MiB of activations (see train.chunk_width).",
    )
    threads: Optional[Annotated[int, Field(ge=1)]] = Field(
        None,
        description="Threads to train with, at most the cores this process may use; null = automatic: one for "
        "a small network (below train.PARALLEL_MIN_FLOPS multiply-adds per epoch), else one per core (within "
        "OPENBLAS_NUM_THREADS). benchmarks/README.md gives the measurements behind the threshold.",
    )

    @model_validator(mode="after")
    def _optimizer_defaults(self) -> "TrainConfig":
        if self.learning_rate is None and self.optimizer in DEFAULT_LEARNING_RATE:
            self.__dict__["learning_rate"] = DEFAULT_LEARNING_RATE[self.optimizer]
        return self

    def unused_keys(self) -> list[str]:
        """One line per hyperparameter set in the config (or by --set) that the chosen optimizer does not read."""
        from .optimizers import HYPERPARAMETERS, users_of

        lines = []
        for key in HYPERPARAMETERS:
            if key in self.model_fields_set and getattr(self, key) is not None and self.optimizer not in users_of(key):
                lines.append(f"train.{key} is not used by optimizer {self.optimizer} (it is used by "
                             f"{', '.join(users_of(key))}); it is ignored")
        return lines


class LogConfig(_Section):
    """How often to record metrics and save checkpoints."""

    every: int = Field(100, ge=1, description="Show a row in the terminal, and compute ‖∇J‖ and the validation "
                       "columns, every this many epochs.")
    checkpoint_every: int = Field(0, ge=0, description="Save a checkpoint every this many epochs (0 = only last.npz).")
    train_cost: Literal["every_epoch", "logged"] = Field(
        "every_epoch", description="J over the whole train split in a minibatch run: every_epoch (every row of "
        "metrics.csv has it; one forward pass over the train split an epoch) or logged (only the rows of log.every "
        "epochs and the last have it, the others leave it empty: an epoch is its steps alone). Full-batch steps "
        "compute J every epoch anyway.")


CLUSTER_ADDRESS = re.compile(r"tcp://[^\s/:]+:[0-9]{1,5}")


class ClusterConfig(_Section):
    """Where the train split's sums are computed: a Dask cluster (nettrain.cluster); absent = in this process."""

    address: str = Field(
        "local", description="local: a LocalCluster started by nettrain on this machine; or tcp://host:port of a "
        "running Dask scheduler (dask scheduler; dask worker tcp://host:port)."
    )
    workers: Optional[Annotated[int, Field(ge=1)]] = Field(
        None, description="Worker processes of the local cluster (address: local only; ignored, with a warning, "
        "for a scheduler's address); null = one per core."
    )
    partitions: Optional[Annotated[int, Field(ge=1)]] = Field(
        None, description="Row partitions of the train split, ⌈m/partitions⌉ rows each; null = 2 per worker. Fix it "
        "to make the result independent of the cluster's size."
    )

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if value != "local" and not CLUSTER_ADDRESS.fullmatch(value):
            raise ValueError(f"must be local or tcp://host:port, e.g. tcp://127.0.0.1:8786 (got {value!r})")
        return value


class Config(BaseModel):
    """A whole run: data, model, loss, training and logging. Compares equal by its values only."""

    model_config = _STRICT

    name: str = Field("run", description="Run name: the run folder is runs/<name>/. Letters, digits, '.', '_', '-'.")
    seed: int = Field(0, ge=0, description="Seed of the random split and the random initial weights.")
    data: DataConfig = Field(description="The dataset.")
    model: ModelConfig = Field(description="The network.")
    loss: LossName = Field(
        "squared_error",
        description="J_data: squared_error (½‖h − y‖²) or cross_entropy (needs a sigmoid/softmax output).",
    )
    train: TrainConfig = Field(default_factory=TrainConfig, description="Gradient descent settings.")
    log: LogConfig = Field(default_factory=LogConfig, description="Logging and checkpoint settings.")
    cluster: Optional[ClusterConfig] = Field(
        None, description="Sum the train split on a Dask cluster (needs the dask extra); null = in this process."
    )

    _source: str = PrivateAttr("<python>")
    _source_path: Optional[Path] = PrivateAttr(None)
    _lines: dict = PrivateAttr(default_factory=dict)  # dotted key → line number in the file
    _overrides: dict = PrivateAttr(default_factory=dict)  # dotted key → "--set key=value" (how errors name it)

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(
                "must be a plain folder name: 1–100 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit (no slashes)"
            )
        return value

    @field_validator("loss")
    @classmethod
    def _fits_output(cls, value: str, info: ValidationInfo) -> str:
        model = info.data.get("model")
        if model is not None:
            try:
                get_loss(value, model.output_activation)
            except ModelError as e:
                raise ValueError(str(e)) from None
        return value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    @property
    def source(self) -> str:
        """How errors name where this config came from: its file as given, or e.g. 'config dict'."""
        return self._source

    @property
    def source_path(self) -> Optional[Path]:
        """The config file this was loaded from (absolute), or None when not loaded from a file."""
        return self._source_path

    def warnings(self) -> list[str]:
        """What the config sets but nothing will read (one line each, for the terminal)."""
        more = []
        if self.cluster is not None and self.cluster.workers is not None and self.cluster.address != "local":
            more.append(f"cluster.workers applies to address: local only; the workers of {self.cluster.address} "
                        "are those started with dask worker: it is ignored")
        from .optimizers import users_of

        if self.log.train_cost != "every_epoch" and not (self.train.batch_size is not None
                                                        and self.train.optimizer in users_of("batch_size")):
            more.append("log.train_cost applies to minibatch runs (train.batch_size with gd, momentum, nesterov or "
                        "adam); a full-batch step computes J every epoch anyway: it is ignored")
        return self.train.unused_keys() + more

    def where(self, key: str) -> str:
        """'file:line' of a dotted key (or its nearest parent's line), or '--set key=value'."""
        return _Locator(self._source, self._lines, self._overrides).where(_split_key(key))[0]

    def architecture(self) -> Architecture:
        """The network's shape, activations and loss, as network.py builds it."""
        m = self.model
        return Architecture(tuple(m.layers), m.activation, m.output_activation, self.loss)

    def sparsity(self) -> Optional[Sparsity]:
        """(ρ, β) of model.sparsity, as the objective takes it; None without a penalty."""
        sp = self.model.sparsity
        return None if sp is None else Sparsity(sp.target, sp.weight)


class _UnknownKey(ValueError):
    """Raised inside validation for a key the schema does not take under another name."""


# ---------------------------------------------------------------------------------------------
# YAML: a safe loader that keeps line numbers
# ---------------------------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
# YAML 1.1 reads 1e-4 (no dot) as text; read it as the number everyone means.
_EXP_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")


class _YamlProblem(Exception):
    def __init__(self, line: Optional[int], key: str, message: str) -> None:
        super().__init__(message)
        self.line, self.key, self.message = line, key, message


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and deep nesting while composing.

    Aliases are refused outright (not merely capped): a "billion laughs" document fails at its
    first `&` or `*`, before anything is expanded.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if isinstance(index, yaml.ScalarNode):  # a mapping value: index is its key node
            seg: Optional[str] = str(index.value)
        elif isinstance(index, int):  # a list item
            seg = str(index)
        elif index is not None:  # a value whose key is a list or mapping
            seg = "?"
        else:  # the document, or a mapping key: errors belong to the parent
            seg = None
        path = self._path + ([seg] if seg is not None else [])
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise _YamlProblem(line, ".".join(path), f"aliases (*{event.anchor}) are not allowed: write the value out")
        if event.anchor is not None:
            raise _YamlProblem(line, ".".join(path), f"anchors (&{event.anchor}) are not allowed: write the value out")
        if len(path) > MAX_DEPTH:
            # the first 3 keys say where (the schema is 3 deep); the rest would be noise
            raise _YamlProblem(line, ".".join(path[:3]), f"nested more than {MAX_DEPTH} levels deep")
        saved, self._path = self._path, path
        try:
            return super().compose_node(parent, index)
        finally:
            self._path = saved


_Loader.add_implicit_resolver(_TAG + "float", _EXP_FLOAT, list("-+0123456789."))


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes text such as '1e5' which _Loader would read back as a number."""


_Dumper.add_implicit_resolver(_TAG + "float", _EXP_FLOAT, list("-+0123456789."))


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _tag_problem(node: yaml.Node, path: str) -> _YamlProblem:
    """Nothing is ever constructed from a tag outside YAML's plain types."""
    return _YamlProblem(
        node.start_mark.line + 1,
        path,
        f"tag {_short_tag(node.tag)!r} is not allowed: only plain YAML values "
        "(text, numbers, true/false, null, lists and mappings)",
    )


def _build(loader: _Loader, node: yaml.Node, path: str, lines: dict[str, int]) -> Any:
    """Python data from a composed node: plain dicts, lists and scalars, recording key lines."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        if node.tag != _TAG + "map":
            raise _tag_problem(node, path)
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _TAG + "merge":
                raise _YamlProblem(key_line, path, "merge keys (<<) are not allowed: write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                if key_node.tag != _TAG + ("map" if isinstance(key_node, yaml.MappingNode) else "seq"):
                    raise _tag_problem(key_node, path)
                raise _YamlProblem(key_line, path, "keys must be plain text, not lists or mappings")
            key = _build(loader, key_node, path, {})
            if not isinstance(key, str):
                raise _YamlProblem(key_line, path, f"keys must be text (got {_short_repr(key)}): put it in quotes")
            dotted = f"{path}.{key}" if path else key
            if key in first:
                raise _YamlProblem(key_line, dotted, f"duplicate key (first at line {first[key]})")
            first[key] = lines[dotted] = key_line
            out[key] = _build(loader, value_node, dotted, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _TAG + "seq":
            raise _tag_problem(node, path)
        items = []
        for i, item in enumerate(node.value):
            dotted = f"{path}.{i}" if path else str(i)
            lines[dotted] = item.start_mark.line + 1
            items.append(_build(loader, item, dotted, lines))
        return items
    if node.tag == _TAG + "value":  # a lone '=' is text
        return node.value
    if node.tag not in _SCALAR_TAGS:
        raise _tag_problem(node, path)
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError, TypeError, yaml.YAMLError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _YamlProblem(line, path, f"cannot read {node.value[:40]!r} as {_short_tag(node.tag)[2:]}: {reason}")


def _parse_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """(data, lines): the document as plain data, and the line of every dotted key ('' = top)."""
    try:
        loader = _Loader(text)  # the reader refuses control characters here already
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        raise _YamlProblem(line, "", f"invalid YAML: character U+{e.character:04X} is not allowed") from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            problem = " ".join(x for x in (e.problem, e.context) if x) or "cannot be parsed"
            if "'\\t'" in problem:
                problem += " (indent with spaces, not tabs)"
            elif "expected the node content, but found" in problem:  # a value starting with , ] } | > …
                problem += " (put a value that starts with this character in quotes, e.g. delimiter: ',')"
            raise _YamlProblem(mark.line + 1 if mark else None, "", f"invalid YAML: {problem}") from None
        except yaml.YAMLError as e:
            raise _YamlProblem(None, "", f"invalid YAML: {_one_line(str(e))}") from None
        if node is None:
            return None, {}
        lines = {"": node.start_mark.line + 1}
        return _build(loader, node, "", lines), lines
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------------------
# Error messages
# ---------------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Line breaks (any kind str.splitlines knows) become spaces: a message is one line."""
    return " ".join(str(text).splitlines())


def _short_repr(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer too long for Python to print
        text = f"<integer of {value.bit_length()} bits>" if isinstance(value, int) else f"<{type(value).__name__}>"
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int_text(n: int) -> str:
    return str(n) if n.bit_length() < 10_000 else f"about 2^{n.bit_length()}"


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(key.split(".")) if key else ()


def _dotted(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path)


class _Locator:
    """Turns a dotted path into 'file:line' or '--set key=value', as errors and where() show it."""

    def __init__(self, source: str, lines: dict[str, int], overrides: dict[str, str]) -> None:
        self.source, self.lines, self.overrides = source, lines, overrides

    def where(self, path: tuple[str, ...], *, mention_inside: bool = False) -> tuple[str, bool]:
        """(location, key is the override's own key) for a path of strings.

        With mention_inside, a file location also names an override of a key below `path`
        (a split that no longer sums to 1 may be the override's doing, not the file's).
        """
        for key in reversed(list(self.overrides)):  # the latest override wins
            own = _split_key(key)
            if path[: len(own)] == own:
                return self.overrides[key], path == own
        loc = self.source
        for n in range(len(path), -1, -1):
            if _dotted(path[:n]) in self.lines:
                loc = f"{self.source}:{self.lines[_dotted(path[:n])]}"
                break
        inside = [raw for key, raw in self.overrides.items() if _split_key(key)[: len(path)] == path]
        if inside and mention_inside:
            loc += f" (with {inside[-1]})"
        return loc, False

    def error(self, path: Sequence[Any], message: str) -> ConfigError:
        spath = tuple(str(p) for p in path)
        loc, own = self.where(spath, mention_inside=True)
        key = "" if own or not spath else _dotted(spath) + ": "
        return ConfigError(_one_line(f"{loc}: {key}{message}"))


def _model_at(path: Sequence[Any]) -> Optional[type[BaseModel]]:
    """The schema model that validates the mapping at `path` (None if that is not a mapping)."""
    model: type[BaseModel] = Config
    for seg in path:
        field = next((f for n, f in model.model_fields.items() if seg in (n, f.alias)), None)
        target = getattr(field, "annotation", None)
        if not (isinstance(target, type) and issubclass(target, BaseModel)):
            return None
        model = target
    return model


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _where_in(path: Sequence[Any]) -> str:
    return f"in {_dotted(path)}" if path else "at the top level"


def _unknown_key_message(path: Sequence[Any], key: str) -> str:
    model = _model_at(path)
    allowed = _keys_of(model) if model else []
    msg = f"unknown key {key!r} {_where_in(path)}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"{msg}, did you mean {close[0]!r}?"
    return f"{msg}; allowed keys: {', '.join(allowed)}" if allowed else msg


def _describe(err: dict) -> str:
    """One readable line for one pydantic error (without the location)."""
    kind, loc, value = err["type"], err["loc"], err.get("input")
    got = f" (got {_short_repr(value)})"
    if kind == "extra_forbidden":
        return _unknown_key_message(loc[:-1], str(loc[-1]))
    if kind == "missing":
        return f"missing required key {loc[-1]!r} {_where_in(loc[:-1])}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a mapping of keys" + got
    if kind in ("int_type", "float_type", "int_from_float") and isinstance(value, bool):
        return "must be a number, not true/false" + got
    if kind in ("int_type", "float_type") and isinstance(value, str):
        hint = ""
        try:
            float(value)
            hint = ": remove the quotes"
        except ValueError:
            pass
        return ("must be a whole number" if kind == "int_type" else "must be a number") + ", not text" + got + hint
    if kind in ("int_type", "int_from_float"):
        return "must be a whole number" + got
    if kind == "finite_number":
        return "must be a finite number, not .inf or .nan" + got
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
        msg = f"must be one of {', '.join(choices)}" + got
        close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
        return msg + (f"; did you mean {close[0]!r}?" if close else "")
    msg = err["msg"]
    msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
    msg = re.sub(r"^(Input|List|String|Value|Dictionary) should ", "must ", msg)
    msg = msg.replace(" after validation", "")
    return msg if "(got " in msg else msg + got


def _from_validation_error(e: ValidationError, locator: _Locator) -> ConfigError:
    err = e.errors(include_url=False)[0]
    loc = err["loc"]
    if isinstance(err.get("ctx", {}).get("error"), _UnknownKey):
        loc = (*loc, str(err["ctx"]["error"]))
        err = {**err, "type": "extra_forbidden", "loc": loc}
    return locator.error(loc, _describe(err))


# ---------------------------------------------------------------------------------------------
# Loading, overrides, validation
# ---------------------------------------------------------------------------------------------


def _read_text(path: Path, label: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)  # never more, even from a device or a pipe
    except FileNotFoundError:
        raise ConfigError(f"{label}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{label}: is a folder, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{label}: cannot read the config file (permission denied)") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the name
        reason = getattr(e, "strerror", None) or str(e)
        raise ConfigError(_one_line(f"{label}: cannot read the config file ({reason})")) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{label}: the config file is larger than 1 MiB; a config should be a page of YAML")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{label}: the config file is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
            "save it as UTF-8"
        ) from None
    return text


def _problem_error(where: str, p: _YamlProblem) -> ConfigError:
    loc = where if p.line is None else f"{where}:{p.line}"
    key = f"{p.key}: " if p.key else ""
    return ConfigError(_one_line(f"{loc}: {key}{p.message}"))


_PATH_KEYS = ("data.path", "model.init.from")
_TEXT_KEYS = ("data.delimiter",)  # one character typed is that character


def _paths_from_cwd(key: str, value: Any) -> Any:
    """A --set value with its file paths made absolute from the working directory (typed in a shell,
    a path means what it means there), however it is written: --set data.path=d.csv and
    --set 'data={path: d.csv, …}' alike. The file's own paths stay relative to the file's folder."""
    def absolute(v: Any) -> Any:
        if isinstance(v, str) and v.strip() and "\x00" not in v:
            return os.path.abspath(os.path.expanduser(v))
        return v

    if key in _PATH_KEYS:
        return absolute(value)
    for path_key in _PATH_KEYS:
        if path_key.startswith(key + "."):
            *inner, leaf = path_key[len(key) + 1 :].split(".")
            node = value
            for seg in inner:
                node = node.get(seg) if isinstance(node, dict) else None
            if isinstance(node, dict) and leaf in node:
                node[leaf] = absolute(node[leaf])
    return value


def _apply_override(data: dict, lines: dict[str, int], overrides: dict[str, str], item: str) -> None:
    """Apply one `--set KEY=VALUE` text: the value is read as YAML (a path from the working directory)."""
    raw = _one_line(str(item))
    shown = raw if len(raw) <= 100 else raw[:99] + "…"
    if "=" not in raw:
        raise ConfigError(f"--set {shown}: expected KEY=VALUE, e.g. --set train.learning_rate=0.01")
    key, _, text = str(item).partition("=")
    key = key.strip()
    label = f"--set {shown}"
    _check_key(key, label)
    if key in _TEXT_KEYS and len(text) == 1:
        value: Any = text  # --set data.delimiter=, (or | or #): the character itself, which YAML would misread
    else:
        try:
            value, _ = _parse_yaml(text)
        except _YamlProblem as p:
            if key not in _TEXT_KEYS:
                raise ConfigError(_one_line(f"{label}: cannot read the value: {p.message}")) from None
            value = text  # as typed, for the schema to judge
    _set_key(data, lines, overrides, key, value, label)


def _apply_value(data: dict, lines: dict[str, int], overrides: dict[str, str], key: Any, value: Any) -> None:
    """Apply one override given in Python, {"train.epochs": 300}: as --set train.epochs=300 applies it,
    with the value taken as it is instead of read from text. Errors name it as `overrides[...]`."""
    shown = _short_repr(value, 60)
    label = f"overrides[{_short_repr(key, 60)}]={shown}"
    if not isinstance(key, str):
        raise ConfigError(f"{label}: an override's key must be a dotted path as text, such as 'train.learning_rate'")
    _check_key(key, label)
    _set_key(data, lines, overrides, key, _plain(copy.deepcopy(value)), label)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays (np.int64(300), np.float64(1e-3), as a notebook produces them) as the Python
    numbers and lists the strict schema takes; lists, tuples and mappings walked; anything else as it is."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if type(value).__module__ == "numpy" and callable(getattr(value, "tolist", None)):
        return value.tolist()  # a numpy scalar → int/float/bool; an array → nested lists
    return value


def _check_key(key: str, label: str) -> None:
    parts = key.split(".")
    if not key or any(not p.strip() or p != p.strip() for p in parts):
        raise ConfigError(f"{label}: the key must be a dotted path such as train.learning_rate")


def _set_key(data: dict, lines: dict[str, int], overrides: dict[str, str], key: str, value: Any, label: str) -> None:
    """Set data's dotted `key` to `value` (creating missing mappings on the way); `label` is how errors
    name the override afterwards (`--set train.epochs=300`)."""
    parts = key.split(".")
    node: Any = data
    for i, seg in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not (seg.isdigit() and int(seg) < len(node)):
                raise ConfigError(
                    f"{label}: {'.'.join(parts[:i])} is a list of {len(node)} items; "
                    f"{seg!r} is not an index from 0 to {len(node) - 1}"
                )
            seg_key: Any = int(seg)
        elif isinstance(node, dict):
            seg_key = seg
            if not last and seg not in node:
                node[seg] = {}  # an intermediate mapping the file did not have
        else:
            raise ConfigError(
                f"{label}: {'.'.join(parts[:i])} is {_short_repr(node)}, not a mapping, so it has no key {seg!r}"
            )
        if last:
            node[seg_key] = _paths_from_cwd(key, value)
        else:
            node = node[seg_key]
    for k in [k for k in lines if k == key or k.startswith(key + ".")]:
        del lines[k]  # the file's lines no longer describe these keys
    overrides.pop(key, None)
    overrides[key] = label


def _check_memory(cfg: Config, locator: _Locator) -> None:
    """Refuse layer sizes whose parameters (×8 bytes ×4 copies) exceed the physical memory."""
    s = cfg.model.layers
    n_params = sum(s[l] * s[l - 1] + s[l] for l in range(1, len(s)))  # W⁽ˡ⁾ and b⁽ˡ⁾, Python ints
    need = n_params * BYTES_PER_NUMBER * COPIES
    try:
        have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        if have <= 0:
            raise ValueError
    except (ValueError, OSError, AttributeError):
        have = 8 * 1024**3
    if need > have:
        raise locator.error(
            ("model", "layers"),
            f"the network has {_int_text(n_params)} parameters, needing {_int_text(need)} bytes "
            f"({_human_bytes(need)}: {BYTES_PER_NUMBER} bytes × {COPIES} copies) but this machine has "
            f"{_human_bytes(have)} of memory; use smaller layers (got {_short_repr(s)})",
        )


def _human_bytes(n: int) -> str:
    if n.bit_length() > 200:
        return f"about 2^{n.bit_length()} bytes"
    x = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if x < 1024 or unit == "EiB":
            break
        x /= 1024
    return f"{x:.1f} {unit}" if x < 1e6 else f"{x:.3g} {unit}"


def _validate(
    data: Any,
    *,
    source: str,
    lines: dict[str, int],
    overrides: dict[str, str],
    base_dir: Optional[Path],
    source_path: Optional[Path],
) -> Config:
    locator = _Locator(source, lines, overrides)
    try:
        cfg = Config.model_validate(data, context={"base_dir": base_dir, "strict_keys": True})
    except ValidationError as e:
        raise _from_validation_error(e, locator) from e
    _check_memory(cfg, locator)
    if cfg.data.task == "autoencode" and cfg.model.layers[-1] != cfg.model.layers[0]:
        s = cfg.model.layers
        raise locator.error(("model", "layers"), f"task autoencode reproduces its input (y = x): the output layer must "
                            f"be as wide as the input; set model.layers to [{s[0]}, …, {s[0]}] (got {s})")
    if cfg.data.whiten is not None and cfg.data.task == "autoencode" and cfg.model.output_activation in (
            "sigmoid", "tanh", "softmax"):
        raise locator.error(("model", "output_activation"), f"data.whiten gives inputs outside the range of a "
                            f"{cfg.model.output_activation} output, and an autoencoder must reproduce them: set "
                            "model.output_activation to identity (the tutorial's linear decoder)")
    if cfg.data.scale is not None and cfg.data.standardize:
        raise locator.error(("data", "scale"), "cannot be used with data.standardize: true (both rescale the "
                            "inputs): set data.standardize: false")
    if cfg.train.early_stopping is not None and cfg.data.split.val == 0:
        raise locator.error(("train", "early_stopping"), "needs a validation split to watch: set data.split.val > 0, "
                            "e.g. --set 'data.split={train: 0.8, val: 0.1, test: 0.1}'")
    if cfg.cluster is not None:
        for key, given in (("data.features", cfg.data.features is not None), ("data.task", cfg.data.task == "autoencode")):
            if given:
                raise locator.error(tuple(key.split(".")), "is not supported on a cluster yet (the workers read "
                                    "every column but the target, as classification or regression): train in this "
                                    "process with --set cluster=null")
    if cfg.cluster is not None and cfg.train.batch_size is not None and cfg.train.optimizer != "lbfgs":
        raise locator.error(("train", "batch_size"), "minibatch steps do not run on a cluster: each step would be a "
                            "round trip to every worker for a few rows' sums; set train.batch_size=null (full batch) "
                            "or remove the cluster section")
    cfg._source, cfg._source_path, cfg._lines, cfg._overrides = source, source_path, lines, overrides
    return cfg


Overrides = Union[Sequence[str], Mapping[str, Any]]
"""`--set` texts ["train.epochs=300"], or a mapping of dotted keys to Python values {"train.epochs": 300}."""


def _apply_overrides(data: dict, lines: dict[str, int], overrides: Overrides) -> dict[str, str]:
    """Apply overrides in order to data (changed in place); returns dotted key → how errors name it."""
    applied: dict[str, str] = {}
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            _apply_value(data, lines, applied, key, value)
    else:
        for item in [overrides] if isinstance(overrides, str) else overrides:
            _apply_override(data, lines, applied, item)
    return applied


def load_config(path: str | Path, overrides: Overrides = ()) -> Config:
    """Read, parse, override and validate a config file; every problem is one ConfigError line.

    overrides: `--set` texts, or a mapping of dotted keys to values applied the same way."""
    label = str(path)
    text = _read_text(Path(path), label)
    try:
        data, lines = _parse_yaml(text)
    except _YamlProblem as p:
        raise _problem_error(label, p) from None
    if data is None:
        raise ConfigError(f"{label}: the config file is empty; it needs at least 'data:' and 'model:' sections")
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else _short_repr(data)
        raise ConfigError(
            f"{label}:{lines.get('', 1)}: the top level must be a mapping of keys such as 'data:' and 'model:' "
            f"(got {kind})"
        )
    applied = _apply_overrides(data, lines, overrides)
    absolute = Path(os.path.abspath(path))
    return _validate(data, source=label, lines=lines, overrides=applied, base_dir=absolute.parent, source_path=absolute)


def config_from_dict(d: Any, source: str = "<checkpoint>", overrides: Overrides = ()) -> Config:
    """Validate a config held as a dict (stored in a checkpoint, or built in Python), after overrides
    (as load_config applies them; d itself is not changed). Relative paths are read from the current
    folder. Errors name `source` and the dotted key: `config dict: train.learning_rate: must be …`."""
    if not isinstance(d, Mapping):  # refused by the schema with the usual message
        return _validate(d, source=source, lines={}, overrides={}, base_dir=None, source_path=None)
    data = _plain(copy.deepcopy(dict(d)))
    applied = _apply_overrides(data, {}, overrides)
    return _validate(data, source=source, lines={}, overrides=applied, base_dir=None, source_path=None)


def config_to_dict(cfg: Config) -> dict:
    """The fully resolved config as JSON-able data: defaults filled, paths absolute strings."""
    return cfg.model_dump(mode="json", by_alias=True)


def dump_config_yaml(cfg: Config) -> str:
    """config_to_dict as YAML; load_config of this text gives an equal Config."""
    return yaml.dump(config_to_dict(cfg), Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def diff_configs(a: dict, b: dict) -> list[str]:
    """Sorted dotted keys whose values differ between two config dicts (added/removed keys too).

    Mappings are compared key by key; any other value (a list such as model.layers) as a whole.
    """
    out: list[str] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in set(x) | set(y):
                sub = f"{path}.{k}" if path else str(k)
                if k in x and k in y:
                    walk(x[k], y[k], sub)
                else:
                    out.append(sub)
        elif x != y or isinstance(x, bool) != isinstance(y, bool):  # True == 1, but not here
            out.append(path)

    walk(a, b, "")
    return sorted(out)


def json_schema() -> dict:
    """The JSON schema of a config file (editors use it for completion and checking)."""
    return Config.model_json_schema(by_alias=True)


__all__ = [
    "Config",
    "DataConfig",
    "SplitConfig",
    "ModelConfig",
    "InitConfig",
    "TrainConfig",
    "EarlyStoppingConfig",
    "ScaleConfig",
    "SparsityConfig",
    "WhitenConfig",
    "LogConfig",
    "ClusterConfig",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "dump_config_yaml",
    "diff_configs",
    "json_schema",
    "MAX_CONFIG_BYTES",
]
