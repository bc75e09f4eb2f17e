"""Peak memory and per-epoch time of `nettrain fit` (and `eval`, `predict`) on a large memory-mapped .npy file.

    python benchmarks/memory.py --rows 2000000 --split default --split train   # the 2M rows, both splits
    python benchmarks/memory.py --rows 10000000 --split default                 # a 2.6 GB map
    python benchmarks/memory.py --rows 2000000 --split default --eval --predict # eval --split test, predict too

The file: m × 64 float32 features and a label column of 10 classes (m × 65 float32, written once a block at a
time into --dir, default a temporary folder, and deleted at the end unless --keep). The run: [64, 32, 10]
sigmoid → softmax, cross-entropy, plain gradient descent, 2 epochs, log.every 1 (the validation pass every
epoch), data.standardize false, train.dtype float32 — trained straight from the map. `--split default` is
data.split {0.8, 0.1, 0.1}; `--split train` is {train: 1.0}.

Each command runs in a child process (a fresh interpreter: its memory is its own). The parent reads the
child's RssAnon (resident memory that is not file-backed: the mapped file's pages are not counted) from
/proc/PID/status every 50 ms and reports its peak. The fit child times its epochs through the reporter's
progress() calls: the per-epoch time is the median of the epochs' intervals (each includes the validation
pass), as wall time and as the CPU time of the process (every thread's; less sensitive to other processes on a
shared machine). Results print as a Markdown table; --json adds the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N, CLASSES, EPOCHS = 64, 10, 2
SPLITS = {"default": "{train: 0.8, val: 0.1, test: 0.1}", "train": "{train: 1.0}"}
BLOCK = 250_000  # rows written at a time


def write_data(path: Path, m: int) -> None:
    A = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(m, N + 1))
    rng = np.random.default_rng(0)
    for s in range(0, m, BLOCK):
        e = min(s + BLOCK, m)
        A[s:e, :N] = rng.standard_normal((e - s, N), dtype=np.float32)
        A[s:e, N] = rng.integers(0, CLASSES, e - s)
    A.flush()
    del A


def write_config(path: Path, data: Path, split: str) -> None:
    path.write_text(f"""name: big
seed: 0
data: {{path: {data}, task: classification, standardize: false, split: {SPLITS[split]}}}
model: {{layers: [{N}, 32, {CLASSES}], activation: sigmoid, output_activation: softmax}}
loss: cross_entropy
train: {{learning_rate: 0.5, epochs: {EPOCHS}, dtype: float32}}
log: {{every: 1}}
""", encoding="utf-8")


def rss_anon(pid: int) -> int:
    """RssAnon of a process, bytes (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def watched(args: list[str]) -> tuple[int, float, str]:
    """Run a child process, polling its RssAnon every 50 ms: (peak bytes, seconds, its stdout)."""
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen([sys.executable, *args], stdout=out, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        peak = 0
        while p.poll() is None:
            peak = max(peak, rss_anon(p.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - t
        out.seek(0)
        text = out.read()
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: exit {p.returncode}")
    return peak, seconds, text


# ----------------------------------------------------------------------------- the children


def child_fit(config: str, out: str) -> None:
    from nettrain import config as config_mod
    from nettrain.trainer import SilentReporter, fit

    class Clock(SilentReporter):
        def __init__(self) -> None:
            self.at: dict[int, tuple[float, float]] = {}

        def progress(self, epoch: int) -> None:
            self.at.setdefault(epoch, (time.perf_counter(), time.process_time()))

    base = rss_anon(os.getpid())
    clock = Clock()
    t = time.perf_counter()
    res = fit(config_mod.load_config(Path(config)), out=Path(out), reporter=clock)
    total = time.perf_counter() - t
    epochs = sorted(clock.at)
    per_epoch = [clock.at[b][0] - clock.at[a][0] for a, b in zip(epochs, epochs[1:])]
    cpu = [clock.at[b][1] - clock.at[a][1] for a, b in zip(epochs, epochs[1:])]
    print(json.dumps({"base": base, "seconds": total, "per_epoch": per_epoch, "cpu_per_epoch": cpu, "cost": res.cost.J,
                      "val_accuracy": (res.val or {}).get("accuracy"),
                      "test_accuracy": (res.test or {}).get("accuracy")}))


def child_command(args: list[str]) -> None:
    from nettrain.cli import main

    sys.argv = ["nettrain", *args]
    try:
        main()
    except SystemExit as e:
        if e.code:
            raise


# ----------------------------------------------------------------------------- the parent


def measure(m: int, split: str, folder: Path, *, do_eval: bool, do_predict: bool) -> list[dict]:
    data = folder / f"rows-{m}.npy"
    if not data.exists():
        write_data(data, m)
    config, run = folder / f"{split}.yaml", folder / f"run-{split}-{m}"
    write_config(config, data, split)
    shutil.rmtree(run, ignore_errors=True)
    rows = []
    peak, seconds, text = watched([__file__, "--child-fit", str(config), str(run)])
    r = json.loads(text.strip().splitlines()[-1])
    rows.append({**r, "command": "fit", "rows": m, "split": split, "file_bytes": data.stat().st_size, "peak": peak,
                 "seconds": seconds, "epochs": r["per_epoch"], "per_epoch": statistics.median(r["per_epoch"]),
                 "cpu_per_epoch": statistics.median(r["cpu_per_epoch"])})
    if do_eval and split == "default":
        peak, seconds, _ = watched([__file__, "--child", "eval", str(run), "--split", "test", "--json"])
        rows.append({"command": "eval --split test", "rows": m, "split": split, "peak": peak, "seconds": seconds})
    if do_predict and split == "default":
        out = folder / "predictions.csv"
        peak, seconds, _ = watched([__file__, "--child", "predict", str(run), "--data", str(data), "--out", str(out)])
        rows.append({"command": "predict", "rows": m, "split": split, "peak": peak, "seconds": seconds,
                     "out_bytes": out.stat().st_size})
        out.unlink()
    shutil.rmtree(run, ignore_errors=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| command | rows | data.split | peak RssAnon | wall time | per epoch | CPU per epoch |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        per = f"{r['per_epoch']:.2f} s" if "per_epoch" in r else "—"
        cpu = f"{r['cpu_per_epoch']:.2f} s" if "cpu_per_epoch" in r else "—"
        lines.append(f"| {r['command']} | {r['rows']:,} | {r['split']} | {r['peak'] / 2**20:,.0f} MiB | "
                     f"{r['seconds']:.1f} s | {per} | {cpu} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[2_000_000])
    ap.add_argument("--split", choices=sorted(SPLITS), action="append")
    ap.add_argument("--eval", action="store_true", help="also `nettrain eval RUN --split test`")
    ap.add_argument("--predict", action="store_true", help="also `nettrain predict RUN --data FILE` on every row")
    ap.add_argument("--dir", type=Path, help="where the data file goes (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the data file in --dir for the next run")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child-fit", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child_fit:
        return child_fit(*a.child_fit)
    if a.child:
        return child_command(a.child)
    folder = a.dir or Path(tempfile.mkdtemp(prefix="nettrain-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for m in a.rows:
            for split in a.split or ["default"]:
                new = measure(m, split, folder, do_eval=a.eval, do_predict=a.predict)
                print("\n".join(table(new).splitlines()[2:]), file=sys.stderr, flush=True)
                rows += new
            if not a.keep:
                (folder / f"rows-{m}.npy").unlink(missing_ok=True)
    finally:
        if a.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(table(rows))
    if a.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
