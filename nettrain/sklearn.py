"""scikit-learn estimators that train with nettrain's own code: NetClassifier and NetRegressor.

    from nettrain.sklearn import NetClassifier
    clf = NetClassifier(hidden_layer_sizes=(25,), learning_rate=0.5, weight_decay=1e-4, epochs=2000,
                        random_state=0).fit(X, y)
    clf.predict(X), clf.predict_proba(X), clf.history_["data_cost"], clf.W_[1]

A constructor parameter is a config key under a scikit-learn-style name (PARAMETERS: name → dotted
key; hidden_layer_sizes are model.layers without the input and output sizes, which the data sets;
random_state is the seed), and every key an optimizer reads (optimizers.keys(): learning_rate,
momentum, beta1, beta2, epsilon, memory, … from the optimizers' Hyper declarations) is a parameter of
its own name, default None: the chosen optimizer's default. Those and batch_size and early_stopping
go into the config only when set, so a config without them is today's config. fit builds the config
as a plain dict, the schema validates it (an error names the dotted key: `NetClassifier:
train.learning_rate: must be greater than 0 (got -1)`), and nettrain.api._train trains it through
trainer.fit, as `nettrain fit` does: the weights equal those of `nettrain fit` on the equivalent
config with data.split {train: 1.0} bit for bit (scikit-learn splits the data itself). Nothing is
written unless run_dir is given (a run folder, kept).

scikit-learn reads an estimator's parameters from the explicit signature of its __init__ (get_params,
clone, repr), so __init__ is made from the registry: _make_init builds an inspect.Signature (self,
hidden_layer_sizes, then keyword-only parameters) and sets it as the function's __signature__, which
inspect.signature honours; the function binds its arguments to that signature (an unknown one is a
TypeError, as for any def) and keeps each as an attribute. It is made again whenever the optimizer
registry changes (optimizers.register): a registered optimizer's keys are parameters at once.

Standardisation stays nettrain's (standardize=True): the mean and σ of the training rows are stored
with the weights and applied to every X given later. A classifier's labels are encoded as 0 … K−1
in the order of classes_ (sorted, as scikit-learn orders them) before nettrain sees them.

Tabular data: with categorical (data.categorical: a list of column names, or "auto" for every column of text,
category or bool dtype) or missing (data.missing: "drop" or "mean"), X may be a pandas DataFrame with text
columns and empty cells (None, NaN) — or a list of dicts, or an array whose columns are then x0, x1, … —
and the one-hot columns and fills are fitted on the training rows and kept in model_, which applies them to
every X given later (a category fit did not see: an error naming it, or with unknown="ignore" all zeros).
Such an X is not passed through scikit-learn's validate_data (which takes numbers only).

An estimator pickles (pickle, joblib) with its model, and predicts the same after unpickling.

Left out on purpose: sample_weight (J_data is the plain average over the m examples), sparse
input, partial_fit and warm_start. Needs scikit-learn: `pip install -e ".[sklearn]"`.
"""

from __future__ import annotations

import inspect
from inspect import Parameter
from numbers import Integral
from typing import Any, Callable

import numpy as np

from .errors import MissingExtra, TargetError, UsageError

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:
    raise MissingExtra('nettrain.sklearn needs scikit-learn, an optional extra: pip install -e ".[sklearn]"') from None

from . import api, optimizers
from . import data as data_mod

# constructor parameter → the config key it sets (None values are left out: the schema's default applies);
# every key an optimizer reads is a parameter too (train.<key>, default None), from the registry: config_keys()
PARAMETERS = {
    "activation": "model.activation",
    "output_activation": "model.output_activation",
    "init_scheme": "model.init.scheme",
    "init_std": "model.init.std",
    "loss": "loss",
    "optimizer": "train.optimizer",
    "weight_decay": "train.weight_decay",
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "early_stopping": "train.early_stopping",
    "tolerance": "train.tolerance",
    "dtype": "train.dtype",
    "threads": "train.threads",
    "chunk_size": "train.chunk_size",
    "standardize": "data.standardize",
    "categorical": "data.categorical",
    "missing": "data.missing",
}

