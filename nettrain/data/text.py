"""Delimited text files (.csv, .tsv, .txt): UTF-8, a header row, one example per row.

Every refusal names the file, the line (1-based; the header is line 1) and the column. Left out on
purpose: any other format, preprocessing.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from pathlib import Path
from typing import Optional

import numpy as np

from .messages import _error, _list, _show
from .table import Table, _check_classes, _labels_from_strings

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
DELIMITERS = (",", "\t", ";")  # auto-detected; on a tie the earlier one wins
_DELIMITER_NAMES = {",": "','", "\t": "tab", ";": "';'"}


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
