"""The config's schema: one pydantic model per section, strict, unknown keys refused, null read as {}.

Dotted keys name list items by their index: `model.layers.2`. The names here are the edge names
(`learning_rate`, `weight_decay`); network.py maps them to the tutorial's α and λ. The choices of
activations, losses, init schemes and optimizers are their registries' names.

The train section is made from the optimizer registry (train.py: train_model()). Config's loss and train
fields are Annotated with a Current marker (section.py), and a change of either registry rebuilds Config:
what is registered later is a choice of the config, with its keys, in its JSON Schema, with no other file
edited.

Left out on purpose: the train section (train.py), reading YAML (yamlfile.py), --set (overrides.py),
turning a validation error into one line (load.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    PrivateAttr,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .. import optimizers
from ..activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from ..errors import ModelError
from ..losses import LOSSES, get_loss
from ..network import INIT_SCHEMES, Architecture, Sparsity
from ..optimizers import OPTIMIZERS
from .locate import _Locator, _split_key
from .section import _STRICT, Current, _Section
from .train import _TrainSection, train_model

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

# The schema's choices are the registries' names: one list each, kept where the math is.
# Literal[("a", "b")] is Literal["a", "b"]; pydantic's "must be one of" messages list them.
HiddenActivation = Literal[HIDDEN_ACTIVATIONS]  # type: ignore[valid-type]
OutputActivation = Literal[OUTPUT_ACTIVATIONS]  # type: ignore[valid-type]
InitScheme = Literal[INIT_SCHEMES]  # type: ignore[valid-type]


def _loss_name() -> Any:
    return Literal[tuple(LOSSES)]  # type: ignore[valid-type]


def _loss_description() -> str:
    """J_data: squared_error (½‖h − y‖²) | cross_entropy (−Σₖ yₖ log hₖ; needs a sigmoid/softmax output)."""
    parts = []
    for name, loss in LOSSES.items():
        notes = [loss.about] if loss.about else []
        if set(loss.outputs) != set(OUTPUT_ACTIVATIONS):
            notes.append(f"needs a {'/'.join(loss.outputs)} output")
        parts.append(f"{name} ({'; '.join(notes)})" if notes else name)
    return "J_data: " + " | ".join(parts) + "."

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


def _label(value: Any) -> Any:
    """A class of data.labels as the label column holds it: a whole number or a text."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, str) and not value.strip()):
        raise ValueError("must be a whole number or a text, as the label column holds it")
    return value


Label = Annotated[Any, PlainValidator(_label),
                  WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 1}]})]


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
    """Whitening, as the tutorial's "PCA and whitening" chapter (whiten.py): ZCA, x_ZCA = U diag(1/√(S + ε)) Uᵀ (x − μ),
    or PCA, x_PCAwhite = diag(1/√(λ_k + ε)) U_kᵀ (x − μ), which keeps k of the n directions (then s_1 = k)."""

    method: Literal["zca", "pca"] = Field("zca", description="zca (rotated back to the inputs' axes: as many "
                                          "inputs as the data) | pca (the first k principal directions: k inputs).")
    epsilon: float = Field(gt=0, description="ε added to every eigenvalue: it keeps the directions of tiny variance "
                           "(mostly noise) from being blown up; the tutorial takes about 0.01–0.1 for images.")
    retain: Optional[Annotated[float, Field(gt=0, le=1)]] = Field(
        None, description="pca: keep the smallest k whose eigenvalues hold this fraction of the train split's "
        "variance (the tutorial's 0.99); model.layers must then start with that k.")
    components: Optional[Annotated[int, Field(ge=1)]] = Field(
        None, description="pca: keep exactly k = components directions instead of a fraction (model.layers[0] = k).")

    @model_validator(mode="after")
    def _width_for_pca_only(self) -> "WhitenConfig":
        given = [k for k in ("retain", "components") if getattr(self, k) is not None]
        if self.method == "zca" and given:
            raise ValueError(f"{given[0]} is for method pca (ZCA keeps every direction): remove it, or set method: pca")
        if self.method == "pca" and len(given) != 1:
            raise ValueError("method pca needs exactly one of retain (a fraction of the variance, e.g. 0.99) and "
                             f"components (k){' (both are given)' if given else ''}")
        return self


