"""What every optimizer shares: the step reported to the training loop, and the first-order loop.

An optimizer drives an Objective (objective.py) from θ_start to θ_epochs and reports the state after
every epoch e — θ_e, J(θ_e) over the whole train split and its parts — through emit(step), which
returns True to stop. The training loop (trainer.fit and its listeners) sees only that; it never knows
which optimizer it drives.

First-order methods share one loop (FirstOrder.run): each subclass is its update rule alone,

    update(t, θ, g, θ′, s, s′)      θ′ and the new state s′ from θ, g = ∇J of the batch, the state s

with the state as named flat arrays (they go into the checkpoint) and t counting steps from 1. The
state is double-buffered like θ, so the state that belongs to the last finite J is still whole when
the next one turns out non-finite.

    full batch (train.batch_size null):  epoch e is one step, g = ∇J(θ_e) over the train split
    minibatches of N rows:               epoch e is a pass over a permutation of the train split drawn
                                         from the run's seeded generator, ⌈m/N⌉ steps, the last batch
                                         possibly smaller, each minimising its batch's own UFLDL cost
                                         (1/|B|) Σ_{i∈B} loss + (λ/2) Σ‖W‖²; then J(θ) over the train
                                         split for the epoch's row (a forward pass; ∇J on demand) —
                                         on the epochs fit.cost_at names (all by default), the first
                                         and the last; the others report cost None

An optimizer declares the train.* keys it reads, `hypers`: one Hyper(name, type, default, description,
bounds) each, as optax's adam(learning_rate, b1=0.9, …) declares its arguments. Optimizer(**hyper)
takes exactly those keys (an unknown one refused, a missing one its default); the config's train
section and the estimators' parameters are made from the same declarations (optimizers/__init__.py).

Left out on purpose: files, terminal output, signals (the listeners' jobs), and scipy (lbfgs.py).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ..errors import ConfigError, Diverged, UsageError
from ..network import Cost, FlatParams, Params, flat_params


@dataclass
class Step:
    """The state after `epoch` epochs (iterations, for L-BFGS), as the training loop receives it.

    theta is a view valid during the call only (copy what you keep). grad() is ∇J(θ_e) over the
    train split: the one the step used (full batch); for minibatches, computed with J when the epoch
    is in fit.grad_at, else when first asked for.
    """

    epoch: int
    theta: FlatParams
    cost: Optional[Cost]  # None: a minibatch epoch whose J over the train split was not asked for (cost_at)
    evaluations: int
    final: bool
    grad_now: Optional[np.ndarray] = None
    grad_fn: Optional[Callable[[], np.ndarray]] = field(default=None, repr=False)

    @property
    def params(self) -> Params:
        return self.theta.params

    def grad(self) -> np.ndarray:
        if self.grad_now is None and self.grad_fn is not None:
            self.grad_now = self.grad_fn()
        return self.grad_now


Emit = Callable[[Step], bool]


@dataclass
class Fitting:
    """What an optimizer works on: the objective over the train split, θ_start, and for minibatches
    the batch objective (its source has .select(rows)), the generator that draws the permutations, the
    epochs whose J over the train split is computed (cost_at(e); None: every epoch) and those whose ∇J
    over it will be asked for too (grad_at(e): both in one pass; None: ∇J computed when asked)."""

    objective: Any
    theta: FlatParams
    batches: Any = None
    rng: Optional[np.random.Generator] = None
    tolerance: float = 0.0  # stop when |ΔJ| between consecutive computed J(θ_e) < tolerance (0: never)
    cost_at: Optional[Callable[[int], bool]] = None
    grad_at: Optional[Callable[[int], bool]] = None


@dataclass
class Result:
    params: Params
    epoch: int
    cost: Cost
    reason: str  # "done" | "converged" | "stopped" | "no progress" (L-BFGS's line search)
    note: str = ""  # what happened, when it is worth saying (the terminal and the summary show it)
    state: dict = field(default_factory=dict)  # the optimizer's state at `epoch` (train.minimize fills it)


@dataclass(frozen=True)
class Hyper:
    """One train.* key an optimizer reads: its name, type (float or int), default, what it is (a few words,
    the symbol first), and its bounds (gt, ge, lt, le, as pydantic names them; None: no bound).

    The config's train section, its JSON Schema, the warning about a key the optimizer does not read,
    the README's config lines and the estimators' parameters are all made from these declarations.
    A key several optimizers read (learning_rate) is declared by each, with the same type, bounds and
    description and each optimizer's own default.
    """

    name: str
    type: type
    default: Any
    description: str
    gt: Optional[float] = None
    ge: Optional[float] = None
    lt: Optional[float] = None
    le: Optional[float] = None

    def __post_init__(self) -> None:
        if not (self.name.isidentifier() and self.name.isascii() and self.name == self.name.lower()):
            raise UsageError(f"a hyperparameter's name must be a lower-case Python name (got {self.name!r})")
        if self.type not in (float, int):
            raise UsageError(f"hyperparameter {self.name}: its type must be float or int (got {self.type!r})")
        problem = self._problem(self.default)
        if problem:
            raise UsageError(f"hyperparameter {self.name}: its default {problem}")

    def bounds(self) -> dict[str, float]:
        """The bounds that are set, by pydantic's names: {"ge": 0, "lt": 1}."""
        return {k: getattr(self, k) for k in _BOUNDS if getattr(self, k) is not None}

    def check(self, value: Any, optimizer: str) -> Any:
        """value as this key's type (a Python float or int), within its bounds; None: the default. Else one
        ConfigError line naming the optimizer and the key."""
        if value is None:
            return self.default
        problem = self._problem(value)
        if problem:
            raise ConfigError(f"optimizer {optimizer}: {self.name} {problem}")
        return self.type(value)

    def _problem(self, value: Any) -> str:
        """What is wrong with value for this key ("must be less than 1 (got 1)"), or "" when nothing is."""
        got = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return f"must be a number (got {got})"
        if self.type is int and not isinstance(value, (int, np.integer)):
            return f"must be a whole number (got {got})"
        try:
            finite = math.isfinite(value)  # an int too large for a float overflows here
        except OverflowError:
            finite = self.type is int
        if not finite:
            return f"must be a finite number (got {got})"
        for key, bound in self.bounds().items():
            text, holds = _BOUNDS[key]
            if not holds(value, bound):
                return f"must be {text} {bound:g} (got {value:g})" if finite and abs(value) < 1e300 else (
                    f"must be {text} {bound:g} (got {got})")
        return ""


