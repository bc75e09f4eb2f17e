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

Left out on purpose: files, terminal output, signals (the listeners' jobs), and scipy (lbfgs.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from ..errors import Diverged
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


class Optimizer:
    """Base of every optimizer: its name, the train.* keys it reads, and its state."""

    name = ""
    uses: tuple[str, ...] = ()  # train.* hyperparameters this optimizer reads (the config warns of others)
    minibatches = False  # whether train.batch_size applies
    state_names: tuple[str, ...] = ()

    def __init__(self, **hyper: Any) -> None:
        self.hyper = {k: hyper[k] for k in self.uses if k in hyper}
        self._state: dict[str, np.ndarray] = {}
        self._loaded: Optional[dict[str, np.ndarray]] = None

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

    uses = ("learning_rate",)
    minibatches = True
    default_learning_rate = 0.1  # train.learning_rate when the config gives none

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
