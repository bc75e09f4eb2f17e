"""A lazy train split's targets, encoded a chunk at a time: the same columns as the eager encoding,
and no array of size m × s_nl."""

import tracemalloc

import numpy as np
import pytest

from nettrain.data import MappedRows, MappedTargets, prepare, read_table


def npy(tmp_path, m, n, targets, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    path = tmp_path / "d.npy"
    np.save(path, np.column_stack([rng.standard_normal((m, n)), targets]).astype(dtype))
    return path


def read_all(source, width):
    out = np.empty(source.shape, source.dtype)
    for start in range(0, source.shape[1], width):
        stop = min(start + width, source.shape[1])
        chunk = np.empty((source.shape[0], stop - start), source.dtype)
        out[:, start:stop] = source.read(start, stop, chunk)
    return out


CASES = [  # task, raw targets, n_outputs
    ("classification", lambda m, rng: rng.integers(0, 3, m), 3),
    ("classification", lambda m, rng: rng.integers(0, 2, m) * 2.5 - 1, 1),  # labels −1.0, 1.5: binary 0/1
    ("classification", lambda m, rng: rng.integers(0, 2, m) + 7, 2),
    ("regression", lambda m, rng: rng.standard_normal((m, 2)) * 1e3, 2),
]


@pytest.mark.parametrize("task, targets, n_outputs", CASES)
@pytest.mark.parametrize("train", [1.0, 0.6])  # the split's rows contiguous, or gathered
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_targets_columns_equal_the_eager_encoding(tmp_path, task, targets, n_outputs, train, dtype):
    m = 257
    path = npy(tmp_path, m, 4, targets(m, np.random.default_rng(1)))
    table = read_table(path, target=["-2", "-1"] if n_outputs == 2 and task == "regression" else None, task=task)
    split = {"train": train, "val": round(1 - train, 1), "test": 0.0}
    eager, _ = prepare(table, split, True, seed=3, n_outputs=n_outputs, dtype=dtype)
    lazy, pre = prepare(table, split, True, seed=3, n_outputs=n_outputs, dtype=dtype, lazy=True)
    X, y = lazy["train"]
    assert isinstance(X, MappedRows) and isinstance(y, MappedTargets)
    want = np.ascontiguousarray(eager["train"][1].T)
    assert y.shape == want.shape == (pre.n_outputs, len(X)) and y.dtype == dtype
    for width in (want.shape[1], 64, 7, 1):
        got = read_all(y, width)
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()  # bit for bit
    np.testing.assert_array_equal(y[:, 10:20], want[:, 10:20])
    if train < 1:  # the validation split is read by the chunk too, its targets and its rows
        assert isinstance(lazy["val"][1], MappedTargets)
        assert read_all(lazy["val"][1], 9).tobytes() == np.ascontiguousarray(eager["val"][1].T).tobytes()
        assert read_all(lazy["val"][0].columns(), 9).tobytes() == np.ascontiguousarray(eager["val"][0].T).tobytes()
    else:
        assert "val" not in lazy
    assert read_all(X.targets(), 50).tobytes() == want.tobytes()  # a second column source over the same rows


def test_targets_stay_in_the_map_and_memory_is_bounded_by_the_chunk(tmp_path):
    m, classes, width = 200_000, 10, 1000
    path = npy(tmp_path, m, 8, np.random.default_rng(2).integers(0, classes, m))
    table = read_table(path)
    assert isinstance(table.y_mapped, np.memmap) or isinstance(table.y_mapped.base, np.memmap)
    one_hot = m * classes * 8  # bytes of the eager encoding of the train split, float64
    tracemalloc.start()
    try:
        splits, _ = prepare(table, {"train": 1.0, "val": 0.0, "test": 0.0}, False, seed=0, lazy=True)
        _, prepare_peak = tracemalloc.get_traced_memory()
        y = splits["train"][1]
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        out = np.empty((classes, width))
        total = np.zeros(classes)
        for start in range(0, m, width):
            total += y.read(start, start + width, out).sum(axis=1)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total.sum() == m and np.array_equal(total, np.bincount(np.asarray(table.y), minlength=classes))
    assert prepare_peak < one_hot / 2  # no m × K array was made
    assert read_peak - before < 40 * width * classes * 8  # a few chunks' worth, whatever m is


def test_targets_from_memory_when_the_table_is_not_mapped(tmp_path):
    path = npy(tmp_path, 40, 3, np.repeat([0, 1, 2, 3], 10))
    table = read_table(path)
    table.y_mapped = None  # the labels as read, in memory: still encoded per chunk
    eager, _ = prepare(table, {"train": 0.75, "val": 0.25, "test": 0.0}, False, seed=0)
    lazy, _ = prepare(table, {"train": 0.75, "val": 0.25, "test": 0.0}, False, seed=0, lazy=True)
    assert read_all(lazy["train"][1], 4).tobytes() == np.ascontiguousarray(eager["train"][1].T).tobytes()
