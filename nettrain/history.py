"""A run's metrics history: metrics.csv's rows, appended as the run goes, and checked on a resume.

metrics.csv has one row per epoch e — the cost at the weights after e updates (row 0: the initial
weights) — and a column per metric; an empty cell is a metric not computed that epoch. Its last column,
seconds (CLOCK_COLUMNS), is the wall time of the run's training at that row: it differs from one run of
the same config to the next, so it is left out of the digest a checkpoint records of the file — a resumed
run and an uninterrupted one still match bit for bit in everything else.

Left out on purpose: the rest of the run folder (runfolder.py) and what the metrics mean.
"""

from __future__ import annotations

import hashlib
import math
import operator
import shlex
from array import array
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .errors import CheckpointError, RunIOError

OLD_NAMES = {"val_cost": "val_data_cost"}  # metrics.csv columns renamed since (the validation J_data): read as today's

MAX_METRICS_LINE = 1 << 16  # bytes: a longer line in metrics.csv is not one nettrain wrote


INTEGER_COLUMNS = ("epoch", "evaluations")  # counts, written as integers; every other column is a float or empty

SECONDS = "seconds"  # wall seconds of the run's training at the row, cumulative across --resume
# Columns of wall time: metrics.csv's last ones, written with CLOCK_DECIMALS decimals, and left out of the
# digest and of the columns a checkpoint records (record()), which are those of the rows' other cells. A run
# folder written before a clock column existed goes on without it (resumed()).
CLOCK_COLUMNS = (SECONDS,)
CLOCK_DECIMALS = 3  # milliseconds


def digest_columns(columns: list[str]) -> list[str]:
    """The columns a checkpoint's record names and its digest covers: all but CLOCK_COLUMNS."""
    return [c for c in columns if c not in CLOCK_COLUMNS]


