"""Delimited text files (.csv, .tsv, .txt): UTF-8, a header row, one example per row.

Two parsers, one result. A file of at most CAREFUL_MAX_BYTES is read by the careful parser alone (faster
than importing pandas). pandas' C parser reads every bigger file first; when it refuses a file, or a
check on what it read fails (a cell that is not a finite number, an empty label, a row shorter
or longer than the header), the careful parser below — csv from the standard library, cell by
cell — reads the file again only to find the first problem in file order and word it: the file,
the line (1-based; the header is line 1), the column and the fix. A clean file is parsed once.
A file the careful parser reads but pandas refuses (blank rows of delimiters only, cells that
need Python's float()) is read by the careful parser, with the same result.

Where a file has several problems, the first one is reported, in this order: the file (missing,
empty), the delimiter, the header (names, data.target, data.features), then the rows in file
order. Bytes that are not UTF-8 are the exception: the careful parser decodes the whole file
first, the fast one meets them after the header.

The careful parser and what both share (the header, the delimiter) are in careful.py; data.categorical and
data.missing's rules for text and empty cells (a raw table) in columns.py.

Left out on purpose: any other format, preprocessing.
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .careful import (DELIMITERS, PLAIN, _decode, _header_columns, _parse_rows, _read_bytes, _read_careful,
                      _header_line, _resolve_delimiter, _table)
from .columns import ColumnRules, RowsKept, category_codes, kept_levels, mostly_numbers, numbers_or_empty
from .messages import _error
from .table import Table, _as_whole, _check_classes, _labels_from_strings

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
__all__ = ["DELIMITERS", "TEXT_SUFFIXES", "read_text", "read_text_rows", "text_header", "text_rows"]


# Up to this many bytes the careful parser reads a file in less time than importing pandas takes (~0.13 µs a
# byte against ~0.2 s: benchmarks/README.md, "Start-up"), with the same Table (tests/test_data_text.py).
CAREFUL_MAX_BYTES = 1 << 20


def read_text(
    path: Path, target: Optional[list[str]], features: Optional[list[str]], delimiter: Optional[str], task: str,
    require_target: bool, check_classes: bool, rules: ColumnRules = PLAIN,
) -> Table:
    """A text file as a Table: pandas' parser, or the careful one for a small file and where pandas refuses (see
    the module). rules (data.categorical, data.missing) other than the plain ones: a raw Table (columns.py)."""
    if not _small(path):
        try:
            return _read_fast(path, target, features, delimiter, task, require_target, check_classes, rules=rules)
        except _Refused:
            pass
    return _read_careful(path, _decode(path, _read_bytes(path)), target, features, delimiter, task, require_target,
                         check_classes, rules)


def _small(path: Path) -> bool:
    try:
        return path.stat().st_size <= CAREFUL_MAX_BYTES
    except OSError:
        return True  # the careful parser words it


def read_text_rows(
    path: Path, start: int, stop: int, target: Optional[list[str]], features: Optional[list[str]],
    delimiter: Optional[str], task: str,
) -> Table:
    """Rows start…stop−1 of a text file, as read_table counts rows (blank lines are not rows).

    pandas skips the lines before row start (found by a scan of the bytes, no parsing) and reads
    stop − start rows. A file whose lines before start hold a quote (a row may span lines) or a
    lone CR, or whose rows pandas refuses, is read whole and cut. A single class is allowed."""
    try:
        return _read_fast(path, target, features, delimiter, task, True, False, rows=(start, stop))
    except _Refused:
        pass
    return _slice(read_text(path, target, features, delimiter, task, True, False), start, stop)


def text_header(path: Path, delimiter: Optional[str] = None) -> tuple[list[str], str]:
    """The header's cells and the delimiter of a text file, as read_table finds them (the first line holding more
    than white space; the delimiter given, checked, or detected)."""
    found = _first_line(path)
    text, line = found if found is not None else (_decode(path, _read_bytes(path)), None)
    delimiter = _resolve_delimiter(path, text, delimiter, line)
    return next(csv.reader([_header_line(text)[0].rstrip("\r\n")], delimiter=delimiter)), delimiter


def text_rows(path: Path, delimiter: Optional[str] = None) -> int:
    """The number of rows of a text file (as read_table counts them), by a scan of its lines."""
    found = _first_line(path)
    if found is not None:
        header_text, header_line = found
        delimiter = _resolve_delimiter(path, header_text, delimiter, header_line)
        counted = _scan_rows(path, header_line, delimiter, None)
        if counted is not None:
            return counted[0]
    text = _decode(path, _read_bytes(path))
    return len(_parse_rows(path, text, _resolve_delimiter(path, text, delimiter))[2])


def _slice(table: Table, start: int, stop: int) -> Table:
    lines = table.lines
    if isinstance(lines, _LinesOfRows):
        lines = lines.cut(start, stop)
    elif lines is not None:
        lines = lines[start:stop]
    return Table(table.X[start:stop], table.y[start:stop], table.feature_names, table.target_names, table.path, lines)


class _Refused(Exception):
    """The fast parser cannot vouch for this file: the careful parser reads it (and words any problem)."""


# ---- the fast parser: pandas


def _check_text_cells(frame: Any, n: int, used: list[int]) -> None:
    """_Refused where pandas' rows are not the file's rows as the careful parser counts them."""
    kinds = [dtype.kind for dtype in frame.dtypes]
    for j in range(n):
        if kinds[j] == "O" and frame[j].str.contains("[\r\n]", regex=True).any():
            raise _Refused  # a quoted line break: a row spanning lines, which the careful parser counts
    if n - 1 not in used and kinds[n - 1] == "O" and (frame[n - 1] == "").any():
        raise _Refused  # the unused last column is empty somewhere: a short row, or an empty cell


def _read_fast(
    path: Path, target: Optional[list[str]], features: Optional[list[str]], delimiter: Optional[str], task: str,
    require_target: bool, check_classes: bool, rows: Optional[tuple[int, int]] = None, rules: ColumnRules = PLAIN,
) -> Table:
    """pandas' C parser on the rows after the header; _Refused wherever the careful parser must look.

    Raises the careful parser's own DataErrors for the delimiter and the header, which come first
    in file order; any problem in the rows is _Refused, for the careful parser to find and word.
    pandas infers each column's type; a number column must come out as integers or floats
    (integers are cast to float64 exactly, as float() would read them), anything else is refused.
    """
    found = _first_line(path)
    if found is None:
        raise _Refused  # nothing but white space ("file is empty"), or lines ended by a lone CR
    header_text, header_line = found
    if header_text.count('"') % 2:
        raise _Refused  # a quoted line break in the header
    delimiter = _resolve_delimiter(path, header_text, delimiter, header_line)
    header = next(csv.reader([header_text.rstrip("\r\n")], delimiter=delimiter))
    if not any(cell.strip() for cell in header):
        raise _Refused  # a row of empty cells (",,,") before the header: skipped by the careful parser
    names, feature_cols, target_cols = _header_columns(path, header, header_line, target, features, require_target)
    named = rules.named(path, names, feature_cols)
    n = len(names)
    skip, nrows, first = header_line, None, 0
    if rows is not None:
        first, nrows = rows[0], max(0, rows[1] - rows[0])
        counted = _scan_rows(path, header_line, delimiter, first)
        if counted is None:
            raise _Refused  # a quote or a lone CR before row start: lines are not rows there
        skip = header_line + counted[1]
    frame = _pandas_rows(path, delimiter, skip, n, nrows, named or ())
    m = len(frame)
    if m == 0:
        raise _Refused  # "no data rows"
    numeric = feature_cols + (target_cols if task == "regression" else [])
    if _zero_integers(frame, numeric) and _negative_zero(path):
        raise _Refused  # "-0", read as the integer 0, would lose the sign float() keeps
    levels, kept = None, None
    if rules.plain:  # numbers only, no empty cell: the original path
        X = _float_columns(frame, feature_cols)
        y = None
        if target_cols and task == "regression":
            y = _float_columns(frame, target_cols)
        elif target_cols:
            y = _label_values(frame[target_cols[0]])
    else:
        X, y, levels, kept = _ruled_columns(frame, feature_cols, target_cols, task, rules, named, names)
    _check_text_cells(frame, n, feature_cols + target_cols)
    if target_cols and task == "classification" and check_classes:
        _check_classes(path, names[target_cols[0]], y)
    lines: Sequence[int] = _LinesOfRows(path, header_line, m, delimiter, first)
    dropped = 0
    if kept is not None:
        lines, dropped = RowsKept(lines, kept), m - len(kept)
    return _table(path, names, feature_cols, target_cols, X, y, lines, levels, dropped)


def _ruled_columns(frame: Any, feature_cols: list[int], target_cols: list[int], task: str, rules: ColumnRules,
                   named: Optional[list[int]], names: list[str]) -> tuple[np.ndarray, Any, dict, Optional[np.ndarray]]:
    """(X, y, levels, kept) of a raw table (columns.py) from pandas' frame: categorical columns as codes, empty
    cells NaN, rows with an empty used cell left out (kept: the rows kept; None: all). _Refused wherever the
    careful parser must word a problem (an empty cell to refuse, a cell that is not a number)."""
    cats = named if named is not None else [] if rules.categorical is None else [
        j for j in feature_cols if frame[j].dtype.kind == "O" and not mostly_numbers(frame[j])]
    label = target_cols[0] if target_cols and task == "classification" else None
    values, levels, empty = {}, {}, np.zeros(len(frame), dtype=bool)
    for j in feature_cols + target_cols:
        col = frame[j]
        if j in cats:
            values[j], levels[names[j]] = category_codes(col)  # one pass of pandas' Categorical
            blank = np.isnan(values[j])
        elif j == label:
            values[j] = col
            blank = np.asarray(col.astype(str).str.strip() == "", dtype=bool) if col.dtype.kind == "O" else None
        elif col.dtype.kind in "iuf":
            values[j] = col.to_numpy(dtype=np.float64)
            if not np.isfinite(values[j]).all():
                raise _Refused  # "nan" or "inf" written in a cell
            blank = None
        else:
            values[j] = numbers_or_empty(col)
            if values[j] is None:
                raise _Refused  # a cell that is not a number
            blank = np.isnan(values[j])
        if blank is not None and blank.any():
            if rules.missing == "refuse" or (j in target_cols and rules.missing == "mean"):
                raise _Refused  # an empty cell to refuse at its line
            empty |= blank
    kept = np.flatnonzero(~empty) if rules.missing == "drop" and empty.any() else None
    if kept is not None and not kept.size:
        raise _Refused  # nothing left: the careful parser says so
    pick = (lambda a: a) if kept is None else (lambda a: a.iloc[kept] if hasattr(a, "iloc") else a[kept])
    X = np.ascontiguousarray(np.column_stack([pick(values[j]) for j in feature_cols]), dtype=np.float64)
    if kept is not None:  # the levels of the rows kept, as the careful parser finds them
        for k, j in enumerate(feature_cols):
            if j in cats:
                X[:, k], levels[names[j]] = kept_levels(X[:, k], levels[names[j]])
    y = None
    if label is not None:
        y = _label_values(pick(values[label]))
    elif target_cols:
        y = np.ascontiguousarray(np.column_stack([pick(values[j]) for j in target_cols]), dtype=np.float64)
    return X, y, levels, kept


def _first_line(path: Path, block: int = 1 << 16) -> Optional[tuple[str, int]]:
    """The first physical line holding more than white space, decoded, and its number; None if none."""
    number, start, pending = 1, True, b""
    try:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(block)
                pending += chunk
                while b"\n" in pending or (not chunk and pending):
                    end = pending.find(b"\n") + 1 or len(pending)
                    line, pending = pending[:end], pending[end:]
                    if b"\r" in line.rstrip(b"\r\n"):
                        return None  # lines ended by a lone CR: left to the careful parser
                    try:
                        text = line.decode("utf-8-sig" if start else "utf-8")
                    except UnicodeDecodeError:
                        return None
                    if text.strip():
                        return text, number
                    number, start = number + 1, False
                if not chunk:
                    return None
    except OSError as exc:
        raise _error(f"{path}: cannot read file ({exc.strerror or exc})") from None


def _pandas_rows(path: Path, delimiter: str, skip: int, n: int, nrows: Optional[int] = None,
                 categorical: Sequence[int] = ()) -> Any:
    """The rows after the first skip lines (blank lines, the header, maybe rows) as a DataFrame of
    columns 0…n−1, each of the type pandas infers (the categorical ones: pandas' Categorical of their text);
    nrows of them, or all."""
    import pandas as pd  # here, not at the top: `import nettrain` stays light

    options: dict[str, Any] = {"dtype": {j: "category" for j in categorical}} if categorical else {}
    if int(pd.__version__.split(".")[0]) < 3:
        options["float_precision"] = "round_trip"  # correctly rounded, as float(); pandas 3 always is
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # na_filter off: no cell is taken as missing; an empty one makes its column text, refused
            frame = pd.read_csv(
                path, sep=delimiter, header=None, names=list(range(n)), index_col=False, skiprows=skip, nrows=nrows,
                na_filter=False, engine="c", encoding="utf-8", quotechar='"', doublequote=True,
                skip_blank_lines=True, **options,
            )
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, pd.errors.ParserError):
        raise _Refused from None  # a row longer than the header, bytes that are not UTF-8, …
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise _Refused  # the first row longer than the header, which pandas would cut
    return frame


def _float_columns(frame: Any, cols: list[int]) -> np.ndarray:
    """Columns of the frame as an (m, len(cols)) C-ordered float64 array; _Refused unless all are
    numbers (integer or float columns) and finite."""
    kinds = [dtype.kind for dtype in frame.dtypes]  # pandas' inferred type of each column
    if any(kinds[j] not in "iuf" for j in cols):
        raise _Refused  # text somewhere in a column: the careful parser names the cell
    out = np.ascontiguousarray(frame.iloc[:, cols].to_numpy(dtype=np.float64))
    if not np.isfinite(out).all():
        raise _Refused  # NaN or infinity: the careful parser names the cell
    return out


def _zero_integers(frame: Any, cols: list[int]) -> bool:
    """Whether a column pandas read as integers holds a 0 (which the file may have written "-0")."""
    kinds = [dtype.kind for dtype in frame.dtypes]
    return any(kinds[j] == "i" and bool((frame[j].to_numpy() == 0).any()) for j in cols)


def _negative_zero(path: Path) -> bool:
    """Whether the file may hold an integer "-0" (a float such as -0.5 or 1e-05 does not count)."""
    raw = _read_bytes(path)
    return b"-0" in raw and re.search(rb"-0+(?![0-9.eE])", raw) is not None


def _label_values(column: Any) -> np.ndarray:
    """Labels as the careful parser gives them: numbers (whole ones as int64) if every cell is one,
    else stripped strings; _Refused for an empty or missing label."""
    if column.dtype.kind in "iuf":  # every cell a number: float() of each, then whole numbers as int64
        values = column.to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise _Refused
        return _as_whole(values)
    if column.dtype.kind != "O":  # object or pandas' str: text
        raise _Refused  # true/false, which the careful parser reads as text
    cells = column.tolist()
    if not all(isinstance(c, str) and c.strip() for c in cells):
        raise _Refused  # an empty label, or a row short of its last cells
    y, bad = _labels_from_strings(cells)
    if bad is not None:
        raise _Refused  # a NaN label
    return y


class _LinesOfRows(Sequence[int]):
    """The physical line (1-based) each row was read from, counted the first time one is asked for
    (to word a message about that row): the non-blank lines after the header, from row first on.
    Every row is one line here — the fast parser refuses a cell holding a line break."""

    def __init__(self, path: Path, header_line: int, m: int, delimiter: str, first: int = 0) -> None:
        self.path, self.header_line, self.m, self.delimiter, self.first = path, header_line, m, delimiter, first
        self._lines: Optional[Sequence[int]] = None

    def __len__(self) -> int:
        return self.m

    def __getitem__(self, i: Any) -> Any:
        if self._lines is None:
            self._lines = self._count()
        return self._lines[i]

    def cut(self, start: int, stop: int) -> "_LinesOfRows":
        """The lines of rows start…stop−1 of these, still counted only when asked for."""
        start, stop, _ = slice(start, stop).indices(self.m)
        return _LinesOfRows(self.path, self.header_line, max(0, stop - start), self.delimiter, self.first + start)

    def _count(self) -> Sequence[int]:
        raw = _read_bytes(self.path)
        if self.first == 0 and (b"\r" not in raw or raw.count(b"\r") == raw.count(b"\r\n")):
            end = len(raw)
            while end and raw[end - 1] in b" \t\r\n":
                end -= 1
            if raw.count(b"\n", 0, end) + 1 == self.header_line + self.m:  # no blank line among the rows
                return range(self.header_line + 1, self.header_line + 1 + self.m)
        lines = [i for i, line in enumerate(raw.splitlines(), 1)
                 if i > self.header_line and not _blank(line, self.delimiter)]
        return lines[self.first : self.first + self.m]


def _blank(line: bytes, delimiter: str) -> bool:
    """Whether a line without quotes is skipped as the careful parser skips a row: white space or
    empty cells only."""
    return not any(cell.strip() for cell in line.decode("utf-8", "replace").split(delimiter))


def _complete_lines(fh: Any, block: int) -> Any:
    """The file from its current position in blocks of whole lines (each ending in a newline)."""
    pending = b""
    while True:
        chunk = fh.read(block)
        if not chunk:
            if pending:
                yield pending + b"\n"
            return
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        if cut:
            yield pending[:cut]
            pending = pending[cut:]


def _scan_rows(path: Path, header_line: int, delimiter: str, start: Optional[int],
               block: int = 1 << 20) -> Optional[tuple[int, int]]:
    """(rows, lines): scanning the lines after the header up to row start (None: to the end), the
    rows passed and the physical lines passed. None where lines are not rows: a quote (a row may
    span lines) or a lone CR.

    A block of lines is counted at the speed of bytes.count; only lines that may be blank (white
    space, delimiters, control or non-ASCII bytes only) are decoded and checked one by one."""
    maybe_blank = re.compile(rb"(?m)^[ \t\r\f\v\x1c-\x1f\x80-\xff" + re.escape(delimiter.encode()) + rb"]*$")
    rows = lines = 0
    to_skip = header_line  # the blank lines before the header, and the header
    try:
        with open(path, "rb") as fh:
            for buf in _complete_lines(fh, block):
                if to_skip:
                    pos = 0
                    while to_skip and pos < len(buf):
                        pos, to_skip = buf.index(b"\n", pos) + 1, to_skip - 1
                    buf = buf[pos:]
                if b'"' in buf or re.search(rb"\r(?!\n)", buf):
                    return None
                count = buf.count(b"\n")
                blank = sum(1 for match in maybe_blank.finditer(buf)
                            if match.start() < len(buf) and _blank(match.group(), delimiter))
                if start is None or rows + count - blank <= start:  # row start is not in this block
                    rows, lines = rows + count - blank, lines + count
                    continue
                for line in buf.split(b"\n")[:-1]:  # row start begins in this block: find its line
                    if not _blank(line, delimiter):
                        if rows == start:
                            return rows, lines
                        rows += 1
                    lines += 1
    except OSError as exc:
        raise _error(f"{path}: cannot read file ({exc.strerror or exc})") from None
    return rows, lines

