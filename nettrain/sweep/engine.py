"""A sweep run: trials numbered and given their values in order, run on an executor, recorded as they end.

    run_sweep(sweep, *, out=None, resume=False, reporter=None) -> SweepResult
    resume_command(sweep, out) -> str

The loop is ours (ask-and-tell): while a slot is free and trials remain, the next trial number k gets its
values (search.propose: the grid's k-th combination, or a draw from the trials known at that moment), its
row goes into trials.csv as running, and its task is submitted; then the next trial to end is recorded — its
row in trials.csv, a line through the reporter. best.yaml is written when the sweep ends or stops (it is the
config of a trial, loaded and validated: too slow to rewrite whenever the best changes; a killed sweep's is
written again by its --resume). A trial's number and values never depend on the
order in which trials end; its folder is the fit `nettrain fit BASE --set …` makes of its values alone. A grid
on more than one slot hands its trials out longest first (search.longest_first: the workers end close together);
only the order they start in changes, never a trial's number or values.

Resume (--resume): sweep.yaml must hold the same sweep (only workers and cluster may change), and each kept
trial's config.yaml the config the sweep gives it now. Rows done, pruned or failed are kept; a trial left
running (the sweep was killed or stopped) starts over in its folder, with its values — for a TPE draw, those
trials.csv recorded — then the numbers below the last one that trials.csv lacks (a grid handed out longest
first), then the sweep goes on from the next number. The trials.csv and trial folders it ends
with are those of an uninterrupted sweep (but for seconds; a TPE sweep, or pruning, with more than one
worker depends on which trials had ended, there as in any run).

With prune: {method: halving} a trial runs in rungs (halving.py): a job is a trial and the epochs of its rung,
the next rung's jobs continuing the trials' folders; which jobs come next is decided from the rows that have
ended alone (halving.plan), so that a resumed sweep, or one on more workers, runs the same rungs.

Ctrl-C stops the trials under way (they start over on --resume), saves trials.csv and says how to resume
(Interrupted); a lost scheduler ends the sweep the same way (ClusterError).

Left out on purpose: printing (render/sweep.py), what a trial does (trial.py), where it runs (executors.py).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

from .. import config as config_mod
from ..errors import ClusterError, Interrupted, RunIOError
from . import folder as files
from . import halving
from .executors import open_executor
from .search import Known, longest_first, propose
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
    timings: dict[int, dict] = field(default_factory=dict)  # this run's trials: TrialOutcome's seconds (benchmarks)

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
    rerun: list[int] = field(default_factory=list)  # trials left running by an earlier run, then those it had not
    # started below its last number (a grid handed out longest first): first, in order
    base: Any = None  # the base config with the sweep's --set (search.longest_first's costs)
    order: Optional[list[int]] = None  # a grid on several slots: the trials still to start, longest first
    next_k: int = 0
    best: Optional[int] = None
    lock: int = -1  # the sweep folder's locked descriptor (folder.lock)
    rungs: Optional[halving.Rungs] = None  # prune: halving
    under_way: dict[int, "Job"] = field(default_factory=dict)  # the jobs submitted and not yet ended
    rung: int = 0  # halving: the rung last announced
    notes: list[str] = field(default_factory=list)  # for the reporter: a rung's trials chosen
    timings: dict[int, dict] = field(default_factory=dict)  # SweepResult.timings

    def save(self) -> None:
        files.write_trials(self.folder, self.header, self.rows)


@dataclass
class Job:
    """A trial to run: its number and values; with halving, the epochs of its rung and whether it continues
    its folder (resume) or starts it."""

    number: int
    params: dict
    epochs: Optional[int] = None  # train.epochs of this job (None: the base config's)
    resume: bool = False


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
    """What the samplers, the pruner and halving's plan learn of trial k from its row and its folder (halving:
    the metric at every rung a trial reached, whatever its status now)."""
    sweep, metric = state.sweep, state.sweep.metric.name
    steps = {}
    d = files.trial_dir(state.folder, k)
    if _steps_needed(sweep) and (row["status"] in ("done", "pruned") or state.rungs is not None) and (
            d / "config.yaml").exists():
        every = (config_mod.read_document(d / "config.yaml", "config").data.get("log") or {}).get("every", 1)
        steps = logged_steps(d, metric, int(every))
    value = row.get(metric) if row["status"] == "done" else None
    epochs = row.get("epochs") if isinstance(row.get("epochs"), int) else None
    return Known(k, params, row["status"], value if isinstance(value, (int, float)) else None, steps, epochs)


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
    state = _State(sweep, folder, files.columns(sweep.keys, base), {}, lock=files.lock(folder), base=base)
    prune = sweep.spec.prune
    if prune is not None and prune.method == "halving":
        state.rungs = halving.Rungs(prune.min_epochs, prune.reduction, base.train.epochs, sweep.total)
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
        files.unlock(state.lock)
        raise
    return state


def _kept(state: _State) -> None:
    """sweep.yaml written; what the trials that ended are, checked (each one's config the sweep's now)."""
    sweep, folder, rows = state.sweep, state.folder, state.rows
    files.write_spec(folder, sweep.resolved())
    for k, row in sorted(rows.items()):
        params = _params(sweep, k, row)
        if row["status"] in ("done", "pruned"):  # halving: each trial has the epochs of its rung
            files.check_trial_config(folder, k, config_mod.load_config(sweep.spec.base, sweep.overrides(params)),
                                     ignore=("train.epochs",) if state.rungs is not None else ())
        if row["status"] == "running":
            state.rerun.append(k)  # (halving: its plan runs them again, first)
        state.known[k] = _known(state, k, params, row)
    if state.rungs is None:  # (halving's plan draws the lowest number not drawn itself)
        state.rerun += [k for k in range(state.next_k) if k not in rows]
    state.best = files.best_trial(rows, sweep.metric.name, sweep.metric.goal)


def _params(sweep: Sweep, k: int, row: dict) -> dict:
    """A trial's values on a resume: the grid's or the random draw's again (they depend on k alone), or the
    TPE draw trials.csv recorded."""
    if sweep.method == "tpe":
        return {key: row.get(key) for key in sweep.keys}
    return propose(sweep, k)


def _task(state: _State, job: Job, threads: Optional[int]) -> TrialTask:
    sweep, k = state.sweep, job.number
    prune = sweep.spec.prune if state.rungs is None else None  # halving's rungs are the fits' epochs
    history = [t for t in state.known.values() if t.status in ("done", "pruned") and t.number < k] if prune else []
    epochs = [] if job.epochs is None else [f"train.epochs={job.epochs}"]
    return TrialTask(k, str(files.trial_dir(state.folder, k).resolve()), str(sweep.spec.base),
                     sweep.overrides(job.params) + epochs, sweep.metric.name, sweep.metric.goal,
                     None if prune is None else prune.model_dump(), history, threads, job.resume)


def _hand_out(state: _State, slots: int) -> None:
    """A grid on more than one slot: every trial still to start (rerun ones too) in state.order, longest first.
    Its values depend on k alone, so the order is free; halving's plan and the draws of a search keep theirs."""
    sweep = state.sweep
    if sweep.grid is None or state.rungs is not None or slots < 2:
        return
    todo = state.rerun + list(range(state.next_k, sweep.total))
    state.order, state.rerun, state.next_k = longest_first(sweep, state.base, todo), [], sweep.total


