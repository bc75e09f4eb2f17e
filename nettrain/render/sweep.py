"""What `nettrain sweep` shows: a line per trial as it ends (its values, metric, status), an overall bar
(trials ended / total, elapsed, ETA), then the counts and the best trial in one line.

SweepProgress implements sweep.engine.SweepReporter; run_sweep_shown is sweep.run_sweep with it.
Left out on purpose: running the sweep (nettrain.sweep) and parsing the command line (cli.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from rich.console import Console
from rich.text import Text

from ..plot import value_text
from .console import num


def values_text(row: dict, keys: list[str]) -> str:
    return ", ".join(f"{k}={value_text(row.get(k))}" for k in keys)


class SweepProgress:
    """A line per ended trial above a transient bar of the trials (rich), on `console`."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.console = console
        self.bar = Progress(TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True,
                            refresh_per_second=2)
        self.task: Any = None
        self.keys: list[str] = []
        self.metric = ""

    def start(self, info: dict) -> None:
        self.keys, self.metric = info["keys"], info["metric"]
        how = "every combination of" if info["method"] == "grid" else f"{info['method']} draws of"
        self.console.print(f"sweep of {info['total']} trials ({how} {', '.join(info['keys'])}) in {info['where']}, "
                           f"{info['slots']} at once; metric {info['metric']} ({info['goal']}); folder {info['folder']}",
                           markup=False)
        if "rungs" in info:
            self.console.print(f"successive halving: {info['rungs']} (each rung continues the best of the one "
                               "before from its last.npz)", markup=False)
        if info["kept"] or info["rerun"]:
            again = ", ".join(f"trial-{k}" for k in info["rerun"])
            self.console.print(f"resuming: {info['kept']} trials kept" + (f"; {again} start over" if again else ""),
                               markup=False)
        self.bar.start()
        self.task = self.bar.add_task("", total=info.get("jobs", info["total"]),  # halving: a trial per rung
                                      completed=info.get("jobs_ended", info["kept"]))

    def trial(self, row: dict) -> None:
        status = row["status"]
        text = f"trial-{row['trial']:<4} {status:<7} {values_text(row, self.keys)}"
        if status == "failed":
            text += f"  error: {row.get('error')}"
        else:
            text += f"  {self.metric} {num(row.get(self.metric))}  epochs {row.get('epochs')}"
        text += f"  {num(row.get('seconds'), '.3g')} s"
        self.bar.console.print(Text(text, style="red" if status == "failed" else "dim" if status == "pruned" else ""))
        self.bar.advance(self.task)

    def note(self, text: str) -> None:
        (self.bar.console if self.task is not None else self.console).print(text, markup=False)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()
            self.task = None


def summary_lines(res: Any) -> list[str]:
    """The counts of each status, and the best trial with its values, metric and best.yaml."""
    statuses = [r["status"] for _, r in sorted(res.rows.items())]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in ("done", "pruned", "failed", "running") if s in statuses)
    lines = [f"{len(statuses)} trials in {res.folder}: {counts}; trials.csv has them all"]
    metric = res.sweep.metric
    if res.best is None:
        lines.append(f"no trial ended done with a {metric.name}: no best.yaml")
    else:
        row = res.rows[res.best]
        best = Path(res.folder) / "best.yaml"
        lines.append(f"best: trial-{res.best} ({values_text(row, res.sweep.keys)}): {metric.name} "
                     f"{num(row.get(metric.name))} ({metric.goal}); its config {best}: nettrain fit {best}")
    return lines


def run_sweep_shown(out: Console, sweep: Any, *, out_dir: Optional[Path], resume: bool) -> Any:
    """sweep.run_sweep with the progress on `out`, then the summary lines; the SweepResult."""
    from ..sweep import run_sweep

    progress = SweepProgress(out)
    try:
        res = run_sweep(sweep, out=out_dir, resume=resume, reporter=progress)
    finally:
        progress.stop()
    for line in summary_lines(res):
        out.print(line, markup=False)
    return res
