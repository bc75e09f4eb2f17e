"""Metrics of a trained network on a split or a file: what `nettrain eval` prints, and the validation
columns of a run.

    SplitMetrics(arch, x, y, …)(params)   J, J_data, J_reg and accuracy / MSE, RMSE, R² of one set of examples
    evaluate_run(target, data, split)     `nettrain eval --json`
    eval_form(metrics, …)                 a split's metrics in that form (summary.json holds one per split)

Left out on purpose: the metric formulas (evaluate.py), printing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import data as data_mod
from . import metrics
from . import network
from .errors import DataError
from .network import Architecture, Params
from .problem import Problem, read_data
from .train import chunk_width
from .trained import Trained, load_trained, read_like_training


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
        self.true = metrics.predicted_classes(y.T) if task == "classification" and self.in_memory else None

    def __call__(self, params: Params, full: bool = True) -> dict:
        if self.in_memory:
            J_data, h = self.forward.outputs(params)
            found = (metrics.regression_metrics(h.T, self.y.T) if self.task != "classification"
                     else metrics.classification_metrics(h.T, self.y.T, self.labels) if full
                     else {"accuracy": float(np.count_nonzero(metrics.predicted_classes(h.T) == self.true)) / self.m})
        else:
            J_data, found = self._by_chunks(params)
        J_reg = network.reg_cost(params.W, self.lam) if full else 0.0
        out = {"cost": J_data + J_reg, "data_cost": J_data, "reg_cost": J_reg}
        if full and self.sparsity is not None:  # ρ̂ over these examples; J = J_data + J_reg + J_sparse
            metrics.add_sparsity(out, self.forward.activation_sums(params), self.m, self.sparsity)
        out.update(found)
        return out

    def _by_chunks(self, params: Params) -> tuple[float, dict]:
        """J_data and the metrics from additive sums over the chunks (the same J_data bits as outputs()):
        a confusion matrix, or Σ(h − y)², Σy and Σy² per output (R² from them)."""
        n = len(self.labels) if self.task == "classification" else 0
        loss_sum, parts = 0.0, []
        for loss, h, y in self.forward.each_output(params):
            loss_sum += loss
            parts.append(metrics.metric_sums(h, y, n))
        return loss_sum / self.m, metrics.metrics_of_sums(parts, self.labels if n else None, self.m)


def split_metrics(problem: Problem, split: str) -> Optional[SplitMetrics]:
    """SplitMetrics of one split of the problem, or None when the split is empty."""
    if split not in problem.splits or len(problem.splits[split][0]) == 0:
        return None
    x, y = problem.columns(split)
    cfg = problem.cfg
    return SplitMetrics(problem.arch, x, y, cfg.train.weight_decay, cfg.data.task, problem.prep.labels,
                        cfg.train.chunk_size, cfg.sparsity())


def train_metrics(problem: Problem, source: Any, params: Params) -> Optional[dict]:
    """The train split's metrics at params: here (SplitMetrics), or from a cluster's partitions."""
    if source is None:
        sm = split_metrics(problem, "train")
        return None if sm is None else sm(params)
    cfg = problem.cfg
    return source.metrics(params, cfg.train.weight_decay, cfg.data.task, problem.prep.labels, cfg.sparsity())


def _data_for(trained: Trained, data: Optional[Path], split: Optional[str]
              ) -> tuple[np.ndarray, np.ndarray, str, Optional[str], Optional[str]]:
    """Rows X (m, n) preprocessed, Y (m, k) encoded, a description of where they came from, the split
    used (None for a --data file) and a note when it is not the one asked for.

    split None means "test, as nothing else was asked for": a run whose test split is empty (the
    XOR run trains on all 4 examples) is then measured on its train split, and the note says so.
    """
    cfg, prep = trained.cfg, trained.prep
    dtype = trained.params.W[1].dtype
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
        X, Y_raw, where = table.X[rows], table.y[rows], split_where(cfg.data.path, split, len(rows))
        path = Path(cfg.data.path)
        lines = None if table.lines is None else [table.lines[i] for i in rows]
    else:
        # labels come from the checkpoint: a file holding one class (a slice of the test set) is fine
        table = read_like_training(cfg, Path(data), one_class=True)
        X, Y_raw, where, path = table.X, table.y, f"{data} ({len(table.X)} examples)", Path(data)
        lines = table.lines
        split = None
    X = trained.transform_x(X, path)
    if cfg.data.task == "autoencode":
        return X, X, where, split, note  # y = x, as in training
    return X, prep.encode_y(Y_raw, path, dtype, lines), where, split, note



def evaluate_run(target: Path, data: Optional[Path] = None, split: Optional[str] = None) -> dict:
    """J, J_data, J_reg and accuracy/confusion/per-class scores (classification) or MSE/RMSE/R² (regression).

    `split` None: the test split, or the train split when the test split is empty (`note` says so);
    the result's `split` names the split used (None when `data` is a file)."""
    trained = load_trained(target)
    X, Y, where, used, note = _data_for(trained, data, split)
    return evaluate_rows(trained, X, Y, where, used, note)


def evaluate_rows(trained: Trained, X: np.ndarray, Y: np.ndarray, where: str, used: Optional[str] = None,
                  note: Optional[str] = None) -> dict:
    """What `nettrain eval --json` prints, for rows X (m, n) already preprocessed and targets Y (m, k)
    encoded (Preprocessing.transform_x, encode_y); `where` says where they came from, `used` which split
    of the run's data (None: a file), `note` anything the output should say about that choice."""
    cfg = trained.cfg
    x, y = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
    measure = SplitMetrics(trained.arch, x, y, cfg.train.weight_decay, cfg.data.task, trained.prep.labels,
                           cfg.train.chunk_size, cfg.sparsity())
    return eval_form(measure(trained.params), checkpoint=trained.path, where=where, split=used,
                     epoch=trained.meta.get("epoch"), m=int(x.shape[1]), task=cfg.data.task, note=note)


def split_where(data_path: Any, split: str, m: int) -> str:
    """How eval names a split of the run's data: 'data/iris.csv (test split, 15 examples)'."""
    return f"{data_path} ({split} split, {m} examples)"


def eval_form(metrics: dict, *, checkpoint: Any, where: str, split: Optional[str], epoch: Any, m: int, task: str,
              note: Optional[str] = None) -> dict:
    """What `nettrain eval --json` prints: which checkpoint, which examples, then the metrics."""
    return {"checkpoint": str(checkpoint), "data": where, "split": split, **({"note": note} if note else {}),
            "epoch": epoch, "m": m, "task": task, **metrics}
