"""The config's train section, made from the optimizer registry: `optimizer` (one of OPTIMIZERS), every key
an optimizer declares (optimizers/*.py, Hyper: type, bounds, default, description), then train's own keys.

A key whose readers' defaults differ (learning_rate: 0.1 gd, 0.01 momentum, …) is one Optional key: null is
the chosen optimizer's default, filled in by the section's validator; a key whose readers agree has that
default. train_model() makes the section's model for the registry as it is (one class per registry
state, kept: the same registry gives the same class), and schema.py rebuilds Config when it changes.

Left out on purpose: the other sections (schema.py), reading YAML, turning errors into lines (load.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import Field, create_model, model_validator

from .. import optimizers
from ..errors import UsageError
from ..optimizers import OPTIMIZERS
from .section import _Section


class EarlyStoppingConfig(_Section):
    """Stop when the validation data cost has not improved for `patience` logged rows."""

    patience: int = Field(ge=1, description="Logged rows (every log.every epochs) without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0, description="An improvement must lower val J_data by more than this.")


class _TrainSection(_Section):
    """The optimizer and its settings; J(W, b) = J_data + (λ/2) Σ‖W⁽ˡ⁾‖² for every optimizer."""

    @model_validator(mode="after")
    def _optimizer_defaults(self) -> "_TrainSection":
        for h in OPTIMIZERS[self.optimizer].hypers:  # a key several optimizers read: null is this one's default
            if getattr(self, h.name) is None:
                self.__dict__[h.name] = h.default
        return self

    def hyperparameters(self) -> dict[str, Any]:
        """The chosen optimizer's keys and their values: what optimizers.make takes."""
        return {key: getattr(self, key) for key in OPTIMIZERS[self.optimizer].keys()}

    def unused_keys(self) -> list[str]:
        """One line per hyperparameter set in the config (or by --set) that the chosen optimizer does not read."""
        lines = []
        for key in (*optimizers.keys(), "batch_size"):
            users = optimizers.users_of(key)
            if key in self.model_fields_set and getattr(self, key) is not None and self.optimizer not in users:
                lines.append(f"train.{key} is not used by optimizer {self.optimizer} (it is used by "
                             f"{', '.join(users)}); it is ignored")
        return lines


def hyper_description(key: str) -> str:
    """What train.<key> is and which optimizers read it, from their declarations (the JSON Schema's
    description, and the README's comment on the key):

        μ, the decay of the velocity v (momentum, nesterov)
        α, the step size; null: 0.1 gd, 0.01 momentum/nesterov, 0.001 adam      (each reader its own default)
    """
    decl = optimizers.declarations(key)
    by_default: dict[Any, list[str]] = {}
    for name, h in decl:
        by_default.setdefault(h.default, []).append(name)
    if len(by_default) == 1:
        return f"{decl[0][1].description} ({', '.join(n for n, _ in decl)})"
    return f"{decl[0][1].description}; null: " + ", ".join(f"{d:g} {'/'.join(n)}" for d, n in by_default.items())


def _hyper_field(key: str) -> tuple[Any, Any]:
    """train.<key> as a pydantic field: the declared type and bounds, the readers' default (null when their
    defaults differ: the validator then fills the chosen optimizer's)."""
    decl = optimizers.declarations(key)
    h = decl[0][1]
    kind = Annotated[h.type, Field(**h.bounds())]
    description = hyper_description(key) + "."
    if len({d.default for _, d in decl}) == 1:
        return kind, Field(h.default, description=description)
    return Optional[kind], Field(None, description=description)


def _train_settings() -> dict[str, tuple[Any, Any]]:
    """train's own keys, those of no optimizer in particular (made afresh for each model built)."""
    return {
        "batch_size": (Optional[Annotated[int, Field(ge=1)]], Field(
            None, description="null: every step uses the whole train split; N: minibatches of N rows, drawn from a "
            f"seeded permutation every epoch ({', '.join(optimizers.users_of('batch_size'))}).")),
        "weight_decay": (float, Field(0.0, ge=0, description="λ, the weight decay (L2) strength, part of J for every "
                                      "optimizer; biases are not decayed.")),
        "epochs": (int, Field(1000, ge=0, description="Passes over the train split (lbfgs: iterations).")),
        "tolerance": (float, Field(0.0, ge=0, description="Stop early when |ΔJ| between epochs < tolerance (between "
                                   "rows with J under log.train_cost: logged; lbfgs: the relative decrease, scipy's "
                                   "ftol); 0 = never.")),
        "early_stopping": (Optional[EarlyStoppingConfig], Field(
            None, description="{patience: K, min_delta: 0}: stop when val J_data has not improved for K logged rows "
            "(needs a val split); eval and predict then use best.npz.")),
        "dtype": (Literal["float64", "float32"], Field("float64", description="Floating point type of the "
                                                        "computation.")),
        "chunk_size": (Optional[Annotated[int, Field(ge=1)]], Field(
            None, description="Examples per forward/backward chunk (bounds memory); null = automatic: the whole batch "
            "for small problems, else chunks of about 8 MiB of activations (see train.chunk_width).")),
        "threads": (Optional[Annotated[int, Field(ge=1)]], Field(
            None, description="Threads to train with, at most the cores this process may use; null = automatic: one "
            "for a small network (below train.PARALLEL_MIN_FLOPS multiply-adds per epoch), else one per core (within "
            "OPENBLAS_NUM_THREADS). benchmarks/README.md gives the measurements behind the threshold.")),
    }


_TRAIN_MODELS: dict[Any, type[_TrainSection]] = {}  # by the registry's declarations: one class per registry state


def train_model() -> type[_TrainSection]:
    """The train section's model as the optimizer registry makes it: `optimizer` (one of OPTIMIZERS), every
    optimizer's keys (optimizers.keys(), declared by Hyper entries), then train's own keys."""
    state = tuple((name, cls.hypers, cls.minibatches) for name, cls in OPTIMIZERS.items())
    if state not in _TRAIN_MODELS:
        settings = _train_settings()
        clash = [k for k in optimizers.keys() if k in settings or k == "optimizer"]
        if clash:
            raise UsageError(f"train.{clash[0]} is one of train's own keys: give the optimizer's key another name")
        fields: dict[str, Any] = {"optimizer": (Literal[tuple(OPTIMIZERS)], Field(  # type: ignore[valid-type]
            "gd", description=f"{' | '.join(OPTIMIZERS)} (the README's table says when to use which)."))}
        fields.update({key: _hyper_field(key) for key in optimizers.keys()})
        fields.update(settings)
        model = create_model("TrainConfig", __base__=_TrainSection, __module__=__name__, **fields)
        model.__doc__ = _TrainSection.__doc__
        _TRAIN_MODELS[state] = model
    return _TRAIN_MODELS[state]


def __getattr__(name: str) -> Any:
    if name == "TrainConfig":  # the model as the registry makes it now (a pickled config finds its class here)
        return train_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
