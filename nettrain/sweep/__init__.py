"""`nettrain sweep`: many fits of one base config, in parallel on Dask, one run folder per trial.

    load_sweep(path, sets=(), workers=None) -> Sweep        the sweep file read and every trial checked
    run_sweep(sweep, *, out, resume, reporter) -> SweepResult

One job per module:

    spec.py       the sweep file's schema (pydantic, read by config's YAML loader: file:line errors); Sweep
    check.py      every trial's keys checked against the config's schema before any trial starts
    search.py     trial k's values: a grid's combination, or Optuna's random or TPE draw (ask-and-tell)
    pruning.py    the listeners a trial's fit gets: Optuna's MedianPruner on its logged rows; on a Dask worker,
                  stopping a trial that is no longer wanted
    halving.py    prune: halving's rungs — which trials train to which epochs next, from the ended ones alone
    trial.py      one trial where it runs: its folder claimed and emptied, its config loaded as `nettrain fit
                  BASE --set …` loads it, trainer.fit, trials.csv's numbers (no Dask here)
    executors.py  where trials run: in this process, or as tasks on a LocalCluster or a running scheduler
    folder.py     the sweep folder's files: sweep.yaml, trials.csv, best.yaml (compare.py and report.py read them)
    engine.py     the loop: number, propose, submit, record; resume; Ctrl-C

Importing this package imports neither Dask nor Optuna; a sweep that needs them imports them (the `sweep` extra).
"""

from __future__ import annotations

from .engine import SweepResult, resume_command, run_sweep
from .spec import Sweep, SweepSpec, load_sweep

__all__ = ["Sweep", "SweepSpec", "SweepResult", "load_sweep", "run_sweep", "resume_command"]
