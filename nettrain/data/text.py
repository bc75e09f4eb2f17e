"""Delimited text files (.csv, .tsv, .txt): UTF-8, a header row, one example per row.

Two parsers, one result. pandas' C parser reads every file first; when it refuses a file, or a
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

Left out on purpose: any other format, preprocessing.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from .messages import _error, _show
from .table import Table, _as_whole, _check_classes, _labels_from_strings, select_columns

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
DELIMITERS = (",", "\t", ";")  # auto-detected; on a tie the earlier one wins
_DELIMITER_NAMES = {",": "','", "\t": "tab", ";": "';'"}


# Up to this many bytes the careful parser reads a file in less time than importing pandas takes (~0.13 µs a
# byte against ~0.2 s: benchmarks/README.md, "Start-up"), with the same Table (tests/test_data_text.py).
CAREFUL_MAX_BYTES = 1 << 20


def read_text(
    path: Path, target: Optional[list[str]], features: Optional[list[str]], delimiter: Optional[str], task: str,
    require_target: bool, check_classes: bool,
) -> Table:
    """A text file as a Table: pandas' parser, or the careful one for a small file and where pandas refuses (see
    the module)."""
    if not _small(path):
        try:
            return _read_fast(path, target, features, delimiter, task, require_target, check_classes)
        except _Refused:
            pass
    return _read_careful(path, _decode(path, _read_bytes(path)), target, features, delimiter, task, require_target,
                         check_classes)


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
    y: Optional[np.ndarray], lines: Optional[Sequence[int]],
) -> Table:
    if not target_cols:  # features only, to predict
        return Table(X, np.empty((X.shape[0], 0)), [names[j] for j in feature_cols], [], path)
    return Table(X, y, [names[j] for j in feature_cols], [names[j] for j in target_cols], path, lines)


# ---- the fast parser: pandas


def _read_fast(
    path: Path, target: Optional[list[str]], features: Optional[list[str]], delimiter: Optional[str], task: str,
    require_target: bool, check_classes: bool, rows: Optional[tuple[int, int]] = None,
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
    n = len(names)
    skip, nrows, first = header_line, None, 0
    if rows is not None:
        first, nrows = rows[0], max(0, rows[1] - rows[0])
        counted = _scan_rows(path, header_line, delimiter, first)
        if counted is None:
            raise _Refused  # a quote or a lone CR before row start: lines are not rows there
        skip = header_line + counted[1]
    frame = _pandas_rows(path, delimiter, skip, n, nrows)
    m = len(frame)
    if m == 0:
        raise _Refused  # "no data rows"
    numeric = feature_cols + (target_cols if task == "regression" else [])
    if _zero_integers(frame, numeric) and _negative_zero(path):
        raise _Refused  # "-0", read as the integer 0, would lose the sign float() keeps
    X = _float_columns(frame, feature_cols)
    y = None
    if target_cols and task == "regression":
        y = _float_columns(frame, target_cols)
    elif target_cols:
        y = _label_values(frame[target_cols[0]])
    kinds = [dtype.kind for dtype in frame.dtypes]
    for j in range(n):
        if kinds[j] == "O" and frame[j].str.contains("[\r\n]", regex=True).any():
            raise _Refused  # a quoted line break: a row spanning lines, which the careful parser counts
    if n - 1 not in feature_cols + target_cols and kinds[n - 1] == "O" and (frame[n - 1] == "").any():
        raise _Refused  # the unused last column is empty somewhere: a short row, or an empty cell
    if target_cols and task == "classification" and check_classes:
        _check_classes(path, names[target_cols[0]], y)
    return _table(path, names, feature_cols, target_cols, X, y, _LinesOfRows(path, header_line, m, delimiter, first))


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


def _pandas_rows(path: Path, delimiter: str, skip: int, n: int, nrows: Optional[int] = None) -> Any:
    """The rows after the first skip lines (blank lines, the header, maybe rows) as a DataFrame of
    columns 0…n−1, each of the type pandas infers; nrows of them, or all."""
    import pandas as pd  # here, not at the top: `import nettrain` stays light

    options: dict[str, Any] = {}
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


# ---- the careful parser: the standard library's csv, cell by cell


def _read_careful(
    path: Path, text: str, target: Optional[list[str]], features: Optional[list[str]], delimiter: Optional[str],
    task: str, require_target: bool, check_classes: bool,
) -> Table:
    delimiter = _resolve_delimiter(path, text, delimiter)
    selected: dict[str, Any] = {}

    def on_header(header: list[str], header_line: int) -> None:
        selected["columns"] = _header_columns(path, header, header_line, target, features, require_target)

    header, header_line, rows, lines = _parse_rows(path, text, delimiter, on_header)
    names, feature_cols, target_cols = selected["columns"]
    X = _numeric_columns(path, rows, lines, names, feature_cols, delimiter)
    y = None
    if target_cols and task == "regression":
        y = _numeric_columns(path, rows, lines, names, target_cols, delimiter)
    elif target_cols:
        y = _label_column(path, rows, lines, names[target_cols[0]], target_cols[0], check_classes)
    return _table(path, names, feature_cols, target_cols, X, y, lines)


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
