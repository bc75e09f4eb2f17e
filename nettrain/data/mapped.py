"""A split of a memory-mapped file — any split: train, val, test, or every row of a file to evaluate —
read a chunk at a time while training or measuring.

Both sides of an example are made per chunk: x̂ by Preprocessing's transform, then the run's whitening
when it has one (MappedRows.columns), and the encoded target — one-hot, one 0/1 column or regression
values — by Preprocessing's encoding (MappedRows.targets; an autoencoder's target is x̂ itself, its
columns again). Beyond the mapped file, memory is bounded by the chunk, not by m: the split's rows are
found a range at a time (split.SplitRows), the raw target column stays in the map (a .npy file), and
nothing of size m × s_1 or m × s_nl is made.

Left out on purpose: reading files; the transform, the whitening and the encoding themselves
(Preprocessing's, whiten.py's).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .preprocess import Preprocessing
from .split import SplitRows
from .table import _labels_from_array


class MappedRows:
    """Rows `rows` of a memory-mapped X, prepared as the run prepares rows in memory — Preprocessing.transform_x,
    then whitening.apply when given — but only a chunk at a time, when read. A split of a .npy file larger than
    RAM stays on disk.

    shape is (m_split, n), as the array it stands for (n: the whitening's width when it has one). columns()
    gives the transposed view the math core reads: x (n, m_split) with .shape and .read(start, stop, out),
    which writes x̂ columns start…stop−1 into out (n, stop − start) — the numbers transform_x (and the
    whitening) give.
    """

    def __init__(self, X: np.ndarray, rows: SplitRows, pre: "Preprocessing", dtype: Any,
                 y: Optional[np.ndarray] = None, whitening: Any = None) -> None:
        """rows: the split's rows (split.SplitRows). y: the raw targets of every row of X — a view of the memory
        map (Table.y_mapped) or the Table's y — read a chunk at a time by targets(); None: targets() is not
        available. whitening: whiten.ZCA or PCA, applied after the standardisation (None: none)."""
        self.X, self.rows, self.pre, self.dtype, self.y = X, rows, pre, np.dtype(dtype), y
        self.whitening = whitening
        width = X.shape[1] if whitening is None or not hasattr(whitening, "width") else whitening.width
        self.shape = (len(self.rows), width)
        self._taken: dict = {}  # (start, stop) → row numbers: a chunk's x and y, read one after the other, share them

    def __len__(self) -> int:
        return self.shape[0]

    def columns(self) -> "_MappedColumns":
        return _MappedColumns(self)

    def targets(self) -> "MappedTargets":
        """The encoded targets as columns, y (s_nl, m_split), read chunk by chunk (see MappedTargets)."""
        if self.y is None:
            raise ValueError("these MappedRows were made without their targets")
        return MappedTargets(self)

    def read_rows(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """x̂ of rows start…stop−1 of the split, written into out (stop − start, n) (or a view of it)."""
        block = self._block(self.X, start, stop)
        if self.whitening is None:
            return self.pre.transform_into(block, out)  # the transform transform_x applies
        xhat = self.pre.transform_into(block, np.empty((stop - start, self.X.shape[1]), self.dtype))
        np.copyto(out, self.whitening.apply(xhat, self.dtype))  # as whitening.apply(transform_x(X, dtype), dtype)
        return out

    def _block(self, A: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Rows start…stop−1 of the split, taken from A (X, or the raw targets): a slice of the map
        where the split's rows are contiguous, else the rows gathered."""
        r0 = self.rows.first
        if r0 is not None:
            return A[r0 + start : r0 + stop]
        rows = self._taken.pop((start, stop), None)  # the second of a chunk's two reads: found, and let go
        if rows is None:
            rows = self.rows.take(start, stop)
            if len(self._taken) > 8:  # reads of x alone (no targets read after them) leave no more than this
                self._taken.clear()
            self._taken[(start, stop)] = rows
        return A[rows]


class MappedTargets:
    """The encoded targets of a MappedRows split as a column source, as the math core reads x:
    .shape == (s_nl, m_split), .dtype, and .read(start, stop, out), which writes the encoded
    targets of rows start…stop−1 into out (s_nl, stop − start) — the same numbers, column for
    column, as Preprocessing.encode_y on the whole split (transposed) gives.

    Per chunk: the raw targets are read from the map, turned into labels as read_table turns the
    whole column (numbers; whole ones as int64), and encoded as Preprocessing.encode_y encodes them —
    a label's place in the sorted label set by binary search, written into out in place.
    """

    def __init__(self, rows: MappedRows) -> None:
        self.rows, self.pre, self.dtype = rows, rows.pre, rows.dtype
        self.shape = (rows.pre.n_outputs, rows.shape[0])
        labels = rows.pre.labels
        self._labels = np.asarray(labels) if labels and not isinstance(labels[0], str) else None

    def read(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        raw = np.asarray(self.rows._block(self.rows.y, start, stop))
        if self.pre.task == "regression":
            out[...] = self.pre.encode_y(np.asarray(raw, dtype=np.float64), dtype=self.dtype).T  # float64 first
            return out
        values = _labels_from_array("the targets", raw.reshape(-1), "y")
        codes = None if self._labels is None else np.searchsorted(self._labels, values)
        if codes is None or codes.max(initial=0) >= len(self._labels) or (self._labels[codes] != values).any():
            out[...] = self.pre.encode_y(values, dtype=self.dtype).T  # an unknown label: encode_y's own message
        elif self.pre.binary:  # 1 ⇔ labels[1], as encode_y's 0/1 column
            out[0] = codes
        else:  # one-hot, written in place: the column of example i has its 1 in row codes[i]
            out.fill(0)
            out[codes, np.arange(len(codes))] = 1
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        """y[:, a:b]: those columns as an array (so code that slices y still works)."""
        return _columns_of(self, key)


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
        return _columns_of(self, key)


def _columns_of(source: Any, key: Any) -> np.ndarray:
    """source[:, a:b] of a column source (.shape, .dtype, .read): those columns as an array."""
    rows, cols = key if isinstance(key, tuple) else (slice(None), key)
    start, stop, step = cols.indices(source.shape[1]) if isinstance(cols, slice) else (cols, cols + 1, 1)
    if step != 1:
        raise IndexError("a column source reads contiguous columns only")
    out = np.empty((source.shape[0], max(0, stop - start)), source.dtype)
    return source.read(start, stop, out)[rows]
