"""The seeded split into train / val / test, and prepare: split, standardise, encode.

Left out on purpose: reading files; what the statistics and encodings mean (preprocess.py).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .mapped import MappedRows
from .messages import _error, _list, _py, _show
from .preprocess import Preprocessing
from .table import Table

def split_indices(m: int, train: float, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
    """Row indices of each split, from one seeded shuffle.

    n_val = round(val·m), n_test = round(test·m), train gets the rest (at least 1). The shuffle
    is np.random.default_rng(seed).permutation(m): train = the first n_train, then val, then test.
    Each split's indices are returned sorted (membership is what the shuffle decides; sorted
    rows read a memory-mapped file front to back).
    """
    fractions = {"train": train, "val": val, "test": test}
    for name, f in fractions.items():
        if not isinstance(f, (int, float)) or isinstance(f, bool) or not (0.0 <= f <= 1.0):
            raise _error(f"data.split.{name} must be a fraction between 0 and 1 (got {_show(f)})")
    if abs(train + val + test - 1.0) > 1e-6:
        raise _error(
            f"data.split fractions must add up to 1 (train {train} + val {val} + test {test} = {train + val + test:g})"
        )
    if m < 1:
        raise _error("the dataset has no examples")
    n_val, n_test = int(round(val * m)), int(round(test * m))
    n_train = m - n_val - n_test
    if n_train < 1:
        raise _error(
            f"the train split would be empty: {m} examples, {n_val} for val and {n_test} for test; "
            "lower data.split.val / data.split.test"
        )
    perm = np.random.default_rng(seed).permutation(m)
    return {
        "train": np.sort(perm[:n_train]),
        "val": np.sort(perm[n_train : n_train + n_val]),
        "test": np.sort(perm[n_train + n_val :]),
    }



STATS_ROWS = 65536  # rows of X read at a time for the standardisation statistics


def feature_stats(X: Any, rows: np.ndarray, chunk: int = STATS_ROWS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(μ, σ, constant) per feature over X's `rows`, read STATS_ROWS rows at a time (a memory-mapped X is
    never copied whole), in float64, in two passes: μ = Σ x / m, then σ = √(Σ (x − μ)² / m) (the
    population standard deviation, as np.std; the second pass keeps it accurate when |μ| ≫ σ);
    constant: max = min exactly. The sums are additive over chunks, taken in row order: with one chunk
    they are np.mean's and np.std's own bits."""
    m = len(rows)
    total = None
    lo = hi = None
    for s in range(0, m, chunk):
        block = np.asarray(X[rows[s : s + chunk]])
        part = np.add.reduce(block, axis=0, dtype=np.float64)
        total = part if total is None else total + part
        bmin, bmax = block.min(axis=0), block.max(axis=0)
        lo = bmin if lo is None else np.minimum(lo, bmin)
        hi = bmax if hi is None else np.maximum(hi, bmax)
    mu = total / m
    ss = None
    for s in range(0, m, chunk):
        d = np.subtract(np.asarray(X[rows[s : s + chunk]]), mu, dtype=np.float64)
        np.multiply(d, d, out=d)
        part = np.add.reduce(d, axis=0)
        ss = part if ss is None else ss + part
    return mu, np.sqrt(ss / m), lo == hi


def prepare(
    table: Table,
    split: dict[str, float],
    standardize: bool,
    seed: int,
    n_outputs: Optional[int] = None,
    dtype: Any = np.float64,
    lazy: bool = False,
    lazy_targets: bool = False,
    scale: Optional[tuple[float, float]] = None,
) -> tuple[dict[str, tuple[Any, Any]], Preprocessing]:
    """Split the table, standardise X with train statistics and encode Y.

    lazy (for training): a memory-mapped X's train split is returned as MappedRows, read a chunk
    at a time while training, instead of being copied (the other splits are copied as usual).
    lazy_targets (with lazy): that split's Y is not encoded either: its slot holds the column
    source MappedRows.targets() — y (s_nl, m_split), read a chunk at a time — so that memory
    beyond the mapped file is bounded by the chunk, not by m.

    Returns ({"train": (X, Y), "val": ..., "test": ...}, Preprocessing); empty splits are left
    out. X is (m_split, n), Y is (m_split, n_outputs), both of dtype. The label set is the sorted
    labels of the WHOLE table, so every split encodes alike. n_outputs (the model's output width)
    picks the binary encoding for 2 classes when it is 1, and must match the data otherwise.
    """
    X, y, path = table.X, table.y, table.path
    m = int(X.shape[0])
    val = float(split.get("val", 0.0))
    test = float(split.get("test", 0.0))
    train = float(split.get("train", 1.0 - val - test))
    idx = split_indices(m, train, val, test, seed)
    task = "regression" if y.ndim == 2 else "classification"
    if y.shape[0] != m:
        raise _error(f"{path}: {m} rows of features but {y.shape[0]} targets")

    labels: Optional[list] = None
    binary = False
    if task == "classification":
        labels = [_py(v) for v in np.unique(y)]
        if len(labels) < 2:
            only = _show(labels[0]) if labels else "none"
            raise _error(f"{path}: the target has only one class ({only}): classification needs at least 2")
        binary = len(labels) == 2 and n_outputs == 1
        width = 1 if binary else len(labels)
        if n_outputs is not None and n_outputs != width:
            raise _error(
                f"{path}: the model has {n_outputs} outputs but the data has {len(labels)} classes "
                f"({_list(labels)}): set the last layer to {len(labels)}"
                + (" (or 1 for a 0/1 output)" if len(labels) == 2 else "")
            )
    else:
        k = y.shape[1]
        if n_outputs is not None and n_outputs != k:
            raise _error(
                f"{path}: the model has {n_outputs} outputs but the data has {k} target column(s) "
                f"({_list(table.target_names)}): set the last layer to {k}"
            )

    mean = std = None
    if scale is not None:  # data.scale: x̂ = (x − min)/(max − min), stored as the same μ, σ a standardisation keeps
        lo, hi = float(scale[0]), float(scale[1])
        n = int(X.shape[1])
        mean, std = [lo] * n, [hi - lo] * n
    elif standardize:
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # overflow is checked below
            mu, sigma, constant = feature_stats(X, idx["train"])
        # A constant feature (max = min exactly; its computed σ can be ~1e-17, not 0) gets σ = 1,
        # as does a σ that underflows to 0 (differences of subnormal numbers).
        sigma[constant | (sigma == 0)] = 1.0
        bad = np.flatnonzero(~(np.isfinite(mu) & np.isfinite(sigma)))
        if bad.size:
            name = table.feature_names[bad[0]] if bad[0] < len(table.feature_names) else str(bad[0])
            raise _error(
                f"{path}: feature {_show(name)} is too large to standardise (its mean or spread overflows float64): "
                "rescale that column"
            )
        mean, std = [float(v) for v in mu], [float(v) for v in sigma]

    pre = Preprocessing(task, list(table.feature_names), list(table.target_names), mean, std, labels, binary)
    splits = {}
    for name in ("train", "val", "test"):
        rows = idx[name]
        if rows.size and lazy and name == "train" and isinstance(X, np.memmap):
            raw = table.y_mapped if table.y_mapped is not None else y
            mapped = MappedRows(X, rows, pre, dtype, raw)
            splits[name] = (mapped, mapped.targets() if lazy_targets else pre.encode_y(y[rows], path, dtype))
        elif rows.size:
            splits[name] = (pre.transform_x(X[rows], dtype), pre.encode_y(y[rows], path, dtype))
    return splits, pre
