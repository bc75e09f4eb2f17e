"""What `nettrain fit` shows: the live progress bar and cost rows while it trains, then the summary.

FitReporter implements trainer.Reporter (start, progress, row, note); run_fit is trainer.fit with it, and
the summary table, the notes, the sparkline of J and the line that says where the run was saved.

Left out on purpose: training (trainer.fit, the optimizers) and parsing the command line (cli.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from rich.console import Console

from ..history import CLOCK_COLUMNS
from .console import num as _num

if TYPE_CHECKING:
    from rich.table import Table


class FitReporter:
    """Renders a fit: a live progress bar (epoch, elapsed, ETA) with a row every log.every epochs.

    Implements trainer.Reporter: start, progress, row, note. The bar is moved to the epoch of every row
    before the row is printed, so the two always agree, and to the total at the end. A row shows every
    metrics.csv column but the clock's (history.CLOCK_COLUMNS): the bar shows the time taken, and the
    row fits 80 columns without it.
    """

    HEAD = {"epoch": "epoch", "cost": "J", "data_cost": "J_data", "reg_cost": "J_reg", "sparse_cost": "J_sparse",
            "grad_norm": "‖∇J‖", "evaluations": "J evals", "val_data_cost": "val J_data", "val_accuracy": "val acc",
            "val_r2": "val R²"}

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.console = console
        self.bar = Progress(
            TextColumn("epoch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=console, transient=True, refresh_per_second=1,
        )
        self.task = None
        self.columns: list[str] = []  # those shown: info["columns"] less the clock columns
        self._shown_at: list[int] = []  # where each is in a row's values
        self._last_row = self._last_draw = 0.0
        self._show_all, self._shown, self._skipped = True, 0, 0

    def start(self, info: dict) -> None:
        self._shown_at = [j for j, c in enumerate(info["columns"]) if c not in CLOCK_COLUMNS]
        self.columns = [info["columns"][j] for j in self._shown_at]
        what = "resuming" if info["resumed"] else "training"
        how = info.get("optimizer", "gd") + (f", minibatches of {info['batch_size']}" if info.get("batch_size") else "")
        on = f" on {info['on']}" if info.get("on") else ""
        self.console.print(
            f"{what} {info['layers']} on {info['m']} examples{on} with {how}, epoch {info['start_epoch']} → "
            f"{info['epochs']}; run folder {info['run_dir']}", soft_wrap=False
        )
        for line in info.get("data", []):  # what data.missing and data.categorical did to the rows
            self.console.print(line, markup=False, soft_wrap=False)
        for p in info.get("swept", []):
            self.console.print(f"removed a temp file left by an interrupted save: {p}", markup=False)
        self._layout(info)
        self.console.print(" ".join(f"{self.HEAD.get(c, c):>{w}}" for c, w in zip(self.columns, self._widths)),
                           style="bold", markup=False)
        self.bar.start()
        self.task = self.bar.add_task("", total=info["epochs"], completed=info["start_epoch"])
        rows = (info["epochs"] - info["start_epoch"]) // max(1, info.get("every", 1)) + 2
        self._show_all = rows <= self.SHOW_ALL_ROWS

    INT_COLUMNS = ("epoch", "evaluations")  # whole numbers: as wide as their header or their largest value
    NUM_WIDTH = 12  # a float cell on a wide terminal: .6g, sign and exponent included ("-1.23457e-05")

    def _layout(self, info: dict) -> None:
        """Each column's width and the floats' digits, so that a row fits the terminal's width: an integer
        column as wide as its header (or its largest value), the floats sharing the rest — .6g on a wide
        terminal, down to .3g (a float of p significant digits takes at most p + 6 characters)."""
        widest = {"epoch": len(str(info["epochs"])), "evaluations": 6}
        fixed = {c: max(len(self.HEAD.get(c, c)), widest[c]) for c in self.columns if c in self.INT_COLUMNS}
        floats = [c for c in self.columns if c not in fixed]
        room = self.console.width - sum(fixed.values()) - (len(self.columns) - 1)  # one space between cells
        w = max(9, min(self.NUM_WIDTH, room // max(1, len(floats))))
        self._digits = w - 6
        self._widths = [fixed.get(c) or max(w, len(self.HEAD.get(c, c))) for c in self.columns]
        self._ints = [c in self.INT_COLUMNS for c in self.columns]

    # The terminal is throttled; metrics.csv has every row. A run that logs at most SHOW_ALL_ROWS rows
    # shows them all; a denser one at most ROWS_PER_SECOND, the first and the last always; the bar is
    # drawn at most every MIN_DRAW_INTERVAL from the training thread (rich's own refresh, once a
    # second, only keeps the clock moving through a long epoch). Why these numbers: benchmarks/README.md.
    SHOW_ALL_ROWS = 60
    ROWS_PER_SECOND = 4.0
    MIN_DRAW_INTERVAL = 0.25
    # progress() is wanted this often, not every epoch (trainer.Reporter): the bar is drawn at most every
    # MIN_DRAW_INTERVAL anyway, and moving it costs a few µs, as much as a tiny network's epoch.
    progress_every = 0.1

    def progress(self, epoch: int) -> None:
        self.bar.update(self.task, completed=epoch)
        now = time.monotonic()
        if now - self._last_draw >= self.MIN_DRAW_INTERVAL:
            self._last_draw = now
            self.bar.refresh()

    def row(self, values: list, final: bool = False) -> None:
        """values: one per start()'s info["columns"], the epoch first (those of the clock columns not shown)."""
        self.bar.update(self.task, completed=values[0])
        now = time.monotonic()
        if not (final or self._show_all or not self._shown or now - self._last_row >= 1.0 / self.ROWS_PER_SECOND):
            self._skipped += 1
            return
        self._shown += 1
        self._last_row = self._last_draw = now
        fmt = f".{self._digits}g"
        cells = [f"{_num(values[j], 'd' if i and isinstance(values[j], int) else fmt):>{w}}"
                 for j, w, i in zip(self._shown_at, self._widths, self._ints)]
        self.bar.console.print(" ".join(cells), markup=False, soft_wrap=True)

    def note(self, text: str) -> None:  # wrapped at the terminal's width, as a table is
        (self.bar.console if self.task is not None else self.console).print(text, markup=False, soft_wrap=False)

    def stop(self) -> None:
        if self.task is not None:  # never started (input refused): stopping would print a blank line to stdout
            self.bar.refresh()
            self.bar.stop()
            if self._skipped:
                self.console.print(f"(rows shown: {self._shown} of {self._shown + self._skipped}, at most "
                                   f"{self.ROWS_PER_SECOND:g} a second; metrics.csv has every epoch)", style="dim", soft_wrap=False)
            self.task = None


