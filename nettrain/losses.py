"""The data term of the cost, J_data, and the output-layer error δ⁽ⁿˡ⁾ it implies.

The loss owns the output δ, because δ⁽ⁿˡ⁾ = ∂(cost of one example)/∂z⁽ⁿˡ⁾ depends on both the loss
and the output activation. Arrays hold one column per example: z, a, y have shape (s_nl, m).

Each function returns the *sum* over the m examples it is given; network.py divides by the
total m once, so the cost of a batch computed in chunks equals the cost computed at once.

    squared_error:  Σᵢ ½‖aᵢ − yᵢ‖²
        δ = −(y − a)·f′(z)                 for elementwise f (the tutorial's equation)
        δ = a ⊙ (g − aᵀg), g = a − y       for softmax (its Jacobian diag(a) − a aᵀ applied to g)
    cross_entropy, softmax output:  Σᵢ −Σₖ yᵢₖ log aᵢₖ
        δ = a·Σₖyₖ − y                     (= a − y for one-hot targets)
    cross_entropy, sigmoid output:  Σᵢ Σₖ −[y log a + (1 − y) log(1 − a)]
        δ = a − y

Cross-entropy is computed from z (log-softmax, softplus), not from a: it stays finite when a
prediction saturates to exactly 0 or 1, and no clipping alters the gradient.

The training loop uses `output_step(loss, act)`: one function per loss/output pair that computes
a⁽ⁿˡ⁾ = f(z⁽ⁿˡ⁾), δ⁽ⁿˡ⁾ and the summed loss together, into preallocated buffers, sharing what
they have in common (softmax with cross-entropy computes exp(z − max z) once for a, the cost and
δ). It computes the same equations as f, `fn` and `delta` above, up to rounding. Each Loss owns its
kernel (`Loss.fused`, a factory per output activation); a loss without one trains with
`reference_step`, f then its own `delta`.

LOSSES is the registry (nettrain.registry): the config's choices follow it. Adding a loss is one
`Loss(name, fn, delta, outputs[, fused, about])` and `register(loss)`.

Left out on purpose: no file, terminal or configuration code; nothing but numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, Activation, log_softmax
from .errors import ModelError, UsageError
from .registry import Registration, Registry


def squared_error(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> float:
    """Σᵢ ½‖h(xᵢ) − yᵢ‖²: half the squared error, summed over outputs and examples."""
    diff = (a - y).ravel()
    return 0.5 * float(np.dot(diff, diff))


def squared_error_delta(
    z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation, out: np.ndarray
) -> float:
    """Write δ⁽ⁿˡ⁾ for the squared error into `out` (s_nl, m); return Σᵢ ½‖aᵢ − yᵢ‖².

    δ = −(y − a)·f′(z) is computed as (a − y)·f′(z): the same numbers, one negation fewer.
    """
    np.subtract(a, y, out=out)  # g = a − y, kept in `out`
    flat = out.ravel()
    cost = 0.5 * float(np.dot(flat, flat))
    if act.name == "softmax":
        # δ = (diag(a) − a aᵀ) g per column = a ⊙ (g − Σₖ aₖ gₖ)
        out -= np.einsum("km,km->m", a, out)
        out *= a
    elif act.name != "identity":  # f′ = 1 for identity: δ = a − y already
        out *= act.fprime(z, a)
    return cost


def cross_entropy(z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation) -> float:
    """Σᵢ cross-entropy of example i, from z so that a saturated prediction gives a finite cost.

    softmax:  −Σₖ yₖ log aₖ with log aₖ = log_softmax(z)ₖ
    sigmoid:  −[y log a + (1 − y) log(1 − a)] = softplus(z) − y z, softplus(z) = log(1 + eᶻ)
    """
    if act.name == "softmax":
        return -float(np.vdot(y, log_softmax(z)))
    return float(np.sum(np.logaddexp(0.0, z) - y * z))


def cross_entropy_delta(
    z: np.ndarray, a: np.ndarray, y: np.ndarray, act: Activation, out: np.ndarray
) -> float:
    """Write δ⁽ⁿˡ⁾ for the cross-entropy into `out` (s_nl, m); return the summed cost.

    The a − y shortcut is exact for these pairs: f′ cancels against the loss's derivative.
    With softmax it needs Σₖ yₖ = 1 per example; the general form a·Σₖyₖ − y is used.
    """
    cost = cross_entropy(z, a, y, act)
    if act.name == "softmax":
        np.multiply(a, y.sum(axis=0), out=out)
        out -= y
    else:
        np.subtract(a, y, out=out)
    return cost


# ---------------------------------------------------------------------------- the training loop's output step


class OutputScratch:
    """Buffers an output step reuses every epoch, for chunks of up to `width` examples and s_nl outputs."""

    def __init__(self, k: int, width: int, dtype: type) -> None:
        self.k, self.width, self.dtype = k, width, np.dtype(dtype)
        self.col = np.empty(width, dtype)  # one number per example (column)
        self.col2 = np.empty(width, dtype)
        self.tmp = np.empty(k * width, dtype)
        self.ones = np.ones(k * width, dtype)
        self.ones_k = np.ones(k, dtype)

    def view(self, w: int) -> "OutputScratch":
        """The same memory for a chunk of w ≤ width examples: col (w,), tmp and ones (s_nl, w)."""
        v = object.__new__(OutputScratch)
        v.k, v.width, v.dtype = self.k, w, self.dtype
        v.col, v.col2, v.ones_k = self.col[:w], self.col2[:w], self.ones_k
        v.tmp = self.tmp[: self.k * w].reshape(self.k, w)
        v.ones = self.ones[: self.k * w].reshape(self.k, w)
        return v


def target_sums(y: np.ndarray) -> Optional[np.ndarray]:
    """Σₖ yₖ per example, or None when every one is exactly 1 (one-hot labels): then a·Σₖyₖ = a."""
    ysum = y.sum(axis=0)
    return None if bool(np.all(ysum == 1)) else ysum


# An output step: step(z, a, y, ysum, delta, s) writes a = f(z) and δ⁽ⁿˡ⁾ = delta, returns Σᵢ loss.
# z, a, y, delta: (s_nl, w); ysum: target_sums(y); s: OutputScratch.view(w). z is left unchanged.
OutputStep = Callable[..., float]


def _squared_error_step(act: Activation) -> OutputStep:
    f, fprime, name = act.loop_f, act.fprime, act.name

    def step(z, a, y, ysum, delta, s) -> float:
        f(z, a)  # a = f(z)  (identity: a is z, nothing is written)
        np.subtract(a, y, delta)  # g = a − y
        cost = 0.5 * float(np.vdot(delta, delta))  # Σᵢ ½‖aᵢ − yᵢ‖²
        if name != "identity":  # δ = −(y − a)·f′(z) = (a − y)·f′(z)
            np.multiply(delta, fprime(z, a, s.tmp), delta)
        return cost

    return step


def _softmax_into(z, a, s) -> None:
    """a = softmax(z) per column, as exp(z − max z) / Σⱼ exp(zⱼ − max z), into a; s.col2 ← Σⱼ."""
    np.maximum.reduce(z, 0, None, s.col)  # max z per column
    np.subtract(z, s.col, a)
    np.exp(a, a)
    np.add.reduce(a, 0, None, s.col2)  # Σⱼ exp(zⱼ − max z)
    np.multiply(a, np.divide(1.0, s.col2, s.col), a)  # a / Σ: one division per column, not per entry


def _squared_error_softmax_step(z, a, y, ysum, delta, s) -> float:
    _softmax_into(z, a, s)
    np.subtract(a, y, delta)  # g = a − y
    cost = 0.5 * float(np.vdot(delta, delta))
    # δ = (diag(a) − a aᵀ) g per column = a ⊙ (g − Σₖ aₖ gₖ)
    np.multiply(a, delta, s.tmp)
    np.add.reduce(s.tmp, 0, None, s.col)
    np.subtract(delta, s.col, delta)
    np.multiply(delta, a, delta)
    return cost


def _cross_entropy_sigmoid_step(act: Activation) -> OutputStep:
    f = act.loop_f

    def step(z, a, y, ysum, delta, s) -> float:
        f(z, a)  # a = σ(z)
        # Σ softplus(z) − y z, softplus(z) = log(1 + eᶻ): from z, finite when a saturates. On big
        # chunks as max(z, 0) + log1p(exp(−|z|)), the same value in six cheap calls; on small ones
        # one np.logaddexp(0, z) call costs less (the crossover: benchmarks/README.md, "constants")
        t = s.tmp
        if t.size < 2048:
            np.logaddexp(0.0, z, t)
            np.multiply(y, z, delta)  # delta is scratch here, overwritten below
            np.subtract(t, delta, t)
            cost = float(np.vdot(t, s.ones))
            np.subtract(a, y, delta)  # δ = a − y (f′ cancels)
            return cost
        np.abs(z, t)
        np.negative(t, t)
        np.exp(t, t)
        np.log1p(t, t)
        np.maximum(z, 0.0, out=delta)  # delta is scratch here, overwritten below
        np.add(t, delta, t)
        np.multiply(y, z, delta)
        np.subtract(t, delta, t)
        cost = float(np.vdot(t, s.ones))
        np.subtract(a, y, delta)  # δ = a − y (f′ cancels)
        return cost

    return step


def _cross_entropy_softmax_step(z, a, y, ysum, delta, s) -> float:
    """exp(z − max z) once for a, log a and δ.

    log aₖ = (zₖ − max z) − log S with S = Σⱼ exp(zⱼ − max z), so −Σₖ yₖ log aₖ
    = −⟨y, z − max z⟩ + (Σₖ yₖ) log S: both terms ≥ 0 (no cancellation), finite when a saturates.
    """
    np.maximum.reduce(z, 0, None, s.col)  # max z per column
    np.subtract(z, s.col, delta)  # z − max z, kept in delta until δ is written
    np.exp(delta, a)
    np.add.reduce(a, 0, None, s.col2)  # S = Σⱼ exp(zⱼ − max z)
    np.multiply(a, np.divide(1.0, s.col2, s.col), a)  # a = exp(z − max z) / S (one division per column)
    np.log(s.col2, s.col2)  # log S
    log_s = float(np.add.reduce(s.col2)) if ysum is None else float(np.dot(ysum, s.col2))
    cost = log_s - float(np.vdot(y, delta))
    if ysum is None:  # one-hot: Σₖ yₖ = 1
        np.subtract(a, y, delta)  # δ = a − y
    else:
        np.multiply(a, ysum, delta)  # δ = a·Σₖyₖ − y
        np.subtract(delta, y, delta)
    return cost


def _squared_error_fused(act: Activation) -> OutputStep:
    return _squared_error_softmax_step if act.name == "softmax" else _squared_error_step(act)


def _cross_entropy_fused(act: Activation) -> OutputStep:
    return _cross_entropy_softmax_step if act.name == "softmax" else _cross_entropy_sigmoid_step(act)


def reference_step(loss: "Loss", act: Activation) -> OutputStep:
    """The output step of a loss without a fused one: a = f(z), then the loss's own delta (δ and Σᵢ loss)."""
    f, delta = act.loop_f, loss.delta

    def step(z, a, y, ysum, out, s) -> float:
        f(z, a)  # a = f(z)  (identity: a is z, nothing is written)
        return delta(z, a, y, act, out)

    return step