_BOUNDS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    "gt": ("greater than", lambda v, b: v > b),
    "ge": ("greater than or equal to", lambda v, b: v >= b),
    "lt": ("less than", lambda v, b: v < b),
    "le": ("less than or equal to", lambda v, b: v <= b),
}


def learning_rate(default: float) -> Hyper:
    """α, which every first-order rule reads, each with its own default (one config key: null is the
    chosen optimizer's default)."""
    return Hyper("learning_rate", float, default, "α, the step size", gt=0)


class Optimizer:
    """Base of every optimizer: its name, the train.* keys it reads (hypers), and its state.

    Optimizer(**hyper) takes exactly its keys: an unknown one is refused (one line, naming the keys),
    a missing one (or None) is its default, and self.hyper holds them all for update() or run().
    """

    name = ""
    hypers: tuple[Hyper, ...] = ()  # train.* keys this optimizer reads (the config warns of the others)
    minibatches = False  # whether train.batch_size applies
    state_names: tuple[str, ...] = ()  # its state's flat arrays: opt_<name> in a checkpoint

    def __init__(self, **hyper: Any) -> None:
        self.hyper = self.settle(hyper)
        self._state: dict[str, np.ndarray] = {}
        self._loaded: Optional[dict[str, np.ndarray]] = None

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(h.name for h in cls.hypers)

    @classmethod
    def settle(cls, given: dict[str, Any]) -> dict[str, Any]:
        """Every key this optimizer reads, with its value from `given` (checked) or its default."""
        keys = cls.keys()
        for key in given:
            if key not in keys:
                close = difflib.get_close_matches(key, keys, n=1)
                hint = f", did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"optimizer {cls.name} has no key {key!r}{hint} (its keys: "
                                  f"{', '.join(keys) or 'none'})")
        return {h.name: h.check(given.get(h.name), cls.name) for h in cls.hypers}

    def state(self) -> dict[str, np.ndarray]:
        """The state at the last reported epoch: named flat arrays, for the checkpoint."""
        return self._state

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Continue from a checkpoint's state (same names and sizes as state())."""
        self._loaded = {k: np.asarray(v) for k, v in arrays.items()}

    def run(self, fit: Fitting, start: int, epochs: int, emit: Emit) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError


