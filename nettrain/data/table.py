"""The Table a data file is read into, and the checks every reader shares: labels, classes, finite values.

Left out on purpose: opening files (readers.py and the per-format modules), preprocessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .messages import _error, _py, _show

TASKS = ("classification", "regression")
_CHUNK_BYTES = 1 << 24  # memory-mapped arrays are checked 16 MiB at a time

PathLike = Union[str, Path]


@dataclass
class Table:
    """A data file as read, one row per example.

    X: (m, n) features. float64, C-ordered — except from a .npy file, where X is a read-only
       memory-mapped view (an np.memmap) in the file's numeric dtype, so that data larger than
       RAM is not read at once.
    y: regression — (m, k) float64.
       classification — (m,) labels: int64 when every label is a whole number, float64 when
       they are numbers but not all whole, else str (numpy '<U'; cells stripped of spaces).
       read with require_target=False from a file without the target — (m, 0), no target_names.
    feature_names, target_names: column names (from a .npy file: column numbers, "0", "1", …;
       from a .npz file: its 'feature_names' / 'target_names' arrays when present, else "x0", …
       and "y" or "y0", …).
    lines: for a text file, the physical line (1-based) each row was read from; else None.
    The task follows from y's shape: 1-D labels are a classification, a 2-D y a regression.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    path: Path
    lines: Optional[list[int]] = None



def _labels_from_strings(cells: list[str]) -> tuple[np.ndarray, Optional[int]]:
    """Labels as numbers if every cell is one, else as stripped strings; and the first index of a
    cell that reads as NaN/infinity (a missing label), if any."""
    numbers = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        try:
            numbers[i] = float(cell)
        except ValueError:
            return np.array([c.strip() for c in cells], dtype=str), _first_nonfinite_label(cells)
    bad = np.flatnonzero(~np.isfinite(numbers))
    return _as_whole(numbers), (int(bad[0]) if bad.size else None)


def _first_nonfinite_label(cells: list[str]) -> Optional[int]:
    for i, cell in enumerate(cells):
        try:
            if not math.isfinite(float(cell)):
                return i
        except ValueError:
            pass
    return None


def _as_whole(values: np.ndarray) -> np.ndarray:
    """Float labels as int64 when every one is a whole number (and exactly representable)."""
    finite = np.isfinite(values)
    if finite.all() and np.all(values == np.round(values)) and np.all(np.abs(values) < 2**53):
        return values.astype(np.int64)
    return values



def _check_classes(path: Path, name: str, y: np.ndarray) -> None:
    classes = np.unique(y)
    if classes.size < 2:
        raise _error(
            f"{path}: target column {_show(name)} has only one class ({_show(_py(classes[0]))}): "
            "classification needs at least 2 (is data.target the right column, or is task regression?)"
        )



def _labels_from_array(path: Path, y: np.ndarray, what: str) -> np.ndarray:
    """Binary-file labels: numbers (whole floats → int64) or str; bytes are decoded as UTF-8."""
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind in "iu":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        y = np.asarray(y, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise _error(f"{path}: {what}[{bad[0]}] is {y[bad[0]]}: labels must be finite")
        return _as_whole(y)
    if y.dtype.kind == "U":
        return np.char.strip(y)
    if y.dtype.kind == "S":
        try:
            return np.char.strip(np.char.decode(y, "utf-8"))
        except UnicodeDecodeError:
            raise _error(f"{path}: {what} holds bytes that are not UTF-8 text") from None
    raise _error(f"{path}: labels {what} must be numbers or strings (got dtype {y.dtype})")



def _check_finite(path: Path, A: np.ndarray, what: str) -> None:
    """DataError at the first NaN/infinity of a 2-D array; a memory map is read in chunks."""
    step = max(1, _CHUNK_BYTES // max(1, A.shape[1] * A.dtype.itemsize))
    for start in range(0, A.shape[0], step):
        block = np.asarray(A[start : start + step])
        if block.dtype.kind != "f":
            return  # integers and booleans are always finite
        bad = np.argwhere(~np.isfinite(block))
        if bad.size:
            i, j = int(bad[0][0]) + start, int(bad[0][1])
            raise _error(f"{path}: {what}[{i}, {j}] is {A[i, j]}: the data must be finite (no NaN or infinity)")
