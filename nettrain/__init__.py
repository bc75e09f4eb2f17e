"""nettrain: fully-connected neural networks trained from config files, the UFLDL way.

From Python:

    import nettrain
    run = nettrain.fit("configs/digits.yaml", {"train.epochs": 300})   # a Run: history, cost, model
    model = nettrain.load("runs/digits")                                # predict, predict_proba, cost, evaluate
    nettrain.gradcheck("configs/xor.yaml"); nettrain.explain("configs/xor.yaml", example=0)

and scikit-learn estimators in nettrain.sklearn (NetClassifier, NetRegressor; needs the sklearn extra).

The public API is re-exported here from nettrain.api, each name one thing. Importing the package loads
nothing else: a name is imported on first use (PEP 562), so that `import nettrain` and the CLI's --help
stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

_API = ("fit", "load", "gradcheck", "explain", "Run", "Model")
__all__ = [*_API, "__version__"]

if TYPE_CHECKING:
    from .api import Model, Run, explain, fit, gradcheck, load


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(".api", __name__), name)
        globals()[name] = value  # looked up once
        return value
    if name == "sklearn":
        return importlib.import_module(".sklearn", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, "sklearn"})