# the parameters' defaults, in the signature's order; the optimizers' keys come after `optimizer`
DEFAULTS: dict[str, Any] = {
    "hidden_layer_sizes": (25,), "activation": "sigmoid", "output_activation": "sigmoid", "loss": "squared_error",
    "init_scheme": "normal", "init_std": 0.01, "optimizer": "gd", "weight_decay": 0.0, "epochs": 1000,
    "batch_size": None, "early_stopping": None, "validation_fraction": 0.1, "tolerance": 0.0, "dtype": "float64",
    "standardize": True, "categorical": None, "missing": "refuse", "unknown": "error", "threads": None,
    "chunk_size": None, "random_state": None, "run_dir": None,
}


def config_keys() -> dict[str, str]:
    """Every parameter that sets a config key → that dotted key: PARAMETERS and the optimizers' keys."""
    return {**PARAMETERS, **{key: f"train.{key}" for key in optimizers.keys()}}


def _signature(defaults: dict[str, Any]) -> inspect.Signature:
    """__init__'s signature: self, hidden_layer_sizes, then keyword-only parameters (those of DEFAULTS with
    the optimizers' keys after `optimizer`, each defaulting to None: the chosen optimizer's own default)."""
    clash = [k for k in optimizers.keys() if k in defaults]
    if clash:
        raise UsageError(f"train.{clash[0]} is an estimator parameter of its own: give the optimizer's key "
                         "another name")
    names = list(defaults)
    at = names.index("optimizer") + 1
    names[at:at] = optimizers.keys()
    kinds = {"self": Parameter.POSITIONAL_OR_KEYWORD, "hidden_layer_sizes": Parameter.POSITIONAL_OR_KEYWORD}
    return inspect.Signature([Parameter("self", Parameter.POSITIONAL_OR_KEYWORD)] + [
        Parameter(n, kinds.get(n, Parameter.KEYWORD_ONLY), default=defaults.get(n)) for n in names])


def _make_init(cls: type) -> Callable[..., None]:
    """An __init__ that takes exactly _signature(cls._defaults) — scikit-learn's get_params and clone read it
    (inspect.signature honours __signature__) — and keeps every parameter as an attribute of that name."""
    signature = _signature(cls._defaults)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)  # an unknown or repeated parameter: TypeError, as a def's
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__doc__ = f"Keep every parameter as an attribute of its name: {signature}."
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    __init__.__module__ = __name__
    return __init__


def _install() -> None:
    """Every estimator's __init__ made (again) from the optimizer registry: a registered optimizer's keys are
    parameters at once, and gone again when it is."""
    for cls in (_NetEstimator, NetClassifier, NetRegressor):
        cls.__init__ = _make_init(cls)


def _seed(random_state: Any) -> Any:
    """The config's seed: an int random_state is the seed itself (so that random_state=0 is seed: 0);
    None or a RandomState draws one, as scikit-learn's convention has it. Anything else is left for
    the schema to refuse."""
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    return random_state


