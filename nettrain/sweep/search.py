"""Which values trial k tries: a grid's k-th combination, or a draw of Optuna's random or TPE sampler.

    propose(sweep, k, history) -> {dotted key: value}
    longest_first(sweep, base, numbers) -> the numbers, the costliest trial first (the order a grid is handed out)
    study(goal, sampler=None, history=(), space=None)   an in-memory Optuna study holding finished trials

The search loop is ours (engine.py); Optuna only proposes and records (its ask-and-tell interface). Trial k
is drawn by a sampler made for it alone, seeded by (search.seed, k), from a study rebuilt from the trials the
sweep knows at that moment, in trial order: so the draw depends on k and on those trials, never on a
sampler's state carried from earlier draws. A random draw ignores the trials (it depends on k alone: any
completion order gives the same values); a TPE draw learns from them. With workers: 1 the trials before k
have all ended when k is drawn, so a TPE sweep repeats exactly for a seed, a resumed one too (the trials are
rebuilt from trials.csv and the trials' metrics.csv); with more workers it depends on which have ended.

A choice is drawn as the index of its value (Optuna's categorical choices must be plain scalars; a choice
may be a list such as model.layers).

A grid on several workers hands its trials out longest first (the LPT rule: the last trials to start are the
short ones, so the workers end close together), from a cost estimated from the trial's values and the base
config alone — never from timing. The order changes only when a trial starts, never its number or values.

Left out on purpose: running trials, the pruner (pruning.py), files.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

import numpy as np


@dataclass
class Known:
    """A trial as the samplers and the pruner learn from it."""

    number: int
    params: dict
    status: str  # done | pruned | failed | running
    value: Optional[float] = None  # the metric, for a done trial
    steps: dict = field(default_factory=dict)  # epoch → the metric at that logged epoch
    epochs: Optional[int] = None  # the epochs it reached (trials.csv's epochs; halving.py's rungs)


def trial_seed(seed: int, k: int) -> int:
    """The seed of trial k's sampler: a 32-bit draw of numpy's SeedSequence of (seed, k)."""
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


@contextlib.contextmanager
def quiet_optuna() -> Iterator[Any]:
    """optuna, its INFO lines ("A new study created in memory …") held back for the block."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield optuna
    finally:
        optuna.logging.set_verbosity(before)


def distributions(space: dict) -> dict:
    """Optuna's distribution of each space key (a choice: the indices of its values)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for key, dim in space.items():
        lo_hi = dim.values
        if dim.kind in ("log", "uniform"):
            out[key] = FloatDistribution(lo_hi[0], lo_hi[1], log=dim.kind == "log")
        elif dim.kind == "int":
            out[key] = IntDistribution(lo_hi[0], lo_hi[1])
        else:
            out[key] = CategoricalDistribution(tuple(range(len(lo_hi))))
    return out


def _choice_index(choices: list, value: Any) -> int:
    """The index of a choice's value as trials.csv gives it back (compared as JSON: 1 and 1.0 alike)."""
    text = json.dumps(value, sort_keys=True)
    for i, c in enumerate(choices):
        if c == value or json.dumps(c, sort_keys=True) == text:
            return i
    raise ValueError(f"{value!r} is not one of the choices {choices!r}")


def rung_values(steps: dict, min_epochs: int, reduction: int) -> dict:
    """What Optuna's SuccessiveHalvingPruner recorded of a trial as it ran (its system attributes): at each rung r
    it reached, the metric at the first logged epoch at or past min_epochs·reductionʳ."""
    out, epochs = {}, sorted(int(e) for e in steps)
    r = 0
    while True:
        at = next((e for e in epochs if e >= min_epochs * reduction**r), None)
        if at is None:
            return out
        out[f"completed_rung_{r}"] = float(steps[at])
        r += 1


