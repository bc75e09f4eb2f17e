"""The one preparation path: a data set's rows — in memory, in a memory map, or on a cluster's workers — split,
their labels found, standardised and whitened from additive sums computed where the rows are.

    Rows               what preparation asks of rows (a Protocol): their count and columns, the label set (a
                       scan), and fn(X, …) of every part of a split, computed where the rows are
    TableRows          a Table's rows: in memory, or a .npy file's memory map read STATS_ROWS rows at a time
    prepare_rows(…)    → Prepared: the Preprocessing (labels; μ and σ from Σx, then Σ(x − μ)²), the whitening
                       (ZCA from Σx̂, then Σ(x̂ − μ)ᵀ(x̂ − μ)) and the split; the parts' sums added in part order
    held_splits(…)     a Table's splits as training takes them: arrays, or MappedRows read by the chunk
    prepare(table, …)  the two for a Table: (splits, Preprocessing)

With one part (a split of at most STATS_ROWS rows here) the statistics are np.mean's and np.std's own bits and
the whitening ZCA.fit's; with several, the same sums taken part by part and added in order.

Left out on purpose: reading files; what the statistics and encodings mean (preprocess.py); the config and
the model's widths (problem.py); where a cluster's parts are (cluster/).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Protocol, Union

import numpy as np

from ..whiten import ZCA
from .mapped import MappedRows
from .messages import _error, _list, _py, _show
from .preprocess import Preprocessing
from .split import SPLITS, SplitSpec
from .table import Table, _check_classes, _check_finite, _labels_from_array

STATS_ROWS = 65536  # rows of a split read at a time for its sums (a memory-mapped X is never copied whole)
LABEL_ROWS = 1 << 20  # rows of a mapped target column scanned at a time for the label set


class Rows(Protocol):
    """A data set's rows, wherever they are, as preparation needs them."""

    m: int  # rows in all
    task: str  # "classification" (one label per row) or "regression"
    feature_names: list[str]
    target_names: list[str]
    path: Any  # for messages

    def labels(self) -> Optional[list]:
        """The sorted label set of the whole target column (classification; None for a regression), as
        plain Python values; DataError for fewer than 2 classes or a label that is not a finite number."""

    def each(self, fn: Callable[..., Any], spec: SplitSpec, split: str, *args: Any) -> list:
        """[fn(X, *args) for every part of the split's rows], in order: X (w, n) a part's raw features, as the
        file holds them. fn is module-level (a cluster's workers import it by name)."""


class Prepared(NamedTuple):
    """What preparation fitted: the Preprocessing, the whitening (None without data.whiten), the split."""

    pre: Preprocessing
    zca: Optional[Any]  # whiten.ZCA or whiten.PCA
    spec: SplitSpec


# ----------------------------------------------------------------------------- the sums, part by part


def feature_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Σx in float64, min, max) per feature over a part's rows: standardisation's first pass."""
    return np.add.reduce(X, axis=0, dtype=np.float64), X.min(axis=0), X.max(axis=0)


def feature_spread(X: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Σ(x − μ)² per feature over a part's rows, in float64: the second pass (accurate where |μ| ≫ σ)."""
    d = np.subtract(X, mu, dtype=np.float64)
    np.multiply(d, d, out=d)
    return np.add.reduce(d, axis=0)


def whitened_sum(X: np.ndarray, pre: Preprocessing, dtype: Any) -> np.ndarray:
    """Σx̂ over a part's rows, x̂ standardised in the run's dtype and then taken in float64 (as ZCA.fit sees
    the train split): the whitening's first pass."""
    return np.add.reduce(np.asarray(pre.transform_x(X, dtype), dtype=np.float64), axis=0)


def whitened_scatter(X: np.ndarray, pre: Preprocessing, dtype: Any, mu: np.ndarray) -> np.ndarray:
    """Σ(x̂ − μ)ᵀ(x̂ − μ) over a part's rows (n, n): the whitening's second pass."""
    xc = np.asarray(pre.transform_x(X, dtype), dtype=np.float64) - mu
    return xc.T @ xc


def added(parts: list) -> Any:
    """The parts' sums added in part order (one part: itself, to the bit)."""
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


# ----------------------------------------------------------------------------- the one path


