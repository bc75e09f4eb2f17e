"""A cluster's share of a run's splits: which rows each partition holds, how a worker reads and keeps them,
and the additive sums a partition returns.

Everything here runs as plain functions on plain data, with no Dask in sight: the client (session.py)
ships a Recipe to a worker once per run, and the worker builds a Part from it — reading its own rows
from the data file, never receiving them from the client — and keeps it in memory for the whole run.
Each step then asks every Part for its sums at θ:

    Part.sums(θ)         (Σᵢ loss, [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ]) over the partition's rows (sums.Backprop)
    Part.forward_sums(θ, measure)  Σᵢ loss and measure(h, y) per chunk: the forward pass alone, for metrics
    part_apply(job)      fn(X) of a partition's rows: a part's sums for data.prepare (standardisation, whitening)

A further pass of additive sums (a sparsity term's Σᵢ a⁽ˡ⁾ before the gradient pass) is one more method of
Part with the same shape: θ in, arrays out, added on the client in partition order.

Partition p of a split holds its rows [p·w, (p+1)·w), w = ⌈m_train/partitions⌉ for every split (the train
split's partition width), in the split's sorted order: exactly the chunks a local run with train.chunk_size = w
sums over, so the two agree bit for bit — the validation and test splits as much as the train split.

Left out on purpose: connecting, scheduling, retrying (session.py); what the split and the preprocessing
are (data.SplitSpec, data.prepare_rows), which arrive here as plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .. import data as data_mod
from .. import whiten as whiten_mod
from ..network import Architecture, flat_params
from ..objective import ForwardSums, Measure
from ..sums import Backprop


def bounds(m: int, partitions: int) -> list[tuple[int, int]]:
    """Row ranges [s, e) of the partitions: w = ⌈m/partitions⌉ rows each, the last one shorter (as
    sums.Backprop's chunks of width w; fewer than `partitions` of them when w·(partitions − 1) ≥ m)."""
    w = -(-m // max(1, min(int(partitions), m)))
    return [(s, min(s + w, m)) for s in range(0, m, w)]


def ranges(n: int, width: int) -> list[tuple[int, int]]:
    """[s, e) of width rows each over n rows, the last one shorter: a split's partitions, all of the train
    split's width (so that every split is summed in the chunks a local run with that chunk size sums)."""
    return [(s, min(s + width, n)) for s in range(0, n, max(1, width))]


@dataclass(frozen=True)
class FileRows:
    """Where a partition's rows are: the data file as data.read_table reads it, and which of its rows — split
    positions start…stop−1 of split `split` of data.SplitSpec `spec`, which the worker draws itself (nothing of
    size m travels, nor is made on the client), or with spec None the file's rows start…stop−1."""

    path: str
    target: Optional[list]
    delimiter: Optional[str]
    task: str
    n_features: int  # features come first in a .npy file; its other columns are the target's
    target_columns: Optional[list]  # .npy only: the target's column numbers
    spec: Optional[data_mod.SplitSpec] = None
    split: str = "train"
    start: int = 0
    stop: int = 0

    def __len__(self) -> int:
        return self.stop - self.start

    def rows(self) -> np.ndarray:
        """The partition's file rows, sorted (int64)."""
        if self.spec is None:
            return np.arange(self.start, self.stop, dtype=np.int64)
        return self.spec.rows(self.split).take(self.start, self.stop)


def read_partition(src: FileRows) -> tuple[np.ndarray, np.ndarray]:
    """(X rows (w, n), raw targets (w,) or (w, k)) of the partition, read on the worker.

    A .npy file is mapped and only these rows are read (fancy indexing a memory map touches their pages
    alone). Other files through data.read_rows, the span of rows from the partition's first to its last
    (a csv's bytes before it are scanned, not parsed; a parquet file's other row groups are not read).
    """
    rows = src.rows()
    if data_mod.file_kind(src.path) == ".npy":
        block = np.load(src.path, mmap_mode="r", allow_pickle=False)[rows]  # (w, columns): these rows only
        y = block[:, src.target_columns]
        return block[:, : src.n_features], (y if src.task == "regression" else y[:, 0])
    first, last = int(rows[0]), int(rows[-1])
    table = data_mod.read_rows(src.path, first, last + 1, src.target, None, src.delimiter, src.task)
    return np.asarray(table.X[rows - first]), table.y[rows - first]


def part_apply(job: tuple) -> Any:
    """fn(X, *args) over a partition's raw feature rows X, read here: one part's additive sums for the one
    preparation path (data.prepare: Σx, Σ(x − μ)², Σx̂, Σ(x̂ − μ)ᵀ(x̂ − μ)). job: (FileRows, fn, args)."""
    src, fn, args = job
    X, _ = read_partition(src)
    return fn(np.asarray(X), *args)


@dataclass(frozen=True)
class Recipe:
    """Everything a worker needs to build a Part: plain data, sent once per run (not per step)."""

    src: FileRows
    layers: tuple
    activation: str
    output_activation: str
    loss: str
    dtype: str
    preprocessing: dict  # data.Preprocessing.to_meta(): μ, σ, the label set
    chunk_size: Optional[int]  # examples per chunk inside the partition; None: the partition is one chunk
    whitening: Optional[dict] = None  # whiten.ZCA.to_meta(): applied after the standardisation


def build_part(recipe: Recipe) -> "Part":
    """The worker's task: read the rows, standardise them and encode the targets as data.prepare does,
    and set up the partition's backprop."""
    return Part(recipe)


class Part:
    """One partition of a split (train, val or test), held in a worker's memory for the whole run.

    x̂ = (x − μ)/σ computed in float64 and then cast, as data.Preprocessing.transform_x does; targets
    encoded by data.Preprocessing.encode_y. BLAS is held to one thread in the worker (one task per
    thread), which also keeps the products' bits the same as a local run's on one thread.

    Pickled (Dask moves or spills it), a Part travels as its Recipe and is rebuilt from the file.
    """

    def __init__(self, recipe: Recipe) -> None:
        from ..parallel import blas_limited

        blas_limited(1)  # for this worker process, for good: every task here is one thread's work
        self.recipe = recipe
        pre = data_mod.Preprocessing.from_meta(recipe.preprocessing)
        dtype = np.dtype(recipe.dtype)
        X, y_raw = read_partition(recipe.src)
        xhat = pre.transform_x(X, dtype)
        if recipe.whitening is not None:  # data.whiten, as problem.load_problem applies it
            xhat = whiten_mod.from_meta(recipe.whitening, xhat.shape[1]).apply(xhat, dtype)
        x = np.ascontiguousarray(xhat.T)  # (s_1, w): examples in columns
        y = np.ascontiguousarray(pre.encode_y(y_raw, recipe.src.path, dtype).T)
        arch = Architecture(tuple(recipe.layers), recipe.activation, recipe.output_activation, recipe.loss)
        self.m = int(x.shape[1])
        self.bp = Backprop(arch, x, y, 0.0, dtype, recipe.chunk_size)
        self.theta = flat_params(arch.layers, dtype)  # θ is copied here every step: Backprop keeps its views
        self._nbytes = x.nbytes * 2 + y.nbytes * 2 + sum(ws.G.vec.nbytes for ws in self.bp.workspaces)

    def _at(self, theta: np.ndarray) -> Any:
        np.copyto(self.theta.vec, theta, casting="unsafe")
        return self.theta

    def sums(self, theta: np.ndarray, delta_terms: Optional[list] = None) -> tuple[float, np.ndarray]:
        """(Σᵢ loss, [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ]) over the partition at θ (a flat vector), not divided by m.
        delta_terms: the sparsity penalty's hidden-δ term per layer (sums.Backprop.sums)."""
        with np.errstate(over="ignore", invalid="ignore"):  # as train.minimize: a non-finite J is judged there
            s = self.bp.sums(self._at(theta), delta_terms)
        return s.loss, s.G.copy()  # a copy: the buffer is overwritten by the next step

    def activation_sums(self, theta: np.ndarray) -> dict:
        """{l: Σᵢ a⁽ˡ⁾} over the partition for each hidden layer: the sparsity penalty's first pass."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.bp.activation_sums(self._at(theta))

    def forward_sums(self, theta: np.ndarray, measure: Optional[Measure] = None) -> ForwardSums:
        """Σᵢ loss and measure(h, y) of each chunk at θ: the forward pass alone (sums.Backprop.forward_sums)."""
        return self.bp.forward_sums(self._at(theta), measure)

    def __reduce__(self) -> tuple:
        return build_part, (self.recipe,)

    def __sizeof__(self) -> int:
        """What the partition holds (Dask's sizeof reads this: a partition is too big to move lightly)."""
        return self._nbytes


def part_sums(part: Part, theta: np.ndarray) -> tuple[float, np.ndarray]:
    return part.sums(theta)


def part_sums_with(part: Part, payload: np.ndarray) -> tuple[float, np.ndarray]:
    """part.sums with the penalty's hidden-δ terms, sent with θ as one vector (one scatter a step):
    θ first, then each hidden layer's column, in layer order."""
    layers = part.recipe.layers
    n = part.theta.vec.size
    delta_terms: list = [None] * (len(layers) + 1)
    at = n
    for l in range(2, len(layers)):
        delta_terms[l] = payload[at : at + layers[l - 1]].reshape(-1, 1)
        at += layers[l - 1]
    return part.sums(payload[:n], delta_terms)


def part_activation_sums(part: Part, theta: np.ndarray) -> dict:
    return part.activation_sums(theta)


def part_forward_sums(part: Part, theta: np.ndarray, measure: Optional[Measure] = None) -> ForwardSums:
    """(Σᵢ loss, [measure(h, y) per chunk]) at θ: the client adds a few small arrays per partition, never rows."""
    return part.forward_sums(theta, measure)


def scan_span(src: FileRows) -> Optional[list]:
    """The labels present in the file's rows src.start…src.stop−1 (a classification's label set is the union
    over the spans), for a client that reads no rows of the file."""
    t = data_mod.read_rows(src.path, src.start, src.stop, src.target, None, src.delimiter, src.task)
    return [v.item() if isinstance(v, np.generic) else v for v in np.unique(t.y)]
