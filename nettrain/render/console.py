"""The terminal: the two consoles (results on stdout, messages on stderr), strict JSON, a progress bar.

Everything a command prints goes through here or a render module; library code never prints.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Callable, Optional

from rich.console import Console


class _Stdout:
    """sys.stdout as the commands write to it (whatever sys.stdout is at the time): a reader that went away
    (`nettrain fit … | head`) ends the printing, never the command — training goes on and saves, and the
    rest of the output goes to /dev/null (so that Python's own flush at exit finds nowhere to fail)."""

    closed_reader = False

    def write(self, text: str) -> int:
        try:
            return sys.stdout.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        type(self).closed_reader = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # a stdout with no file descriptor (a test's buffer)
            pass

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno…: those of sys.stdout
        return getattr(sys.stdout, name)


stdout = _Stdout()
out = Console(file=stdout, highlight=False, soft_wrap=True, emoji=False)  # ":name:" in a path is text
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


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
    stdout.write(json.dumps(json_safe(obj), allow_nan=False) + "\n")
    stdout.flush()


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
