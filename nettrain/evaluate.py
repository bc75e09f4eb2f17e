"""Metrics of a network's outputs against targets: accuracy and confusion matrix, MSE, RMSE, R².

Arrays here hold one row per example (the data files' layout): outputs and targets (m, k).
Left out on purpose: reading data or checkpoints (runs.py), printing (cli.py).
"""

from __future__ import annotations

import numpy as np


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """Class index per example: argmax over outputs, or output ≥ 0.5 for one binary output."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] >= 0.5).astype(np.intp)
    return np.argmax(outputs, axis=1)


def classification_metrics(outputs: np.ndarray, targets: np.ndarray, labels: list) -> dict:
    """accuracy = (1/m) Σᵢ [predicted classᵢ = true classᵢ]; confusion[t][p] counts true t predicted p."""
    pred = predicted_classes(outputs)
    true = predicted_classes(targets)
    k = len(labels)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (true, pred), 1)
    m = len(true)
    return {
        "accuracy": float(np.mean(pred == true)) if m else float("nan"),
        "labels": [lab if isinstance(lab, str) else float(lab) if isinstance(lab, float) else int(lab) for lab in labels],
        "confusion": confusion.tolist(),
    }


def regression_metrics(outputs: np.ndarray, targets: np.ndarray) -> dict:
    """MSE = mean over examples and outputs of (h − y)²; RMSE = √MSE; R² = 1 − SS_res/SS_tot per output, averaged."""
    diff = outputs - targets
    mse = float(np.mean(diff * diff))
    ss_res = np.sum(diff * diff, axis=0)
    ss_tot = np.sum((targets - targets.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "r2": float(np.mean(r2))}
