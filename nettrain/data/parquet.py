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

from .columns import ColumnRules, category_codes, kept_levels, nothing_left
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
    check_classes: bool, rows: Optional[tuple[int, int]] = None, rules: ColumnRules = ColumnRules(),
) -> Table:
    """A .parquet file as a Table; rows (start, stop): only rows start…stop−1, read by row group. rules other
    than the plain ones: a raw table (columns.py): text or dictionary columns as categories, nulls as empty
    cells."""
    pf = _open(path)
    names = list(pf.schema_arrow.names)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise _error(f"{path}: column {_show(twice[0])} appears twice in the file's schema")
    if not names:
        raise _error(f"{path}: the file has no columns")
    feature_cols, target_cols = select_columns(path, names, target, features, require_target)
    named = rules.named(path, names, feature_cols)
    wanted = sorted(set(feature_cols + target_cols))
    first, table = _read_rows(path, pf, [names[j] for j in wanted], rows)
    m = table.num_rows
    if m == 0 and rows is None:
        raise _error(f"{path}: the file has no rows")
    if not rules.plain:
        return _ruled(path, table, [names[j] for j in feature_cols], [names[j] for j in target_cols], task, rules,
                      None if named is None else [names[j] for j in named], check_classes)
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


def _ruled(path: Path, table: Any, features: list[str], targets: list[str], task: str, rules: ColumnRules,
           named: Any, check_classes: bool) -> Table:
    """A raw table (columns.py) of the Arrow table's columns: categorical ones as codes, nulls as empty cells
    (refused, their rows dropped, or NaN for the encoding to fill)."""
    import pyarrow as pa

    cats = named if named is not None else [] if rules.categorical is None else [
        f for f in features if not _is_number(table.column(f).type)]
    m, levels, blank = table.num_rows, {}, np.zeros(table.num_rows, dtype=bool)
    values: dict[str, Any] = {}
    for name in features + targets:
        column = table.column(name)
        nulls = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if nulls.any() and (rules.missing == "refuse" or (name in targets and rules.missing == "mean")):
            i = int(np.argmax(nulls))
            what = "label is empty" if name in targets and task == "classification" else "is empty"
            hint = "drop the row or set data.missing: drop" if name in targets else "set data.missing: drop or mean"
            raise _error(f"{path}: column {_show(name)}, row {i + 1}: {what} (null): fill it in, or {hint}")
        blank |= nulls
        if name in cats:
            values[name], levels[name] = category_codes(column.to_pandas())
        elif name in targets and task == "classification":
            values[name] = column
        else:
            values[name] = _numbers(path, column, name, 0, nulls_ok=True)
    kept = np.flatnonzero(~blank) if rules.missing == "drop" else np.arange(m)
    if not kept.size:
        raise nothing_left(path, m)
    X = np.ascontiguousarray(np.column_stack([values[f][kept] for f in features]), dtype=np.float64)
    for k, f in enumerate(features):
        if f in levels:
            X[:, k], levels[f] = kept_levels(X[:, k], levels[f])
    if not targets:
        return Table(X, np.empty((len(kept), 0)), features, [], path, levels=levels, dropped=m - len(kept))
    if task == "regression":
        y = np.column_stack([values[t][kept] for t in targets]).reshape(len(kept), len(targets))
    else:
        y = _labels(path, values[targets[0]].take(pa.array(kept)), targets[0], 0)
        if check_classes:
            _check_classes(path, targets[0], y)
    return Table(X, y, features, targets, path, levels=levels, dropped=m - len(kept))


def _is_number(kind: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def _numbers(path: Path, column: Any, name: str, first: int, nulls_ok: bool = False) -> np.ndarray:
    """A number column as float64; DataError for a null (NaN with nulls_ok: an empty cell), a NaN or infinity,
    or a column of another type."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        raise _error(
            f"{path}: column {_show(name)} holds {kind} values, not numbers: leave it out with data.features, "
            "name it in data.target, or (a category) in data.categorical"
        )
    if column.null_count and nulls_ok:
        nulls = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        values = column.fill_null(0).to_numpy().astype(np.float64)
        if not (np.isfinite(values) | nulls).all():
            i = int(np.flatnonzero(~np.isfinite(values) & ~nulls)[0])
            raise _error(f"{path}: column {_show(name)}, row {first + i + 1}: {values[i]} is not a finite number "
                         "(NaN and infinity are not allowed)")
        values[nulls] = np.nan
        return values
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
