"""Run and sweep folders for the compare and report tests: trained for real (nettrain.trainer.fit, which
ends a run folder with summary.json) and, for a sweep, completed with the files nettrain sweep writes —
trials.csv, sweep.yaml and best.yaml — as README.md describes them (tests/test_sweep.py checks that the
sweep engine's own files read the same)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any, Optional

import yaml

from nettrain import config as config_mod
from nettrain import trainer
from nettrain.checks import gradcheck_run
from nettrain.history import CLOCK_COLUMNS

ROOT = Path(__file__).resolve().parent.parent


def strict(obj: Any) -> Any:
    """NaN and ±inf as null, as nettrain writes JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    return obj


def fit_run(out: Path, config: Path, overrides: Optional[dict] = None, summary: bool = True) -> trainer.FitResult:
    """Train config (with overrides) into `out`, which ends with the summary.json nettrain fit writes; summary
    False: without it, as an older run's folder."""
    res = trainer.fit(config_mod.load_config(Path(config), overrides or {}), out=Path(out))
    if not summary:
        (Path(out) / "summary.json").unlink()
    return res


def metrics_less_seconds(path: Path) -> str:
    """metrics.csv's text with every seconds value (history.CLOCK_COLUMNS) masked as "s": what two runs of one
    config share bit for bit — the header, every other cell, and which rows have a seconds cell — while the
    wall time of each differs. Compare metrics.csv with this wherever runs are compared byte for byte."""
    lines = Path(path).read_bytes().decode("utf-8").split("\n")
    clock = [j for j, name in enumerate(lines[0].split(",")) if name in CLOCK_COLUMNS]
    for i in range(1, len(lines)):
        cells = lines[i].split(",")
        for j in clock:
            if j < len(cells) and cells[j]:
                cells[j] = "s"
        lines[i] = ",".join(cells)
    return "\n".join(lines)


def cell(v: Any) -> str:
    if v is None:
        return ""
    return json.dumps(v) if isinstance(v, (list, dict, bool)) else repr(v) if isinstance(v, float) else str(v)


def make_sweep(folder: Path, config: Path, grid: dict, base: Optional[dict] = None, *, name: str = "sweep",
               failed: Optional[dict] = None, metric: str = "val_data_cost") -> Path:
    """A grid sweep of `config` in `folder`: trial-<i>/ for each combination of the grid's values (keys in
    order, the last varying fastest), trained with base's overrides and the trial's values; failed:
    {trial: error} marks those trials failed (no run folder, the error in trials.csv)."""
    folder = Path(folder)
    folder.mkdir(parents=True)
    keys = list(grid)
    rows, results = [], {}
    for i, values in enumerate(itertools.product(*(grid[k] for k in keys))):
        row = {"trial": i, "status": "done", **dict(zip(keys, values))}
        if failed and i in failed:
            row.update(status="failed", error=failed[i])
        else:
            t = time.perf_counter()
            overrides = {**(base or {}), **dict(zip(keys, values)), "name": f"{name}-{i}"}
            res = fit_run(folder / f"trial-{i}", config, overrides)
            results[i] = res
            val = res.val or {}
            row.update(epochs=res.epoch, cost=res.train["cost"], data_cost=res.train["data_cost"],
                       reg_cost=res.train["reg_cost"], val_data_cost=val.get("data_cost"),
                       seconds=round(time.perf_counter() - t, 4), error=None)
            row["val_accuracy" if "accuracy" in res.train else "val_r2"] = val.get("accuracy", val.get("r2"))
        rows.append(row)
    score = "val_accuracy" if any("val_accuracy" in r for r in rows) else "val_r2"
    columns = ["trial", "status", *keys, "epochs", "cost", "data_cost", "reg_cost", "val_data_cost", score,
               "seconds", "error"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    w.writerows([[cell(r.get(c)) for c in columns] for r in rows])
    (folder / "trials.csv").write_text(buf.getvalue(), encoding="utf-8")
    done = [r for r in rows if r["status"] == "done" and r.get(metric) is not None]
    if done:
        best = (max if metric.endswith(("accuracy", "r2")) else min)(done, key=lambda r: r[metric])
        shutil.copyfile(folder / f"trial-{best['trial']}" / "config.yaml", folder / "best.yaml")
    spec = {"name": name, "base": str(config), "grid": grid, "metric": metric,
            "direction": "maximize" if metric.endswith(("accuracy", "r2")) else "minimize"}
    (folder / "sweep.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return folder



HOSTILE = {"setosa": "<script>window.__pwned = 1</script>", "versicolor": '<img src=x onerror="window.__pwned = 2">',
           "virginica": 'virginica & "co" </td></table>'}
HOSTILE_NAME = "<svg onload=\"window.__pwned = 4\">λ sweep"
HOSTILE_ERROR = "<script>window.__pwned = 5</script> the cost diverged"


def hostile_iris(path: Path) -> Path:
    """data/iris.csv with each species renamed to a piece of markup (HOSTILE)."""
    with open(ROOT / "data" / "iris.csv", newline="") as f:
        rows = list(csv.reader(f))
    col = rows[0].index("species")
    for row in rows[1:]:
        row[col] = HOSTILE[row[col]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def save_gradcheck(run_dir: Path) -> dict:
    """gradcheck.json in a run folder: what `nettrain gradcheck RUN/config.yaml --json --sample 4` prints."""
    doc = strict(gradcheck_run(config_mod.load_config(Path(run_dir) / "config.yaml"), sample=4).to_dict())
    (Path(run_dir) / "gradcheck.json").write_text(json.dumps(doc, allow_nan=False), encoding="utf-8")
    return doc


def report_folders(top: Path) -> dict:
    """The folders the report tests read: a λ sweep of iris with hostile labels, a hostile sweep name and a
    failed trial whose error is markup (gradcheck.json in its best trial); one such run with gradcheck.json;
    a regression run (diabetes), a digits run (8×8 inputs: filters), an iris run without summary.json."""
    top = Path(top)
    data = hostile_iris(top / "hostile-iris.csv")
    base = {"train.epochs": 30, "log.every": 10, "data.path": str(data)}
    sweep = make_sweep(top / "sweep", ROOT / "configs" / "iris.yaml",
                       {"train.weight_decay": [0, 1e-5, 1e-3, 1e-2, 0.1, 1.0]}, base, name="lam",
                       failed={3: HOSTILE_ERROR})
    spec = yaml.safe_load((sweep / "sweep.yaml").read_text(encoding="utf-8"))
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(dict(spec, name=HOSTILE_NAME), allow_unicode=True),
                                      encoding="utf-8")
    from nettrain import compare

    save_gradcheck(sweep / f"trial-{compare.read_sweep(sweep).best}")
    fit_run(top / "run", ROOT / "configs" / "iris.yaml", {**base, "name": "hostile"})
    save_gradcheck(top / "run")
    short = {"train.epochs": 30, "log.every": 10}
    fit_run(top / "regression", ROOT / "configs" / "diabetes.yaml", short)
    fit_run(top / "digits", ROOT / "configs" / "digits.yaml", {**short, "model.layers": [64, 16, 10]})
    fit_run(top / "old", ROOT / "configs" / "iris.yaml", short, summary=False)
    return {name: top / name for name in ("sweep", "run", "regression", "digits", "old")}
