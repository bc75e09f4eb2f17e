"""The Table a data file is read into, and the checks every reader shares: labels, classes, finite values.

Left out on purpose: opening files (readers.py and the per-format modules), preprocessing.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..errors import DataError
from .messages import _error, _first_line, _list, _py, _show

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
    y_mapped: for a .npy file, the target column(s) as stored — a view of the memory map, (m,)
       for a classification, (m, k) for a regression — so that a lazy split reads its targets a
       chunk at a time (mapped.MappedTargets); else None.
    levels: a RAW table (read with data.categorical or data.missing: columns.ColumnRules): for each
       categorical feature column, its text by code — X holds the codes (float; NaN: an empty cell), and a
       numeric column NaN where a cell was empty. encoding.Encoding makes numbers of it; never trained on.
    dropped: the rows data.missing: drop left out. filled, unknown: of an encoded table, per row, whether
       a cell was filled (data.missing: mean), whether a category the model lacks became all zeros.
    encoding: of an encoded table, the encoding.Encoding that made X from the raw columns.
    The task follows from y's shape: 1-D labels are a classification, a 2-D y a regression.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    path: Path
    lines: Optional[Sequence[int]] = None
    y_mapped: Optional[np.ndarray] = None
    levels: Optional[dict[str, list[str]]] = None
    dropped: int = 0
    filled: Optional[np.ndarray] = None
    unknown: Optional[np.ndarray] = None
    encoding: Any = None



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
    # Only "at least two" matters: one comparison pass, where np.unique would sort (and import numpy.ma)
    if y.size and not (y != y[0]).any():
        raise _error(
            f"{path}: target column {_show(name)} has only one class ({_show(_py(y[0]))}): "
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



def _check_finite(path: Path, A: np.ndarray, what: str, first: int = 0) -> None:
    """DataError at the first NaN/infinity of a 2-D array; a memory map is read in chunks.
    first: the file row of A's row 0, for the message (A may be rows of a memory map)."""
    step = max(1, _CHUNK_BYTES // max(1, A.shape[1] * A.dtype.itemsize))
    for start in range(0, A.shape[0], step):
        block = np.asarray(A[start : start + step])
        if block.dtype.kind != "f":
            return  # integers and booleans are always finite
        bad = np.argwhere(~np.isfinite(block))
        if bad.size:
            i, j = int(bad[0][0]) + start, int(bad[0][1])
            raise _error(f"{path}: {what}[{first + i}, {j}] is {A[i, j]}: the data must be finite (no NaN or infinity)")


# ---- columns by name: data.target and data.features


def select_columns(
    path: Path, names: list[str], target: Optional[list[str]], features: Optional[list[str]], require_target: bool
) -> tuple[list[int], list[int]]:
    """The columns of X (in data.features' order, else the file's) and of y, as indices into names.

    target None: the last column. With require_target False and none of the target columns
    present, y's columns are [] (features only, to predict) and X takes every column, or
    data.features. names are distinct (the readers check).
    """
    present = set(names)
    target_names = [names[-1]] if target is None else target
    absent = [t for t in target_names if t not in present]
    if absent and (require_target or len(absent) != len(target_names)):
        raise _not_found(path, "target column", absent[0], names)
    target_cols = [] if absent else [names.index(t) for t in target_names]
    targets = {names[j] for j in target_cols}
    if features is None:
        feature_cols = [j for j, name in enumerate(names) if name not in targets]
        if not feature_cols:
            raise _error(f"{path}: no feature columns: every column ({_list(names)}) is a target")
        return feature_cols, target_cols
    for name in features:
        if name not in present:
            raise _not_found(path, "feature column", name, names)
        if name in targets:
            raise _error(
                f"{path}: column {_show(name)} is the target and also in data.features: leave it out of data.features"
            )
    return [names.index(f) for f in features], target_cols


def _not_found(path: Path, what: str, name: str, names: list[str], limit: int = 12) -> DataError:
    """'<what> NAME not found', the columns there are (the nearest first when they are many), and a
    'did you mean' when one is close."""
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {_show(close[0])}?" if close else ""
    if len(names) <= limit:
        return _error(f"{path}: {what} {_show(name)} not found (columns: {_list(names)}){hint}")
    # Many columns: the nearest names first (a stable sort keeps the file's order on ties), and the
    # last column, the usual target, always among those shown.
    nearest = sorted(names, key=lambda c: -difflib.SequenceMatcher(None, name, c).ratio())[: limit - 1]
    if names[-1] not in nearest:
        nearest.append(names[-1])
    shown = ", ".join(_show(c) for c in nearest)
    return _error(
        f"{path}: {what} {_show(name)} not found ({len(names)} columns, the nearest first: {shown}, "
        f"… {len(names) - len(nearest)} more; the last is {_show(names[-1])}){hint}"
    )


def as_rows(X: Any, what: str = "X") -> np.ndarray:
    """Examples given in Python (a numpy array, nested lists, a DataFrame) as float64 rows (m, n), checked
    as a file's are: 2-D, numbers, at least one row and one column, finite. One-line DataError naming
    `what` otherwise."""
    try:
        A = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _error(f"{what} must be numbers, one row per example ({_first_line(exc)})") from None
    if A.ndim != 2:
        hint = ": for one example write X.reshape(1, -1), for one feature X.reshape(-1, 1)" if A.ndim == 1 else ""
        raise _error(f"{what} must be 2-D, one row per example (got shape {A.shape}){hint}")
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise _error(f"{what} has no {'rows' if A.shape[0] == 0 else 'columns'} (shape {A.shape})")
    bad = np.argwhere(~np.isfinite(A))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise _error(f"{what}[{i}, {j}] is {A[i, j]}: the data must be finite (no NaN or infinity)")
    return A
