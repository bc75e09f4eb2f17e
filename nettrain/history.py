"""A run's metrics history: metrics.csv's rows, appended as the run goes, and checked on a resume.

metrics.csv has one row per epoch e — the cost at the weights after e updates (row 0: the initial
weights) — and a column per metric; an empty cell is a metric not computed that epoch.

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

from .errors import CheckpointError, RunIOError

OLD_NAMES = {"val_cost": "val_data_cost"}  # metrics.csv columns renamed since (the validation J_data): read as today's

MAX_METRICS_LINE = 1 << 16  # bytes: a longer line in metrics.csv is not one nettrain wrote


class History:
    """The run's metrics rows (None = not computed that epoch); metrics.csv holds them all (a run that
    writes no folder never takes its rows: rows() gives them, in memory).

    Nothing in memory grows with the run but J itself (8 bytes an epoch, for the summary's
    sparkline): rows are buffered until the next write, formatted once, appended to metrics.csv,
    and folded into a running SHA-256 of the file. A checkpoint stores record() — the columns, the
    row count and that digest — rather than the rows, so a save costs the same at epoch 10 and at
    epoch 10⁶; a resume checks the file's first rows against it (resumed()).
    """

    def __init__(self, columns: list[str]) -> None:
        self.columns = list(columns)
        self.n = 0  # rows so far, written or not
        self.J = array("d")  # column 1 (J) of every row
        self._pending: list[list] = []
        self._digest = hashlib.sha256()
        self._header = ",".join(self.columns) + "\n"  # column names are plain identifiers
        self._header_written = False

    def rows(self) -> list[list]:
        """The rows not yet taken into metrics.csv: every row of a run that writes no folder."""
        return self._pending

    def append(self, row: list[Optional[float]]) -> None:
        self._pending.append(row)
        self.J.append(math.nan if row[1] is None else row[1])  # None: not computed that epoch (log.train_cost)
        self.n += 1

    def take(self) -> str:
        """The text to append to metrics.csv — the header the first time, then the rows added since
        the last call — folded into the digest. ValueError/TypeError for a cell that is not a
        finite number or an epoch that is not an integer."""
        try:  # the common case, a Python int and floats: repr() of each cell, and one scan of the text
            # for the "n" of inf and nan (a finite float's repr has none)
            text = "".join([f"{r[0]:d}," + ",".join(["" if v is None else repr(v) if type(v) is int else repr(float(v))
                                                     for v in r[1:]]) + "\n" for r in self._pending])
            if "n" in text:
                raise ValueError
        except (TypeError, ValueError):  # anything else: cell by cell, raising for the first bad one
            text = "".join([",".join([_epoch_cell(r[0])] + ["" if v is None else _finite_repr(v) for v in r[1:]])
                            + "\n" for r in self._pending])
        if not self._header_written:
            text = self._header + text
        self._digest.update(text.encode("utf-8"))
        self._pending.clear()
        self._header_written = True
        return text

    def record(self) -> dict:
        """What a checkpoint stores of the history: metrics.csv's columns, row count and the SHA-256 of
        its text up to them (every row must have been taken)."""
        assert not self._pending and self._header_written, "take() the pending rows before recording them"
        return {"file": "metrics.csv", "columns": self.columns, "rows": self.n, "sha256": self._digest.hexdigest()}

    @classmethod
    def resumed(cls, path: Path, record: Any, columns: list[str], ckpt_path: Path) -> tuple["History", bytes]:
        """(History, text) of the rows a checkpoint's record names: metrics.csv's header and first
        record["rows"] rows, checked against its digest. Any row after them (written after that
        checkpoint) is left out: the caller rewrites the file with `text` when it holds more."""
        restart = f"start a new run from these weights with --set {shlex.quote(f'model.init.from={ckpt_path}')}"
        try:
            n, digest = int(record["rows"]), str(record["sha256"])
            if n < 1 or [OLD_NAMES.get(c, c) for c in record["columns"]] != columns:  # an older run continues
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{ckpt_path}: the checkpoint has no valid record of metrics.csv: {restart}") from None
        lines: list[bytes] = []  # the header and rows 0 … n − 1, read no further (the file may be anything)
        short = False  # the file ends (maybe inside a row) before them
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
        text = b"".join(lines)
        if len(lines) <= n or hashlib.sha256(text).hexdigest() != digest:
            what = f"has {max(0, len(lines) - 1)} rows" if short else "was changed"
            raise RunIOError(f"{path} {what}: {ckpt_path} was saved after rows 0 … {n - 1} of it; restore the file, "
                             f"or {restart}")
        h = cls(columns)
        h.n, h._header_written = n, True
        h._digest.update(text)
        h.J.extend(float(line.split(b",", 2)[1] or "nan") for line in lines[1:])  # empty: not computed
        return h, text



def _finite_repr(v: Any) -> str:
    """A metric as metrics.csv writes it: the shortest repr that reads back exactly (a count as an integer)."""
    if type(v) is int:
        return str(v)
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{v} is not finite")
    return repr(v)


def _epoch_cell(v: Any) -> str:
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"epoch {v} is not an integer")
        return str(int(v))
    return str(operator.index(v))

