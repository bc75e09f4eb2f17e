"""The Python API: nettrain.fit, load, gradcheck and explain, for notebooks and scripts.

    run = nettrain.fit("configs/digits.yaml", {"train.epochs": 300})
    run.history["data_cost"], run.cost["reg_cost"], run.test["accuracy"]
    model = nettrain.load("runs/digits")     # or run.model
    model.predict(X), model.predict_proba(X), model.cost(X, y), model.evaluate(X, y), model.W[1]
    model.predict(frame), model.predict([{"island": "Dream", "bill_length_mm": 41.2, …}])   # raw rows by name
    model.save("penguins.npz"), model.export_onnx("penguins.onnx")
    nettrain.gradcheck("configs/xor.yaml"), nettrain.explain("configs/xor.yaml", example=0)

Each function is the command of the same name without the terminal: it calls the plain function
the CLI calls (trainer.py, checks.py, walkthrough.py) and returns a Run, a Model, or the dict `--json` prints
(a non-finite number stays a float here, where the JSON has null). A config is a path or a plain
dict of the same schema; `overrides` are dotted keys applied as `--set` applies them, given as a
mapping {"train.epochs": 300} or as --set texts ["train.epochs=300"]. Nothing prints unless
fit(progress=True), which renders the CLI's live output. Errors are nettrain's own
(NettrainError subclasses) with the messages the CLI prints.

Arrays given to a Model hold one ROW per example, as a user holds them: the model applies the
run's standardisation and transposes to the tutorial's one-column-per-example layout itself. Rows are raw,
as the data file held them: a pandas DataFrame, a list of dicts or a dict of columns (columns by name), or a
2-D array (the raw feature columns in order); the run's data.categorical columns as text and its
data.missing: mean fills (None, NaN or "" is an empty cell) are applied by the model, as predict does.

Left out on purpose: the math (network.py), the run folder's format (runfolder.py), terminal rendering
(render/, imported only for progress=True) and scikit-learn (sklearn.py builds on _train here).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np

from . import config as config_mod
from . import data as data_mod
from . import plot, trainer, walkthrough
from .checks import gradcheck_run
from .config import Config
from .errors import ConfigError, DataError, RunIOError, UsageError
from .evaluation import evaluate_rows
from .trained import Trained, class_probabilities, load_trained, network_outputs

ConfigLike = Union[str, os.PathLike, Mapping[str, Any], Config]
DICT_SOURCE = "config dict"  # how errors name a config given as a dict: "config dict: train.epochs: …"
ENTRIES = 2000  # gradcheck, explain: entries differentiated per block, as the CLI's --entries default
COST_PARTS = ("cost", "data_cost", "reg_cost")
IN_MEMORY = "arrays given to fit"  # data.path of a run trained on arrays held in memory (errors name it)


def _config(config: ConfigLike, overrides: Optional[config_mod.Overrides]) -> Config:
    """A validated Config from a path, a dict or a Config, with overrides applied (a Config takes none)."""
    overrides = () if overrides is None else overrides
    if isinstance(config, Config):
        if overrides:
            raise UsageError("overrides apply to a config file or dict, not to a validated Config: "
                             "pass the file or the dict instead")
        return config
    if isinstance(config, Mapping):
        return config_mod.config_from_dict(config, DICT_SOURCE, overrides)
    if isinstance(config, (str, os.PathLike)):
        return config_mod.load_config(config, overrides)
    raise ConfigError(f"config must be a path to a YAML file or a dict of its keys (got {type(config).__name__})")


def _cost_parts(cost: Any) -> dict:
    """The cost parts by name, {"cost", "data_cost", "reg_cost"[, "sparse_cost"]}, from a mapping of them or
    from network.Cost."""
    if isinstance(cost, Mapping):
        return {k: float(v) for k, v in cost.items()}
    return {k: float(v) for k, v in cost.as_dict().items()}


def _history(run_dir: Path) -> dict[str, np.ndarray]:
    """metrics.csv by column name: epoch, cost, data_cost, reg_cost, grad_norm, … (NaN where a row left
    a cell empty). The file is the history's one record; it is read back, never kept in parallel."""
    return dict(plot.read_metrics(run_dir).values)


