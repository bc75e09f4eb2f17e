"""The history's rows as the training loop stores them (add, put) and as metrics.csv gets them: the same
text as repr() of every cell, whatever the columns hold."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nettrain import checkpoint as ckpt
from nettrain.errors import RunIOError
from nettrain.history import History, _clock_ends
from nettrain.network import Cost

from .helpers import fit_config
from .runfolders import metrics_less_seconds

COLUMNS = ["epoch", "cost", "data_cost", "reg_cost", "grad_norm", "evaluations", "val_data_cost"]


def line(row) -> str:
    """A row as metrics.csv has it, written cell by cell: repr() of a float, an integer count, "" for None."""
    return ",".join("" if v is None else str(int(v)) if j in (0, 5) else repr(float(v)) for j, v in enumerate(row))


def test_rows_stored_a_cell_at_a_time_read_as_repr_of_each_cell():
    rng = np.random.default_rng(7)
    h, want = History(COLUMNS, capacity=3), []  # a small capacity: the columns grow twice
    for e in range(10):
        data, reg = float(rng.random()), [0.0, -0.0, 1e-300, float(rng.random())][e % 4]
        cost = Cost.of(data, reg)
        h.add(e, cost)
        grad = float(rng.random()) * 10.0 ** rng.integers(-5, 5) if e % 3 == 0 else None
        h.put(4, grad)
        h.put(5, 2 * e + 1)
        h.put(6, None)
        row = [e, cost.J, data, reg, grad, 2 * e + 1, None]
        assert h.rows()[-1] == row
        want.append(row)
    assert h.rows() == want and h.n == 10
    text = h.take()
    assert text == ",".join(COLUMNS) + "\n" + "".join(line(r) + "\n" for r in want)
    assert h.record()["sha256"] == hashlib.sha256(text.encode()).hexdigest() and h.rows() == []
    assert list(h.J) == [r[1] for r in want]
    h.add(10, Cost.of(0.5, 0.0))  # into the place of row 0, whose ‖∇J‖ and count were written: empty again
    assert h.rows() == [[10, 0.5, 0.5, 0.0, None, None, None]]


def test_a_cost_column_equal_to_another_or_constant_keeps_each_cells_own_text():
    """J = J_data when λ = 0, and J_reg = 0 throughout, are formatted once; -0.0 stays -0.0."""
    h = History(["epoch", "cost", "data_cost", "reg_cost"])
    rows = [[0, 0.5, 0.5, 0.0], [1, 0.1 + 0.2, 0.1 + 0.2, 0.0], [2, 0.0, -0.0, 0.0], [3, 2.5, 2.5, -0.0]]
    for r in rows:
        h.append(r)
    assert h.take().splitlines()[1:] == [line(r) for r in rows] == ["0,0.5,0.5,0.0", f"1,{0.1 + 0.2!r},{0.1 + 0.2!r},0.0",
                                                                   "2,0.0,-0.0,0.0", "3,2.5,2.5,-0.0"]


def test_an_epoch_without_a_cost_leaves_its_cost_cells_empty_and_its_J_nan():
    h = History(["epoch", "cost", "data_cost", "reg_cost", "grad_norm"])
    h.add(0, Cost.of(1.0, 0.5))
    h.add(1, None)  # a minibatch epoch whose J was not computed (log.train_cost: logged)
    h.add(2, Cost.of(0.25, 0.5))
    assert h.take().splitlines()[1:] == ["0,1.5,1.0,0.5,", "1,,,,", "2,0.75,0.25,0.5,"]
    J = h.J
    assert J[0] == 1.5 and np.isnan(J[1]) and J[2] == 0.75
    h.add(3, Cost.of(0.125, 0.0))
    assert list(h.J_since(2)) == [0.75, 0.125] and list(h.J_since(3)) == [0.125]  # taken rows and held ones


@pytest.mark.parametrize("bad, says", [([0, float("inf"), None], "not finite"), ([0, float("nan"), None], "not finite"),
                                       ([0.5, 1.0, None], "epoch 0.5 is not an integer")])
def test_a_cell_metrics_csv_cannot_hold_is_refused_when_taken(bad, says):
    h = History(["epoch", "cost", "grad_norm"])
    h.append(bad)
    with pytest.raises(ValueError, match=says):
        h.take()


# ----------------------------------------------------------------------------- the seconds column

CLOCKED = ["epoch", "cost", "grad_norm", "seconds"]


def test_seconds_are_written_to_the_millisecond_and_left_out_of_the_checkpoints_record():
    """The same rows with and without a seconds column: the file gets its cells (3 decimals, empty where a row
    has none), the record — columns, row count and digest — is that of the rows without it."""
    clocked, plain = History(CLOCKED), History(CLOCKED[:-1])
    takes = [[[0, 1.5, 0.25, 0.0626], [1, 1.25, None, None]],  # the header with the first
             [[2, 1.0, None, None]],  # no seconds cell at all among the rows taken
             [[3, 0.75, 0.125, 2.0004999], [4, 0.5, None, 1234.5]]]
    texts = []
    for rows in takes:
        for r in rows:
            clocked.append(r)
            plain.append(r[:-1])
        texts.append(clocked.take())
        plain.take()
        assert clocked.record() == plain.record()
    assert "".join(texts) == ("epoch,cost,grad_norm,seconds\n0,1.5,0.25,0.063\n1,1.25,,\n2,1.0,,\n"
                              "3,0.75,0.125,2.000\n4,0.5,,1234.500\n")
    assert clocked.record() == {"file": "metrics.csv", "columns": CLOCKED[:-1], "rows": 5, "sha256": hashlib.sha256(
        b"epoch,cost,grad_norm\n0,1.5,0.25\n1,1.25,\n2,1.0,\n3,0.75,0.125\n4,0.5,\n").hexdigest()}


def clocked_file(tmp_path, rows, columns=CLOCKED):
    """metrics.csv of these rows, and the record a checkpoint after them holds."""
    h = History(columns)
    for r in rows:
        h.append(r)
    path = tmp_path / "metrics.csv"
    path.write_text(h.take(), encoding="utf-8")
    return path, h.record()


def test_a_resume_checks_the_rows_less_their_seconds_and_goes_on_from_the_last_seconds_cell(tmp_path):
    path, record = clocked_file(tmp_path, [[0, 1.5, 0.25, 0.5], [1, 1.25, None, None], [2, 1.0, 0.125, 2.25],
                                           [3, 0.75, None, None]])
    h, text = History.resumed(path, record, CLOCKED, tmp_path / "last.npz")
    assert h.columns == CLOCKED and h.seconds == 2.25 and text == path.read_bytes() and h.n == 4
    assert list(h.J) == [1.5, 1.25, 1.0, 0.75]
    # the seconds are no part of the digest: a hand may change them; a cell that is no number is passed over
    path.write_text(path.read_text().replace(",2.250\n", ",junk\n"))
    h, _ = History.resumed(path, record, CLOCKED, tmp_path / "last.npz")
    assert h.seconds == 0.5
    h.append([4, 0.5, 0.0625, 3.0])
    assert h.take() == "4,0.5,0.0625,3.000\n"  # no header again: the file has it
    path.write_text(path.read_text().replace("0,1.5,", "0,1.25,"))  # any other cell is checked, as ever
    with pytest.raises(RunIOError, match="metrics.csv was changed"):
        History.resumed(path, record, CLOCKED, tmp_path / "last.npz")


def test_a_metrics_csv_written_before_the_seconds_column_resumes_without_it(tmp_path):
    """A run folder of an older nettrain: its header has no seconds; the resumed history keeps its columns, and
    its rows and record go on as that nettrain wrote them."""
    path, record = clocked_file(tmp_path, [[0, 1.5, 0.25], [1, 1.25, None]], CLOCKED[:-1])
    h, _ = History.resumed(path, record, CLOCKED, tmp_path / "last.npz")
    assert h.columns == CLOCKED[:-1] and h.seconds == 0.0
    h.append([2, 1.0, 0.125])
    with open(path, "a", encoding="utf-8") as f:
        f.write(h.take())
    assert path.read_text() == "epoch,cost,grad_norm\n0,1.5,0.25\n1,1.25,\n2,1.0,0.125\n"
    assert h.record()["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- in a run folder

IRIS = Path(__file__).resolve().parent.parent / "configs" / "iris.yaml"


def seconds_cells(run_dir):
    """metrics.csv's header, and {epoch: seconds} of the rows that have a seconds cell."""
    lines = (run_dir / "metrics.csv").read_text().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    return lines[0].split(","), {int(r[0]): float(r[-1]) for r in rows if r[-1]}


