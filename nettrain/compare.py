"""`nettrain compare`'s data: run and sweep folders read, the config keys that differ, one row per run.

    compare(paths)           Comparison: the runs (a sweep folder expands to its trials, in trial order),
                             the dotted config keys that differ between them (and only those), one row of
                             numbers per run, the sweeps, and notes on what was left out and why;
                             .to_dict() is the --json form
    expand(paths)            (runs, sweeps) of the folders given
    differing_keys(configs)  the dotted keys whose values differ (a list such as model.layers as a whole)
    read_run(path), read_sweep(path)    one folder each
    plot_comparison(c, out)  the figure: every run's J, J_data and J_reg against the epoch (one colour per
                             run) with its validation J_data, and per sweep its metric against each swept
                             key and the validation curve (matplotlib: the `plot` extra)

The folders read (README.md, "The run folder"):

    <run>/    config.yaml; metrics.csv (its validation J_data column is val_data_cost, or val_cost in older
              runs); summary.json {"epoch", "reason", "seconds", "train", "val", "test"} with each split as
              `nettrain eval --json` prints it, or null (older runs have no summary.json: what needs it is
              left out, and a note says so); gradcheck.json when saved there (`nettrain gradcheck CONFIG --json`)
    <sweep>/  trial-0/, trial-1/, … (run folders); trials.csv: trial, status (done | pruned | failed |
              running), one column per swept key named by its dotted key, epochs, cost, data_cost, reg_cost,
              val_data_cost, val_accuracy | val_r2, seconds, error; best.yaml (the best trial's config);
              sweep.yaml (name, base, grid or search/space, metric: {name, goal}, …)

Every file is read as data that may be hostile: YAML without aliases or tags, sizes bounded, numbers
checked; a required file that cannot be read is one RunIOError line, an optional one a note.
Left out on purpose: text for the terminal (render/compare.py), the HTML page (report.py), training.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import yaml

from . import plot
from .config import MAX_CONFIG_BYTES, diff_configs
from .errors import RunIOError, UsageError
from .history import OLD_NAMES, SECONDS

IGNORED_KEYS = ("name",)  # differs between any two runs by design; each row names its run anyway
COLUMNS = ("epochs", "cost", "data_cost", "reg_cost", "sparse_cost", "val_data_cost", "val_accuracy", "val_r2",
           "test_data_cost", "test_accuracy", "test_r2", "seconds")
TRIAL_COLUMNS = ("trial", "status", "epochs", "cost", "data_cost", "reg_cost", "sparse_cost", "val_data_cost",
                 "val_cost", "val_accuracy", "val_r2", "seconds", "error")
MAX_JSON_BYTES = 64 << 20  # a summary.json with the confusion matrix of thousands of classes is still far below
MAX_TRIALS_BYTES = 64 << 20


@dataclass
class RunFolder:
    """One run folder as read: its config, metrics.csv, and summary.json and gradcheck.json when present."""

    path: Path
    label: str  # how it is named in tables: the path given, or <sweep>/trial-<n>
    config: dict
    metrics: plot.Metrics
    summary: Optional[dict] = None
    gradcheck: Optional[dict] = None
    trial: Optional[dict] = None  # its row of trials.csv, for a sweep's trial
    notes: list[str] = field(default_factory=list)


@dataclass
class Sweep:
    """A sweep folder as read: sweep.yaml, trials.csv's rows (values parsed) and the trials' run folders."""

    path: Path
    name: str
    spec: dict  # sweep.yaml ({} when absent)
    keys: list[str]  # the swept keys, in trials.csv's order
    trials: list[dict]  # trials.csv's rows in trial order: column → value (None for an empty cell)
    runs: list[RunFolder]  # the trials that have a run folder with metrics, in trial order
    metric: str  # a trials.csv column: val_data_cost, val_accuracy, …
    direction: str  # minimize | maximize
    best: Optional[int] = None  # the best trial's number
    notes: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    runs: list[RunFolder]
    sweeps: list[Sweep]
    keys: list[str]  # dotted config keys whose values differ between the runs
    columns: list[str]  # COLUMNS that some run has
    rows: list[dict]  # one per run: run, path, [sweep, trial, status], config {key: value}, the columns
    notes: list[str]

    def to_dict(self) -> dict:
        """The --json form: plain data (NaN never appears: a missing number is None)."""
        return {"keys": self.keys, "columns": self.columns, "runs": self.rows,
                "sweeps": [sweep_dict(s) for s in self.sweeps], "notes": self.notes}


# ----------------------------------------------------------------------------- reading files


class _PlainLoader(yaml.SafeLoader):
    """Plain YAML values only: anchors and aliases are refused before anything is built (a file of
    nested aliases would otherwise expand to billions of values when written out)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.YAMLError(f"line {event.start_mark.line + 1}: anchors and aliases are not allowed")
        return super().compose_node(parent, index)


