"""Where the logging tax of `nettrain fit` goes: each part of runs.fit's per-epoch callback, timed in place.

    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_fit.py [--epochs 3000] [--runs 3]

Trains the small workload (digits [64, 30, 10], log.every 1, a checkpoint every 500 epochs: the
config of bench.py's fit variants) through runs.fit, with a clock around the callback and around
the functions it calls: formatting the metrics rows (History.take), appending them to metrics.csv
(append_rows, which includes take and the fsync before a checkpoint), saving checkpoints, ‖∇J‖ and
the row itself (History.append). Prints µs per epoch for each and the callback's share of the
training time. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (benchmarks/bench.py: the fit config)

from nettrain import checkpoint as ckpt  # noqa: E402
from nettrain import network, runs, train  # noqa: E402

T: dict[str, float] = {}


def clocked(owner, name: str, key: str) -> None:
    """Replace owner.name by a wrapper adding its time to T[key]."""
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            T[key] = T.get(key, 0.0) + time.perf_counter() - t

    setattr(owner, name, wrapper)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    clocked(runs.History, "take", "format rows")
    clocked(runs._RunFiles, "append_rows", "append to metrics.csv (incl. format)")
    clocked(ckpt, "save_checkpoint", "save checkpoints")
        clocked(runs.History, "append", "the row")
    real_minimize = train.minimize

    def minimize(*args, **kwargs):  # runs.fit's call, with its on_step callback (the listeners) clocked
        callback = kwargs["on_step"] if "on_step" in kwargs else args[10]

        def on_step(step):
            t = time.perf_counter()
            try:
                return callback(step)
            finally:
                T["callback"] = T.get("callback", 0.0) + time.perf_counter() - t

        if "on_step" in kwargs:
            kwargs["on_step"] = on_step
        else:
            args = args[:10] + (on_step,) + args[11:]
        t = time.perf_counter()
        try:
            return real_minimize(*args, **kwargs)
        finally:
            T["training"] = T.get("training", 0.0) + time.perf_counter() - t

    train.minimize = minimize
    N = a.epochs
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "fit.yaml"
        cfg.write_text(bench.FIT_CONFIG.format(data=bench.ROOT / "data" / "digits.csv", epochs=N, train=1.0, val=0.0))
        for r in range(a.runs):
            T.clear()
            runs.fit(cfg, out=Path(tmp) / f"run-{r}")
            train = T.pop("training") - T["callback"]
            parts = ", ".join(f"{k} {v / N * 1e6:.2f}" for k, v in T.items())
            print(f"run {r + 1}: µs per epoch — {parts}; epoch without the callback {train / N * 1e6:.1f}; "
                  f"callback share {100 * T['callback'] / train:.2f} %")


if __name__ == "__main__":
    main()
