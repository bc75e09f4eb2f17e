"""A sweep checked before any trial starts: every trial's config loads, each problem one ConfigError line.

    check_sweep(sweep)

- the base config loads with the sweep's --set texts (its errors name the base file's line or the --set);
- a --set text does not set a swept key (the sweep sets it in every trial);
- every grid combination, and every bound and choice of a space key (alone, the others as the base has them),
  loads as `nettrain fit BASE --set …` would: a refusal names the sweep file's line of that value;
- no trial has a cluster section (a sweep's trials are its parallelism: one level of it);
- the metric is a column every trial has (a val_ metric needs a validation split; accuracy a classification);
- prune: halving continues trials exactly at each rung: train.epochs not swept (the rungs set it), min_epochs
  below it and a multiple of log.every (the rungs are compared at logged rows), no L-BFGS (its resume is not
  exact), in every trial;
- Optuna is there for a search or pruning, Dask for more than one worker (else MissingExtra, naming the key).

Left out on purpose: the sweep file's own schema (spec.py).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from .. import config as config_mod
from ..errors import ConfigError, MissingExtra
from ..parallel import cores


def _value_text(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def _load(sweep: Any, params: dict, labels: dict) -> config_mod.Config:
    """The config of a trial with these values (what the trial will load), errors naming `labels` (and the
    sweep file's set by its lines)."""
    return config_mod.load_config(sweep.spec.base, sweep.overrides(params), labels={**sweep.set_labels(), **labels})


def _refuse_swept_sets(sweep: Any) -> None:
    named = sweep.set_labels()
    for text in sweep.sets:
        key = text.partition("=")[0].strip()
        for k in sweep.keys:
            if key == k or key.startswith(k + ".") or k.startswith(key + "."):
                part = "grid" if sweep.spec.grid is not None else "space"
                raise ConfigError(f"{named.get(key, f'--set {text}')}: the sweep sets {k} in every trial "
                                  f"({sweep.doc.where(f'{part}.{k}')}): remove it from set or from the sweep's {part}")


def _check_grid(sweep: Any) -> None:
    """Every combination, each value named by its line in the sweep file when refused."""
    grid, doc = sweep.spec.grid, sweep.doc
    keys = list(grid)
    for idx in itertools.product(*(range(len(grid[k])) for k in keys)):
        params = {k: grid[k][i] for k, i in zip(keys, idx)}
        labels = {k: f"{doc.where(f'grid.{k}.{i}')}: {k}={_value_text(params[k])}" for k, i in zip(keys, idx)}
        _check_trial(sweep, _load(sweep, params, labels), labels)


def _check_space(sweep: Any) -> None:
    """Every bound and choice of every key, with the other keys as the base config has them."""
    doc = sweep.doc
    for key, dim in sweep.spec.space.items():
        for i, v in enumerate(dim.values):
            labels = {key: f"{doc.where(f'space.{key}.{dim.kind}.{i}')}: {key}={_value_text(v)}"}
            _check_trial(sweep, _load(sweep, {key: v}, labels), labels)


def _check_trial(sweep: Any, cfg: config_mod.Config, labels: dict) -> None:
    _check_cluster(sweep, cfg, labels)
    _check_halving(sweep, cfg, labels)


def _check_halving(sweep: Any, cfg: config_mod.Config, labels: dict) -> None:
    """prune: halving's rungs are fits of the trial's config with train.epochs raised, resumed bit for bit."""
    prune, doc = sweep.spec.prune, sweep.doc
    if prune is None or prune.method != "halving":
        return
    part = "grid" if sweep.spec.grid is not None else "space"
    if "train.epochs" in sweep.keys:
        raise ConfigError(f"{doc.where(f'{part}.train.epochs')}: train.epochs: prune: halving gives each trial its "
                          f"epochs by rung (the base config's train.epochs is the last rung's): remove it from the "
                          f"{part}, or use prune: {{method: median}}")
    where = next(iter(labels.values()), None)
    trial = f" (with {where})" if where else ""
    if prune.min_epochs >= cfg.train.epochs:
        raise doc.error(("prune", "min_epochs"), f"{prune.min_epochs} is not below train.epochs, {cfg.train.epochs}"
                        f"{trial}: the first rung must stop before the last; lower min_epochs or raise train.epochs")
    if prune.min_epochs % cfg.log.every:
        raise doc.error(("prune", "min_epochs"), f"{prune.min_epochs} is not a multiple of log.every, "
                        f"{cfg.log.every}{trial}: the rungs are compared at the logged rows; give a multiple "
                        "or set log.every")
    if cfg.train.optimizer == "lbfgs":
        given = where or f"{cfg.where('train.optimizer')}: train.optimizer: lbfgs"
        raise doc.error(("prune", "method"), f"halving continues each trial from its last.npz, and L-BFGS does not "
                        f"resume exactly ({given}): use prune: {{method: median}}, or a first-order optimizer")


def _check_cluster(sweep: Any, cfg: config_mod.Config, labels: dict) -> None:
    if cfg.cluster is None:
        return
    swept = next((k for k in labels if k == "cluster" or k.startswith("cluster.")), None)
    named = sweep.set_labels()
    given = [named.get(k, f"--set {t}") for t in sweep.sets for k in [t.partition("=")[0].strip()]
             if k.split(".")[0] == "cluster"]
    where = labels[swept] if swept else given[-1] if given else cfg.where("cluster")
    raise ConfigError(f"{where}: cluster: a sweep runs each trial in one process, its trials being the "
                      "parallelism (the sweep file's workers or cluster): remove it from the trials, or add "
                      "'cluster=null' to the sweep's set")


def _check_metric(sweep: Any, cfg: config_mod.Config) -> None:
    name, doc = sweep.metric.name, sweep.doc
    if name.startswith("val_") and cfg.data.split.val == 0:
        raise doc.error(("metric",), f"{name} needs a validation split, and the base config's data.split.val is 0 "
                        f"({cfg.where('data.split')}): give the sweep set: ['data.split={{train: 0.8, val: 0.1, "
                        "test: 0.1}'], or a metric of the train split such as data_cost")
    if name == "val_accuracy" and cfg.data.task != "classification":
        raise doc.error(("metric",), f"val_accuracy needs a classification; the base config's data.task is "
                        f"{cfg.data.task}: use val_r2 or val_data_cost")
    if name == "val_r2" and cfg.data.task == "classification":
        raise doc.error(("metric",), "val_r2 is a regression's score; the base config is a classification: use "
                        "val_accuracy or val_data_cost")


INSTALL = 'pip install -e ".[sweep]"'


def _require_extras(sweep: Any) -> None:
    """Optuna for a random or TPE search and for pruning, Dask for more than one worker or a cluster."""
    import importlib.util

    spec, doc = sweep.spec, sweep.doc
    needs = [("optuna", "search" if spec.search is not None else "prune", "Optuna")] if (
        spec.search is not None or spec.prune is not None) else []
    if spec.cluster is not None or spec.workers > 1:
        needs.append(("distributed", "cluster" if spec.cluster is not None else "workers", "dask.distributed"))
    for module, key, name in needs:
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(f"{doc.where(key)}: {key}: needs {name}, which is not installed: {INSTALL}"
                               + (" (or workers: 1, trials one after another in this process)" if key == "workers"
                                  else ""))


def check_sweep(sweep: Any) -> None:
    """The checks of the module docstring, in that order; the warnings are added to sweep.warnings."""
    spec = sweep.spec
    _require_extras(sweep)
    base = _load(sweep, {}, {})
    _refuse_swept_sets(sweep)
    _check_trial(sweep, base, {})
    if spec.grid is not None:
        _check_grid(sweep)
    else:
        _check_space(sweep)
    _check_metric(sweep, base)
    if spec.cluster is not None and "workers" in spec.model_fields_set and spec.workers != 1:
        sweep.warnings.append(f"workers applies to trials on this machine; the trials run on the workers of "
                              f"{spec.cluster.address}: it is ignored")
    elif spec.cluster is None and spec.workers > cores():
        sweep.warnings.append(f"workers: {spec.workers} is more than the {cores()} cores this process may use: the "
                              "trials will share them")
