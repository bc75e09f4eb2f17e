"""The epoch loop: the same numbers as a plain loop, resume and threads change no bit, chunk and
thread choices, float32, and training straight from a memory-mapped .npy file."""

import math

import numpy as np
import pytest

from nettrain import data as data_mod
from nettrain import checkpoint as ckpt
from nettrain import network, parallel, train
from nettrain.errors import Diverged
from nettrain.network import Architecture, Params, init_params
from nettrain.sums import backprop
from nettrain.errors import CheckpointError, RunIOError
from nettrain.evaluation import evaluate_run
from nettrain.history import History
from nettrain.problem import initial_params, load_problem

from .helpers import fit_config
from .runfolders import metrics_less_seconds



def problem(layers=(5, 8, 3), act="sigmoid", out="softmax", loss="cross_entropy", m=40, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    arch = Architecture(layers, act, out, loss)
    params = init_params(layers, "glorot_uniform", rng, dtype=dtype)
    x = rng.normal(size=(layers[0], m)).astype(dtype)
    y = np.eye(layers[-1], dtype=dtype)[:, rng.integers(0, layers[-1], m)]
    return arch, params, x, y


def copy(p: Params) -> Params:
    return p.copy()


def gd(arch, params, x, y, alpha, lam, epochs, on_epoch=None, **kw):
    """Gradient descent through train.minimize; on_epoch(e, cost, params, grads as Params, final)."""
    def on_step(s):
        if on_epoch is not None:
            g = network.flat_params(arch.layers, s.theta.vec.dtype)
            g.vec[:] = s.grad()
            return on_epoch(s.epoch, s.cost, s.params, g.params, s.final)
    return train.minimize(arch, params, x, y, lam=lam, optimizer="gd", epochs=epochs, on_step=on_step,
                          learning_rate=alpha, **kw)


def same_bits(a: Params, b: Params) -> bool:
    return all(np.array_equal(a.W[l], b.W[l]) and np.array_equal(a.b[l], b.b[l]) for l in a.W)


def test_gradient_descent_is_the_plain_loop():
    """θ_{e+1} = θ_e − α∇J(θ_e), J(θ_e) reported for every e: against a loop written with backprop()."""
    arch, p0, x, y = problem()
    alpha, lam, epochs = 0.7, 0.01, 12
    seen = []
    res = gd(arch, copy(p0), x, y, alpha, lam, epochs,
                                 on_epoch=lambda e, c, p, g, final: seen.append((e, c.J, final)))
    p = copy(p0)
    for e in range(epochs + 1):
        c, g = backprop(arch, p, x, y, lam)
        assert seen[e][:2] == (e, pytest.approx(c.J, rel=1e-13))
        if e < epochs:
            for l in p.W:
                p.W[l] = p.W[l] - alpha * g.W[l]
                p.b[l] = p.b[l] - alpha * g.b[l]
    assert [f for *_, f in seen] == [False] * epochs + [True]
    assert (res.epoch, res.reason) == (epochs, "done")
    for l in p.W:
        np.testing.assert_allclose(res.params.W[l], p.W[l], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(res.params.b[l], p.b[l], rtol=1e-12, atol=1e-15)


def test_the_callback_sees_the_gradient_and_the_caller_params_are_not_touched():
    arch, p0, x, y = problem()
    before = copy(p0)
    grads = []
    gd(arch, p0, x, y, 0.5, 0.0, 2, on_epoch=lambda e, c, p, g, final: grads.append(
        (c.J, backprop(arch, p, x, y, 0.0)[1], g.copy())))
    assert same_bits(p0, before)
    for _, want, got in grads:
        for l in want.W:
            np.testing.assert_allclose(got.W[l], want.W[l], rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("chunk_size", [None, 7])
def test_resume_is_bit_identical(chunk_size):
    """Stopping at epoch 5 and starting again from θ_5 gives θ_20 bit for bit."""
    arch, p0, x, y = problem()
    whole = gd(arch, copy(p0), x, y, 0.9, 0.003, 20, chunk_size=chunk_size)
    half = gd(arch, copy(p0), x, y, 0.9, 0.003, 5, chunk_size=chunk_size)
    rest = gd(arch, half.params.copy(), x, y, 0.9, 0.003, 20, start_epoch=5,
                                  chunk_size=chunk_size)
    assert rest.epoch == 20 and rest.cost == whole.cost
    assert same_bits(rest.params, whole.params)


def test_a_pool_changes_no_bit():
    arch, p0, x, y = problem(layers=(6, 10, 4), m=300)
    one = gd(arch, copy(p0), x, y, 0.5, 0.01, 8, chunk_size=64)
    with parallel.Pool(2) as pool:
        two = gd(arch, copy(p0), x, y, 0.5, 0.01, 8, chunk_size=64, pool=pool)
    assert one.cost == two.cost and same_bits(one.params, two.params)


def test_chunks_change_only_rounding():
    arch, p0, x, y = problem(m=90)
    a = gd(arch, copy(p0), x, y, 0.5, 0.01, 10)
    b = gd(arch, copy(p0), x, y, 0.5, 0.01, 10, chunk_size=16)
    assert b.cost.J == pytest.approx(a.cost.J, rel=1e-12)
    for l in a.params.W:
        np.testing.assert_allclose(b.params.W[l], a.params.W[l], rtol=1e-11, atol=1e-14)


def test_divergence_carries_the_last_finite_state():
    arch, p0, x, y = problem(act="relu", out="identity", loss="squared_error")
    seen = {}
    with pytest.raises(Diverged) as info:
        gd(arch, copy(p0), x * 100, y, 50.0, 0.0, 200,
                               on_epoch=lambda e, c, p, g, final: seen.__setitem__(e, (c.J, p.copy())))
    d = info.value
    assert d.last_epoch == d.epoch - 1 and math.isfinite(d.last_cost.J)
    assert same_bits(d.last_params, seen[d.last_epoch][1])


def test_float32_stays_float32():
    arch, p0, x, y = problem(dtype=np.float32)
    res = gd(arch, p0, x, y, np.float64(0.5), np.float64(0.01), 3)
    assert all(v.dtype == np.float32 for v in res.params.blocks().values())
    p64 = Params({l: w.astype(np.float64) for l, w in p0.W.items()}, {l: v.astype(np.float64) for l, v in p0.b.items()})
    ref = gd(arch, p64, x.astype(np.float64), y.astype(np.float64), 0.5, 0.01, 3)
    assert res.cost.J == pytest.approx(ref.cost.J, rel=1e-5)


def test_chunk_width_and_threads_follow_the_problem_size():
    tiny = Architecture((2, 3, 1))
    assert train.epoch_flops(tiny, 4) == 3 * 4 * (2 * 3 + 3 * 1)
    assert train.chunk_width(tiny, 4) == 4  # small: one chunk
    assert train.blas_threads(tiny, 4, cores=2) == 1
    big = Architecture((784, 128, 10))
    w = train.chunk_width(big, 10_000)
    n = -(-10_000 // w)
    assert n >= 2 and n % 2 == 0 and w >= train.MIN_CHUNK  # even: two threads stay equally busy
    assert train.blas_threads(big, 10_000, cores=2) == 2
    assert train.chunk_width(big, 10_000, None, np.float32) >= w  # fewer bytes per example: wider chunks
    assert train.chunk_width(big, 10_000, chunk_size=333) == 333
    assert train.chunk_width(big, 100, chunk_size=333) == 100


def test_for_training_gives_a_pool_only_when_it_pays():
    tiny = Architecture((2, 3, 1))
    with parallel.for_training(tiny, 4) as pool:
        assert pool is None
    big = Architecture((784, 128, 10))
    with parallel.for_training(big, 10_000, threads=2) as pool:
        assert pool is not None and pool.size == 2
    with parallel.for_training(big, 10_000, chunk_size=10_000, threads=2) as pool:
        assert pool is None  # one chunk: BLAS gets the threads instead


def test_train_threads_reaches_the_pool_and_changes_no_bit_of_a_chunked_run(tmp_path, monkeypatch):
    """train.threads: 2 on a problem the automatic rule keeps on one thread shares its chunks between
    two workers; the run folder's weights and metrics.csv are those of the one-thread run, and
    a resume may change the setting."""
    from pathlib import Path

    sizes = []
    real = parallel.Pool

    class Recorded(real):
        def __init__(self, size):
            sizes.append(size)
            super().__init__(size)

    monkeypatch.setattr(parallel, "Pool", Recorded)
    monkeypatch.setattr(parallel, "cores", lambda: 2)  # as on the 2-core machine this runs on
    config = Path(__file__).resolve().parent.parent / "configs" / "iris.yaml"
    sets = ["train.epochs=30", "log.every=1", "train.chunk_size=40"]
    fit_config(config, sets, out=tmp_path / "one")
    assert sizes == []  # automatic: iris is far below train.PARALLEL_MIN_FLOPS
    fit_config(config, sets + ["train.threads=2"], out=tmp_path / "two")
    assert sizes == [2]
    assert metrics_less_seconds(tmp_path / "one" / "metrics.csv") == metrics_less_seconds(
        tmp_path / "two" / "metrics.csv")
    one, _ = ckpt.load_checkpoint(tmp_path / "one" / "last.npz")
    two, meta = ckpt.load_checkpoint(tmp_path / "two" / "last.npz")
    assert same_bits(one, two) and meta["config"]["train"]["threads"] == 2
    fit_config(config, sets + ["train.threads=2", "train.epochs=40"], out=tmp_path / "one", resume=True)
    assert sizes == [2, 2]


def test_pool_runs_in_order_with_the_callers_errstate_and_raises_errors():
    with parallel.Pool(3) as pool:
        with np.errstate(over="ignore", invalid="raise"):
            got = pool.run(lambda k: (k, np.geterr()["over"], np.geterr()["invalid"]), [(0,), (1,), (2,)])
        assert got == [(0, "ignore", "raise"), (1, "ignore", "raise"), (2, "ignore", "raise")]

        def boom(k):
            if k == 1:
                raise ValueError("helper failed")
            return k

        with pytest.raises(ValueError, match="helper failed"):
            pool.run(boom, [(0,), (1,)])
        assert pool.run(lambda k: k * 10, [(0,), (1,), (2,)]) == [0, 10, 20]  # still usable
    with pytest.raises(RuntimeError):
        pool.run(lambda k: k, [(0,)])


# ----------------------------------------------------------------------------- a memory-mapped .npy


def write_npy(path, m=300, n=6, k=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    A = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(m, n + 1))
    A[:, :n] = rng.normal(2.0, 3.0, (m, n))
    A[:, n] = rng.integers(0, k, m)
    A.flush()
    del A


CONFIG = """name: mm
seed: 3
data: {{path: {path}, task: classification, standardize: {std}, split: {{train: {train}, val: {val}, test: 0.0}}}}
model: {{layers: [6, 5, 3], activation: sigmoid, output_activation: softmax}}
loss: cross_entropy
train: {{learning_rate: 0.5, weight_decay: 0.001, epochs: 6, dtype: {dtype}, chunk_size: {chunk}}}
log: {{every: 2}}
"""


@pytest.mark.parametrize("std", ["false", "true"])
@pytest.mark.parametrize("train_frac, val", [(1.0, 0.0), (0.7, 0.3)])
def test_mapped_rows_read_what_transform_x_gives(tmp_path, std, train_frac, val):
    path = tmp_path / "d.npy"
    write_npy(path)
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(CONFIG.format(path=path, std=std, train=train_frac, val=val, dtype="float32", chunk="null"))
    from nettrain import config as config_mod

    cfg = config_mod.load_config(cfg_path)
    lazy, eager = load_problem(cfg, lazy=True), load_problem(cfg)
    X, _ = lazy.splits["train"]
    assert isinstance(X, data_mod.MappedRows) and len(X) == len(eager.splits["train"][0])
    x_lazy, y_lazy = lazy.columns("train")
    x_eager, y_eager = eager.columns("train")
    assert x_lazy.shape == x_eager.shape
    np.testing.assert_array_equal(x_lazy[:, :], x_eager)
    np.testing.assert_array_equal(x_lazy[:, 17:40], x_eager[:, 17:40])
    assert isinstance(y_lazy, data_mod.MappedTargets)  # the targets too are read a chunk at a time
    np.testing.assert_array_equal(y_lazy[:, :], y_eager)
    if val:  # the validation split stays on disk too
        assert isinstance(lazy.splits["val"][0], data_mod.MappedRows)
        x_lazy, y_lazy = lazy.columns("val")
        x_eager, y_eager = eager.columns("val")
        np.testing.assert_array_equal(x_lazy[:, :], x_eager)
        np.testing.assert_array_equal(y_lazy[:, :], y_eager)


@pytest.mark.parametrize("std", ["false", "true"])
def test_fit_from_a_memory_map_equals_fit_from_memory(tmp_path, std):
    """runs.fit trains a .npy's train split chunk by chunk from the map: the same bits as training
    on the same split held in memory."""
    path = tmp_path / "d.npy"
    write_npy(path)
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(CONFIG.format(path=path, std=std, train=0.8, val=0.2, dtype="float32", chunk=64))
    res = fit_config(cfg_path, out=tmp_path / "run")
    from nettrain import checkpoint as ckpt
    from nettrain import config as config_mod

    cfg = config_mod.load_config(cfg_path)
    eager = load_problem(cfg)
    x, y = eager.columns("train")
    assert isinstance(x, np.ndarray)
    p0 = initial_params(cfg, eager.arch, np.float32)
    want = gd(eager.arch, p0, x, y, 0.5, 0.001, 6, chunk_size=64)
    got, _ = ckpt.load_checkpoint(tmp_path / "run" / "last.npz")
    assert res.cost == want.cost
    assert same_bits(got, want.params)


# ----------------------------------------------------------------------------- what a run logs


def test_history_formats_each_row_once_and_records_the_digest_of_the_file_text(tmp_path):
    import hashlib

    h = History(["epoch", "cost", "grad_norm"])
    h.append([0, np.float64(0.5), None])
    h.append([1, 0.1 + 0.2, 1e-300])
    first = h.take()
    assert first == f"epoch,cost,grad_norm\n0,0.5,\n1,{0.1 + 0.2!r},1e-300\n"
    # cells of other types read the same: numpy scalars; a count column (epoch, evaluations) holds integers
    odd = History(["epoch", "cost", "evaluations"])
    odd.append([np.int64(7), np.float32(0.1), 3])
    odd.append([7.0, -0.0, np.int64(4)])
    odd.append([8, np.float64(-2.5e-308), 5.0])
    assert odd.take().splitlines()[1:] == [f"7,{float(np.float32(0.1))!r},3", "7,-0.0,4", "8,-2.5e-308,5"]
    h.append([2, 0.25, 2.0])
    assert h.take() == "2,0.25,2.0\n" and h.take() == ""  # each row once
    text = first + "2,0.25,2.0\n"
    assert h.record() == {"file": "metrics.csv", "columns": ["epoch", "cost", "grad_norm"], "rows": 3,
                          "sha256": hashlib.sha256(text.encode()).hexdigest()}
    assert list(h.J) == [0.5, 0.1 + 0.2, 0.25] and h.n == 3
    for bad in ([0, float("inf"), None], [0.5, 1.0, None]):  # JSON/CSV readers disagree on inf; epochs are integers
        b = History(h.columns)
        b.append(bad)
        with pytest.raises(ValueError):
            b.take()

    # resumed: the rows a record names, checked, without the rows written after it
    f = tmp_path / "metrics.csv"
    f.write_text(text + "3,0.125,\n4,0.0625,")  # a row after the checkpoint, and a partial one
    r, kept = History.resumed(f, h.record(), h.columns, tmp_path / "last.npz")
    assert kept == text.encode() and r.n == 3 and list(r.J) == [0.5, 0.1 + 0.2, 0.25]
    r.append([3, 0.5, None])
    assert r.take() == "3,0.5,\n"
    for damaged, says in [(text.replace("0.25", "0.26"), "was changed"), (first, "has 2 rows"),
                          (first + "2,0.2", "has 2 rows"),  # killed inside the row the checkpoint names
                          ("x" * (1 << 17) + "\n" + text, "was changed")]:  # not a file nettrain wrote: not read whole
        f.write_text(damaged)
        with pytest.raises(RunIOError, match=says + r": .*last\.npz was saved after rows 0 … 2 of it; restore"):
            History.resumed(f, h.record(), h.columns, tmp_path / "last.npz")
    f.unlink()
    with pytest.raises(RunIOError, match=r"metrics\.csv is missing: .* start a new run from these weights with --set model\.init\.from="):
        History.resumed(f, h.record(), h.columns, tmp_path / "last.npz")
    for record in ({"rows": 3}, dict(h.record(), rows=0), dict(h.record(), rows=-1), dict(h.record(), columns=["e"])):
        with pytest.raises(CheckpointError, match="no valid record of metrics.csv"):
            History.resumed(f, record, h.columns, tmp_path / "last.npz")


def test_a_checkpoint_costs_the_same_at_epoch_10_and_at_epoch_4000(tmp_path):
    """The history lives in metrics.csv; a checkpoint names its rows by count and digest, so its size
    (and the time to save it) does not grow with the run."""
    from pathlib import Path

    config = Path(__file__).resolve().parent.parent / "configs" / "xor.yaml"
    sizes = {}
    for epochs in (10, 4000):
        fit_config(config, [f"train.epochs={epochs}", "log.every=1"], out=tmp_path / str(epochs))
        sizes[epochs] = (tmp_path / str(epochs) / "last.npz").stat().st_size
        assert (tmp_path / str(epochs) / "metrics.csv").read_text().count("\n") == epochs + 2
    assert abs(sizes[4000] - sizes[10]) <= 64, sizes  # a few more digits in the epoch (4 bytes a character)


def test_the_logged_row_is_what_eval_measures_to_the_last_bit(tmp_path):
    """The last metrics row's J is the summary's train J, and its val_data_cost and val_accuracy are what
    `nettrain eval --split val` reports: one forward computation (SplitMetrics) for all of them."""
    import csv
    from pathlib import Path

    config = Path(__file__).resolve().parent.parent / "configs" / "iris.yaml"
    sets = ["train.epochs=60", "log.every=20", "log.checkpoint_every=0", "train.chunk_size=17"]
    res = fit_config(config, sets, out=tmp_path / "run")
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    last = rows[-1]
    assert int(last["epoch"]) == 60
    assert float(last["cost"]) == res.train["cost"] == res.cost.J
    assert float(last["val_data_cost"]) == res.val["data_cost"]
    ev = evaluate_run(tmp_path / "run", split="val")
    assert ev["data_cost"] == res.val["data_cost"] and ev["cost"] == res.val["cost"]
    assert float(last["val_accuracy"]) == ev["accuracy"] == res.val["accuracy"]
    assert sum(map(sum, ev["confusion"])) == ev["m"]
    assert 0.5 < ev["accuracy"] <= 1.0


def test_minibatches_from_a_memory_map_equal_minibatches_from_memory(tmp_path):
    """A .npy's train split read from disk (x and y as column sources): minibatch steps gather their rows
    from it as from the same split in memory — the same bits."""
    path = tmp_path / "d.npy"
    write_npy(path)
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(CONFIG.format(path=path, std="true", train=0.8, val=0.2, dtype="float32", chunk=64))
    sets = ["train.batch_size=32", "train.optimizer=adam", "train.learning_rate=0.01"]
    res = fit_config(cfg_path, sets, out=tmp_path / "run")
    from nettrain import config as config_mod

    cfg = config_mod.load_config(cfg_path, sets)
    eager = load_problem(cfg)
    x, y = eager.columns("train")
    rng = np.random.default_rng(cfg.seed)
    p0 = initial_params(cfg, eager.arch, np.float32, rng)
    want = train.minimize(eager.arch, p0, x, y, lam=0.001, optimizer="adam", epochs=6, chunk_size=64, batch_size=32,
                          rng=rng, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8)
    got, _ = ckpt.load_checkpoint(tmp_path / "run" / "last.npz")
    assert res.cost == want.cost and same_bits(got, want.params)
