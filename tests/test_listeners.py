"""Each listener on hand-made steps with real numbers, the schedule that decides which steps they see,
and a whole fit showing that an epoch no listener needs costs its row alone."""

import math
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from nettrain import listeners as ls
from nettrain.history import History
from nettrain.network import Cost, flat_params
from nettrain.optimizers import Step
from nettrain.sweep.pruning import metric_of
from nettrain.trainer import SilentReporter

from .helpers import fit_config

COLUMNS = ["epoch", "cost", "data_cost", "reg_cost", "grad_norm", "val_data_cost", "val_accuracy"]
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Optimizer:
    name = "gd"

    def state(self) -> dict:
        return {}


class Files:
    """A run folder that records what it is asked to write."""

    def __init__(self) -> None:
        self.dir = Path("run")
        self.appended: list[str] = []
        self.saved: list[tuple] = []

    def append_rows(self, history, durable=False):
        self.appended.append(history.take())

    def save(self, path, params, epoch, history, step_meta=None, also=(), state=None):
        self.saved.append((path.relative_to(self.dir).as_posix(), epoch, [p.name for p in also], step_meta["best"]))


class Recorder(SilentReporter):
    def __init__(self) -> None:
        self.rows, self.progress_at, self.notes = [], [], []

    def row(self, values, final=False):
        self.rows.append((values, final))

    def progress(self, epoch):
        self.progress_at.append(epoch)

    def note(self, text):
        self.notes.append(text)


def run_state(columns=COLUMNS, every=10, checkpoint_every=0, files=None, evaluations=0) -> ls.RunState:
    return ls.RunState(files, History(columns), Optimizer(), None, every, checkpoint_every,
                       best_buffer=flat_params((2, 1)), evaluations=evaluations)


def step(e, J_data=0.5, J_reg=0.25, *, grad=(3.0, 4.0, 0.0), evaluations=0, final=False, w=0.0) -> Step:
    theta = flat_params((2, 1))
    theta.vec[:] = [w, 1.0, 2.0]  # b⁽¹⁾ = w, W⁽¹⁾ = [1, 2]
    cost = None if J_data is None else Cost.of(J_data, J_reg)
    return Step(e, theta, cost, evaluations, final, None if grad is None else np.array(grad))


def added(run: ls.RunState, s: Step, logged: bool) -> ls.Event:
    """The epoch's row as the training loop stores it, and the event the listeners then see."""
    run.history.add(s.epoch, s.cost)
    return ls.Event(s, logged)


# ----------------------------------------------------------------------------- Row


def test_row_completes_a_logged_row_with_the_gradient_norm_and_the_validation_columns():
    asked = []

    def val(params, full=True):
        asked.append((params.b[1][0], full))
        return {"data_cost": 0.125, "accuracy": 0.75}

    run = run_state()
    row = ls.Row(run, val)
    ev = added(run, step(10, w=7.0), logged=True)
    row(ev)
    assert ev.row == [10, 0.75, 0.5, 0.25, 5.0, 0.125, 0.75]  # ‖(3, 4, 0)‖ = 5; J = 0.5 + 0.25
    assert ev.val_data_cost == 0.125 and ev.val_score == 0.75
    assert asked == [(7.0, False)]  # at the step's weights, the cheap metrics
    ev = added(run, step(11, grad=None), logged=False)
    ev.step.grad_fn = lambda: pytest.fail("∇J is not computed on an epoch that is not logged")
    row(ev)
    assert ev.row == [11, 0.75, 0.5, 0.25, None, None, None] and ev.val_data_cost is None and len(asked) == 1
    assert run.history.take().splitlines()[1:] == ["10,0.75,0.5,0.25,5.0,0.125,0.75", "11,0.75,0.5,0.25,,,"]


def test_row_leaves_an_overflowed_gradient_norm_and_an_undefined_metric_empty():
    run = run_state()
    row = ls.Row(run, lambda params, full=True: {"data_cost": 0.5, "r2": float("nan")})
    ev = added(run, step(0, grad=(1e200, 1e200, 0.0)), logged=True)  # ‖∇J‖² = 2e400: inf
    row(ev)
    assert ev.row == [0, 0.75, 0.5, 0.25, None, 0.5, None]


