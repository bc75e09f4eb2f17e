"""The run folder, and one plain function per command: fit, evaluate_run, predict_rows, gradcheck_run.

    runs/<name>/
        config.yaml               the resolved config (every default filled in)
        metrics.csv               one row per epoch e: the cost at the weights after e updates
        last.npz                  the latest state (written at epoch 0, every checkpoint, the end;
                                  a hard link to checkpoints/epoch-<e>.npz when that is the same state)
        best.npz                  the state with the lowest validation cost seen (when a val split exists)
        checkpoints/epoch-<e>.npz every log.checkpoint_every epochs

Everything a command needs is validated (config, data, widths, init checkpoint) before anything
is created on disk. Functions here return plain results and report progress through a Reporter;
they never print.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import operator
import os
import shlex
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence

import numpy as np

from . import network
from . import checkpoint as ckpt
from . import config as config_mod
from . import data as data_mod
from . import evaluate as ev
from . import gradcheck as gc
from . import parallel
from .config import Config
from . import listeners as ls
from . import optimizers, train
from . import whiten as whiten_mod
from .errors import CheckpointError, ClusterError, ConfigError, DataError, Diverged, Interrupted, RunIOError
from .network import Architecture, Cost, Params
from .objective import cost_names
from .train import chunk_width

RESUMABLE_KEYS = ("train.epochs", "train.threads", "log.every", "log.checkpoint_every", "log.train_cost",
                  "cluster")  # cluster.*: any
MAX_METRICS_LINE = 1 << 16  # bytes: a longer line in metrics.csv is not one nettrain wrote


class Reporter(Protocol):
    """What a command tells its caller while it works (the CLI renders it; tests may record it)."""

    def start(self, info: dict) -> None: ...
    def progress(self, epoch: int) -> None: ...
    def row(self, values: list, final: bool = False) -> None: ...  # one value per start()'s info['columns']
    def note(self, text: str) -> None: ...


class SilentReporter:
    def start(self, info: dict) -> None:
        pass

    def progress(self, epoch: int) -> None:
        pass

    def row(self, values: list, final: bool = False) -> None:
        pass

    def note(self, text: str) -> None:
        pass


# ----------------------------------------------------------------------------- data for a config


@dataclass
class Problem:
    """A config with its data read, checked against the model, split and encoded."""

    cfg: Config
    arch: Architecture
    prep: data_mod.Preprocessing
    splits: dict[str, tuple[np.ndarray, np.ndarray]]  # name → (X (m, n), Y (m, k)), rows = examples
    dtype: type
    zca: Optional[whiten_mod.ZCA] = None  # data.whiten, fitted on the train split
    _columns: dict = field(default_factory=dict, repr=False)

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


def load_problem(cfg: Config, lazy: bool = False, table: Optional[data_mod.Table] = None) -> Problem:
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


# ----------------------------------------------------------------------------- metrics history


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
        restart = ("start a new run from these weights with --set model.init.scheme=null --set model.init.std=null "
                   f"--set {shlex.quote(f'model.init.from={ckpt_path}')}")
        try:
            n, digest = int(record["rows"]), str(record["sha256"])
            if n < 1 or record["columns"] != columns:
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


def _size(path: Path) -> int:
    """The file's size in bytes, or −1 when it cannot be read (then it is rewritten, or that fails clearly)."""
    try:
        return path.stat().st_size
    except OSError:
        return -1


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


# ----------------------------------------------------------------------------- fit


@dataclass
class FitResult:
    run_dir: Path
    epoch: int
    cost: Cost
    reason: str
    history: History
    train: Optional[dict]
    val: Optional[dict]
    test: Optional[dict]
    resumed_from: Optional[int]
    swept: list[Path]
    notes: list[str] = field(default_factory=list)  # what the run said as it went (rising J, how it ended)
    best: Optional[tuple[float, int]] = None  # (val J_data, epoch) of best.npz
    trained: Optional["Loaded"] = None  # a run that wrote no folder (write=False): its model, as a checkpoint would load
    best_params: Optional[Params] = None  # and, with early stopping, its best state (best.npz's, kept in memory)


