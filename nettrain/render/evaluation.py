"""What `nettrain eval` shows: J and its parts with the task's metrics, the confusion matrix and the per-class
scores.

Left out on purpose: computing them (evaluation.py).
"""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from .console import num

NAMES = {"cost": "J", "data_cost": "J_data", "reg_cost": "J_reg", "sparse_cost": "J_sparse",
         "rho_hat_mean": "mean ρ̂ (hidden units)", "r2": "R²"}


def _score(v: float) -> str:
    return "—" if not math.isfinite(v) else f"{v:.4f}"


def _measures(res: dict) -> Table:
    t = Table()
    t.add_column("measure")
    t.add_column("value", justify="right")
    for k in ("cost", "data_cost", "reg_cost", "sparse_cost", "rho_hat_mean", "accuracy", "mse", "rmse", "r2"):
        if k in res:
            t.add_row(NAMES.get(k, k), num(res[k], ".6g"))
    return t


def _confusion(res: dict) -> Table:
    c = Table(title="confusion matrix (rows: true label, columns: predicted)", title_justify="left")
    c.add_column("")
    for lab in res["labels"]:
        c.add_column(str(lab), justify="right")
    for lab, row in zip(res["labels"], res["confusion"]):
        c.add_row(str(lab), *[str(v) for v in row])
    return c


def _per_class(res: dict) -> Table:
    p = Table(title="per class", title_justify="left")
    for col in ("label", "precision", "recall", "F1", "support"):
        p.add_column(col, justify="left" if col == "label" else "right")
    for n, s in enumerate(res["per_class"], 1):
        p.add_row(str(s["label"]), *[_score(s[k]) for k in ("precision", "recall", "f1")], str(s["support"]),
                  end_section=n == len(res["per_class"]))
    macro = res["macro"]
    p.add_row("macro average", *[_score(macro[k]) for k in ("precision", "recall", "f1")], str(res["m"]))
    return p


def render(out: Console, res: dict) -> None:
    """res: evaluation.evaluate_run's dict (what --json prints)."""
    if "note" in res:
        out.print(res["note"], markup=False, soft_wrap=False)
    # the title as a line of its own: a long path wraps at the terminal's width instead of widening the table
    out.print(f"{res['checkpoint']} (epoch {res['epoch']}) on {res['data']}", markup=False, soft_wrap=False)
    out.print(_measures(res))
    if "confusion" in res:
        out.print(_confusion(res))
    if "per_class" in res:
        out.print(_per_class(res))
        out.print("precision: of those predicted, the share right; recall: of those true, the share found; F1: "
                  "their harmonic mean; —: undefined (0/0)", soft_wrap=False, markup=False)
