"""Preprocessing: what it takes to treat new data exactly as the training data.

Standardisation, per feature j, with μ and σ from the TRAIN split only (σ is the population
standard deviation; a constant feature gets σ = 1 so that it becomes 0, not a division by 0):

    x̂ⱼ = (xⱼ − μⱼ) / σⱼ

The features standardised are the ENCODED columns (encoding.py): with data.categorical or data.missing:
mean, the raw columns made numbers first (one-hot columns, fills), and Preprocessing keeps that Encoding too
(its metadata's "columns"; absent, as in every model without text or empty cells, the encoded columns are the
raw ones). Targets are encoded as the network's outputs (one-hot, one 0/1 column, or regression values), and
outputs decoded back to labels. Left out on purpose: reading files, splitting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal, Optional, Sequence, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, model_validator

from .encoding import Encoding
from .messages import _error, _list, _py, _show
from .table import _CHUNK_BYTES, PathLike


_Finite = Annotated[float, Field(allow_inf_nan=False)]
_Label = Union[StrictStr, StrictInt, _Finite]  # a JSON label: a string or a finite number, never true/false


class _NumericColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: StrictStr = Field(min_length=1)
    kind: Literal["numeric"]
    fill: Optional[_Finite]


class _CategoricalColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: StrictStr = Field(min_length=1)
    kind: Literal["categorical"]
    categories: list[Annotated[StrictStr, Field(min_length=1)]] = Field(min_length=1)


_Column = Annotated[Union[_NumericColumn, _CategoricalColumn], Field(discriminator="kind")]
_FIELDS = {"name", "kind", "fill", "categories"}  # the columns' own fields, kept in an error's dotted place


class _Meta(BaseModel):
    """The stored form of Preprocessing (to_meta's dict), validated when a checkpoint is read."""

    model_config = ConfigDict(extra="forbid", strict=True)

    task: Literal["classification", "regression"]
    feature_names: list[str] = Field(min_length=1)
    target_names: list[str] = Field(min_length=1)
    mean: Optional[list[_Finite]]  # required keys, null allowed: written by to_meta every time
    std: Optional[list[_Finite]]
    labels: Optional[list[_Label]]
    binary: bool = False
    columns: Optional[list[_Column]] = None  # the Encoding (encoding.py); absent: the raw columns are feature_names

    @model_validator(mode="after")
    def _consistent(self) -> "_Meta":
        if self.columns is not None:
            self._consistent_columns()
        n = len(self.feature_names)
        for key in ("mean", "std"):
            value = getattr(self, key)
            if value is not None and len(value) != n:
                raise ValueError(f"{key} must be null or a list of {n} finite numbers (got a list of {len(value)})")
        if (self.mean is None) != (self.std is None):
            raise ValueError("mean and std must both be set or both be null")
        if self.std is not None and min(self.std) <= 0:
            raise ValueError("std must be > 0 for every feature")
        labels = self.labels
        if self.task == "regression":
            if labels is not None or self.binary:
                raise ValueError("a regression has no labels and is not binary")
            return self
        if labels is None or len(labels) < 2:
            raise ValueError("labels must be a list of at least 2 labels for classification")
        if len({isinstance(v, str) for v in labels}) != 1:
            raise ValueError("labels must be all strings or all finite numbers")
        if any(a >= b for a, b in zip(labels, labels[1:])):
            raise ValueError("labels must be sorted and distinct")
        if len(self.target_names) != 1:
            raise ValueError("classification has exactly one target name")
        if self.binary and len(labels) != 2:
            raise ValueError(f"binary encoding needs exactly 2 labels (got {len(labels)})")
        return self

    def _consistent_columns(self) -> None:
        names = [c.name for c in self.columns or []]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"columns must name distinct columns, at least one (got {names})")
        for c in self.columns or []:
            if isinstance(c, _CategoricalColumn) and any(a >= b for a, b in zip(c.categories, c.categories[1:])):
                raise ValueError(f"columns: the categories of {c.name!r} must be sorted and distinct")
        encoded = Encoding.from_meta([c.model_dump() for c in self.columns or []]).names
        if encoded != self.feature_names:
            raise ValueError(f"columns encode to {len(encoded)} inputs {encoded[:6]}, not to feature_names "
                             f"{self.feature_names[:6]}")


