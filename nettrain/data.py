"""Datasets: reading csv / npz / npy files, targets, one-hot labels, standardisation, the seeded split.

This module is the one home of data reading and preprocessing. Here a dataset is held one ROW
per example, X of shape (m, n), as files hold it; the trainer transposes once to the tutorial's
one-column-per-example layout.

    read_table(path)            a file as read: Table(X, y, names) — or DataError, one line
    as_rows(X)                  rows given in Python (arrays, lists), checked as a file's rows are
    split_indices(m, ...)       seeded shuffle into train / val / test index arrays
    prepare(table, ...)         split, standardise with train statistics, encode targets
    Preprocessing               what it takes to treat new data exactly as the training data:
                                mean, std, label set; stored in checkpoints via to_meta()

Standardisation, per feature j, with μ and σ from the TRAIN split only (σ is the population
standard deviation; a constant feature gets σ = 1 so that it becomes 0, not a division by 0):

    x̂ⱼ = (xⱼ − μⱼ) / σⱼ

Left out on purpose: no terminal output, no config parsing, no network code. Every problem with
the input is a DataError whose message is one line naming the file and, where there is one, the
line (1-based; the header is line 1) and the column.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from .errors import DataError

TASKS = ("classification", "regression")  # read_table's; task autoencode reads with read_inputs
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
DELIMITERS = (",", "\t", ";")  # auto-detected; on a tie the earlier one wins
_DELIMITER_NAMES = {",": "','", "\t": "tab", ";": "';'"}
_CHUNK_BYTES = 1 << 24  # memory-mapped arrays are checked 16 MiB at a time

PathLike = Union[str, Path]


# --------------------------------------------------------------------------------------------
# messages


def _show(value: Any, limit: int = 40) -> str:
    """A cell, label or name quoted for a one-line message: repr (newlines escaped), truncated."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def _list(values: Sequence[Any], limit: int = 12) -> str:
    shown = ", ".join(_show(v) for v in values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


def _error(message: str) -> DataError:
    """A DataError whose message is guaranteed to be a single line."""
    return DataError(message.replace("\r", "\\r").replace("\n", "\\n"))


# --------------------------------------------------------------------------------------------
# Table and read_table


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


def read_table(
    path: PathLike,
    target: Optional[list[str]] = None,
    delimiter: Optional[str] = None,
    task: str = "classification",
    require_target: bool = True,
    one_class: bool = False,
) -> Table:
    """Read a .csv/.txt/.tsv, .npz or .npy file into a Table; any problem is a one-line DataError.

    target: csv column names (None: the last column); for .npy, column numbers as strings
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
    """
    path = Path(path)
    if task not in TASKS:
        raise _error(f"{path}: task must be one of {', '.join(TASKS)} (got {_show(task)})")
    if target is not None:
        if isinstance(target, str):
            target = [target]
        target = [str(t) for t in target]
        if not target:
            raise _error(f"{path}: data.target is an empty list: name at least one column, or leave it unset")
        if len(set(target)) != len(target):
            raise _error(f"{path}: data.target names a column twice ({_list(target)})")
    if task == "classification" and target is not None and len(target) != 1:
        raise _error(
            f"{path}: classification takes exactly one target column (got {len(target)}: {_list(target)}); "
            "use task regression for several"
        )
    _check_file(path)
    kind = file_kind(path)
    if kind not in ("text", ".npz", ".npy"):
        raise _error(f"{path}: unknown file type {_show(path.suffix)}: use .csv, .tsv, .txt, .npz or .npy")
    check_classes = require_target and not one_class  # at least 2 classes
    if kind == ".npz":
        return _read_npz(path, target, task, require_target, check_classes)
    if kind == ".npy":
        return _read_npy(path, target, task, require_target, check_classes)
    return _read_text(path, target, delimiter, task, require_target, check_classes)


def file_kind(path: PathLike) -> str:
    """How read_table reads a file: "text" (.csv, .tsv, .txt), ".npz", ".npy", or the unknown suffix."""
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


# ---- text files


def _read_text(
    path: Path, target: Optional[list[str]], delimiter: Optional[str], task: str, require_target: bool,
    check_classes: bool,
) -> Table:
    text = _read_utf8(path)
    delimiter = _resolve_delimiter(path, text, delimiter)
    header, header_line, rows, lines = _parse_rows(path, text, delimiter)

    # the columns: names, the target, the features
    names = [h.strip() for h in header]
    for j, name in enumerate(names):
        if not name:
            raise _error(f"{path}:{header_line}: column {j + 1} has no name in the header: every column needs one")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _error(f"{path}:{header_line}: column {_show(name)} appears twice in the header")
        seen.add(name)
    target_names = [names[-1]] if target is None else target
    absent = [t for t in target_names if t not in seen]
    if absent and len(absent) == len(target_names) and not require_target:  # features only, to predict
        X = _numeric_columns(path, rows, lines, names, list(range(len(names))), delimiter)
        return Table(X, np.empty((len(rows), 0)), names, [], path)
    if absent:
        close = difflib.get_close_matches(absent[0], names, n=1)
        hint = f"; did you mean {_show(close[0])}?" if close else ""
        raise _error(f"{path}: target column {_show(absent[0])} not found (columns: {_list(names)}){hint}")
    target_set = set(target_names)
    feature_cols = [j for j, name in enumerate(names) if name not in target_set]
    if not feature_cols:
        raise _error(f"{path}: no feature columns: every column ({_list(names)}) is a target")
    target_cols = [names.index(t) for t in target_names]

    X = _numeric_columns(path, rows, lines, names, feature_cols, delimiter)
    if task == "regression":
        y = _numeric_columns(path, rows, lines, names, target_cols, delimiter)
    else:
        y = _label_column(path, rows, lines, names[target_cols[0]], target_cols[0], check_classes)
    return Table(X, y, [names[j] for j in feature_cols], list(target_names), path, lines)


def _read_utf8(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _error(f"{path}: cannot read file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is dropped
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _error(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}): save the file as UTF-8"
        ) from None
    if not text.strip():
        raise _error(f"{path}: file is empty")
    return text


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def _header_line(text: str) -> tuple[str, int]:
    """The first non-blank physical line and its number."""
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if line.strip():
            return line, number
    return "", 1


def _resolve_delimiter(path: Path, text: str, delimiter: Optional[str]) -> str:
    """The given delimiter (checked), or the most frequent of ',', tab, ';' in the header line."""
    header, line = _header_line(text)
    counts = {d: _count_outside_quotes(header, d) for d in DELIMITERS}
    if delimiter is None:
        best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first on a tie
        return best if counts[best] else ","
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise _error(f"{path}: data.delimiter must be one character such as ',', ';' or '\\t' (got {_show(delimiter)})")
    if _count_outside_quotes(header, delimiter) == 0:
        others = [d for d in DELIMITERS if d != delimiter and counts[d]]
        if others:
            d = max(others, key=lambda d: counts[d])
            raise _error(
                f"{path}:{line}: the header has no {_DELIMITER_NAMES.get(delimiter, _show(delimiter))} but "
                f"{counts[d]} {_DELIMITER_NAMES[d]}: the file looks {_DELIMITER_NAMES[d]}-separated; "
                f"set data.delimiter to {_show(d)} (or leave it unset to detect it)"
            )
    return delimiter


def _parse_rows(path: Path, text: str, delimiter: str) -> tuple[list[str], int, list[list[str]], list[int]]:
    """Header, its line, the data rows and the line each row starts on. Blank rows are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: Optional[list[str]] = None
    header_line = 1
    rows: list[list[str]] = []
    lines: list[int] = []
    end = 0  # the last physical line read so far
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # a blank line, or a row of empty cells only (",,,", as spreadsheets export)
            if header is None:
                header, header_line = row, start
                continue
            if len(row) != len(header):
                raise _error(f"{path}:{start}: row has {len(row)} cells, header has {len(header)}")
            rows.append(row)
            lines.append(start)
    except csv.Error as exc:
        raise _error(f"{path}:{max(1, reader.line_num)}: cannot parse the csv ({exc})") from None
    if header is None:
        raise _error(f"{path}: file is empty")
    if not rows:
        raise _error(f"{path}: no data rows, only a header (line {header_line})")
    return header, header_line, rows, lines


def _cell_problem(cell: str, delimiter: str) -> Optional[str]:
    """Why a cell is not a finite number, or None if it is one."""
    if not cell.strip():
        return "is empty (a missing value): fill it in or drop the row"
    try:
        value = float(cell)
    except ValueError:
        hint = ""
        if "," in cell and delimiter != ",":
            try:
                float(cell.replace(",", "."))
                hint = " (decimal commas are not read: write '.')"
            except ValueError:
                pass
        return f"{_show(cell.strip())} is not a number{hint}"
    if not math.isfinite(value):
        return f"{_show(cell.strip())} is not a finite number (NaN and infinity are not allowed)"
    return None


def _numeric_columns(
    path: Path, rows: list[list[str]], lines: list[int], names: list[str], cols: list[int], delimiter: str
) -> np.ndarray:
    """The given columns as an (m, len(cols)) float64 array, or a DataError at the first bad cell."""
    m = len(rows)
    out = np.empty((m, len(cols)), dtype=np.float64)
    for k, j in enumerate(cols):
        try:
            out[:, k] = np.fromiter((float(row[j]) for row in rows), dtype=np.float64, count=m)
            ok = bool(np.isfinite(out[:, k]).all())
        except ValueError:
            ok = False
        if ok:
            continue
        # Slow path: report the first bad cell in file order (earliest row, then leftmost column).
        for i, row in enumerate(rows):
            for j2 in cols:
                problem = _cell_problem(row[j2], delimiter)
                if problem:
                    raise _error(f"{path}:{lines[i]}: column {_show(names[j2])}: {problem}")
        raise _error(f"{path}: column {_show(names[j])} could not be read as numbers")  # not reached
    return out


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


def _label_column(
    path: Path, rows: list[list[str]], lines: list[int], name: str, col: int, check_classes: bool = True
) -> np.ndarray:
    cells = [row[col] for row in rows]
    for i, cell in enumerate(cells):
        if not cell.strip():
            raise _error(
                f"{path}:{lines[i]}: column {_show(name)}: label is empty (a missing value): fill it in or drop the row"
            )
    y, bad = _labels_from_strings(cells)
    if bad is not None:
        label = _show(cells[bad].strip())
        raise _error(f"{path}:{lines[bad]}: column {_show(name)}: label {label} is a missing value (NaN/infinity)")
    if check_classes:
        _check_classes(path, name, y)
    return y


def _check_classes(path: Path, name: str, y: np.ndarray) -> None:
    classes = np.unique(y)
    if classes.size < 2:
        raise _error(
            f"{path}: target column {_show(name)} has only one class ({_show(_py(classes[0]))}): "
            "classification needs at least 2 (is data.target the right column, or is task regression?)"
        )


# ---- npz


def _read_npz(path: Path, target: Optional[list[str]], task: str, require_target: bool,
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
    X = np.ascontiguousarray(X, dtype=np.float64)
    _check_finite(path, X, "X")

    feature_names = _npz_names(path, arrays.get("feature_names"), n, [f"x{j}" for j in range(n)], "feature_names")
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


# ---- npy


def _read_npy(path: Path, target: Optional[list[str]], task: str, require_target: bool,
              check_classes: bool) -> Table:
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

    X = data[:, :n]  # a view: still an np.memmap, nothing read yet
    _check_finite(path, X, "X")
    feature_names = [str(j) for j in range(n)]
    target_names = [str(j) for j in target_cols]
    if task == "regression":
        y = np.array(data[:, n:], dtype=np.float64)  # k columns: small beside X
        _check_finite(path, y, "y")
    else:
        y = _labels_from_array(path, np.array(data[:, n]), f"column {n}")
        if check_classes:
            _check_classes(path, target_names[0], y)
    return Table(X, y, feature_names, target_names, path)


def _npy_target_columns(path: Path, target: Optional[list[str]], columns: int) -> list[int]:
    """Target columns of a .npy array: the last one(s), named by number ('-1' or its index)."""
    if target is None:
        return [columns - 1]
    cols = []
    for t in target:
        try:
            j = int(str(t).strip())
        except ValueError:
            raise _error(
                f"{path}: target {_show(t)}: a .npy file's columns are named by number, such as '-1' for the last"
            ) from None
        if not -columns <= j < columns:
            raise _error(f"{path}: target column {j} is out of range: the array has {columns} columns")
        cols.append(j % columns)
    cols = sorted(set(cols))
    if len(cols) != len(target) or cols != list(range(columns - len(cols), columns)):
        raise _error(
            f"{path}: the target of a .npy file must be its last column(s) (got {_list(list(target))}), "
            "so that the features stay a memory-mapped view"
        )
    return cols


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else "no detail"


# --------------------------------------------------------------------------------------------
# Preprocessing


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value JSON writes exactly (int, float or str)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


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


# --------------------------------------------------------------------------------------------
# split and prepare


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


class MappedRows:
    """Rows `rows` of a memory-mapped X, transformed as Preprocessing.transform_x would — but only
    a chunk at a time, when read. The training split of a .npy file larger than RAM stays on disk.

    shape is (m_split, n), as the array it stands for. columns() gives the transposed view the
    math core trains on: x (n, m_split) with .shape and .read(start, stop, out), which writes
    x̂ columns start…stop−1 into out (n, stop − start) — the same numbers transform_x gives.
    """

    def __init__(self, X: np.ndarray, rows: np.ndarray, pre: "Preprocessing", dtype: Any) -> None:
        self.X, self.rows, self.pre, self.dtype = X, np.asarray(rows), pre, np.dtype(dtype)
        self.shape = (len(self.rows), X.shape[1])
        self._range = bool(len(self.rows)) and int(self.rows[-1]) - int(self.rows[0]) + 1 == len(self.rows)
        if pre.mean is not None:
            self._mu, self._sigma = np.asarray(pre.mean), np.asarray(pre.std)

    def __len__(self) -> int:
        return self.shape[0]

    def columns(self) -> "_MappedColumns":
        return _MappedColumns(self)

    def read_rows(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """x̂ of rows start…stop−1 of the split, written into out (stop − start, n) (or a view of it)."""
        r0 = int(self.rows[0]) if self._range else 0
        block = self.X[r0 + start : r0 + stop] if self._range else self.X[self.rows[start:stop]]
        if self.pre.mean is None:
            np.copyto(out, block, casting="unsafe")  # as transform_x: a cast copy
        else:  # as transform_x: (x − μ)/σ in float64, then cast
            t = np.subtract(np.asarray(block, dtype=np.float64), self._mu)
            np.copyto(out, np.divide(t, self._sigma, out=t), casting="unsafe")
        return out


class _MappedColumns:
    """MappedRows seen as columns, x (n, m), read chunk by chunk (see MappedRows)."""

    def __init__(self, rows: MappedRows) -> None:
        self.rows, self.dtype = rows, rows.dtype
        self.shape = (rows.shape[1], rows.shape[0])

    def read(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        self.rows.read_rows(start, stop, out.T)  # out (n, w) C-ordered: its transpose is (w, n)
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        """x[:, a:b]: those columns as an array (so code that slices x still works)."""
        rows, cols = key if isinstance(key, tuple) else (slice(None), key)
        start, stop, step = cols.indices(self.shape[1]) if isinstance(cols, slice) else (cols, cols + 1, 1)
        if step != 1:
            raise IndexError("a column source reads contiguous columns only")
        out = np.empty((self.shape[0], max(0, stop - start)), self.dtype)
        return self.read(start, stop, out)[rows]


def prepare(
    table: Table,
    split: dict[str, float],
    standardize: bool,
    seed: int,
    n_outputs: Optional[int] = None,
    dtype: Any = np.float64,
    lazy: bool = False,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], Preprocessing]:
    """Split the table, standardise X with train statistics and encode Y.

    lazy (for training): a memory-mapped X's train split is returned as MappedRows, read a chunk
    at a time while training, instead of being copied (the other splits are copied as usual).

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
    if standardize:
        X_train = X[idx["train"]]
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # overflow is checked below
            mu = np.mean(X_train, axis=0, dtype=np.float64)
            sigma = np.std(X_train, axis=0, dtype=np.float64)
        # A constant feature (max = min exactly; its computed σ can be ~1e-17, not 0) gets σ = 1,
        # as does a σ that underflows to 0 (differences of subnormal numbers).
        constant = np.max(X_train, axis=0) == np.min(X_train, axis=0)
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
            splits[name] = (MappedRows(X, rows, pre, dtype), pre.encode_y(y[rows], path, dtype))
        elif rows.size:
            splits[name] = (pre.transform_x(X[rows], dtype), pre.encode_y(y[rows], path, dtype))
    return splits, pre


# --------------------------------------------------------------------------------------------
# inputs only: the autoencoder's data (y = x)


def read_inputs(path: PathLike, exclude: Optional[list[str]] = None, delimiter: Optional[str] = None) -> Table:
    """A file's inputs alone, for task autoencode, whose target is the input itself: Table(X, X, names, names).

    csv: every column but those named in `exclude` (a label column the file carries, never parsed);
    .npz: the array 'X' ('y', if present, is not read); .npy: every column but the last len(exclude)
    (named by number, as data.target names them), as a memory map. Problems are one-line DataErrors.
    """
    path = Path(path)
    _check_file(path)
    kind = file_kind(path)
    exclude = [str(t) for t in exclude] if exclude else []
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
    if kind == ".npy":
        table = _read_npy(path, exclude or None, "regression", True, False) if exclude else None
        if table is None:
            try:
                X = np.load(path, mmap_mode="r", allow_pickle=False)
            except Exception as exc:
                raise _error(f"{path}: not a valid .npy file ({type(exc).__name__}: {_first_line(exc)})") from None
            if X.ndim != 2 or X.shape[0] < 1 or X.dtype.kind not in "biuf":
                raise _error(f"{path}: the array must be 2-D and numeric, one row per example (got {X.dtype} {X.shape})")
            _check_finite(path, X, "X")
            table = Table(X, X, [str(j) for j in range(X.shape[1])], [], path)
        return Table(table.X, table.X, table.feature_names, table.feature_names, path)
    if kind != "text":
        raise _error(f"{path}: unknown file type {_show(path.suffix)}: use .csv, .tsv, .txt, .npz or .npy")
    text = _read_utf8(path)
    delimiter = _resolve_delimiter(path, text, delimiter)
    header, header_line, rows, lines = _parse_rows(path, text, delimiter)
    names = [h.strip() for h in header]
    absent = [t for t in exclude if t not in names]
    if absent:
        raise _error(f"{path}: data.target column {_show(absent[0])} (left out of the inputs) not found "
                     f"(columns: {_list(names)})")
    cols = [j for j, name in enumerate(names) if name not in set(exclude)]
    if not cols:
        raise _error(f"{path}: no input columns: data.target leaves out every column ({_list(names)})")
    X = _numeric_columns(path, rows, lines, names, cols, delimiter)
    feature_names = [names[j] for j in cols]
    return Table(X, X, feature_names, feature_names, path, lines)