class _FromSection(_Section):
    """A section with a 'from' key (from_ in Python, a keyword there): only 'from' is a config key."""

    model_config = ConfigDict(**_STRICT, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_python_name(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict) and "from_" in value and (info.context or {}).get("strict_keys"):
            raise _UnknownKey("from_")
        return value


class TransformConfig(_FromSection):
    """Features from a trained network: each row → a⁽ᴷ⁺¹⁾ of a run's K-th hidden layer (features.py)."""

    from_: FilePath = Field(alias="from", description="The trained run: a run folder (its last.npz; best.npz after "
                            "early stopping) or a checkpoint .npz, relative to the config file's folder.")
    layers: int = Field(1, ge=1, description="K: the run's first K hidden layers; the features are the "
                        "activations of hidden layer K (1: its first hidden layer, an autoencoder's code).")


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
        None, description="{method: zca, epsilon: ε} or {method: pca, epsilon: ε, retain: 0.99 | components: k}: "
        "whiten the inputs (after standardising), fitted on the train split and stored with the model; null: no "
        "whitening."
    )
    labels: Optional[Annotated[list[Label], Field(min_length=1)]] = Field(
        None, description="Keep only the rows whose label is one of these, before the split (e.g. [0, 1, 2, 3, 4]); "
        "the label column is data.target (autoencode: data.target is required, left out of x). null: every row.")
    transform: Optional[TransformConfig] = Field(
        None, description="{from: RUN, layers: K}: replace every input row by the activations of the first K hidden "
        "layers of a trained run (after its own preprocessing), before this run's own; stored with the model, which "
        "then takes raw rows. null: the rows as read.")
    split: SplitConfig = Field(default_factory=SplitConfig, description="train/val/test fractions, summing to 1.")
    delimiter: Optional[Annotated[str, Field(min_length=1, max_length=1)]] = Field(
        None, description="CSV delimiter, one character (\\t: a tab); null means detect it."
    )
    categorical: Annotated[
        Union[Literal["auto"], Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)], None],
        WithJsonSchema({"anyOf": [{"const": "auto"}, {"type": "array", "items": {"type": "string", "minLength": 1},
                                                      "minItems": 1, "uniqueItems": True}, {"type": "null"}]}),
    ] = Field(
        None, description="Text feature columns to one-hot encode (categories from the train split, sorted, stored "
        "with the model): a list of column names, or auto (every feature column of text); null: every feature is a "
        "number. A .csv or .parquet file."
    )
    missing: Literal["refuse", "drop", "mean"] = Field(
        "refuse", description="An empty cell in a used column: refuse (a one-line error at its line), drop (the "
        "row is left out, and counted) or mean (a numeric feature takes the train split's mean, an empty category "
        "is all zeros; an empty target is still refused)."
    )

    @field_validator("delimiter", mode="before")
    @classmethod
    def _tab_escape(cls, value: Any) -> Any:
        return "\t" if value == "\\t" else value  # \t as typed in a shell or a plain YAML scalar: a tab

    @field_validator("target", "features", mode="before")
    @classmethod
    def _one_name_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("categorical", mode="before")
    @classmethod
    def _one_column_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) and value != "auto" else value

    @field_validator("features", "categorical")
    @classmethod
    def _features_distinct(cls, value: Any) -> Any:
        if isinstance(value, list):
            twice = sorted({name for name in value if value.count(name) > 1})
            if twice:
                raise ValueError(f"names column {twice[0]!r} twice")
        return value

    @model_validator(mode="after")
    def _target_not_a_feature(self) -> "DataConfig":
        both = [name for name in (self.features or []) if name in (self.target or [])]
        if both:
            raise ValueError(f"column {both[0]!r} is in data.target and in data.features: leave it out of features")
        named = self.categorical if isinstance(self.categorical, list) else []
        for name in named:
            if name in (self.target or []):
                raise ValueError(f"column {name!r} is in data.target and in data.categorical: a categorical column is "
                                 "a feature (text labels of a classification need no data.categorical)")
            if self.features is not None and name not in self.features:
                raise ValueError(f"column {name!r} is in data.categorical but not in data.features: add it to "
                                 "data.features, or leave it out of data.categorical")
        return self

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: Optional[list], info: ValidationInfo) -> Optional[list]:
        if value is None:
            return value
        twice = [v for i, v in enumerate(value) if v in value[:i]]
        if twice:
            raise ValueError(f"names label {twice[0]!r} twice")
        task = info.data.get("task")
        if task == "regression":
            raise ValueError("keeps the rows of some classes: it needs task classification or autoencode (a regression "
                             "has no labels): remove data.labels (got task regression)")
        if task == "autoencode" and info.data.get("target") is None:
            raise ValueError("with task autoencode needs data.target, the label column to filter on (it is left out "
                             "of x), e.g. target: [label] (got target null)")
        return value


class LayerInit(_Section):
    """One layer of a stacked start: W⁽ˡ⁾, b⁽ˡ⁾ of the new network copied from layer `layer` of a trained run."""

    run: FilePath = Field(description="A run folder (its last.npz; best.npz after early stopping) or a checkpoint "
                          ".npz, relative to the config file's folder.")
    layer: int = Field(1, ge=1, description="Which of its layers to copy: its W⁽ᴸ⁾ and b⁽ᴸ⁾ (default 1: an "
                       "autoencoder's encoder, a softmax's only layer).")


# model.init.from is a path or a list: the list's own errors are located in it (load.py drops these tags from an
# error's location, so that it reads model.init.from.1.run, not model.init.from.<per-layer>.1.run)
UNION_TAGS = ("<path>", "<per-layer>")


def _from_kind(value: Any) -> str:
    return UNION_TAGS[1] if isinstance(value, (list, tuple)) else UNION_TAGS[0]


