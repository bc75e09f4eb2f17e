"""Faults during a sweep: kill -9 of the sweep at random moments, Ctrl-C, a Dask worker SIGKILLed mid-trial.
After each, the sweep resumed (or, for the worker, simply ended) holds exactly an uninterrupted sweep's
trials.csv (less seconds) and trial folders.

The sweeps run as real processes (`python -m nettrain sweep …`, one BLAS thread), each in a session of its
own so that a test can kill the whole group afterwards: a worker process of a killed sweep never outlives its
test. The worker test starts its own `dask scheduler` and `dask worker`s on 127.0.0.1 (tests/test_cluster.py's
Dask) and always stops them."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nettrain.sweep import folder as files
from nettrain.sweep import load_sweep, run_sweep

from .test_sweep import IRIS, assert_same_folder, trials_less_seconds

pytestmark = pytest.mark.robustness
pytest.importorskip("optuna")
pytest.importorskip("distributed")
ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
# 6 trials of about half a second each: a kill lands in a trial, between trials, or in the bookkeeping
SWEEP = f"""name: faults
base: {IRIS}
set: [train.epochs=2500, log.every=100, log.checkpoint_every=1000]
grid:
  train.weight_decay: [0, 1.0e-3, 1.0e-2]
  model.layers: [[4, 3, 3], [4, 8, 3]]
"""


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep file and its uninterrupted sweep, in this process."""
    top = tmp_path_factory.mktemp("faults")
    path = top / "sweep.yaml"
    path.write_text(SWEEP)
    run_sweep(load_sweep(path), out=top / "ref")
    return path, top / "ref"


def assert_same_sweep(a: Path, b: Path, trials: int = 6) -> None:
    assert trials_less_seconds(a) == trials_less_seconds(b)
    for k in range(trials):
        assert_same_folder(a / f"trial-{k}", b / f"trial-{k}")
    assert (a / "best.yaml").read_text() == (b / "best.yaml").read_text()


def start(path: Path, out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nettrain", "sweep", str(path), "--out", str(out), *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def reap(p: subprocess.Popen) -> None:
    """Whatever is left of the sweep's process group (its local workers) is killed."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(timeout=30)


def ended(out: Path) -> int:
    try:
        return sum(r["status"] != "running" for r in files.read_trials(out)[1].values())
    except Exception:  # noqa: BLE001 - not written yet
        return 0


@pytest.mark.parametrize("workers, seed", [(1, 0), (1, 1), (2, 3)])
def test_kill_9_at_a_random_moment_then_resume_equals_the_uninterrupted_sweep(reference, tmp_path, workers, seed):
    path, ref = reference
    out = tmp_path / "out"
    rng = random.Random(seed)
    k, delay = rng.randrange(6), rng.uniform(0, 0.4)  # a moment in trial k, or just after it
    p = start(path, out, "--workers", str(workers))
    try:
        deadline = time.monotonic() + 60
        while not (out / f"trial-{k}").exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.01)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)  # the sweep's own process; its local workers are left to notice
        p.wait(timeout=30)
    finally:
        reap(p)
    assert p.returncode == -signal.SIGKILL, f"the sweep ended before the kill (trial {k} + {delay:.2f} s)"
    # resumed on one worker, or on two (workers may change on a resume)
    res = run_sweep(load_sweep(path, workers=3 - workers if seed == 3 else None), out=out, resume=True)
    assert res.failed == [] and len(res.rows) == 6
    assert_same_sweep(out, ref)


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_cleanly_saying_how_to_resume(reference, tmp_path, workers):
    path, ref = reference
    for attempt in range(3):  # a sweep that ended every trial before the signal came (a starved test) is run again
        out = tmp_path / f"out-{attempt}"
        p = start(path, out, "--workers", str(workers))
        try:
            deadline = time.monotonic() + 60
            while ended(out) < 1 and time.monotonic() < deadline and p.poll() is None:
                time.sleep(0.05)
            os.killpg(p.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group (local workers ignore it)
            stdout, stderr = p.communicate(timeout=60)
        finally:
            reap(p)
        if not (p.returncode == 0 and ended(out) == 6):
            break
    assert p.returncode == 130, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("nettrain: interrupted: stopped with "), stderr
    command = f"continue with nettrain sweep {path} --workers {workers} --resume --out {out}"
    assert stderr.rstrip().endswith(command), stderr
    assert "Traceback" not in stdout + stderr
    run_sweep(load_sweep(path), out=out, resume=True)  # in this process: workers may change on a resume
    assert_same_sweep(out, ref)


def test_a_worker_killed_mid_trial_has_its_trial_run_elsewhere_with_the_same_result(reference, tmp_path):
    from .test_cluster import Dask

    path, ref = reference
    dask = Dask(tmp_path)
    try:
        dask.add_workers(2)
        # 4 trials long enough to be killed in
        text = SWEEP.replace("train.epochs=2500", "train.epochs=5000").replace("[0, 1.0e-3, 1.0e-2]", "[0, 1.0e-2]")
        ref_long = tmp_path / "ref"
        (tmp_path / "local.yaml").write_text(text)
        run_sweep(load_sweep(tmp_path / "local.yaml"), out=ref_long)
        (tmp_path / "remote.yaml").write_text(text + f"cluster: {{address: '{dask.address}'}}\n")
        out = tmp_path / "out"
        killed = []

        def kill_when_busy() -> None:  # both workers in a trial (two folders under way): kill the first worker
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                busy = [d for d in out.glob("trial-*") if (d / "metrics.csv").exists() and not
                        (d / "summary.json").exists()]
                if len(busy) == 2:
                    time.sleep(0.2)
                    dask.workers[0].send_signal(signal.SIGKILL)
                    killed.append([d.name for d in busy])
                    return
                time.sleep(0.02)

        t = threading.Thread(target=kill_when_busy)
        t.start()
        res = run_sweep(load_sweep(tmp_path / "remote.yaml"), out=out)
        t.join()
        assert killed and dask.workers[0].wait(timeout=10) == -signal.SIGKILL
        assert res.failed == [] and len(res.rows) == 4
        assert_same_sweep(out, ref_long, 4)
    finally:
        dask.stop()


def test_a_lost_scheduler_ends_the_sweep_in_one_line_and_it_resumes_here(reference, tmp_path):
    from nettrain.errors import ClusterError

    from .test_cluster import Dask

    path, ref = reference
    dask = Dask(tmp_path)
    try:
        dask.add_workers(2)
        remote = tmp_path / "remote.yaml"
        remote.write_text(SWEEP + f"cluster: {{address: '{dask.address}'}}\n")
        out = tmp_path / "out"

        def kill_after_a_trial() -> None:
            deadline = time.monotonic() + 60
            while ended(out) < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            dask.scheduler.send_signal(signal.SIGKILL)

        t = threading.Thread(target=kill_after_a_trial)
        t.start()
        t0 = time.monotonic()
        with pytest.raises(ClusterError) as e:
            run_sweep(load_sweep(remote), out=out)
        t.join()
        message = str(e.value)
        assert "\n" not in message and message.startswith(f"lost the scheduler at {dask.address}")
        assert message.endswith(f"continue with nettrain sweep {remote} --resume --out {out}")
        assert time.monotonic() - t0 < 60
    finally:
        dask.stop()
    # the cluster may change on a resume: the rest of the trials here, in this process
    local = tmp_path / "local.yaml"
    local.write_text(SWEEP)
    res = run_sweep(load_sweep(local), out=out, resume=True)
    assert res.kept >= 1 and res.failed == []
    assert_same_sweep(out, ref)