def _next_job(state: _State) -> Optional[Job]:
    """The next trial to start and its values: one left running or not started first, then the next number (a
    grid on several slots: the next of state.order); None when done (or, with halving, when the next jobs wait
    for the rung under way to end)."""
    if state.rungs is not None:
        return _next_rung_job(state)
    sweep = state.sweep
    if state.order or state.rerun:
        k = (state.order or state.rerun).pop(0)
        before = state.known.get(k)
        return Job(k, before.params if before is not None else propose(sweep, k, list(state.known.values())))
    if state.next_k >= sweep.total:
        return None
    k, state.next_k = state.next_k, state.next_k + 1
    return Job(k, propose(sweep, k, list(state.known.values())))


def _next_rung_job(state: _State) -> Optional[Job]:
    """halving.plan's first job: a trial continued or started again, or the next number drawn."""
    sweep = state.sweep
    p = halving.plan(state.rungs, state.known, set(state.under_way), sweep.metric.goal)
    if p.rung > state.rung:
        state.rung = p.rung
        state.notes.append(_rung_note(state.rungs, p))
    if not p.jobs:
        return None
    k, epochs, resume = p.jobs[0]
    if k in state.known:
        return Job(k, state.known[k].params, epochs, resume)
    state.next_k = k + 1  # drawn in order: k is the lowest number not drawn
    return Job(k, propose(sweep, k, list(state.known.values())), epochs)


def _rung_note(rungs: halving.Rungs, p: halving.Plan) -> str:
    sizes = rungs.sizes()
    before, now = rungs.target(p.rung - 1, sizes[p.rung - 1]), rungs.target(p.rung, sizes[p.rung])
    return (f"rung {p.rung}: the best {len(p.cohort)} of {sizes[p.rung - 1]} trials at {before} epochs go on to "
            f"{now}: " + ", ".join(f"trial-{k}" for k in p.cohort))


