"""A split's metrics from additive sums over its chunks (evaluation.SplitMetrics over any source of sums): the same
numbers as the whole split held in memory — bit for bit where the chunking matches, to 1e-12 where it does not —
for a classification, a regression and a sparse autoencoder; a split read from a memory map holds a few chunks
of rows at a time, whatever its size; eval, early stopping and best.npz on those sums; predictions written a
chunk at a time."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc

import numpy as np
import pytest

from nettrain import config as config_mod
from nettrain import data as data_mod
from nettrain import metrics, network, prediction
from nettrain.evaluation import SplitMetrics, evaluate_run, split_metrics
from nettrain.problem import initial_params, load_problem
from nettrain.sums import Backprop

from .helpers import fit_config

M, N = 240, 5
TASKS = {  # model, loss and data keys of each task
    "classification": ({"layers": [N, 4, 3], "output_activation": "softmax"}, "cross_entropy", {}),
    "regression": ({"layers": [N, 4, 2], "activation": "tanh", "output_activation": "identity"}, "squared_error",
                   {"task": "regression", "target": ["-2", "-1"]}),
    "autoencode": ({"layers": [N + 1, 3, N + 1], "output_activation": "sigmoid",
                    "sparsity": {"target": 0.2, "weight": 0.5}},
                   "squared_error", {"task": "autoencode", "standardize": False, "scale": {"min": -8, "max": 12}}),
}


def write_npy(path, m=M, n=N, seed=0, targets=1):
    rng = np.random.default_rng(seed)
    A = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(m, n + targets))
    A[:, :n] = rng.normal(2.0, 3.0, (m, n))
    A[:, n] = rng.integers(0, 3, m)
    if targets == 2:
        A[:, n + 1] = A[:, 0] * 2 - A[:, 1] + rng.normal(0, 0.3, m)
    A.flush()
    return path


def config(path, task, chunk=None, **more):
    model, loss, data = TASKS[task]
    split = {"train": 0.5, "val": 0.25, "test": 0.25}
    d = {"name": "e", "seed": 4, "data": {"path": str(path), "split": split, **data},
         "model": {**model, "init": {"std": 0.5}}, "loss": loss,
         "train": {"learning_rate": 0.3, "epochs": 4, "chunk_size": chunk, "dtype": "float64"}, "log": {"every": 1}}
    for key, value in more.items():
        d[key] = {**d.get(key, {}), **value}
    return config_mod.config_from_dict(d)


def measured(problem, split, params, full=True):
    return split_metrics(problem, split)(params, full)


def same(got: dict, want: dict) -> bool:
    """want's keys of got equal want's values, bit for bit (a NaN score — a class never predicted — equals NaN)."""
    return json.dumps({k: got[k] for k in want}, sort_keys=True) == json.dumps(want, sort_keys=True)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_metrics_from_chunks_equal_the_whole_split_in_memory(task, tmp_path):
    path = write_npy(tmp_path / "d.npy", targets=2 if task == "regression" else 1)
    eager = load_problem(config(path, task))  # every split in memory, one chunk each (val: 60 rows)
    params = initial_params(eager.cfg, eager.arch, np.float64)
    # the whole split in memory, measured by the in-memory formulas on the outputs its forward pass gives
    x, y = eager.columns("val")
    parts = Backprop(eager.arch, x, y, 0.0).forward_sums(params, lambda h, yc: (h.copy(), yc.copy()))
    h = np.hstack([p[0] for p in parts.parts])
    whole = (metrics.classification_metrics(h.T, y.T, eager.prep.labels) if task == "classification"
             else metrics.regression_metrics(h.T, y.T))
    got = measured(eager, "val", params)
    assert same(got, whole)  # one chunk: the same bits
    assert got["data_cost"] == parts.loss / 60
    assert got["data_cost"] == pytest.approx(network.cost(eager.arch, params, x, y).J_data, rel=1e-13)
    lazy = load_problem(config(path, task), lazy=True)  # the split read from the map, one chunk: the same bits
    assert isinstance(lazy.splits["val"][0], data_mod.MappedRows)
    assert same(measured(lazy, "val", params), got)
    chunked = load_problem(config(path, task, chunk=7), lazy=True)  # 9 chunks of 7 rows and one of 4
    assert len(chunked.sums("val").chunks) == 9
    c = measured(chunked, "val", params)
    assert sorted(c) == sorted(got)
    for key, value in got.items():
        if isinstance(value, float):
            assert c[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
        else:
            assert same({key: c[key]}, {key: value}), key  # the confusion matrix, the per-class scores
    if task == "autoencode":  # mean ρ̂ and J_sparse from Σ a⁽²⁾ over the chunks
        rho = network.forward(eager.arch, params, x)[1][2].mean(axis=1)
        assert c["rho_hat_mean"] == pytest.approx(float(rho.mean()), rel=1e-12)
        assert c["sparse_cost"] == pytest.approx(network.sparse_cost({2: rho}, network.Sparsity(0.2, 0.5)), rel=1e-12)


def test_the_cheap_validation_columns_are_the_full_metrics_own():
    """full=False (every logged epoch): J_data and the accuracy alone, the same bits as the full call's."""
    rng = np.random.default_rng(2)
    arch = network.Architecture((3, 4, 3), "sigmoid", "softmax", "cross_entropy")
    params = network.init_params(arch.layers, "normal", rng, std=0.8)
    x, y = rng.normal(size=(3, 50)), np.eye(3)[:, rng.integers(0, 3, 50)]
    sm = SplitMetrics(Backprop(arch, x, y, 0.0, width=8), 0.1, "classification", ["a", "b", "c"])
    full, cheap = sm(params), sm(params, full=False)
    assert cheap == {"cost": full["data_cost"], "data_cost": full["data_cost"], "reg_cost": 0.0,
                     "accuracy": full["accuracy"]}
    assert full["accuracy"] == np.trace(np.array(full["confusion"])) / 50