def prepare_rows(rows: Rows, spec: SplitSpec, *, standardize: bool, n_outputs: Optional[int] = None,
                 dtype: Any = np.float64, scale: Optional[tuple[float, float]] = None,
                 whiten: Union[None, float, Callable[..., Any]] = None, labels: Optional[list] = None,
                 encoding: Any = None) -> Prepared:
    """Fit the preprocessing on the train split of `rows`: the label set (given, or rows.labels()), its encoding
    for n_outputs outputs (the binary 0/1 column for 2 classes and 1 output), μ and σ (data.standardize) or
    the fixed map of data.scale, and the whitening: the ZCA of ε = whiten, or whiten(μ, Σ) (whiten.of_covariance
    with data.whiten's keys: ZCA or PCA). encoding: the encoding.Encoding that made the rows' columns (kept in the
    Preprocessing). DataError, one line, for data that cannot be."""
    if rows.task == "classification":
        labels = rows.labels() if labels is None else labels
        binary = _check_outputs(rows, labels, n_outputs)
    else:
        labels, binary = None, False
        _check_outputs(rows, None, n_outputs)
    mean, std = _statistics(rows, spec, standardize, scale)
    pre = Preprocessing(rows.task, list(rows.feature_names), list(rows.target_names), mean, std, labels, binary,
                        encoding)
    zca = None if whiten is None else _whitening(rows, spec, pre, dtype, whiten)
    return Prepared(pre, zca, spec)


def _check_outputs(rows: Rows, labels: Optional[list], n_outputs: Optional[int]) -> bool:
    """Whether 2 classes are encoded as one 0/1 column; DataError when the model's outputs cannot hold them."""
    path = rows.path
    if labels is None:  # a regression: one output per target column
        k = len(rows.target_names)
        if n_outputs is not None and n_outputs != k:
            raise _error(f"{path}: the model has {n_outputs} outputs but the data has {k} target column(s) "
                         f"({_list(rows.target_names)}): set the last layer to {k}")
        return False
    if len(labels) < 2:
        only = _show(labels[0]) if labels else "none"
        raise _error(f"{path}: the target has only one class ({only}): classification needs at least 2")
    binary = len(labels) == 2 and n_outputs == 1
    width = 1 if binary else len(labels)
    if n_outputs is not None and n_outputs != width:
        raise _error(f"{path}: the model has {n_outputs} outputs but the data has {len(labels)} classes "
                     f"({_list(labels)}): set the last layer to {len(labels)}"
                     + (" (or 1 for a 0/1 output)" if len(labels) == 2 else ""))
    return binary


def _statistics(rows: Rows, spec: SplitSpec, standardize: bool, scale: Optional[tuple[float, float]]
                ) -> tuple[Optional[list], Optional[list]]:
    """μ and σ per feature: data.scale's fixed (min, max − min), or the train split's population mean and
    standard deviation from two passes of sums, μ = Σx / m, then σ = √(Σ(x − μ)² / m); or (None, None)."""
    n = len(rows.feature_names)
    if scale is not None:  # data.scale: x̂ = (x − min)/(max − min), kept as the μ and σ a standardisation keeps
        lo, hi = float(scale[0]), float(scale[1])
        return [lo] * n, [hi - lo] * n
    if not standardize:
        return None, None
    m = spec.sizes()["train"]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # overflow is checked below
        moments = rows.each(feature_moments, spec, "train")
        mu = added([p[0] for p in moments]) / m
        lo, hi = moments[0][1], moments[0][2]
        for _, bmin, bmax in moments[1:]:
            lo, hi = np.minimum(lo, bmin), np.maximum(hi, bmax)
        sigma = np.sqrt(added(rows.each(feature_spread, spec, "train", mu)) / m)
    # A constant feature (max = min exactly; its computed σ can be ~1e-17, not 0) gets σ = 1,
    # as does a σ that underflows to 0 (differences of subnormal numbers).
    sigma[(lo == hi) | (sigma == 0)] = 1.0
    bad = np.flatnonzero(~(np.isfinite(mu) & np.isfinite(sigma)))
    if bad.size:
        names = rows.feature_names
        name = names[bad[0]] if bad[0] < len(names) else str(bad[0])
        raise _error(f"{rows.path}: feature {_show(name)} is too large to standardise (its mean or spread overflows "
                     "float64): rescale that column")
    return [float(v) for v in mu], [float(v) for v in sigma]


def _whitening(rows: Rows, spec: SplitSpec, pre: Preprocessing, dtype: Any, whiten: Any) -> Any:
    """The whitening of the standardised train split: μ = Σx̂ / m, Σ = Σ(x̂ − μ)ᵀ(x̂ − μ) / m, then ZCA.of_covariance
    (whiten a number: ε) or whiten(μ, Σ)."""
    m = spec.sizes()["train"]
    mu = added(rows.each(whitened_sum, spec, "train", pre, dtype)) / m
    sigma = added(rows.each(whitened_scatter, spec, "train", pre, dtype, mu)) / m
    return whiten(mu, sigma) if callable(whiten) else ZCA.of_covariance(mu, sigma, whiten)


# ----------------------------------------------------------------------------- a Table's rows