def _summary_table(res: Any) -> "Table":
    """Each split's J, its parts and accuracy (or RMSE and R²) at the state eval and predict of the run use:
    best.npz's when early stopping kept one (the title says so), else the last epoch's."""
    from rich.table import Table  # here, not at the top: only a fit that ends with a summary draws one

    kept = res.kept or {}
    state = f"best.npz, epoch {kept['epoch']}" if kept else f"epoch {res.epoch}"
    took = f" in {res.seconds:.3g} s" if res.seconds is not None else ""
    title = f"{res.reason} at epoch {res.epoch}{took}; each split at {state}"
    if kept:
        title += " (what eval and predict use)"
    t = Table(title=title, title_justify="left")
    t.add_column("split")
    splits = [(name, kept[name] if kept else getattr(res, name)) for name in ("train", "val", "test")]
    splits = [(name, m) for name, m in splits if m]
    metrics = ["accuracy"] if any("accuracy" in m for _, m in splits) else ["rmse", "r2"]
    cols = ["cost", *res.cost.parts, *metrics]
    for col in cols:
        t.add_column(METRIC_HEAD.get(col) or FitReporter.HEAD.get(col, col), justify="right")
    for name, m in splits:
        t.add_row(name, *[_num(m.get(k), ".4f" if k in ("accuracy", "r2") else ".6g") for k in cols])
    return t


METRIC_HEAD = {"accuracy": "accuracy", "rmse": "RMSE", "r2": "R²"}


def run_fit(out: Console, cfg: Any, *, out_dir: Optional[Path], resume: bool, overwrite: bool = False,
            api: bool = False) -> Any:
    """trainer.fit with the terminal's live output on `out` and, after it, the summary: what `nettrain fit`
    shows. Returns the trainer's FitResult."""
    from ..trainer import fit

    reporter = FitReporter(out)
    try:
        res = fit(cfg, out=out_dir, resume=resume, reporter=reporter, overwrite=overwrite, api=api)
    finally:
        reporter.stop()
    if res.cost is not None:
        out.print(_summary_table(res))
    for text in res.notes:
        out.print(text, markup=False)  # a note may name a path: one line, to be copied whole
    if res.best is not None and res.kept and res.best[1] != res.epoch:
        out.print(f"best epoch {res.best[1]} (val J_data {res.best[0]:.6g}): best.npz; eval and predict on "
                  f"{res.run_dir} use it", markup=False)
    spark = _sparkline_line(res.history, out.width)
    if spark:
        out.print(spark, markup=False)
    out.print(f"saved {res.run_dir / 'last.npz'}; evaluate with: nettrain eval {res.run_dir}", markup=False)
    return res


def _sparkline_line(history: Any, width: int = 80) -> str:
    """J over the run as one line of ▁▂▃▄▅▆▇█ (plot.sparkline), with its first and last values: at most 40
    bars, fewer when the line would not fit `width` columns."""
    from ..plot import log_scale_helps, sparkline

    J = history.J  # J of every epoch, resumed ones included
    if len(J) < 2:
        return ""
    log = log_scale_helps(J)
    head = f"J over {len(J) - 1} epochs: "
    tail = f"  {_num(J[0], '.4g')} → {_num(J[-1], '.4g')}" + (" (log scale)" if log else "")
    return head + sparkline(J, max(10, min(40, width - len(head) - len(tail))), log) + tail
