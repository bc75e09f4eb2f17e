"""Seconds to read a 10,000 × 785 CSV of numbers: nettrain's read_table beside its peers.

    python benchmarks/read_csv.py [--rows 10000] [--cols 785] [--rounds 3] [--baseline TREE]

The file (784 float features written with repr, as data/export.py writes floats, and an integer
label 0–9 in the last column; ~147 MiB at the default size) is made in a temp folder, read once
to warm the page cache, then read by every peer in each round, their order turning from round to
round; a time is the median of its rounds. Every peer's X is checked equal to read_table's.

peers
    read_table    nettrain.data.read_table: pandas' C parser, checked cell by cell as a whole array
    careful       the careful parser alone (the standard library's csv, float() per cell): the
                  reader nettrain had before, kept to find and word the first problem in a file
    pandas        pandas.read_csv(path) with its defaults, the parser read_table builds on
    loadtxt       numpy.loadtxt(path, delimiter=",", skiprows=1)
    categorical   read_table of the same file with one more column of text, 3 categories, read with
                  data.categorical: [color] and data.missing: mean (a raw table: the column's codes)
    baseline      with --baseline TREE (a nettrain source tree, e.g. `git archive COMMIT | tar -x -C TREE`):
                  that tree's read_table on the same file, in a child process; read_table is then timed in a
                  child process too (the same interpreter, the same file, alternating), side by side
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

import numpy as np


def make_csv(path: Path, rows: int, cols: int) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join([f"p{j}" for j in range(cols - 1)] + ["label"]) + "\n")
        for _ in range(rows):
            x = rng.standard_normal(cols - 1)
            fh.write(",".join(map(repr, x.tolist())) + f",{rng.integers(0, 10)}\n")


def with_color(src: Path, dst: Path) -> None:
    """src with one more column, color (red, green or blue by row), before the label."""
    colors = ("red", "green", "blue")
    with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
        head = fin.readline().rstrip("\n").rsplit(",", 1)
        fout.write(f"{head[0]},color,{head[1]}\n")
        for i, line in enumerate(fin):
            x, label = line.rstrip("\n").rsplit(",", 1)
            fout.write(f"{x},{colors[i % 3]},{label}\n")


CHILD = """import sys, time
from pathlib import Path
import pandas  # imported before the clock starts, as in this process
from nettrain.data import read_table
path = Path(sys.argv[1])
t0 = time.perf_counter()
X = read_table(path).X
print(time.perf_counter() - t0, X.shape[0], X.shape[1], float(X.sum()))
"""


def in_child(tree: Path, path: Path, expected: np.ndarray) -> float:
    """read_table of `tree` (a nettrain source tree) on path, timed in a child process; its X checked by sum."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env, capture_output=True, text=True, check=True)
    seconds, m, n, total = out.stdout.split()
    assert (int(m), int(n)) == expected.shape and float(total) == float(expected.sum()), tree
    return float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--cols", type=int, default=785)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, help="another nettrain source tree to time beside")
    args = parser.parse_args()

    import pandas as pd

    from nettrain.data import ColumnRules, read_table, text

    def careful(path: Path) -> np.ndarray:
        raw = path.read_bytes()
        return text._read_careful(path, text._decode(path, raw), None, None, None, "classification", True, True).X

    peers = {
        "read_table": lambda p: read_table(p).X,
        "careful": careful,
        "pandas": lambda p: pd.read_csv(p).to_numpy()[:, :-1],
        "loadtxt": lambda p: np.loadtxt(p, delimiter=",", skiprows=1)[:, :-1],
    }
    rules = ColumnRules.of(["color"], "mean")
    with tempfile.TemporaryDirectory() as tmp:
        path, colored = Path(tmp) / "wide.csv", Path(tmp) / "colored.csv"
        make_csv(path, args.rows, args.cols)
        with_color(path, colored)
        mib = path.stat().st_size / 2**20
        expected = read_table(path).X  # also warms the page cache
        with_codes = np.insert(expected, expected.shape[1], [(2, 1, 0)[i % 3] for i in range(len(expected))], axis=1)
        peers["categorical"] = lambda p: np.asarray(read_table(colored, rules=rules).X)
        read_table(colored, rules=rules)  # warms the page cache of the second file
        if args.baseline is not None:
            here = Path(__file__).resolve().parent.parent
            peers["read_table (child)"] = lambda p: in_child(here, p, expected)
            peers["baseline (child)"] = lambda p: in_child(args.baseline.resolve(), p, expected)
        times: dict[str, list[float]] = {name: [] for name in peers}
        names = list(peers)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                t0 = time.perf_counter()
                X = peers[name](path)
                seconds = time.perf_counter() - t0
                times[name].append(X if isinstance(X, float) else seconds)  # a child times its own read
                if not isinstance(X, float):
                    assert np.array_equal(X, with_codes if name == "categorical" else expected), name
                del X
    base = statistics.median(times["careful"])
    print(f"{args.rows:,} rows × {args.cols} columns, {mib:.0f} MiB; median of {args.rounds} rounds")
    print(f"{'peer':<20}{'seconds':>10}{'MiB/s':>10}{'vs careful':>12}")
    for name in peers:
        t = statistics.median(times[name])
        print(f"{name:<20}{t:>10.3f}{mib / t:>10.0f}{base / t:>11.1f}×")


if __name__ == "__main__":
    main()