# YAML 1.1 reads 1e-4 (no dot) as text; nettrain's own files mean the number
_PlainLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def _read_bytes(path: Path, limit: int) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise RunIOError(f"cannot read {path}: {e.strerror or e}: check the path and permissions") from None
    if len(data) > limit:
        raise RunIOError(f"{path} is larger than {limit >> 20} MB: not a file nettrain wrote")
    return data


def read_yaml(path: Path, what: str = "a mapping") -> dict:
    """A YAML file holding a mapping (config.yaml, sweep.yaml, best.yaml), as plain data."""
    try:
        data = yaml.load(_read_bytes(path, MAX_CONFIG_BYTES).decode("utf-8"), Loader=_PlainLoader)
    except UnicodeDecodeError:
        raise RunIOError(f"{path} is not UTF-8 text: not a file nettrain wrote") from None
    except yaml.YAMLError as e:
        raise RunIOError(f"{path} is not valid YAML ({str(e).splitlines()[0]}): not a file nettrain wrote") from None
    except RecursionError:
        raise RunIOError(f"{path} is nested too deeply: not a file nettrain wrote") from None
    if not isinstance(data, dict):
        raise RunIOError(f"{path} does not hold {what}: not a file nettrain wrote")
    return data


def read_json(path: Path) -> dict:
    """A JSON file holding an object (summary.json, gradcheck.json)."""
    try:
        data = json.loads(_read_bytes(path, MAX_JSON_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        why = str(e).splitlines()[0][:80]
        raise RunIOError(f"{path} is not valid JSON ({why}): not a file nettrain wrote") from None
    if not isinstance(data, dict):
        raise RunIOError(f"{path} does not hold a JSON object: not a file nettrain wrote")
    return data


def number(v: Any) -> Optional[float]:
    """v as a finite float, or None (an empty cell, null, text, NaN, a bool)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def cell_value(text: str) -> Any:
    """A trials.csv cell as the value it writes: None (empty), an int, a float, a JSON list, mapping, true,
    false or null, else the text itself."""
    t = text.strip()
    if not t:
        return None
    for parse in (int, float):
        try:
            return parse(t)
        except ValueError:
            pass
    if t[0] in "[{" or t in ("true", "false", "null"):
        try:
            return json.loads(t)
        except ValueError:
            pass
    return t


# ----------------------------------------------------------------------------- one folder


def folder_kind(path: Path) -> str:
    """"run" (metrics.csv) or "sweep" (trials.csv); anything else is a RunIOError naming the folder."""
    p = Path(path)
    if not p.exists():
        raise RunIOError(f"{p} does not exist: give a run folder (nettrain fit) or a sweep folder (nettrain sweep)")
    if not p.is_dir():
        raise RunIOError(f"{p} is not a folder: give a run folder (nettrain fit) or a sweep folder (nettrain sweep)")
    if (p / "metrics.csv").is_file():
        return "run"
    if (p / "trials.csv").is_file():
        return "sweep"
    if (p / "sweep.yaml").is_file():
        raise RunIOError(f"{p} has sweep.yaml but no trials.csv: no trial of the sweep has ended yet")
    raise RunIOError(f"{p} is neither a run folder (metrics.csv, config.yaml) nor a sweep folder (trials.csv): "
                     "give a folder written by nettrain fit or nettrain sweep")


def read_run(path: Path, label: Optional[str] = None, trial: Optional[dict] = None) -> RunFolder:
    """A run folder: metrics.csv and config.yaml (both required), summary.json and gradcheck.json (optional:
    absent or unreadable, they are None and a note says why)."""
    path = Path(path)
    metrics = plot.read_metrics(path)
    if not (path / "config.yaml").is_file():
        raise RunIOError(f"{path} has metrics.csv but no config.yaml: not a complete run folder of nettrain fit")
    run = RunFolder(path, label or str(path), read_yaml(path / "config.yaml", "a config"), metrics, trial=trial)
    for name in ("summary.json", "gradcheck.json"):
        if (path / name).is_file():
            try:
                setattr(run, name.split(".")[0], read_json(path / name))
            except RunIOError as e:
                run.notes.append(f"{e}; left out")
    return run


def read_sweep(path: Path) -> Sweep:
    """A sweep folder: trials.csv (required), sweep.yaml and best.yaml (optional), each trial's run folder."""
    path = Path(path)
    header, trials = _read_trials(path / "trials.csv")
    notes: list[str] = []
    spec: dict = {}
    if (path / "sweep.yaml").is_file():
        try:
            spec = read_yaml(path / "sweep.yaml", "a sweep")
        except RunIOError as e:
            notes.append(f"{e}; left out")
    keys = _swept_keys(spec, header)
    metric, direction = _metric(spec, header)
    runs = []
    for row in trials:
        folder = path / f"trial-{row['trial']}"
        why = f"trial-{row['trial']} ({row.get('status') or 'no status'})"
        if not (folder / "metrics.csv").is_file():
            notes.append(f"{why} has no metrics in {folder}" + (f": {row['error']}" if row.get("error") else ""))
            continue
        try:
            runs.append(read_run(folder, str(folder), row))
        except RunIOError as e:
            notes.append(f"{why} is left out: {e}")
    name = spec.get("name") if isinstance(spec.get("name"), str) else path.resolve().name
    sweep = Sweep(path, name, spec, keys, trials, runs, metric, direction, notes=notes)
    sweep.best = _best_trial(sweep)
    return sweep


def _read_trials(path: Path) -> tuple[list[str], list[dict]]:
    """trials.csv's header and rows (cells parsed by cell_value), in trial order."""
    try:
        text = _read_bytes(path, MAX_TRIALS_BYTES).decode("utf-8")
        lines = list(csv.reader(text.splitlines()))
    except (UnicodeDecodeError, csv.Error) as e:
        raise RunIOError(f"{path} is not a csv file ({e}): not a trials.csv nettrain sweep wrote") from None
    if not lines or "trial" not in lines[0] or "status" not in lines[0]:
        raise RunIOError(f"{path}: line 1: the header lacks trial and status: not a trials.csv nettrain sweep wrote")
    header = [h.strip() for h in lines[0]]
    rows = []
    for n, cells in enumerate(lines[1:], 2):
        if not cells:
            continue
        if len(cells) != len(header):
            raise RunIOError(f"{path}: line {n}: {len(cells)} cells for {len(header)} columns")
        row = {h: cell_value(c) for h, c in zip(header, cells)}
        if isinstance(row["trial"], bool) or not isinstance(row["trial"], int) or row["trial"] < 0:
            raise RunIOError(f"{path}: line {n}, column trial: not a trial number ({cells[header.index('trial')]!r})")
        for old, new in OLD_NAMES.items():  # an older sweep's columns read as today's
            if old in row and new not in row:
                row[new] = row.pop(old)
        rows.append(row)
    return header, sorted(rows, key=lambda r: r["trial"])


def _swept_keys(spec: dict, header: list[str]) -> list[str]:
    """trials.csv's columns that are swept keys: those sweep.yaml's grid or space names, when it names
    any; else every column but the fixed ones (TRIAL_COLUMNS)."""
    named = {str(k) for part in ("grid", "space") if isinstance(spec.get(part), dict) for k in spec[part]}
    return [c for c in header if c not in TRIAL_COLUMNS and (not named or c in named)]


def _metric(spec: dict, header: list[str]) -> tuple[str, str]:
    """The sweep's metric (a trials.csv column) and direction, from sweep.yaml (`metric: NAME` or
    `metric: {name, goal: min | max}` as nettrain sweep writes it; `direction: minimize | maximize` also read),
    else val_data_cost (minimize) when trials.csv has it."""
    m = spec.get("metric")
    name = m.get("name") if isinstance(m, dict) else m
    goal = {"min": "minimize", "max": "maximize"}.get(m.get("goal")) if isinstance(m, dict) else None
    direction = goal or (m.get("direction") if isinstance(m, dict) else None) or spec.get("direction")
    if not isinstance(name, str) or not name:
        name = "val_data_cost" if ("val_data_cost" in header or "val_cost" in header) else "cost"
    name = name.removeprefix("metrics.")
    name = OLD_NAMES.get(name, name)
    if direction not in ("minimize", "maximize"):
        direction = "maximize" if name.endswith(("accuracy", "r2")) else "minimize"
    return name, direction


def _best_trial(sweep: Sweep) -> Optional[int]:
    """The trial whose config is best.yaml's (its name aside); among several such, or without best.yaml,
    the done trial with the best metric."""
    candidates = [r.trial for r in sweep.runs]
    best_yaml = sweep.path / "best.yaml"
    if best_yaml.is_file():
        try:
            cfg = read_yaml(best_yaml, "a config")
            same = [r.trial for r in sweep.runs if not differing_keys([cfg, r.config])]
            candidates = same or candidates
        except RunIOError as e:
            sweep.notes.append(f"{e}; the best trial is the one with the best {sweep.metric}")
    scored = [(number(t.get(sweep.metric)), t["trial"]) for t in candidates if t.get("status") in ("done", None)]
    scored = [(v if sweep.direction == "minimize" else -v, n) for v, n in scored if v is not None]
    if scored:
        return min(scored)[1]
    return candidates[0]["trial"] if len(candidates) == 1 else None


def sweep_dict(s: Sweep) -> dict:
    return {"name": s.name, "path": str(s.path), "metric": s.metric, "direction": s.direction, "keys": s.keys,
            "best_trial": s.best, "trials": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                                               for k, v in t.items()} for t in s.trials]}


