"""What a run trains on: a config with its data read, checked against the model, split and encoded.

    load_problem(cfg, *, lazy, table, session)   the Problem: the architecture, the preprocessing fitted on
                                         the train split, each split's rows (X (m, n), Y (m, k)) or sources of
                                         sums, the whitening (ZCA or PCA) when data.whiten — one path
                                         (data.prepare_rows) for rows in memory, a .npy's memory map, or a
                                         cluster's workers (session)
    read_data(cfg, path)                 the data file read as the config reads it; for the config's own file,
                                         the rows of data.labels kept and data.transform's features made
    check_widths(cfg, rows, labels)      model.layers against the data's features and classes or targets
    initial_params(cfg, arch, dtype)     model.init: seeded random weights, a checkpoint's, or per layer from
                                         several runs (a stacked network), shapes checked

Left out on purpose: the run folder, training and printing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import checkpoint as ckpt
from . import data as data_mod
from . import network
from . import whiten as whiten_mod
from .config import Config
from .errors import CheckpointError, ConfigError, DataError
from .network import Architecture, Params
from .objective import Source
from .runfolder import checkpoint_of
from .sums import Backprop
from .train import chunk_width
from .trained import features_of


@dataclass
class Problem:
    """A config with its data read, checked against the model, split and encoded."""

    cfg: Config
    arch: Architecture
    prep: data_mod.Preprocessing
    splits: dict[str, tuple[Any, Any]]  # name → (X (m, n), Y (m, k)), rows = examples: arrays, or read by the chunk
    dtype: type
    zca: Optional[whiten_mod.Whitening] = None  # data.whiten, fitted on the train split
    sources: dict = field(default_factory=dict)  # split → its source of sums, where the loader gives one (a cluster's)
    sizes: dict = field(default_factory=dict)  # split → its examples (an empty split: 0)
    transform: Any = None  # data.transform's features.Features: what the rows of data.path were made into
    notes: list = field(default_factory=list)  # what the data suggests the config may not mean (a row id as a feature)
    encoded: list = field(default_factory=list)  # what data.missing and data.categorical did (rows dropped, filled)
    _columns: dict = field(default_factory=dict, repr=False)

    def sums(self, split: str) -> Optional[Source]:
        """The split's source of sums (objective.Source: its metrics; on a cluster, the train split's training
        too): the one the loader gave, else a Backprop over columns(split) in chunks of the width training
        uses, made once. None for an empty split."""
        if split not in self.sources:
            if split not in self.splits or len(self.splits[split][0]) == 0:
                return None
            x, y = self.columns(split)
            m = int(x.shape[1])
            self.sources[split] = Backprop(self.arch, x, y, 0.0, self.dtype,
                                           chunk_width(self.arch, m, self.cfg.train.chunk_size, self.dtype))
        return self.sources[split]

    def columns(self, split: str) -> tuple[Any, Any]:
        """x (s_1, m), y (s_nl, m): examples in columns, as the math core takes them — contiguous arrays (the
        transposed copy made once per split and kept), or column sources read a chunk at a time (a split left
        in a memory map: data.MappedRows, MappedTargets)."""
        if split not in self._columns:
            X, Y = self.splits[split]
            if isinstance(X, data_mod.MappedRows):  # load_problem(lazy=True): read chunk by chunk
                y = Y.columns() if isinstance(Y, data_mod.MappedRows) else Y  # an autoencoder's y is x̂ again
                self._columns[split] = (X.columns(), y)
            else:
                self._columns[split] = (np.ascontiguousarray(X.T, dtype=self.dtype),
                                        np.ascontiguousarray(Y.T, dtype=self.dtype))
        return self._columns[split]


def check_widths(cfg: Config, rows: data_mod.Rows, labels: Optional[list]) -> None:
    """model.layers[0] must be the feature count (PCA whitening: its k, when components gives it), layers[-1] the
    class count (or 1 for two classes) / target count. rows: the data (data.Rows); labels: its label set
    (classification), from rows.labels()."""
    layers = cfg.model.layers
    n = len(rows.feature_names)
    where = cfg.where("model.layers")
    encoding = getattr(getattr(rows, "table", None), "encoding", None)
    if cfg.data.transform is not None:
        what = (f"data.transform makes {n} features (hidden layer {cfg.data.transform.layers + 1} of "
                f"{cfg.data.transform.from_})")
    else:
        chosen = "" if cfg.data.features else ": every column but the target"
        what = f"{rows.path} has {n} feature columns ({_names(rows.feature_names)}{chosen})"
        if encoding is not None and encoding.categorical:  # one input per category
            what = (f"{rows.path} has {n} inputs ({len(encoding.columns)} feature columns, "
                    f"{', '.join(encoding.categorical)} one-hot)")
    w = cfg.data.whiten
    if w is not None and w.method == "pca" and w.components is not None:
        if w.components > n:
            raise ConfigError(f"{cfg.where('data.whiten.components')}: data.whiten.components is {w.components} but "
                              f"{what}: keep at most {n}")
        if layers[0] != w.components:
            raise ConfigError(f"{where}: model.layers starts with {layers[0]} inputs but data.whiten keeps "
                              f"{w.components} PCA components: set model.layers to [{w.components}, …]")
    elif not (w is not None and w.method == "pca") and layers[0] != n:  # PCA by retain: checked once fitted
        fix = "" if cfg.data.transform is not None else ", or choose the columns with data.features"
        raise ConfigError(f"{where}: model.layers starts with {layers[0]} inputs but {what}: set model.layers to "
                          f"[{n}, …]{fix}")
    if cfg.data.task == "autoencode":  # y = x: the config already holds the output as wide as the input
        return
    if cfg.data.task == "classification":
        k = len(labels or [])
        ok = layers[-1] == k or (k == 2 and layers[-1] == 1)
        want = f"{k}" + (" (or 1 with a sigmoid output)" if k == 2 else "")
    else:
        k = len(rows.target_names)
        ok, want = layers[-1] == k, f"{k}"
    if not ok and cfg.data.task == "classification" and looks_continuous(labels or [], rows.m):
        name = rows.target_names[0] if rows.target_names else "the target"
        raise ConfigError(
            f"{where}: {rows.path}'s target {name!r} has {k} different values in {rows.m} rows: a quantity to "
            f"predict, not classes — set data.task: regression (its last layer: 1 output per target column); "
            f"for {k} classes, set the last layer size to {k}"
        )
    if not ok:
        what = "classes" if cfg.data.task == "classification" else "target columns"
        kept = " (the rows of data.labels)" if cfg.data.labels is not None else ""
        raise ConfigError(
            f"{where}: model.layers ends with {layers[-1]} outputs but {rows.path}{kept} has {k} {what}: "
            f"set the last layer size to {want}"
        )


CONTINUOUS_MIN_VALUES = 50  # a class column with more different values than this and than a fifth of the rows …


def looks_continuous(labels: list, m: int) -> bool:
    """Whether a target read as class labels looks like a quantity: numbers that are not all whole, or more
    different values than CONTINUOUS_MIN_VALUES and than a fifth of the rows (a price, not ten digits)."""
    if not labels or isinstance(labels[0], str):
        return False
    fractional = any(float(v) != int(v) for v in labels if isinstance(v, (int, float)) and abs(v) < 2**53)
    return (fractional and len(labels) > 2) or len(labels) > max(CONTINUOUS_MIN_VALUES, m / 5)


def _names(names: list, limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _check_pca_width(cfg: Config, whitening: Any, n: int) -> None:
    """PCA whitening by retain: k is known once fitted on the train split; model.layers must start with it."""
    layers = cfg.model.layers
    if isinstance(whitening, whiten_mod.PCA) and layers[0] != whitening.width:
        k = whitening.width
        raise ConfigError(f"{cfg.where('model.layers')}: model.layers starts with {layers[0]} inputs but PCA whitening "
                          f"keeping {cfg.data.whiten.retain:g} of the train split's variance keeps k = {k} of its {n} "
                          f"directions: set model.layers to [{k}, …] (or give data.whiten.components)")


def _whitening(cfg: Config) -> Any:
    """What prepare_rows fits for data.whiten: whiten.of_covariance with its keys (None: no whitening)."""
    w = cfg.data.whiten
    if w is None:
        return None
    return functools.partial(whiten_mod.of_covariance, method=w.method, epsilon=w.epsilon, retain=w.retain,
                             components=w.components)


def read_data(cfg: Config, path: Any, *, transform: Any = None, encoding: Optional[data_mod.Encoding] = None,
              **kwargs: Any) -> data_mod.Table:
    """A data file read as the config's task reads it: read_table, or (autoencode) its inputs alone. The
    config's own data.path, missing, is named with the config's line (or --set) that gave it; its rows are then
    those of data.labels, made into data.transform's features (transform: the features.Features, when already
    loaded: a trained run's, checked against what it was trained on).

    With data.categorical or data.missing, a raw table (data.ColumnRules) — or, given a trained model's encoding,
    its columns made numbers as the model's were (a category the train split lacked: all zeros, as in the fit)."""
    d = cfg.data
    own = Path(path) == Path(d.path)
    if own and not Path(path).exists():
        raise DataError(f"{cfg.where('data.path')}: data.path: {path} does not exist: check the path (a relative "
                        "path is read from the config file's folder; one given with --set, from the current folder)")
    if d.task == "autoencode" and not (own and d.labels is not None):
        table = data_mod.read_inputs(path, d.target, d.delimiter, d.features)
    else:  # an autoencoder's rows chosen by label: the label column read, to be left out of x below
        task = "classification" if d.task == "autoencode" else d.task
        rules = data_mod.ColumnRules.of(d.categorical if encoding is None else encoding.categorical, d.missing,
                                        fitted=encoding is not None)
        table = data_mod.read_table(path, d.target, d.delimiter, task, features=d.features, rules=rules, **kwargs)
        table = table if encoding is None else encoding.apply(table, unknown="ignore")
    return derived_table(cfg, table, transform) if own else table