def output_step(loss: "Loss", act: Activation) -> OutputStep:
    """The training loop's output step for this loss on this output activation (see OutputStep): the loss's
    fused step when it has one, else reference_step from its delta."""
    return loss.fused(act) if loss.fused is not None else reference_step(loss, act)


@dataclass(frozen=True)
class Loss:
    """A loss: J_data's summand and the output δ it implies, and the training loop's kernel for them.

    fused(act) gives the output step (OutputStep) for output activation act: a, δ and Σᵢ loss in one pass
    over preallocated buffers; None: reference_step, made from fn and delta (correct, a little slower)."""

    name: str
    fn: Callable  # fn(z, a, y, act) -> Σ over examples of the cost
    delta: Callable  # delta(z, a, y, act, out) -> summed cost, δ⁽ⁿˡ⁾ written to out
    outputs: tuple[str, ...]  # output activations this loss may sit on
    fused: Optional[Callable[[Activation], OutputStep]] = None
    about: str = ""  # what it sums, in a few words (the config's description of `loss`)


def _check(registry: Registry, name: str, loss: Any) -> None:
    if not isinstance(loss, Loss) or loss.name != name:
        raise UsageError(f"register a Loss whose name is {name!r} (got {loss!r})")
    if not loss.outputs or not set(loss.outputs) <= set(OUTPUT_ACTIVATIONS):
        raise UsageError(f"loss {name}: outputs must be some of {', '.join(OUTPUT_ACTIVATIONS)} (got {loss.outputs!r})")
    if not (callable(loss.fn) and callable(loss.delta) and (loss.fused is None or callable(loss.fused))):
        raise UsageError(f"loss {name}: fn, delta and fused (or None) must be functions")


