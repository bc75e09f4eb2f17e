"""What happens at the reported steps of a training run: one small listener per job, each seeing the
steps it declares it needs.

The optimizer reports the state after every epoch (optimizers.Step). Every epoch's row — its epoch, J
and J's parts — goes into the history as it comes (history.add: a few stores); the listeners see a step
only at the epochs one of them needs: a listener declares the next epoch it must see (next_epoch) and
the time by which it must be called again (next_time), and `Listeners` calls them all at the first
epoch that reaches either — or at once after Ctrl-C. Between those, an epoch costs the row and two
comparisons. At each such epoch the listeners run in this order, each seeing the row the ones before
it completed:

    Row           logged epochs (log.every): ‖∇J‖, the validation columns and the run's seconds so
                  far into the row; every epoch with an evaluations column (L-BFGS): the count of
                  J evaluations
    Best          the lowest validation J_data so far: best.npz at the next save
    EarlyStopping no improvement of val J_data for `patience` logged rows: stop (train.early_stopping)
    RisingCost    J rising well above its lowest, checked over every row since its last call (at least
                  every RISE_CHECK_SECONDS): said at once, and in the summary, with the fix
    Log           the rows into metrics.csv, at least every WRITE_EVERY_SECONDS
    Terminal      the row on logged epochs and the last, the progress bar as often as the reporter asks
    Checkpoints   last.npz at epoch 0, every log.checkpoint_every epochs, every SAVE_EVERY_SECONDS, the end
    Interrupt     Ctrl-C: stop at the end of this step (a second one stops at once)

Row comes first because the others read the row it completes; Log, Terminal and Checkpoints write
what the ones before decided (the rising-J note before the row it precedes, best.npz with the
checkpoint); Interrupt is last so that a stop comes after this step's files. A listener returns a
reason to stop (a string), or None; close() ends the run's listening (the checks still owed, the bar
at the last epoch). The run folder's files and the shared state of a run (its history, the best
state, the optimizer) are in `RunState`.

Left out on purpose: any arithmetic (the objective and optimizers) and rendering (render/).
"""

from __future__ import annotations

import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from . import network
from .history import SECONDS

SAVE_EVERY_SECONDS = 60.0  # last.npz is also refreshed this often on long runs
WRITE_EVERY_SECONDS = 1.0  # and the rows appended to metrics.csv this often
RISE_CHECK_SECONDS = 0.1  # a rising J is checked for (and said) this often: "at once" to the eye
RISE_FACTOR = 1.5  # J above this × its lowest so far is reported as rising
RISE_ARRAY_ROWS = 64  # rows from which the rising-J check runs as array operations
NEVER = 1 << 62  # an epoch no run reaches: "no epoch needed"


def finite_or_none(v: Optional[float]) -> Optional[float]:
    """A logged metric, or None (an empty metrics.csv cell) when it is undefined or overflowed — the R² of
    a constant target, ‖∇J‖ past 1e308: a number column of metrics.csv holds numbers or nothing."""
    return v if v is None or math.isfinite(v) else None


