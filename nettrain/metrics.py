"""Metrics of a network's outputs against targets: accuracy, confusion matrix and per-class precision,
recall and F1 with their macro averages; MSE, RMSE, R².

Arrays here hold one row per example (the data files' layout): outputs and targets (m, k).
Left out on purpose: reading data or checkpoints (evaluation.py), printing (render/).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import numpy as np

from . import network


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """Class index per example: argmax over outputs, or output ≥ 0.5 for one binary output."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] >= 0.5).astype(np.intp)
    return np.argmax(outputs, axis=1)


def classification_metrics(outputs: np.ndarray, targets: np.ndarray, labels: list) -> dict:
    """accuracy = (1/m) Σᵢ [predicted classᵢ = true classᵢ]; confusion[t][p] counts true t predicted p;
    per_class and macro: per_class_scores(confusion)."""
    pred = predicted_classes(outputs)
    true = predicted_classes(targets)
    k = len(labels)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (true, pred), 1)
    return metrics_of_confusion(confusion, labels)


def metrics_of_confusion(confusion: np.ndarray, labels: list) -> dict:
    """classification_metrics from the confusion matrix alone (it is additive: a split read in chunks
    adds its chunks' matrices): accuracy = trace / m, per-class scores and macro averages."""
    m = int(confusion.sum())
    names = [lab if isinstance(lab, str) else float(lab) if isinstance(lab, float) else int(lab) for lab in labels]
    per_class, macro = per_class_scores(confusion)
    return {
        "accuracy": float(np.trace(confusion)) / m if m else float("nan"),
        "labels": names,
        "confusion": confusion.tolist(),
        "per_class": [{"label": lab, **scores} for lab, scores in zip(names, per_class)],
        "macro": macro,
    }


