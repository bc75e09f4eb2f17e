"""The run folder: its files, written atomically, and what a resume continues from.

    runs/<name>/
        config.yaml               the resolved config (every default filled in)
        metrics.csv               one row per epoch e: the cost at the weights after e updates (history.py)
        last.npz                  the latest state (written at epoch 0, every checkpoint, the end;
                                  a hard link to checkpoints/epoch-<e>.npz when that is the same state)
        best.npz                  the state with the lowest validation cost seen (when a val split exists)
        checkpoints/epoch-<e>.npz every log.checkpoint_every epochs
        summary.json              written last, when the fit ends: {"epoch", "reason", "seconds", "train", "val",
                                  "test"}, seconds across --resume (as metrics.csv's), each split as `nettrain eval --json` gives it (null: an empty split)

Left out on purpose: training, and what the metrics mean.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np

from . import checkpoint as ckpt
from . import config as config_mod
from .config import Config
from .errors import CheckpointError, ConfigError, RunIOError
from .history import History
from .network import Architecture, Params

RUN_FILES = ("config.yaml", "metrics.csv", "last.npz")  # what makes a folder a run folder (claim's overwrite)
RESUMABLE_KEYS = ("train.epochs", "train.threads", "log.every", "log.checkpoint_every", "log.train_cost",
                  "cluster")  # cluster.*: any


class RunFiles:
    """Writes a run folder's files; every write is atomic, every failure a RunIOError."""

    def __init__(self, run_dir: Path, meta_base: dict) -> None:
        self.dir = run_dir
        # the same in every checkpoint of the run: encoded once
        self.meta_base = {k: ckpt.json_text(v, f"cannot save checkpoints: meta.{k}") for k, v in meta_base.items()}
        self.metrics_path = run_dir / "metrics.csv"

    def save(self, path: Path, params: Params, epoch: int, history: History, step_meta: Optional[dict] = None,
             also: Sequence[Path] = (), state: Optional[dict] = None) -> None:
        meta = dict(self.meta_base, epoch=epoch, metrics=history.record(), **(step_meta or {}))
        ckpt.save_checkpoint(path, params, meta, also, state)

    def append_rows(self, history: History, durable: bool = False) -> None:
        """Append the rows added since the last call (with the header, the first time) to metrics.csv;
        durable: fsynced too, as before a checkpoint that names them (a power cut must not keep the
        checkpoint and lose its rows)."""
        text = history.take()
        try:
            with open(self.metrics_path, "a", encoding="utf-8", newline="") as f:
                f.write(text)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as e:
            raise RunIOError(f"cannot write {self.metrics_path}: {e.strerror or e}: check free space and permissions") from None


def claim(run_dir: Path, *, overwrite: bool, api: bool) -> None:
    """Make sure a new run may write run_dir: it must not exist, be empty, or — overwrite — be a run folder, which
    is then removed (deliberately: never a folder that is not a run's). api: messages name the API's arguments."""
    if not run_dir.exists() or (run_dir.is_dir() and not any(run_dir.iterdir())):
        return
    if not overwrite:
        how = ("resume=True to continue that run, out=… for a new one, or overwrite=True to replace it" if api else
               "--resume to continue that run, --out (or --set name=…) for a new one, or --overwrite to replace it")
        raise RunIOError(f"{run_dir} already exists: add {how}")
    if not run_dir.is_dir() or not any((run_dir / name).exists() for name in RUN_FILES):
        raise RunIOError(f"{run_dir} is not a run folder (it has none of {', '.join(RUN_FILES)}): "
                         f"{'overwrite=True' if api else '--overwrite'} replaces only a run folder; choose another "
                         f"{'out' if api else '--out'}, or remove it yourself")
    try:
        shutil.rmtree(run_dir)
    except OSError as e:
        raise RunIOError(f"cannot remove {run_dir} to overwrite it: {e.strerror or e}: check permissions") from None


SUMMARY = "summary.json"


def write_summary(run_dir: Path, summary: dict) -> None:
    """summary.json, atomically: strict JSON (a non-finite number, such as the R² of a constant target, is null)."""
    ckpt.write_text(Path(run_dir) / SUMMARY, json.dumps(_finite(summary), allow_nan=False, indent=1) + "\n")


def _finite(obj: object) -> object:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.generic):
        return _finite(obj.item())
    return obj


def file_size(path: Path) -> int:
    """The file's size in bytes, or −1 when it cannot be read (then it is rewritten, or that fails clearly)."""
    try:
        return path.stat().st_size
    except OSError:
        return -1


