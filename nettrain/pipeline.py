"""Several configs fitted in order as one command, `nettrain fit A.yaml B.yaml …`: a pipeline, such as the
stacked autoencoder's four trainings (an autoencoder, a second one on its features, a softmax on those, the
fine-tuning of the stack), each stage an ordinary run folder, runs/<name>, that the next stages name.

    load_stages(paths, overrides)       every config read and checked (the same --set texts applied to each)
                                        before any stage trains; two stages may not share a run folder
    stage_action(stage, resume=…)       what the command does with a stage's folder: new | skip | resume | restart
    run_pipeline(stages, fit, …)        the stages in order, each through fit(stage, action); the first failure
                                        stops the pipeline, its message naming the stage

With --resume, each stage from what its folder holds:

    no folder                           new: trained from the start
    summary.json (a finished fit)       skip, once its config is found to be this stage's (else refused, named)
    last.npz of a first-order run       resume: continued from it, equal bit for bit to an uninterrupted run
    last.npz of an L-BFGS run           restart: trained again from the start, unless it is already at
                                        train.epochs (then resumed: summary.json written). scipy cannot restore
                                        L-BFGS's curvature memory, so a resumed run would take another path;
                                        started over it takes the same one
    no last.npz yet                     restart

So a kill -9 at any moment of any stage, then the same command with --resume, ends with the files of an
uninterrupted pipeline (but summary.json's seconds). Without --resume an existing folder is refused as a single fit
refuses it; --overwrite trains every stage anew.

Left out on purpose: training (trainer.fit), printing (render/pipeline.py).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from . import checkpoint as ckpt
from . import config as config_mod
from .config import Config
from .errors import CheckpointError, ConfigError, Interrupted, NettrainError, RunIOError, UsageError
from .runfolder import RUN_FILES, SUMMARY

KEYS_THAT_KEEP_THE_BITS = ("train.threads",)  # a finished stage trained with another of these is still this stage
ACTIONS = ("new", "skip", "resume", "restart")


@dataclass(frozen=True)
class Stage:
    """Stage `index` (1-based) of `count`: its config file as given, the config, its run folder."""

    index: int
    count: int
    path: Path
    cfg: Config

    @property
    def run_dir(self) -> Path:
        return Path("runs") / self.cfg.name

    @property
    def label(self) -> str:
        return f"stage {self.index} of {self.count} ({self.path})"


def load_stages(paths: Sequence[Any], overrides: config_mod.Overrides = ()) -> list[Stage]:
    """Every config loaded with the same overrides; ConfigError for a config that is not valid (naming its file)
    or for two stages writing the same run folder."""
    if not paths:
        raise UsageError("a pipeline needs at least one config")
    stages = [Stage(i, len(paths), Path(p), config_mod.load_config(p, overrides)) for i, p in enumerate(paths, 1)]
    seen: dict[Path, Stage] = {}
    for s in stages:
        if s.run_dir in seen:
            raise ConfigError(f"{s.cfg.where('name')}: name: {s.cfg.name!r} is also the name of {seen[s.run_dir].label}: both would "
                              f"write {s.run_dir}; give each stage its own name")
        seen[s.run_dir] = s
    return stages


def stage_action(stage: Stage, *, resume: bool, overwrite: bool = False) -> str:
    """new, skip, resume or restart: see the module's table."""
    d = stage.run_dir
    if overwrite or not d.exists() or (d.is_dir() and not any(d.iterdir())):
        return "new"
    if not resume:
        raise RunIOError(f"{d} already exists: add --resume to continue the pipeline (its finished stages are "
                         "skipped), or --overwrite to train every stage again")
    last = d / "last.npz"
    if (d / SUMMARY).exists() and last.exists():
        _check_finished(stage, last)
        return "skip"
    if not last.exists():
        return "restart"
    if stage.cfg.train.optimizer == "lbfgs" and _epoch(last) < stage.cfg.train.epochs:
        return "restart"
    return "resume"


def _epoch(last: Path) -> int:
    epoch = ckpt.read_meta(last).get("epoch")
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else -1


def _check_finished(stage: Stage, last: Path) -> None:
    """A finished run folder is this stage's only when it was trained with this config."""
    stored = ckpt.read_meta(last).get("config")
    if not isinstance(stored, dict):
        raise CheckpointError(f"{last}: the checkpoint has no config to compare with")
    try:  # as this nettrain resolves it: a key added since it was saved takes its default
        stored = config_mod.config_to_dict(config_mod.config_from_dict(stored, source=str(last)))
    except ConfigError:
        pass
    changed = [k for k in config_mod.diff_configs(stored, config_mod.config_to_dict(stage.cfg))
               if k not in KEYS_THAT_KEEP_THE_BITS and k.split(".")[0] != "cluster"]
    if changed:
        raise ConfigError(f"{stage.run_dir} holds a finished run of another config ({', '.join(changed)} differ): "
                          f"remove {stage.run_dir} to train this stage again, or give the config another name")


def clear_unstarted(run_dir: Path) -> None:
    """A folder a killed fit left before its first file (an empty checkpoints/, temp files): emptied, so that the
    stage can start there. A folder with anything else is left alone (the fit then refuses it, naming it)."""
    if not run_dir.is_dir() or any((run_dir / name).exists() for name in RUN_FILES):
        return
    ckpt.sweep_temp_files(run_dir)
    inner = run_dir / "checkpoints"
    if inner.is_dir() and not any(inner.iterdir()):
        inner.rmdir()


def run_pipeline(stages: Sequence[Stage], fit: Callable[[Stage, str], Any], *, resume: bool, overwrite: bool = False,
                 command: Optional[str] = None, announce: Optional[Callable[[Stage, str], None]] = None) -> list:
    """Every stage in order: announce(stage, action), then fit(stage, action) unless skipped (its result, or None).
    A NettrainError stops the pipeline, its message naming the stage; command: what continues the pipeline
    (the Ctrl-C message says it)."""
    results: list = []
    for stage in stages:
        try:
            action = stage_action(stage, resume=resume, overwrite=overwrite)
            if action == "restart":
                clear_unstarted(stage.run_dir)
            if announce is not None:
                announce(stage, action)
            results.append(None if action == "skip" else fit(stage, action))
        except Interrupted as e:
            more = f"; continue the pipeline with {command}" if command else ""
            raise Interrupted(f"{stage.label}: {str(e).split(': continue with')[0]}{more}") from None
        except NettrainError as e:
            e.args = (f"{stage.label}: {e}", *e.args[1:])  # the same error (its kind, its exit code), named
            raise
    return results


def fit_options(action: str, overwrite: bool) -> dict:
    """trainer.fit's resume and overwrite for a stage's action."""
    return {"resume": action == "resume", "overwrite": overwrite or action == "restart"}


def pipeline_command(paths: Sequence[Any], overrides: Sequence[str]) -> str:
    """`nettrain fit A B … --set … --resume`: the command that continues a pipeline."""
    sets = [a for o in overrides for a in ("--set", o)]
    return shlex.join(["nettrain", "fit", *map(os.fspath, paths), *sets, "--resume"])


def fit_all(paths: Sequence[Any], overrides: config_mod.Overrides = (), *, resume: bool = False,
            overwrite: bool = False) -> list:
    """The pipeline without a terminal: trainer.fit of every stage in order (FitResult, or None for a stage
    skipped), as `nettrain fit A B …` runs it."""
    from .trainer import fit

    stages = load_stages(paths, overrides)
    return run_pipeline(stages, lambda s, action: fit(s.cfg, out=s.run_dir, **fit_options(action, overwrite)),
                        resume=resume, overwrite=overwrite)