def test_row_counts_evaluations_every_epoch_on_from_a_resumed_runs_count():
    run = run_state(["epoch", "cost", "data_cost", "reg_cost", "grad_norm", "evaluations"], every=5, evaluations=40)
    row = ls.Row(run, None)
    assert row.next_epoch(3) == 4 and row.next_epoch(-1) == 0  # L-BFGS: every epoch has its count
    ev = added(run, step(3, evaluations=6), logged=False)
    row(ev)
    assert ev.row == [3, 0.75, 0.5, 0.25, None, 46] and run.evaluations == 46
    assert ls.Row(run_state(every=5), None).next_epoch(3) == 5  # without the column: the logged epochs


def test_row_puts_the_runs_seconds_so_far_on_the_logged_rows_alone():
    """seconds = clock() − clock_zero (a resumed run's clock_zero is its start less the seconds it had): on a
    logged row, after its validation pass; none on the rows between, which no clock is read for."""
    clock = Clock(100.0)
    run = run_state(COLUMNS + ["seconds"], every=10)
    run.clock_zero = 90.0  # began at 95.0 with 5 s from before a resume

    def val(params, full=True):  # the validation pass takes 0.25 s
        clock.t += 0.25
        return {"data_cost": 0.125, "accuracy": 0.75}

    row = ls.Row(run, val, clock=clock)
    ev = added(run, step(10), logged=True)
    row(ev)
    assert ev.row == [10, 0.75, 0.5, 0.25, 5.0, 0.125, 0.75, 10.25]  # 100.25 − 90
    # a sweep's pruner takes the validation metrics by name, not as the row's last cells
    assert metric_of(ev, "val_accuracy") == ev.val_score == 0.75 and metric_of(ev, "val_data_cost") == 0.125
    clock.t = 1000.0
    ev = added(run, step(11, grad=None), logged=False)
    row(ev)
    assert ev.row[-1] is None
    assert run.history.take().splitlines() == [",".join(COLUMNS) + ",seconds", "10,0.75,0.5,0.25,5.0,0.125,0.75,10.250",
                                               "11,0.75,0.5,0.25,,,,"]
    assert run.history.record()["columns"] == COLUMNS  # no part of the checkpoint's record


# ----------------------------------------------------------------------------- Best, EarlyStopping


def test_best_keeps_a_copy_of_the_lowest_validation_state():
    run = run_state()
    best = ls.Best(run)
    for e, v, w in [(0, 0.5, 1.0), (10, None, 2.0), (20, 0.6, 3.0), (30, 0.4, 4.0), (40, 0.4, 5.0)]:
        ev = ls.Event(step(e, w=w), v is not None, val_data_cost=v)
        best(ev)
        ev.step.theta.vec[:] = -1.0  # the step's θ is the loop's buffer: it changes after the call
    assert run.best == (0.4, 30)  # a tie does not replace the earlier best
    assert run.best_params.b[1][0] == 4.0 and list(run.best_params.W[1][0]) == [1.0, 2.0]
    assert best.next_epoch(30) == 40


@pytest.mark.parametrize("values, stop_at", [
    ([1.0, 0.995, 0.98, 0.975, 0.972], 4),  # 0.98 beats 1.0 by more than 0.01; then two rows that do not beat it
    ([1.0, 0.98, 0.96, 0.94], None),  # every row beats the last by 0.02
    ([1.0, 1.2, 0.985, 1.1, 0.97], None),  # each improvement comes before a second row without one
])
def test_early_stopping_counts_logged_rows_that_do_not_improve_by_more_than_min_delta(values, stop_at):
    run = run_state()
    es = ls.EarlyStopping(run, patience=2, min_delta=0.01)
    said = []
    for i, v in enumerate(values):
        run.best = (min(values[: i + 1]), 10 * values.index(min(values[: i + 1])))
        assert es(ls.Event(step(10 * i), True)) is None  # no validation this epoch: nothing counted
        why = es(ls.Event(step(10 * i), True, val_data_cost=v))
        if why:
            said.append((i, why))
    if stop_at is None:
        assert said == []
    else:
        assert said == [(stop_at, "early stopping: val J_data has not improved by more than 0.01 for 2 logged "
                                  "rows; the best was 0.972 at epoch 40 (best.npz)")]