def derived_table(cfg: Config, table: data_mod.Table, transform: Any = None) -> data_mod.Table:
    """The config's data as the network takes it: the rows whose label is one of data.labels (in file order), each
    made into data.transform's features (transform: already loaded, or loaded here). A table without either key
    is returned as it is."""
    d = cfg.data
    if d.labels is None and d.transform is None:
        return table
    X, y, lines, names = table.X, table.y, table.lines, list(table.feature_names)
    if d.labels is not None:
        keep = _labelled_rows(cfg, table)
        X, y = np.asarray(X[keep]), np.asarray(y)[keep]
        lines = None if lines is None else [lines[i] for i in keep]
    if d.transform is not None:
        transform = transform if transform is not None else features_of(cfg)
        X, names = transform.apply(X, table.path), transform.feature_names
    if d.task == "autoencode":  # y = x: the kept rows' inputs (or features)
        return data_mod.Table(X, X, names, names, table.path, lines)
    return data_mod.Table(X, y, names, list(table.target_names), table.path, lines)


def _labelled_rows(cfg: Config, table: data_mod.Table) -> np.ndarray:
    """The rows (sorted) whose label is one of data.labels; DataError naming the first label the data lacks."""
    labels, y = cfg.data.labels, np.asarray(table.y)
    if y.ndim != 1:
        raise DataError(f"{cfg.where('data.labels')}: data.labels needs one label per row of {table.path} (got "
                        f"targets of shape {y.shape})")
    uniques, inverse = np.unique(y, return_inverse=True)
    found = [u.item() if hasattr(u, "item") else u for u in uniques]
    missing = [v for v in labels if v not in found]
    if missing:
        shown = ", ".join(map(str, found[:12])) + (", …" if len(found) > 12 else "")
        raise DataError(f"{cfg.where('data.labels')}: data.labels: {missing[0]!r} is not a label of {table.path} "
                        f"(its labels: {shown})")
    wanted = np.array([v in labels for v in found], dtype=bool)
    return np.flatnonzero(wanted[inverse.reshape(-1)])


