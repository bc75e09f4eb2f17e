"""The train split of a memory-mapped file, read a chunk at a time while training.

Both sides of an example are made per chunk: x̂ by Preprocessing's transform (MappedRows.columns),
and the encoded target — one-hot, one 0/1 column or regression values — by Preprocessing's
encoding (MappedRows.targets). Beyond the mapped file, memory is bounded by the chunk, not by m:
the raw target column stays in the map (a .npy file) and nothing of size m × s_nl is made.

Left out on purpose: reading files; the transform and the encoding themselves (Preprocessing's).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .preprocess import Preprocessing
from .split import SplitRows
from .table import _labels_from_array

class MappedRows:
    """Rows `rows` of a memory-mapped X, transformed as Preprocessing.transform_x would — but only
    a chunk at a time, when read. The training split of a .npy file larger than RAM stays on disk.

    shape is (m_split, n), as the array it stands for. columns() gives the transposed view the
    math core trains on: x (n, m_split) with .shape and .read(start, stop, out), which writes
    x̂ columns start…stop−1 into out (n, stop − start) — the same numbers transform_x gives.
    """

    def __init__(
        self, X: np.ndarray, rows: SplitRows, pre: "Preprocessing", dtype: Any, y: Optional[np.ndarray] = None
    ) -> None:
        """rows: the split's rows (split.SplitRows). y: the raw targets of every row of X — a view of the memory
        map (Table.y_mapped) or the Table's y — read a chunk at a time by targets(); None: targets() is not
        available."""
        self.X, self.rows, self.pre, self.dtype, self.y = X, rows, pre, np.dtype(dtype), y
        self.shape = (len(self.rows), X.shape[1])

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
        return self.pre.transform_into(self._block(self.X, start, stop), out)  # the transform transform_x applies

    def _block(self, A: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Rows start…stop−1 of the split, taken from A (X, or the raw targets): a slice of the map
        where the split's rows are contiguous, else the rows gathered."""
        r0 = self.rows.first
        if r0 is not None:
            return A[r0 + start : r0 + stop]
        return A[self.rows.take(start, stop)]


class MappedTargets:
    """The encoded targets of a MappedRows split as a column source, as the math core reads x:
    .shape == (s_nl, m_split), .dtype, and .read(start, stop, out), which writes the encoded
    targets of rows start…stop−1 into out (s_nl, stop − start) — the same numbers, column for
    column, as Preprocessing.encode_y on the whole split (transposed) gives.

    Per chunk: the raw targets are read from the map, turned into labels as read_table turns the
    whole column (numbers; whole ones as int64), and encoded by Preprocessing.encode_y.
    """

    def __init__(self, rows: MappedRows) -> None:
        self.rows, self.pre, self.dtype = rows, rows.pre, rows.dtype
        self.shape = (rows.pre.n_outputs, rows.shape[0])

    def read(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        raw = np.asarray(self.rows._block(self.rows.y, start, stop))
        if self.pre.task == "regression":
            values = np.asarray(raw, dtype=np.float64)  # as read_table: float64 first, then the run's dtype
        else:
            values = _labels_from_array("the targets", raw.reshape(-1), "y")
        out[...] = self.pre.encode_y(values, dtype=self.dtype).T
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
