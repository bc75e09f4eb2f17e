"""What a trial's fit is given beyond a plain fit's listeners (trainer.fit's `listeners`).

    Pruning(metric, goal, prune, history)   Optuna's MedianPruner or SuccessiveHalvingPruner at every logged row
    Abandoned()                                                      on a Dask worker: stop when unwanted
    metric_of(event, name)                                           the sweep's metric in a reported step

Pruning reports the trial's metric at each logged row (log.every epochs) to an Optuna trial of an in-memory
study that holds the earlier trials (`history`, with their metric at each of their logged epochs), and stops
the fit when Optuna's pruner says so:
    median              the trial's best value so far is worse than the median of the earlier done trials'
                        at the same epoch (after `warmup` epochs, once `startup_trials` trials ended done)
    successive_halving  at rung r, epoch min_epochs·ηʳ, the trial's value is not among the best 1/η of the
                        values every earlier trial (done or pruned) had at that rung (η = reduction)
The reason it returns carries reason = "pruned", which trainer.fit takes as how the run ended; the fit then
saves its state as any early stop does.

Left out on purpose: proposing values (search.py), running the trial (trial.py).
"""

from __future__ import annotations

import time
from typing import Any, Optional, Sequence

from . import search

ABANDONED_CHECK_SECONDS = 1.0  # how often a trial on a Dask worker asks whether it is still wanted


class Stop(str):
    """A listener's reason to stop that also names how the run ended (trainer.fit: FitResult.reason)."""

    reason = "pruned"


class TrialAbandoned(Exception):
    """The sweep that asked for this trial no longer wants it (stopped, or lost): end it at once, writing nothing."""


def metric_of(event: Any, name: str) -> Optional[float]:
    """The metric in a reported step: J or a part of it, or the validation J_data, accuracy or R² of a logged row
    (the Row listener puts them in the event, by name: the row's last cell is its seconds)."""
    if name.startswith("val_"):
        if event.val_data_cost is None:
            return None
        return event.val_data_cost if name == "val_data_cost" else event.val_score
    cost = event.step.cost
    if cost is None:
        return None
    return cost.J if name == "cost" else cost.parts.get(name)


class Pruning:
    """A listener: the trial's metric at each logged row to Optuna's pruner (module docstring)."""

    def __init__(self, metric: str, goal: str, prune: dict, history: Sequence[search.Known]) -> None:
        with search.quiet_optuna() as optuna:
            if prune["method"] == "successive_halving":
                pruner = optuna.pruners.SuccessiveHalvingPruner(
                    min_resource=prune["min_epochs"], reduction_factor=prune["reduction"], min_early_stopping_rate=0,
                    bootstrap_count=0)
                known = [t for t in history if t.status in ("done", "pruned")]
                rungs = (prune["min_epochs"], prune["reduction"])
            else:
                pruner = optuna.pruners.MedianPruner(n_startup_trials=prune["startup_trials"],
                                                     n_warmup_steps=prune["warmup"], interval_steps=1)
                known, rungs = [t for t in history if t.status == "done"], None
            self.study = search.study(goal, optuna.samplers.RandomSampler(0), known, pruner=pruner, rungs=rungs)
            self.trial = self.study.ask()
        self.metric, self.goal = metric, goal
        self.best: Optional[float] = None
        self.rule = ("is not among the best 1/{} of the earlier trials' at that epoch".format(prune["reduction"])
                     if rungs else "is worse than the median of the earlier trials' at that epoch")

    def __call__(self, event: Any) -> Optional[str]:
        if not event.logged:
            return None
        v = metric_of(event, self.metric)
        if v is None:
            return None
        e = event.step.epoch
        self.best = v if self.best is None else (min if self.goal == "min" else max)(self.best, v)
        self.trial.report(v, e)
        if not self.trial.should_prune():
            return None
        return Stop(f"pruned at epoch {e}: its {self.metric}, {v:.6g} (best so far {self.best:.6g}), {self.rule}")


class Abandoned:
    """A listener for a trial running as a task on a Dask worker: when the task is no longer wanted — the
    sweep cancelled it (Ctrl-C) or its client is gone (killed) — raise TrialAbandoned at the next step, so
    that a stale attempt stops writing into the trial folder a resumed sweep will write again."""

    def __init__(self) -> None:
        from distributed import get_worker
        from distributed.worker import thread_state

        self.worker, self.key = get_worker(), thread_state.key
        self.checked = time.monotonic()

    def __call__(self, event: Any) -> None:
        now = time.monotonic()
        if now - self.checked < ABANDONED_CHECK_SECONDS:
            return
        self.checked = now
        task = self.worker.state.tasks.get(self.key)
        if task is None or task.state not in ("executing", "long-running"):
            raise TrialAbandoned(f"the task {self.key} is {getattr(task, 'state', 'gone')}")


def on_dask_worker() -> bool:
    """True inside a task running on a Dask worker (without importing Dask where it is not loaded)."""
    import sys

    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
        return True
    except ValueError:
        return False
