"""numpy files: .npz (arrays X, y and optional names) and .npy (one 2-D array, memory-mapped).

Left out on purpose: text formats, preprocessing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .messages import _error, _first_line, _list, _show
from .table import Table, _check_classes, _check_finite, _labels_from_array, _not_found

# ---- npz


def read_npz(path: Path, target: Optional[list[str]], features: Optional[list[str]], task: str, require_target: bool,
             check_classes: bool) -> Table:
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception:  # not a zip, a truncated zip, a pickle: all "not a valid .npz"
        raise _error(f"{path}: not a valid .npz file (expected a zip of arrays, as np.savez writes)") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _error(f"{path}: not a .npz archive (it holds a single array: save with np.savez(path, X=..., y=...))")
    with archive:
        found = list(archive.files)
        missing = [k for k in ("X", "y") if k not in found and (k == "X" or require_target)]
        if missing:
            raise _error(
                f"{path}: .npz must hold arrays 'X' and 'y'; missing {_list(missing)} "
                f"(found: {_list(found) or 'no arrays'})"
            )
        arrays = {k: _npz_array(path, archive, k) for k in found if k in ("X", "y", "feature_names", "target_names")}
    return table_of_arrays(path, arrays, target, features, task, require_target, check_classes)


def table_of_arrays(path: Path, arrays: dict, target: Optional[list[str]], features: Optional[list[str]], task: str,
                    require_target: bool, check_classes: bool) -> Table:
    """A Table from arrays X, y (and optionally feature_names, target_names), checked as a .npz file's
    are: what read_npz reads, and the arrays a Python caller hands over (nettrain.sklearn), alike."""
    X = arrays["X"]
    y = arrays.get("y", np.empty((X.shape[0] if X.ndim else 0, 0)))
    if X.ndim != 2 or X.shape[1] < 1:
        raise _error(f"{path}: X must be 2-D, one row per example (got shape {X.shape})")
    if X.dtype.kind not in "biuf":
        raise _error(f"{path}: X must be numeric (got dtype {X.dtype})")
    m, n = X.shape
    if m == 0:
        raise _error(f"{path}: X has no rows")
    if y.ndim not in (1, 2) or y.shape[0] != m:
        raise _error(f"{path}: y must have shape ({m},) or ({m}, k) to match X {X.shape} (got {y.shape})")
    feature_names = _npz_names(path, arrays.get("feature_names"), n, [f"x{j}" for j in range(n)], "feature_names")
    if features is not None:  # by the names the Table would show: the file's feature_names, or x0, x1, …
        for name in features:
            if name not in feature_names:
                raise _not_found(path, "feature column", name, feature_names)
        X = X[:, [feature_names.index(name) for name in features]]
        feature_names = list(features)
    X = np.ascontiguousarray(X, dtype=np.float64)
    _check_finite(path, X, "X")
    if "y" not in arrays:  # features only, to predict
        return Table(X, np.empty((m, 0)), feature_names, [], path)
    k = 1 if y.ndim == 1 else y.shape[1]
    default_targets = ["y"] if k == 1 else [f"y{j}" for j in range(k)]
    target_names = _npz_names(path, arrays.get("target_names"), k, default_targets, "target_names")
    if target is not None and target != target_names and require_target:
        raise _error(
            f"{path}: data.target {_list(target)} is not this .npz file's target {_list(target_names)} "
            "(the array 'y'): leave data.target unset for .npz files"
        )

    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise _error(f"{path}: y must be numeric for regression (got dtype {y.dtype})")
        y = np.ascontiguousarray(y.reshape(m, k), dtype=np.float64)
        _check_finite(path, y, "y")
    else:
        if k != 1:
            raise _error(
                f"{path}: classification takes one label per example: y must have shape ({m},) (got {y.shape})"
            )
        y = y.reshape(m)
        y = _labels_from_array(path, y, "y")
        if check_classes:
            _check_classes(path, target_names[0], y)
    return Table(X, y, feature_names, target_names, path)


def _npz_array(path: Path, archive: Any, key: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "object" in str(exc).lower():
            raise _error(
                f"{path}: array {_show(key)} holds Python objects (object dtype), which are not loaded: "
                "save numbers, or labels as a str array (np.asarray(labels, dtype=str))"
            ) from None
        raise _error(f"{path}: array {_show(key)} cannot be read ({_first_line(exc)})") from None
    except Exception as exc:
        raise _error(f"{path}: array {_show(key)} cannot be read ({type(exc).__name__}: {_first_line(exc)})") from None


def _npz_names(path: Path, names: Optional[np.ndarray], count: int, default: list[str], key: str) -> list[str]:
    if names is None:
        return default
    if names.ndim != 1 or names.shape[0] != count or names.dtype.kind not in "U":
        raise _error(f"{path}: {key} must be {count} strings (got dtype {names.dtype}, shape {names.shape})")
    return [str(s) for s in names]



# ---- npy


def read_npy(path: Path, target: Optional[list[str]], features: Optional[list[str]], task: str, require_target: bool,
             check_classes: bool, rows: Optional[tuple[int, int]] = None, scan_targets: bool = False) -> Table:
    """A .npy array as a Table whose X is a memory-mapped view; rows (start, stop): only those rows
    (a view of them: nothing else is read). scan_targets: y is left in the map too (y is y_mapped, as
    stored, neither converted nor checked), for a reader that scans it a block at a time (data.TableRows)."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    except Exception as exc:
        raise _error(f"{path}: not a valid .npy file ({type(exc).__name__}: {_first_line(exc)})") from None
    if dtype.hasobject:
        raise _error(
            f"{path}: the array holds Python objects (object dtype), which are not loaded: save a numeric array"
        )
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise _error(f"{path}: the array must be numeric (got dtype {dtype})")
    if len(shape) != 2:
        raise _error(f"{path}: the array must be 2-D, features then target column(s) (got shape {shape})")
    m, columns = shape
    if columns < 2:
        raise _error(f"{path}: the array needs at least 2 columns, features then target (got shape {shape})")
    if m == 0:
        raise _error(f"{path}: the array has no rows")

    target_cols = _npy_target_columns(path, target, columns)
    if task == "classification" and len(target_cols) != 1:
        raise _error(f"{path}: classification takes exactly one target column (got {len(target_cols)})")
    n = columns - len(target_cols)
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise _error(f"{path}: cannot map the .npy file ({type(exc).__name__}: {_first_line(exc)})") from None

    first, stop = _npy_feature_columns(path, features, columns, n)
    r0 = 0
    if rows is not None:
        r0 = min(max(0, rows[0]), m)
        data = data[r0 : max(r0, min(rows[1], m))]  # still a view of the map
    X = data[:, first:stop]  # a view: still an np.memmap, nothing read yet
    _check_finite(path, X, "X", r0)
    feature_names = [str(j) for j in range(first, stop)]
    target_names = [str(j) for j in target_cols]
    if scan_targets:
        y_mapped = data[:, n:] if task == "regression" else data[:, n]
        return Table(X, y_mapped, feature_names, target_names, path, y_mapped=y_mapped)
    if task == "regression":
        y_mapped = data[:, n:]
        y = np.array(y_mapped, dtype=np.float64)  # k columns: small beside X
        _check_finite(path, y, "y", r0)
    else:
        y_mapped = data[:, n]
        y = _labels_from_array(path, np.array(y_mapped), f"column {n}")
        if check_classes:
            _check_classes(path, target_names[0], y)
    return Table(X, y, feature_names, target_names, path, y_mapped=y_mapped)


