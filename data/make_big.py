"""Write data/big.npy: a problem big enough that a Dask cluster pays (configs/big.yaml trains it).

    python data/make_big.py [--rows 2000000]

2,000,000 rows of 64 features and a label (0–9) in the last column, float32 (512 MiB): the features drawn
from N(0, 1), the label the argmax of a fixed random teacher network [64, 32, 10] (tanh) plus a little noise,
so that a [64, 32, 10] network can learn it. Seeded: the same file every time. Written in blocks (memory stays
small), into a temp file renamed into place. Not committed (.gitignore): make it where it is used.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BLOCK = 200_000  # rows generated at a time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=HERE / "big.npy")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(0, 0.5, (64, 32)), rng.normal(0, 1.0, (32, 10))
    tmp = args.out.with_name(f".{args.out.name}.tmp-{os.getpid()}")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(args.rows, 65))
    for s in range(0, args.rows, BLOCK):
        e = min(s + BLOCK, args.rows)
        X = rng.normal(size=(e - s, 64))
        logits = np.tanh(X @ W1) @ W2 + rng.normal(0, 0.5, (e - s, 10))
        out[s:e, :64] = X
        out[s:e, 64] = np.argmax(logits, axis=1)
    out.flush()
    del out
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {args.rows:,} rows × 64 features and a label, {args.out.stat().st_size / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
