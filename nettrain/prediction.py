"""Predictions for new rows: `nettrain predict`'s CSV (the label and per-class probabilities, or the outputs).

Left out on purpose: metrics (evaluation.py), printing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from . import checkpoint as ckpt
from .trained import class_probabilities, load_trained, network_outputs, read_like_training


def predict_rows(target: Path, data: Path, unknown: str = "error") -> tuple[list[str], list[list]]:
    """Header and rows of predictions: label and per-class probabilities, or the regression outputs. unknown:
    "error" or "ignore" (all zeros) for a category the model lacks."""
    trained = load_trained(target)
    cfg, prep = trained.cfg, trained.prep
    table = read_like_training(cfg, Path(data), require_target=False, encoding=prep.encoding, unknown=unknown,
                               drop=False)
    outputs = network_outputs(trained, table.X, data)
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
