"""The sweep file: its schema, and the file read, checked and resolved before any trial starts.

    load_sweep(path, sets=(), workers=None) -> Sweep

```yaml
name: digits-lambda            # → runs/<name>/ unless --out
base: ../digits.yaml           # the config every trial starts from (relative to this file)
set: []                        # --set texts applied to the base config of every trial (the command's --set add to them)
grid:                          # every combination, in this order (the last key varies fastest)
  train.weight_decay: [0, 1.0e-4, 1.0e-3]
  model.layers: [[64, 25, 10], [64, 100, 10]]
# or instead of grid:
# search: {method: random | tpe, trials: 40, seed: 0}
# space: {train.learning_rate: {log: [1.0e-3, 1.0]}, train.epochs: {int: [100, 400]},
#         train.momentum: {uniform: [0.5, 0.99]}, model.layers: {choice: [[64, 25, 10], [64, 100, 10]]}}
metric: val_data_cost          # or {name: val_accuracy, goal: max}
prune: null                    # {method: median, warmup: 200, startup_trials: 5} or
                               # {method: successive_halving, min_epochs: 100, reduction: 3}
workers: 2                     # trials at once: a LocalCluster of that many processes; 1 = in this process
cluster: null                  # {address: tcp://host:8786}: the trials run on that Dask cluster instead
```

A key a trial sets is any dotted config key, as --set takes it: every grid combination, and every bound and
choice of a space, is validated against the config's schema with the base config before anything runs; a
bad key or value is one ConfigError line naming the sweep file's line. A trial's config is exactly
`load_config(base, sets + ["key=value", …])` — what `nettrain fit BASE --set … --set key=value` loads.

Left out on purpose: proposing trials (search.py), running them (trial.py, engine.py), the folder (folder.py).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import config as config_mod
from ..config.schema import CLUSTER_ADDRESS, NAME_PATTERN, FilePath
from ..errors import ConfigError

METRICS = ("val_data_cost", "val_accuracy", "val_r2", "cost", "data_cost", "reg_cost")
MAXIMIZED = ("val_accuracy", "val_r2")  # the default goal of these is max, of the others min
RESUMABLE = ("workers", "cluster")  # what --resume may change in a sweep (where the trials run)
MAX_TRIALS = 100_000

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class _Part(BaseModel):
    model_config = _STRICT


KINDS = ("log", "uniform", "int", "choice")
Bounds = Annotated[list[float], Field(min_length=2, max_length=2)]


class Dimension(_Part):
    """One key of a search space: exactly one of log, uniform, int (bounds, both included) or choice."""

    log: Optional[Bounds] = Field(None, description="[low, high], low > 0: floats drawn on a log scale.")
    uniform: Optional[Bounds] = Field(None, description="[low, high]: floats drawn on a linear scale.")
    int_: Optional[Annotated[list[int], Field(min_length=2, max_length=2)]] = Field(
        None, alias="int", description="[low, high]: whole numbers from low to high.")
    choice: Optional[Annotated[list[Any], Field(min_length=1)]] = Field(
        None, description="[a, b, …]: one of these values (any YAML value: a list such as model.layers too).")

    @model_validator(mode="after")
    def _one_kind(self) -> "Dimension":
        given = [k for k in KINDS if self.get(k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of log, uniform, int or choice (got {', '.join(given) or 'none'}), "
                             "e.g. {log: [1.0e-4, 1.0]}")
        bounds = self.log or self.uniform or self.int_
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ValueError(f"{given[0]}: low must be below high (got {bounds})")
        if self.log is not None and self.log[0] <= 0:
            raise ValueError(f"log: the bounds must be > 0 (got {self.log}); for 0 itself use choice or a grid")
        return self

    def get(self, kind: str) -> Any:
        return getattr(self, "int_" if kind == "int" else kind)

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if self.get(k) is not None)

    @property
    def values(self) -> list:
        """The bounds [low, high], or the choices."""
        return list(self.get(self.kind))

    def resolved(self) -> dict:
        return {self.kind: self.values}


class Search(_Part):
    method: Literal["random", "tpe"] = Field(description="random (independent draws) | tpe (Optuna's TPE).")
    trials: int = Field(ge=1, le=MAX_TRIALS, description="How many trials.")
    seed: int = Field(0, ge=0, description="Trial k's draw is seeded by (seed, k).")


class Metric(_Part):
    name: Literal[METRICS] = Field(description="A trials.csv column: " + ", ".join(METRICS) + ".")  # type: ignore[valid-type]
    goal: Optional[Literal["min", "max"]] = Field(None, description="min | max; null: max for val_accuracy and "
                                                  "val_r2, else min.")

    @model_validator(mode="after")
    def _goal(self) -> "Metric":
        if self.goal is None:
            self.__dict__["goal"] = "max" if self.name in MAXIMIZED else "min"
        return self


class Prune(_Part):
    method: Literal["median", "successive_halving"] = Field(
        "median", description="median: Optuna's MedianPruner (a trial worse than the median of the earlier ones at "
        "the same epoch stops); successive_halving: Optuna's SuccessiveHalvingPruner (at min_epochs, then every "
        "reduction × more epochs, only the best 1/reduction of the trials that got there go on).")
    warmup: int = Field(0, ge=0, description="median: epochs a trial runs before it may be pruned.")
    startup_trials: int = Field(5, ge=0, description="median: trials that end before any trial is pruned.")
    min_epochs: int = Field(100, ge=1, description="successive_halving: the epochs of the first rung (a multiple "
                            "of log.every: the rungs are checked at the logged rows).")
    reduction: int = Field(3, ge=2, description="successive_halving: η, each rung keeps the best 1/η and runs them "
                           "η times as long.")


class SweepCluster(_Part):
    address: str = Field(description="tcp://host:port of a running Dask scheduler.")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not CLUSTER_ADDRESS.fullmatch(value):
            raise ValueError(f"must be tcp://host:port, e.g. tcp://127.0.0.1:8786 (got {value!r}); for trials on "
                             "this machine use workers: N")
        return value


class SweepSpec(BaseModel):
    """A sweep file (module docstring)."""

    model_config = _STRICT

    name: str = Field(description="The sweep folder is runs/<name>/ unless --out. Letters, digits, '.', '_', '-'.")
    base: FilePath = Field(description="The config every trial starts from; relative to the sweep file's folder.")
    set: list[str] = Field(default_factory=list, description="--set texts applied to the base config of every trial.")
    grid: Optional[Annotated[dict[str, Annotated[list[Any], Field(min_length=1)]], Field(min_length=1)]] = Field(
        None, description="Dotted config key → the values to try; every combination is a trial.")
    search: Optional[Search] = Field(None, description="{method: random | tpe, trials: N, seed: 0}, with space.")
    space: Optional[Annotated[dict[str, Dimension], Field(min_length=1)]] = Field(
        None, description="Dotted config key → {log | uniform | int: [low, high]} or {choice: [...]}.")
    metric: Metric = Field(default_factory=lambda: Metric(name="val_data_cost"), description="What the best trial "
                           "minimises: a trials.csv column, or {name, goal: min | max}.")
    prune: Optional[Prune] = Field(None, description="{method: median, warmup: 0, startup_trials: 5} or {method: "
                                   "successive_halving, min_epochs: 100, reduction: 3}.")
    workers: int = Field(1, ge=1, le=1024, description="Trials at once: a LocalCluster of that many processes; "
                         "1 = in this process.")
    cluster: Optional[SweepCluster] = Field(None, description="{address: tcp://…}: run the trials on that cluster.")

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError("must be a plain folder name: 1–100 letters, digits, '.', '_' or '-', starting with a "
                             "letter or digit (no slashes)")
        return value

    @field_validator("metric", mode="before")
    @classmethod
    def _metric_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value  # metric: NAME is {name: NAME}

    @model_validator(mode="after")
    def _grid_or_search(self) -> "SweepSpec":
        if self.grid is not None and (self.search is not None or self.space is not None):
            raise ValueError("give either grid (every combination) or search and space (drawn trials), not both")
        if self.grid is None and (self.search is None or self.space is None):
            missing = "space" if self.search is not None else "search" if self.space is not None else "grid"
            raise ValueError(f"missing {missing}: give grid (every combination) or search and space (drawn trials)")
        return self


@dataclass
class Sweep:
    """A sweep file resolved: its spec, where it came from, the swept keys and (for a grid) every trial."""

    spec: SweepSpec
    doc: config_mod.Document
    sets: list[str]  # the file's set, then the command's --set
    keys: list[str]  # the swept dotted keys, in the file's order
    grid: Optional[list[dict]] = None  # every trial's values, in trial order (a grid)
    warnings: list[str] = field(default_factory=list)
    command_sets: list[str] = field(default_factory=list)  # the command's own --set and --workers (to resume)
    command_workers: Optional[int] = None

    @property
    def method(self) -> str:
        return "grid" if self.spec.grid is not None else self.spec.search.method

    @property
    def total(self) -> int:
        return len(self.grid) if self.grid is not None else self.spec.search.trials

    @property
    def metric(self) -> Metric:
        return self.spec.metric

    def set_labels(self) -> dict:
        """How errors name a key the sweep file's own set gives: its line there (the command's: --set …)."""
        n = len(self.spec.set)
        return {t.partition("=")[0].strip(): f"{self.doc.where(f'set.{i}')}: set: {t}" if i < n else f"--set {t}"
                for i, t in enumerate(self.sets)}  # the last text of a key wins, as it does in the config

    def overrides(self, params: dict) -> list[str]:
        """A trial's --set texts: the sweep's, then one per swept key (its value as JSON, which YAML reads back)."""
        return self.sets + [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in params.items()]

    def resolved(self) -> dict:
        """sweep.yaml: the sweep as run (the base's absolute path, the command's --set and --workers included)."""
        s = self.spec
        out: dict[str, Any] = {"name": s.name, "base": str(s.base), "set": list(self.sets)}
        if s.grid is not None:
            out["grid"] = s.grid
        else:
            out["search"] = s.search.model_dump()
            out["space"] = {k: d.resolved() for k, d in s.space.items()}
        out["metric"] = s.metric.model_dump()
        out["prune"] = None if s.prune is None else s.prune.model_dump()
        out["workers"] = s.workers
        out["cluster"] = None if s.cluster is None else s.cluster.model_dump()
        return out


def load_sweep(path: str | Path, sets: Sequence[str] = (), workers: Optional[int] = None) -> Sweep:
    """Read and validate a sweep file, apply the command's --set texts and --workers, and check every trial's
    keys against the config's schema (spec.check): every problem is one ConfigError line."""
    doc = config_mod.read_document(path, "sweep file")
    spec = doc.validate(SweepSpec, {"base_dir": Path(os.path.abspath(path)).parent})
    if workers is not None:
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1 (got {workers})")
        spec.workers = workers
    keys = list(spec.grid if spec.grid is not None else spec.space)
    sweep = Sweep(spec, doc, list(spec.set) + list(sets), keys, command_sets=list(sets), command_workers=workers)
    if spec.grid is not None:
        sweep.grid = grid_trials(spec.grid)
    from .check import check_sweep

    check_sweep(sweep)
    return sweep


def grid_trials(grid: dict) -> list[dict]:
    """Every combination of the grid's values, the first key varying slowest (itertools.product's order)."""
    import itertools

    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
