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

Left out on purpose: no file, terminal or configuration code; nothing but numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .activations import ACTIVATIONS, Activation, log_softmax
from .errors import ModelError


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


@dataclass(frozen=True)
class Loss:
    name: str
    fn: Callable  # fn(z, a, y[, act]) -> Σ over examples of the cost
    delta: Callable  # delta(z, a, y, act, out) -> summed cost, δ⁽ⁿˡ⁾ written to out
    outputs: tuple[str, ...]  # output activations this loss may sit on


LOSSES: dict[str, Loss] = {
    "squared_error": Loss(
        "squared_error",
        lambda z, a, y, act: squared_error(z, a, y),
        squared_error_delta,
        ("sigmoid", "tanh", "relu", "identity", "softmax"),
    ),
    "cross_entropy": Loss("cross_entropy", cross_entropy, cross_entropy_delta, ("sigmoid", "softmax")),
}


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
        raise ModelError(
            f"loss {name} needs model.output_activation {' or '.join(loss.outputs)} "
            f"(got {output_activation!r}): use squared_error, or a sigmoid/softmax output"
        )
    return loss
