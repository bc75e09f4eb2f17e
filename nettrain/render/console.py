"""The terminal: the two consoles (results on stdout, messages on stderr), strict JSON, a progress bar.

Everything a command prints goes through here or a render module; library code never prints.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Callable, Optional

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def num(v: Any, fmt: str = ".6g") -> str:
    """A metric for a table cell: '—' for a missing one, inf/nan as themselves."""
    if v is None:
        return "—"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return format(v, fmt)


def json_safe(obj: Any) -> Any:
    """Replace non-finite floats by None so that the output is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    """Exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(json_safe(obj), allow_nan=False) + "\n")
    sys.stdout.flush()


class progress_bar:
    """A transient rich progress bar on stderr; `step()` moves it by one, step(done, total) sets both."""

    def __init__(self, total: Optional[int], label: str, disable: bool = False) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True, disable=disable,
        )
        self.total = total
        self.task: Any = None  # the bar appears at the first step: an input refused before it leaves one line

    def step(self, done: Optional[int] = None, total: Optional[int] = None) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("", total=self.total)
        if done is None:
            self.progress.advance(self.task)
        else:
            self.progress.update(self.task, completed=done, total=total)

    def __enter__(self) -> Callable[..., None]:
        return self.step

    def __exit__(self, *exc: Any) -> None:
        if self.task is not None:
            self.progress.stop()
