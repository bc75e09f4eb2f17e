"""What a run trains on: a config with its data read, checked against the model, split and encoded.

    load_problem(cfg, *, lazy, table)    the Problem: the architecture, the preprocessing fitted on the train
                                         split, each split's rows (X (m, n), Y (m, k)), the ZCA when data.whiten
    check_widths(cfg, table)             model.layers against the data's features and classes or targets
    initial_params(cfg, arch, dtype)     model.init: seeded random weights, or a checkpoint's

Left out on purpose: the run folder, training and printing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import checkpoint as ckpt
from . import data as data_mod
from . import network
from . import whiten as whiten_mod
from .config import Config
from .errors import ConfigError
from .network import Architecture, Params
from .objective import Source
from .sums import Backprop
from .train import chunk_width


@dataclass
class Problem:
    """A config with its data read, checked against the model, split and encoded."""

    cfg: Config
    arch: Architecture
    prep: data_mod.Preprocessing
    splits: dict[str, tuple[np.ndarray, np.ndarray]]  # name → (X (m, n), Y (m, k)), rows = examples
    dtype: type
    zca: Optional[whiten_mod.ZCA] = None  # data.whiten, fitted on the train split
    sources: dict = field(default_factory=dict)  # split → its source of sums, where the loader gives one (a cluster's)
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

    def columns(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """x (s_1, m), y (s_nl, m): examples in columns, contiguous, as the math core takes them.

        The transposed copy is made once per split and kept.
        """
        if split not in self._columns:
            X, Y = self.splits[split]
            if isinstance(X, data_mod.MappedRows):  # load_problem(lazy=True): read chunk by chunk while training
                y = Y if isinstance(Y, data_mod.MappedTargets) else np.ascontiguousarray(Y.T, dtype=self.dtype)
                self._columns[split] = (X.columns(), y)
            else:
                self._columns[split] = (np.ascontiguousarray(X.T, dtype=self.dtype), np.ascontiguousarray(Y.T, dtype=self.dtype))
        return self._columns[split]


def _class_count(table: data_mod.Table) -> int:
    y = np.asarray(table.y).reshape(len(table.y), -1)[:, 0]
    return len(np.unique(y))


def check_widths(cfg: Config, table: data_mod.Table) -> None:
    """model.layers[0] must be the feature count, layers[-1] the class count (or 1 for two classes) / target count."""
    layers = cfg.model.layers
    n = table.X.shape[1]
    where = cfg.where("model.layers")
    if layers[0] != n:
        raise ConfigError(
            f"{where}: model.layers starts with {layers[0]} inputs but {table.path} has {n} feature columns: "
            f"set model.layers to [{n}, …]"
        )
    if cfg.data.task == "autoencode":  # y = x: the config already holds the output as wide as the input
        return
    if cfg.data.task == "classification":
        k = _class_count(table)
        ok = layers[-1] == k or (k == 2 and layers[-1] == 1)
        want = f"{k}" + (" (or 1 with a sigmoid output)" if k == 2 else "")
    else:
        k = table.y.shape[1] if table.y.ndim == 2 else 1
        ok, want = layers[-1] == k, f"{k}"
    if not ok:
        what = "classes" if cfg.data.task == "classification" else "target columns"
        raise ConfigError(
            f"{where}: model.layers ends with {layers[-1]} outputs but {table.path} has {k} {what}: "
            f"set the last layer size to {want}"
        )


def read_data(cfg: Config, path: Any, **kwargs: Any) -> data_mod.Table:
    """A data file read as the config's task reads it: read_table, or (autoencode) its inputs alone."""
    if cfg.data.task == "autoencode":
        return data_mod.read_inputs(path, cfg.data.target, cfg.data.delimiter, cfg.data.features)
    return data_mod.read_table(path, cfg.data.target, cfg.data.delimiter, cfg.data.task, features=cfg.data.features,
                               **kwargs)


def load_problem(cfg: Config, *, lazy: bool = False, table: Optional[data_mod.Table] = None) -> Problem:
    """Read cfg's data, check the widths, split and encode it (nothing is written). table: the data
    already in memory (data.table_of_arrays), instead of reading data.path.

    lazy (fit): a memory-mapped .npy's train split stays on disk, read chunk by chunk (not with
    data.whiten or task autoencode, which need the split in memory). data.whiten: ZCA fitted on the
    (standardised) train split, applied to every split. autoencode: each split's Y is its X.
    """
    arch = cfg.architecture()
    table = read_data(cfg, cfg.data.path) if table is None else table
    check_widths(cfg, table)
    dtype = np.dtype(cfg.train.dtype).type
    split = {"train": cfg.data.split.train, "val": cfg.data.split.val, "test": cfg.data.split.test}
    lazy = lazy and cfg.data.whiten is None and cfg.data.task != "autoencode"
    scale = None if cfg.data.scale is None else (cfg.data.scale.min, cfg.data.scale.max)
    splits, prep = data_mod.prepare(table, split, cfg.data.standardize, cfg.seed, cfg.model.layers[-1], dtype, lazy,
                                    lazy_targets=lazy, scale=scale)
    zca = None
    if cfg.data.whiten is not None:
        zca = whiten_mod.ZCA.fit(splits["train"][0], cfg.data.whiten.epsilon)
        splits = {k: (zca.apply(X, dtype), Y) for k, (X, Y) in splits.items()}
    if cfg.data.task == "autoencode":
        splits = {k: (X, X) for k, (X, _) in splits.items()}  # y = x: the preprocessed input is the target
    return Problem(cfg, arch, prep, splits, dtype, zca)


def initial_params(cfg: Config, arch: Architecture, dtype: type, rng: Optional[np.random.Generator] = None) -> Params:
    """From model.init: seeded random weights (drawn from rng, default_rng(seed) when not given), or a
    checkpoint's weights (shapes checked)."""
    init = cfg.model.init
    if init.from_ is not None:
        params, _ = ckpt.load_checkpoint(Path(init.from_), shapes=arch.shapes())
        return Params({l: w.astype(dtype) for l, w in params.W.items()}, {l: v.astype(dtype) for l, v in params.b.items()})
    rng = np.random.default_rng(cfg.seed) if rng is None else rng
    return network.init_params(arch.layers, init.scheme, rng, std=init.std, dtype=dtype)
