"""One trial, where it runs (a Dask worker, or this process): its config loaded, its fit into trial-<k>/.

    run_trial(task: TrialTask) -> TrialOutcome

What a worker does for a trial, in order:
1. claims the trial folder: an exclusive lock on it (flock on the folder itself), waiting for an earlier
   attempt that still holds it — a stopped sweep's task ends at its next step (pruning.Abandoned), a killed
   sweep's local workers exit within seconds — then empties it: an interrupted attempt's files are gone,
   so every attempt starts from nothing and writes the same files (trial k restarts) — but for a trial that
   continues to its next rung (prune: halving), which keeps its folder and resumes from its last.npz;
2. loads the config exactly as `nettrain fit BASE --set …` does (spec.Sweep.overrides);
3. trains it with trainer.fit into the folder (resume=True for a rung continued), BLAS held to task.threads (workers × threads ≤ cores), with
   the pruner and, on a Dask worker, the check that the task is still wanted;
4. returns trials.csv's numbers of the trial; a trial that fails (a diverging cost, a config the schema
   refuses, a bug) is status failed with its one-line error, and the sweep goes on.

Nothing here imports Dask: a worker imports nettrain once and runs many trials.
Left out on purpose: choosing values (search.py), scheduling (engine.py), the sweep folder (folder.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from .. import config as config_mod
from .. import parallel, trainer
from ..errors import Interrupted, NettrainError, RunIOError
from ..history import OLD_NAMES
from . import pruning

CLAIM_TIMEOUT = 120.0  # seconds to wait for an earlier attempt to let go of a trial folder
NUMBERS = ("epochs", "cost", "data_cost", "reg_cost", "sparse_cost", "val_data_cost", "val_accuracy", "val_r2")


@dataclass
class TrialTask:
    """Everything a worker needs for trial `number` (plain data: it travels to the worker)."""

    number: int
    folder: str  # the trial's run folder, an absolute path (the same on every machine)
    base: str  # the base config file, an absolute path
    overrides: list[str]  # the --set texts of this trial
    metric: str
    goal: str  # min | max
    prune: Optional[dict] = None  # the sweep's prune section: pruning.Pruning
    history: list = field(default_factory=list)  # search.Known: the earlier ended trials, for the pruner
    threads: Optional[int] = None  # BLAS threads of the fit; None: as a fit alone chooses
    resume: bool = False  # continue the folder's run from its last.npz (halving: the next rung's epochs)


@dataclass
class TrialOutcome:
    number: int
    status: str  # done | pruned | failed
    values: dict  # trials.csv's numbers (NUMBERS) of the trial; empty for a failed one
    error: Optional[str] = None  # one line, for a failed trial
    seconds: float = 0.0  # the whole trial on its worker: config, folder, fit, metrics
    fit_seconds: Optional[float] = None  # trainer.fit alone
    worker: str = ""  # host:pid of the process that ran it
    cpu: tuple = (0.0, 0.0)  # CPU seconds of the thread that ran it: the whole trial, trainer.fit alone
    reason: str = ""  # how its fit ended (FitResult.reason: "done" when it trained all its epochs)


@contextlib.contextmanager
def claimed(folder: Path, timeout: float = CLAIM_TIMEOUT, *, empty: bool = True) -> Iterator[None]:
    """The folder, created, locked for this attempt (flock: released when the process ends, however it ends)
    and emptied (unless not `empty`: a run resumed); an attempt that still holds it is waited for, up to
    `timeout` seconds."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY)
    except OSError as e:
        raise RunIOError(f"cannot create {folder}: {e.strerror or e}: check the path and permissions") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RunIOError(f"{folder} is still being written by an earlier attempt after {timeout:g} s: "
                                     "stop the process that runs it, then resume the sweep") from None
                time.sleep(0.1)
        for child in folder.iterdir() if empty else ():  # an interrupted attempt's files: start from nothing
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        yield
    finally:
        os.close(fd)


def _listeners(task: TrialTask) -> list:
    out: list = []
    if task.prune is not None:
        out.append(pruning.Pruning(task.metric, task.goal, task.prune, task.history))
    if pruning.on_dask_worker():
        out.append(pruning.Abandoned())
    return out


def _values(res: trainer.FitResult) -> dict:
    """trials.csv's numbers: the epochs, and the last state's J and parts and validation metrics."""
    train, val = res.train or {}, res.val or {}
    out = {"epochs": res.epoch}
    for k in ("cost", "data_cost", "reg_cost", "sparse_cost"):
        if k in train:
            out[k] = train[k]
    if res.val is not None:
        out["val_data_cost"] = val.get("data_cost")
        out["val_accuracy" if "accuracy" in val else "val_r2"] = val.get("accuracy", val.get("r2"))
    return out


def error_line(e: BaseException) -> str:
    if isinstance(e, NettrainError):
        return " ".join(f"{e.kind}: {e}".split())
    text = str(e).splitlines()[0] if str(e) else ""
    return f"internal error: {type(e).__name__}: {text}".strip()


def run_trial(task: TrialTask) -> TrialOutcome:
    """The trial of `task`, trained into task.folder (module docstring). Interrupted (Ctrl-C, in this process)
    and pruning.TrialAbandoned are raised; any other failure is the outcome's error."""
    t0, c0 = time.perf_counter(), time.thread_time()
    where = f"{socket.gethostname()}:{os.getpid()}"
    with claimed(Path(task.folder), empty=not task.resume):
        fit_seconds, fit_cpu = None, 0.0
        try:
            cfg = config_mod.load_config(task.base, task.overrides)
            threads = parallel.blas_limited(task.threads) if task.threads else contextlib.nullcontext()
            with threads:
                t1, c1 = time.perf_counter(), time.thread_time()
                res = trainer.fit(cfg, out=Path(task.folder), resume=task.resume, listeners=_listeners(task))
                fit_seconds, fit_cpu = time.perf_counter() - t1, time.thread_time() - c1
        except (Interrupted, pruning.TrialAbandoned, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001 - a trial's failure of any kind is its row's error; the sweep goes on
            return TrialOutcome(task.number, "failed", {}, error_line(e), time.perf_counter() - t0, fit_seconds, where,
                                (time.thread_time() - c0, fit_cpu))
    status = "pruned" if res.reason == pruning.Stop.reason else "done"
    return TrialOutcome(task.number, status, _values(res), None, time.perf_counter() - t0, fit_seconds, where,
                        (time.thread_time() - c0, fit_cpu), res.reason)


def logged_steps(folder: Path, metric: str, every: int) -> dict:
    """{epoch: the metric} of a trial's logged rows (epoch a multiple of `every`, the cell filled), read from
    its metrics.csv: what its pruner reported, and what a resumed sweep knows of it. {} when unreadable."""
    import csv

    try:
        with open(folder / "metrics.csv", newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            header = [OLD_NAMES.get(h, h) for h in next(rows)]  # an older run's names read as today's
            if "epoch" not in header or metric not in header:
                return {}
            i, j = header.index("epoch"), header.index(metric)
            return {int(r[i]): float(r[j]) for r in rows if len(r) == len(header) and r[j] != ""
                    and int(r[i]) % every == 0}
    except (OSError, ValueError, StopIteration):
        return {}

