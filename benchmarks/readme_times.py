"""The README's times, measured in one sitting: the whole `nettrain fit` command (start-up included) on each
shipped config of its results table and each command of its optimizers' table, median of --rounds runs one
after another, each into a fresh temporary run folder.

    python benchmarks/readme_times.py [--rounds 3]

One measurement per command: the results table and the optimizers' table share the digits row's figure.
Run it with the machine otherwise quiet; it prints the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = {
    "xor": ["configs/xor.yaml"],
    "iris": ["configs/iris.yaml"],
    "digits (gd)": ["configs/digits.yaml"],
    "diabetes": ["configs/diabetes.yaml"],
    "penguins": ["configs/penguins.yaml"],
    "lbfgs": ["configs/digits-lbfgs.yaml"],
    "momentum": ["configs/digits.yaml", "--set", "train.optimizer=momentum", "--set", "train.learning_rate=0.05",
                 "--set", "train.batch_size=64", "--set", "train.epochs=100"],
    "nesterov": ["configs/digits.yaml", "--set", "train.optimizer=nesterov", "--set", "train.epochs=500"],
    "adam": ["configs/digits-adam.yaml"],
}


def seconds(args: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "nettrain", "fit", *args, "--out", str(Path(tmp) / "run")], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    rounds = ap.parse_args().rounds
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name, args in COMMANDS.items():
        times = [seconds(args) for _ in range(rounds)]
        print(f"{name:<12} {statistics.median(times):5.1f} s   (runs: {', '.join(f'{t:.2f}' for t in times)})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