LOSSES: Registry = Registry("loss", [(loss.name, loss) for loss in (
    Loss("squared_error", lambda z, a, y, act: squared_error(z, a, y), squared_error_delta, OUTPUT_ACTIVATIONS,
         _squared_error_fused, "½‖h − y‖²"),
    Loss("cross_entropy", cross_entropy, cross_entropy_delta, ("sigmoid", "softmax"), _cross_entropy_fused,
         "−Σₖ yₖ log hₖ"),
)], check=_check)


def register(loss: Loss) -> Registration:
    """Register a loss under loss.name (undo() or a `with` block takes it out again)."""
    return LOSSES.register(getattr(loss, "name", ""), loss)


def get_loss(name: str, output_activation: str) -> Loss:
    """The loss called `name`, checked against the output activation it sits on."""
    if name not in LOSSES:
        raise ModelError(f"loss must be one of {', '.join(LOSSES)} (got {name!r})")
    if output_activation not in ACTIVATIONS:
        raise ModelError(
            f"model.output_activation must be one of {', '.join(ACTIVATIONS)} (got {output_activation!r})"
        )
    loss = LOSSES[name]
    if output_activation not in loss.outputs:
        others = " or ".join(n for n, other in LOSSES.items() if output_activation in other.outputs)
        a = "an" if loss.outputs[0][0] in "aeiou" else "a"
        raise ModelError(
            f"loss {name} needs model.output_activation {' or '.join(loss.outputs)} (got {output_activation!r}): "
            f"use {others or 'another loss'}, or {a} {'/'.join(loss.outputs)} output"
        )
    return loss
