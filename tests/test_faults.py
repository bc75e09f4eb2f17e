"""Faults during a run: kill -9, a full or read-only disk, Ctrl-C, divergence — none may cost the run.

Kill and signal tests start real processes (`python -m nettrain fit …`, one BLAS thread) and
SIGKILL or SIGINT them — at random moments drawn from seeded RNGs, or at exact points through a
small hook script that wraps `os.replace`, the .npy writer or the hard link and kills its own
process there (SIGKILL: no cleanup code runs, exactly as a crash or an OOM kill). After each fault
the run folder is checked as it was left, resumed in-process through typer's CliRunner, and compared
file by file with an uninterrupted run of the same config.

Disk failures are simulated in-process (tests run as root, so chmod cannot make a folder
read-only): the write inside nettrain.checkpoint raises OSError(ENOSPC / EACCES / EROFS) at the
k-th save. docs/reliability.md maps each guarantee to the test that proves it.
"""

from __future__ import annotations

import errno
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettrain import checkpoint as ckpt
from nettrain import runfolder
from nettrain.cli import app

from .runfolders import metrics_less_seconds

# Fault and hostile-input tests: `pytest -m "not robustness"` leaves them out of the inner loop.
pytestmark = pytest.mark.robustness

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
runner = CliRunner()

# A tiny run that saves constantly: last.npz, checkpoints/epoch-e.npz every epoch, best.npz every 5.
EPOCHS = 80
RUN_SETS = ["--set", f"train.epochs={EPOCHS}", "--set", "log.every=5", "--set", "log.checkpoint_every=1"]
TEMP = re.compile(r"^\..+\.tmp-[0-9]+")  # a temp file of an interrupted save, any writer


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def files(folder: Path) -> dict[str, bytes]:
    """relative path → bytes of every file under folder."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def temp_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if TEMP.match(p.name))


def one_line(text: str) -> str:
    lines = text.strip("\n").splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def assert_same_weights(a: Path, b: Path) -> None:
    pa, _ = ckpt.load_checkpoint(a)
    pb, _ = ckpt.load_checkpoint(b)
    assert list(pa.blocks()) == list(pb.blocks())
    for name, w in pa.blocks().items():
        assert np.array_equal(w, pb.blocks()[name]), (a, b, name)


def assert_same_run(got: Path, want: Path, exact_npz: bool = True) -> None:
    """The same files; metrics.csv (but for its seconds) and config.yaml byte-identical; every checkpoint's
    weights equal (and, with exact_npz, every checkpoint byte-identical: same weights, epoch and history)."""
    g, w = files(got), files(want)
    assert sorted(g) == sorted(w), set(g) ^ set(w)
    assert metrics_less_seconds(got / "metrics.csv") == metrics_less_seconds(want / "metrics.csv")
    assert g["config.yaml"] == w["config.yaml"]
    for name in w:
        if name.endswith(".npz"):
            if exact_npz:
                assert g[name] == w[name], name
            else:
                assert_same_weights(got / name, want / name)


def assert_state_of_reference(last: Path, ref: Path) -> int:
    """last.npz loads, whole, and is exactly the reference run's state at its epoch: old or new, never a mix."""
    params, meta = ckpt.load_checkpoint(last)
    epoch = meta["epoch"]
    assert meta["metrics"]["rows"] == epoch + 1
    if epoch > 0:  # ref keeps every epoch's checkpoint (log.checkpoint_every = 1) but the initial one
        assert_same_weights(last, ref / "checkpoints" / f"epoch-{epoch}.npz")
    return epoch


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """configs/, the small datasets, the hook script, and the uninterrupted reference run `ref`."""
    folder = tmp_path_factory.mktemp("faults")
    shutil.copytree(ROOT / "configs", folder / "configs")
    (folder / "data").mkdir()
    for name in ("xor.csv", "iris.csv", "diabetes.csv"):
        shutil.copy(ROOT / "data" / name, folder / "data" / name)
    (folder / "hook.py").write_text(HOOK)
    config = folder / "configs" / "iris.yaml"
    res = run("fit", config, *RUN_SETS, "--out", folder / "ref")
    assert res.exit_code == 0, res.output
    return folder


