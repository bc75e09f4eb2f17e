"""The careful parser of delimited text files: csv from the standard library, cell by cell, to word the first
problem of a file in file order (text.py's pandas parser reads every file first); and what both parsers share:
the header's columns, the delimiter, the Table they make.

Left out on purpose: pandas (text.py), any other format, preprocessing.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .columns import ColumnRules, category_codes, nothing_left
from .messages import _error, _show
from .table import Table, _check_classes, _labels_from_strings, select_columns

DELIMITERS = (",", "\t", ";")  # auto-detected; on a tie the earlier one wins
_DELIMITER_NAMES = {",": "','", "\t": "tab", ";": "';'"}
PLAIN = ColumnRules()

def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _error(f"{path}: cannot read file ({exc.strerror or exc})") from None


def _decode(path: Path, raw: bytes) -> str:
    """The file as text (a leading byte-order mark dropped), or a DataError at the first non-UTF-8 byte."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _error(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}): save the file as UTF-8"
        ) from None
    if not text.strip():
        raise _error(f"{path}: file is empty")
    return text


# ---- the header, shared by both parsers


def _header_columns(
    path: Path, header: list[str], header_line: int, target: Optional[list[str]], features: Optional[list[str]],
    require_target: bool,
) -> tuple[list[str], list[int], list[int]]:
    """The header's names (stripped), and the columns of X and of y (y's empty: features only, to predict)."""
    names = [h.strip() for h in header]
    for j, name in enumerate(names):
        if not name:
            raise _error(f"{path}:{header_line}: column {j + 1} has no name in the header: every column needs one")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _error(f"{path}:{header_line}: column {_show(name)} appears twice in the header")
        seen.add(name)
    feature_cols, target_cols = select_columns(path, names, target, features, require_target)
    return names, feature_cols, target_cols


def _table(
    path: Path, names: list[str], feature_cols: list[int], target_cols: list[int], X: np.ndarray,
    y: Optional[np.ndarray], lines: Optional[Sequence[int]], levels: Optional[dict] = None, dropped: int = 0,
) -> Table:
    if not target_cols:  # features only, to predict
        y, lines = np.empty((X.shape[0], 0)), lines if levels is not None else None
    return Table(X, y, [names[j] for j in feature_cols], [names[j] for j in target_cols], path, lines, levels=levels,
                 dropped=dropped)


# ---- the careful parser: the standard library's csv, cell by cell


def _read_careful(
    path: Path, text: str, target: Optional[list[str]], features: Optional[list[str]], delimiter: Optional[str],
    task: str, require_target: bool, check_classes: bool, rules: ColumnRules = PLAIN,
) -> Table:
    delimiter = _resolve_delimiter(path, text, delimiter)
    selected: dict[str, Any] = {}

    def on_header(header: list[str], header_line: int) -> None:
        selected["columns"] = _header_columns(path, header, header_line, target, features, require_target)

    header, header_line, rows, lines = _parse_rows(path, text, delimiter, on_header)
    names, feature_cols, target_cols = selected["columns"]
    if not rules.plain:
        return _careful_ruled(path, rows, lines, (names, feature_cols, target_cols), task, rules, delimiter,
                              check_classes)
    X = _numeric_columns(path, rows, lines, names, feature_cols, delimiter, categories=True)
    y = None
    if target_cols and task == "regression":
        y = _numeric_columns(path, rows, lines, names, target_cols, delimiter)
    elif target_cols:
        y = _label_column(path, rows, lines, names[target_cols[0]], target_cols[0], check_classes)
    return _table(path, names, feature_cols, target_cols, X, y, lines)


def _careful_ruled(path: Path, rows: list[list[str]], lines: list[int], columns: tuple, task: str,
                   rules: ColumnRules, delimiter: str, check_classes: bool) -> Table:
    """A raw table (columns.py) cell by cell: the rows with an empty used cell dropped first (data.missing:
    drop), then the first problem in file order refused, the categorical columns coded, empty cells NaN."""
    names, feature_cols, target_cols = columns
    dropped = 0
    if rules.missing == "drop":
        used = feature_cols + target_cols
        keep = [i for i, row in enumerate(rows) if all(row[j].strip() for j in used)]
        dropped = len(rows) - len(keep)
        if not keep:
            raise nothing_left(path, dropped)
        rows, lines = [rows[i] for i in keep], [lines[i] for i in keep]
    named = rules.named(path, names, feature_cols)
    cats = named if named is not None else [] if rules.categorical is None else [
        j for j in feature_cols if _text_column([row[j] for row in rows])]
    fill = rules.missing == "mean"
    for i, row in enumerate(rows):  # the first problem in file order: earliest row, then data.features' order
        for j in feature_cols:
            cell = row[j]
            problem = (None if cell.strip() or fill else _EMPTY) if j in cats else \
                None if fill and not cell.strip() else _cell_problem(cell, delimiter, rules.text_hint(names[j]))
            if problem:
                raise _error(f"{path}:{lines[i]}: column {_show(names[j])}: {problem}")
    import pandas as pd

    X = np.empty((len(rows), len(feature_cols)), dtype=np.float64)
    levels = {}
    for k, j in enumerate(feature_cols):
        cells = [row[j] for row in rows]
        if j in cats:
            X[:, k], levels[names[j]] = category_codes(pd.Series(cells, dtype=object))
        else:
            X[:, k] = [float(c) if c.strip() else np.nan for c in cells]
    y = None
    if target_cols and task == "regression":
        y = _numeric_columns(path, rows, lines, names, target_cols, delimiter, target=fill)
    elif target_cols:
        y = _label_column(path, rows, lines, names[target_cols[0]], target_cols[0], check_classes)
    return _table(path, names, feature_cols, target_cols, X, y, lines, levels, dropped)


