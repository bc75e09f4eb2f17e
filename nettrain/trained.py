"""A trained network as a checkpoint holds it: the weights, the config and the preprocessing, rebuilt.

    load_trained(target)         a run folder (its last.npz, or best.npz after early stopping) or a checkpoint
    Trained.transform_x(X)       rows as the data file holds them, treated as the run's training rows were: the
                                 features of data.transform (when it has one), standardised, then whitened
    Trained.prepare_x(X)         the same for rows already in the network's input space (after data.transform)
    features_of(cfg)             data.transform of a config: its run loaded, checked and fingerprinted
    network_outputs(trained, X)  h(x) for rows as the data file holds them
    read_like_training(cfg, p)   a file to evaluate or predict on, read as the run's training file was

Left out on purpose: metrics (evaluation.py), the prediction file (prediction.py), printing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import checkpoint as ckpt
from . import config as config_mod
from . import data as data_mod
from . import features as features_mod
from . import network
from . import whiten as whiten_mod
from .config import Config
from .errors import CheckpointError, ConfigError, DataError
from .network import Architecture, Params
from .runfolder import checkpoint_of

MAX_CHAIN = 16  # runs of data.transform on data.transform … a model may stand on


@dataclass
class Trained:
    path: Path
    cfg: Config
    arch: Architecture
    params: Params
    prep: data_mod.Preprocessing
    meta: dict
    zca: Optional[whiten_mod.Whitening] = None  # data.whiten's fitted ZCA or PCA, applied after the standardisation
    transform: Optional[features_mod.Features] = None  # data.transform: the run whose features the inputs are

    def prepare_x(self, X: np.ndarray, path: Optional[Path] = None) -> np.ndarray:
        """Rows X in the network's input space (after data.transform) as the run's training rows were treated:
        standardised (or scaled), then whitened (when it was)."""
        X = self.prep.transform_x(X, self.params.W[1].dtype, path)
        return X if self.zca is None else self.zca.apply(X, X.dtype)

    def transform_x(self, X: np.ndarray, path: Optional[Path] = None) -> np.ndarray:
        """Rows X as the data file holds them, treated as the run's training rows were: data.transform's features
        (when it has one: that run's own chain first), standardised, then whitened (when it was)."""
        return self.prepare_x(X if self.transform is None else self.transform.apply(X, path), path)

    # Pickled as data: the Architecture holds the registries' functions (some are lambdas), so it is rebuilt
    # from the config, as load_trained builds it.
    def __getstate__(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "arch"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, arch=state["cfg"].architecture())


def load_trained(target: Path, _chain: tuple = ()) -> Trained:
    """A checkpoint (or a run folder's last.npz) with its config and preprocessing rebuilt, and the run of its
    data.transform loaded and checked (_chain: the checkpoints whose transforms led here)."""
    path = checkpoint_of(target)
    meta = ckpt.read_meta(path)
    try:
        cfg = config_mod.config_from_dict(meta["config"], source=str(path))
        prep = data_mod.Preprocessing.from_meta(meta["preprocessing"])
        zca = whiten_mod.from_meta(meta.get("whitening"), len(prep.feature_names))
    except KeyError as e:
        raise CheckpointError(f"{path}: the checkpoint's metadata has no {e.args[0]!r}: it was not written by nettrain fit") from None
    except (ConfigError, DataError) as e:
        raise CheckpointError(f"{path}: the checkpoint's metadata is not valid: {e}") from None
    arch = cfg.architecture()
    params, _ = ckpt.load_checkpoint(path, shapes=arch.shapes())
    transform = None
    if meta.get(features_mod.META_KEY) is not None:
        transform = load_features(meta[features_mod.META_KEY], path, _chain + (Path(path).resolve(),))
        if transform.width != len(prep.feature_names):
            raise CheckpointError(f"{path}: its preprocessing takes {len(prep.feature_names)} features but its "
                                  f"transform makes {transform.width}: the metadata is damaged")
    return Trained(path, cfg, arch, params, prep, meta, zca, transform)


def load_features(d: Any, path: Path, chain: tuple) -> features_mod.Features:
    """The Features a checkpoint's "transform" metadata names, once its run is found unchanged (SHA-256)."""
    src, k, sha = features_mod.stored(d, str(path))
    if len(chain) > MAX_CHAIN or src.resolve() in chain:
        raise CheckpointError(f"{path}: its data.transform leads back to itself or through more than {MAX_CHAIN} "
                              "runs: the metadata is damaged")
    trained_on = f"{path} was trained on the features of {src}"
    if not src.is_file():
        raise CheckpointError(f"{trained_on}, which is missing: restore that run's checkpoint, or train this run again")
    if features_mod.file_sha256(src) != sha:
        raise CheckpointError(f"{trained_on}, which has changed since (its SHA-256 differs): restore that checkpoint, "
                              "or train this run again on the run as it is now")
    source = load_trained(src, chain)
    features_mod.check_layers(source.arch.layers, k, f"{path}: its data.transform")
    return features_mod.Features(source, k, src, sha)


def features_of(cfg: Config) -> Optional[features_mod.Features]:
    """data.transform of a config: its run's checkpoint loaded (and that run's own transform checked), K checked
    against its hidden layers, the checkpoint's SHA-256 taken (what a model trained on the features stores)."""
    t = cfg.data.transform
    if t is None:
        return None
    where = f"{cfg.where('data.transform.from')}: data.transform.from"
    try:
        src = checkpoint_of(t.from_)
        sha = features_mod.file_sha256(src)
    except (CheckpointError, OSError) as e:
        missing = getattr(e, "strerror", None) or e
        raise ConfigError(f"{where}: {missing}: train that run first (nettrain fit), or name the run folder it was "
                          "written to") from None
    source = load_trained(src)
    features_mod.check_layers(source.arch.layers, t.layers, f"{where}: {t.from_}")
    return features_mod.Features(source, t.layers, src.resolve(), sha)


def network_outputs(trained: Trained, X: np.ndarray, path: Optional[Path] = None) -> np.ndarray:
    """h(x) of the trained network for rows X (m, n) as the data file holds them (standardised here with
    the run's statistics): (m, s_nl), float64. path: the file X was read from, for error messages."""
    X = trained.transform_x(X, path)
    return network.predict(trained.arch, trained.params, np.ascontiguousarray(X.T)).T.astype(np.float64)


def class_probabilities(outputs: np.ndarray) -> np.ndarray:
    """One column per label: a softmax output as it is; one sigmoid unit h as P(labels[0]) = 1 − h,
    P(labels[1]) = h."""
    return np.hstack([1.0 - outputs, outputs]) if outputs.shape[1] == 1 else outputs


def read_like_training(cfg: Config, path: Path, *, encoding: Optional[data_mod.Encoding] = None,
                       unknown: str = "error", drop: bool = True, **kwargs: Any) -> data_mod.Table:
    """A file to evaluate or predict on, read with the run's data.target and data.delimiter where they
    apply: they name columns of the training file's kind (a csv's header, a .npy's column numbers),
    so a file of another kind — an .npz export of a csv, say — is read with its own kind's default
    target (.npz: the array 'y'; csv and .npy: the last column).

    encoding (the model's, Preprocessing.encoding): its raw columns are taken by name, its categorical ones as
    text, and made numbers as in training; unknown: "error" or "ignore" for a category the model lacks. drop
    False (predicting): with data.missing: drop an empty cell is refused, as no row may be left out."""
    same = data_mod.file_kind(path) == data_mod.file_kind(cfg.data.path)
    if cfg.data.task == "autoencode":
        return data_mod.read_inputs(path, cfg.data.target if same else None, cfg.data.delimiter if same else None,
                                    cfg.data.features if same else None)
    missing = "refuse" if cfg.data.missing == "drop" and not drop else cfg.data.missing
    features = cfg.data.features if same else None
    if encoding is not None:  # every raw column by its name; a .npz or .npy file has none to take text from
        features = encoding.raw_names
    rules = data_mod.ColumnRules.of(None if encoding is None else encoding.categorical or None, missing, fitted=True)
    table = data_mod.read_table(path, cfg.data.target if same else None, cfg.data.delimiter if same else None,
                                cfg.data.task, features=features, rules=rules, **kwargs)
    return table if encoding is None else encoding.apply(table, unknown)