def _npy_column(path: Path, what: str, name: Any, columns: int, example: str) -> int:
    """A .npy file's column named by number ('2', '-1'), checked to be one of its `columns`: the number as
    given (negative from the end; the caller takes it modulo columns)."""
    try:
        j = int(str(name).strip())
    except ValueError:
        raise _error(f"{path}: {what} {_show(name)}: a .npy file's columns are named by number, such as {example}"
                     ) from None
    if not -columns <= j < columns:
        raise _error(f"{path}: {what} column {j} is out of range: the array has {columns} columns")
    return j


def _npy_feature_columns(path: Path, features: Optional[list[str]], columns: int, n: int) -> tuple[int, int]:
    """data.features of a .npy file (column numbers as strings) as a range [first, stop) of columns."""
    if features is None:
        return 0, n
    cols = []
    for f in features:
        j = _npy_column(path, "feature", f, columns, "'0' for the first")
        if j % columns >= n:
            raise _error(f"{path}: column {j} is the target and also in data.features: leave it out of data.features")
        cols.append(j % columns)
    if cols != list(range(cols[0], cols[0] + len(cols))):
        raise _error(
            f"{path}: data.features of a .npy file must be adjacent columns in order, such as ['1', '2', '3'] "
            f"(got {_list(list(features))}), so that the features stay a memory-mapped view"
        )
    return cols[0], cols[0] + len(cols)


def _npy_target_columns(path: Path, target: Optional[list[str]], columns: int) -> list[int]:
    """Target columns of a .npy array: the last one(s), named by number ('-1' or its index)."""
    if target is None:
        return [columns - 1]
    cols = []
    for t in target:
        cols.append(_npy_column(path, "target", t, columns, "'-1' for the last") % columns)
    cols = sorted(set(cols))
    if len(cols) != len(target) or cols != list(range(columns - len(cols), columns)):
        raise _error(
            f"{path}: the target of a .npy file must be its last column(s) (got {_list(list(target))}), "
            "so that the features stay a memory-mapped view"
        )
    return cols


def array_rows(path: Path) -> int:
    """The rows of a .npy array, or of a .npz file's X, from the array's header (no data is read)."""
    try:
        if path.suffix.lower() == ".npy":
            with open(path, "rb") as fh:
                shape = _header(fh)
        else:
            with zipfile.ZipFile(path) as archive, archive.open("X.npy") as fh:
                shape = _header(fh)
    except Exception as exc:
        raise _error(f"{path}: cannot read the array's header ({type(exc).__name__}: {_first_line(exc)})") from None
    if len(shape) != 2:
        raise _error(f"{path}: the array must be 2-D, one row per example (got shape {shape})")
    return int(shape[0])


def _header(fh: Any) -> tuple:
    version = np.lib.format.read_magic(fh)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read(fh)[0]
