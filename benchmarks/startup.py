"""Seconds a `nettrain` command takes before its first epoch: whole processes, the interpreter's start included.

    python benchmarks/startup.py [--runs 9] [--instructions] [--imports]

commands (each a fresh process of this interpreter, sys.executable; their order turning from round to round)
    python      `python -c pass`: the interpreter alone, the floor under every command
    help        `python -m nettrain --help`
    fit0        `python -m nettrain fit configs/xor.yaml --set train.epochs=0 --out TMP`: a fit of 0 epochs,
                the fixed cost of every run (config, data, run folder, checkpoint, summary)
    fit1000     the same with train.epochs=1000 (xor's epochs are ~20 µs each)

Per command: wall seconds and CPU seconds (user + system of the child process), median of --runs rounds
[lowest, highest], and the CPU other processes used meanwhile (a busy machine stretches wall time, much less
CPU time). --instructions: the instructions valgrind's callgrind counts for one run of each command (the
same whatever else the machine runs; ~50× slower). Every command runs from .pyc files, as an installed
package does (PYTHONDONTWRITEBYTECODE is dropped for them; a warm-up run writes them). --imports: for fit0,
the modules `python -X importtime` lists, the largest cumulative ones, and which of the heavy optional ones
(pandas, pyarrow, scipy, matplotlib, rich's table, torch, …) were imported at all.

To compare with another checkout, run this script with PYTHONPATH=/that/checkout (its nettrain is imported).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (benchmarks/bench.py: the machine's CPU counters)

ROOT = bench.ROOT
XOR = ROOT / "configs" / "xor.yaml"
HEAVY = ("pandas", "pyarrow", "scipy", "matplotlib", "rich.table", "torch", "sklearn", "dask")


# every command as an installed package runs: from its .pyc files, which the warm-up run writes
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def commands(tmp: Path) -> dict[str, list[str]]:
    py = [sys.executable]
    fit = py + ["-m", "nettrain", "fit", str(XOR), "--out"]
    return {"python": py + ["-c", "pass"], "help": py + ["-m", "nettrain", "--help"],
            "fit0": fit + [str(tmp / "fit0"), "--set", "train.epochs=0"],
            "fit1000": fit + [str(tmp / "fit1000"), "--set", "train.epochs=1000"]}


def fresh(cmd: list[str]) -> None:
    """No run folder where cmd writes one (a fit refuses to overwrite a run)."""
    if "--out" in cmd:
        shutil.rmtree(cmd[cmd.index("--out") + 1], ignore_errors=True)


def run_once(cmd: list[str], out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of cmd, a fresh run folder each time."""
    fresh(cmd)
    before = os.times()
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=out, env=ENV)
    wall = time.perf_counter() - t
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr[-400:]}")
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def timings(runs: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        cmds = commands(Path(tmp))
        names = list(cmds)
        for n in names:  # warm-up: the .pyc files and the page cache
            run_once(cmds[n], Path(tmp))
        times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        others = []
        for k in range(runs):
            cpu0, t0 = bench._cpu_now(), time.perf_counter()
            for n in names[k % len(names):] + names[: k % len(names)]:
                times[n].append(run_once(cmds[n], Path(tmp)))
            # our own children's CPU is not in _cpu_now's second number: count it as ours
            used = sum(times[n][-1][1] for n in names)
            others.append(max(0.0, bench._others(cpu0, bench._cpu_now(), time.perf_counter() - t0)
                              - used / (time.perf_counter() - t0)))
    lines = [f"{runs} rounds; other processes used {statistics.median(others):.2f} core "
             f"[{min(others):.2f}, {max(others):.2f}] meanwhile.", "",
             "| command | wall s | CPU s |", "|---|---|---|"]
    for n in names:
        wall, cpu = [v[0] for v in times[n]], [v[1] for v in times[n]]
        lines.append(f"| {n} | {statistics.median(wall):.3f} [{min(wall):.3f}, {max(wall):.3f}] | "
                     f"{statistics.median(cpu):.3f} [{min(cpu):.3f}, {max(cpu):.3f}] |")
    return "\n".join(lines) + "\n"


def instructions() -> str:
    lines = ["| command | instructions (callgrind) |", "|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for n, cmd in commands(Path(tmp)).items():
            run_once(cmd, Path(tmp))  # the .pyc files written first, as in timings(): compiling is not start-up
            fresh(cmd)
            lines.append(f"| {n} | {bench.instructions(cmd, ENV, n, cwd=tmp):,} |")
            print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines) + "\n"


def imports(top: int = 15) -> str:
    """fit0's imports under -X importtime: the largest cumulative ones, and the heavy ones present."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = commands(Path(tmp))["fit0"]
        proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, cwd=tmp, env=ENV)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line[len("import time:"):].split("|") if line.startswith("import time:") else []
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((int(parts[0]), int(parts[1]), parts[2].rstrip()))
    names = {r[2].strip() for r in rows}
    heavy = [h for h in HEAVY if h in names]
    lines = [f"fit0 imported {len(rows)} modules, {sum(r[0] for r in rows) / 1e3:.0f} ms in all (self times); "
             f"heavy ones: {', '.join(heavy) or 'none'}", "",
             "| module | cumulative ms | self ms |", "|---|---|---|"]
    for s, cum, name in sorted(rows, key=lambda r: -r[1])[:top]:
        lines.append(f"| `{name.strip()}` | {cum / 1e3:.1f} | {s / 1e3:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--instructions", action="store_true", help="count instructions under callgrind instead")
    ap.add_argument("--imports", action="store_true", help="also fit0's imports (python -X importtime)")
    a = ap.parse_args()
    print(instructions() if a.instructions else timings(a.runs))
    if a.imports:
        print(imports())


if __name__ == "__main__":
    main()