def _frozen(t: Known, space: Optional[dict], dists: dict, goal: str, rungs: Optional[tuple] = None) -> Any:
    from optuna.trial import TrialState, create_trial

    params = {}
    for key, dim in (space or {}).items():
        v = t.params[key]
        params[key] = _choice_index(dim.values, v) if dim.kind == "choice" else v
    state = {"done": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "failed": TrialState.FAIL,
             "running": TrialState.RUNNING}[t.status]
    value = t.value if state == TrialState.COMPLETE else None
    if state == TrialState.COMPLETE and value is None:
        state = TrialState.FAIL  # ended without the metric: nothing to learn from
    return create_trial(state=state, value=value, params=params, distributions=dists if space else {},
                        intermediate_values={int(e): float(v) for e, v in t.steps.items()},
                        system_attrs=rung_values(t.steps, *rungs) if rungs else None)


def study(goal: str, sampler: Any = None, history: Sequence[Known] = (), space: Optional[dict] = None,
          pruner: Any = None, rungs: Optional[tuple] = None) -> Any:
    """An in-memory study (direction from goal: min | max) holding `history` in trial order; rungs (min_epochs,
    reduction): each trial with what a SuccessiveHalvingPruner recorded of it (rung_values)."""
    with quiet_optuna() as optuna:
        s = optuna.create_study(direction="maximize" if goal == "max" else "minimize", sampler=sampler, pruner=pruner)
        dists = distributions(space) if space else {}
        s.add_trials([_frozen(t, space, dists, goal, rungs) for t in sorted(history, key=lambda t: t.number)])
    return s


def propose(sweep: Any, k: int, history: Sequence[Known] = ()) -> dict:
    """Trial k's values: the grid's k-th combination, or a draw (module docstring)."""
    if sweep.grid is not None:
        return dict(sweep.grid[k])
    spec = sweep.spec
    with quiet_optuna() as optuna:
        seed = trial_seed(spec.search.seed, k)
        if spec.search.method == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
            s = study(sweep.metric.goal, sampler, [t for t in history if t.number < k], spec.space)
        else:
            s = study(sweep.metric.goal, optuna.samplers.RandomSampler(seed=seed))
        trial = s.ask()
        return {key: _suggest(trial, key, dim) for key, dim in spec.space.items()}


def _suggest(trial: Any, key: str, dim: Any) -> Any:
    lo_hi = dim.values
    if dim.kind in ("log", "uniform"):
        return trial.suggest_float(key, lo_hi[0], lo_hi[1], log=dim.kind == "log")
    if dim.kind == "int":
        return trial.suggest_int(key, lo_hi[0], lo_hi[1])
    return lo_hi[trial.suggest_categorical(key, tuple(range(len(lo_hi))))]


def _given(params: dict, key: str, default: Any) -> Any:
    """A trial's value of a dotted key: its own, or inside a swept parent (data.split={train: 0.5, …}), else the
    default (the base config's)."""
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        node = params.get(".".join(parts[:i]), params)
        if node is params:
            continue
        for p in parts[i:]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        return node
    return default


def trial_cost(params: dict, base: Any) -> float:
    """A trial's cost up to a constant factor: epochs × Σₗ sₗ·sₗ₊₁ × the train split's fraction — an epoch is a
    forward and a backward pass over the train rows, each Σₗ sₗ·sₗ₊₁ multiply-adds a row (sₗ the units of layer l,
    model.layers). The values it cannot read as numbers give the base config's cost."""
    layers = list(base.model.layers)
    try:
        layers = [int(n) for n in _given(params, "model.layers", layers)]
        layers = [int(_given(params, f"model.layers.{i}", n)) for i, n in enumerate(layers)]
        epochs = int(_given(params, "train.epochs", base.train.epochs))
        train = float(_given(params, "data.split.train", base.data.split.train))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return trial_cost({}, base)
    return epochs * sum(a * b for a, b in itertools.pairwise(layers)) * train


def longest_first(sweep: Any, base: Any, numbers: Sequence[int]) -> list[int]:
    """The grid's trials `numbers`, the costliest first (trial_cost); equal costs in number order."""
    return sorted(numbers, key=lambda k: (-trial_cost(sweep.grid[k], base), k))
