"""Parquet files (.parquet), read through pyarrow: one example per row, columns chosen by name.

The same semantics as a csv: data.target names the target column(s) (default: the last column),
data.features the feature columns (default: every other column), task says how the target is
read. Number columns may be any integer or floating type; a label column numbers or strings.
Rows are read a row group at a time when only some are asked for (read_parquet's rows), so that
a worker of a cluster reads only its own part of the file.

pyarrow is an optional dependency (pip install -e ".[parquet]"), imported only here, when a
.parquet file is read. Every refusal is a one-line DataError naming the file, the column and the
row (1-based, counted over the whole file). Left out on purpose: writing parquet, nested or
dictionary-of-struct columns, preprocessing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from .messages import _error, _first_line, _show
from .table import Table, _check_classes, _labels_from_array, select_columns

INSTALL = 'pip install -e ".[parquet]"'


def _pyarrow_parquet(path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise _error(f"{path}: reading .parquet files needs pyarrow: {INSTALL}") from None
    return pq


def _open(path: Path) -> Any:
    pq = _pyarrow_parquet(path)
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # not parquet, truncated, unreadable: all one refusal
        raise _error(f"{path}: not a valid .parquet file ({type(exc).__name__}: {_first_line(exc)})") from None


def parquet_rows(path: Path) -> int:
    """The number of rows of a .parquet file, from its footer (no data is read)."""
    return int(_open(path).metadata.num_rows)


def read_parquet(
    path: Path, target: Optional[list[str]], features: Optional[list[str]], task: str, require_target: bool,
    check_classes: bool, rows: Optional[tuple[int, int]] = None,
) -> Table:
    """A .parquet file as a Table; rows (start, stop): only rows start…stop−1, read by row group."""
    pf = _open(path)
    names = list(pf.schema_arrow.names)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise _error(f"{path}: column {_show(twice[0])} appears twice in the file's schema")
    if not names:
        raise _error(f"{path}: the file has no columns")
    feature_cols, target_cols = select_columns(path, names, target, features, require_target)
    wanted = sorted(set(feature_cols + target_cols))
    first, table = _read_rows(path, pf, [names[j] for j in wanted], rows)
    m = table.num_rows
    if m == 0 and rows is None:
        raise _error(f"{path}: the file has no rows")
    X = np.empty((m, len(feature_cols)), dtype=np.float64)
    for k, j in enumerate(feature_cols):
        X[:, k] = _numbers(path, table.column(names[j]), names[j], first)
    feature_names = [names[j] for j in feature_cols]
    if not target_cols:  # features only, to predict
        return Table(X, np.empty((m, 0)), feature_names, [], path)
    target_names = [names[j] for j in target_cols]
    if task == "regression":
        y = np.column_stack([_numbers(path, table.column(name), name, first) for name in target_names])
        y = y.reshape(m, len(target_names))
    else:
        y = _labels(path, table.column(target_names[0]), target_names[0], first)
        if check_classes:
            _check_classes(path, target_names[0], y)
    return Table(X, y, feature_names, target_names, path)


def _read_rows(path: Path, pf: Any, columns: list[str], rows: Optional[tuple[int, int]]) -> tuple[int, Any]:
    """(the file row of the first row read, an Arrow table of those columns): every row, or the row
    groups holding start…stop−1, cut to them."""
    try:
        if rows is None:
            return 0, pf.read(columns=columns)
        start, stop = rows
        groups, offset, first = [], 0, None
        for g in range(pf.metadata.num_row_groups):
            size = pf.metadata.row_group(g).num_rows
            if offset < stop and offset + size > start:
                groups.append(g)
                first = offset if first is None else first
            offset += size
        if not groups:
            return start, pf.schema_arrow.empty_table().select(columns)
        table = pf.read_row_groups(groups, columns=columns)
        return start, table.slice(start - first, stop - start)
    except Exception as exc:
        raise _error(f"{path}: cannot read the .parquet file ({type(exc).__name__}: {_first_line(exc)})") from None


def _numbers(path: Path, column: Any, name: str, first: int) -> np.ndarray:
    """A number column as float64; DataError for a null, a NaN or infinity, or a column of another type."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        raise _error(
            f"{path}: column {_show(name)} holds {kind} values, not numbers: leave it out with data.features, "
            "or name it in data.target"
        )
    if column.null_count:
        i = int(pc.index(pc.is_null(column), True).as_py())
        raise _error(f"{path}: column {_show(name)}, row {first + i + 1}: is empty (null): fill it in or drop the row")
    values = column.to_numpy().astype(np.float64, copy=False)  # integers cast exactly up to 2⁵³, then rounded
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise _error(
            f"{path}: column {_show(name)}, row {first + i + 1}: {values[i]} is not a finite number "
            "(NaN and infinity are not allowed)"
        )
    return values


def _labels(path: Path, column: Any, name: str, first: int) -> np.ndarray:
    """A label column as read_table gives labels: numbers (whole ones as int64) or stripped strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        i = int(pc.index(pc.is_null(column), True).as_py())
        raise _error(
            f"{path}: column {_show(name)}, row {first + i + 1}: label is empty (null): fill it in or drop the row"
        )
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _labels_from_array(path, np.asarray(column.to_pylist(), dtype=str), f"column {name!r}")
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return _labels_from_array(path, column.to_numpy(), f"column {name!r}")
    raise _error(f"{path}: column {_show(name)} holds {kind} values: labels must be numbers or strings")