def load_problem(cfg: Config, *, lazy: bool = False, table: Optional[data_mod.Table] = None, session: Any = None,
                 fitted: Optional[tuple] = None, names: tuple = data_mod.SPLITS) -> Problem:
    """Read cfg's data, check the widths, split it, fit the preprocessing on the train split and encode it
    (nothing is written) — one path (data.prepare_rows) for rows in memory, in a memory map, or on a cluster.

    table: the data already in memory (data.table_of_arrays), instead of data.path's file. lazy (fit, eval): a
    memory-mapped .npy's splits stay on disk, every one, read a chunk at a time (data.MappedRows), its target
    column too: memory beyond the map is bounded by the chunk, whatever m is. session (a cluster.session
    .Session): the data stays on the workers, which supply every sum and hold every split (Problem.sources);
    this process reads the file's header alone. fitted: (Preprocessing, whitening) of a trained run (eval):
    nothing is fitted, the run's own preprocessing is applied. names: the splits to hold (the others are sized
    only). data.labels, data.transform: the rows kept and made into features before the split (read_data).
    data.whiten: ZCA or PCA fitted on the (standardised) train split, applied to every split; autoencode: each
    split's Y is its X.
    """
    d = cfg.data
    transform = None
    if session is not None:
        from .cluster.session import ClusterRows

        rows: Any = ClusterRows(session, cfg)
    else:  # data.labels' rows as data.transform's features; data.categorical's one-hot columns and data.missing's
        # fills, fitted on the train split (load.py refuses those two beside data.labels or data.transform)
        transform = features_of(cfg)
        if table is None:  # a .npy's target column left in the map when its splits are (lazy)
            npy = data_mod.file_kind(d.path) == ".npy"
            table = read_data(cfg, d.path, encoding=None if fitted is None else fitted[0].encoding,
                              transform=transform, **({"scan_targets": True} if lazy and npy else {}))
        else:
            table = derived_table(cfg, table, transform)
        if table.levels is not None:  # a raw table: text or empty cells
            train = data_mod.SplitSpec(len(table.X), d.split.train, d.split.val, d.split.test, cfg.seed).rows("train")
            table = data_mod.encode_train_split(table, train.indices(), d.missing)
        rows = data_mod.TableRows(table)
    spec = data_mod.SplitSpec(rows.m, d.split.train, d.split.val, d.split.test, cfg.seed)
    prepared = (_prepared(cfg, rows, spec, None if session is not None else rows.table.encoding) if fitted is None
                else data_mod.Prepared(fitted[0], fitted[1], spec))
    arch, dtype = cfg.architecture(), np.dtype(cfg.train.dtype).type
    out = Problem(cfg, arch, prepared.pre, {}, dtype, prepared.zca, sizes=spec.sizes(), transform=transform)
    if session is not None:
        out.sources = rows.sources(prepared, arch, np.dtype(dtype), cfg.train.chunk_size, names)
    else:
        out.splits = data_mod.held_splits(rows.table, prepared, dtype, lazy=lazy, autoencode=d.task == "autoencode",
                                          names=names)
        if fitted is None and d.features is None:  # said when a run is prepared, not when it is measured
            out.notes = [f"feature column {name!r} holds whole numbers that only ever increase ({first:g} … "
                         f"{last:g}): a row id? leave it out with data.features"
                         for name, first, last in row_ids(rows.table)]
        out.encoded = data_mod.notes(rows.table, d.missing)
    return out


