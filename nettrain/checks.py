"""The plain function behind `nettrain gradcheck`: the differentiator's self-test, then the built-in suite
or a config's network at its initial weights on a sample of its training examples.

Left out on purpose: the numerical gradient itself (numgrad.py) and printing (render/gradcheck.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from . import config as config_mod
from . import numgrad as gc
from .config import Config
from .problem import initial_params, load_problem


def gradcheck_config(
    config_path: "Path | Config", overrides: config_mod.Overrides = (), sample: int = 20, richardson: bool = True,
    max_entries: Optional[int] = None, progress: Optional[Any] = None,
) -> tuple[gc.Case, list[gc.StageResult], bool]:
    """Check the config's network, at its initial weights, on the first `sample` training examples
    (max_entries, progress: as gradcheck.check). config_path: a config file (with `overrides`), or a
    validated Config."""
    if isinstance(config_path, Config):
        cfg, label = config_path, config_path.source
    else:
        cfg, label = config_mod.load_config(config_path, overrides), str(config_path)
    problem = load_problem(cfg)
    x, y = problem.columns("train")
    x, y = x[:, :sample].astype(np.float64), y[:, :sample].astype(np.float64)
    params = initial_params(cfg, problem.arch, np.float64)
    lam, sp = cfg.train.weight_decay, cfg.sparsity()
    sparse = "" if sp is None else f", ρ={sp.rho:g}, β={sp.beta:g}"
    case = gc.Case(f"{label} ({x.shape[1]} examples, λ={lam:g}{sparse})", problem.arch, lam, x, y, params, sp)
    results = gc.check(problem.arch, params, x, y, lam, case.name, richardson=richardson, max_entries=max_entries,
                       progress=progress, sparsity=sp)
    return case, results, gc.passed(results, case.kinks)


@dataclass
class GradcheckRun:
    """`nettrain gradcheck`'s findings: the differentiator's self-test, then (case, stage results, passed)
    for the built-in suite's cases or for one config."""

    g_self: np.ndarray
    rel_self: float
    results: list[tuple[gc.Case, list[gc.StageResult], bool]]
    richardson: bool

    @property
    def self_ok(self) -> bool:
        return self.rel_self < gc.GOOD

    @property
    def passed(self) -> bool:
        return self.self_ok and all(p for _, _, p in self.results)

    def to_dict(self) -> dict:
        """What `nettrain gradcheck --json` prints (the CLI writes a non-finite number as null)."""
        return {
            "passed": self.passed,
            "epsilon": gc.EPSILON,
            "richardson": self.richardson,
            "self_test": {
                "function": "h(x) = x1^2 + 3*x1*x2 at (2, 88)",
                "numerical": self.g_self.tolist(),
                "exact": [268.0, 6.0],
                "rel_diff": self.rel_self,
                "passed": self.self_ok,
            },
            "cases": [{"case": c.name, "passed": p, "stages": gc.results_to_dict(r)} for c, r, p in self.results],
        }


def gradcheck_run(
    config: "Path | Config | None" = None, overrides: config_mod.Overrides = (), sample: int = 20,
    richardson: bool = True, max_entries: Optional[int] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> GradcheckRun:
    """The self-test, then the built-in suite (config None) or the config's network (gradcheck_config).
    progress(done, total): after each case of the suite, or each block of each stage of a config."""
    g_self, rel_self = gc.self_test()
    if config is None:
        cases = list(gc.suite())
        done = iter(range(1, len(cases) + 1))
        results = gc.run_cases(cases, richardson=richardson,
                               progress=None if progress is None else lambda _: progress(next(done), len(cases)))
    else:
        results = [gradcheck_config(config, overrides, sample=sample, richardson=richardson, max_entries=max_entries,
                                    progress=progress)]
    return GradcheckRun(g_self, rel_self, results, richardson)
