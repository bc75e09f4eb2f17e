"""Instructions a row of metrics.csv costs in history.History (add, then take: formatted, digested), with and
without the seconds column, counted by valgrind's callgrind: the same whatever else the machine runs.

    python benchmarks/history.py [--rows 20000] [--every 1000]

Each count is of a whole process, (I(rows) − I(0)) / rows: the rows are those of a small network's fit — J and
two parts every row, ‖∇J‖ (and the seconds, in the clocked history) every `--every` rows, taken 1,000 at a
time as the Log listener takes them. "plain" is a history without the column: a run folder written before it
resumes so. To compare with another checkout, run this script with PYTHONPATH=/that/checkout.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

COLUMNS = ["epoch", "cost", "data_cost", "reg_cost", "grad_norm"]


def worker(rows: int, every: int, clocked: bool) -> None:
    """The process callgrind counts: `rows` rows into a History, taken every 1,000."""
    from nettrain.history import History
    from nettrain.network import Cost

    h = History(COLUMNS + (["seconds"] if clocked else []))
    costs = [Cost.of(0.5 + i * 1e-6, 0.01 + i * 1e-7) for i in range(1000)]
    for e in range(rows):
        h.add(e, costs[e % 1000])
        if e % every == 0:  # a logged row: ‖∇J‖, and the seconds so far
            h.put(4, 0.25 + e)
            if clocked:
                h.put(5, 0.001 * e)
        if e % 1000 == 999:
            h.take()
    h.take()


def instructions(rows: int, every: int, clocked: bool) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench  # here, not at the top: the counted worker imports nothing it does not count

    return bench.instructions([sys.executable, __file__, "--worker", str(rows), str(every), str(int(clocked))],
                              dict(os.environ, OPENBLAS_NUM_THREADS="1"), "the history worker")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--worker", nargs=3, type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker[0], a.worker[1], bool(a.worker[2]))
        return
    for clocked in (False, True):
        per = (instructions(a.rows, a.every, clocked) - instructions(0, a.every, clocked)) / a.rows
        print(f"{'clocked' if clocked else 'plain'}: {per:,.0f} instructions a row (every {a.every}: a logged row)")


if __name__ == "__main__":
    main()