def cmd(project: Path, out: Path, *extra: str) -> list[str]:
    return ["fit", str(project / "configs" / "iris.yaml"), *RUN_SETS, "--out", str(out), *extra]


# A wrapper of `python -m nettrain` that kills its own process (SIGKILL) at an exact point:
#   before_replace / after_replace T N   around the N-th os.replace onto a file named T (one per save of
#                                        T, written or hard-linked)
#   mid_write T N                        inside the N-th .npy member written into a save of T
#   slow_save T N                        the N-th save of T sleeps 30 s before its rename, its temp file
#                                        complete (after touching $MARKER)
HOOK = r'''
import os, signal, sys, time
mode, target, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.argv = ["nettrain", *sys.argv[4:]]
from numpy.lib import format as npy_format
from nettrain.checkpoint import save as checkpoint
count, saving = [0], [None]
real_replace, real_create, real_write, real_link = os.replace, checkpoint._create_temp, npy_format.write_array, checkpoint._link_temp

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def replace(src, dst, *a, **k):
    hit = mode in ("before_replace", "after_replace", "slow_save") and os.path.basename(dst) == target
    count[0] += hit
    if hit and count[0] == nth and mode == "before_replace":
        die()
    if hit and count[0] == nth and mode == "slow_save":
        open(os.environ["MARKER"], "w").close()
        time.sleep(30)
    real_replace(src, dst, *a, **k)
    if hit and count[0] == nth and mode == "after_replace":
        die()

def create_temp(folder, name):
    saving[0] = name
    return real_create(folder, name)

def write_array(*a, **k):
    if mode == "mid_write" and saving[0] == target:
        count[0] += 1
        if count[0] == nth:
            die()
    return real_write(*a, **k)

def link_temp(src, folder, name):
    saving[0] = name
    return real_link(src, folder, name)

os.replace = replace
checkpoint._create_temp = create_temp
checkpoint._link_temp = link_temp
npy_format.write_array = write_array
from nettrain.cli import main
main()
'''


def hooked(project: Path, mode: str, target: str, nth: int, args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(project / "hook.py"), mode, target, str(nth), *args], cwd=project,
                          env=ENV, capture_output=True, text=True, timeout=120, **kw)


def resume_and_compare(project: Path, out: Path, leftovers: list[Path], exact_npz: bool = True) -> None:
    """fit --resume: exit 0, each leftover temp file named as swept and gone; then the run equals ref."""
    res = run(*cmd(project, out, "--resume"))
    assert res.exit_code == 0, res.output
    for tmp in leftovers:
        assert f"removed a temp file left by an interrupted save: {tmp}" in res.stdout, (tmp, res.stdout)
    assert temp_files(out) == []
    assert_same_run(out, project / "ref", exact_npz)


# ============================================================================= kill -9


