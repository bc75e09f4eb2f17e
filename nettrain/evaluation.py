"""Metrics of a trained network on a split or a file: what `nettrain eval` prints, and the validation
columns of a run.

    SplitMetrics(source, …)(params)       J, J_data, J_reg and accuracy / MSE, RMSE, R² of one set of examples,
                                          from a source of sums (objective.Source)
    split_metrics(problem, split)         the SplitMetrics of a split of a run's problem (train, val or test)
    evaluate_run(target, data, split)     `nettrain eval --json`
    eval_form(metrics, …)                 a split's metrics in that form (summary.json holds one per split)

Left out on purpose: the metric formulas (metrics.py), printing.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import data as data_mod
from . import metrics
from . import network
from .errors import DataError
from .network import Params
from .objective import Source
from .config import Config
from .problem import Problem, load_problem, read_data
from .sums import Backprop
from .train import chunk_width
from .trained import Trained, load_trained, read_like_training


class SplitMetrics:
    """J, J_data, J_reg (J_sparse and the mean ρ̂ with a penalty) and accuracy, the confusion matrix and the
    per-class scores (classification) or MSE/RMSE/R² of one set of examples, at any params: from a source of
    sums (objective.Source), one forward pass per call, whatever the source — a Backprop over rows in memory
    or a split read from disk chunk by chunk, a cluster's partitions. Each part of the examples returns its
    metrics.metric_sums (a confusion matrix, or SS_res, ȳ and M₂ per output), added in part order here.
    full False: J_data and the accuracy or R² alone, cheap enough for every logged epoch (the validation columns)."""

    def __init__(self, source: Source, lam: float, task: str, labels: Optional[list],
                 sparsity: Optional[network.Sparsity] = None) -> None:
        self.source, self.lam, self.task, self.labels, self.sparsity = source, lam, task, labels, sparsity
        self.m = int(source.m)
        self.n_labels = len(labels) if task == "classification" and labels else 0
        self._measure = functools.partial(metrics.metric_sums, n_labels=self.n_labels)

    def __call__(self, params: Params, full: bool = True) -> dict:
        cheap = self.n_labels and not full  # the accuracy alone: Σ hits / m (the confusion matrix's trace)
        fs = self.source.forward_sums(params, metrics.hits if cheap else self._measure)
        J_data = fs.loss / self.m
        if cheap:
            found = {"accuracy": float(sum(fs.parts)) / self.m}
        else:
            found = metrics.metrics_of_sums(fs.parts, self.labels if self.n_labels else None, self.m)
        J_reg = network.reg_cost(params.W, self.lam) if full else 0.0
        out = {"cost": J_data + J_reg, "data_cost": J_data, "reg_cost": J_reg}
        if full and self.sparsity is not None:  # ρ̂ over these examples; J = J_data + J_reg + J_sparse
            metrics.add_sparsity(out, self.source.activation_sums(params), self.m, self.sparsity)
        out.update(found)
        return out


def split_metrics(problem: Problem, split: str) -> Optional[SplitMetrics]:
    """SplitMetrics of one split of the problem (train, val or test, wherever its sums come from), or None
    when the split is empty."""
    source = problem.sums(split)
    if source is None:
        return None
    cfg = problem.cfg
    return SplitMetrics(source, cfg.train.weight_decay, cfg.data.task, problem.prep.labels, cfg.sparsity())


def _data_for(trained: Trained, data: Optional[Path], split: Optional[str], unknown: str = "error"
              ) -> tuple[np.ndarray, np.ndarray, str, Optional[str], Optional[str], Optional[dict]]:
    """Rows X (m, n) preprocessed, Y (m, k) encoded, a description of where they came from, the split
    used (None for a --data file) and a note when it is not the one asked for.

    split None means "test, as nothing else was asked for": a run whose test split is empty (the
    XOR run trains on all 4 examples) is then measured on its train split, and the note says so.
    The last: what data.missing did to these rows (None when it is refuse).
    """
    cfg, prep = trained.cfg, trained.prep
    dtype = trained.params.W[1].dtype
    note = None
    encoding = prep.encoding
    if data is None:
        table = read_data(cfg, cfg.data.path, transform=trained.transform, encoding=encoding)  # data.labels' rows
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
        table = read_like_training(cfg, Path(data), one_class=True, encoding=encoding, unknown=unknown)
        X, Y_raw, where, path = table.X, table.y, f"{data} ({len(table.X)} examples)", Path(data)
        lines, rows = table.lines, None
        split = None
    missing = None if cfg.data.missing == "refuse" else data_mod.described(table, cfg.data.missing, rows)
    X = trained.transform_x(X, path) if data is not None else trained.prepare_x(X, path)  # a split: features made
    if cfg.data.task == "autoencode":
        return X, X, where, split, note, missing  # y = x, as in training
    return X, prep.encode_y(Y_raw, path, dtype, lines), where, split, note, missing


def _which_split(cfg: Config, sizes: dict, split: Optional[str]) -> tuple[str, Optional[str]]:
    """The split to measure, and a note when it is not the one asked for. split None means "test, as nothing
    else was asked for": a run whose test split is empty (the XOR run trains on all 4 examples) is then
    measured on its train split, and the note says so."""
    note = None
    if split is None:
        split = "test"
        if not sizes["test"]:
            split = "train"
            note = (f"the run's test split is empty (data.split.test = {cfg.data.split.test}): evaluated on "
                    "the train split, which the network was fitted to")
    if not sizes.get(split):
        raise DataError(f"the run's {split} split is empty (data.split.{split} = {getattr(cfg.data.split, split)}): "
                        f"use --split train or --data FILE")
    return split, note


def evaluate_run(target: Path, data: Optional[Path] = None, split: Optional[str] = None, unknown: str = "error"
                 ) -> dict:
    """J, J_data, J_reg and accuracy/confusion/per-class scores (classification) or MSE/RMSE/R² (regression).

    `split` None: the test split, or the train split when the test split is empty (`note` says so);
    the result's `split` names the split used (None when `data` is a file). unknown: "error" or "ignore" (all
    zeros) for a category of `data` the model lacks. With data.missing other than refuse, "missing": the rows
    dropped (of the file), filled and with a category the model lacks (of the rows measured).

    A split of the run's own data (with data.missing refuse) is prepared with the checkpoint's preprocessing and
    measured from sums (objective.Source) as a run measures it: a .npy's split read from its memory map a chunk
    at a time, a cluster run's split held and summed on the cluster's workers, this process holding none of its
    rows."""
    trained = load_trained(target)
    if data is None and trained.cfg.data.missing == "refuse":
        if trained.cfg.cluster is None:
            return _evaluate_split(trained, split)
        from . import cluster

        with cluster.open_session(trained.cfg.cluster) as session:
            return _evaluate_split(trained, split, session)
    X, Y, where, used, note, missing = _data_for(trained, data, split, unknown)
    res = evaluate_rows(trained, X, Y, where, used, note)
    return res if missing is None else {**res, "missing": missing}


def _evaluate_split(trained: Trained, split: Optional[str], session: Any = None) -> dict:
    cfg, d = trained.cfg, trained.cfg.data
    spec = data_mod.SplitSpec(data_mod.row_count(d.path, d.delimiter), d.split.train, d.split.val, d.split.test,
                              cfg.seed)
    split, note = _which_split(cfg, spec.sizes(), split)
    problem = load_problem(cfg, lazy=True, session=session, fitted=(trained.prep, trained.zca), names=(split,))
    m = problem.sizes[split]
    return eval_form(split_metrics(problem, split)(trained.params), checkpoint=trained.path,
                     where=split_where(d.path, split, m), split=split, epoch=trained.meta.get("epoch"), m=m,
                     task=cfg.data.task, note=note)


def evaluate_rows(trained: Trained, X: np.ndarray, Y: np.ndarray, where: str, used: Optional[str] = None,
                  note: Optional[str] = None) -> dict:
    """What `nettrain eval --json` prints, for rows X (m, n) already preprocessed and targets Y (m, k)
    encoded (Preprocessing.transform_x, encode_y); `where` says where they came from, `used` which split
    of the run's data (None: a file), `note` anything the output should say about that choice."""
    cfg, arch = trained.cfg, trained.arch
    x, y = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
    dtype, m = y.dtype, int(x.shape[1])
    source = Backprop(arch, x, y, 0.0, dtype, chunk_width(arch, m, cfg.train.chunk_size, dtype))
    measure = SplitMetrics(source, cfg.train.weight_decay, cfg.data.task, trained.prep.labels, cfg.sparsity())
    return eval_form(measure(trained.params), checkpoint=trained.path, where=where, split=used,
                     epoch=trained.meta.get("epoch"), m=m, task=cfg.data.task, note=note)


def split_where(data_path: Any, split: str, m: int) -> str:
    """How eval names a split of the run's data: 'data/iris.csv (test split, 15 examples)'."""
    return f"{data_path} ({split} split, {m} examples)"


def eval_form(metrics: dict, *, checkpoint: Any, where: str, split: Optional[str], epoch: Any, m: int, task: str,
              note: Optional[str] = None) -> dict:
    """What `nettrain eval --json` prints: which checkpoint, which examples, then the metrics."""
    return {"checkpoint": str(checkpoint), "data": where, "split": split, **({"note": note} if note else {}),
            "epoch": epoch, "m": m, "task": task, **metrics}
