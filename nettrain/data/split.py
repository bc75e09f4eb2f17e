"""The seeded split into train / val / test: which row of the data goes to which split.

    SplitSpec(m, train, val, test, seed)   the split as plain data: anyone holding it (a cluster's worker)
                                           draws the same split; .sizes() needs no draw at all
    SplitSpec.rows(name)                   SplitRows: the split's rows in file order, read a range at a time
    split_indices(m, …)                    each split's rows as sorted arrays of row numbers

The split is one seeded shuffle: np.random.default_rng(seed).permutation(m), train = its first n_train
entries, then val, then test; each split's rows are taken in file order (membership is what the shuffle
decides; rows in order read a memory-mapped file front to back). It is held as two bits per row — the
split each row belongs to (Membership) — not as m row numbers of eight bytes: SplitRows.take(start, stop)
finds the rows of split positions start…stop−1 from an anchor every ANCHOR positions. Drawing it takes the
permutation itself, 4 bytes a row, once; it is freed as soon as the bits are written.

Left out on purpose: reading files; what preparation does with the splits (prepare.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .messages import _error, _show

SPLITS = ("train", "val", "test")
ANCHOR = 4096  # split positions between two anchors of SplitRows (its index: 8 bytes per ANCHOR rows)
SCAN_ROWS = 1 << 16  # rows of the membership array looked at a time while anchoring


def _sizes(m: int, train: float, val: float, test: float) -> tuple[int, int, int]:
    """(n_train, n_val, n_test): n_val = round(val·m), n_test = round(test·m), train gets the rest (at least 1)."""
    fractions = {"train": train, "val": val, "test": test}
    for name, f in fractions.items():
        if not isinstance(f, (int, float)) or isinstance(f, bool) or not (0.0 <= f <= 1.0):
            raise _error(f"data.split.{name} must be a fraction between 0 and 1 (got {_show(f)})")
    if abs(train + val + test - 1.0) > 1e-6:
        raise _error(
            f"data.split fractions must add up to 1 (train {train} + val {val} + test {test} = {train + val + test:g})"
        )
    if m < 1:
        raise _error("the dataset has no examples")
    n_val, n_test = int(round(val * m)), int(round(test * m))
    n_train = m - n_val - n_test
    if n_train < 1:
        raise _error(
            f"the train split would be empty: {m} examples, {n_val} for val and {n_test} for test; "
            "lower data.split.val / data.split.test"
        )
    return n_train, n_val, n_test


class Membership:
    """Which split each of m rows belongs to, in two bit planes (np.packbits) of m bits each — row r is in val
    where bit r of `val` is set, in test where bit r of `test` is, else in train: 2 bits a row."""

    def __init__(self, m: int, val: np.ndarray, test: np.ndarray) -> None:
        self.m, self.val, self.test = int(m), val, test

    @classmethod
    def of(cls, m: int, val_rows: np.ndarray, test_rows: np.ndarray) -> "Membership":
        return cls(m, _plane(m, val_rows), _plane(m, test_rows))

    @property
    def nbytes(self) -> int:
        return self.val.nbytes + self.test.nbytes

    def mask(self, code: int, a: int, b: int) -> np.ndarray:
        """Whether each of rows a…b−1 is in split `code` (0 train, 1 val, 2 test): bool (b − a,)."""
        b = min(b, self.m)
        lo, off = a >> 3, a & 7

        def bits(plane: np.ndarray) -> np.ndarray:  # bits a…b−1 of a plane, one uint8 0 or 1 each
            return np.unpackbits(plane[lo : (b + 7) >> 3])[off : off + b - a]

        if code == 0:
            return (bits(self.val) | bits(self.test)) == 0
        return bits(self.val if code == 1 else self.test).view(bool)


def _plane(m: int, rows: np.ndarray) -> np.ndarray:
    """m bits in np.packbits' order (row r is bit 7 − r mod 8 of byte r div 8), set for each row of `rows`,
    SCAN_ROWS rows at a time: nothing of size m is made but the plane itself."""
    plane = np.zeros((m + 7) >> 3, np.uint8)
    for s in range(0, len(rows), SCAN_ROWS):
        r = rows[s : s + SCAN_ROWS]
        np.bitwise_or.at(plane, r >> 3, np.uint8(128) >> (r & 7).astype(np.uint8))
    return plane


@functools.lru_cache(maxsize=2)
def _membership(m: int, n_train: int, n_val: int, seed: int) -> Membership:
    """The split's Membership, made once per process and split.

    The permutation is default_rng(seed).permutation(m)'s own: Generator.permutation(m) shuffles arange(m),
    and a shuffle draws the same swaps whatever the array's dtype, so an int32 arange gives the same order
    in half the memory — 4 bytes a row while it is drawn, freed once the bit planes are written."""
    perm = np.arange(m, dtype=np.int32 if m < 2**31 else np.int64)
    np.random.default_rng(seed).shuffle(perm)
    return Membership.of(m, perm[n_train : n_train + n_val], perm[n_train + n_val :])


@dataclass(frozen=True)
class SplitSpec:
    """The seeded split of m rows into fractions train, val and test (they add up to 1; DataError otherwise)."""

    m: int
    train: float
    val: float
    test: float
    seed: int

    def __post_init__(self) -> None:
        _sizes(self.m, self.train, self.val, self.test)  # checked once, here

    @classmethod
    def of(cls, m: int, split: dict, seed: int) -> "SplitSpec":
        """From {"train": …, "val": …, "test": …} (a missing val or test is 0; a missing train the rest)."""
        val, test = float(split.get("val", 0.0)), float(split.get("test", 0.0))
        return cls(int(m), float(split.get("train", 1.0 - val - test)), val, test, int(seed))

    def sizes(self) -> dict[str, int]:
        """Rows per split, by arithmetic alone (no permutation is drawn)."""
        return dict(zip(SPLITS, _sizes(self.m, self.train, self.val, self.test)))

    def rows(self, name: str) -> "SplitRows":
        """The rows of split `name` (train, val or test), made once per process (their anchors with them)."""
        return _split_rows(self, name)


@functools.lru_cache(maxsize=6)
def _split_rows(spec: SplitSpec, name: str) -> "SplitRows":
    n_train, n_val, n_test = _sizes(spec.m, spec.train, spec.val, spec.test)
    n = {"train": n_train, "val": n_val, "test": n_test}[name]
    if n in (0, spec.m):  # no row or every row: no draw needed, and nothing of size m is made
        return SplitRows(n, None, SPLITS.index(name), first=0)
    return SplitRows(n, _membership(spec.m, n_train, n_val, spec.seed), SPLITS.index(name))


class SplitRows:
    """The rows of one split, in file order: n of them, the rows of split `code` in `membership` (None: the rows
    first … first + n − 1). take(start, stop) gives the row numbers of split positions start…stop−1, so that a
    split is read a chunk at a time without m row numbers in memory."""

    def __init__(self, n: int, membership: Optional[Membership], code: int, first: Optional[int] = None) -> None:
        self.n, self.membership, self.code, self.first = int(n), membership, code, first
        self._anchors: Optional[np.ndarray] = None
        if membership is not None and first is None and self.n:
            anchors = self._anchor()
            last = int(self.take(self.n - 1, self.n)[0])
            self.first = int(anchors[0]) if last - int(anchors[0]) + 1 == self.n else None  # one run of rows: slices

    @classmethod
    def of(cls, rows: np.ndarray, m: int) -> "SplitRows":
        """The SplitRows of sorted, distinct row numbers `rows` out of m."""
        return cls(len(rows), Membership.of(m, rows, np.empty(0, np.intp)), 1)

    def __len__(self) -> int:
        return self.n

    def take(self, start: int, stop: int) -> np.ndarray:
        """Row numbers (int64) of split positions start…stop−1 (0 ≤ start; a stop past n is taken as n)."""
        stop = min(stop, self.n)
        if self.first is not None:
            return np.arange(self.first + start, self.first + stop, dtype=np.int64)
        if stop <= start:
            return np.empty(0, np.int64)
        anchors = self._anchors if self._anchors is not None else self._anchor()
        pos = (start // ANCHOR) * ANCHOR
        row, need, found, m = int(anchors[start // ANCHOR]), stop - pos, [], self.membership.m
        step = max(ANCHOR, -(-need * m // max(1, self.n)) + ANCHOR)  # the rows that usually hold them
        while need > 0 and row < m:
            hits = np.flatnonzero(self.membership.mask(self.code, row, row + step)) + row
            found.append(hits[:need])
            need -= len(found[-1])
            row += step
        return np.concatenate(found)[start - pos :].astype(np.int64, copy=False) if found else np.empty(0, np.int64)

    def indices(self) -> np.ndarray:
        """Every row of the split, sorted (int64): what a split held in memory is gathered with."""
        return self.take(0, self.n)

    def _anchor(self) -> np.ndarray:
        """The row of every ANCHOR-th split position, from one pass over the membership, SCAN_ROWS rows at a
        time (nothing of size m is made)."""
        parts, seen, m = [], 0, self.membership.m
        for s in range(0, m, SCAN_ROWS):
            hits = np.flatnonzero(self.membership.mask(self.code, s, s + SCAN_ROWS))
            first = -(-seen // ANCHOR) * ANCHOR - seen  # the first anchor position inside this block
            parts.append(hits[first::ANCHOR] + s)
            seen += len(hits)
        self._anchors = np.concatenate(parts) if parts else np.zeros(1, np.int64)
        return self._anchors


def split_indices(m: int, train: float, val: float, test: float, seed: int) -> dict[str, np.ndarray]:
    """Row indices of each split (sorted int64 arrays, empty for an empty split), from one seeded shuffle:
    n_val = round(val·m), n_test = round(test·m), train gets the rest (at least 1); see SplitSpec."""
    spec = SplitSpec(m, train, val, test, seed)
    return {name: spec.rows(name).indices() for name in SPLITS}
