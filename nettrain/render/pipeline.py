"""What `nettrain fit A.yaml B.yaml …` shows: a line per stage (what is done with its folder), each stage's fit as
`nettrain fit` shows it, and a last line with every stage's run folder and time.

Left out on purpose: which stage does what (pipeline.py), training (trainer.fit).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from rich.console import Console

from .. import config as config_mod
from .. import pipeline
from .console import stdout

WHAT = {"new": "training", "skip": "finished (summary.json): skipped", "resume": "cut short: resuming from last.npz",
        "restart": "cut short (L-BFGS, or before its first checkpoint): training again from the start"}


def run_pipeline_shown(out: Console, paths: Sequence[Path], overrides: Sequence[str], *, resume: bool,
                       overwrite: bool, print_config: bool = False) -> list:
    """The pipeline of the configs at `paths`, each stage rendered by render.fit.run_fit; --print-config prints
    every stage's resolved config instead (YAML documents, one per stage)."""
    from .fit import run_fit

    stages = pipeline.load_stages(paths, overrides)
    if print_config:
        stdout.write("---\n".join(config_mod.dump_config_yaml(s.cfg) for s in stages))
        return []
    times: list[str] = []

    def announce(stage: pipeline.Stage, action: str) -> None:
        out.print(f"{stage.label} → {stage.run_dir}: {WHAT[action]}", style="bold", markup=False)

    def fit(stage: pipeline.Stage, action: str) -> Any:
        started = time.perf_counter()
        res = run_fit(out, stage.cfg, out_dir=None, **pipeline.fit_options(action, overwrite))
        times.append(f"{stage.run_dir} ({time.perf_counter() - started:.1f} s)")
        return res

    results = pipeline.run_pipeline(stages, fit, resume=resume, overwrite=overwrite, announce=announce,
                                    command=pipeline.pipeline_command(paths, overrides))
    skipped = sum(r is None for r in results)
    out.print(f"pipeline done: {len(stages)} stages" + (f", {skipped} skipped as finished" if skipped else "") +
              (f"; trained {', '.join(times)}" if times else ""), markup=False)
    return results
