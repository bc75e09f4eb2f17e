"""The optimizers: one small module each, one registry entry each (see base.py for the interface).

    name       rule                                                            module
    gd         θ ← θ − αg                                                      gd.py
    momentum   v ← μv + g;  θ ← θ − αv                                         momentum.py
    nesterov   v ← μv + g;  θ ← θ − α(g + μv)                                  nesterov.py
    adam       m, v ← moving averages of g, g²;  θ ← θ − α·m̂/(√v̂ + ε)          adam.py
    lbfgs      scipy's L-BFGS-B on the exact full-batch J and ∇J                lbfgs.py

OPTIMIZERS is the registry (nettrain.registry): the config's choices and train.* keys, the unused-key
warning and the estimators' parameters follow it. register(cls) adds one (and gives back the
Registration that takes it out again); make(name, **hyper) builds one with exactly its keys.
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import ConfigError, UsageError
from ..registry import Registration, Registry
from .adam import Adam
from .base import FirstOrder, Fitting, Hyper, Optimizer, Result, Step, learning_rate
from .gd import GD
from .lbfgs import LBFGS
from .momentum import Momentum
from .nesterov import Nesterov


def declarations(key: str, registry: Optional[Registry] = None) -> list[tuple[str, Hyper]]:
    """(optimizer name, its Hyper) for every registered optimizer that reads train.<key>, in registry order."""
    return [(name, h) for name, cls in (OPTIMIZERS if registry is None else registry).items()
            for h in cls.hypers if h.name == key]


def _check(registry: Registry, name: str, cls: Any) -> None:
    """What an optimizer must be to be registered; a key shared with another optimizer must agree with it
    in all but its default (one config key holds both)."""
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)) or cls.name != name:
        raise UsageError(f"register an Optimizer subclass whose name is {name!r} (got {cls!r})")
    names = [h.name for h in cls.hypers]
    if not all(isinstance(h, Hyper) for h in cls.hypers) or len(set(names)) != len(names):
        raise UsageError(f"optimizer {name}: hypers must be Hyper entries with distinct names (got {names})")
    for h in cls.hypers:
        for other, theirs in declarations(h.name, registry):
            if (h.type, h.bounds(), h.description) != (theirs.type, theirs.bounds(), theirs.description):
                raise UsageError(f"optimizer {name}: train.{h.name} is declared by {other} too, as {theirs.type.__name__} "
                                 f"{theirs.bounds()} {theirs.description!r}; declare it the same (the default may "
                                 "differ) or give it another name")
    for s in cls.state_names:  # a checkpoint names each array opt_<name>
        if not (s[:1].isalpha() and s.isascii() and s == s.lower() and s.replace("_", "").isalnum() and len(s) <= 31):
            raise UsageError(f"optimizer {name}: a state name must be 1–31 lower-case letters, digits or '_', "
                             f"starting with a letter (got {s!r})")


OPTIMIZERS: Registry = Registry("optimizer", [(cls.name, cls) for cls in (GD, Momentum, Nesterov, Adam, LBFGS)],
                                check=_check)


def register(cls: type[Optimizer]) -> Registration:
    """Register an optimizer under cls.name (undo() or a `with` block takes it out again)."""
    return OPTIMIZERS.register(getattr(cls, "name", ""), cls)


def keys() -> tuple[str, ...]:
    """Every train.* key some registered optimizer reads, in registry order (learning_rate first)."""
    out: dict[str, None] = {}
    for cls in OPTIMIZERS.values():
        out.update(dict.fromkeys(cls.keys()))
    return tuple(out)


def users_of(key: str) -> list[str]:
    """The optimizers that read train.<key> (batch_size: those that take minibatches)."""
    if key == "batch_size":
        return [n for n, cls in OPTIMIZERS.items() if cls.minibatches]
    return [n for n, _ in declarations(key)]


def make(name: str, **hyper: Any) -> Optimizer:
    """The optimizer `name` with these of its keys (the others at their defaults); an unknown name or key
    is one ConfigError line."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)} (got {name!r})")
    return OPTIMIZERS[name](**hyper)


__all__ = ["OPTIMIZERS", "FirstOrder", "Fitting", "Hyper", "Optimizer", "Result", "Step", "declarations", "keys",
           "learning_rate", "make", "register", "users_of"]