def next_multiple(e: int, every: int) -> int:
    """The first multiple of `every` after epoch e (NEVER for every = 0)."""
    return (e // every + 1) * every if every else NEVER


@dataclass
class Event:
    """One step as the listeners pass it along."""

    step: Any  # optimizers.Step
    logged: bool  # a log.every epoch: ‖∇J‖ and validation are computed
    row: list = field(default_factory=list)  # the epoch's row, once Row has completed it
    val_data_cost: Optional[float] = None
    val_score: Optional[float] = None  # the validation accuracy (or R²) of a logged row


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
    t_save: float = field(default_factory=time.monotonic)  # when the state was last saved
    # the time.perf_counter() at which the run's seconds were 0: when the fit began, less a resumed run's seconds
    clock_zero: float = field(default_factory=time.perf_counter)

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


class Listener:
    """A job at some reported steps. next_epoch(e): the first epoch after e it must see (NEVER: none), from a
    set of epochs fixed for the run; next_time(): the time.monotonic() by which it must be called again
    (inf: no clock). It is called at every step the run's listeners see, and does its job when that step
    is one it has to act on."""

    def next_epoch(self, e: int) -> int:
        return NEVER

    def next_time(self) -> float:
        return math.inf

    def __call__(self, event: Event) -> Optional[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self, epoch: int) -> None:
        """The run's last reported epoch has been seen: finish what is owed."""


class Listeners:
    """The listeners of a run, in order, and when they next need a step.

    `epoch` and `time` are the first epoch and the earliest time any of them declared (the run's last
    epoch always among them): the training loop's emit compares each epoch with them — and with the
    Ctrl-C flag — and calls dispatch(step) when one is reached. A listener that declares nothing (a
    plain callable) sees every step, as every listener once did.
    """

    def __init__(self, listeners: list, *, every: int, last: int, first: int) -> None:
        self.listeners, self.every, self.last = list(listeners), every, last
        # what each declared, leaving out the base class's "never" (most listeners have no clock)
        self._epochs = [getattr(l, "next_epoch", _every_epoch) for l in self.listeners
                        if getattr(type(l), "next_epoch", None) is not Listener.next_epoch]
        self._times = [l.next_time for l in self.listeners
                       if getattr(type(l), "next_time", Listener.next_time) is not Listener.next_time]
        self.epoch, self.time = -1, -math.inf
        self._reschedule(first - 1)

    def _reschedule(self, e: int) -> None:
        if e >= self.epoch:  # before it, the first epoch any wants is still the same one (the sets are fixed)
            first = self.last
            for next_epoch in self._epochs:
                first = min(first, next_epoch(e))
                if first == e + 1:  # none can be sooner (log.every 1: the first one asked says so)
                    break
            self.epoch = first
        if self.epoch == e + 1:  # the next epoch is seen anyway: no clock to compare with
            self.time = math.inf
        else:
            self.time = min([math.inf] + [next_time() for next_time in self._times])

    def dispatch(self, step: Any) -> list[str]:
        """Every listener on this step, in order; the reasons to stop they gave."""
        event = Event(step, step.epoch % self.every == 0)
        reasons = []
        for listener in self.listeners:
            why = listener(event)
            if why:
                reasons.append(why)
        self._reschedule(step.epoch)
        return reasons

    def close(self, epoch: int) -> None:
        """The run's last reported epoch was `epoch`: each listener finishes what it owes."""
        for listener in self.listeners:
            if hasattr(listener, "close"):
                listener.close(epoch)


def _every_epoch(e: int) -> int:
    return e + 1


class Row(Listener):
    """The epoch's row (event.row), with the cells only the listeners compute put into the history: on logged
    epochs ‖∇J‖, the validation J_data and accuracy (or R²) and the seconds; with an evaluations column
    (L-BFGS), the count of J evaluations, every epoch. The clock is read here, on the logged rows alone: the
    rows that have a seconds cell are the same in a resumed run as in an uninterrupted one."""

    def __init__(self, run: RunState, val_metrics: Any, clock: Callable[[], float] = time.perf_counter) -> None:
        self.run, self.val, self.clock = run, val_metrics, clock
        columns = run.history.columns
        self.j_grad = columns.index("grad_norm")  # after the epoch, J and its parts
        self.j_evals = columns.index("evaluations") if "evaluations" in columns else None
        self.j_val = columns.index("val_data_cost") if val_metrics is not None else None
        self.j_seconds = columns.index(SECONDS) if SECONDS in columns else None  # an older run's resume: none
        self.empty = [None] * len(columns)
        self.base = run.evaluations  # a resumed run counts on from its checkpoint's count

    def next_epoch(self, e: int) -> int:
        return e + 1 if self.j_evals is not None else next_multiple(e, self.run.every)

    def __call__(self, event: Event) -> None:
        s, h, j = event.step, self.run.history, self.j_grad
        row = self.empty.copy()
        row[0] = s.epoch
        if s.cost is not None:
            row[1:j] = [s.cost.J, *s.cost.parts.values()]
        self.run.evaluations = self.base + s.evaluations
        if self.j_evals is not None:
            row[self.j_evals] = self.run.evaluations
        if event.logged:
            g = s.grad()
            row[j] = None if g is None else finite_or_none(math.sqrt(float(np.vdot(g, g))))
            if self.val is not None:
                vm = self.val(s.params, full=False)
                event.val_data_cost = row[self.j_val] = finite_or_none(vm["data_cost"])
                event.val_score = row[self.j_val + 1] = finite_or_none(vm.get("accuracy", vm.get("r2")))
        if self.j_seconds is not None and event.logged:  # after the validation pass: its time counts
            row[self.j_seconds] = self.clock() - self.run.clock_zero
        for k in range(j, len(row)):
            if row[k] is not None:
                h.put(k, row[k])
        event.row = row


class Best(Listener):
    def __init__(self, run: RunState) -> None:
        self.run = run

    def next_epoch(self, e: int) -> int:
        return next_multiple(e, self.run.every)  # the validation columns are computed on logged epochs

    def __call__(self, event: Event) -> None:
        run, v = self.run, event.val_data_cost
        if v is not None and (run.best is None or v < run.best[0]):
            run.best = (v, event.step.epoch)
            run.best_params = network.copy_params(run.best_buffer, event.step.params).params  # saved at the next flush


class EarlyStopping(Listener):
    """Stop when val J_data has not fallen by more than min_delta for `patience` logged rows."""

    def __init__(self, run: RunState, patience: int, min_delta: float) -> None:
        self.run, self.patience, self.min_delta = run, patience, min_delta
        self.reference: Optional[float] = None
        self.waited = 0

    def next_epoch(self, e: int) -> int:
        return next_multiple(e, self.run.every)

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


class RisingCost(Listener):
    """J(θ_e) above RISE_FACTOR × its lowest so far: the steps overshoot. Said once, as soon as it is seen.

    Every row's J is in the history, so the check runs over the rows since the last one — at every step
    the listeners see and at least every RISE_CHECK_SECONDS — and finds the first rise among them, with
    the lowest J before it, exactly as a check at every epoch would (row by row for a few rows, with
    array operations for many)."""

    def __init__(self, run: RunState, reporter: Any, hint: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.run, self.rep, self.hint, self.clock = run, reporter, hint, clock
        self.lowest: Optional[tuple[float, int]] = None
        self.said = False
        self.checked = run.history.n  # rows before this process's are not checked again
        self.t_check = clock()

    def next_time(self) -> float:
        return math.inf if self.said else self.t_check + RISE_CHECK_SECONDS

    def __call__(self, event: Any = None) -> None:
        h = self.run.history
        self.t_check = self.clock()
        first, n = self.checked, h.n
        if self.said or first >= n:
            return
        self.checked = n
        if n - first == 1 and event is not None and event.step.epoch == first:  # the one new row: this step's
            cost = event.step.cost
            return self._scan_rows(first, [math.nan if cost is None else float(cost.J)])
        J = h.J_since(first)  # NaN: not computed that epoch (log.train_cost: logged)
        if len(J) < RISE_ARRAY_ROWS:  # numpy's calls cost more than a few rows' comparisons
            self._scan_rows(first, J.tolist())
        else:
            self._scan_array(first, J)

    def _scan_rows(self, first: int, values: list) -> None:
        for e, J in enumerate(values, first):
            if J != J:  # not computed that epoch
                continue
            if self.lowest is None or J < self.lowest[0]:
                self.lowest = (J, e)
            elif J > RISE_FACTOR * self.lowest[0] + 1e-12:
                return self._say(*self.lowest, J, e)

    def _scan_array(self, first: int, J: np.ndarray) -> None:
        """_scan_rows on an array: the lowest J before each row (NaN skipped), the first row above it."""
        lo = self.lowest[0] if self.lowest else math.inf
        before = np.fmin.accumulate(np.concatenate(([lo], J)))[:-1]
        rose = J > RISE_FACTOR * before + 1e-12  # False for NaN, and against inf (no J before)
        if rose.any():
            i = int(np.argmax(rose))
            low = float(before[i])
            at = self.lowest[1] if low == lo else first + int(np.nanargmin(J[:i]))  # its first epoch
            self._say(low, at, float(J[i]), first + i)
        elif not np.isnan(J).all() and np.nanmin(J) < lo:
            i = int(np.nanargmin(J))
            self.lowest = (float(J[i]), first + i)

    def _say(self, low: float, at: int, J: float, e: int) -> None:
        self.said = True
        text = f"warning: J rose from {low:.6g} (epoch {at}) to {J:.6g} (epoch {e}): {self.hint}"
        self.run.notes.append(text)
        self.rep.note(text)

    def close(self, epoch: int) -> None:
        self()


class Log(Listener):
    """The rows into metrics.csv between checkpoints too, at least every WRITE_EVERY_SECONDS."""

    def __init__(self, run: RunState, clock: Callable[[], float] = time.monotonic) -> None:
        self.run, self.clock = run, clock
        self.t_write = clock()

    def next_time(self) -> float:
        return math.inf if self.run.files is None else self.t_write + WRITE_EVERY_SECONDS

    def __call__(self, event: Event) -> None:
        now = self.clock()
        if self.run.files is not None and now - self.t_write >= WRITE_EVERY_SECONDS:
            self.run.files.append_rows(self.run.history)
            self.t_write = now


class Terminal(Listener):
    """The row when logged (and the last), and the progress bar: at every epoch, or at least every
    `progress_every` seconds when the reporter says that is enough (render/fit.py's FitReporter)."""

    def __init__(self, reporter: Any, every: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rep, self.every, self.clock = reporter, every, clock
        self.period: Optional[float] = getattr(reporter, "progress_every", None)
        self.t_progress = clock()
        self.shown: Optional[int] = None  # the epoch the bar was last moved to

    def next_epoch(self, e: int) -> int:
        return e + 1 if self.period is None else next_multiple(e, self.every)

    def next_time(self) -> float:
        return math.inf if self.period is None else self.t_progress + self.period

    def __call__(self, event: Event) -> None:
        s = event.step
        if event.logged or s.final:
            self.rep.row(event.row, s.final)
        self.rep.progress(s.epoch)
        self.shown, self.t_progress = s.epoch, self.clock()

    def close(self, epoch: int) -> None:
        if self.shown is not None and epoch > self.shown:
            self.rep.progress(epoch)
            self.shown = epoch


class Checkpoints(Listener):
    def __init__(self, run: RunState) -> None:
        self.run = run
        run.t_save = time.monotonic()

    def next_epoch(self, e: int) -> int:
        return 0 if e < 0 else next_multiple(e, self.run.checkpoint_every)

    def next_time(self) -> float:
        return self.run.t_save + SAVE_EVERY_SECONDS

    def __call__(self, event: Event) -> None:
        run, e = self.run, event.step.epoch
        ck = run.checkpoint_every
        if ck and e % ck == 0 and e > 0:
            run.flush(event.step.params, e, run.files.dir / "checkpoints" / f"epoch-{e}.npz")
        elif e == 0 or event.step.final or time.monotonic() - run.t_save >= SAVE_EVERY_SECONDS:
            run.flush(event.step.params, e)


class Interrupt(Listener):
    """Ctrl-C sets a flag that ends the run after this step's files are written; a second one stops at once.
    The training loop checks the flag every epoch, so the listeners see the step after it at once."""

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