class TableRows:
    """The rows of a Table: X in memory or a .npy file's memory map (read STATS_ROWS rows at a time), y its
    labels or targets — or, for a .npy read with scan_targets, the target column still in the map, its label
    set then found by a scan LABEL_ROWS rows at a time (nothing of size m is read whole)."""

    def __init__(self, table: Table) -> None:
        self.table, self.m, self.path = table, int(table.X.shape[0]), table.path
        self.task = "regression" if table.y.ndim == 2 else "classification"
        self.feature_names, self.target_names = list(table.feature_names), list(table.target_names)
        if table.y.shape[0] != self.m:
            raise _error(f"{table.path}: {self.m} rows of features but {table.y.shape[0]} targets")

    @property
    def unread(self) -> bool:
        """Whether y is the map's target column as stored (read_table(…, scan_targets=True)), not yet labels."""
        return self.table.y_mapped is not None and self.table.y is self.table.y_mapped

    def labels(self) -> Optional[list]:
        if self.task != "classification":
            if self.unread:
                _check_finite(self.path, self.table.y, "y")  # a block at a time
            return None
        if not self.unread:
            return [_py(v) for v in np.unique(self.table.y)]
        y, what, found = self.table.y, f"column {self.target_names[0]}", []
        for s in range(0, self.m, LABEL_ROWS):
            block = np.asarray(y[s : s + LABEL_ROWS])
            if block.dtype.kind == "f" and not np.isfinite(block).all():
                i = int(np.flatnonzero(~np.isfinite(block))[0])
                raise _error(f"{self.path}: {what}[{s + i}] is {block[i]}: labels must be finite")
            found.append(np.unique(block))
        labels = _labels_from_array(self.path, np.unique(np.concatenate(found)), what)  # whole numbers as int64
        _check_classes(self.path, self.target_names[0], labels)
        return [_py(v) for v in labels]

    def each(self, fn: Callable[..., Any], spec: SplitSpec, split: str, *args: Any) -> list:
        rows = spec.rows(split)
        X = self.table.X
        return [fn(np.asarray(X[rows.take(s, s + STATS_ROWS)]), *args) for s in range(0, len(rows), STATS_ROWS)]


def held_splits(table: Table, prepared: Prepared, dtype: Any = np.float64, *, lazy: bool = False,
                autoencode: bool = False, names: tuple = SPLITS) -> dict[str, tuple[Any, Any]]:
    """{split: (X, Y)} for every split of `names` with rows: X (m_split, n) prepared (standardised, then
    whitened), Y its encoded targets (m_split, s_nl) — or, autoencode, X itself. lazy, with a memory-mapped X:
    each split as MappedRows and its MappedTargets (or, autoencode, the MappedRows again), read a chunk at a
    time when trained on or measured, so that memory beyond the map is bounded by the chunk for every split."""
    pre, zca, spec = prepared
    splits: dict[str, tuple[Any, Any]] = {}
    for name in names:
        rows = spec.rows(name)
        if not len(rows):
            continue
        if lazy and isinstance(table.X, np.memmap):
            raw = table.y_mapped if table.y_mapped is not None else table.y
            mapped = MappedRows(table.X, rows, pre, dtype, None if autoencode else raw, zca)
            splits[name] = (mapped, mapped if autoencode else mapped.targets())
            continue
        if table.y_mapped is not None and table.y is table.y_mapped and not autoencode:
            raise ValueError("a table read with scan_targets is held lazily (lazy=True) or not at all")
        idx = rows.indices()
        X = pre.transform_x(table.X[idx], dtype)
        X = X if zca is None else zca.apply(X, dtype)
        splits[name] = (X, X if autoencode else pre.encode_y(table.y[idx], table.path, dtype))
    return splits


def prepare(table: Table, split: dict[str, float], standardize: bool, seed: int, n_outputs: Optional[int] = None,
            dtype: Any = np.float64, lazy: bool = False, scale: Optional[tuple[float, float]] = None
            ) -> tuple[dict[str, tuple[Any, Any]], Preprocessing]:
    """Split the table, standardise X with the train split's statistics (or data.scale's map) and encode Y:
    ({"train": (X, Y), "val": …, "test": …} without the empty splits, Preprocessing). The label set is the
    sorted labels of the WHOLE table, so that every split encodes alike; n_outputs (the model's output width)
    picks the binary encoding of 2 classes when it is 1, and must match the data otherwise. lazy: as
    held_splits."""
    rows = TableRows(table)
    prepared = prepare_rows(rows, SplitSpec.of(rows.m, split, seed), standardize=standardize, n_outputs=n_outputs,
                            dtype=dtype, scale=scale)
    return held_splits(table, prepared, dtype, lazy=lazy), prepared.pre