# ----------------------------------------------------------------------------- the comparison


def expand(paths: Sequence[Path]) -> tuple[list[RunFolder], list[Sweep]]:
    """The runs of the folders given, in the order given, a sweep folder's trials in trial order; and the sweeps."""
    if not paths:
        raise UsageError("give at least one run folder (nettrain fit) or sweep folder (nettrain sweep)")
    runs, sweeps = [], []
    for p in paths:
        if folder_kind(p) == "run":
            runs.append(read_run(Path(p)))
        else:
            sweeps.append(read_sweep(Path(p)))
            runs.extend(sweeps[-1].runs)
    return runs, sweeps


def compare(paths: Sequence[Path]) -> Comparison:
    """The runs of `paths` side by side: see the module docstring."""
    runs, sweeps = expand([Path(p) for p in paths])
    swept = [k for s in sweeps for k in s.keys]
    keys = _ordered(differing_keys([r.config for r in runs]), swept, runs[0].config if runs else {})
    rows = [run_row(r, keys) for r in runs]
    best = {(str(s.path), s.best) for s in sweeps}
    for row in rows:
        if "best" in row:
            row["best"] = (row["sweep"], row["trial"]) in best
    columns = [c for c in COLUMNS if any(row.get(c) is not None for row in rows)]
    notes = [n for s in sweeps for n in s.notes] + [n for r in runs for n in r.notes]
    old = [r.label for r in runs if r.summary is None]
    if old:
        notes.append(f"no summary.json in {_list(old)} (written by nettrain fit at the end of a run; older runs "
                     "have none): test metrics are left out there, and seconds are metrics.csv's last (if any)")
    late = [f"{row['run']} (epoch {row['val_epoch']})" for row in rows
            if row.get("val_epoch") is not None and row["val_epoch"] != row["epochs"]]
    if late:
        notes.append(f"validation columns are from the last logged epoch (log.every) in {_list(late)}")
    if not runs:
        notes.append("no run to compare: no trial of the sweep has logged an epoch yet")
    return Comparison(runs, sweeps, keys, columns, rows, notes)