InitFrom = Annotated[
    Union[Annotated[FilePath, Tag(UNION_TAGS[0])], Annotated[list[Optional[LayerInit]], Tag(UNION_TAGS[1])]],
    Discriminator(_from_kind),
]


class InitConfig(_FromSection):
    """How W⁽ˡ⁾ starts: drawn at random (scheme, std), copied from a checkpoint (from), or per layer, from
    several runs (from: a list, one entry per W⁽ˡ⁾: {run, layer}, or null for the scheme's draw)."""

    scheme: Optional[InitScheme] = Field(
        None, description=f"Random start: {' | '.join(INIT_SCHEMES)} (default normal unless 'from' is a path)."
    )
    std: Optional[Annotated[float, Field(gt=0)]] = Field(
        None, description="Standard deviation of the 'normal' scheme (default 0.01 unless 'from' is a path)."
    )
    from_: Optional[InitFrom] = Field(
        None,
        alias="from",
        description="Start from this checkpoint's weights instead (relative to the config file's folder); or a list "
        "with one entry per layer l of this network: {run: RUN, layer: L} copies that run's W⁽ᴸ⁾, b⁽ᴸ⁾ into W⁽ˡ⁾, "
        "b⁽ˡ⁾ (shapes checked), null draws them by the scheme (a stacked autoencoder's fine-tuning).",
    )

    @field_validator("from_")
    @classmethod
    def _not_with_scheme(cls, value: Any, info: ValidationInfo) -> Any:
        given = [k for k in ("scheme", "std") if info.data.get(k) is not None]
        if isinstance(value, Path) and given:
            raise ValueError(
                f"cannot be used together with {' and '.join(given)}: "
                "remove 'from' for a random start, or remove " + " and ".join(given)
            )
        if isinstance(value, list) and all(entry is None for entry in value):
            raise ValueError("names no run in any entry: give {run: RUN, layer: L} for at least one layer, or remove "
                             "'from' for a random start")
        return value

    @model_validator(mode="after")
    def _random_start_defaults(self) -> "InitConfig":
        if not isinstance(self.from_, Path):  # the layers not copied are drawn by the scheme
            self.__dict__["scheme"] = self.scheme or "normal"
            self.__dict__["std"] = 0.01 if self.std is None else self.std
        return self

    @property
    def per_layer(self) -> Optional[list]:
        """The per-layer list of a stacked start (LayerInit or None per W⁽ˡ⁾), or None."""
        return self.from_ if isinstance(self.from_, list) else None


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

    @field_validator("init")
    @classmethod
    def _one_entry_per_layer(cls, value: "InitConfig", info: ValidationInfo) -> "InitConfig":
        layers, entries = info.data.get("layers"), value.per_layer
        if entries is not None and layers is not None and len(entries) != len(layers) - 1:
            raise ValueError(f"'from' needs one entry per W⁽ˡ⁾, l = 1 … nl − 1 (null: drawn by the scheme): "
                             f"model.layers {layers} has {len(layers) - 1} weight layers (got {len(entries)} entries)")
        return value

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
    loss: Annotated[str, Current(_loss_name, _loss_description)] = "squared_error"
    train: Annotated[_TrainSection, Current(train_model)] = Field(
        default_factory=lambda: train_model()(), description="Gradient descent settings.")
    log: LogConfig = Field(default_factory=LogConfig, description="Logging and checkpoint settings.")
    cluster: Optional[ClusterConfig] = Field(
        None, description="Sum the train split on a Dask cluster (needs the dask extra); null = in this process."
    )

    _source: str = PrivateAttr("<python>")
    _source_path: Optional[Path] = PrivateAttr(None)
    _lines: dict = PrivateAttr(default_factory=dict)  # dotted key → line number in the file
    _overrides: dict = PrivateAttr(default_factory=dict)  # dotted key → "--set key=value" (how errors name it)
    _given: Any = PrivateAttr(())  # the overrides as given: --set texts, or a mapping from Python

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

    @property
    def given_overrides(self) -> Any:
        """The overrides applied when this config was loaded, as given (--set texts, or a mapping of dotted keys
        to values): what a command that repeats this run passes again."""
        return self._given

    def warnings(self) -> list[str]:
        """What the config sets but nothing will read (one line each, for the terminal)."""
        more = []
        if self.cluster is not None and self.cluster.workers is not None and self.cluster.address != "local":
            more.append(f"cluster.workers applies to address: local only; the workers of {self.cluster.address} "
                        "are those started with dask worker: it is ignored")
        users = optimizers.users_of("batch_size")
        if self.log.train_cost != "every_epoch" and not (self.train.batch_size is not None
                                                        and self.train.optimizer in users):
            named = ", ".join(users[:-1]) + " or " + users[-1] if len(users) > 1 else "".join(users)
            more.append(f"log.train_cost applies to minibatch runs (train.batch_size with {named}); a full-batch "
                        "step computes J every epoch anyway: it is ignored")
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


def _rebuild() -> None:
    """A registry changed: Config's loss and train fields are made again from the registries."""
    Config.model_rebuild(force=True)


OPTIMIZERS.watch(_rebuild)
LOSSES.watch(_rebuild)