class SplitMetrics:
    """J, J_data, J_reg and accuracy (classification) or MSE/RMSE/R² of one set of examples x (s_1, m),
    y (s_nl, m), at any params: set up once (network.Backprop: buffers, chunks of the width training
    uses, so memory stays bounded), then one forward pass per call. `full` adds the confusion matrix;
    without it, a call is cheap enough for every epoch of a run (the validation columns)."""

    def __init__(self, arch: Architecture, x: Any, y: Any, lam: float, task: str, labels: list,
                 chunk_size: Optional[int] = None, sparsity: Optional[network.Sparsity] = None) -> None:
        dtype = y.dtype
        self.arch, self.lam, self.task, self.labels, self.sparsity = arch, lam, task, labels, sparsity
        self.m = int(x.shape[1])
        self.forward = network.Backprop(arch, x, y, 0.0, dtype, chunk_width(arch, self.m, chunk_size, dtype))
        self.y = y
        self.in_memory = isinstance(y, np.ndarray)  # else a split read from disk: its metrics chunk by chunk
        self.true = ev.predicted_classes(y.T) if task == "classification" and self.in_memory else None

    def __call__(self, params: Params, full: bool = True) -> dict:
        if self.in_memory:
            J_data, h = self.forward.outputs(params)
            metrics = (ev.regression_metrics(h.T, self.y.T) if self.task != "classification"
                       else ev.classification_metrics(h.T, self.y.T, self.labels) if full
                       else {"accuracy": float(np.count_nonzero(ev.predicted_classes(h.T) == self.true)) / self.m})
        else:
            J_data, metrics = self._by_chunks(params)
        J_reg = network.reg_cost(params.W, self.lam) if full else 0.0
        out = {"cost": J_data + J_reg, "data_cost": J_data, "reg_cost": J_reg}
        if full and self.sparsity is not None:  # ρ̂ over these examples; J = J_data + J_reg + J_sparse
            ev.add_sparsity(out, self.forward.activation_sums(params), self.m, self.sparsity)
        out.update(metrics)
        return out

    def _by_chunks(self, params: Params) -> tuple[float, dict]:
        """J_data and the metrics from additive sums over the chunks (the same J_data bits as outputs()):
        a confusion matrix, or Σ(h − y)², Σy and Σy² per output (R² from them)."""
        n = len(self.labels) if self.task == "classification" else 0
        loss_sum, parts = 0.0, []
        for loss, h, y in self.forward.each_output(params):
            loss_sum += loss
            parts.append(ev.metric_sums(h, y, n))
        return loss_sum / self.m, ev.metrics_of_sums(parts, self.labels if n else None, self.m)


def _split_metrics(problem: Problem, split: str) -> Optional[SplitMetrics]:
    """SplitMetrics of one split of the problem, or None when the split is empty."""
    if split not in problem.splits or len(problem.splits[split][0]) == 0:
        return None
    x, y = problem.columns(split)
    cfg = problem.cfg
    return SplitMetrics(problem.arch, x, y, cfg.train.weight_decay, cfg.data.task, problem.prep.labels,
                        cfg.train.chunk_size, cfg.sparsity())


def _train_metrics(problem: Problem, source: Any, params: Params) -> Optional[dict]:
    """The train split's metrics at params: here (SplitMetrics), or from a cluster's partitions."""
    if source is None:
        sm = _split_metrics(problem, "train")
        return None if sm is None else sm(params)
    cfg = problem.cfg
    return source.metrics(params, cfg.train.weight_decay, cfg.data.task, problem.prep.labels, cfg.sparsity())


class _RunFiles:
    """Writes a run folder's files; every write is atomic, every failure a RunIOError."""

    def __init__(self, run_dir: Path, meta_base: dict) -> None:
        self.dir = run_dir
        # the same in every checkpoint of the run: encoded once
        self.meta_base = {k: ckpt.json_text(v, f"cannot save checkpoints: meta.{k}") for k, v in meta_base.items()}
        self.metrics_path = run_dir / "metrics.csv"

    def save(self, path: Path, params: Params, epoch: int, history: History, extra: Optional[dict] = None,
             also: Sequence[Path] = (), state: Optional[dict] = None) -> None:
        meta = dict(self.meta_base, epoch=epoch, metrics=history.record(), **(extra or {}))
        ckpt.save_checkpoint(path, params, meta, also, state)

    def append_rows(self, history: History, durable: bool = False) -> None:
        """Append the rows added since the last call (with the header, the first time) to metrics.csv;
        durable: fsynced too, as before a checkpoint that names them (a power cut must not keep the
        checkpoint and lose its rows)."""
        text = history.take()
        try:
            with open(self.metrics_path, "a", encoding="utf-8", newline="") as f:
                f.write(text)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as e:
            raise RunIOError(f"cannot write {self.metrics_path}: {e.strerror or e}: check free space and permissions") from None