def _describe(err: Any) -> str:
    """One pydantic error as 'field: what is wrong (got …)', the field dotted as in the metadata."""
    # the location without pydantic's union-member tags ('str', 'int', …): fields and list indices
    loc = [part for part in err["loc"]
           if isinstance(part, int) or part in _Meta.model_fields or part in _FIELDS or part == err["loc"][0]]
    field = ".".join(str(part) for part in loc)
    kind = err["type"]
    if kind == "missing":
        return f"missing {_show(field)}"
    if kind == "extra_forbidden":
        return f"unknown key {_show(field)}"
    if kind == "model_type":
        return f"expected a mapping (got {type(err['input']).__name__})"
    if loc and loc[0] == "labels":  # a union's errors say only what the first member wanted
        return f"{field}: labels must be a list of strings or of finite numbers (got {_show(err['input'])})"
    msg = re.sub(r"^Value error, ", "", err["msg"])
    if not field:
        return msg  # a rule across fields (_Meta._consistent): its message names them
    msg = re.sub(r"^(Input|List|String|Value) should ", "must ", msg).replace(" after validation", "")
    return f"{field}: {msg} (got {_show(err['input'])})"


@dataclass
class Preprocessing:
    """Everything needed to treat new data exactly as the training data; stored in checkpoints.

    mean, std: per feature, from the train split only; None when standardisation is off.
    labels: the sorted label set (classification), as numbers or strings like the file's.
    binary: 2 labels encoded as ONE 0/1 column (a network with one output), y = 1 ⇔ labels[1].
    encoding: the raw columns made numbers before the standardisation (encoding.Encoding; feature_names are
    its encoded names), or None: the raw columns are feature_names.
    """

    task: str
    feature_names: list[str]
    target_names: list[str]
    mean: Optional[list[float]]
    std: Optional[list[float]]
    labels: Optional[list]
    binary: bool = False
    encoding: Optional[Encoding] = None

    @property
    def n_outputs(self) -> int:
        """The width of the network's output layer this encoding needs."""
        if self.task == "regression":
            return len(self.target_names)
        return 1 if self.binary else len(self.labels or [])

    # ---- checkpoint metadata

    def to_meta(self) -> dict:
        """A JSON-able dict; floats are plain Python floats, which json writes and reads exactly."""
        return {
            "task": self.task,
            "feature_names": [str(s) for s in self.feature_names],
            "target_names": [str(s) for s in self.target_names],
            "mean": None if self.mean is None else [float(v) for v in self.mean],
            "std": None if self.std is None else [float(v) for v in self.std],
            "labels": None if self.labels is None else [_py(v) for v in self.labels],
            "binary": bool(self.binary),
            **({"columns": self.encoding.to_meta()} if self.encoding is not None else {}),
        }

    @classmethod
    def from_meta(cls, d: Any) -> "Preprocessing":
        """Rebuild from to_meta()'s dict; any malformed field is a DataError naming it."""
        try:
            meta = _Meta.model_validate(d)
        except ValidationError as exc:
            raise _error(f"preprocessing metadata: {_describe(exc.errors()[0])}") from None
        encoding = None if meta.columns is None else Encoding.from_meta([c.model_dump() for c in meta.columns])
        return cls(meta.task, meta.feature_names, meta.target_names, meta.mean, meta.std, meta.labels, meta.binary,
                   encoding)

    # ---- applying it

    def transform_x(self, X: np.ndarray, dtype: Any = np.float64, path: Optional[PathLike] = None) -> np.ndarray:
        """x̂ = (x − μ) / σ for each row: a new (m, n) array of dtype (a copy even without statistics)."""
        X = np.asarray(X)
        n = len(self.feature_names)
        if X.ndim != 2 or X.shape[1] != n:
            got = f"{X.shape[1]} features" if X.ndim == 2 else f"an array of shape {X.shape}"
            where = f"{path}: " if path is not None else ""
            raise _error(f"{where}the data has {got}, the model expects {n} ({_list(self.feature_names)})")
        out = np.empty(X.shape, dtype=dtype)
        # A block of rows at a time: X may be a memory map, and the float64 temporary stays small.
        step = max(1, _CHUNK_BYTES // max(1, 8 * n))
        for start in range(0, X.shape[0], step):
            self.transform_into(X[start : start + step], out[start : start + step])
        return out

    def transform_into(self, X: Any, out: np.ndarray) -> np.ndarray:
        """x̂ = (x − μ) / σ of the rows of X (w, n), written into out (w, n) of any float dtype.

        The one transform: transform_x applies it block by block, MappedRows chunk by chunk.
        Computed in float64 whatever out's dtype, then cast once; without statistics, a cast copy.
        """
        if self.mean is None:
            np.copyto(out, X, casting="unsafe")
            return out
        mu, sigma = self._mu_sigma
        t = np.subtract(np.asarray(X, dtype=np.float64), mu)
        np.copyto(out, np.divide(t, sigma, out=t), casting="unsafe")
        return out

    @cached_property
    def _mu_sigma(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.mean, dtype=np.float64), np.asarray(self.std, dtype=np.float64)

    def encode_y(
        self, y_raw: Any, path: Optional[PathLike] = None, dtype: Any = np.float64, lines: Optional[Sequence[int]] = None
    ) -> np.ndarray:
        """Targets as network outputs.

        classification: one-hot (m, K), column c ⇔ labels[c]; binary: (m, 1) of 0/1 (1 ⇔ labels[1]).
        regression: (m, k) floats.
        lines: the file line of each row (Table.lines), so that an unknown label is reported as file:line.
        """
        where = f"{path}: " if path is not None else ""
        y = np.asarray(y_raw)
        if self.task == "regression":
            k = len(self.target_names)
            if y.ndim == 1:
                y = y.reshape(-1, 1)
            if y.ndim != 2 or y.shape[1] != k:
                raise _error(
                    f"{where}the targets have shape {y.shape}, the model expects {k} column(s) "
                    f"({_list(self.target_names)})"
                )
            try:
                return np.array(y, dtype=dtype)
            except (TypeError, ValueError):
                raise _error(f"{where}regression targets must be numbers (got dtype {y.dtype})") from None
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise _error(f"{where}classification takes one label per example (got targets of shape {y.shape})")
        codes = self._label_codes(y, where, path, lines)
        if self.binary:
            return codes.astype(dtype).reshape(-1, 1)
        Y = np.zeros((y.shape[0], len(self.labels or [])), dtype=dtype)
        Y[np.arange(y.shape[0]), codes] = 1
        return Y

    def _label_codes(
        self, y: np.ndarray, where: str, path: Optional[PathLike] = None, lines: Optional[Sequence[int]] = None
    ) -> np.ndarray:
        """The index in self.labels of each label in y; DataError at the first unknown one."""
        index = {label: c for c, label in enumerate(self.labels or [])}
        if y.size == 0:
            return np.zeros(0, dtype=np.intp)
        if y.dtype == object:  # mixed Python values, which np.unique cannot sort: number them in order
            values = y.tolist()
            try:
                first_seen = {v: u for u, v in enumerate(dict.fromkeys(values))}
            except TypeError:
                raise _error(f"{where}labels must be numbers or strings") from None
            uniques = np.empty(len(first_seen), dtype=object)
            uniques[:] = list(first_seen)
            inverse = np.array([first_seen[v] for v in values], dtype=np.intp)
        else:
            uniques, inverse = np.unique(y, return_inverse=True)
        mapped = np.empty(uniques.shape[0], dtype=np.intp)
        unknown = []
        for u, value in enumerate(uniques):
            value = _py(value)
            if isinstance(value, str):
                value = value.strip()
            code = index.get(value)
            if code is None or isinstance(value, bool):
                unknown.append(u)
                code = -1
            mapped[u] = code
        codes = mapped[inverse.reshape(-1)]
        if unknown:
            first = int(np.flatnonzero(np.isin(inverse.reshape(-1), unknown))[0])
            row = f" (first in data row {first + 1})"
            if path is not None and lines is not None:  # a text file: its line and column, as read_table says
                where, row = f"{path}:{lines[first]}: column {_show(self.target_names[0])}: ", ""
            raise _error(
                f"{where}label {_show(_py(y[first]))}{row} is not one of the "
                f"{len(self.labels or [])} training labels: {_list(self.labels or [])}"
            )
        return codes

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Network outputs (m, K) → predictions: the label of the largest output (binary: labels[1]
        where the output is ≥ 0.5, else labels[0]); regression outputs are returned as floats."""
        A = np.asarray(outputs, dtype=np.float64)
        if A.ndim == 1:
            A = A.reshape(-1, 1)
        if A.ndim != 2 or A.shape[1] != self.n_outputs:
            raise _error(f"the outputs have shape {A.shape}, expected (m, {self.n_outputs})")
        if self.task == "regression":
            return A.copy()
        labels = np.asarray(self.labels)
        if self.binary:
            return labels[(A[:, 0] >= 0.5).astype(np.intp)]
        return labels[np.argmax(A, axis=1)]
