"""Where `nettrain fit`'s time beyond the bare training step goes, each part timed in place.

    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_fit.py [--workload tiny|small] [--epochs N] [--runs 3]
                                                            [--every E] [--checkpoint-every C]

Trains the workload (benchmarks/epoch.py's configs: XOR, or the digits [64, 30, 10] on all 1,797 rows)
through trainer.fit with a clock around the training loop's emit (every epoch's row, and the listeners
when one needs the step) and around the parts it calls: History.add (the row's numbers, every epoch),
Listeners.dispatch (the listeners, on the steps they need), History.take (formatting rows),
RunFiles.append_rows (appending them to metrics.csv, formatting included) and checkpoint saves. Prints
µs per epoch for each, the emit's share of the training time, and History.add alone (timeit, no
wrapper: the wrappers add ~0.3 µs a call to the parts called every epoch). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import epoch  # noqa: E402  (benchmarks/epoch.py: the workloads' configs)

from nettrain import checkpoint as ckpt  # noqa: E402
from nettrain import config as config_mod  # noqa: E402
from nettrain import listeners, runfolder, train, trainer  # noqa: E402
from nettrain.history import History  # noqa: E402
from nettrain.network import Cost  # noqa: E402

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


def add_alone() -> float:
    """ns of one History.add of a three-part row (epoch, J, J_data, J_reg), without a wrapper."""
    h = History(["epoch", "cost", "data_cost", "reg_cost", "grad_norm"], capacity=1 << 20)
    cost = Cost.of(0.6931471805599453, 0.0012345678901234567)
    n = 200_000
    return min(timeit.repeat(lambda: h.add(1, cost), number=n, repeat=1)) / n * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=["tiny", "small"], default="tiny")
    ap.add_argument("--epochs", type=int, default=None, help="default: 20,000 (tiny) or 2,000 (small)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--every", type=int, default=None, help="log.every (default: the epochs: rows at 0 and the end)")
    ap.add_argument("--checkpoint-every", type=int, default=0)
    a = ap.parse_args()
    N = a.epochs or (20_000 if a.workload == "tiny" else 2_000)
    print(f"History.add alone: {add_alone():.0f} ns")
    clocked(History, "add", "History.add")
    clocked(listeners.Listeners, "dispatch", "Listeners.dispatch")
    clocked(History, "take", "format rows")
    clocked(runfolder.RunFiles, "append_rows", "append to metrics.csv (incl. format)")
    clocked(ckpt, "save_checkpoint", "save checkpoints")
    real_minimize = train.minimize

    def minimize(*args, **kwargs):  # trainer.fit's call, with its on_step (the emit closure) clocked
        emit = kwargs["on_step"]

        def on_step(step):
            t = time.perf_counter()
            try:
                return emit(step)
            finally:
                T["emit"] = T.get("emit", 0.0) + time.perf_counter() - t

        kwargs["on_step"] = on_step
        t = time.perf_counter()
        try:
            return real_minimize(*args, **kwargs)
        finally:
            T["training"] = T.get("training", 0.0) + time.perf_counter() - t

    train.minimize = minimize
    with tempfile.TemporaryDirectory() as tmp:
        path = epoch.write_config(a.workload, Path(tmp))
        sets = [f"train.epochs={N}", f"log.every={a.every or N}", f"log.checkpoint_every={a.checkpoint_every}"]
        for r in range(a.runs):
            T.clear()
            trainer.fit(config_mod.load_config(path, sets), out=Path(tmp) / f"run-{r}")
            rest = T.pop("training") - T["emit"]
            parts = ", ".join(f"{k} {v / N * 1e6:.2f}" for k, v in T.items())
            print(f"run {r + 1}: µs per epoch — {parts}; the epoch without the emit {rest / N * 1e6:.1f}; "
                  f"emit's share {100 * T['emit'] / rest:.2f} %")


if __name__ == "__main__":
    main()