class Counted:
    """Wraps a column source's read: the widest read and the number of reads."""

    def __init__(self, monkeypatch, cls, name):
        self.widest, self.reads = 0, 0
        real = getattr(cls, name)

        def read(this, start, stop, out):
            self.widest, self.reads = max(self.widest, stop - start), self.reads + 1
            return real(this, start, stop, out)

        monkeypatch.setattr(cls, name, read)


@pytest.mark.parametrize("m", [160_000, 640_000])
def test_a_split_read_from_a_map_holds_a_few_chunks_of_rows_at_a_time(m, tmp_path, monkeypatch):
    """Measuring a mapped split of m/4 rows in chunks of 1,000: no read takes more than a chunk of rows, and the
    peak of all memory made meanwhile (tracemalloc: every numpy array and Python object) stays under 16 chunks'
    worth of rows of x̂ — whatever m is (40 or 160 chunks); the split held in memory would take m/4 rows."""
    from nettrain.data import split as split_mod

    monkeypatch.setattr(split_mod, "SCAN_ROWS", 8192)  # the anchoring pass looks at 8,192 rows at a time
    path = write_npy(tmp_path / "d.npy", m=m, n=8)
    cfg = config(path, "classification", chunk=1000)
    cfg = config_mod.config_from_dict(config_mod.config_to_dict(cfg), overrides={"model.layers": [8, 4, 3]})
    problem = load_problem(cfg, lazy=True)
    params = initial_params(cfg, problem.arch, np.float64)
    rows_read = Counted(monkeypatch, data_mod.MappedRows, "read_rows")
    targets_read = Counted(monkeypatch, data_mod.MappedTargets, "read")
    row_bytes = 8 * 8  # one row of x̂ in float64
    tracemalloc.start()
    try:
        got = measured(problem, "test", params)  # set-up (the chunks, a first read of the targets) and the pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    n_test = m // 4
    assert got["labels"] == [0, 1, 2] and sum(map(sum, got["confusion"])) == n_test
    assert rows_read.widest == targets_read.widest == 1000 and rows_read.reads == n_test // 1000
    assert peak < 16 * 1000 * row_bytes, f"{peak / (1000 * row_bytes):.1f} chunks' worth"


def test_eval_early_stopping_and_best_npz_on_a_mapped_run_s_sums(tmp_path):
    """A run trained from a .npy file: its validation columns, best.npz and eval --split val|test come from
    the sums of its mapped splits, and equal the same run's numbers from splits held in memory."""
    path = write_npy(tmp_path / "d.npy", m=400)
    cfg = config(path, "classification", chunk=30, train={"epochs": 30, "early_stopping": {"patience": 2}})
    res = fit_config(cfg, out=tmp_path / "run")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "run" / "metrics.csv").read_text())))
    val = [float(r["val_data_cost"]) for r in rows]
    assert res.reason == "early stopped" and res.best == (min(val), val.index(min(val)))
    for split in ("val", "test"):
        ev = evaluate_run(tmp_path / "run", split=split)  # best.npz, read by the chunk from the map
        assert ev["checkpoint"].endswith("best.npz") and ev["m"] == 100
        eager = load_problem(cfg)  # the same split in memory, the same chunks
        best, _ = __import__("nettrain").checkpoint.load_checkpoint(tmp_path / "run" / "best.npz")
        want = measured(eager, split, best)
        assert same(ev, want)
    assert evaluate_run(tmp_path / "run", split="val")["data_cost"] == min(val)


def test_predictions_are_written_a_chunk_at_a_time(tmp_path, monkeypatch):
    """predict on a .npy: PREDICT_ROWS rows at a time, each chunk's CSV rows written before the next chunk is read;
    the file holds every row, the labels and probabilities of the network's outputs."""
    path = write_npy(tmp_path / "d.npy", m=200)
    fit_config(config(path, "classification"), out=tmp_path / "run")
    big = write_npy(tmp_path / "big.npy", m=30_000, seed=1)
    monkeypatch.setattr(prediction, "PREDICT_ROWS", 1000)
    seen = []
    real = prediction.network_outputs
    monkeypatch.setattr(prediction, "network_outputs", lambda t, X, p: (seen.append(len(X)), real(t, X, p))[1])
    tracemalloc.start()
    try:
        header, chunks = prediction.predictions(tmp_path / "run", big)
        n = prediction.write_predictions(tmp_path / "p.csv", header, chunks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 30_000 and max(seen) == 1000 and len(seen) == 30
    assert peak < 2_000_000  # a chunk's outputs and text, not 30,000 rows of them (some 3 MB of text alone)
    got = list(csv.reader(io.StringIO((tmp_path / "p.csv").read_text())))
    assert got[0] == header == ["predicted_5", "p_0", "p_1", "p_2"] and len(got) == 30_001  # column 5: the target
    monkeypatch.undo()
    trained = __import__("nettrain").trained.load_trained(tmp_path / "run")
    h = real(trained, np.load(big)[:, :N], big)
    np.testing.assert_allclose(np.array([r[1:] for r in got[1:]], dtype=float), h, rtol=1e-12)
    assert [int(r[0]) for r in got[1:]] == np.argmax(h, axis=1).tolist()
