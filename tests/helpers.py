"""What several test files share: a fit from a config file and --set texts, as the CLI makes it."""

from __future__ import annotations

from typing import Any

from nettrain import config as config_mod
from nettrain import trainer


def fit_config(config: Any, overrides: Any = (), **kw: Any) -> trainer.FitResult:
    """trainer.fit on a config file with its overrides (or a validated Config): the CLI's one load, then the fit."""
    cfg = config if isinstance(config, config_mod.Config) else config_mod.load_config(config, overrides)
    return trainer.fit(cfg, **kw)
