"""Synchronous successive halving (prune: {method: halving}): every trial trains to a first rung of epochs, the
best 1/η of them go on η times as long, and so on, each continuing its own run folder from its last.npz.

    Rungs(min_epochs, reduction, epochs, trials)     the rungs' epochs and how many trials each holds
    plan(rungs, known, under_way, goal) -> Plan        the next trials to run, from what has ended

With n₀ = the sweep's trials, rung r holds n_r = max(1, ⌊n_{r−1}/η⌋) trials and trains them to
min_epochs·ηʳ epochs; the rung that holds one trial, or reaches the base config's train.epochs (E), trains
to E and is the last. Rung r + 1 holds the n_{r+1} trials of rung r with the best metric at rung r's epochs
(the lowest trial number first among equals; a failed trial last). With min_epochs 100, η 3 and 30 trials of
3,000 epochs: 30 to 100, 10 to 300, 3 to 900, 1 to 3,000 — 8,900 epochs in all, against 90,000.

A rung is a fit's train.epochs, not a listener's stop: the trial's job at rung r is `nettrain fit BASE --set …
--set train.epochs=e_r`, and at the next rung the same with the next e_r and --resume. A resume that raises
only train.epochs continues bit for bit (runfolder.resume_state), so a trial's folder is always the fit of its
values with the epochs it reached — a trial never promoted is its own fit at the first rung, the last rung's
the fit of E. The metric at rung r is its metrics.csv row e_r: min_epochs is a multiple of log.every.

Everything is decided from what has ended (each trial's status, epochs reached and logged metric), never from
the order of events: a rung starts once every trial of the one before has ended it, so the trials each rung
holds are the same with 1 worker or many, and a resumed sweep recomputes them from trials.csv and the trials'
metrics.csv. trials.csv's status of a trial that ended a rung short of E is pruned (running while it continues,
its numbers those of the rung it ended); of one that ended at E, or stopped before its rung's epochs for its own
reasons (train.tolerance, early stopping: a fit of E would stop there too), done.

Left out on purpose: drawing the trials' values (search.py), running them (engine.py, trial.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .search import Known

FINAL = ("done", "failed")  # statuses of a trial that runs no more rungs


@dataclass(frozen=True)
class Rungs:
    """The rungs of a sweep of `trials` trials whose base config trains `epochs` epochs."""

    min_epochs: int
    reduction: int  # η
    epochs: int  # E: the base config's train.epochs, the last rung's
    trials: int  # n₀

    def sizes(self) -> list[int]:
        """n_r for r = 0 … the last rung."""
        out = [self.trials]
        while not self.last(len(out) - 1, out[-1]):
            out.append(max(1, out[-1] // self.reduction))
        return out

    def last(self, r: int, n: int) -> bool:
        return n == 1 or self.min_epochs * self.reduction**r >= self.epochs

    def target(self, r: int, n: int) -> int:
        """e_r: the epochs rung r (holding n trials) trains its trials to."""
        return self.epochs if self.last(r, n) else self.min_epochs * self.reduction**r

    def jobs(self) -> int:
        """How many rung fits the sweep makes: Σ n_r."""
        return sum(self.sizes())

    def total_epochs(self) -> int:
        """The epochs the sweep trains when no trial stops early: Σ n_r·(e_r − e_{r−1})."""
        sizes, before, out = self.sizes(), 0, 0
        for r, n in enumerate(sizes):
            e = self.target(r, n)
            out, before = out + n * (e - before), e
        return out

    def describe(self) -> str:
        """'30 to 100, 10 to 300, 3 to 900, 1 to 3000 epochs'."""
        return ", ".join(f"{n} to {self.target(r, n)}" for r, n in enumerate(self.sizes())) + " epochs"


@dataclass
class Plan:
    """What to run next: jobs (trial number, epochs, resume) to start, in order; rung: the rung under way and
    cohort its trials; ended: the rung fits ended so far; finished: every rung ended."""

    jobs: list[tuple[int, int, bool]]
    rung: int
    cohort: list[int]
    ended: int
    finished: bool = False


def reached(t: Optional[Known], epochs: int) -> bool:
    """The trial has ended the rung of `epochs` (or runs no more rungs)."""
    return t is not None and (t.status in FINAL or (t.epochs is not None and t.epochs >= epochs))


def value_at(t: Known, epochs: int) -> Optional[float]:
    """The trial's metric at a rung's epochs: its logged row there, or, for a trial done before them, its last."""
    if t.status == "failed":
        return None
    v = t.steps.get(epochs)
    if v is None and t.status == "done" and t.epochs is not None and t.epochs <= epochs:
        v = t.value
    return v


def best_of(cohort: Sequence[int], known: dict, epochs: int, n: int, goal: str) -> list[int]:
    """The n trials of the cohort with the best metric at `epochs`, in trial order (a trial without one last)."""
    def key(k: int) -> tuple:
        v = value_at(known[k], epochs)
        return (v is None, 0.0 if v is None else (v if goal == "min" else -v), k)

    return sorted(sorted(cohort, key=key)[:n])


def plan(rungs: Rungs, known: dict, under_way: set, goal: str) -> Plan:
    """The module docstring's rule applied to `known` ({number: search.Known}: epochs, those reached at the
    end of the trial's last ended rung; a number not in it has not been drawn)
    with the trials in `under_way` running now: the jobs of the first rung some trial has not ended."""
    cohort, r, ended = list(range(rungs.trials)), 0, 0
    while True:
        target = rungs.target(r, len(cohort))
        waiting = [k for k in cohort if not reached(known.get(k), target)]
        ended += len(cohort) - len(waiting)
        if waiting:
            jobs = [(k, target, known.get(k) is not None and known[k].epochs is not None)
                    for k in waiting if k not in under_way]
            return Plan(jobs, r, cohort, ended)
        if rungs.last(r, len(cohort)):
            return Plan([], r, cohort, ended, finished=True)
        cohort = best_of(cohort, known, target, max(1, len(cohort) // rungs.reduction), goal)
        r += 1