def _text_column(cells: list[str]) -> bool:
    """data.categorical: auto's rule (columns.mostly_numbers), cell by cell: a column of text is one with a
    non-empty cell that is not a finite number, unless most of its non-empty cells are."""
    filled = [c for c in cells if c.strip()]
    numbers = 0
    for c in filled:
        try:
            numbers += math.isfinite(float(c))
        except ValueError:
            pass
    return numbers < len(filled) and numbers * 2 <= len(filled)


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


def _resolve_delimiter(path: Path, text: str, delimiter: Optional[str], line: Optional[int] = None) -> str:
    """The given delimiter (checked), or the most frequent of ',', tab, ';' in the header line.

    text: the file, or (with line, its number in the file) the header line alone."""
    header, number = _header_line(text)
    line = number if line is None else line
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


def _parse_rows(
    path: Path, text: str, delimiter: str, on_header: Any = None
) -> tuple[list[str], int, list[list[str]], list[int]]:
    """Header, its line, the data rows and the line each row starts on. Blank rows are skipped.

    on_header(header, line), if given, is called as soon as the header is read (to check it
    before the rows, as the fast parser does)."""
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
                if on_header is not None:
                    on_header(header, header_line)
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


_EMPTY = ("is empty (a missing value): fill it in or drop the row, or set data.missing: drop (or mean, which fills "
          "a feature)")
_EMPTY_TARGET = ("is empty (a missing value): a target is never filled in: fill it in, drop the row, or set "
                 "data.missing: drop")


def _cell_problem(cell: str, delimiter: str, hint: str = "", target: bool = False) -> Optional[str]:
    """Why a cell is not a finite number, or None if it is one. hint: what a text cell's message adds (in a
    feature column: columns.ColumnRules.text_hint); target: an empty target cell under data.missing: mean."""
    if not cell.strip():
        return _EMPTY_TARGET if target else _EMPTY
    try:
        value = float(cell)
    except ValueError:
        comma = ""
        if "," in cell and delimiter != ",":
            try:
                float(cell.replace(",", "."))
                comma = " (decimal commas are not read: write '.')"
            except ValueError:
                pass
        return f"{_show(cell.strip())} is not a number{comma or hint}"
    if not math.isfinite(value):
        return f"{_show(cell.strip())} is not a finite number (NaN and infinity are not allowed)"
    return None


def _numeric_columns(
    path: Path, rows: list[list[str]], lines: list[int], names: list[str], cols: list[int], delimiter: str,
    categories: bool = False, target: bool = False,
) -> np.ndarray:
    """The given columns as an (m, len(cols)) float64 array, or a DataError at the first bad cell. categories:
    feature columns (a text cell's message names data.categorical); target: targets under data.missing: mean."""
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
                problem = _cell_problem(row[j2], delimiter, PLAIN.text_hint(names[j2]) if categories else "", target)
                if problem:
                    raise _error(f"{path}:{lines[i]}: column {_show(names[j2])}: {problem}")
        raise _error(f"{path}: column {_show(names[j])} could not be read as numbers")  # not reached
    return out


def _label_column(
    path: Path, rows: list[list[str]], lines: list[int], name: str, col: int, check_classes: bool = True
) -> np.ndarray:
    cells = [row[col] for row in rows]
    for i, cell in enumerate(cells):
        if not cell.strip():
            raise _error(
                f"{path}:{lines[i]}: column {_show(name)}: label is empty (a missing value): fill it in or drop the "
                "row, or set data.missing: drop"
            )
    y, bad = _labels_from_strings(cells)
    if bad is not None:
        label = _show(cells[bad].strip())
        raise _error(f"{path}:{lines[bad]}: column {_show(name)}: label {label} is a missing value (NaN/infinity)")
    if check_classes:
        _check_classes(path, name, y)
    return y