def _prepared(cfg: Config, rows: Any, spec: data_mod.SplitSpec, encoding: Any) -> data_mod.Prepared:
    """The labels (a scan of rows), the widths checked against them, the preprocessing fitted on the train split
    (encoding: the table's data.categorical and data.missing encoding, kept with it)."""
    d = cfg.data
    labels = rows.labels() if rows.task == "classification" else None
    check_widths(cfg, rows, labels)
    pca_code = d.task == "autoencode" and d.whiten is not None and d.whiten.method == "pca"  # y = x: k components
    prepared = data_mod.prepare_rows(
        rows, spec, standardize=d.standardize, n_outputs=None if pca_code else cfg.model.layers[-1],
        dtype=np.dtype(cfg.train.dtype).type, labels=labels, whiten=_whitening(cfg), encoding=encoding,
        scale=None if d.scale is None else (d.scale.min, d.scale.max))
    _check_pca_width(cfg, prepared.zca, len(rows.feature_names))
    if pca_code:  # the outputs reproduce the whitened components, not the n inputs
        prepared.pre.target_names = [f"pc{j}" for j in range(1, prepared.zca.width + 1)]
    return prepared


ROW_ID_ROWS = 100_000  # the rows row_ids reads: enough to tell a counter, bounded for a file of any size
ROW_ID_BLOCK = 8_192  # of them read at a time: a memory map's first rows are not copied whole