# ----------------------------------------------------------------------------- the model


class Model:
    """A trained network, as a checkpoint holds it: the weights, the config and the preprocessing.

    W[l], b[l] (l = 1 … nl−1): the tutorial's W⁽ˡ⁾ (s_{l+1}, s_l) and b⁽ˡ⁾ (s_{l+1},). X is rows of
    examples (m, n) as the data file holds them; y the labels (classification) or targets (m, k).
    """

    def __init__(self, trained: Trained) -> None:
        self._loaded = trained

    # Pickled as data: the Architecture holds the registries' functions (some are lambdas), so it is
    # rebuilt from the config, as load_trained builds it.
    def __getstate__(self) -> dict:
        ld = self._loaded
        return {"path": ld.path, "cfg": ld.cfg, "params": ld.params, "prep": ld.prep, "meta": ld.meta, "zca": ld.zca,
                "transform": ld.transform}

    def __setstate__(self, state: dict) -> None:
        self._loaded = Trained(state["path"], state["cfg"], state["cfg"].architecture(), state["params"],
                                   state["prep"], state["meta"], state.get("zca"), state.get("transform"))

    def __repr__(self) -> str:
        arch = self._loaded.arch
        return (f"Model({'-'.join(map(str, arch.layers))} {arch.activation}→{arch.output_activation}, "
                f"{arch.loss}, epoch {self.epoch}, from {self.path})")

    @property
    def path(self) -> Path:
        """The checkpoint the model was loaded from."""
        return self._loaded.path

    @property
    def epoch(self) -> Optional[int]:
        return self._loaded.meta.get("epoch")

    @property
    def task(self) -> str:
        """classification, regression or autoencode."""
        return self._loaded.cfg.data.task

    @property
    def labels(self) -> Optional[list]:
        """The class labels, in the order of predict_proba's columns (None for a regression)."""
        return self._loaded.prep.labels

    @property
    def config(self) -> dict:
        """The run's resolved config, every default filled in."""
        return config_mod.config_to_dict(self._loaded.cfg)

    @property
    def W(self) -> dict[int, np.ndarray]:
        return self._loaded.params.W

    @property
    def b(self) -> dict[int, np.ndarray]:
        return self._loaded.params.b

    @property
    def feature_names(self) -> list[str]:
        """The raw input columns, in order (a categorical column once: its text)."""
        prep = self._loaded.prep
        return list(prep.feature_names) if prep.encoding is None else prep.encoding.raw_names

    @property
    def encoded_names(self) -> list[str]:
        """The network's inputs s_1: the raw columns with each categorical one as "column=category" columns."""
        return list(self._loaded.prep.feature_names)

    def encode(self, X: Any, unknown: str = "error") -> np.ndarray:
        """Raw rows as the network's input columns before the standardisation (m, s_1): data.categorical's
        one-hot columns (a category the model lacks: a DataError, or with unknown="ignore" all zeros) and data.missing:
        mean's fills. A DataFrame, a list of dicts or a dict of columns is taken by column name; an array by
        position."""
        prep, cfg = self._loaded.prep, self._loaded.cfg
        named = not isinstance(X, np.ndarray) and (isinstance(X, dict) or hasattr(X, "columns") or (
            isinstance(X, (list, tuple)) and len(X) > 0 and all(isinstance(r, dict) for r in X)))
        if prep.encoding is None:  # numbers: a DataFrame without the columns' names is taken by position, as before
            by_name = named and (not hasattr(X, "columns") or set(self.feature_names) <= set(map(str, X.columns)))
            return data_mod.as_rows(data_mod.frame_of(X, self.feature_names, "X") if by_name else X)
        missing = "refuse" if cfg.data.missing == "drop" else cfg.data.missing  # no row may be left out
        table = data_mod.table_of_frame(data_mod.frame_of(X, self.feature_names, "X"), prep.encoding.categorical,
                                        missing, "X")
        return prep.encoding.apply(table, unknown).X

    def outputs(self, X: Any, unknown: str = "error") -> np.ndarray:
        """h(x), the output layer's activations a⁽ⁿˡ⁾, one row per example: (m, s_nl)."""
        return network_outputs(self._loaded, self.encode(X, unknown))

    def predict(self, X: Any, unknown: str = "error") -> np.ndarray:
        """Labels (m,) for a classification, as the training file wrote them; outputs (m, k) for a regression."""
        h = self.outputs(X, unknown)
        return self._loaded.prep.decode(h) if self.task == "classification" else h

    def predict_proba(self, X: Any, unknown: str = "error") -> np.ndarray:
        """P(label) per example and label (m, K), columns in the order of `labels`; each row sums to 1."""
        if self.task != "classification":
            raise UsageError("predict_proba is for a classification; this network is a regression: use predict")
        return class_probabilities(self.outputs(X, unknown))

    def save(self, path: Union[str, os.PathLike]) -> Path:
        """Write the model as a checkpoint .npz (weights, config, preprocessing, whitening), atomically, that
        nettrain.load, `nettrain eval`, `predict` and `export` read; its path."""
        from . import checkpoint as ckpt

        ld, path = self._loaded, Path(path)
        if path.suffix.lower() != ".npz":
            raise UsageError(f"save: {path}: a checkpoint is a .npz file")
        meta = {**ld.meta, "config": config_mod.config_to_dict(ld.cfg), "preprocessing": ld.prep.to_meta()}
        meta.pop("whitening", None)
        if ld.zca is not None:
            meta["whitening"] = ld.zca.to_meta()
        ckpt.save_checkpoint(path, ld.params, meta)
        return path

    def export_onnx(self, path: Union[str, os.PathLike], dtype: Optional[str] = None, unknown: str = "error") -> Path:
        """Write the whole prediction path from raw rows as an ONNX model, as `nettrain export` does (dtype: the
        network's, default the run's; unknown: a category the model lacks is an error or all zeros); its path.
        Needs the onnx extra."""
        from .export import onnx_model, write_model

        write_model(onnx_model(self._loaded, dtype=dtype, unknown=unknown), Path(path))
        return Path(path)

    def evaluate(self, X: Any, y: Any = None, unknown: str = "error") -> dict:
        """What `nettrain eval --json` prints, on these examples: cost, data_cost, reg_cost, and accuracy,
        labels and confusion, or mse, rmse and r2. An autoencoder's target is X itself: y is not used."""
        rows = self.encode(X, unknown)
        prep, dtype = self._loaded.prep, self._loaded.params.W[1].dtype
        x = self._loaded.transform_x(rows)
        if self.task != "autoencode" and y is None:
            raise UsageError("evaluate needs the targets y, one per row of X")
        Y = x if self.task == "autoencode" else prep.encode_y(np.asarray(y), None, dtype)
        if len(Y) != len(x):
            raise DataError(f"X has {len(x)} rows but y has {len(Y)} targets: give one target per row")
        return evaluate_rows(self._loaded, x, Y, f"arrays ({len(x)} examples)")

    def cost(self, X: Any, y: Any = None, unknown: str = "error") -> dict:
        """J and its parts on these examples: {"cost": J, "data_cost": J_data, "reg_cost": J_reg} (and
        "sparse_cost" with a sparsity penalty)."""
        res = self.evaluate(X, y, unknown)
        return {k: res[k] for k in COST_PARTS + ("sparse_cost",) if k in res}


