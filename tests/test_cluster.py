"""nettrain.cluster: the train split summed on Dask workers equals the sum in this process, on any number of
workers, through a killed worker; the validation and test splits are held and measured there too, the client
receiving sums alone; a lost scheduler, an unreachable address, a minibatch config and a missing dask each end
with one clear line. A scheduler killed or stopped under a real `nettrain fit` process ends it with nettrain's
line alone: Dask's own log lines are held back (nettrain.cluster.quiet_dask) unless NETTRAIN_DASK_LOGS=1 or
--debug asks for them.

The clusters are real processes on 127.0.0.1: a LocalCluster started by nettrain (address: local), or a
`dask scheduler` and `dask worker`s started here on free ports (--no-nanny, so that SIGKILL really removes a
worker), always stopped by the fixtures' finalizers. The data is a small .npy file; the configs set
train.chunk_size to the partition width, so a cluster run and a local run sum the same chunks in the same
order and agree bit for bit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Optional

import numpy as np
import pytest

from nettrain import checkpoint as ckpt
from nettrain import config as config_mod
from nettrain.cluster import partitions as pt
from nettrain.errors import ClusterError, ConfigError
from nettrain.trainer import SilentReporter

from .helpers import fit_config
from .runfolders import metrics_less_seconds

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "NETTRAIN_DASK_LOGS"}  # Dask's log lines held back, by default
ENV.update(PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
M, TRAIN = 600, 480  # rows in the file; rows in the train split (0.8)
PARTITIONS, WIDTH = 4, 120  # 480 / 4



@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(M, 8)) * 3 + 5
    y = (X[:, 0] + X[:, 1] > 10).astype(float) + (X[:, 2] > 5)  # three classes
    path = tmp_path_factory.mktemp("data") / "rows.npy"
    np.save(path, np.column_stack([X, y]))
    return path


def spec(data_file: Path, address: Optional[str] = "local", **train) -> dict:
    """The test config as a dict (address None: no cluster section)."""
    cluster = {"address": address, "partitions": PARTITIONS, **({"workers": 2} if address == "local" else {})}
    return {"name": "c", "data": {"path": str(data_file), "standardize": False,
                                  "split": {"train": 0.8, "val": 0.2, "test": 0.0}},
            "model": {"layers": [8, 6, 3], "output_activation": "softmax"}, "loss": "cross_entropy",
            "train": {"optimizer": "gd", "learning_rate": 0.5, "epochs": 12, "chunk_size": WIDTH, **train},
            "log": {"every": 3, "checkpoint_every": 2}, **({"cluster": cluster} if address else {})}


def config(data_file: Path, address: str = "local", **train) -> config_mod.Config:
    return config_mod.config_from_dict(spec(data_file, address, **train))


def local(cfg: config_mod.Config) -> config_mod.Config:
    """The same config trained in this process (train.chunk_size is already the partition width)."""
    return config_mod.config_from_dict(config_mod.config_to_dict(cfg), overrides={"cluster": None})


def weights(run_dir: Path) -> dict:
    params, _ = ckpt.load_checkpoint(run_dir / "last.npz")
    return params.blocks()


def assert_same_run(a: Path, b: Path) -> None:
    """Bit for bit: the final weights and every row of metrics.csv (but for its seconds)."""
    wa, wb = weights(a), weights(b)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert metrics_less_seconds(a / "metrics.csv") == metrics_less_seconds(b / "metrics.csv")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dask:
    """A `dask scheduler` and its `dask worker`s as processes of this test; stop() kills every one left."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.procs, self.workers = tmp, [], []
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.scheduler = self._start(["scheduler", "--host", "127.0.0.1", "--port", self.address.rsplit(":", 1)[1],
                                      "--no-dashboard"], "scheduler")

    def _start(self, args: list, name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}-{len(self.procs)}.log", "wb")
        p = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]], env=ENV,
                             stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        log.close()
        self.procs.append(p)
        return p

    def add_workers(self, n: int) -> None:
        for _ in range(n):
            self.workers.append(self._start(["worker", self.address, "--nworkers", "1", "--nthreads", "1",
                                             "--no-dashboard", "--no-nanny", "--host", "127.0.0.1"], "worker"))
        self.wait_for(len([w for w in self.workers if w.poll() is None]))

    def wait_for(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="20s") as client:
            client.wait_for_workers(n, timeout=60)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)


@pytest.fixture
def dask_cluster(tmp_path):
    d = Dask(tmp_path)
    yield d
    d.stop()