class History:
    """The run's metrics rows (an empty cell: not computed that epoch); metrics.csv holds them all (a run
    that writes no folder never takes its rows: rows() gives them, in memory).

    The rows not yet written are numbers in preallocated float64 columns, NaN for an empty cell. A
    training epoch costs two stores (add): its epoch, and its Cost, whose J and parts are copied into
    their columns a block of rows at a time when anything reads them (a Python loop over the parts of
    every row would cost more than the rest of the row); a logged epoch's ‖∇J‖ and validation cells
    are stored as they come (put). The text is made when the rows are taken, a column at a time.
    Nothing else in memory grows with the run but J itself (8 bytes an epoch, for the summary's
    sparkline and the rising-J check): taken rows are formatted once, appended to metrics.csv, and
    folded into a running SHA-256 of the file less its CLOCK_COLUMNS (the text the file had before
    they existed). A checkpoint stores record() — the columns, the row count and that digest — rather
    than the rows, so a save costs the same at epoch 10 and at epoch 10⁶; a resume checks the file's
    first rows against it (resumed()).
    """

    def __init__(self, columns: list[str], capacity: int = 1024) -> None:
        self.columns = list(columns)
        self._kept = len(digest_columns(self.columns))  # the columns before the clock columns
        assert self.columns[self._kept:] == [c for c in self.columns if c in CLOCK_COLUMNS], "clock columns last"
        self._J = array("d")  # column 1 (J) of the rows already taken
        self._k = 0  # rows held: the last n − k are taken
        self._settled = 0  # held rows whose Costs are copied into the columns; the rest are in _costs
        self._ints = [c in INTEGER_COLUMNS for c in self.columns]
        self._cells: Any = None
        self._alloc(max(1, capacity))
        self._error: Optional[str] = None  # a cell append() could not hold: take() raises it
        self._digest = hashlib.sha256()
        self._header = ",".join(self.columns) + "\n"  # column names are plain identifiers
        self._header_written = False
        self.seconds = 0.0  # the last seconds cell of a resumed run's rows: where its clock goes on

    def _alloc(self, capacity: int) -> None:
        """Room for `capacity` held rows, those held so far copied over."""
        self._settle()
        cells = np.full((len(self.columns), capacity), np.nan)
        if self._cells is not None:
            cells[:, : self._k] = self._cells[:, : self._k]
        self._cells, self._cap = cells, capacity
        self._mv = [memoryview(c) for c in cells]  # a memoryview's item store: the cheapest way into an array
        self._epochs = self._mv[0]
        self._costs: list = [None] * capacity

    def add(self, epoch: int, cost: Any) -> None:
        """A training epoch's row: its epoch, J and J's parts (network.Cost; None: not computed) in columns
        0, 1, 2, … — metrics.csv's layout — and every other cell empty until put()."""
        k = self._k
        if k == self._cap:
            self._alloc(2 * k)
        self._epochs[k] = epoch
        self._costs[k] = cost
        self._k = k + 1

    def _settle(self) -> None:
        """J and the parts of the rows added since the last call into their columns (the Costs let go)."""
        s, k = self._settled, self._k
        if s == k:
            return
        costs, cells = self._costs[s:k], self._cells
        if k - s == 1 and costs[0] is not None:  # a row at a time, as the listeners of a log.every 1 run see it
            c, mv = costs[0], self._mv
            mv[1][s] = c.J
            for j, v in enumerate(c.parts.values(), 2):
                mv[j][s] = v
            self._costs[s] = None
            self._settled = k
            return
        try:  # a column at a time: a run's Costs have the same parts, in the same order
            J = [c.J for c in costs]
        except AttributeError:  # a None among them (rows of append(), epochs without J): row by row
            for i, c in enumerate(costs, s):
                if c is not None:
                    cells[1 : 2 + len(c.parts), i] = [c.J, *c.parts.values()]
        else:
            cells[1, s:k] = J
            for j, name in enumerate(costs[0].parts, 2):
                cells[j, s:k] = [c.parts[name] for c in costs]
        self._costs[s:k] = [None] * (k - s)
        self._settled = k

    def put(self, j: int, value: Optional[float]) -> None:
        """Cell j of the last row (None: left empty)."""
        if value is not None:
            self._mv[j][self._k - 1] = value

    def append(self, row: list[Optional[float]]) -> None:
        """A row of any numbers, one per column (None: empty). A cell that metrics.csv cannot hold (not
        finite; a count that is not an integer) is refused by the next take()."""
        k = self._k
        if k == self._cap:
            self._alloc(2 * k)
        for j, v in enumerate(row):
            if v is None:
                continue
            f = float(operator.index(v)) if type(v) is int or isinstance(v, np.integer) else float(v)
            if self._error is None and not math.isfinite(f):
                self._error = f"{v} is not finite"
            elif self._error is None and self._ints[j] and not f.is_integer():
                self._error = f"{self.columns[j]} {v} is not an integer"
            self._cells[j, k] = f
        self._k = k + 1

    @property
    def n(self) -> int:
        """Rows so far, written or not."""
        return len(self._J) + self._k

    def rows(self) -> list[list]:
        """The rows not yet taken into metrics.csv: every row of a run that writes no folder."""
        return self._row_lists(0, self._k)

    def _row_lists(self, start: int, stop: int) -> list[list]:
        self._settle()
        cols = [[None if x != x else int(x) if is_int else x for x in self._cells[j, start:stop].tolist()]
                for j, is_int in enumerate(self._ints)]
        return [list(r) for r in zip(*cols)]

    @property
    def J(self) -> np.ndarray:
        """J of every row, resumed ones included (NaN: not computed that epoch)."""
        return self.J_since(0)

    def J_since(self, row: int) -> np.ndarray:
        """J of rows row … n − 1."""
        self._settle()
        taken = len(self._J)
        held = self._cells[1, max(0, row - taken) : self._k] if len(self.columns) > 1 else np.empty(0)
        if row >= taken:
            return held.copy()
        return np.concatenate([np.frombuffer(self._J, dtype=np.float64)[row:], held])

    def take(self) -> str:
        """The text to append to metrics.csv — the header the first time, then the rows added since
        the last call — folded into the digest. ValueError for a cell that is not a finite number or a
        count that is not an integer."""
        self._settle()
        k = self._k
        block = self._cells[:, :k]
        if self._error is not None:
            raise ValueError(self._error)
        if np.isinf(block).any():  # NaN is an empty cell; ±inf cannot be written (readers disagree on it)
            raise ValueError("a metric is not finite")
        text, kept = _format(block, self._ints, self._kept)
        if not self._header_written:
            text, kept = self._header + text, ",".join(self.columns[: self._kept]) + "\n" + kept
        self._digest.update(kept.encode("utf-8"))
        if len(self.columns) > 1:
            self._J.frombytes(block[1].tobytes())
        block[:] = np.nan
        self._k = self._settled = 0
        self._header_written = True
        return text

    def record(self) -> dict:
        """What a checkpoint stores of the history: metrics.csv's columns, row count and the SHA-256 of
        its text up to them (every row must have been taken)."""
        assert not self._k and self._header_written, "take() the pending rows before recording them"
        return {"file": "metrics.csv", "columns": self.columns[: self._kept], "rows": self.n,
                "sha256": self._digest.hexdigest()}

    @classmethod
    def resumed(cls, path: Path, record: Any, columns: list[str], ckpt_path: Path) -> tuple["History", bytes]:
        """(History, text) of the rows a checkpoint's record names: metrics.csv's header and first
        record["rows"] rows, checked against its digest (of their text less the clock columns). Any row
        after them (written after that checkpoint) is left out: the caller rewrites the file with `text`
        when it holds more. The History has `columns` but the clock columns the file's header lacks (a run
        folder written before them goes on without), and as its seconds the last seconds cell of the rows."""
        restart = f"start a new run from these weights with --set {shlex.quote(f'model.init.from={ckpt_path}')}"
        try:
            n, digest = int(record["rows"]), str(record["sha256"])
            if n < 1 or [OLD_NAMES.get(c, c) for c in record["columns"]] != digest_columns(columns):
                raise ValueError  # an older run continues under today's names
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{ckpt_path}: the checkpoint has no valid record of metrics.csv: {restart}") from None
        lines, short = _head_lines(path, n, ckpt_path, restart)
        clock = _clock_columns(lines[0]) if lines else []
        kept = [line.rsplit(b",", len(clock))[0] + b"\n" for line in lines] if clock else lines
        folded = hashlib.sha256(b"".join(kept))  # what take() folds: the text less the clock columns
        if len(lines) <= n or folded.hexdigest() != digest:
            what = f"has {max(0, len(lines) - 1)} rows" if short else "was changed"
            raise RunIOError(f"{path} {what}: {ckpt_path} was saved after rows 0 … {n - 1} of it; restore the file, "
                             f"or {restart}")
        h = cls(digest_columns(columns) + clock)
        h._header_written = True
        h._digest = folded  # the rows appended from here are folded into it
        h._J.extend(float(line.split(b",", 2)[1] or "nan") for line in lines[1:])  # empty: not computed
        if SECONDS in clock:
            h.seconds = _last_seconds(lines[1:], len(h.columns) - len(clock) + clock.index(SECONDS))
        return h, b"".join(lines)