# ----------------------------------------------------------------------------- RisingCost


def rising(J_values, check_at, start=0):
    """A RisingCost over J_values (None: not computed), called after each epoch in check_at."""
    run, rep = run_state(), Recorder()
    for e in range(start):
        run.history.add(e, Cost.of(9.0, 0.0))
    rc = ls.RisingCost(run, rep, "the steps overshoot", clock=Clock())
    for e, J in enumerate(J_values, start):
        run.history.add(e, None if J is None else Cost.of(J, 0.0))
        if e in check_at:
            rc(None)
    rc.close(start + len(J_values) - 1)
    return rep.notes, run.notes


@pytest.mark.parametrize("J, note", [
    # 0.95 > 1.5 × 0.6 + 1e-12 = 0.9: the first rise, with the lowest J before it and that J's first epoch
    ([1.0, 0.8, 0.6, 0.7, 0.95, 2.0, 0.5], "J rose from 0.6 (epoch 2) to 0.95 (epoch 4)"),
    ([1.0, 0.5, 0.5, 0.74, 0.76], "J rose from 0.5 (epoch 1) to 0.76 (epoch 4)"),  # a tie keeps the first epoch
    ([1.0, None, 0.4, None, 0.61], "J rose from 0.4 (epoch 2) to 0.61 (epoch 4)"),  # epochs without J skipped
    ([1.0, 0.5, 0.75, 0.7500000000001], None),  # 1.5 × 0.5 = 0.75 exactly, and within 1e-12 of it: not above
    ([3.0, 2.0, 1.0], None),
])
def test_a_rising_cost_is_found_the_same_whichever_epochs_it_is_checked_at(J, note):
    every_epoch = rising(J, check_at=range(len(J)))
    for check_at in ([], [1], [3], [0, 2, 4], [5]):
        assert rising(J, check_at) == every_epoch  # in batches of any size, the same words
    notes, run_notes = every_epoch
    if note is None:
        assert notes == [] and run_notes == []
    else:
        assert notes == run_notes == [f"warning: {note}: the steps overshoot"]