class KillAt(SilentReporter):
    """A reporter that SIGKILLs a process when the run reports epoch `epoch` (after that step's files).

    mid_step: SIGSTOP it then, and SIGKILL it 0.5 s later from another thread: the next step's tasks are
    then waiting on the frozen worker when it dies, so the step under way is the one that loses it."""

    def __init__(self, epoch: int, proc: subprocess.Popen, mid_step: bool = False) -> None:
        self.epoch, self.proc, self.mid_step = epoch, proc, mid_step

    def progress(self, epoch: int) -> None:
        if epoch == self.epoch and self.mid_step:
            self.proc.send_signal(signal.SIGSTOP)
            threading.Timer(0.5, self.proc.send_signal, (signal.SIGKILL,)).start()
        elif epoch == self.epoch:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


# ----------------------------------------------------------------------------- no cluster needed


def test_partitions_are_the_chunks_of_a_local_run():
    assert pt.bounds(480, 4) == [(0, 120), (120, 240), (240, 360), (360, 480)]
    assert pt.bounds(10, 4) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert pt.bounds(3, 8) == [(0, 1), (1, 2), (2, 3)]  # never an empty partition


def test_minibatch_on_a_cluster_is_refused_with_the_reason(data_file):
    with pytest.raises(ConfigError, match=r"train\.batch_size: minibatch steps do not run on a cluster.*"
                                          r"train\.batch_size=null"):
        config(data_file, batch_size=32)
    config(data_file, optimizer="lbfgs", batch_size=32)  # L-BFGS ignores batch_size (the config warns)


