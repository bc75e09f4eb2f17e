"""read_table: a data file of any supported kind into a Table, or a one-line DataError; and
read_rows / row_count, the same for a range of rows, for a reader that takes only its own part.

Left out on purpose: the formats' details (text.py, arrays.py, parquet.py), preprocessing and
splitting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from .arrays import _npz_array, _npz_names, array_rows, read_npy, read_npz
from .columns import ColumnRules
from .messages import _error, _first_line, _list, _show
from .table import TASKS, PathLike, Table, _check_finite
from .parquet import parquet_rows, read_parquet
from .text import TEXT_SUFFIXES, read_text, read_text_rows, text_rows

def read_table(
    path: PathLike,
    target: Optional[list[str]] = None,
    delimiter: Optional[str] = None,
    task: str = "classification",
    require_target: bool = True,
    one_class: bool = False,
    features: Optional[list[str]] = None,
    *,
    rules: Optional[ColumnRules] = None,
) -> Table:
    """Read a .csv/.txt/.tsv, .npz, .npy or .parquet file into a Table; any problem is a one-line DataError.

    target: csv or parquet column names (None: the last column); for .npy, column numbers as strings
    ("-1" is the last); for .npz, None or the file's own target names (the target is the array
    'y'). Classification takes
    exactly one target column; regression may take several.
    delimiter: None detects ',', tab or ';' from the header line.
    require_target=False (for predicting): a csv without any of the named target columns, or a
    .npz without 'y', is read as features only, with y of shape (m, 0) and no target_names; a
    target that is present is read and checked as usual, except that a single class is allowed.
    With target None the last column is still taken as the target, and a .npy file always has one.
    one_class=True (for evaluating a trained model, whose labels come from its checkpoint): a
    classification target with a single class is allowed.
    features: the columns of X, in this order (None: every column but the target), named as
    target is: a csv's header names, a .npz file's feature_names (default "x0", "x1", …), a .npy
    file's column numbers as strings — there a contiguous run of columns, so that X stays a
    memory-mapped view. A column left out (an ID, a text column) is not read as a number.
    rules: data.categorical and data.missing (columns.ColumnRules); other than the plain ones, a csv or
    parquet file is read as a raw table (Table.levels set: categorical columns as codes, empty cells NaN or
    their rows dropped), for encoding.Encoding to make numbers of. A .npz or .npy file holds numbers only.
    """
    path = Path(path)
    if task not in TASKS:
        raise _error(f"{path}: task must be one of {', '.join(TASKS)} (got {_show(task)})")
    target = _names(path, "target", target)
    features = _names(path, "features", features)
    if task == "classification" and target is not None and len(target) != 1:
        raise _error(
            f"{path}: classification takes exactly one target column (got {len(target)}: {_list(target)}); "
            "use task regression for several"
        )
    kind = _checked_kind(path)
    check_classes = require_target and not one_class  # at least 2 classes
    rules = ColumnRules() if rules is None else rules
    if kind == ".parquet":
        return read_parquet(path, target, features, task, require_target, check_classes, rules=rules)
    if kind in (".npz", ".npy") and rules.categorical is not None:
        raise _error(f"{path}: data.categorical needs a .csv or .parquet file: a {kind} file holds numbers only "
                     "(encode the categories before saving it, or save a .csv)")
    if kind == ".npz":
        return read_npz(path, target, features, task, require_target, check_classes)
    if kind == ".npy":
        return read_npy(path, target, features, task, require_target, check_classes)
    return read_text(path, target, features, delimiter, task, require_target, check_classes, rules)


def read_rows(
    path: PathLike,
    start: int,
    stop: int,
    target: Optional[list[str]] = None,
    features: Optional[list[str]] = None,
    delimiter: Optional[str] = None,
    task: str = "classification",
) -> Table:
    """Rows start…stop−1 of a data file: the same X and y as read_table(path, …)'s rows
    start…stop−1 (rows past the end are left out), without reading the rest of the file where
    the format allows it — so that each worker of a cluster reads only its own rows:

        .parquet   the row groups that hold the rows (pyarrow.parquet.ParquetFile)
        .npy       a view of the memory map: only those rows are ever read
        .csv …     pandas skips to row start (after a scan of the bytes before it) and reads
                   stop − start rows; a file with quotes before row start is read whole and cut
        .npz       read whole and cut (a zip member is read whole)

    The label set is the rows' own (a range may hold one class: allowed); a label column's type
    (int64, float64 or str) is the range's, which may differ from the whole file's where some
    rows hold numbers and others text.
    """
    path = Path(path)
    if start < 0 or stop < start:
        raise _error(f"{path}: rows {start}…{stop} are not a range of rows (0 ≤ start ≤ stop)")
    if task not in TASKS:
        raise _error(f"{path}: task must be one of {', '.join(TASKS)} (got {_show(task)})")
    target, features = _names(path, "target", target), _names(path, "features", features)
    kind = _checked_kind(path)
    if kind == ".parquet":
        return read_parquet(path, target, features, task, True, False, rows=(start, stop))
    if kind == ".npy":
        return read_npy(path, target, features, task, True, False, rows=(start, stop))
    if kind == ".npz":
        t = read_npz(path, target, features, task, True, False)
        return Table(t.X[start:stop], t.y[start:stop], t.feature_names, t.target_names, t.path)
    return read_text_rows(path, start, stop, target, features, delimiter, task)


def row_count(path: PathLike, delimiter: Optional[str] = None) -> int:
    """The number of rows read_table would read from a file, found cheaply: a .parquet file's
    footer, a .npy or .npz array's header, a scan of a text file's lines (no parsing)."""
    path = Path(path)
    kind = _checked_kind(path)
    if kind == ".parquet":
        return parquet_rows(path)
    if kind in (".npy", ".npz"):
        return array_rows(path)
    return text_rows(path, delimiter)


def _checked_kind(path: Path) -> str:
    _check_file(path)
    kind = file_kind(path)
    if kind not in ("text", ".npz", ".npy", ".parquet"):
        raise _error(f"{path}: unknown file type {_show(path.suffix)}: use .csv, .tsv, .txt, .npz, .npy or .parquet")
    return kind


def _names(path: Path, key: str, names: Optional[list[str]]) -> Optional[list[str]]:
    """data.target or data.features as a list of distinct strings (one name: a list of one)."""
    if names is None:
        return None
    if isinstance(names, str):
        names = [names]
    names = [str(t) for t in names]
    if not names:
        raise _error(f"{path}: data.{key} is an empty list: name at least one column, or leave it unset")
    if len(set(names)) != len(names):
        raise _error(f"{path}: data.{key} names a column twice ({_list(names)})")
    return names


def file_kind(path: PathLike) -> str:
    """How read_table reads a file: "text" (.csv, .tsv, .txt), ".npz", ".npy", ".parquet", or the unknown suffix."""
    suffix = Path(path).suffix.lower()
    return "text" if suffix in TEXT_SUFFIXES else suffix


def _check_file(path: Path) -> None:
    if not path.exists():
        raise _error(f"{path}: file not found")
    if path.is_dir():
        raise _error(f"{path}: is a folder, not a data file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _error(f"{path}: cannot read file ({exc.strerror or exc})") from None
    if size == 0:
        raise _error(f"{path}: file is empty")


def read_inputs(path: PathLike, exclude: Optional[list[str]] = None, delimiter: Optional[str] = None,
                features: Optional[list[str]] = None) -> Table:
    """A file's inputs alone, for task autoencode, whose target is the input itself: Table(X, X, names, names).

    csv, parquet: every column (or data.features) but those named in `exclude` (a label column the
    file carries: read as a label, never as an input); .npz: the array 'X' ('y', if present, is not
    read); .npy: every column but the last len(exclude) (named by number, as data.target names them),
    as a memory map. Problems are one-line DataErrors.
    """
    path = Path(path)
    exclude = _names(path, "target", exclude) or []
    features = _names(path, "features", features)
    kind = _checked_kind(path)
    if kind == ".npz":
        try:
            archive = np.load(path, allow_pickle=False)
        except Exception:
            raise _error(f"{path}: not a valid .npz file (expected a zip of arrays, as np.savez writes)") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise _error(f"{path}: not a .npz archive (it holds a single array: save with np.savez(path, X=...))")
        with archive:
            if "X" not in archive.files:
                raise _error(f"{path}: .npz must hold an array 'X' (found: {_list(list(archive.files)) or 'no arrays'})")
            X = _npz_array(path, archive, "X")
            names = _npz_array(path, archive, "feature_names") if "feature_names" in archive.files else None
        if X.ndim != 2 or X.shape[1] < 1 or X.shape[0] < 1 or X.dtype.kind not in "biuf":
            raise _error(f"{path}: X must be a 2-D numeric array with one row per example (got {X.dtype} {X.shape})")
        X = np.ascontiguousarray(X, dtype=np.float64)
        _check_finite(path, X, "X")
        feature_names = _npz_names(path, names, X.shape[1], [f"x{j}" for j in range(X.shape[1])], "feature_names")
        return Table(X, X, feature_names, feature_names, path)
    if kind == ".npy" and not exclude and features is None:
        try:
            X = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:
            raise _error(f"{path}: not a valid .npy file ({type(exc).__name__}: {_first_line(exc)})") from None
        if X.ndim != 2 or X.shape[0] < 1 or X.dtype.kind not in "biuf":
            raise _error(f"{path}: the array must be 2-D and numeric, one row per example (got {X.dtype} {X.shape})")
        _check_finite(path, X, "X")
        names = [str(j) for j in range(X.shape[1])]
        return Table(X, X, names, names, path)
    task = "classification" if len(exclude) == 1 else "regression"  # a label column: any labels
    if kind == ".npy":
        t = read_npy(path, exclude, features, "regression", True, False)
    elif kind == ".parquet":
        t = read_parquet(path, exclude, features, task, False, False)
    else:
        t = read_text(path, exclude, features, delimiter, task, False, False)
    return Table(t.X, t.X, t.feature_names, t.feature_names, path, t.lines)