def _list(items: list[str], limit: int = 6) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def differing_keys(configs: list[dict]) -> list[str]:
    """The dotted keys, sorted, whose values differ between any two of the configs (a key under one that
    differs as a whole, such as model.sparsity null against a mapping, is not listed twice). A key
    differs between two configs only if it differs between one of them and the first: comparing each
    with the first finds them all."""
    found: set[str] = set()
    for c in configs[1:]:
        found.update(diff_configs(configs[0], c))
    found -= set(IGNORED_KEYS)
    return sorted(k for k in found if not any(k.startswith(p + ".") for p in found))


def _ordered(keys: list[str], first: list[str], config: dict) -> list[str]:
    """keys with the swept ones first (as trials.csv orders them), then as they appear in the config file."""
    order: list[str] = []

    def walk(d: Any, prefix: str) -> None:
        for k, v in d.items():
            order.append(prefix + str(k))
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")

    walk(config, "")
    rank = {k: i for i, k in enumerate(dict.fromkeys(first + order))}
    return sorted(keys, key=lambda k: (rank.get(k, len(rank)), k))


_MISSING = object()


def config_value(config: dict, key: str) -> Any:
    """The value at a dotted key of a config dict, or compare._MISSING when it has none."""
    v: Any = config
    for part in key.split("."):
        if not isinstance(v, dict) or part not in v:
            return _MISSING
        v = v[part]
    return v


