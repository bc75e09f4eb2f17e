"""Activation functions f and their derivatives f′, side by side, in a registry keyed by name.

Every array here holds one column per example (the tutorial's layout): z and a have shape (s, m).

Each activation gives
    f(z, out=None)          -> a = f(z), elementwise (softmax: per column)
    fprime(z, a, out=None)  -> f′(z), elementwise, from whichever of z or a = f(z) is cheaper.

`out`, when given, is a preallocated array the result is written into (the training loop
reuses its buffers every epoch); without it a new array is returned.

`loop_f` is f for a loop that silences floating-point warnings once around itself (entering
np.errstate is not free: benchmarks/README.md, "constants"): sigmoid's exp(−z) overflows
harmlessly for very negative z, and f itself silences that on every call so that it stays
warning-free when called alone.

softmax is not elementwise: its derivative is a Jacobian per example, so it has no `fprime`
here; the loss that sits on top of it (losses.py) owns the output δ for softmax.

Left out on purpose: no file, terminal or configuration code; nothing but numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


def sigmoid(z: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """f(z) = 1 / (1 + exp(−z)).

    exp(−z) overflows to inf for z < −709; 1/(1 + inf) = 0 is then the correctly rounded
    answer, so the overflow is silenced rather than avoided by clipping z.
    """
    with np.errstate(over="ignore"):
        return sigmoid_unguarded(z, out)


def sigmoid_unguarded(z: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """f(z) = 1 / (1 + exp(−z)), for callers that silence the overflow themselves (np.errstate)."""
    a = np.negative(z, out)
    np.exp(a, a)
    np.add(a, 1.0, a)
    return np.divide(1.0, a, a)  # not np.reciprocal: the same bits, but numpy vectorises divide, not reciprocal


def sigmoid_prime(z: np.ndarray, a: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """f′(z) = f(z)(1 − f(z)) = a(1 − a)."""
    fp = np.subtract(1.0, a, out)
    return np.multiply(fp, a, fp)


def tanh(z: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """f(z) = tanh(z)."""
    return np.tanh(z, out=out)


def tanh_prime(z: np.ndarray, a: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """f′(z) = 1 − tanh²(z) = 1 − a²."""
    fp = np.multiply(a, a, out=out)
    return np.subtract(1.0, fp, out=fp)


def relu(z: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """f(z) = max(0, z)."""
    return np.maximum(z, 0.0, out=out)


def relu_prime(z: np.ndarray, a: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """f′(z) = 1 if z > 0 else 0 (the subgradient 0 is taken at the kink z = 0)."""
    if out is None:
        out = np.empty_like(z)
    return np.greater(z, 0.0, out=out)  # True/False written as 1.0/0.0


def identity(z: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """f(z) = z. With out=z (as the training workspace passes it) nothing is copied."""
    if out is None or out is z:
        return z
    np.copyto(out, z)
    return out


def identity_prime(z: np.ndarray, a: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """f′(z) = 1."""
    if out is None:
        return np.ones_like(z)
    out.fill(1.0)
    return out


def softmax(z: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
    """aₖ = exp(zₖ) / Σⱼ exp(zⱼ), per column (example).

    Computed as exp(z − max z): the same value, but exp never overflows.
    """
    a = np.subtract(z, z.max(axis=0), out=out)
    np.exp(a, out=a)
    a /= a.sum(axis=0)
    return a


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log aₖ = zₖ − log Σⱼ exp(zⱼ), per column, without forming a (stays finite when a saturates)."""
    shifted = z - z.max(axis=0)
    return shifted - np.log(np.exp(shifted).sum(axis=0))


@dataclass(frozen=True)
class Activation:
    name: str
    f: Callable[..., np.ndarray]
    fprime: Optional[Callable[..., np.ndarray]]  # None: not elementwise (softmax)
    loop_f: Optional[Callable[..., np.ndarray]] = None  # f without its own np.errstate; None: f itself

    def __post_init__(self) -> None:
        if self.loop_f is None:
            object.__setattr__(self, "loop_f", self.f)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_prime, sigmoid_unguarded),
    "tanh": Activation("tanh", tanh, tanh_prime),
    "relu": Activation("relu", relu, relu_prime),
    "identity": Activation("identity", identity, identity_prime),
    "softmax": Activation("softmax", softmax, None),
}

# The one list of names: every activation may be an output; a hidden layer needs an elementwise f
# (backprop multiplies by f′(z⁽ˡ⁾) entry by entry), so softmax is an output activation only.
OUTPUT_ACTIVATIONS = tuple(ACTIVATIONS)
HIDDEN_ACTIVATIONS = tuple(name for name, act in ACTIVATIONS.items() if act.fprime is not None)