class FirstOrder(Optimizer):
    """The loop of every first-order rule, full batch or minibatch; subclasses give update()."""

    minibatches = True

    def update(self, t: int, theta: np.ndarray, g: np.ndarray, out: np.ndarray, s: dict, s_new: dict) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    def _states(self, n: int, dtype: Any) -> tuple[dict, dict]:
        s = {k: np.zeros(n, dtype) for k in self.state_names}
        if self._loaded is not None:
            for k in self.state_names:
                np.copyto(s[k], self._loaded[k], casting="unsafe")
        return s, {k: np.zeros(n, dtype) for k in self.state_names}

    def run(self, fit: Fitting, start: int, epochs: int, emit: Emit) -> Result:
        obj = fit.objective
        cur, nxt = fit.theta, flat_params(obj.source.arch.layers, obj.dtype)
        g = np.empty_like(cur.vec)
        s, s_new = self._states(cur.vec.size, obj.dtype)
        if fit.batches is None:
            return self._full_batch(fit, cur, nxt, g, s, s_new, start, epochs, emit)
        return self._minibatch(fit, cur, nxt, g, s, s_new, start, epochs, emit)

    def _full_batch(self, fit, cur, nxt, g, s, s_new, start, epochs, emit) -> Result:
        obj, tol, isfinite = fit.objective, fit.tolerance, math.isfinite
        last: Optional[tuple[int, Cost]] = None
        for e in range(start, max(epochs, start) + 1):
            cost, _ = obj(cur, g)  # J(θ_e); ∇J(θ_e) into g
            if not isfinite(cost.J):
                raise Diverged(e, *(last if last else (None, None)), nxt.params if last else None,
                               s_new if last else None)
            final = e >= epochs
            self._state = s
            if emit(Step(e, cur, cost, obj.evaluations, final, g)) and not final:
                return Result(cur.params, e, cost, "stopped")
            if final:
                return Result(cur.params, e, cost, "done")
            if tol and last is not None and abs(cost.J - last[1].J) < tol:
                return Result(cur.params, e, cost, "converged", f"|ΔJ| < train.tolerance = {tol:g}")
            self.update(e + 1, cur.vec, g, nxt.vec, s, s_new)  # full batch: step t = e + 1
            cur, nxt, s, s_new = nxt, cur, s_new, s
            last = (e, cost)
        raise AssertionError("unreachable")  # the loop returns at e = epochs

    def _minibatch(self, fit, cur, nxt, g, s, s_new, start, epochs, emit) -> Result:
        obj, batches, rng, tol, isfinite = fit.objective, fit.batches, fit.rng, fit.tolerance, math.isfinite
        m = obj.source.m
        size = batches.source.batch_size
        per_epoch = -(-m // size)
        keep = flat_params(obj.source.arch.layers, obj.dtype)  # θ_e and its state while epoch e + 1 runs
        kept = {k: np.empty_like(v) for k, v in s.items()}
        full_g = np.empty_like(g)
        cost_at, grad_at = fit.cost_at or (lambda e: True), fit.grad_at or (lambda e: False)

        def cost_of(e: int, theta: FlatParams) -> tuple[Optional[Cost], Optional[np.ndarray]]:
            """J(θ_e) over the train split, with ∇J(θ_e) from the same pass when it will be asked for."""
            if grad_at(e):
                return obj(theta, full_g)
            return obj.cost(theta), None

        cost, grad = cost_of(start, cur)  # the first epoch's J, always: it checks that training can start
        if not isfinite(cost.J):
            raise Diverged(start, None, None, None, None)
        last: Optional[Cost] = None  # the J computed before `cost` (the tolerance compares the two)
        cost_e: Optional[Cost] = None  # J(θ_{e−1}), when it was computed
        for e in range(start, max(epochs, start) + 1):
            # without J(θ_e), a θ_e past the finite (Σθ² overflows: so would J_reg) is caught here, while
            # `keep` still holds θ_{e−1}; a J(θ_e) computed below is checked itself
            if cost is None and not isfinite(float(np.vdot(cur.vec, cur.vec))):
                raise Diverged(e, e - 1, cost_e if cost_e is not None else obj.cost(keep), keep.params, kept)
            final = e >= epochs
            self._state = s
            here = cur
            step = Step(e, cur, cost, obj.evaluations + batches.evaluations, final, grad,
                        grad_fn=lambda: obj(here, full_g)[1])
            if emit(step) and not final:
                return Result(cur.params, e, cost if cost is not None else obj.cost(cur), "stopped")
            if final:
                return Result(cur.params, e, cost, "done")
            if tol and cost is not None and last is not None and abs(cost.J - last.J) < tol:
                return Result(cur.params, e, cost, "converged", f"|ΔJ| < train.tolerance = {tol:g}")
            np.copyto(keep.vec, cur.vec)
            for k in s:
                np.copyto(kept[k], s[k])
            perm = rng.permutation(m)
            t = e * per_epoch
            for k in range(per_epoch):
                batches.source.select(perm[k * size : (k + 1) * size])
                c, _ = batches(cur, g)  # J_B(θ), ∇J_B(θ) into g
                if not isfinite(c.J):  # θ_e and its state are the last finite ones
                    raise Diverged(e + 1, e, cost if cost is not None else obj.cost(keep), keep.params, kept)
                t += 1
                self.update(t, cur.vec, g, nxt.vec, s, s_new)
                cur, nxt, s, s_new = nxt, cur, s_new, s
            cost_e = cost
            if cost is not None:
                last = cost
            cost, grad = cost_of(e + 1, cur) if e + 1 >= epochs or cost_at(e + 1) else (None, None)
            if cost is not None and not isfinite(cost.J):
                raise Diverged(e + 1, e, cost_e if cost_e is not None else obj.cost(keep), keep.params, kept)
        raise AssertionError("unreachable")
