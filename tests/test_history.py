"""The history's rows as the training loop stores them (add, put) and as metrics.csv gets them: the same
text as repr() of every cell, whatever the columns hold."""

import hashlib

import numpy as np
import pytest

from nettrain.history import History
from nettrain.network import Cost

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