def per_class_scores(confusion: np.ndarray) -> tuple[list[dict], dict]:
    """Per class c, from confusion[t][p] (true t, predicted p):

        precision_c = confusion[c][c] / Σₜ confusion[t][c]   (of the examples predicted c, the share that are c)
        recall_c    = confusion[c][c] / Σₚ confusion[c][p]   (of the examples that are c, the share predicted c)
        F1_c        = 2·precision_c·recall_c / (precision_c + recall_c)
        support_c   = Σₚ confusion[c][p]                     (examples of class c)

    A ratio whose denominator is 0 (a class never predicted, or absent from the data) is undefined:
    NaN (null in JSON), as is F1 when either part is; F1 is 0 when both parts are 0. The macro
    average of each score is its plain mean over the classes where it is defined (NaN if none).
    """
    c = np.asarray(confusion, dtype=np.float64)
    hits, predicted, actual = np.diag(c), c.sum(axis=0), c.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, hits / np.where(predicted > 0, predicted, 1.0), np.nan)
        recall = np.where(actual > 0, hits / np.where(actual > 0, actual, 1.0), np.nan)
        both = precision + recall
        f1 = np.where(both > 0, 2.0 * precision * recall / np.where(both > 0, both, 1.0), 0.0)
    f1 = np.where(np.isnan(both), np.nan, f1)
    per_class = [{"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                 for p, r, f, n in zip(precision, recall, f1, actual)]

    def mean(v: np.ndarray) -> float:
        v = v[~np.isnan(v)]
        return float(v.mean()) if v.size else float("nan")

    return per_class, {"precision": mean(precision), "recall": mean(recall), "f1": mean(f1)}


def _mean_defined(r2: np.ndarray) -> float:
    """R² averaged over the outputs where it is defined (a constant target — an always-blank pixel of an
    autoencoder — has none); NaN when no output has one."""
    defined = r2[np.isfinite(r2)]
    return float(defined.mean()) if defined.size else float("nan")


def regression_metrics(outputs: np.ndarray, targets: np.ndarray) -> dict:
    """MSE = mean over examples and outputs of (h − y)²; RMSE = √MSE; R² = 1 − SS_res/SS_tot per output, averaged
    over the outputs whose target is not constant. The one-part case of the additive sums below: a split read
    in one chunk gives these bits."""
    return metrics_of_sums([metric_sums(np.asarray(outputs).T, np.asarray(targets).T, 0)], None, len(outputs))


def regression_of_sums(ss_res: np.ndarray, ss_tot: np.ndarray, m: int) -> dict:
    """MSE, RMSE and R² from per-output SS_res = Σ(h − y)² and SS_tot = Σ(y − ȳ)² over m examples:
    MSE = Σₖ SS_res / (m·k), R² = 1 − SS_res/SS_tot averaged over the outputs where SS_tot > 0."""
    mse = float(ss_res.sum() / (m * len(ss_res)))
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "r2": _mean_defined(r2)}


# ---------------------------------------------------------------------------- additive sums (a split read in chunks,
# a cluster's partitions): each part returns its sums, they are added in order, the metrics made once


class RegressionSums(NamedTuple):
    """One part's regression sums, per output k: w examples, SS_res = Σ(h − y)², ȳ and M₂ = Σ(y − ȳ)² (the part's
    own mean: two parts merge exactly, Chan et al.'s pairwise update, without the cancellation of Σy² − (Σy)²/m)."""

    w: int
    ss_res: np.ndarray
    mean: np.ndarray
    M2: np.ndarray


def metric_sums(h: np.ndarray, y: np.ndarray, n_labels: int) -> Any:
    """The additive sums of one part of a split, outputs h and targets y as columns (s_nl, w): a confusion
    matrix (classification, n_labels classes: confusion[t][p] counts true t predicted p), or RegressionSums
    (n_labels 0), in float64, each sum numpy's pairwise sum along the examples."""
    if n_labels:
        k = n_labels
        cells = predicted_classes(y.T) * k + predicted_classes(h.T)  # t·k + p
        return np.bincount(cells, minlength=k * k).astype(np.int64).reshape(k, k)
    # C order: each output's w values contiguous, so that every Σ below is numpy's pairwise sum along them
    d = np.subtract(h, y, dtype=np.float64, order="C")
    yd = np.ascontiguousarray(y, dtype=np.float64)
    w = yd.shape[1]
    mean = np.add.reduce(yd, axis=1) / w
    c = yd - mean[:, None]
    return RegressionSums(w, np.add.reduce(d * d, axis=1), mean, np.add.reduce(c * c, axis=1))


def hits(h: np.ndarray, y: np.ndarray) -> int:
    """Σᵢ [predicted classᵢ = true classᵢ] over one part, outputs h and targets y as columns (s_nl, w): additive,
    the accuracy's numerator alone, for every logged epoch. The targets are one-hot (or one 0/1 output), so the
    predicted class's target is 1 exactly where it is the true class: no argmax of y, as the confusion needs."""
    if h.shape[0] == 1:
        return int(np.count_nonzero((h[0] >= 0.5) == (y[0] >= 0.5)))
    w = h.shape[1]
    return int(np.count_nonzero(np.ravel(y)[np.argmax(h, axis=0) * w + np.arange(w)]))  # y[pred_i, i]


def merged(a: RegressionSums, b: RegressionSums) -> RegressionSums:
    """Two parts' RegressionSums as one part's: n = w_a + w_b, δ = ȳ_b − ȳ_a, ȳ = ȳ_a + δ·w_b/n,
    M₂ = M₂_a + M₂_b + δ²·w_a·w_b/n."""
    n = a.w + b.w
    delta = b.mean - a.mean
    M2 = a.M2 + b.M2 + delta * delta * (a.w * b.w / n)
    return RegressionSums(n, a.ss_res + b.ss_res, a.mean + delta * (b.w / n), M2)


def metrics_of_sums(parts: list, labels: Optional[list], m: int) -> dict:
    """classification_metrics or regression_metrics from the parts' metric_sums, added in the parts' order
    (one part: the same bits as the whole split held in memory)."""
    if labels:
        return metrics_of_confusion(sum(parts[1:], parts[0]), labels)
    total = parts[0]
    for p in parts[1:]:
        total = merged(total, p)
    return regression_of_sums(total.ss_res, total.M2, m)


def add_sparsity(out: dict, activation_sums: dict, m: int, sparsity: Any) -> dict:
    """J_sparse = β Σⱼ KL(ρ‖ρ̂ⱼ) with ρ̂ = Σᵢ a⁽ˡ⁾ / m over these examples, into `out` (whose cost, data_cost and
    reg_cost it completes: cost = J_data + J_reg + J_sparse), with the hidden units' mean ρ̂."""
    rho_hat = {l: v / m for l, v in activation_sums.items()}
    out["sparse_cost"] = network.sparse_cost(rho_hat, sparsity)
    out["cost"] = network.Cost.of(out["data_cost"], out["reg_cost"], sparse_cost=out["sparse_cost"]).J
    out["rho_hat_mean"] = float(np.mean(np.concatenate([rho_hat[l] for l in sorted(rho_hat)])))
    return out
