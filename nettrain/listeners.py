"""What happens at each reported step of a training run: one small listener per job.

The optimizer reports the state after every epoch (optimizers.Step); trainer.fit hands it to these
listeners, in this order, each seeing the metrics row the ones before it built:

    Row           the row: epoch, J and its parts (when computed), ‖∇J‖ and validation every log.every epochs
    Best          the lowest validation J_data so far: best.npz at the next save
    EarlyStopping no improvement of val J_data for `patience` logged rows: stop (train.early_stopping)
    RisingCost    J rising well above its lowest: said at once, and in the summary, with the fix
    Log           the row into metrics.csv (buffered; on disk at least every WRITE_EVERY_SECONDS)
    Terminal      the row and the progress bar, through the Reporter
    Checkpoints   last.npz at epoch 0, every log.checkpoint_every epochs, every SAVE_EVERY_SECONDS, the end
    Interrupt     Ctrl-C: stop at the end of this step (a second one stops at once)

A listener returns a reason to stop (a string), or None. The run folder's files and the shared
state of a run (its history, the best state, the optimizer) are in `RunState`.

Left out on purpose: any arithmetic (the objective and optimizers) and rendering (render/).
"""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import network

SAVE_EVERY_SECONDS = 60.0  # last.npz is also refreshed this often on long runs
WRITE_EVERY_SECONDS = 1.0  # and the buffered metrics rows appended to metrics.csv this often
RISE_FACTOR = 1.5  # J above this × its lowest so far is reported as rising


def finite_or_none(v: Optional[float]) -> Optional[float]:
    """A logged metric, or None (an empty metrics.csv cell) when it is undefined or overflowed — the R² of
    a constant target, ‖∇J‖ past 1e308: a number column of metrics.csv holds numbers or nothing."""
    return v if v is None or math.isfinite(v) else None


@dataclass
class Event:
    """One reported step, as the listeners pass it along."""

    step: Any  # optimizers.Step
    logged: bool  # a log.every epoch: ‖∇J‖ and validation are computed
    row: list = field(default_factory=list)
    val_data_cost: Optional[float] = None


@dataclass
class RunState:
    """The state the listeners share: files, history, best state, optimizer, settings."""

    files: Any  # runfolder.RunFiles (None: a run that writes no folder)
    history: Any  # history.History
    optimizer: Any
    rng: Optional[np.random.Generator]
    every: int
    checkpoint_every: int
    best: Optional[tuple[float, int]] = None  # (val J_data, epoch)
    best_params: Any = None  # the best state's params, until best.npz is saved
    best_buffer: Any = None
    notes: list = field(default_factory=list)  # said during the run, repeated in the summary
    evaluations: int = 0  # J evaluations before this process (a resumed run's), and so far after the last row
    count_evaluations: bool = False  # metrics.csv has an evaluations column

    def flush(self, params: Any, epoch: int, checkpoint: Optional[Path] = None, state: Optional[dict] = None) -> None:
        """Write pending metrics rows, best.npz, the checkpoint given, then last.npz for this state.

        last.npz is written last: it is what --resume continues from, so everything it implies
        (best.npz holding the best it names) must be on disk before it; a crash in between
        leaves the older last.npz, and the resumed run writes the same files again. With
        checkpoint (checkpoints/epoch-e.npz, the same state), last.npz is a hard link to it.
        """
        files, history = self.files, self.history
        if files is None:  # a run that writes no folder: the rows stay in the history, the best state in memory
            return
        files.append_rows(history, durable=True)
        step_meta = {"best": list(self.best) if self.best else None,
                     "rng": self.rng.bit_generator.state if self.rng else None,
                     "optimizer": self.optimizer.name}
        if self.count_evaluations:  # L-BFGS: the evaluations column counts on across a resume
            step_meta["evaluations"] = self.evaluations
        if self.best_params is not None:
            files.save(files.dir / "best.npz", self.best_params, self.best[1], history, step_meta)
            self.best_params = None
        state = self.optimizer.state() if state is None else state
        last = files.dir / "last.npz"
        if checkpoint is not None:
            files.save(checkpoint, params, epoch, history, step_meta, also=[last], state=state)
        else:
            files.save(last, params, epoch, history, step_meta, state=state)
        self.t_save = time.monotonic()