def _head_lines(path: Path, n: int, ckpt_path: Path, restart: str) -> tuple[list[bytes], bool]:
    """metrics.csv's header and rows 0 … n − 1 as lines (read no further: the file may be anything), and
    whether the file ends (maybe inside a row) before them."""
    lines: list[bytes] = []
    short = False
    try:
        with open(path, "rb") as f:
            while len(lines) <= n:
                line = f.readline(MAX_METRICS_LINE)
                if not line.endswith(b"\n"):
                    short = len(line) < MAX_METRICS_LINE
                    break
                lines.append(line)
    except FileNotFoundError:
        raise RunIOError(f"{path} is missing: it holds the history {ckpt_path} continues; restore it, or "
                         f"{restart}") from None
    except OSError as e:
        raise RunIOError(f"cannot read {path}: {e.strerror or e}: check the path and permissions") from None
    return lines, short


def _clock_columns(header: bytes) -> list[str]:
    """The CLOCK_COLUMNS that end a metrics.csv header line, in its order ([]: a file written before them)."""
    names = header.rstrip(b"\n").split(b",")
    k = len(names)
    while k > 1 and names[k - 1].decode("utf-8", "replace") in CLOCK_COLUMNS:
        k -= 1
    return [c.decode("utf-8") for c in names[k:]]