def _ended(state: _State, outcome: TrialOutcome) -> dict:
    """The ended trial's row and what the samplers and the pruner know of it (in memory: saved with the next
    trials' rows). halving: a trial that trained to its rung's epochs short of the last rung's is pruned (it
    is running again if a later rung takes it), and its seconds add up over its rungs."""
    k = outcome.number
    params, job = state.known[k].params, state.under_way.pop(k, None)
    status, seconds = outcome.status, outcome.seconds
    if job is not None and job.epochs is not None:
        if status == "done" and job.epochs < state.rungs.epochs and outcome.reason == "done":  # all its epochs
            status = "pruned"
        if job.resume:
            seconds += state.rows[k].get("seconds") or 0.0
    row = {"trial": k, "status": status, **params, **outcome.values, "seconds": round(seconds, 3),
           "error": outcome.error}
    t = state.timings.setdefault(k, {"seconds": 0.0, "fit_seconds": 0.0, "cpu": 0.0, "fit_cpu": 0.0})
    for key, v in zip(t, (outcome.seconds, outcome.fit_seconds or 0.0, *outcome.cpu)):
        t[key] += v
    state.rows[k] = row
    state.known[k] = _known(state, k, params, row)
    return row


def _fill(state: _State, ex: Any) -> bool:
    """Submit trials until the executor holds as many as it runs at once (none ahead: executors.OnDask). A trial
    continued (halving) keeps the numbers of the rung it ended in its running row, until it ends the next."""
    started = False
    while ex.busy() < ex.slots:
        job = _next_job(state)
        if job is None:
            break
        k, params, before = job.number, job.params, state.known.get(job.number)
        kept = state.rows[k] if job.resume else {}
        state.rows[k] = {**kept, "trial": k, "status": "running", **params}
        state.known[k] = Known(k, params, "running", None, before.steps if job.resume else {},
                               before.epochs if job.resume else None)
        state.under_way[k] = job
        ex.submit(_task(state, job, ex.threads))
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
            state.best = files.best_trial(state.rows, sweep.metric.name, sweep.metric.goal)
            rep.trial(row)
        for text in state.notes:  # halving: the trials a rung takes, once the rung before has ended
            rep.note(text)
        state.notes.clear()
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
        files.unlock(state.lock)


def _run(state: _State, rep: SweepReporter, command: str) -> SweepResult:
    sweep, folder = state.sweep, state.folder
    kept = sum(1 for r in state.rows.values() if r["status"] != "running")
    for text in sweep.warnings:
        rep.note(f"warning: {text}")
    try:
        with open_executor(sweep) as ex:
            rerun = [k for k in state.rerun if k in state.rows]  # (the others had not started)
            rep.start({"folder": str(folder), "total": sweep.total, "kept": kept, "rerun": rerun,
                       "method": sweep.method, "keys": sweep.keys, "metric": sweep.metric.name,
                       "goal": sweep.metric.goal, "slots": ex.slots, "threads": ex.threads,
                       "where": _where(sweep), **_rung_info(state)})
            _hand_out(state, ex.slots)
            try:
                _loop(state, ex, rep)
            except BaseException:
                ex.cancel()
                raise
    except (KeyboardInterrupt, Interrupted):
        state.save()
        files.write_best(folder, sweep.spec.name, state.best)
        ended = sum(1 for r in state.rows.values() if r["status"] != "running")
        again = "start over" if state.rungs is None else "start over, or continue from their last.npz"
        raise Interrupted(f"stopped with {ended} of {sweep.total} trials ended (those under way {again}): "
                          f"continue with {command}") from None
    except ClusterError as e:
        state.save()
        files.write_best(folder, sweep.spec.name, state.best)
        raise ClusterError(f"{e}; continue with {command}") from None
    files.write_best(folder, sweep.spec.name, state.best)
    return SweepResult(folder, sweep, state.header, state.rows, state.best, kept, state.timings)


def _rung_info(state: _State) -> dict:
    """halving: the rungs in words, and the rung fits in all and ended so far (what the bar counts)."""
    if state.rungs is None:
        return {}
    p = halving.plan(state.rungs, state.known, set(), state.sweep.metric.goal)
    return {"rungs": state.rungs.describe(), "jobs": state.rungs.jobs(), "jobs_ended": p.ended}


def _where(sweep: Sweep) -> str:
    spec = sweep.spec
    if spec.cluster is not None:
        return f"the Dask cluster at {spec.cluster.address}"
    return "this process" if spec.workers == 1 else f"a local Dask cluster of {spec.workers} worker processes"