def load(path: Union[str, os.PathLike]) -> Model:
    """A run folder (its last.npz) or a checkpoint .npz → Model."""
    return Model(load_trained(Path(path)))


# ----------------------------------------------------------------------------- fit


class Run:
    """A finished fit: where it is, its history and last cost, the metrics of each split, the model.

    history: metrics.csv by column name (numpy arrays, one value per epoch, NaN where a row left a
    cell empty): epoch, cost, data_cost, reg_cost, grad_norm[, val_data_cost, val_accuracy | val_r2], seconds
    (the wall time of the training at each logged row: not a metric of the model); read from the run folder
    when first asked for. cost: the parts at the last epoch, {"cost", "data_cost",
    "reg_cost"}. train, val, test: what `nettrain eval --json` gives for each split (None for an empty
    split). run_dir: None for a run that wrote no folder (the estimators of nettrain.sklearn).
    model: the trained network (the best state after early stopping, as eval and predict take it).
    """

    def __init__(self, res: trainer.FitResult) -> None:
        self.run_dir, self.epoch, self.reason = res.run_dir, res.epoch, res.reason
        self.cost = _cost_parts(res.cost)
        self.train, self.val, self.test = res.train, res.val, res.test
        self._history = None if res.run_dir is not None else _rows_by_column(res.history)
        trained = res.trained
        if res.reason == "early stopped":  # the best state, as eval and predict take best.npz
            if res.run_dir is not None:
                trained = load_trained(res.run_dir)
            elif res.best_params is not None:
                trained = Trained(None, trained.cfg, trained.arch, res.best_params, trained.prep,
                                  {**trained.meta, "epoch": res.best[1]}, trained.zca, trained.transform)
        self.model = Model(trained)

    @property
    def history(self) -> dict[str, np.ndarray]:
        if self._history is None:
            self._history = _history(self.run_dir)
        return self._history

    def __repr__(self) -> str:
        return f"Run({self.run_dir}, epoch {self.epoch}, {self.reason}, cost {self.cost['cost']:.6g})"