def _kill_at_random(project: Path, seeds: list[int], max_delay: float) -> tuple[dict[int, Path], int]:
    """Start one run per seed (two at a time: 2 cores), SIGKILL each a seeded random delay after its
    first last.npz appears. Returns seed → run folder, and how many were killed (not finished)."""
    outs, killed = {}, 0
    for batch in [seeds[i : i + 2] for i in range(0, len(seeds), 2)]:
        live = {}
        for seed in batch:
            out = project / f"kill-{seed}"
            proc = subprocess.Popen([sys.executable, "-m", "nettrain", *cmd(project, out)], cwd=project, env=ENV,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            live[seed] = [proc, out, random.Random(seed).uniform(0.0, max_delay), None]
        deadline = time.monotonic() + 60
        while live:
            assert time.monotonic() < deadline, "a run never wrote last.npz"
            now = time.monotonic()
            for seed, (proc, out, delay, seen) in list(live.items()):
                if proc.poll() is not None:  # finished before its kill: a valid outcome too
                    del live[seed]
                elif seen is None and (out / "last.npz").exists():
                    live[seed][3] = now
                elif seen is not None and now - seen >= delay:
                    proc.send_signal(signal.SIGKILL)
                    killed += proc.wait() == -signal.SIGKILL
                    del live[seed]
            time.sleep(0.001)
        outs.update({seed: project / f"kill-{seed}" for seed in batch})
    return outs, killed


def _check_killed_run(project: Path, out: Path) -> None:
    ref = project / "ref"
    epoch = assert_state_of_reference(out / "last.npz", ref)
    for p in (out / "checkpoints").iterdir():  # every finished checkpoint is whole and a real state
        if not TEMP.match(p.name):
            assert_same_weights(p, ref / "checkpoints" / p.name)
    metrics = metrics_less_seconds(out / "metrics.csv")
    assert metrics_less_seconds(ref / "metrics.csv").startswith(metrics)  # rows are appended, never rewritten in place
    assert metrics.count("\n") >= epoch + 2  # header + rows 0 … epoch: the rows reach last.npz's epoch
    resume_and_compare(project, out, temp_files(out))


def test_kill_9_at_random_moments_never_costs_the_run(project):
    """20 runs killed at random (seeded) moments, checkpoint writes included: last.npz always loads
    and is a real state; --resume sweeps the temp files and says so; the result equals ref exactly."""
    _kill_check_resume(project, list(range(20)))


@pytest.mark.slow
def test_kill_9_at_random_moments_200_more(project):
    _kill_check_resume(project, list(range(20, 220)))


def _kill_check_resume(project: Path, seeds: list[int]) -> None:
    outs, killed = _kill_at_random(project, seeds, max_delay=0.3)
    assert killed > 0  # (here about 9 in 10 runs are killed mid-way; the rest finish first, which is fine too)
    leftovers = 0
    for seed in seeds:
        leftovers += bool(temp_files(outs[seed]))
        _check_killed_run(project, outs[seed])
        shutil.rmtree(outs[seed])
    print(f"{killed} of {len(seeds)} runs killed mid-way, {leftovers} inside a save (a temp file left behind)")


NO_CHECKPOINTS = ["--set", "log.checkpoint_every=0"]  # last.npz written in full at epoch 0 and at the end


@pytest.mark.parametrize("mode, target, nth, sets", [
    # inside the 2nd save of last.npz (5 members each), the one at the end: a partial zip
    ("mid_write", "last.npz", 5 + 3, NO_CHECKPOINTS),
    ("mid_write", "epoch-6.npz", 5, []),  # the meta member of a checkpoint, the last one written
    ("before_replace", "last.npz", 12, []),  # its temp name a hard link to checkpoints/epoch-11.npz, not yet renamed
    ("before_replace", "last.npz", 2, NO_CHECKPOINTS),  # the temp file written in full and fsynced, not yet renamed
    ("before_replace", "best.npz", 3, []),
    ("after_replace", "last.npz", EPOCHS + 1, []),  # the run's very last rename (best.npz must be on disk by then)
    ("after_replace", "epoch-40.npz", 1, []),  # epoch 40 saved; last.npz (its link) not yet
])
def test_kill_9_inside_a_checkpoint_write_keeps_the_old_file_and_resume_sweeps(project, tmp_path, mode, target, nth,
                                                                               sets):
    out = tmp_path / "run"
    killed = hooked(project, mode, target, nth, cmd(project, out, *sets))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    leftovers = temp_files(out)
    if mode != "after_replace":
        assert [p.name.split(".tmp-")[0] for p in leftovers] == [f".{target}"]  # the interrupted save's temp file
    _check_killed_run(project, out)


def test_kill_9_while_resume_rewrites_metrics_leaves_a_temp_file_that_the_next_resume_sweeps(project, tmp_path):
    out = tmp_path / "run"
    assert hooked(project, "after_replace", "last.npz", 31, cmd(project, out)).returncode == -signal.SIGKILL
    with open(out / "metrics.csv", "a") as f:  # a row begun after the checkpoint: the resume rewrites the file
        f.write("999,0.5")
    killed = hooked(project, "before_replace", "metrics.csv", 1, cmd(project, out, "--resume"))
    assert killed.returncode == -signal.SIGKILL
    leftovers = temp_files(out)
    assert [p.name.split(".tmp-")[0] for p in leftovers] == [".metrics.csv"]
    resume_and_compare(project, out, leftovers)


def test_kill_9_before_the_first_checkpoint_says_to_start_again(project, tmp_path):
    out = tmp_path / "run"
    killed = hooked(project, "before_replace", "metrics.csv", 1, cmd(project, out))  # while creating the folder
    assert killed.returncode == -signal.SIGKILL and not (out / "last.npz").exists()
    before = files(out)
    res = run(*cmd(project, out, "--resume"))
    assert res.exit_code == 7
    line = one_line(res.stderr)
    assert str(out) in line and "before its first checkpoint" in line and "remove" in line
    assert files(out) == before
    shutil.rmtree(out)  # doing what the message says gives the run
    assert run(*cmd(project, out)).exit_code == 0
    assert_same_run(out, project / "ref")


def test_planted_temp_files_of_dead_writers_are_swept_and_named_live_ones_kept(project, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(project / "ref", out)
    pid = dead_pid()
    dead = [out / f".last.npz.tmp-{pid}-deadbeef", out / "checkpoints" / f".epoch-3.npz.tmp-{pid}-0badf00d",
            out / f".metrics.csv.tmp-{pid}"]
    live = out / f".best.npz.tmp-{os.getppid()}-01234567"  # another live process may be saving: kept
    for p in [*dead, live]:
        p.write_bytes(b"PK\x03\x04 a partial archive")
    res = run(*cmd(project, out, "--resume"))
    assert res.exit_code == 0, res.output
    for p in dead:
        assert f"removed a temp file left by an interrupted save: {p}" in res.stdout
        assert not p.exists()
    assert live.exists() and str(live) not in res.stdout
    live.unlink()
    assert_same_run(out, project / "ref")


# ============================================================================= resumed = uninterrupted


def test_killed_at_half_and_resumed_equals_uninterrupted_bit_for_bit(project, tmp_path):
    """N epochs in one process vs N/2, kill -9, resume in another process: same weights, same metrics.csv."""
    sets = ["--set", "train.epochs=200", "--set", "log.every=10", "--set", "log.checkpoint_every=25"]
    args = lambda out, *x: ["fit", str(project / "configs" / "iris.yaml"), *sets, "--out", str(out), *x]
    full = subprocess.run([sys.executable, "-m", "nettrain", *args(tmp_path / "full")], cwd=project, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert full.returncode == 0, full.stderr
    # last.npz is saved at epochs 0, 25, 50, 75, 100: the 5th rename is epoch 100 = N/2
    assert hooked(project, "after_replace", "last.npz", 5, args(tmp_path / "half")).returncode == -signal.SIGKILL
    assert ckpt.read_meta(tmp_path / "half" / "last.npz")["epoch"] == 100
    resumed = subprocess.run([sys.executable, "-m", "nettrain", *args(tmp_path / "half", "--resume")], cwd=project,
                             env=ENV, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "epoch 100 → 200" in resumed.stdout
    assert_same_run(tmp_path / "half", tmp_path / "full", exact_npz=False)
    assert (tmp_path / "half" / "last.npz").read_bytes() == (tmp_path / "full" / "last.npz").read_bytes()


# ============================================================================= disk full, read-only


class FailingDisk:
    """Makes the n-th save of `target` fail inside nettrain.checkpoint with OSError(code): a written
    save after (ENOSPC) or instead of (EACCES, EROFS: the temp file cannot be created) writing to it,
    a hard-linked one (last.npz beside checkpoints/epoch-e.npz) instead of making the link."""

    def __init__(self, monkeypatch, run_dir: Path, target: str, nth: int, code: int) -> None:
        self.run_dir, self.target, self.nth, self.code = run_dir, target, nth, code
        self.count, self.saving, self.last_before = 0, None, None
        self.real_create, self.real_write, self.real_link = ckpt.save._create_temp, ckpt.save._write_npz, ckpt.save._link_temp
        monkeypatch.setattr(ckpt.save, "_create_temp", self.create_temp)
        monkeypatch.setattr(ckpt.save, "_write_npz", self.write_npz)
        monkeypatch.setattr(ckpt.save, "_link_temp", self.link_temp)

    def _hit(self, name: str) -> bool:
        if name != self.target:
            return False
        self.count += 1
        if self.count != self.nth:
            return False
        last = self.run_dir / "last.npz"
        self.last_before = last.read_bytes() if last.exists() else None
        return True

    def create_temp(self, folder, name):
        self.saving = name
        if self.code != errno.ENOSPC and self._hit(name):
            raise OSError(self.code, os.strerror(self.code), str(folder / f".{name}.tmp-x"))
        return self.real_create(folder, name)

    def write_npz(self, f, arrays):
        if self.code == errno.ENOSPC and self._hit(self.saving):
            f.write(b"PK\x03\x04" + bytes(100))  # a part of the archive went out before the disk filled
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real_write(f, arrays)

    def link_temp(self, src, folder, name):
        self.saving = name
        if self._hit(name):
            raise OSError(self.code, os.strerror(self.code), str(folder / f".{name}.tmp-x"))
        return self.real_link(src, folder, name)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS], ids=["ENOSPC", "EACCES", "EROFS"])
@pytest.mark.parametrize("target, nth, sets", [
    ("last.npz", 9, []),  # the hard link to checkpoints/epoch-8.npz
    ("last.npz", 2, NO_CHECKPOINTS),  # written in full, at the end
    ("epoch-13.npz", 1, []),
    ("best.npz", 3, []),
], ids=["last.npz-link", "last.npz-write", "epoch-13.npz", "best.npz"])
def test_write_failure_at_a_checkpoint_keeps_the_previous_one_and_says_why(project, tmp_path, monkeypatch, code,
                                                                           target, nth, sets):
    out = tmp_path / "run"
    disk = FailingDisk(monkeypatch, out, target, nth, code)
    res = run(*cmd(project, out, *sets))
    assert res.exit_code == 7, res.output
    line = one_line(res.stderr)
    failed = (out / target) if target != "epoch-13.npz" else (out / "checkpoints" / target)
    assert line.startswith(f"nettrain: I/O error: cannot save checkpoint {failed}: {os.strerror(code)} (")
    assert ("free some disk space" if code == errno.ENOSPC else "permissions") in line
    assert "Traceback" not in res.output
    assert disk.last_before is not None and (out / "last.npz").read_bytes() == disk.last_before
    assert temp_files(out) == []
    monkeypatch.undo()  # the disk has room again: the run resumes and ends as if nothing happened
    resume_and_compare(project, out, [])


def test_last_npz_is_a_hard_link_to_the_checkpoint_of_its_epoch(project):
    ref = project / "ref"
    assert os.path.samefile(ref / "last.npz", ref / "checkpoints" / f"epoch-{EPOCHS}.npz")
    assert (ref / "last.npz").stat().st_nlink == 2


def test_the_rows_a_checkpoint_names_reach_the_disk_before_it(project, tmp_path, monkeypatch):
    """A checkpoint names metrics.csv's rows by count and digest, so they are fsynced before it is:
    a power cut after the checkpoint cannot keep it and lose its rows. Every fsync is recorded; at
    each checkpoint's, metrics.csv must already be durable up to that checkpoint's rows."""
    events: list[tuple[str, int]] = []  # ("metrics", durable bytes) or ("checkpoint", rows it names)
    real = os.fsync

    def fsync(fd):
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if path.name == "metrics.csv":
            events.append(("metrics", os.fstat(fd).st_size))
        elif path.suffix != "" and ".npz.tmp-" in path.name:  # a checkpoint's temp file, complete
            real(fd)
            events.append(("checkpoint", ckpt.read_meta(path)["metrics"]["rows"]))
            return None
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "run"
    assert run(*cmd(project, out)).exit_code == 0
    lines = (out / "metrics.csv").read_bytes().splitlines(keepends=True)
    size_of = [sum(map(len, lines[: k + 1])) for k in range(len(lines))]  # header + rows 0 … k − 1
    durable, checkpoints = 0, 0
    for kind, value in events:
        if kind == "metrics":
            durable = value
        else:
            checkpoints += 1
            assert durable >= size_of[value], f"a checkpoint names {value} rows; {durable} bytes were durable"
    assert checkpoints >= EPOCHS // 2  # every checkpoint was seen (log.checkpoint_every = 1 here)


@pytest.mark.parametrize("code", [errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP], ids=["EPERM", "EXDEV", "EOPNOTSUPP"])
def test_where_hard_links_fail_last_npz_is_written_in_full(project, tmp_path, monkeypatch, code):
    def no_links(src, dst, *a, **k):  # as on FAT, some network and FUSE file systems
        raise OSError(code, os.strerror(code), str(dst))

    monkeypatch.setattr(os, "link", no_links)
    out = tmp_path / "run"
    res = run(*cmd(project, out))
    assert res.exit_code == 0, res.output
    assert not os.path.samefile(out / "last.npz", out / "checkpoints" / f"epoch-{EPOCHS}.npz")
    assert temp_files(out) == []
    assert_same_run(out, project / "ref")  # byte for byte: the same files, written instead of linked


def test_disk_full_at_the_very_first_checkpoint(project, tmp_path, monkeypatch):
    out = tmp_path / "run"
    FailingDisk(monkeypatch, out, "last.npz", 1, errno.ENOSPC)
    res = run(*cmd(project, out))
    assert res.exit_code == 7 and "No space left on device" in one_line(res.stderr)
    assert temp_files(out) == [] and not (out / "last.npz").exists()
    monkeypatch.undo()
    res = run(*cmd(project, out, "--resume"))  # nothing to resume: the message says what to do instead
    assert res.exit_code == 7 and "remove" in one_line(res.stderr)


def test_disk_full_while_appending_metrics(project, tmp_path, monkeypatch):
    out = tmp_path / "run"
    real_open, calls = open, []

    def failing_open(file, mode="r", *args, **kwargs):
        if Path(file).name == "metrics.csv" and "a" in mode:
            calls.append(file)
            if len(calls) == 20:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(runfolder, "open", failing_open, raising=False)
    res = run(*cmd(project, out))
    assert res.exit_code == 7
    line = one_line(res.stderr)
    assert f"cannot write {out / 'metrics.csv'}: No space left on device" in line
    assert ckpt.read_meta(out / "last.npz")["epoch"] == 18  # the state before the failed append: rows 0 … 18
    monkeypatch.undo()
    resume_and_compare(project, out, [])


def test_run_folder_that_cannot_be_created_is_an_io_error(project, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    res = run(*cmd(project, tmp_path / "a-file" / "run"))
    assert res.exit_code == 7
    line = one_line(res.stderr)
    assert f"cannot create {tmp_path / 'a-file' / 'run'}: Not a directory" in line
    assert (tmp_path / "a-file").read_text() == "not a folder"


# ============================================================================= Ctrl-C


def _sigint_at(project: Path, out: Path, delay: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "nettrain", *cmd(project, out)], cwd=project, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "last.npz").exists() and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    return proc


@pytest.mark.parametrize("seed", [*range(6), *(pytest.param(s, marks=pytest.mark.slow) for s in range(6, 40))])
def test_ctrl_c_saves_a_resumable_state_and_prints_the_resume_command(project, tmp_path, seed):
    out = tmp_path / "run"
    proc = _sigint_at(project, out, random.Random(1000 + seed).uniform(0.0, 0.2))
    stdout, stderr = proc.communicate(timeout=60)
    assert temp_files(out) == []
    epoch = assert_state_of_reference(out / "last.npz", project / "ref")
    if proc.returncode in (0, -signal.SIGINT):  # the signal came after the run ended (at exit: Python's own -2)
        assert epoch == EPOCHS and "evaluate with: nettrain eval" in stdout, (proc.returncode, stderr)
    else:
        assert proc.returncode == 130, (proc.returncode, stderr)
        line = one_line(stderr)
        rows = (out / "metrics.csv").read_text().splitlines()
        if "stopped at epoch" in line:  # stopped by the handler: the epoch it finished, saved, and the command
            assert f"stopped at epoch {epoch}; saved {out / 'last.npz'}" in line
            assert len(rows) == epoch + 2 and rows[-1].startswith(f"{epoch},")  # header + rows 0 … epoch
            command = line.split("continue with ", 1)[1]
            assert shlex.split(command)[:2] == ["nettrain", "fit"] and "--resume" in command
            res = run(*shlex.split(command)[1:])  # the printed command, as the user would paste it
            assert res.exit_code == 0, res.output
        else:  # after training, while the summary was computed: the run is complete
            assert line == "nettrain: interrupted" and epoch == EPOCHS
    res = run(*cmd(project, out, "--resume"))
    assert res.exit_code == 0, res.output
    assert_same_run(out, project / "ref", exact_npz=False)  # best.npz was saved at the stop: its history is shorter


def test_second_ctrl_c_exits_at_once_even_during_a_slow_save(project, tmp_path):
    out, marker = tmp_path / "run", tmp_path / "saving"
    proc = subprocess.Popen([sys.executable, str(project / "hook.py"), "slow_save", "last.npz", "6", *cmd(project, out)],
                            cwd=project, env=dict(ENV, MARKER=str(marker)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not marker.exists():  # the 6th save of last.npz has created its temp file and now hangs for 30 s
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)  # first: noted; the save would finish, then the run would stop
    time.sleep(0.2)
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)  # second: stop now
    _, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - start < 10  # "at once": well before the 30 s save would have ended
    assert proc.returncode == 130
    assert one_line(stderr) == "nettrain: interrupted"
    assert temp_files(out) == []  # the abandoned save removed its temp file
    assert_state_of_reference(out / "last.npz", project / "ref")  # the previous last.npz, whole
    resume_and_compare(project, out, [])


# ============================================================================= divergence


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_divergence_stops_at_the_first_non_finite_cost_and_saves_only_finite_state(project, tmp_path, dtype):
    out = tmp_path / "div"
    res = run("fit", project / "configs" / "diabetes.yaml", "--set", "train.learning_rate=50", "--set",
              f"train.dtype={dtype}", "--set", "log.every=1", "--set", "log.checkpoint_every=1", "--out", out)
    assert res.exit_code == 6, res.output
    line = one_line(res.stderr)
    rows = (out / "metrics.csv").read_text().splitlines()[1:]
    last = int(rows[-1].split(",")[0])
    assert [int(r.split(",")[0]) for r in rows] == list(range(last + 1))  # nothing after the last finite state
    last_cost = float(rows[-1].split(",")[1])
    assert np.isfinite(last_cost)
    assert line == (f"nettrain: diverged: the cost became non-finite at epoch {last + 1} (last finite cost "
                    f"{last_cost:.6g} at epoch {last}): try a smaller learning_rate")
    saved = sorted(out.rglob("*.npz"))
    assert {p.name for p in saved} == {"last.npz", "best.npz", *(f"epoch-{e}.npz" for e in range(1, last + 1))}
    for p in saved:  # by plain numpy, not nettrain's loader: every array of every checkpoint is finite
        with np.load(p, allow_pickle=False) as z:
            assert all(np.isfinite(z[k]).all() for k in z.files if k != "meta"), p
    assert ckpt.read_meta(out / "last.npz")["epoch"] == last
    assert temp_files(out) == []


def test_overflowing_gradient_norm_is_divergence_not_a_checkpoint_error(project, tmp_path):
    """λ = 1e300: J is still finite at epoch 0 but ‖∇J‖ overflows; the next step diverges."""
    out = tmp_path / "lam"
    res = run("fit", project / "configs" / "iris.yaml", "--set", "train.weight_decay=1e300", "--set", "log.every=1",
              "--out", out)
    assert res.exit_code == 6, res.output
    assert "diverged: the cost became non-finite at epoch 1" in one_line(res.stderr)
    assert (out / "metrics.csv").read_text().splitlines()[1].split(",")[4] == ""  # ‖∇J‖ overflowed: no value
    ckpt.load_checkpoint(out / "last.npz")


def test_undefined_validation_r2_does_not_stop_the_run(project, tmp_path):
    """A one-example validation split has no R² (SS_tot = 0): the cell stays empty, the run goes on."""
    out = tmp_path / "r2"
    res = run("fit", project / "configs" / "diabetes.yaml", "--set", "data.split={train: 0.9, val: 0.002, test: 0.098}",
              "--set", "train.epochs=4", "--set", "log.every=2", "--out", out)
    assert res.exit_code == 0, res.output
    rows = [r.split(",") for r in (out / "metrics.csv").read_text().splitlines()]
    assert rows[0][-2:] == ["val_r2", "seconds"] and rows[1][-2] == "" and rows[1][-3] != "" and rows[1][-1] != ""
    assert ckpt.read_meta(out / "last.npz")["epoch"] == 4


# ============================================================================= every optimizer

OPTIMIZER_SETS = {
    "momentum": ["train.optimizer=momentum", "train.learning_rate=0.05"],
    "nesterov": ["train.optimizer=nesterov", "train.learning_rate=0.05"],
    "adam": ["train.optimizer=adam", "train.learning_rate=0.01"],
    "gd-minibatch": ["train.optimizer=gd", "train.batch_size=32"],
    "momentum-minibatch": ["train.optimizer=momentum", "train.learning_rate=0.05", "train.batch_size=16"],
    "nesterov-minibatch": ["train.optimizer=nesterov", "train.learning_rate=0.05", "train.batch_size=16"],
    "adam-minibatch": ["train.optimizer=adam", "train.learning_rate=0.01", "train.batch_size=16"],
    "adam-minibatch-train-cost-logged": ["train.optimizer=adam", "train.learning_rate=0.01", "train.batch_size=16",
                                         "log.every=7", "log.train_cost=logged"],
}


@pytest.mark.parametrize("name", list(OPTIMIZER_SETS))
def test_kill_9_at_random_moments_then_resume_is_bit_identical_for_every_optimizer(project, tmp_path, name):
    """Runs of each optimizer (their state in every checkpoint) killed at seeded random moments, then
    resumed: every file equals an uninterrupted run's, byte for byte (checkpoints included)."""
    sets = [a for s in OPTIMIZER_SETS[name] for a in ("--set", s)]
    config = str(project / "configs" / "iris.yaml")

    def args(out, *extra):
        return ["fit", config, *RUN_SETS, *sets, "--out", str(out), *extra]

    assert run(*args(tmp_path / "ref")).exit_code == 0
    killed = 0
    for seed in range(4):
        out = tmp_path / f"kill-{seed}"
        proc = subprocess.Popen([sys.executable, "-m", "nettrain", *args(out)], cwd=project, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not (out / "last.npz").exists() and proc.poll() is None:
            assert time.monotonic() < deadline, "the run never wrote last.npz"
            time.sleep(0.001)
        time.sleep(random.Random(seed).uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += proc.wait() == -signal.SIGKILL
        res = run(*args(out, "--resume"))
        assert res.exit_code == 0, res.output
        assert temp_files(out) == []
        assert_same_run(out, tmp_path / "ref")
    print(f"{name}: {killed} of 4 runs killed mid-way")