class Row:
    def __init__(self, run: RunState, val_metrics: Any, names: tuple[str, ...], optimizer_columns: tuple[str, ...]) -> None:
        self.run, self.val, self.names, self.optimizer_columns = run, val_metrics, names, optimizer_columns
        self.base = run.evaluations  # a resumed run counts on from its checkpoint's count

    def __call__(self, event: Event) -> None:
        s = event.step
        cost = [None] * (1 + len(self.names)) if s.cost is None else [s.cost.J, *s.cost.parts.values()]
        row: list[Optional[float]] = [s.epoch, *cost, None]
        if event.logged:
            g = s.grad()
            row[-1] = None if g is None else finite_or_none(math.sqrt(float(np.vdot(g, g))))
        if "evaluations" in self.optimizer_columns:
            row.append(self.base + s.evaluations)
        self.run.evaluations = self.base + s.evaluations
        if self.val is not None:
            if event.logged:
                vm = self.val(s.params, full=False)
                event.val_data_cost = finite_or_none(vm["data_cost"])
                row += [event.val_data_cost, finite_or_none(vm.get("accuracy", vm.get("r2")))]
            else:
                row += [None, None]
        event.row = row


class Best:
    def __init__(self, run: RunState) -> None:
        self.run = run

    def __call__(self, event: Event) -> None:
        run, v = self.run, event.val_data_cost
        if v is not None and (run.best is None or v < run.best[0]):
            run.best = (v, event.step.epoch)
            run.best_params = network.copy_params(run.best_buffer, event.step.params).params  # saved at the next flush


class EarlyStopping:
    """Stop when val J_data has not fallen by more than min_delta for `patience` logged rows."""

    def __init__(self, run: RunState, patience: int, min_delta: float) -> None:
        self.run, self.patience, self.min_delta = run, patience, min_delta
        self.reference: Optional[float] = None
        self.waited = 0

    def __call__(self, event: Event) -> Optional[str]:
        v = event.val_data_cost
        if v is None:
            return None
        if self.reference is None or v < self.reference - self.min_delta:
            self.reference, self.waited = v, 0
            return None
        self.waited += 1
        if self.waited >= self.patience:
            best = self.run.best
            return (f"early stopping: val J_data has not improved by more than {self.min_delta:g} for "
                    f"{self.patience} logged rows; the best was {best[0]:.6g} at epoch {best[1]} (best.npz)")
        return None


class RisingCost:
    """J(θ_e) above RISE_FACTOR × its lowest so far: the steps overshoot. Said once as it happens."""

    def __init__(self, run: RunState, reporter: Any, hint: str) -> None:
        self.run, self.rep, self.hint = run, reporter, hint
        self.lowest: Optional[tuple[float, int]] = None
        self.said = False

    def __call__(self, event: Event) -> None:
        if event.step.cost is None:  # not computed this epoch (log.train_cost: logged)
            return
        J, e = event.step.cost.J, event.step.epoch
        if self.lowest is None or J < self.lowest[0]:
            self.lowest = (J, e)
        elif not self.said and J > RISE_FACTOR * self.lowest[0] + 1e-12:
            self.said = True
            text = (f"warning: J rose from {self.lowest[0]:.6g} (epoch {self.lowest[1]}) to {J:.6g} (epoch {e}): "
                    f"{self.hint}")
            self.run.notes.append(text)
            self.rep.note(text)


class Log:
    def __init__(self, run: RunState) -> None:
        self.run = run
        self.t_write = time.monotonic()

    def __call__(self, event: Event) -> None:
        self.run.history.append(event.row)
        now = time.monotonic()
        if self.run.files is not None and now - self.t_write > WRITE_EVERY_SECONDS:  # rows reach metrics.csv
            # between checkpoints too
            self.run.files.append_rows(self.run.history)
            self.t_write = now


class Terminal:
    """The row when logged (and the last), and the progress bar at about ten updates a second."""

    def __init__(self, reporter: Any) -> None:
        self.rep = reporter

    def __call__(self, event: Event) -> None:
        if event.logged or event.step.final:
            self.rep.row(event.row, event.step.final)
        self.rep.progress(event.step.epoch)


class Checkpoints:
    def __init__(self, run: RunState) -> None:
        self.run = run
        run.t_save = time.monotonic()

    def __call__(self, event: Event) -> None:
        run, e = self.run, event.step.epoch
        ck = run.checkpoint_every
        if ck and e % ck == 0 and e > 0:
            run.flush(event.step.params, e, run.files.dir / "checkpoints" / f"epoch-{e}.npz")
        elif e == 0 or event.step.final or time.monotonic() - run.t_save > SAVE_EVERY_SECONDS:
            run.flush(event.step.params, e)


class Interrupt:
    """Ctrl-C sets a flag that ends the run after this step's files are written; a second one stops at once."""

    def __init__(self) -> None:
        self.count = 0
        self._old: Any = None

    def __enter__(self) -> "Interrupt":
        try:
            self._old = signal.signal(signal.SIGINT, self._on_sigint)
        except ValueError:  # not the main thread
            self._old = None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.count:
            raise KeyboardInterrupt  # second Ctrl-C: stop at once
        self.count = 1

    def __call__(self, event: Event) -> Optional[str]:
        return "interrupted" if self.count else None
