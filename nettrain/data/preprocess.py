"""Preprocessing: what it takes to treat new data exactly as the training data.

Standardisation, per feature j, with μ and σ from the TRAIN split only (σ is the population
standard deviation; a constant feature gets σ = 1 so that it becomes 0, not a division by 0):

    x̂ⱼ = (xⱼ − μⱼ) / σⱼ

Targets are encoded as the network's outputs (one-hot, one 0/1 column, or regression values), and
outputs decoded back to labels. Left out on purpose: reading files, splitting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from .messages import _error, _list, _py, _show
from .table import _CHUNK_BYTES, TASKS, PathLike

@dataclass
class Preprocessing:
    """Everything needed to treat new data exactly as the training data; stored in checkpoints.

    mean, std: per feature, from the train split only; None when standardisation is off.
    labels: the sorted label set (classification), as numbers or strings like the file's.
    binary: 2 labels encoded as ONE 0/1 column (a network with one output), y = 1 ⇔ labels[1].
    """

    task: str
    feature_names: list[str]
    target_names: list[str]
    mean: Optional[list[float]]
    std: Optional[list[float]]
    labels: Optional[list]
    binary: bool = False

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
        }

    @classmethod
    def from_meta(cls, d: dict) -> "Preprocessing":
        """Rebuild from to_meta()'s dict; any malformed field is a DataError naming it."""
        where = "preprocessing metadata"
        if not isinstance(d, dict):
            raise _error(f"{where}: expected a mapping (got {type(d).__name__})")
        required = ("task", "feature_names", "target_names", "mean", "std", "labels")
        missing = [k for k in required if k not in d]
        if missing:
            raise _error(f"{where}: missing {_list(missing)}")
        unknown = [k for k in d if k not in required + ("binary",)]
        if unknown:
            raise _error(f"{where}: unknown key(s) {_list(unknown)}")
        task = d["task"]
        if task not in TASKS:
            raise _error(f"{where}: task must be one of {', '.join(TASKS)} (got {_show(task)})")
        names = {}
        for key in ("feature_names", "target_names"):
            value = d[key]
            if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
                raise _error(f"{where}: {key} must be a non-empty list of strings")
            names[key] = list(value)
        n = len(names["feature_names"])
        stats = {}
        for key in ("mean", "std"):
            value = d[key]
            if value is None:
                stats[key] = None
                continue
            if (
                not isinstance(value, list)
                or len(value) != n
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                or not all(math.isfinite(v) for v in value)
            ):
                raise _error(f"{where}: {key} must be null or a list of {n} finite numbers")
            stats[key] = [float(v) for v in value]
        if (stats["mean"] is None) != (stats["std"] is None):
            raise _error(f"{where}: mean and std must both be set or both be null")
        if stats["std"] is not None and min(stats["std"]) <= 0:
            raise _error(f"{where}: std must be > 0 for every feature")
        binary = d.get("binary", False)
        if not isinstance(binary, bool):
            raise _error(f"{where}: binary must be true or false")
        labels = d["labels"]
        if task == "regression":
            if labels is not None or binary:
                raise _error(f"{where}: a regression has no labels and is not binary")
        else:
            if not isinstance(labels, list) or len(labels) < 2:
                raise _error(f"{where}: labels must be a list of at least 2 labels for classification")
            is_str = all(isinstance(v, str) for v in labels)
            is_num = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in labels)
            if not (is_str or is_num) or (is_num and not all(math.isfinite(v) for v in labels)):
                raise _error(f"{where}: labels must be all strings or all finite numbers")
            if any(a >= b for a, b in zip(labels, labels[1:])):
                raise _error(f"{where}: labels must be sorted and distinct")
            if len(names["target_names"]) != 1:
                raise _error(f"{where}: classification has exactly one target name")
            if binary and len(labels) != 2:
                raise _error(f"{where}: binary encoding needs exactly 2 labels (got {len(labels)})")
            labels = list(labels)
        return cls(task, names["feature_names"], names["target_names"], stats["mean"], stats["std"], labels, binary)

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
        if self.mean is None:
            out[...] = X
            return out
        mu, sigma = np.asarray(self.mean), np.asarray(self.std)
        # Computed in float64 whatever dtype is, a block of rows at a time (X may be a memory map).
        step = max(1, _CHUNK_BYTES // max(1, 8 * n))
        for start in range(0, X.shape[0], step):
            out[start : start + step] = (np.asarray(X[start : start + step], dtype=np.float64) - mu) / sigma
        return out

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
