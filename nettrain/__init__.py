"""nettrain: fully-connected neural networks trained from config files, the UFLDL way.

From Python:

    import nettrain
    run = nettrain.fit("configs/digits.yaml", {"train.epochs": 300})   # a Run: history, cost, model
    model = nettrain.load("runs/digits")                                # predict, predict_proba, cost, evaluate
    nettrain.gradcheck("configs/xor.yaml"); nettrain.explain("configs/xor.yaml", example=0)

and scikit-learn estimators in nettrain.sklearn (NetClassifier, NetRegressor; needs the sklearn extra).

Importing the package loads nothing else: each name is imported from nettrain.api (numpy, pydantic)
on first use, so that `import nettrain` and the CLI's --help stay fast.

`gradcheck` and `explain` name both a submodule (the numerical gradient; one example through
backprop) and a function of the API. Whichever is imported first, the package's attribute is the
submodule, made callable as the API function: nettrain.gradcheck("configs/xor.yaml") and
`from nettrain import gradcheck as gc; gc.check(…)` both work.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = ("fit", "load", "Run", "Model")
_CALLABLE_MODULES = ("gradcheck", "explain")  # submodules that are also API functions
_SUBMODULES = ("sklearn",)
__all__ = ["fit", "load", "gradcheck", "explain", "Run", "Model", "__version__"]

if TYPE_CHECKING:
    from .api import Model, Run, explain, fit, gradcheck, load


class _CallableModule(types.ModuleType):
    """A submodule that, called, is the API function of its name (nettrain.api.<name>)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        api = importlib.import_module(".api", __package__)
        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(types.ModuleType):
    """The nettrain package: the import system sets each submodule on it as an attribute (setattr), and
    the two whose names are API functions become callable then, however they were first imported."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CALLABLE_MODULES and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(".api", __name__), name)
        globals()[name] = value  # looked up once
        return value
    if name in _CALLABLE_MODULES or name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
