"""The train split of a memory-mapped file, read a chunk at a time while training.

Left out on purpose: reading files; the transform itself (Preprocessing's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .preprocess import Preprocessing

class MappedRows:
    """Rows `rows` of a memory-mapped X, transformed as Preprocessing.transform_x would — but only
    a chunk at a time, when read. The training split of a .npy file larger than RAM stays on disk.

    shape is (m_split, n), as the array it stands for. columns() gives the transposed view the
    math core trains on: x (n, m_split) with .shape and .read(start, stop, out), which writes
    x̂ columns start…stop−1 into out (n, stop − start) — the same numbers transform_x gives.
    """

    def __init__(self, X: np.ndarray, rows: np.ndarray, pre: "Preprocessing", dtype: Any) -> None:
        self.X, self.rows, self.pre, self.dtype = X, np.asarray(rows), pre, np.dtype(dtype)
        self.shape = (len(self.rows), X.shape[1])
        self._range = bool(len(self.rows)) and int(self.rows[-1]) - int(self.rows[0]) + 1 == len(self.rows)

    def __len__(self) -> int:
        return self.shape[0]

    def columns(self) -> "_MappedColumns":
        return _MappedColumns(self)

    def read_rows(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """x̂ of rows start…stop−1 of the split, written into out (stop − start, n) (or a view of it)."""
        r0 = int(self.rows[0]) if self._range else 0
        block = self.X[r0 + start : r0 + stop] if self._range else self.X[self.rows[start:stop]]
        return self.pre.transform_into(block, out)  # the transform transform_x applies


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
        rows, cols = key if isinstance(key, tuple) else (slice(None), key)
        start, stop, step = cols.indices(self.shape[1]) if isinstance(cols, slice) else (cols, cols + 1, 1)
        if step != 1:
            raise IndexError("a column source reads contiguous columns only")
        out = np.empty((self.shape[0], max(0, stop - start)), self.dtype)
        return self.read(start, stop, out)[rows]
