"""A sweep run: trials numbered and given their values in order, run on an executor, recorded as they end.

    run_sweep(sweep, *, out=None, resume=False, reporter=None) -> SweepResult
    resume_command(sweep, out) -> str

The loop is ours (ask-and-tell): while a slot is free and trials remain, the next trial number k gets its
values (search.propose: the grid's k-th combination, or a draw from the trials known at that moment), its
row goes into trials.csv as running, and its task is submitted; then the next trial to end is recorded — its
row in trials.csv, best.yaml, a line through the reporter. A trial's number and values never depend on the
order in which trials end; its folder is the fit `nettrain fit BASE --set …` makes of its values alone.

Resume (--resume): sweep.yaml must hold the same sweep (only workers and cluster may change), and each kept
trial's config.yaml the config the sweep gives it now. Rows done, pruned or failed are kept; a trial left
running (the sweep was killed or stopped) starts over in its folder, with its values — for a TPE draw, those
trials.csv recorded — then the sweep goes on from the next number. The trials.csv and trial folders it ends
with are those of an uninterrupted sweep (but for seconds; a TPE sweep, or pruning, with more than one
worker depends on which trials had ended, there as in any run).

Ctrl-C stops the trials under way (they start over on --resume), saves trials.csv and says how to resume
(Interrupted); a lost scheduler ends the sweep the same way (ClusterError).

Left out on purpose: printing (render/sweep.py), what a trial does (trial.py), where it runs (executors.py).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

from .. import config as config_mod
from ..errors import ClusterError, Interrupted, RunIOError
from . import folder as files
from .executors import open_executor
from .search import Known, propose
from .spec import Sweep
from .trial import TrialOutcome, TrialTask, logged_steps


class SweepReporter(Protocol):
    """What a sweep tells its caller as it goes (render/sweep.py renders it)."""

    def start(self, info: dict) -> None: ...
    def trial(self, row: dict) -> None: ...  # a trial ended: its trials.csv row
    def note(self, text: str) -> None: ...


class SilentReporter:
    def start(self, info: dict) -> None:
        pass

    def trial(self, row: dict) -> None:
        pass

    def note(self, text: str) -> None:
        pass


@dataclass
class SweepResult:
    folder: Path
    sweep: Sweep
    header: list[str]  # trials.csv's columns
    rows: dict[int, dict]  # trials.csv's rows by trial number
    best: Optional[int]  # the best done trial (best.yaml holds its config)
    kept: int = 0  # trials that had ended before this run (--resume)

    @property
    def failed(self) -> list[int]:
        return [k for k, r in sorted(self.rows.items()) if r["status"] == "failed"]


@dataclass
class _State:
    sweep: Sweep
    folder: Path
    header: list[str]
    rows: dict[int, dict]
    known: dict[int, Known] = field(default_factory=dict)
    rerun: list[int] = field(default_factory=list)  # trials left running by an earlier run: first, in order
    next_k: int = 0
    best: Optional[int] = None
    lock: int = -1  # the sweep folder's locked descriptor (folder.lock)

    def save(self) -> None:
        files.write_trials(self.folder, self.header, self.rows)


def resume_command(sweep: Sweep, out: Optional[Path]) -> str:
    """The command that continues this sweep: the same file, --set and --workers, --resume, --out if given."""
    args = ["nettrain", "sweep", sweep.doc.source, *(a for s in sweep.command_sets for a in ("--set", s))]
    if sweep.command_workers is not None:
        args += ["--workers", str(sweep.command_workers)]
    return shlex.join(args + ["--resume"] + (["--out", str(out)] if out is not None else []))


def _steps_needed(sweep: Sweep) -> bool:
    """The metric at each logged epoch of ended trials: for the pruner's medians and TPE's pruned trials."""
    return sweep.spec.prune is not None or sweep.method == "tpe"


def _known(state: _State, k: int, params: dict, row: dict) -> Known:
    sweep, metric = state.sweep, state.sweep.metric.name
    steps = {}
    if _steps_needed(sweep) and row["status"] in ("done", "pruned"):
        d = files.trial_dir(state.folder, k)
        every = (config_mod.read_document(d / "config.yaml", "config").data.get("log") or {}).get("every", 1)
        steps = logged_steps(d, metric, int(every))
    value = row.get(metric) if row["status"] == "done" else None
    return Known(k, params, row["status"], value if isinstance(value, (int, float)) else None, steps)


def _open(sweep: Sweep, folder: Path, *, resume: bool, command: str) -> _State:
    """The sweep folder made ready and locked: sweep.yaml written; on a resume, what trials.csv says has ended,
    checked."""
    base = config_mod.load_config(sweep.spec.base, sweep.sets)
    if resume and not (folder / files.SPEC).exists() and (not folder.exists() or not any(folder.iterdir())):
        resume = False  # stopped before it wrote anything (or never started): nothing to keep, start it
    if not resume and folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RunIOError(f"{folder} already exists: add --resume to continue that sweep, or choose another --out (or "
                         "name) for a new one")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunIOError(f"cannot create {folder}: {e.strerror or e}: check the path and permissions") from None
    state = _State(sweep, folder, files.columns(sweep.keys, base), {}, lock=files.lock(folder))
    try:
        if resume:
            files.check_resume(folder, sweep.resolved(), command)
            stored, state.rows = files.read_trials(folder)
            if state.rows and stored != state.header:
                raise RunIOError(f"cannot resume {folder}: its trials.csv has the columns {', '.join(stored)}, not "
                                 "those of this sweep: start a new sweep with another --out")
            state.next_k = max(state.rows) + 1 if state.rows else 0
        _kept(state)
    except BaseException:
        os.close(state.lock)
        raise
    return state


def _kept(state: _State) -> None:
    """sweep.yaml written; what the trials that ended are, checked (each one's config the sweep's now)."""
    sweep, folder, rows = state.sweep, state.folder, state.rows
    files.write_spec(folder, sweep.resolved())
    for k, row in sorted(rows.items()):
        params = _params(sweep, k, row)
        if row["status"] in ("done", "pruned"):
            files.check_trial_config(folder, k, config_mod.load_config(sweep.spec.base, sweep.overrides(params)))
        if row["status"] == "running":
            state.rerun.append(k)
        state.known[k] = _known(state, k, params, row)
    state.best = files.best_trial(rows, sweep.metric.name, sweep.metric.goal)


def _params(sweep: Sweep, k: int, row: dict) -> dict:
    """A trial's values on a resume: the grid's or the random draw's again (they depend on k alone), or the
    TPE draw trials.csv recorded."""
    if sweep.method == "tpe":
        return {key: row.get(key) for key in sweep.keys}
    return propose(sweep, k)


def _task(state: _State, k: int, params: dict, threads: Optional[int]) -> TrialTask:
    sweep = state.sweep
    prune = sweep.spec.prune
    history = [t for t in state.known.values() if t.status in ("done", "pruned") and t.number < k] if prune else []
    return TrialTask(k, str(files.trial_dir(state.folder, k).resolve()), str(sweep.spec.base), sweep.overrides(params),
                     sweep.metric.name, sweep.metric.goal, None if prune is None else prune.model_dump(), history,
                     threads)


def _next_trial(state: _State) -> Optional[tuple[int, dict]]:
    """The next trial to start and its values: one left running first, then the next number; None when done."""
    sweep = state.sweep
    if state.rerun:
        k = state.rerun.pop(0)
        return k, state.known[k].params
    if state.next_k >= sweep.total:
        return None
    k, state.next_k = state.next_k, state.next_k + 1
    return k, propose(sweep, k, list(state.known.values()))


def _ended(state: _State, outcome: TrialOutcome) -> dict:
    """The ended trial's row and what the samplers and the pruner know of it (in memory: saved with the next
    trials' rows)."""
    k = outcome.number
    params = state.known[k].params
    row = {"trial": k, "status": outcome.status, **params, **outcome.values, "seconds": round(outcome.seconds, 3),
           "error": outcome.error}
    state.rows[k] = row
    state.known[k] = _known(state, k, params, row)
    return row