def test_cluster_keys_are_set_like_any_other(data_file, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {{path: {data_file}}}\nmodel: {{layers: [8, 3]}}\n")
    cfg = config_mod.load_config(path, ["cluster.address=tcp://10.0.0.5:8786"])
    assert (cfg.cluster.address, cfg.cluster.workers, cfg.cluster.partitions) == ("tcp://10.0.0.5:8786", None, None)
    assert config_mod.load_config(path).cluster is None
    with pytest.raises(ConfigError, match=r"^--set cluster\.address=10\.0\.0\.5: must be local or tcp://host:port"):
        config_mod.load_config(path, ["cluster.address=10.0.0.5"])
    cfg = config_mod.load_config(path, ["cluster.workers=3", "cluster.address=tcp://10.0.0.5:8786"])
    assert cfg.warnings() == ["cluster.workers applies to address: local only; the workers of tcp://10.0.0.5:8786 "
                              "are those started with dask worker: it is ignored"]
    assert config_mod.load_config(path, ["cluster=null"]).cluster is None


def test_import_nettrain_does_not_import_dask():
    code = ("import sys, nettrain, nettrain.trainer, nettrain.cluster, nettrain.cluster.partitions;"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True).stdout
    assert out.strip() == "[]"


def test_a_cluster_section_without_dask_is_one_line_naming_the_install_command(data_file, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {{path: {data_file}}}\nmodel: {{layers: [8, 3]}}\ncluster: {{address: local}}\n")
    code = ("import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None\n"
            f"sys.argv = ['nettrain', 'fit', {str(path)!r}, '--out', {str(tmp_path / 'run')!r}]\n"
            "from nettrain.cli import main; main()")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and 'pip install -e ".[dask]"' in res.stderr, res.stderr
    assert not (tmp_path / "run").exists()


def test_an_address_that_does_not_answer_fails_within_seconds_naming_it(data_file, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match=f"cluster.address {address} does not answer") as e:
        fit_config(config(data_file, address), out=tmp_path / "run")
    assert time.monotonic() - t0 < 15 and "\n" not in str(e.value)
    assert not (tmp_path / "run").exists()


@pytest.fixture
def event_loop_thread():
    """An asyncio loop running in a thread of its own, as a Dask client's does (stopped after the test)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


class FlakyClient:
    """A stand-in for distributed.Client whose first `failures` gathers fail as a lost worker's do; its scatter,
    gather and wait_for_workers are coroutines, as a Client's methods are when called on its event loop.
    hang: the gather never ends (a scheduler that stopped answering); answers: whether it answers a ping."""

    def __init__(self, failures: int, loop: asyncio.AbstractEventLoop, hang: bool = False,
                 answers: bool = True) -> None:
        self.failures, self.scattered, self.hang, self.status = failures, 0, hang, "running"
        self.loop = types.SimpleNamespace(asyncio_loop=loop)
        self.scheduler = types.SimpleNamespace(identity=self._identity)
        self.answers = answers

    async def _identity(self):
        if not self.answers:
            await asyncio.Event().wait()  # a stopped scheduler keeps its connection open and never replies
        return {"workers": {}}

    async def scatter(self, value, hash=True):
        self.scattered += 1
        return value

    def submit(self, fn, *args, pure=True):
        return (fn, args)

    async def gather(self, futures):
        if self.hang:
            await asyncio.Event().wait()
        if self.failures:
            self.failures -= 1
            from distributed.comm.core import CommClosedError

            raise CommClosedError("in <TCP (closed) ConnectionPool.gather>: Stream is closed")
        return [fn(*args) for fn, args in futures]

    async def wait_for_workers(self, n, timeout=None):
        pass


def test_a_step_that_loses_a_worker_is_retried_whole_then_given_up_in_one_line(monkeypatch, caplog,
                                                                                 event_loop_thread):
    pytest.importorskip("distributed")
    from nettrain.cluster import session as sn

    monkeypatch.setattr(sn.Session, "_scheduler_lost", lambda self: None)
    s = sn.Session(FlakyClient(2, event_loop_thread), None, "tcp://10.0.0.5:8786")
    with caplog.at_level("WARNING", logger="nettrain.cluster"):
        assert s.each(np.add, [1, 2], np.float64(10)) == [11, 12]
    assert s.client.scattered == 3  # θ sent again with every attempt: a scatter is not recomputed by Dask
    assert caplog.text.count("a step was retried after losing a worker at tcp://10.0.0.5:8786") == 2
    s = sn.Session(FlakyClient(sn.RETRIES + 1, event_loop_thread), None, "tcp://10.0.0.5:8786")
    with pytest.raises(ClusterError, match=rf"^a step failed {sn.RETRIES + 1} times on the cluster at "
                                           r"tcp://10\.0\.0\.5:8786, losing workers each time \(last: CommClosedError"):
        s.each(np.add, [1, 2], np.float64(10))
    monkeypatch.setattr(sn.Session, "_scheduler_lost", lambda self: "its connection closed")
    s = sn.Session(FlakyClient(1, event_loop_thread), None, "tcp://10.0.0.5:8786")
    with pytest.raises(ClusterError, match=r"^lost the scheduler at tcp://10\.0\.0\.5:8786 \(its connection closed "
                                           r"during a step\)$"):
        s.each(np.add, [1, 2], np.float64(10))


def test_a_step_waiting_on_a_scheduler_that_stopped_answering_ends_after_beat_plus_ping(monkeypatch,
                                                                                      event_loop_thread):
    """The gather never returns: after BEAT s the scheduler is pinged, and after PING_TIMEOUT s without an
    answer the step ends in one line; while it answers, the step keeps waiting (a long step is not a fault)."""
    pytest.importorskip("distributed")
    from nettrain.cluster import session as sn

    monkeypatch.setattr(sn, "BEAT", 0.1)
    monkeypatch.setattr(sn, "PING_TIMEOUT", 0.2)
    s = sn.Session(FlakyClient(0, event_loop_thread, hang=True, answers=False), None, "tcp://10.0.0.5:8786")
    with pytest.raises(ClusterError, match=r"^lost the scheduler at tcp://10\.0\.0\.5:8786 \(no answer within "
                                           r"0\.2 s during a step\)$"):
        s.each(np.add, [1, 2], np.float64(10))
    pings = []
    client = FlakyClient(0, event_loop_thread, hang=True)
    s = sn.Session(client, None, "tcp://10.0.0.5:8786")
    real = sn.Session._scheduler_lost

    def lost(self):  # the scheduler answers three pings, then its connection closes
        pings.append(real(self))
        if len(pings) == 3:
            client.status = "closing"
        return pings[-1]

    monkeypatch.setattr(sn.Session, "_scheduler_lost", lost)
    with pytest.raises(ClusterError, match=r"^lost the scheduler at tcp://10\.0\.0\.5:8786 \(its connection closed "
                                           r"during a step\)$"):
        s.each(np.add, [1, 2], np.float64(10))
    assert pings == [None, None, None, "its connection closed"]  # the fourth look: without waiting for BEAT


def test_a_scheduler_whose_connection_closed_is_lost_at_once_without_waiting_for_the_ping(monkeypatch,
                                                                                         event_loop_thread):
    pytest.importorskip("distributed")
    from nettrain.cluster import session as sn

    monkeypatch.setattr(sn, "PING_TIMEOUT", 0.2)
    assert sn.Session(FlakyClient(0, event_loop_thread), None, "x")._scheduler_lost() is None
    silent = FlakyClient(0, event_loop_thread, answers=False)
    assert sn.Session(silent, None, "x")._scheduler_lost() == "no answer within 0.2 s"
    monkeypatch.setattr(sn, "PING_TIMEOUT", 1e6)  # would never end, if the ping were waited for
    silent.status = "connecting"  # Dask reconnects after its connection closed, its futures all cancelled
    assert sn.Session(silent, None, "x")._scheduler_lost() == "its connection closed"
    silent.status = "running"
    threading.Timer(0.2, setattr, (silent, "status", "closed")).start()  # closes while the ping waits
    assert sn.Session(silent, None, "x")._scheduler_lost() == "its connection closed"


# ----------------------------------------------------------------------------- real clusters


def test_a_local_cluster_run_equals_the_run_in_this_process(data_file, tmp_path):
    """… and its header names the cluster, with one warning that this problem is too small to pay for it."""
    class Said(SilentReporter):
        def __init__(self) -> None:
            self.info, self.notes = {}, []

        def start(self, info: dict) -> None:
            self.info = info

        def note(self, text: str) -> None:
            self.notes.append(text)

    cfg, said = config(data_file), Said()
    fit_config(cfg, out=tmp_path / "cluster", reporter=said)
    fit_config(local(cfg), out=tmp_path / "here")
    assert_same_run(tmp_path / "cluster", tmp_path / "here")
    assert said.info["on"] == f"a local Dask cluster (2 workers, {PARTITIONS} partitions)"
    (warning,) = [n for n in said.notes if "round trip" in n]
    assert "it trains faster in this process (--set cluster=null); a cluster pays from about" in warning


def test_the_cluster_advice_says_when_a_step_is_below_its_round_trip():
    from nettrain import cluster

    per_example = 3 * (64 * 25 + 25 * 10)  # the digits' multiply-adds per example
    small = cluster.step_advice(1437 * per_example, per_example)  # 8 M multiply-adds: about 1.6 ms
    assert small.startswith("a step of this problem computes in about 1.6 ms on one core")
    assert "pays from about 270,270 rows" in small  # 10 round trips of 30 ms at 5·10⁹ a second, ÷ 5,550 per row
    assert cluster.step_advice(2_000_000 * per_example, per_example) is None  # 2 M rows: 2.2 s a step


def test_a_sparsity_penalty_on_a_cluster_equals_the_run_in_this_process(data_file, tmp_path):
    """The penalty's first pass (Σ a⁽²⁾) and its hidden-δ term go through the partitions too: the same bits."""
    d = config_mod.config_to_dict(config(data_file, epochs=6))
    d["model"]["sparsity"] = {"target": 0.1, "weight": 0.5}
    cfg = config_mod.config_from_dict(d)
    res = fit_config(cfg, out=tmp_path / "cluster")
    fit_config(local(cfg), out=tmp_path / "here")
    assert_same_run(tmp_path / "cluster", tmp_path / "here")
    assert "sparse_cost" in res.cost.parts and res.cost.parts["sparse_cost"] > 0


def test_autoencode_and_features_are_refused_on_a_cluster_naming_the_key(data_file):
    d = config_mod.config_to_dict(config(data_file))
    d["data"]["features"] = ["x0", "x1"]
    with pytest.raises(ConfigError, match=r"data.features: is not supported on a cluster yet.*cluster=null"):
        config_mod.config_from_dict(d)


def test_zca_whitening_fitted_from_the_partitions_sums_equals_the_run_in_this_process(data_file, tmp_path):
    """data.whiten on a cluster: the ZCA fitted from Σ x̂ and Σ (x̂ − μ)ᵀ(x̂ − μ) summed by partition, applied
    by the workers to the rows of every split: the run agrees with one in this process."""
    d = config_mod.config_to_dict(config(data_file, epochs=5))
    d["data"]["standardize"] = True
    d["data"]["whiten"] = {"method": "zca", "epsilon": 0.1}
    cfg = config_mod.config_from_dict(d)
    res = fit_config(cfg, out=tmp_path / "cluster")
    here = fit_config(local(cfg), out=tmp_path / "here")
    a, b = ckpt.read_meta(tmp_path / "cluster" / "last.npz"), ckpt.read_meta(tmp_path / "here" / "last.npz")
    np.testing.assert_allclose(a["whitening"]["matrix"], b["whitening"]["matrix"], rtol=1e-10, atol=1e-12)
    wa, wb = weights(tmp_path / "cluster"), weights(tmp_path / "here")
    for k in wa:
        np.testing.assert_allclose(wa[k], wb[k], rtol=1e-9, atol=1e-12)
    assert res.val["data_cost"] == pytest.approx(here.val["data_cost"], rel=1e-9)


def test_one_two_and_four_workers_give_the_same_bits_and_a_local_run_to_1e_12(data_file, dask_cluster, tmp_path):
    cfg = config(data_file, dask_cluster.address, optimizer="lbfgs", epochs=8)
    cfg = config_mod.config_from_dict(config_mod.config_to_dict(cfg), overrides={"data.standardize": True})
    for n in (1, 2, 4):
        dask_cluster.add_workers(n - len(dask_cluster.workers))
        res = fit_config(cfg, out=tmp_path / f"w{n}")
    assert_same_run(tmp_path / "w1", tmp_path / "w2")
    assert_same_run(tmp_path / "w1", tmp_path / "w4")
    here = fit_config(local(cfg), out=tmp_path / "here")  # statistics of standardisation: combined differently
    wc, wh = weights(tmp_path / "w4"), weights(tmp_path / "here")
    for k in wc:
        np.testing.assert_allclose(wc[k], wh[k], rtol=1e-12, atol=1e-12 * np.abs(wh[k]).max())
    assert res.train["accuracy"] == here.train["accuracy"]
    assert abs(res.cost.J - here.cost.J) <= 1e-12 * here.cost.J


def largest(obj) -> int:
    """The most numbers any one array (or list) inside obj holds: what a task's result brings to the client."""
    if isinstance(obj, np.ndarray):
        return obj.size
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        return max([len(obj) if isinstance(obj, list) else 0] + [largest(v) for v in obj])
    return 0


def test_every_split_is_held_and_summed_on_the_workers_the_client_holding_no_row(data_file, tmp_path, monkeypatch):
    """A cluster run with val and test splits, then eval of each: every task's result the client gathers holds
    no more numbers than θ (75) — sums and confusion matrices, never a split's rows (60 to 480 of them) — the
    client's problem holds no split but the workers' futures, it reads the file's header alone, and the
    numbers are a local run's, bit for bit (compared as JSON: a class never predicted has NaN scores alike)."""
    import json

    from nettrain import data as data_mod
    from nettrain import evaluation, trainer
    from nettrain.cluster import session as sn
    from nettrain.evaluation import evaluate_run

    d = config_mod.config_to_dict(config(data_file, epochs=4))
    d["data"]["split"] = {"train": 0.8, "val": 0.1, "test": 0.1}
    cfg = config_mod.config_from_dict(d)
    received, read, problems = [], [], []
    each, real_read = sn.Session.each, data_mod.read_rows
    monkeypatch.setattr(sn.Session, "each", lambda self, *a: (lambda r: (received.append(largest(r)), r)[1])(
        each(self, *a)))
    monkeypatch.setattr(data_mod, "read_rows", lambda path, start, stop, *a, **k: (
        read.append(stop - start), real_read(path, start, stop, *a, **k))[1])
    monkeypatch.setattr(data_mod, "read_table", None)  # never called here for a cluster's data file
    for module in (trainer, evaluation):
        real = module.load_problem
        monkeypatch.setattr(module, "load_problem", lambda *a, real=real, **k: (lambda p: (problems.append(p), p)[1])(
            real(*a, **k)))
    res = fit_config(cfg, out=tmp_path / "cluster")
    on_cluster = {split: evaluate_run(tmp_path / "cluster", split=split) for split in ("val", "test")}
    monkeypatch.undo()
    theta = sum((a + 1) * b for a, b in zip(cfg.model.layers, cfg.model.layers[1:]))
    assert theta == 75 and received and max(received) <= theta, max(received)
    assert read and max(read) <= 1  # the header's first row
    assert len(problems) == 3 and sorted(problems[0].sources) == ["test", "train", "val"]
    assert [sorted(p.sources) for p in problems[1:]] == [["val"], ["test"]]
    for p in problems:
        assert p.splits == {} and all(isinstance(s, sn.ClusterSums) for s in p.sources.values())
        for source in p.sources.values():
            assert max(largest(v) for v in vars(source).values()) <= theta  # θ and ∇J buffers, the futures
    fit_config(config_mod.config_from_dict(d, overrides={"cluster": None}), out=tmp_path / "here")
    for split, got in on_cluster.items():
        here = evaluate_run(tmp_path / "here", split=split)
        assert json.dumps({**got, "checkpoint": ""}, sort_keys=True) == json.dumps({**here, "checkpoint": ""},
                                                                                   sort_keys=True)
    assert on_cluster["val"]["data_cost"] == res.val["data_cost"] and on_cluster["val"]["m"] == M // 10
    assert on_cluster["test"]["accuracy"] == res.test["accuracy"] and on_cluster["test"]["m"] == M // 10


@pytest.mark.robustness
def test_a_worker_killed_mid_run_is_survived_bit_for_bit(data_file, dask_cluster, tmp_path):
    dask_cluster.add_workers(3)
    cfg = config(data_file, dask_cluster.address, optimizer="momentum")
    # while a step waits on the worker: the step fails and is retried, or Dask recomputes what the worker
    # held (which of the two depends on whether θ was on it); between steps: Dask recomputes its partitions
    fit_config(cfg, out=tmp_path / "killed", reporter=KillAt(3, dask_cluster.workers[0], mid_step=True))
    fit_config(cfg, out=tmp_path / "killed-between", reporter=KillAt(5, dask_cluster.workers[1]))
    fit_config(local(cfg), out=tmp_path / "here")
    assert_same_run(tmp_path / "killed", tmp_path / "here")
    assert_same_run(tmp_path / "killed-between", tmp_path / "here")


@pytest.mark.robustness
def test_a_lost_scheduler_ends_the_run_in_one_line_and_it_resumes_here(data_file, dask_cluster, tmp_path):
    dask_cluster.add_workers(1)
    cfg = config(data_file, dask_cluster.address)
    t0 = time.monotonic()
    with pytest.raises(ClusterError) as e:
        fit_config(cfg, out=tmp_path / "run", reporter=KillAt(5, dask_cluster.scheduler))
    message = str(e.value)
    assert "\n" not in message and f"lost the scheduler at {dask_cluster.address}" in message, message
    assert "holds epoch 4" in message and "resume=True" in message and "cluster=null" in message, message
    assert time.monotonic() - t0 < 30
    assert ckpt.read_meta(tmp_path / "run" / "last.npz")["epoch"] == 4  # intact: the checkpoint of epoch 4
    resumed = fit_config(config_mod.config_from_dict(config_mod.config_to_dict(cfg), overrides={"cluster": None}),
                       out=tmp_path / "run", resume=True)
    assert resumed.resumed_from == 4 and resumed.epoch == 12
    fit_config(local(cfg), out=tmp_path / "here")
    assert_same_run(tmp_path / "run", tmp_path / "here")


def test_a_csv_on_a_cluster_equals_the_run_in_this_process_and_the_client_reads_no_row(data_file, tmp_path,
                                                                                      monkeypatch):
    """A csv file: its label set from the workers' scan of spans, the train and val splits held and summed by
    them; the client parses only the header row — and the run equals a run in this process."""
    import pandas as pd

    A = np.load(data_file)
    csv = tmp_path / "rows.csv"
    frame = pd.DataFrame(A[:, :8], columns=[f"x{j}" for j in range(8)])
    frame["label"] = np.array(["a", "b", "c"])[A[:, 8].astype(int)]
    frame.to_csv(csv, index=False, float_format="%.17g")
    d = config_mod.config_to_dict(config(data_file, epochs=5))
    d["data"]["path"] = str(csv)
    d["data"]["standardize"] = True
    cfg = config_mod.config_from_dict(d)
    from nettrain import data as data_mod

    read = []
    real = data_mod.read_rows
    monkeypatch.setattr(data_mod, "read_rows", lambda path, start, stop, *a, **k: (read.append(stop - start),
                                                                                   real(path, start, stop, *a, **k))[1])
    monkeypatch.setattr(data_mod, "read_table", None)  # never called here for a cluster's data file
    res = fit_config(cfg, out=tmp_path / "cluster")
    monkeypatch.undo()
    assert read and max(read) <= 1  # in this process: the header's first row
    here = fit_config(local(cfg), out=tmp_path / "here")
    assert res.train["accuracy"] == here.train["accuracy"] and res.val["labels"] == ["a", "b", "c"]
    wa, wb = weights(tmp_path / "cluster"), weights(tmp_path / "here")
    for k in wa:  # the statistics are summed by partition: the last bits may differ
        np.testing.assert_allclose(wa[k], wb[k], rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- Dask's own log lines


# loggers that Dask's config leaves showing ERROR (tornado itself it sets to CRITICAL)
DASK_LOGGERS = ("distributed", "distributed.client", "distributed.core", "distributed.utils", "tornado.application",
                "asyncio")


def levels() -> dict:
    """The levels of the loggers quiet_dask holds back, and of every one below them that has a level set: the
    state it must leave as it found it."""
    roots = ("distributed", "tornado", "asyncio")
    return {name: logger.level for name, logger in logging.Logger.manager.loggerDict.items()
            if isinstance(logger, logging.Logger) and name.split(".")[0] in roots
            and (logger.level != logging.NOTSET or name in roots)}


def test_quiet_dask_holds_back_dask_tornado_and_asyncio_below_critical_and_puts_every_level_back(monkeypatch):
    pytest.importorskip("distributed")
    from nettrain.cluster import SHOW_DASK_LOGS, quiet_dask

    monkeypatch.delenv(SHOW_DASK_LOGS, raising=False)
    logging.getLogger("distributed.client").setLevel(logging.WARNING)  # as Dask's config sets it
    before = levels()
    assert all(logging.getLogger(name).isEnabledFor(logging.ERROR) for name in DASK_LOGGERS)
    with pytest.raises(RuntimeError):  # however the block ends
        with quiet_dask():
            made_inside = logging.getLogger("distributed.comm.made_inside_the_block")
            for logger in [made_inside] + [logging.getLogger(name) for name in DASK_LOGGERS]:
                assert not logger.isEnabledFor(logging.ERROR), logger.name
                assert logger.isEnabledFor(logging.CRITICAL), logger.name  # a bug in Dask stays visible
            assert logging.getLogger("nettrain.cluster").isEnabledFor(logging.WARNING)  # nettrain's own lines
            raise RuntimeError("the block ends with an error")
    assert levels() == before
    assert all(logging.getLogger(name).isEnabledFor(logging.ERROR) for name in DASK_LOGGERS)
    with quiet_dask(), quiet_dask():  # nested (a sweep around its sessions): the outer block restores
        assert not logging.getLogger("distributed.client").isEnabledFor(logging.ERROR)
    assert levels() == before
    monkeypatch.setenv(SHOW_DASK_LOGS, "1")
    with quiet_dask():  # the switch: nothing held back, nothing changed
        assert logging.getLogger("distributed.client").isEnabledFor(logging.WARNING)
        assert levels() == before


def test_debug_lets_dask_log_lines_through_for_its_command_only(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from nettrain import cli
    from nettrain import config as config_mod
    from nettrain.cluster import SHOW_DASK_LOGS
    from nettrain.render import fit as render_fit

    monkeypatch.delenv(SHOW_DASK_LOGS, raising=False)
    seen = []
    monkeypatch.setattr(config_mod, "load_config", lambda *a, **k: None)
    monkeypatch.setattr(render_fit, "run_fit", lambda *a, **k: seen.append(os.environ.get(SHOW_DASK_LOGS)))
    for args in (["--debug", "fit", "c.yaml"], ["fit", "c.yaml"]):
        assert CliRunner().invoke(cli.app, args).exit_code == 0
        assert SHOW_DASK_LOGS not in os.environ  # put back when the command ends
    assert seen == ["1", None]


def write_config(tmp: Path, data_file: Path, **train) -> Path:
    """The test config as a YAML file without a cluster section (a command line adds it with --set)."""
    import yaml

    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(spec(data_file, None, **train)))
    return path


class Fit:
    """`python -m nettrain fit` in a process of its own, its stdout and stderr in files of tmp."""

    def __init__(self, tmp: Path, *args: str, env: Optional[dict] = None) -> None:
        self.out, self.err = tmp / "fit.out", tmp / "fit.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "nettrain", "fit", *args], cwd=tmp, stdout=out,
                                         stderr=err, env=dict(ENV, **(env or {})))

    def wait_for(self, ready, what: str, timeout: float = 60) -> None:
        """Until ready() is true; the test fails if the run ends, or the time runs out, before it."""
        end = time.monotonic() + timeout
        while not ready():
            assert self.proc.poll() is None and time.monotonic() < end, f"no {what}: {self.err.read_text()}"
            time.sleep(0.005)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """(exit code, stdout, stderr); the process is killed if it has not ended in `timeout` s (and the test
        fails)."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        return code, self.out.read_text(), self.err.read_text()


def resume_command(message: str) -> list:
    """The command in a lost scheduler's line (`continue with nettrain fit … (on the cluster …`), as argv."""
    command = re.search(r"continue with (nettrain fit .*?) \(on the cluster", message).group(1)
    return shlex.split(command)[2:]  # after `nettrain fit`


@pytest.mark.robustness
@pytest.mark.parametrize("shown", [False, True], ids=["quiet", "NETTRAIN_DASK_LOGS"])
def test_a_killed_scheduler_ends_fit_with_nettrain_s_line_alone_and_it_resumes_here(data_file, dask_cluster,
                                                                                  tmp_path, shown):
    """A real `nettrain fit` process, its scheduler SIGKILLed mid-run: exit 8 and one line naming the command
    that resumes; nothing of Dask's on either stream (no reconnect errors, no CancelledError traceback) — unless
    NETTRAIN_DASK_LOGS=1 asks for them. The command in the line, with --set cluster=null, finishes the run here,
    the same bits as a run that never left this process."""
    dask_cluster.add_workers(2)
    cfg = write_config(tmp_path, data_file, epochs=150)
    fit = Fit(tmp_path, str(cfg), "--set", f"cluster.address={dask_cluster.address}", "--set",
              f"cluster.partitions={PARTITIONS}", "--out", "run", env={"NETTRAIN_DASK_LOGS": "1"} if shown else None)
    fit.wait_for((tmp_path / "run" / "checkpoints" / "epoch-30.npz").exists, "checkpoint of epoch 30")
    dask_cluster.scheduler.kill()
    t0 = time.monotonic()
    code, out, err = fit.finish()
    print(f"scheduler killed → nettrain exited: {time.monotonic() - t0:.2f} s")
    epoch = ckpt.read_meta(tmp_path / "run" / "last.npz")["epoch"]
    assert code == 8 and 30 <= epoch < 150, err
    line = err.splitlines()[-1]
    assert re.fullmatch(rf"nettrain: cluster error: lost the scheduler at {dask_cluster.address} \(its connection "
                        rf"closed during a step\); run/last\.npz "
                        rf"holds epoch {epoch}: continue with nettrain fit {cfg} --set cluster\.address=\S+ --set "
                        rf"cluster\.partitions={PARTITIONS} --resume --out run \(on the cluster, or here with --set "
                        r"cluster=null\)", line), line
    if shown:  # the switch works: Dask's own lines are there, before nettrain's
        assert "distributed." in err.split(line)[0], err
        return
    assert err == line + "\n"
    assert "Traceback" not in out + err and "distributed." not in out + err and "Error" not in out
    res = subprocess.run([sys.executable, "-m", "nettrain", "fit", *resume_command(line), "--set", "cluster=null"],
                         cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and f"resuming [8, 6, 3] on {TRAIN} examples with gd, epoch {epoch} → 150" in res.stdout
    assert ckpt.read_meta(tmp_path / "run" / "last.npz")["epoch"] == 150
    fit_config(config(data_file, None, epochs=150), out=tmp_path / "here")
    assert_same_run(tmp_path / "run", tmp_path / "here")


@pytest.mark.robustness
def test_a_scheduler_that_stops_answering_in_the_first_steps_ends_fit_in_one_line(data_file, dask_cluster, tmp_path):
    """The scheduler SIGSTOPped while a step waits (its connections stay open, nothing fails): the run ends with
    one line, exit 8, BEAT + PING_TIMEOUT seconds after the stop (7 s), and nothing of Dask's. The workers prepare
    the problem (its label set and statistics), then are frozen as soon as training starts, so that the step under
    way — the first, or one of the first few — cannot be over when the scheduler stops."""
    from nettrain.cluster import session as sn

    dask_cluster.add_workers(1)
    fit = Fit(tmp_path, str(write_config(tmp_path, data_file, epochs=100000)), "--set",
              f"cluster.address={dask_cluster.address}", "--out", "run")
    fit.wait_for(lambda: "training [8, 6, 3]" in fit.out.read_text(), "first step")
    for worker in dask_cluster.workers:
        worker.send_signal(signal.SIGSTOP)
    dask_cluster.scheduler.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    for worker in dask_cluster.workers:
        worker.send_signal(signal.SIGCONT)
    code, out, err = fit.finish()
    print(f"scheduler stopped → nettrain exited: {time.monotonic() - t0:.2f} s "
          f"(bound BEAT + PING_TIMEOUT = {sn.BEAT + sn.PING_TIMEOUT:g} s, and the process's exit)")
    assert code == 8 and err.startswith(f"nettrain: cluster error: lost the scheduler at {dask_cluster.address} (no "
                                        f"answer within {sn.PING_TIMEOUT:g} s during a step)"), err
    assert len(err.splitlines()) == 1 and "Traceback" not in out and "distributed." not in out
    last = tmp_path / "run" / "last.npz"
    assert not last.exists() or ckpt.read_meta(last)["epoch"] <= 5  # stopped in the first steps