@dataclass
class Resumed:
    """What a run folder's last.npz continues from."""

    params: Params
    history: History  # metrics.csv's first rows, checked against the checkpoint's record
    epoch: int
    best: Optional[tuple[float, int]]  # (val J_data, epoch) of best.npz
    metrics_text: bytes  # metrics.csv's text up to that epoch
    meta: dict  # the checkpoint's metadata


def resume_state(run_dir: Path, cfg_dict: dict, arch: Architecture, columns: list[str]) -> Resumed:
    """last.npz's weights, the history it names, its epoch, the best validation state so far, metrics.csv's
    text up to that epoch and the checkpoint's metadata; every mismatch one line."""
    last = run_dir / "last.npz"
    if not last.exists():
        ckpts = run_dir / "checkpoints"  # made first by fit; empty until the first save: stopped before it
        if ckpts.is_dir() and not any(ckpts.iterdir()):
            raise RunIOError(
                f"{last} does not exist: the run in {run_dir} stopped before its first checkpoint, so there is "
                f"nothing to resume; remove {run_dir} and run again without --resume"
            )
        raise RunIOError(f"{last} does not exist: nothing to resume; run without --resume to start")
    params, meta = ckpt.load_checkpoint(last, shapes=arch.shapes())
    stored = meta.get("config")
    if not isinstance(stored, dict):
        raise CheckpointError(f"{last}: the checkpoint has no config to compare with")
    changed = [k for k in config_mod.diff_configs(_as_now(stored, last), cfg_dict) if k not in RESUMABLE_KEYS
               and k.split(".")[0] != "cluster"]  # where the sums are computed: on a cluster, or here
    if changed:
        raise ConfigError(
            f"cannot resume {run_dir}: the config differs from the run's in {', '.join(changed)} "
            f"(a resume may change only {', '.join(RESUMABLE_KEYS)}); to go on from its weights with the new "
            f"settings, start a new run from them: {shlex.quote(f'--set model.init.from={last}')} --out NEW_FOLDER"
        )
    try:
        epoch = int(meta["epoch"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{last}: the checkpoint has no valid epoch") from None
    history, text = History.resumed(run_dir / "metrics.csv", meta.get("metrics"), columns, last)
    if history.n != epoch + 1:
        raise CheckpointError(f"{last}: its metrics record names {history.n} rows for epoch {epoch}")
    dtype = np.dtype(cfg_dict["train"]["dtype"]).type
    params = Params({l: w.astype(dtype, copy=False) for l, w in params.W.items()},
                    {l: v.astype(dtype, copy=False) for l, v in params.b.items()})
    best = meta.get("best")
    return Resumed(params, history, epoch, tuple(best) if best else None, text, meta)


def _as_now(stored: dict, last: Path) -> dict:
    """A checkpoint's config as this nettrain resolves it: a key added since it was saved (a new optimizer's,
    say) takes its default, so that it is no difference; as stored when it no longer validates (then the
    comparison names what differs)."""
    try:
        return config_mod.config_to_dict(config_mod.config_from_dict(stored, source=str(last)))
    except ConfigError:
        return stored


def resume_command(cfg: Config, out: Optional[Path], *, api: bool = False) -> str:
    """The command that continues this run: the same config file and --set overrides (without them the
    resumed run would have another config, and be refused), and --out when it was given. api: the Python
    call that does it (the API's arguments, not the command line's flags)."""
    if api or cfg.source_path is None:
        config = "config" if cfg.source_path is None else repr(str(cfg.source_path))
        given = cfg.given_overrides
        overrides = f", {dict(given)!r}" if isinstance(given, Mapping) and given else (
            f", {list(given)!r}" if given and not isinstance(given, Mapping) else "")
        return f"nettrain.fit({config}{overrides}, out={str(out or Path('runs') / cfg.name)!r}, resume=True)"
    config, overrides = cfg.source_path, cfg.given_overrides
    if isinstance(overrides, Mapping):  # the API's {dotted key: value}
        overrides = [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
    again = ["nettrain", "fit", str(config), *(a for o in overrides for a in ("--set", o)), "--resume"]
    return shlex.join(again + (["--out", str(out)] if out is not None else []))


def checkpoint_of(target: Path) -> Path:
    """A checkpoint file as given, or a run folder's: best.npz for a run trained with train.early_stopping
    (the state it stopped for), else last.npz."""
    target = Path(target)
    if target.is_dir():
        best = target / "best.npz"
        if best.exists() and (target / "last.npz").exists():
            stored = ckpt.read_meta(target / "last.npz").get("config") or {}
            if ((stored.get("train") or {}).get("early_stopping")) is not None:
                return best
        target = target / "last.npz"
    if not target.exists():
        raise CheckpointError(f"{target} does not exist: give a run folder (with last.npz) or a .npz checkpoint")
    return target