def test_many_rows_at_once_are_checked_with_array_operations_to_the_same_words():
    rng = np.random.default_rng(3)
    said = 0
    for _ in range(30):
        n = int(rng.integers(2 * ls.RISE_ARRAY_ROWS, 5 * ls.RISE_ARRAY_ROWS))
        J = np.exp(-np.linspace(0, 4, n) + rng.normal(0, 0.1, n))  # falling, noisy: rises past 1.5× now and then
        J = [None if rng.random() < 0.1 else float(v) for v in np.round(J, 2)]  # ties, and epochs without J
        once = rising(J, check_at=[n - 1])  # every row in one call: the array path
        twice = rising(J, check_at=[ls.RISE_ARRAY_ROWS - 1])  # the array path twice, the lowest carried over
        assert once == twice == rising(J, check_at=range(n)) == rising(J, check_at=[n // 3, n // 2])  # row by row
        said += bool(once[0])
    assert 5 < said < 25  # both kinds of series were seen


def test_a_rising_cost_is_said_once_and_a_resumed_run_checks_only_its_own_rows():
    notes, _ = rising([1.0, 2.0, 0.1, 5.0], check_at=[1, 3])
    assert notes == ["warning: J rose from 1 (epoch 0) to 2 (epoch 1): the steps overshoot"]
    notes, _ = rising([1.0, 1.2, 1.6], check_at=[], start=3)  # rows 0–2 (J = 9) are the earlier process's
    assert notes == ["warning: J rose from 1 (epoch 3) to 1.6 (epoch 5): the steps overshoot"]


def test_a_rising_cost_check_is_due_on_its_clock_until_it_has_spoken():
    clock = Clock(10.0)
    run, rep = run_state(), Recorder()
    rc = ls.RisingCost(run, rep, "h", clock=clock)
    assert rc.next_time() == 10.0 + ls.RISE_CHECK_SECONDS and rc.next_epoch(5) == ls.NEVER
    clock.t = 10.5
    for e, J in enumerate([1.0, 2.0]):
        run.history.add(e, Cost.of(J, 0.0))
    rc(None)
    assert rc.next_time() == math.inf and len(rep.notes) == 1


# ----------------------------------------------------------------------------- Log


def test_log_appends_the_rows_to_metrics_csv_on_its_clock():
    clock, files = Clock(50.0), Files()
    run = run_state(["epoch", "cost"], files=files)
    log = ls.Log(run, clock=clock)
    assert log.next_time() == 50.0 + ls.WRITE_EVERY_SECONDS
    for e, t in [(0, 50.4), (1, 50.99), (2, 51.0), (3, 51.5)]:
        clock.t = t
        run.history.append([e, 0.5 / (e + 1)])
        log(ls.Event(step(e), False))
    assert files.appended == ["epoch,cost\n0,0.5\n1,0.25\n2,0.16666666666666666\n"]  # at t = 51.0, rows 0–2
    assert log.next_time() == 52.0 and run.history.rows() == [[3, 0.125]]
    quiet = ls.Log(run_state(["epoch", "cost"]), clock=clock)  # no run folder: nothing to write, no clock
    assert quiet.next_time() == math.inf


# ----------------------------------------------------------------------------- Terminal


class Throttled(Recorder):
    progress_every = 0.25


def test_terminal_shows_logged_rows_and_the_last_and_moves_the_bar_as_often_as_asked():
    clock, rep = Clock(7.0), Throttled()
    term = ls.Terminal(rep, every=100, clock=clock)
    assert term.next_epoch(-1) == 0 and term.next_epoch(100) == 200 and term.next_time() == 7.25
    term(ls.Event(step(100), True, row=[100, 0.5]))
    clock.t = 8.0
    term(ls.Event(step(137), False, row=[137, 0.4]))
    term(ls.Event(step(150, final=True), False, row=[150, 0.3]))
    assert rep.rows == [([100, 0.5], False), ([150, 0.3], True)] and rep.progress_at == [100, 137, 150]
    assert term.next_time() == 8.25
    term.close(150)
    term.close(162)  # a run that ended between steps the listeners saw: the bar goes to its last epoch
    assert rep.progress_at == [100, 137, 150, 162]


def test_terminal_moves_the_bar_every_epoch_for_a_reporter_that_does_not_say_otherwise():
    rep = Recorder()
    term = ls.Terminal(rep, every=100)
    assert term.next_epoch(5) == 6 and term.next_time() == math.inf
    term(ls.Event(step(5), False))
    assert rep.progress_at == [5] and rep.rows == []


# ----------------------------------------------------------------------------- Checkpoints


def test_checkpoints_at_epoch_0_every_checkpoint_epoch_on_the_clock_and_at_the_end():
    files = Files()
    run = run_state(["epoch", "cost"], checkpoint_every=5, files=files)
    ck = ls.Checkpoints(run)
    assert [ck.next_epoch(e) for e in (-1, 0, 4, 5)] == [0, 5, 5, 10]
    assert ck.next_time() == run.t_save + ls.SAVE_EVERY_SECONDS
    run.best = (0.25, 0)
    for e in range(8):
        run.history.append([e, 1.0 / (e + 1)])
        if e == 7:
            run.t_save -= ls.SAVE_EVERY_SECONDS  # a minute since the last save
        ck(ls.Event(step(e), False))
    run.history.append([8, 0.1])
    ck(ls.Event(step(8, final=True), False))
    assert files.saved == [("last.npz", 0, [], [0.25, 0]), ("checkpoints/epoch-5.npz", 5, ["last.npz"], [0.25, 0]),
                           ("last.npz", 7, [], [0.25, 0]), ("last.npz", 8, [], [0.25, 0])]
    assert "".join(files.appended).count("\n") == 1 + 9  # every row reached metrics.csv before each save
    assert ls.Checkpoints(run_state(checkpoint_every=0, files=Files())).next_epoch(0) == ls.NEVER


# ----------------------------------------------------------------------------- Interrupt


def test_interrupt_stops_after_the_first_ctrl_c_and_at_once_after_the_second():
    before = signal.getsignal(signal.SIGINT)
    with ls.Interrupt() as interrupt:
        assert interrupt(ls.Event(step(0), False)) is None
        os.kill(os.getpid(), signal.SIGINT)  # handled in this (the main) thread, at the next bytecode
        assert interrupt.count == 1 and interrupt(ls.Event(step(1), False)) == "interrupted"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


# ----------------------------------------------------------------------------- the schedule


class Wants(ls.Listener):
    def __init__(self, epochs, time=math.inf, why=None):
        self.epochs, self.time, self.why, self.seen = epochs, time, why, []

    def next_epoch(self, e):
        return min([x for x in self.epochs if x > e], default=ls.NEVER)

    def next_time(self):
        return self.time

    def __call__(self, event):
        self.seen.append((event.step.epoch, event.logged))
        return self.why


def test_the_listeners_see_a_step_at_the_first_epoch_or_time_any_of_them_declared():
    a, b = Wants([0, 30, 60]), Wants([45], time=12.5, why="enough")
    sched = ls.Listeners([a, b], every=20, last=100, first=0)
    assert sched.epoch == 0  # the next epoch: seen whatever the time (no clock to compare with)
    assert sched.dispatch(step(0)) == ["enough"]
    assert (sched.epoch, sched.time) == (30, 12.5)
    sched.dispatch(step(30))
    assert sched.epoch == 45
    sched.dispatch(step(45))
    sched.dispatch(step(60))
    assert sched.epoch == 100  # the run's last epoch, which nobody declared
    assert a.seen == b.seen == [(0, True), (30, False), (45, False), (60, True)]  # all of them, in order
    assert ls.Listeners([a], every=20, last=100, first=31).epoch == 60  # a resumed run: from its next row


def test_an_epoch_no_listener_needs_costs_only_its_row(root, tmp_path, monkeypatch):
    """3,000 XOR epochs, rows every 500, checkpoints every 1,000: every epoch has its row in metrics.csv,
    but the listeners see only the logged epochs (and a few clock ticks)."""
    seen = []
    dispatch = ls.Listeners.dispatch
    monkeypatch.setattr(ls.Listeners, "dispatch", lambda self, s: seen.append(s.epoch) or dispatch(self, s))
    t = time.monotonic()
    res = fit_config(root / "configs" / "xor.yaml", out=tmp_path / "xor")
    elapsed = time.monotonic() - t
    rows = (tmp_path / "xor" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + 3001 and rows[-1].startswith("3000,") and res.epoch == 3000
    assert set(range(0, 3001, 500)) <= set(seen)
    ticks = [e for e in seen if e % 500]  # the clocks': RisingCost's is the shortest
    assert len(ticks) <= 2 + elapsed / ls.RISE_CHECK_SECONDS * 1.5, (elapsed, seen)


def test_a_listener_that_declares_nothing_sees_every_step():
    plain, seen = Wants([50]), []
    sched = ls.Listeners([plain, lambda event: seen.append(event.step.epoch)], every=10, last=100, first=0)
    for e in range(4):
        if e >= sched.epoch:
            sched.dispatch(step(e))
    assert seen == [0, 1, 2, 3] and plain.seen == [(0, True), (1, False), (2, False), (3, False)]
    sched.close(3)  # a plain callable has nothing to close