def test_a_fit_writes_its_seconds_on_the_logged_rows_and_last_npz_records_the_rows_without_them(tmp_path):
    res = fit_config(IRIS, ["train.epochs=40", "log.every=10"], out=tmp_path / "r")
    header, seconds = seconds_cells(tmp_path / "r")
    assert header[-1] == "seconds" and list(seconds) == [0, 10, 20, 30, 40]  # the logged rows, and no others
    values = list(seconds.values())
    assert values == sorted(values) and 0 < values[0] and values[-1] <= res.seconds + 0.0005  # rounded to 1 ms
    # what last.npz records of metrics.csv is what nettrain recorded before the column: its other columns' text
    text = (tmp_path / "r" / "metrics.csv").read_bytes()
    less = b"".join(line.rsplit(b",", 1)[0] + b"\n" for line in text.splitlines())
    record = ckpt.read_meta(tmp_path / "r" / "last.npz")["metrics"]
    assert record == {"file": "metrics.csv", "columns": header[:-1], "rows": 41,
                      "sha256": hashlib.sha256(less).hexdigest()}


def test_a_resume_continues_the_clock_and_an_older_folder_resumes_without_the_column(tmp_path):
    """A resumed run's seconds go on from the last logged row's; a run folder written before the column (its
    metrics.csv without it: last.npz's record of it is the same) resumes and stays without it. Both end with
    the uninterrupted run's weights, checkpoint bytes and every other cell."""
    sets = ["train.epochs=40", "log.every=10"]
    fit_config(IRIS, sets, out=tmp_path / "whole")
    fit_config(IRIS, ["train.epochs=20", "log.every=10"], out=tmp_path / "new")
    before = seconds_cells(tmp_path / "new")[1]
    shutil.copytree(tmp_path / "new", tmp_path / "old")
    metrics = tmp_path / "old" / "metrics.csv"
    metrics.write_bytes(b"".join(line.rsplit(b",", 1)[0] + b"\n" for line in metrics.read_bytes().splitlines()))
    resumed = {}
    for name in ("new", "old"):
        resumed[name] = fit_config(IRIS, sets, out=tmp_path / name, resume=True)
        assert (tmp_path / name / "last.npz").read_bytes() == (tmp_path / "whole" / "last.npz").read_bytes()
    header, after = seconds_cells(tmp_path / "new")
    assert list(after) == [0, 10, 20, 30, 40] and all(after[e] == before[e] for e in before)  # rows kept as written
    assert before[20] <= after[30] <= after[40]  # on from the first run's 20 epochs, not from 0
    summary = json.loads((tmp_path / "new" / "summary.json").read_text())  # the run's seconds, both sessions
    assert after[40] <= summary["seconds"] == round(resumed["new"].seconds, 4) and summary["seconds"] > before[20]
    assert metrics_less_seconds(tmp_path / "new" / "metrics.csv") == metrics_less_seconds(
        tmp_path / "whole" / "metrics.csv")
    whole = (tmp_path / "whole" / "metrics.csv").read_bytes().splitlines()
    assert metrics.read_bytes() == b"".join(line.rsplit(b",", 1)[0] + b"\n" for line in whole)
    assert b"seconds" not in metrics.read_bytes() and whole[0].endswith(b",seconds")


def test_a_finished_run_that_lost_its_summary_gets_one_with_the_runs_seconds(tmp_path):
    """Killed after its last checkpoint, before summary.json: the resume that finds nothing to train writes
    summary.json with the run's seconds (its rows' last and this session's), not this session's alone."""
    fit_config(IRIS, ["train.epochs=40", "log.every=10"], out=tmp_path / "r")
    (tmp_path / "r" / "summary.json").unlink()
    last = seconds_cells(tmp_path / "r")[1][40]
    fit_config(IRIS, ["train.epochs=40", "log.every=10"], out=tmp_path / "r", resume=True)
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["seconds"] >= last > 0


def test_several_clock_columns_would_each_get_a_cell_or_stay_empty():
    """history._clock_ends for more than the one clock column there is: a row's cells in order, NaN empty."""
    assert _clock_ends(np.array([[1.0, np.nan], [2.5, 3.0]])) == [",1.000,2.500\n", ",,3.000\n"]
    assert _clock_ends(np.array([[0.0625, 1234.5]])) == [",0.062\n", ",1234.500\n"]  # the one column