class _NetEstimator(BaseEstimator):
    """What both estimators share: the parameters, the config they make, training, the fitted arrays.

    early_stopping {patience: K, min_delta: 0} holds out validation_fraction of the rows (the seeded split)
    and stops when their J_data has not improved for K epochs; the model is then the best epoch's.

    Fitted: model_ (nettrain.api.Model), history_ (metrics.csv by column: epoch, cost, data_cost,
    reg_cost, grad_norm, …, seconds — one value per epoch, epoch 0 being the initial weights), loss_curve_ (J per
    epoch), cost_ (the parts at the last epoch), n_iter_ (epochs trained), W_, b_ (the tutorial's
    W⁽ˡ⁾, b⁽ˡ⁾ keyed by l), n_features_in_ (and feature_names_in_ for a DataFrame), run_dir_.
    """

    _task = ""
    _defaults = DEFAULTS

    def config(self, n_features: int, n_outputs: int) -> dict:
        """The nettrain config these parameters make, for n_features inputs and n_outputs outputs (data.path
        is set when fitting: the arrays are written to an .npz)."""
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if isinstance(hidden, Integral) else list(hidden)
        cfg: dict = {
            "name": type(self).__name__,
            "seed": _seed(self.random_state),
            "data": {"task": self._task, "split": {"train": 1.0, "val": 0.0, "test": 0.0}},
            "model": {"layers": [n_features, *hidden, n_outputs]},
            "log": {"checkpoint_every": 0},
        }
        epochs = self.epochs
        if self.early_stopping is not None:  # a validation split to watch, every epoch (as scikit-learn's MLP)
            f = self.validation_fraction
            cfg["data"]["split"] = {"train": 1.0 - f if isinstance(f, float) else f, "val": f, "test": 0.0}
            cfg["log"]["every"] = 1
        elif isinstance(epochs, Integral) and epochs >= 1:
            cfg["log"]["every"] = int(epochs)  # ‖∇J‖ at the first and last epochs only; J is in every row
        for name, key in config_keys().items():
            value = getattr(self, name, None)
            if value is None:
                continue
            *path, leaf = key.split(".")
            node = cfg
            for seg in path:
                node = node.setdefault(seg, {})
            node[leaf] = value
        return cfg

    def _tabular(self) -> bool:
        """Whether X is taken as raw columns (categorical or missing given), not through validate_data."""
        return self.categorical is not None or self.missing != "refuse"

    def _fit(self, X: Any, y: np.ndarray, n_outputs: int) -> "_NetEstimator":
        if self._tabular():
            table = self._raw_table(X, y)
            config = self.config(1, n_outputs)
            config["data"]["categorical"] = self._categorical or None  # the columns taken as text, by name
            config["model"]["layers"][0] = api.encoded_width(table, config)
            run = api._train(config, None, None, self.run_dir, source=type(self).__name__, table=table)
        else:
            run = api._train(self.config(X.shape[1], n_outputs), X, y, self.run_dir, source=type(self).__name__)
        self.model_ = run.model
        self.history_ = run.history
        self.loss_curve_ = run.history["cost"].tolist()
        self.cost_ = run.cost
        self.n_iter_ = run.epoch
        self.W_, self.b_ = run.model.W, run.model.b
        self.run_dir_ = run.run_dir
        return self

    def _rows(self, X: Any) -> Any:
        """X checked against what fit saw (feature count and names), as float64 rows; tabular, the rows as given
        (model_ takes their columns by name and encodes them)."""
        check_is_fitted(self)
        if self._tabular():
            return X if not isinstance(X, np.ndarray) else data_mod.frame_of(X, list(self._columns), "X")
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _raw_table(self, X: Any, y: np.ndarray) -> Any:
        """A raw table (data.table_of_frame) of rows X and targets y; sets n_features_in_, feature_names_in_."""
        import pandas as pd

        named = isinstance(X, pd.DataFrame) or isinstance(X, (dict, list))
        if not named:
            X = np.asarray(X)
            if X.ndim != 2:
                raise UsageError(f"{type(self).__name__}: X must be 2-D, one row per example (got shape {X.shape})")
        frame = data_mod.frame_of(X, list(X.columns) if isinstance(X, pd.DataFrame) else
                                  [f"x{j}" for j in range(np.shape(X)[1])] if not named else
                                  list(pd.DataFrame(X).columns), "X")
        frame.columns = [str(c) for c in frame.columns]
        self._columns = tuple(frame.columns)
        self.n_features_in_ = len(self._columns)
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(self._columns, dtype=object)
        cats = self.categorical
        if cats == "auto":  # the columns of text, categories or truth values
            cats = [c for c in frame.columns if frame[c].dtype.kind in "OSUb" or
                    isinstance(frame[c].dtype, (pd.CategoricalDtype, pd.StringDtype))]
        cats = [] if cats is None else [cats] if isinstance(cats, str) else [str(c) for c in cats]
        self._categorical = cats
        if self._task == "regression":  # a regression's targets are columns (m, k); a label column is 1-D
            y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        stem = next(t for t in ("y", "target", "_y") if not any(c.startswith(t) for c in frame.columns))
        names = [stem] if np.ndim(y) == 1 or np.shape(y)[1] == 1 else [f"{stem}{k}" for k in range(np.shape(y)[1])]
        return data_mod.table_of_frame(frame, cats, self.missing, api.IN_MEMORY, y=y, target_names=names, fitted=False)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False  # the data must be finite, as in a data file
        tags.non_deterministic = False  # random_state (the seed) fixes the initial weights; the rest is exact
        return tags