def fit(
    config_path: "Path | Config",
    overrides: Sequence[str] = (),
    out: Optional[Path] = None,
    resume: bool = False,
    reporter: Optional[Reporter] = None,
    table: Optional[data_mod.Table] = None,
    write: bool = True,
) -> FitResult:
    """Train the config's network with its optimizer, leaving a complete run folder. config_path: a config
    file (with `overrides` applied), or a validated Config (its overrides already applied). table: the
    data in memory instead of data.path's file. write False: no run folder at all — the same training
    and the same numbers, the history kept in memory (nettrain.sklearn's estimators).

    With a cluster section, the train split's sums come from the cluster (nettrain.cluster: the workers read
    and hold the train split); validation and test metrics are computed here, as those splits are small."""
    rep = reporter or SilentReporter()
    cfg = config_path if isinstance(config_path, Config) else config_mod.load_config(config_path, overrides)
    if not write and resume:
        raise ConfigError("a run that writes no folder cannot be resumed: give it a run folder")
    if cfg.cluster is None:
        return _fit(cfg, config_path, overrides, out, resume, rep, None, table, write)
    if table is not None or not write:
        raise ConfigError("a cluster section trains from data.path's file into a run folder: leave it out here "
                          "(cluster: null)")
    from . import cluster

    with cluster.open_session(cfg.cluster) as session:
        try:
            return _fit(cfg, config_path, overrides, out, resume, rep, session)
        except ClusterError as e:
            last = (Path(out) if out is not None else Path("runs") / cfg.name) / "last.npz"
            if not last.exists():
                raise
            epoch = ckpt.read_meta(last).get("epoch")
            raise ClusterError(f"{e}; {last} holds epoch {epoch}: continue with "
                               f"{_resume_command(config_path, overrides, out)} (on the cluster, or here with "
                               "--set cluster=null)") from None