def row_ids(table: data_mod.Table) -> list[tuple[str, float, float]]:
    """(name, first, last) of each feature column that looks like a row id: whole numbers strictly increasing
    down its first ROW_ID_ROWS rows (0 … m−1, or any counter). Taken as a feature, an id lets a network tell the
    rows apart rather than learn from them."""
    n = min(ROW_ID_ROWS, table.X.shape[0])
    if n < 3:
        return []
    counter, last = np.ones(table.X.shape[1], bool), None
    for s in range(0, n, ROW_ID_BLOCK):
        X = np.asarray(table.X[s : min(s + ROW_ID_BLOCK, n)], dtype=np.float64)
        counter &= np.all(X == np.round(X), axis=0) & np.all(np.diff(X, axis=0) > 0, axis=0)
        if last is not None:
            counter &= X[0] > last  # increasing across the blocks' seam too
        last = X[-1]
    first = np.asarray(table.X[0], dtype=np.float64)
    return [(str(table.feature_names[j]), float(first[j]), float(last[j])) for j in np.flatnonzero(counter)]


def initial_params(cfg: Config, arch: Architecture, dtype: type, rng: Optional[np.random.Generator] = None) -> Params:
    """From model.init: seeded random weights (drawn from rng, default_rng(seed) when not given), a checkpoint's
    weights (shapes checked), or — from a list, one entry per layer — every W⁽ˡ⁾ drawn, then those the list names
    replaced by the named run's W⁽ᴸ⁾, b⁽ᴸ⁾ (a stacked network; the draws come first, so the rng moves on alike)."""
    init = cfg.model.init
    if isinstance(init.from_, Path):
        params, _ = ckpt.load_checkpoint(checkpoint_of(init.from_), shapes=arch.shapes())
        return Params({l: w.astype(dtype) for l, w in params.W.items()}, {l: v.astype(dtype) for l, v in params.b.items()})
    rng = np.random.default_rng(cfg.seed) if rng is None else rng
    params = network.init_params(arch.layers, init.scheme, rng, std=init.std, dtype=dtype)
    for l, entry in enumerate(init.per_layer or [], start=1):
        if entry is not None:
            params.W[l], params.b[l] = _copied_layer(cfg, arch, l, entry, dtype)
    return params


def _copied_layer(cfg: Config, arch: Architecture, l: int, entry: Any, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """W⁽ᴸ⁾, b⁽ᴸ⁾ of the run entry names (entry.layer = L), as layer l of arch: (s_{l+1}, s_l), (s_{l+1},)."""
    where = f"{cfg.where(f'model.init.from.{l - 1}')}: model.init.from.{l - 1}"
    try:
        source, _ = ckpt.load_checkpoint(checkpoint_of(entry.run))
    except CheckpointError as e:
        raise ConfigError(f"{where}: {e}: train that run first (nettrain fit), or name the run folder it was "
                          "written to") from None
    L, want = entry.layer, (arch.layers[l], arch.layers[l - 1])
    if L not in source.W:
        raise ConfigError(f"{where}: layer is {L} but {entry.run} has weight layers 1 … {len(source.W)}: set layer to "
                          "one of them")
    got = source.W[L].shape
    if got != want:
        raise ConfigError(f"{where}: W{L} of {entry.run} is {got[0]}×{got[1]}, but W{l} of model.layers "
                          f"{list(arch.layers)} is {want[0]}×{want[1]}: name a layer of that shape")
    return source.W[L].astype(dtype), source.b[L].astype(dtype)