def _rows_by_column(history: Any) -> dict[str, np.ndarray]:
    """A run that wrote no folder: its rows, kept in memory, by column (NaN where a row left a cell empty)."""
    rows = history.rows()
    return {name: np.array([np.nan if r[j] is None else r[j] for r in rows], dtype=np.float64)
            for j, name in enumerate(history.columns)}


def fit(config: ConfigLike, overrides: Optional[config_mod.Overrides] = None, out: Union[str, os.PathLike, None] = None,
        resume: bool = False, progress: bool = False, overwrite: bool = False) -> Run:
    """Train the config's network as `nettrain fit` does, leaving the same run folder (out, default
    runs/<name>). config: a YAML file, or a dict of the same keys (relative paths read from the current
    folder). progress: render the CLI's live output (progress bar, cost rows, summary). resume: continue
    the run in `out`; overwrite: replace it with a new run (a run folder only, never silently)."""
    cfg = _config(config, overrides)
    out = None if out is None else Path(out)
    if not progress:
        return Run(trainer.fit(cfg, out=out, resume=resume, overwrite=overwrite, api=True))
    from .render.console import out as console
    from .render.fit import run_fit

    return Run(run_fit(console, cfg, out_dir=out, resume=resume, overwrite=overwrite, api=True))


def encoded_width(table: data_mod.Table, config: dict) -> int:
    """s_1 for a raw table (data.table_of_frame) trained with config: its numeric columns and the categories of
    its categorical ones in the config's train split, as the fit's encoding will find them."""
    if table.levels is None:
        return int(table.X.shape[1])
    cfg = config_mod.config_from_dict({**config, "data": {**config.get("data", {}), "path": IN_MEMORY}}, DICT_SOURCE)
    d = cfg.data
    train = data_mod.SplitSpec(len(table.X), d.split.train, d.split.val, d.split.test, cfg.seed).rows("train")
    return len(data_mod.fit_encoding(table, train.indices(), d.missing).names)


def _table_csv(table: data_mod.Table) -> str:
    """A raw table as the csv it stands for: categories as their text, numbers as repr (read back exactly), an
    empty cell empty, the target last."""
    import csv
    import io

    levels, buf = table.levels or {}, io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(table.feature_names) + list(table.target_names))
    texts = [levels.get(name) for name in table.feature_names]
    for x, y in zip(table.X.tolist(), table.y.tolist()):
        cells = ["" if v != v else repr(v) if t is None else t[int(v)] for v, t in zip(x, texts)]
        w.writerow(cells + (y if isinstance(y, list) else [y]))
    return buf.getvalue()