class NetClassifier(ClassifierMixin, _NetEstimator):
    """A fully-connected network classifier trained as `nettrain fit` trains (softmax and cross-entropy
    by default); see the module docstring. classes_: the labels, sorted."""

    _task = "classification"
    _defaults = {**DEFAULTS, "output_activation": "softmax", "loss": "cross_entropy"}

    def fit(self, X: Any, y: Any) -> "NetClassifier":
        """Train on rows X (m, n) and labels y (m,): numbers or strings, at least two classes."""
        if self._tabular():
            y = np.asarray(y)
        else:
            X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise TargetError(f"{type(self).__name__}: y has one class ({classes[0].tolist()!r}): a classifier needs "
                              "at least 2 classes")
        # two classes: one unit, P(classes_[1]) (a softmax needs one unit per class)
        n_outputs = 1 if len(classes) == 2 and self.output_activation != "softmax" else len(classes)
        self._fit(X, codes.astype(np.int64), n_outputs)
        self.classes_ = classes
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The label of the largest output (one unit: classes_[1] where h ≥ 0.5), per row of X."""
        X = self._rows(X)
        codes = self.model_.predict(X, self.unknown)  # labels 0 … K−1: the classes' places in classes_
        return self.classes_[codes.astype(np.intp)]

    def _has_proba(self) -> bool:
        return self.output_activation in ("softmax", "sigmoid")

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """P(class) per row of X and class of classes_ (m, K): the softmax output, or for one sigmoid
        unit h, (1 − h, h). Each row sums to 1."""
        X = self._rows(X)
        units = len(self.model_.b[max(self.model_.b)])
        if self.output_activation == "sigmoid" and units > 1:
            raise UsageError(f"predict_proba: {units} sigmoid output units are independent and do not sum "
                             "to 1: use output_activation='softmax' for probabilities over the classes")
        return self.model_.predict_proba(X, self.unknown)


class NetRegressor(RegressorMixin, _NetEstimator):
    """A fully-connected network regressor trained as `nettrain fit` trains (identity output and
    squared error by default); see the module docstring. y may have several columns."""

    _task = "regression"
    _defaults = {**DEFAULTS, "output_activation": "identity", "loss": "squared_error"}

    def fit(self, X: Any, y: Any) -> "NetRegressor":
        """Train on rows X (m, n) and targets y, (m,) or (m, k)."""
        if not self._tabular():
            X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=True)
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        return self._fit(X, y, 1 if y.ndim == 1 else y.shape[1])

    def predict(self, X: Any) -> np.ndarray:
        """h(x) per row of X: (m,) when fitted on a 1-D y, else (m, k)."""
        X = self._rows(X)
        h = self.model_.predict(X, self.unknown)
        return h[:, 0] if self._y_1d else h

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y (m, k): k output units
        return tags


_install()
optimizers.OPTIMIZERS.watch(_install)
