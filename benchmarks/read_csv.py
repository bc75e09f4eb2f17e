"""Seconds to read a 10,000 × 785 CSV of numbers: nettrain's read_table beside its peers.

    python benchmarks/read_csv.py [--rows 10000] [--cols 785] [--rounds 3]

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
"""

from __future__ import annotations

import argparse
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--cols", type=int, default=785)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import pandas as pd

    from nettrain.data import read_table, text

    def careful(path: Path) -> np.ndarray:
        raw = path.read_bytes()
        return text._read_careful(path, text._decode(path, raw), None, None, None, "classification", True, True).X

    peers = {
        "read_table": lambda p: read_table(p).X,
        "careful": careful,
        "pandas": lambda p: pd.read_csv(p).to_numpy()[:, :-1],
        "loadtxt": lambda p: np.loadtxt(p, delimiter=",", skiprows=1)[:, :-1],
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wide.csv"
        make_csv(path, args.rows, args.cols)
        mib = path.stat().st_size / 2**20
        expected = read_table(path).X  # also warms the page cache
        times: dict[str, list[float]] = {name: [] for name in peers}
        names = list(peers)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                t0 = time.perf_counter()
                X = peers[name](path)
                times[name].append(time.perf_counter() - t0)
                assert np.array_equal(X, expected), name
                del X
    base = statistics.median(times["careful"])
    print(f"{args.rows:,} rows × {args.cols} columns, {mib:.0f} MiB; median of {args.rounds} rounds")
    print(f"{'peer':<12}{'seconds':>10}{'MiB/s':>10}{'vs careful':>12}")
    for name in peers:
        t = statistics.median(times[name])
        print(f"{name:<12}{t:>10.3f}{mib / t:>10.0f}{base / t:>11.1f}×")


if __name__ == "__main__":
    main()