def _last_seconds(rows: list[bytes], j: int) -> float:
    """The last cell j of the rows that is a number ≥ 0 (0.0: none). A cell that is not one — the clock is no
    part of the digest, so a hand may have changed it — is passed over."""
    for line in reversed(rows):
        cells = line.rstrip(b"\n").split(b",")
        try:
            v = float(cells[j]) if j < len(cells) and cells[j] else math.nan
        except ValueError:
            continue
        if math.isfinite(v) and v >= 0:
            return v
    return 0.0


def _format(block: np.ndarray, ints: list[bool], kept: int) -> tuple[str, str]:
    """Rows of metrics.csv from columns of numbers (NaN: an empty cell), a column at a time: a count as an
    integer, any other number as repr() of the float — the shortest text that reads back exactly — and
    the clock columns after the first `kept` (_with_clock). Returns the rows' text, and that of their
    first `kept` columns (the digest's: the same string when there are no others).

    repr() of a float is most of the time (~0.7 µs each, as long as a small network's epoch is a
    twentieth of): a column equal to an earlier one (J = J_data when λ = 0) reuses its text, and a
    column of one value (J_reg = 0) is formatted once."""
    bits = block.view(np.int64)  # equal bits, equal text (== would take -0.0 for 0.0)
    cols: list[list[str]] = []
    for j, (v, is_int) in enumerate(zip(block[:kept], ints)):
        empty = np.isnan(v)
        if empty.all():
            cols.append([""] * len(v))
            continue
        same = [i for i in range(j) if not ints[i] and not is_int and np.array_equal(bits[i], bits[j])]
        if same:
            cols.append(cols[same[0]])
            continue
        if is_int:
            cells = list(map(str, np.where(empty, 0, v).astype(np.int64).tolist()))
        elif not empty.any() and (bits[j] == bits[j, 0]).all():
            cells = [repr(float(v[0]))] * len(v)
        else:
            cells = list(map(repr, v.tolist()))
        if empty.any():
            cells = ["" if e else c for c, e in zip(cells, empty.tolist())]
        cols.append(cells)
    if not cols or not cols[0]:
        return "", ""
    lines = list(map(",".join, zip(*cols)))
    text = "\n".join(lines) + "\n"
    return (text if kept == len(block) else _with_clock(lines, block[kept:])), text


def _with_clock(lines: list[str], clock: np.ndarray) -> str:
    """The lines, each followed by its clock cells (empty: the commas alone). Only logged rows have them, and
    only theirs are formatted: a few (log.every > 4) are written one by one and the runs of rows between them
    joined whole, many each into its place in one list of every line and line end."""
    bare = "," * len(clock) + "\n"
    filled = np.flatnonzero(~np.isnan(clock).all(axis=0)).tolist()
    if not filled:
        return bare.join(lines) + bare
    ends = _clock_ends(clock[:, filled])
    if 4 * len(filled) < len(lines):
        out, start = [], 0
        for i, end in zip(filled, ends):
            if i > start:
                out += [bare.join(lines[start:i]), bare]
            out += [lines[i], end]
            start = i + 1
        if start < len(lines):
            out += [bare.join(lines[start:]), bare]
        return "".join(out)
    out = [bare] * (2 * len(lines))  # line, its clock cells and line end, line, …
    out[::2] = lines
    if len(filled) == len(lines):
        out[1::2] = ends
    else:
        for i, end in zip(filled, ends):
            out[2 * i + 1] = end
    return "".join(out)


def _clock_ends(cells: np.ndarray) -> list[str]:
    """",cell,…\\n" of each row of these clock cells (clock columns × rows, NaN: empty), CLOCK_DECIMALS
    decimals each."""
    if len(cells) == 1:  # the one clock column: no cell of the rows given is empty
        return list(map(f",{{:.{CLOCK_DECIMALS}f}}\n".format, cells[0].tolist()))
    text = [["" if x != x else f"{x:.{CLOCK_DECIMALS}f}" for x in row] for row in cells.tolist()]
    return [f",{','.join(t)}\n" for t in zip(*text)]