def _fill(state: _State, ex: Any) -> bool:
    """Submit trials until the executor holds as many as it runs at once (and those it keeps queued)."""
    started = False
    while ex.busy() < ex.slots + ex.queued:
        nxt = _next_trial(state)
        if nxt is None:
            break
        k, params = nxt
        state.rows[k] = {"trial": k, "status": "running", **params}
        state.known[k] = Known(k, params, "running")
        ex.submit(_task(state, k, params, ex.threads))
        started = True
    return started


def _loop(state: _State, ex: Any, rep: SweepReporter) -> None:
    """Submit, wait for a trial to end, record it. The next trials are submitted before the ended one's files
    are written (the workers wait for nothing), and one trials.csv write holds both; a kill in between leaves
    the ended trial running in trials.csv (it runs again) and the new ones unrecorded (they start again)."""
    row = None
    while True:
        if _fill(state, ex) or row is not None:
            state.save()
        if row is not None:
            sweep = state.sweep
            best = files.best_trial(state.rows, sweep.metric.name, sweep.metric.goal)
            if best != state.best:
                files.write_best(state.folder, sweep.spec.name, best)
                state.best = best
            rep.trial(row)
        if not ex.busy():
            return
        row = _ended(state, ex.next())


def run_sweep(sweep: Sweep, *, out: Optional[Path] = None, resume: bool = False,
              reporter: Optional[SweepReporter] = None) -> SweepResult:
    """Run (or, with resume, continue) the sweep into `out` (default runs/<name>): the module docstring."""
    rep = reporter or SilentReporter()
    folder = Path(out) if out is not None else Path("runs") / sweep.spec.name
    command = resume_command(sweep, out)
    state = _open(sweep, folder, resume=resume, command=command)
    try:
        return _run(state, rep, command)
    finally:
        os.close(state.lock)


def _run(state: _State, rep: SweepReporter, command: str) -> SweepResult:
    sweep, folder = state.sweep, state.folder
    kept = sum(1 for r in state.rows.values() if r["status"] != "running")
    for text in sweep.warnings:
        rep.note(f"warning: {text}")
    try:
        with open_executor(sweep) as ex:
            rep.start({"folder": str(folder), "total": sweep.total, "kept": kept, "rerun": list(state.rerun),
                       "method": sweep.method, "keys": sweep.keys, "metric": sweep.metric.name,
                       "goal": sweep.metric.goal, "slots": ex.slots, "threads": ex.threads,
                       "where": _where(sweep)})
            try:
                _loop(state, ex, rep)
            except BaseException:
                ex.cancel()
                raise
    except (KeyboardInterrupt, Interrupted):
        state.save()
        ended = sum(1 for r in state.rows.values() if r["status"] != "running")
        raise Interrupted(f"stopped with {ended} of {sweep.total} trials ended (those under way start over): "
                          f"continue with {command}") from None
    except ClusterError as e:
        state.save()
        raise ClusterError(f"{e}; continue with {command}") from None
    files.write_best(folder, sweep.spec.name, state.best)
    return SweepResult(folder, sweep, state.header, state.rows, state.best, kept)


def _where(sweep: Sweep) -> str:
    spec = sweep.spec
    if spec.cluster is not None:
        return f"the Dask cluster at {spec.cluster.address}"
    return "this process" if spec.workers == 1 else f"a local Dask cluster of {spec.workers} worker processes"