def _train(config: dict, X: Optional[np.ndarray], y: Optional[np.ndarray], out: Union[str, os.PathLike, None] = None,
           source: str = DICT_SOURCE, table: Optional[data_mod.Table] = None) -> Run:
    """Train a config dict on rows X (m, n) and targets y, through trainer.fit: the one place the estimators
    of nettrain.sklearn train.

    Without `out`, nothing is written: the arrays are checked as an .npz file's would be
    (data.table_of_arrays) and the run keeps its history and model in memory (run_dir None) — the
    same training, the same bits, as `nettrain fit` on an .npz of them. With `out`, the run folder is
    `out` and the data is kept beside it as <out>.npz, so that eval, explain and plot work on it as
    on any run.

    table: a raw table (data.table_of_frame: categorical columns, empty cells) instead of X and y; with `out`
    it is kept as <out>.csv."""
    if out is None:  # nothing written: the arrays are the data, the run lives in memory
        cfg = config_mod.config_from_dict({**config, "data": {**config.get("data", {}), "path": IN_MEMORY}}, source)
        task = cfg.data.task
        if table is None:
            table = data_mod.table_of_arrays(Path(IN_MEMORY), {"X": X, "y": y}, None, None, task, True, True)
        return Run(trainer.fit(cfg, table=table, write=False, api=True))
    run_dir = Path(out)
    data_path = run_dir.parent / f"{run_dir.name}.{'npz' if table is None else 'csv'}"
    if data_path.exists():
        raise RunIOError(f"{data_path} already exists: it would hold the training arrays of the run folder "
                         f"{run_dir}; choose another run folder")
    data = {**config.get("data", {}), "path": str(data_path)}
    if table is not None:
        data["target"] = list(table.target_names)
    cfg = config_mod.config_from_dict({**config, "data": data}, source)
    try:
        data_path.parent.mkdir(parents=True, exist_ok=True)
        if table is None:
            np.savez(data_path, X=X, y=y)
        else:
            data_path.write_text(_table_csv(table), encoding="utf-8")
    except OSError as e:
        raise RunIOError(f"cannot write {data_path}: {e.strerror or e}: check the path and permissions") from None
    try:
        res = trainer.fit(cfg, out=run_dir, api=True)
    except BaseException:
        data_path.unlink(missing_ok=True)  # no run folder names it
        raise
    return Run(res)


# ----------------------------------------------------------------------------- gradcheck, explain


def gradcheck(config: Optional[ConfigLike] = None, overrides: Optional[config_mod.Overrides] = None,
              sample: int = 20, entries: int = ENTRIES, richardson: bool = True) -> dict:
    """What `nettrain gradcheck [CONFIG] --json` prints: the built-in suite (config None), or the config's
    network at its initial weights on its first `sample` training examples, at most `entries` entries of
    a block (0: all). "passed" says whether every block agrees."""
    if sample < 1:
        raise UsageError(f"sample must be at least 1 (got {sample})")
    if entries < 0:
        raise UsageError(f"entries must be 0 (every entry) or more (got {entries})")
    cfg = None if config is None else _config(config, overrides)
    return gradcheck_run(cfg, sample=sample, richardson=richardson, max_entries=entries or None).to_dict()


def explain(target: ConfigLike, example: int = 0, layer: Optional[int] = None,
            overrides: Optional[config_mod.Overrides] = None, entries: int = ENTRIES) -> dict:
    """What `nettrain explain TARGET --json` prints: one training example through backpropagation. target: a
    config (file or dict; its initial weights) or a run folder / checkpoint (its trained weights)."""
    if entries < 0:
        raise UsageError(f"entries must be 0 (every entry) or more (got {entries})")
    if isinstance(target, (Mapping, Config)):
        target, overrides = _config(target, overrides), None
    _, res = walkthrough.report(target, example, layer, () if overrides is None else overrides,
                                max_entries=entries or None)
    return walkthrough.for_json(res, layer)