def _last(metrics: plot.Metrics, column: str) -> tuple[Optional[float], Optional[int]]:
    """The column's last non-empty cell and its epoch (None, None when it has none)."""
    v = metrics.values.get(column)
    if v is None:
        return None, None
    filled = np.flatnonzero(np.isfinite(v))
    if not filled.size:
        return None, None
    epoch = number(metrics.values["epoch"][filled[-1]])  # an empty epoch cell: a hand-edited file
    return float(v[filled[-1]]), None if epoch is None else int(epoch)


def run_row(run: RunFolder, keys: Sequence[str]) -> dict:
    """One run's row: its label and path (and sweep folder, trial, status, best), the keys' values; from
    metrics.csv the last epoch and J and its parts there, the last logged validation J_data and accuracy
    or R² (val_epoch: that epoch); from summary.json the test split's J_data and accuracy or R², and the
    seconds taken (without summary.json: trials.csv's for a trial, else metrics.csv's last seconds cell)."""
    row: dict[str, Any] = {"run": run.label, "path": str(run.path)}
    if run.trial is not None:  # best: compare() marks the sweep's best trial
        row.update(sweep=str(run.path.parent), trial=run.trial.get("trial"), status=run.trial.get("status"),
                   best=False)
    row["config"] = {k: v for k in keys for v in [config_value(run.config, k)] if v is not _MISSING}
    epochs = _last(run.metrics, "epoch")[0]
    row["epochs"] = None if epochs is None else int(epochs)
    for col in ("cost", "data_cost", "reg_cost", "sparse_cost"):
        if col in run.metrics.values:
            row[col] = _last(run.metrics, col)[0]
    val = plot.val_data_column(run.metrics)
    if val:
        row["val_data_cost"], row["val_epoch"] = _last(run.metrics, val)
    for col in ("val_accuracy", "val_r2"):
        if run.metrics.has(col):
            row[col] = _last(run.metrics, col)[0]
    summary = run.summary or {}
    test = summary.get("test") if isinstance(summary.get("test"), dict) else None
    if test:
        row["test_data_cost"] = number(test.get("data_cost"))
        for k in ("accuracy", "r2"):
            if k in test:
                row[f"test_{k}"] = number(test[k])
    seconds = number(summary.get("seconds"))
    if seconds is None:  # a run that did not end: its trial's (a sweep's), else metrics.csv's last seconds cell
        seconds = number((run.trial or {}).get("seconds"))
    if seconds is None and run.metrics.has(SECONDS):
        seconds = _last(run.metrics, SECONDS)[0]
    row["seconds"] = seconds
    if isinstance(summary.get("reason"), str):
        row["reason"] = summary["reason"]
    return row


# ----------------------------------------------------------------------------- the figure


def comparison_figure(cmp: Comparison, title: Optional[str] = None) -> Any:
    """The cost curves of every run, and below them each sweep's panels (plot.sweep_figure)."""
    series = [(r.label, r.metrics) for r in cmp.runs]
    sizes = [(11.0, 4.4)] + [plot.sweep_size(s.keys, s.metric) for s in cmp.sweeps]
    fig = plot.new_figure((max(w for w, _ in sizes), sum(h for _, h in sizes)))
    parts = fig.subfigures(len(sizes), 1, height_ratios=[h for _, h in sizes], squeeze=False).ravel()
    plot.runs_figure(series, title, fig=parts[0])
    for part, s in zip(parts[1:], cmp.sweeps):
        plot.sweep_figure(s.keys, s.trials, s.metric, s.best, title=f"sweep {s.name}: {s.metric} ({s.direction})",
                          fig=part)
    return fig


def plot_comparison(cmp: Comparison, out: Path, title: Optional[str] = None) -> Path:
    """comparison_figure written to out (.png or .svg)."""
    return plot.save_figure(comparison_figure(cmp, title), out)
