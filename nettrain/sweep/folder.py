"""The sweep folder: its files, each written atomically (checkpoint.write_text), and read back to resume.

    runs/<name>/
        sweep.yaml    the resolved sweep (spec.Sweep.resolved): what --resume checks against
        trials.csv    a row per trial started, in trial order: trial, status (done | pruned | failed | running),
                      one column per swept key (its dotted name), epochs, cost, data_cost, reg_cost[, sparse_cost],
                      val_data_cost, val_accuracy | val_r2, seconds, error
        best.yaml     the config of the best done trial by the metric (its name <sweep>-best): nettrain fit best.yaml
        trial-<k>/    trial k's run folder (nettrain fit's files and summary.json)

A trials.csv cell is what compare.cell_value reads back as the same value: empty for None, an int, a float's
repr (every bit), a list or mapping as JSON, true/false, else the text. The numbers of a trial are those of
its last state (trainer.fit's train and val metrics); seconds is the whole trial on its worker.

Left out on purpose: what runs the trials (engine.py, trial.py), rendering.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
from pathlib import Path
from typing import Any, Optional

import yaml

from .. import checkpoint as ckpt
from .. import config as config_mod
from ..compare import cell_value
from ..errors import ConfigError, RunIOError
from .spec import RESUMABLE

TRIALS, SPEC, BEST = "trials.csv", "sweep.yaml", "best.yaml"
STATUSES = ("done", "pruned", "failed", "running")


_HELD: set[int] = set()  # the descriptors of the sweep folders this process holds locked


def _let_go_in_child() -> None:
    """A process forked from this one (a LocalCluster's worker) closes its copies of the locked descriptors: a
    flock belongs to the open file, so a worker that outlives a killed sweep would otherwise hold its lock."""
    for fd in _HELD:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_let_go_in_child)


def lock(folder: Path) -> int:
    """The sweep folder locked for this sweep (flock on the folder: released when the process ends, however
    it ends); the open descriptor, to close at the end (unlock). A folder another sweep holds is one RunIOError."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunIOError(f"{folder} is in use by another nettrain sweep: wait for it to end, or stop it and continue "
                         "with --resume") from None
    _HELD.add(fd)
    return fd


def unlock(fd: int) -> None:
    _HELD.discard(fd)
    os.close(fd)


def trial_dir(folder: Path, k: int) -> Path:
    return Path(folder) / f"trial-{k}"


def columns(keys: list[str], base: config_mod.Config) -> list[str]:
    """trials.csv's header for these swept keys and this base config (J_sparse with a sparsity penalty; the
    validation score: accuracy for a classification, else R²)."""
    sparse = ["sparse_cost"] if base.model.sparsity is not None or "model.sparsity" in keys else []
    score = "val_accuracy" if base.data.task == "classification" else "val_r2"
    return ["trial", "status", *keys, "epochs", "cost", "data_cost", "reg_cost", *sparse, "val_data_cost", score,
            "seconds", "error"]


def cell(v: Any) -> str:
    """A value as its trials.csv cell (the module docstring)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def write_trials(folder: Path, header: list[str], rows: dict[int, dict]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([[cell(rows[k].get(c)) for c in header] for k in sorted(rows)])
    ckpt.write_text(Path(folder) / TRIALS, buf.getvalue())


def read_trials(folder: Path) -> tuple[list[str], dict[int, dict]]:
    """trials.csv's header and rows by trial number (cells as compare.cell_value reads them); ({}, …) when absent."""
    path = Path(folder) / TRIALS
    if not path.exists():
        return [], {}
    try:
        lines = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise RunIOError(f"cannot read {path} ({e}): not a trials.csv nettrain sweep wrote") from None
    header, rows = (lines[0], lines[1:]) if lines else ([], [])
    out = {}
    for n, cells in enumerate(rows, 2):
        row = {h: cell_value(c) for h, c in zip(header, cells)}
        if len(cells) != len(header) or not isinstance(row.get("trial"), int) or row.get("status") not in STATUSES:
            raise RunIOError(f"{path}: line {n} is not a row nettrain sweep wrote: remove the sweep folder and start "
                             "again")
        out[row["trial"]] = row
    return header, out


def dump_yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None)


def write_spec(folder: Path, resolved: dict) -> None:
    ckpt.write_text(Path(folder) / SPEC, dump_yaml(resolved))


def check_resume(folder: Path, resolved: dict, command: str) -> None:
    """The sweep folder holds this sweep (sweep.yaml: the same, but for RESUMABLE); else one ConfigError line."""
    path = Path(folder) / SPEC
    if not path.exists():
        raise RunIOError(f"{path} does not exist: nothing to resume; run without --resume to start the sweep")
    stored = config_mod.read_document(path, "sweep file").data
    changed = [k for k in config_mod.diff_configs(stored, resolved) if k.split(".")[0] not in RESUMABLE]
    if changed:
        raise ConfigError(f"cannot resume {folder}: the sweep differs from its sweep.yaml in {', '.join(changed)} (a "
                          f"resume may change only {', '.join(RESUMABLE)}); start a new sweep with another --out "
                          f"instead of {command}")


def check_trial_config(folder: Path, k: int, cfg: config_mod.Config, ignore: tuple = ()) -> None:
    """A kept trial's config.yaml is the config the sweep gives trial k now (the base config was not edited),
    but for the dotted keys in `ignore` (halving: train.epochs, its rung's)."""
    path = trial_dir(folder, k) / "config.yaml"
    try:
        stored = config_mod.read_document(path, "config").data
    except ConfigError:
        raise RunIOError(f"cannot resume: {path} is missing or unreadable, though trials.csv says trial {k} ended: "
                         "remove its row from trials.csv to run it again") from None
    changed = [c for c in config_mod.diff_configs(stored, config_mod.config_to_dict(cfg)) if c not in ignore]
    if changed:
        raise ConfigError(f"cannot resume {folder}: trial-{k}'s config differs from the one the sweep gives it now "
                          f"in {', '.join(changed)} (was the base config edited?); start a new sweep with another "
                          "--out")


def write_best(folder: Path, name: str, k: Optional[int]) -> None:
    """best.yaml: trial k's config.yaml named <name>-best (so that nettrain fit best.yaml writes runs/<name>-best);
    nothing when there is no best trial yet."""
    if k is None:
        return
    cfg = config_mod.load_config(trial_dir(folder, k) / "config.yaml", {"name": f"{name[:95]}-best"})
    ckpt.write_text(Path(folder) / BEST, config_mod.dump_config_yaml(cfg))


def best_trial(rows: dict[int, dict], metric: str, goal: str) -> Optional[int]:
    """The done trial with the best metric (the lowest number among equals); None when none has one."""
    scored = [(r[metric] if goal == "min" else -r[metric], k) for k, r in rows.items()
              if r.get("status") == "done" and isinstance(r.get(metric), (int, float))]
    return min(scored)[1] if scored else None