def _fit(cfg: Config, config_path: Any, overrides: Sequence[str], out: Optional[Path], resume: bool, rep: Reporter,
         session: Any, table: Optional[data_mod.Table] = None, write: bool = True) -> FitResult:
    source = None
    if session is None:
        problem = load_problem(cfg, lazy=True, table=table)
    else:
        from .cluster.session import load_problem as cluster_problem

        problem, source = cluster_problem(cfg, session)
    arch, dtype, tc = problem.arch, problem.dtype, cfg.train
    run_dir = Path(out) if out is not None else Path("runs") / cfg.name
    cfg_dict = config_mod.config_to_dict(cfg)
    opt = optimizers.make(tc.optimizer, **tc.model_dump())
    minibatch = tc.batch_size is not None and opt.minibatches
    has_val = "val" in problem.splits and len(problem.splits["val"][0]) > 0
    extra = ("evaluations",) if not isinstance(opt, optimizers.FirstOrder) else ()
    names = cost_names(cfg.sparsity())  # the parts of the objective this run minimises
    columns = ["epoch", "cost", *names, "grad_norm", *extra]
    if has_val:
        columns += ["val_cost"] + (["val_accuracy"] if cfg.data.task == "classification" else ["val_r2"])

    swept: list[Path] = []
    resumed_from: Optional[int] = None
    best: Optional[tuple[float, int]] = None
    rng = np.random.default_rng(cfg.seed)  # the initial weights, then every epoch's permutation
    if resume:
        params, history, start, best, metrics_text, meta = _resume_state(run_dir, cfg_dict, arch, columns)
        n = sum(w.size + v.size for w, v in zip(params.W.values(), params.b.values()))
        opt.load_state(ckpt.load_state(run_dir / "last.npz", n))
        if isinstance(meta.get("rng"), dict):
            rng.bit_generator.state = meta["rng"]
        swept = ckpt.sweep_temp_files(run_dir)
        resumed_from = start
    else:
        if write and run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            raise RunIOError(
                f"{run_dir} already exists: add --resume to continue that run, or choose another "
                f"--out (or --set name=…) for a new one"
            )
        params = initial_params(cfg, arch, dtype, rng)
        history = History(columns)
        start = 0
    x, y = problem.columns("train") if source is None else (None, None)
    m = x.shape[1] if source is None else source.m
    if resume and start >= tc.epochs:  # nothing to train: say so, and how to go on (nothing is written)
        train_m = _train_metrics(problem, source, params)
        val, test = (None if sm is None else sm(params) for sm in (_split_metrics(problem, s) for s in ("val", "test")))
        cost = Cost({k: train_m[k] for k in names}) if train_m else None
        note = (f"the run in {run_dir} is already at train.epochs = {tc.epochs} (epoch {start}): nothing to do; to "
                f"train it further, raise train.epochs: --set train.epochs={max(2 * start, start + 1)} --resume")
        notes = [f"removed a temp file left by an interrupted save: {p}" for p in swept] + [note]
        return FitResult(run_dir, start, cost, "already at train.epochs", history, train_m, val, test, start, swept,
                         notes, best)

    val_metrics = _split_metrics(problem, "val") if has_val else None
    meta_base = {
        "config": cfg_dict,
        "preprocessing": problem.prep.to_meta(),
        **({"whitening": problem.zca.to_meta()} if problem.zca is not None else {}),
        "architecture": {"layers": list(arch.layers), "activation": arch.activation,
                         "output_activation": arch.output_activation, "loss": arch.loss},
    }
    # ---- from here on the run folder is written
    files = _RunFiles(run_dir, meta_base) if write else None
    if write:
        try:
            (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunIOError(f"cannot create {run_dir}: {e.strerror or e}: check the path and permissions") from None
        if not resume:
            ckpt.write_text(run_dir / "config.yaml", config_mod.dump_config_yaml(cfg))
            ckpt.write_text(files.metrics_path, history.take())  # the header
        else:
            if _size(files.metrics_path) != len(metrics_text):  # rows written after the checkpoint: dropped
                ckpt.write_text(files.metrics_path, metrics_text.decode("utf-8"))  # exactly the checkpoint's rows
            ckpt.write_text(run_dir / "config.yaml", config_mod.dump_config_yaml(cfg))
    rep.start({"run_dir": str(run_dir), "start_epoch": start, "epochs": tc.epochs, "every": cfg.log.every,
               "columns": columns, "optimizer": tc.optimizer, "batch_size": min(tc.batch_size, m) if minibatch else None,
               "m": m, "layers": list(arch.layers), "resumed": resume, "swept": [str(p) for p in swept]})
    for text in cfg.warnings():
        rep.note(f"warning: {text}")
    if minibatch and tc.batch_size >= m:
        rep.note(f"warning: train.batch_size = {tc.batch_size} is at least the {m} training rows: every step takes "
                 "them all (in a shuffled order), as train.batch_size: null does")
    if resume and tc.optimizer == "lbfgs":
        rep.note("note: L-BFGS resumes from the saved weights with a fresh curvature memory (scipy cannot restore "
                 "it): J keeps falling, but the path differs from an uninterrupted run's")

    run = ls.Run(files, history, opt, rng if minibatch else None, cfg.log.every, cfg.log.checkpoint_every, best,
                 best_buffer=network.flat_params(arch.layers, dtype),
                 evaluations=int(meta.get("evaluations") or 0) if resume else 0, count_evaluations=bool(extra))
    hint = ("the steps overshoot: try a smaller train.learning_rate (now "
            f"{tc.learning_rate:g})" if tc.learning_rate is not None and tc.optimizer != "lbfgs"
            else "check the gradient with nettrain gradcheck CONFIG")
    listeners: list = [ls.Row(run, val_metrics, names, extra), ls.Best(run)]
    if tc.early_stopping is not None:
        listeners.append(ls.EarlyStopping(run, tc.early_stopping.patience, tc.early_stopping.min_delta))
    listeners += [ls.RisingCost(run, rep, hint), ls.Log(run), ls.Terminal(rep)]
    if write:
        listeners.append(ls.Checkpoints(run))
    stopped: list[str] = []

    with ls.Interrupt() as interrupt:
        listeners.append(interrupt)
        every = cfg.log.every

        def logged(epoch: int) -> bool:  # a row with ‖∇J‖ and the validation columns, shown in the terminal
            return epoch % every == 0

        def emit(step: optimizers.Step) -> bool:
            if step.epoch < history.n:  # the row already exists (a resumed run's first state)
                return bool(interrupt.count)
            ev = ls.Event(step, logged(step.epoch))
            for listener in listeners:
                why = listener(ev)
                if why:
                    stopped.append(why)
            return bool(stopped)

        try:
            # threads: train.threads, or by problem size (1 below train.PARALLEL_MIN_FLOPS, else one per core);
            # BLAS held to match. Minibatch steps are sized by the batch.
            # On a cluster the workers' processes are the parallelism (each one BLAS thread per task).
            m_step = min(tc.batch_size, m) if minibatch else m
            threads = (parallel.for_training(arch, m_step, tc.batch_size if minibatch else tc.chunk_size, dtype,
                                             tc.threads) if source is None else contextlib.nullcontext(None))
            with threads as pool:
                result = train.minimize(arch, params, x, y, tc.weight_decay, opt, tc.epochs, start, tc.tolerance,
                                        tc.chunk_size, emit, pool, tc.batch_size if minibatch else None, rng,
                                        sparsity=cfg.sparsity(), source=source,
                                        cost_at=None if cfg.log.train_cost == "every_epoch" else logged,
                                        grad_at=logged)
        except Diverged as d:
            # the rows are those of epochs 0 … last_epoch: the non-finite epoch never gets one
            if d.last_params is not None and d.last_epoch is not None and d.last_epoch + 1 == history.n:
                run.flush(d.last_params, d.last_epoch, state=d.last_state or {})
            if tc.optimizer == "lbfgs" and d.last_cost is not None:
                raise Diverged(d.epoch, d.last_epoch, d.last_cost, d.last_params, d.last_state,
                               hint="J was not finite at a point L-BFGS's line search tried: standardise the "
                                    "data (data.standardize), start from smaller weights (model.init), or use "
                                    "gd with a small learning_rate") from None
            raise
    if result.reason != "done":
        run.flush(result.params, result.epoch, state=result.state)
    reason, note = result.reason, result.note
    if reason == "stopped" and stopped and stopped[0] != "interrupted":
        reason, note = "early stopped", stopped[0]
    elif reason == "stopped":
        raise Interrupted(f"stopped at epoch {result.epoch}; saved {run_dir / 'last.npz'}: continue with "
                          f"{_resume_command(config_path, overrides, out)}")
    train_m = _train_metrics(problem, source, result.params)
    val, test = (None if sm is None else sm(result.params) for sm in (_split_metrics(problem, s) for s in ("val", "test")))
    notes = ([note] if note else []) + run.notes
    best_params = run.best_params if not write and run.best_params is not None else None
    return FitResult(run_dir if write else None, result.epoch, result.cost, reason, history, train_m, val, test,
                     resumed_from, swept, notes, run.best,
                     Loaded(None, cfg, arch, result.params, problem.prep, {"epoch": result.epoch, "config": cfg_dict},
                            problem.zca) if not write else None, best_params)


def _resume_state(run_dir: Path, cfg_dict: dict, arch: Architecture, columns: list[str]
                  ) -> tuple[Params, History, int, Any, bytes, dict]:
    """last.npz's weights, the history it names (metrics.csv's first rows, checked), its epoch, the best
    validation state so far, metrics.csv's text up to that epoch, and the checkpoint's metadata."""
    last = run_dir / "last.npz"
    if not last.exists():
        ckpts = run_dir / "checkpoints"  # made first by fit; empty until the first save: stopped before it
        if ckpts.is_dir() and not any(ckpts.iterdir()):
            raise RunIOError(
                f"{last} does not exist: the run in {run_dir} stopped before its first checkpoint, so there is "
                f"nothing to resume; remove {run_dir} and run again without --resume"
            )
        raise RunIOError(f"{last} does not exist: nothing to resume; run without --resume to start")
    params, meta = ckpt.load_checkpoint(last, shapes=arch.shapes())
    stored = meta.get("config")
    if not isinstance(stored, dict):
        raise CheckpointError(f"{last}: the checkpoint has no config to compare with")
    changed = [k for k in config_mod.diff_configs(stored, cfg_dict) if k not in RESUMABLE_KEYS
               and k.split(".")[0] != "cluster"]  # where the sums are computed: on a cluster, or here
    if changed:
        raise ConfigError(
            f"cannot resume {run_dir}: the config differs from the run's in {', '.join(changed)} "
            f"(a resume may change only {', '.join(RESUMABLE_KEYS)}); start a new run with another --out instead"
        )
    try:
        epoch = int(meta["epoch"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{last}: the checkpoint has no valid epoch") from None
    history, text = History.resumed(run_dir / "metrics.csv", meta.get("metrics"), columns, last)
    if history.n != epoch + 1:
        raise CheckpointError(f"{last}: its metrics record names {history.n} rows for epoch {epoch}")
    dtype = np.dtype(cfg_dict["train"]["dtype"]).type
    params = Params({l: w.astype(dtype, copy=False) for l, w in params.W.items()},
                    {l: v.astype(dtype, copy=False) for l, v in params.b.items()})
    best = meta.get("best")
    return params, history, epoch, tuple(best) if best else None, text, meta


# ----------------------------------------------------------------------------- eval and predict


def _resume_command(config: Any, overrides: Sequence[str], out: Optional[Path]) -> str:
    """The command that continues this run: the same config file and --set overrides (without them the
    resumed run would have another config, and be refused), and --out when it was given."""
    if isinstance(config, Config):
        if config.source_path is None:
            return f"nettrain.fit(config, out={str(out or Path('runs') / config.name)!r}, resume=True)"
        config = config.source_path
    if isinstance(overrides, dict):  # the API's {dotted key: value}
        overrides = [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
    again = ["nettrain", "fit", str(config), *(a for o in overrides for a in ("--set", o)), "--resume"]
    return shlex.join(again + (["--out", str(out)] if out is not None else []))


def checkpoint_of(target: Path) -> Path:
    """A checkpoint file as given, or a run folder's: best.npz for a run trained with train.early_stopping
    (the state it stopped for), else last.npz."""
    target = Path(target)
    if target.is_dir():
        best = target / "best.npz"
        if best.exists() and (target / "last.npz").exists():
            stored = ckpt.read_meta(target / "last.npz").get("config") or {}
            if ((stored.get("train") or {}).get("early_stopping")) is not None:
                return best
        target = target / "last.npz"
    if not target.exists():
        raise CheckpointError(f"{target} does not exist: give a run folder (with last.npz) or a .npz checkpoint")
    return target


@dataclass
class Loaded:
    path: Path
    cfg: Config
    arch: Architecture
    params: Params
    prep: data_mod.Preprocessing
    meta: dict
    zca: Optional[whiten_mod.ZCA] = None  # data.whiten's fitted ZCA, applied after the standardisation

    def transform_x(self, X: np.ndarray, path: Optional[Path] = None) -> np.ndarray:
        """Rows X as the run's training rows were treated: standardised, then whitened (when it was)."""
        X = self.prep.transform_x(X, self.params.W[1].dtype, path)
        return X if self.zca is None else self.zca.apply(X, X.dtype)


def load_trained(target: Path) -> Loaded:
    """A checkpoint (or a run folder's last.npz) with its config and preprocessing rebuilt."""
    path = checkpoint_of(target)
    meta = ckpt.read_meta(path)
    try:
        cfg = config_mod.config_from_dict(meta["config"], source=str(path))
        prep = data_mod.Preprocessing.from_meta(meta["preprocessing"])
        zca = whiten_mod.from_meta(meta.get("whitening"), len(prep.feature_names))
    except KeyError as e:
        raise CheckpointError(f"{path}: the checkpoint's metadata has no {e.args[0]!r}: it was not written by nettrain fit") from None
    except (ConfigError, DataError) as e:
        raise CheckpointError(f"{path}: the checkpoint's metadata is not valid: {e}") from None
    arch = cfg.architecture()
    params, _ = ckpt.load_checkpoint(path, shapes=arch.shapes())
    return Loaded(path, cfg, arch, params, prep, meta, zca)


def _data_for(loaded: Loaded, data: Optional[Path], split: Optional[str]
              ) -> tuple[np.ndarray, np.ndarray, str, Optional[str], Optional[str]]:
    """Rows X (m, n) preprocessed, Y (m, k) encoded, a description of where they came from, the split
    used (None for a --data file) and a note when it is not the one asked for.

    split None means "test, as nothing else was asked for": a run whose test split is empty (the
    XOR run trains on all 4 examples) is then measured on its train split, and the note says so.
    """
    cfg, prep = loaded.cfg, loaded.prep
    dtype = loaded.params.W[1].dtype
    note = None
    if data is None:
        table = read_data(cfg, cfg.data.path)
        idx = data_mod.split_indices(len(table.X), cfg.data.split.train, cfg.data.split.val, cfg.data.split.test, cfg.seed)
        if split is None:
            split = "test"
            if len(idx.get("test", ())) == 0:
                split = "train"
                note = (f"the run's test split is empty (data.split.test = {cfg.data.split.test}): evaluated on "
                        "the train split, which the network was fitted to")
        if split not in idx or len(idx[split]) == 0:
            raise DataError(f"the run's {split} split is empty (data.split.{split} = {getattr(cfg.data.split, split)}): "
                            f"use --split train or --data FILE")
        rows = idx[split]
        X, Y_raw, where = table.X[rows], table.y[rows], f"{cfg.data.path} ({split} split, {len(rows)} examples)"
        path = Path(cfg.data.path)
        lines = None if table.lines is None else [table.lines[i] for i in rows]
    else:
        # labels come from the checkpoint: a file holding one class (a slice of the test set) is fine
        table = _read_like_training(cfg, Path(data), one_class=True)
        X, Y_raw, where, path = table.X, table.y, f"{data} ({len(table.X)} examples)", Path(data)
        lines = table.lines
        split = None
    X = loaded.transform_x(X, path)
    if cfg.data.task == "autoencode":
        return X, X, where, split, note  # y = x, as in training
    return X, prep.encode_y(Y_raw, path, dtype, lines), where, split, note


def _read_like_training(cfg: Config, path: Path, **kwargs: Any) -> data_mod.Table:
    """A file to evaluate or predict on, read with the run's data.target and data.delimiter where they
    apply: they name columns of the training file's kind (a csv's header, a .npy's column numbers),
    so a file of another kind — an .npz export of a csv, say — is read with its own kind's default
    target (.npz: the array 'y'; csv and .npy: the last column)."""
    same = data_mod.file_kind(path) == data_mod.file_kind(cfg.data.path)
    if cfg.data.task == "autoencode":
        return data_mod.read_inputs(path, cfg.data.target if same else None, cfg.data.delimiter if same else None,
                                    cfg.data.features if same else None)
    return data_mod.read_table(path, cfg.data.target if same else None, cfg.data.delimiter if same else None,
                               cfg.data.task, features=cfg.data.features if same else None, **kwargs)


def evaluate_run(target: Path, data: Optional[Path] = None, split: Optional[str] = None) -> dict:
    """J, J_data, J_reg and accuracy/confusion/per-class scores (classification) or MSE/RMSE/R² (regression).

    `split` None: the test split, or the train split when the test split is empty (`note` says so);
    the result's `split` names the split used (None when `data` is a file)."""
    loaded = load_trained(target)
    X, Y, where, used, note = _data_for(loaded, data, split)
    return evaluate_rows(loaded, X, Y, where, used, note)


def evaluate_rows(loaded: Loaded, X: np.ndarray, Y: np.ndarray, where: str, used: Optional[str] = None,
                  note: Optional[str] = None) -> dict:
    """What `nettrain eval --json` prints, for rows X (m, n) already preprocessed and targets Y (m, k)
    encoded (Preprocessing.transform_x, encode_y); `where` says where they came from, `used` which split
    of the run's data (None: a file), `note` anything the output should say about that choice."""
    cfg = loaded.cfg
    x, y = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
    metrics = SplitMetrics(loaded.arch, x, y, cfg.train.weight_decay, cfg.data.task, loaded.prep.labels,
                           cfg.train.chunk_size, cfg.sparsity())
    return {"checkpoint": str(loaded.path), "data": where, "split": used, **({"note": note} if note else {}),
            "epoch": loaded.meta.get("epoch"), "m": int(x.shape[1]), "task": cfg.data.task, **metrics(loaded.params)}


def network_outputs(loaded: Loaded, X: np.ndarray, path: Optional[Path] = None) -> np.ndarray:
    """h(x) of the trained network for rows X (m, n) as the data file holds them (standardised here with
    the run's statistics): (m, s_nl), float64. path: the file X was read from, for error messages."""
    X = loaded.transform_x(X, path)
    return network.predict(loaded.arch, loaded.params, np.ascontiguousarray(X.T)).T.astype(np.float64)


def class_probabilities(outputs: np.ndarray) -> np.ndarray:
    """One column per label: a softmax output as it is; one sigmoid unit h as P(labels[0]) = 1 − h,
    P(labels[1]) = h."""
    return np.hstack([1.0 - outputs, outputs]) if outputs.shape[1] == 1 else outputs


def predict_rows(target: Path, data: Path) -> tuple[list[str], list[list]]:
    """Header and rows of predictions: label and per-class probabilities, or the regression outputs."""
    loaded = load_trained(target)
    cfg, prep = loaded.cfg, loaded.prep
    table = _read_like_training(cfg, Path(data), require_target=False)
    outputs = network_outputs(loaded, table.X, data)
    if cfg.data.task == "classification":
        labels = prep.decode(outputs)
        header = ["label"] + [f"p_{lab}" for lab in prep.labels]
        rows = [[lab] + [repr(float(v)) for v in o] for lab, o in zip(labels.tolist(), class_probabilities(outputs))]
    else:
        header = list(prep.target_names)
        rows = [[repr(float(v)) for v in o] for o in outputs]
    return header, rows


def predictions_csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_predictions(path: Path, text: str) -> None:
    ckpt.write_text(Path(path), text)


# ----------------------------------------------------------------------------- gradcheck on a config


def gradcheck_config(
    config_path: "Path | Config", overrides: config_mod.Overrides = (), sample: int = 20, richardson: bool = True,
    max_entries: Optional[int] = None, progress: Optional[Any] = None,
) -> tuple[gc.Case, list[gc.StageResult], bool]:
    """Check the config's network, at its initial weights, on the first `sample` training examples
    (max_entries, progress: as gradcheck.check). config_path: a config file (with `overrides`), or a
    validated Config."""
    if isinstance(config_path, Config):
        cfg, label = config_path, config_path.source
    else:
        cfg, label = config_mod.load_config(config_path, overrides), str(config_path)
    problem = load_problem(cfg)
    x, y = problem.columns("train")
    x, y = x[:, :sample].astype(np.float64), y[:, :sample].astype(np.float64)
    params = initial_params(cfg, problem.arch, np.float64)
    lam, sp = cfg.train.weight_decay, cfg.sparsity()
    sparse = "" if sp is None else f", ρ={sp.rho:g}, β={sp.beta:g}"
    case = gc.Case(f"{label} ({x.shape[1]} examples, λ={lam:g}{sparse})", problem.arch, lam, x, y, params, sp)
    results = gc.check(problem.arch, params, x, y, lam, case.name, richardson=richardson, max_entries=max_entries,
                       progress=progress, sparsity=sp)
    return case, results, gc.passed(results, case.kinks)


@dataclass
class GradcheckRun:
    """`nettrain gradcheck`'s findings: the differentiator's self-test, then (case, stage results, passed)
    for the built-in suite's cases or for one config."""

    g_self: np.ndarray
    rel_self: float
    results: list[tuple[gc.Case, list[gc.StageResult], bool]]
    richardson: bool

    @property
    def self_ok(self) -> bool:
        return self.rel_self < gc.GOOD

    @property
    def passed(self) -> bool:
        return self.self_ok and all(p for _, _, p in self.results)

    def to_dict(self) -> dict:
        """What `nettrain gradcheck --json` prints (the CLI writes a non-finite number as null)."""
        return {
            "passed": self.passed,
            "epsilon": gc.EPSILON,
            "richardson": self.richardson,
            "self_test": {
                "function": "h(x) = x1^2 + 3*x1*x2 at (2, 88)",
                "numerical": self.g_self.tolist(),
                "exact": [268.0, 6.0],
                "rel_diff": self.rel_self,
                "passed": self.self_ok,
            },
            "cases": [{"case": c.name, "passed": p, "stages": gc.results_to_dict(r)} for c, r, p in self.results],
        }


def gradcheck_run(
    config: "Path | Config | None" = None, overrides: config_mod.Overrides = (), sample: int = 20,
    richardson: bool = True, max_entries: Optional[int] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> GradcheckRun:
    """The self-test, then the built-in suite (config None) or the config's network (gradcheck_config).
    progress(done, total): after each case of the suite, or each block of each stage of a config."""
    g_self, rel_self = gc.self_test()
    if config is None:
        cases = list(gc.suite())
        done = iter(range(1, len(cases) + 1))
        results = gc.run_cases(cases, richardson=richardson,
                               progress=None if progress is None else lambda _: progress(next(done), len(cases)))
    else:
        results = [gradcheck_config(config, overrides, sample=sample, richardson=richardson, max_entries=max_entries,
                                    progress=progress)]
    return GradcheckRun(g_self, rel_self, results, richardson)
