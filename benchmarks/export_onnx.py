"""The digits network as an ONNX model: its size, the time to build it, and ONNX Runtime beside nettrain.

    python benchmarks/export_onnx.py [--rounds 5] [--dtype float64|float32] [--run RUN_DIR]

Without --run, configs/digits.yaml is trained first (its 2,000 epochs, or --set-like overrides with
--epochs) into a temp folder. Then, for the run's last.npz: export_onnx.from_trained + build (the
median of the rounds), the serialized size, the InferenceSession's creation, and the 1,797 rows of
data/digits.csv predicted by ONNX Runtime (one intra-op thread, as the tests' one BLAS thread) and by
nettrain (prediction.predict_rows' network_outputs), with the largest difference of their probabilities
(max |Δ| / max |p|, and entry by entry) and whether every label is the same.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

import nettrain
from nettrain import export_onnx
from nettrain.problem import read_data
from nettrain.trained import class_probabilities, load_trained, network_outputs

ROOT = Path(__file__).resolve().parent.parent


def median_seconds(fn, rounds: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def measure(run_dir: Path, rounds: int) -> None:
    loaded = load_trained(run_dir)
    table = read_data(loaded.cfg, ROOT / "data" / "digits.csv")
    spec = export_onnx.from_trained(loaded.arch, loaded.params, loaded.prep, task=loaded.cfg.data.task, zca=loaded.zca)
    build_s, model = median_seconds(lambda: export_onnx.build(spec), rounds)
    data = model.SerializeToString()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session_s, sess = median_seconds(lambda: ort.InferenceSession(data, options, providers=["CPUExecutionProvider"]),
                                     rounds)
    run_s, (p, label) = median_seconds(lambda: sess.run(None, {"x": table.X}), rounds)
    ours_s, h = median_seconds(lambda: network_outputs(loaded, table.X), rounds)
    want = class_probabilities(h)
    diff = np.abs(p.astype(np.float64) - want)
    entry = float(np.max(diff / np.where(want > 0, want, 1.0)))
    same = label.tolist() == loaded.prep.decode(h).tolist()
    print(f"network {list(loaded.arch.layers)} {loaded.arch.activation} → {loaded.arch.output_activation}, "
          f"{spec.dtype.__name__}, {loaded.arch.n_params()} parameters; onnx {export_onnx.onnx.__version__}, "
          f"onnxruntime {ort.__version__}, opset {export_onnx.OPSET}, IR {model.ir_version}")
    print(f"model: {len(data):,} bytes, {len(model.graph.node)} nodes; build (check_model included) "
          f"{build_s * 1e3:.1f} ms; InferenceSession {session_s * 1e3:.1f} ms")
    print(f"{len(table.X)} rows: onnxruntime {run_s * 1e3:.2f} ms, nettrain {ours_s * 1e3:.2f} ms "
          f"(medians of {rounds})")
    print(f"probabilities: max |Δ| / max |p| = {diff.max() / want.max():.3g}, entry by entry {entry:.3g}; "
          f"labels the same: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--run", type=Path, help="a trained digits run folder (default: train one in a temp folder)")
    args = parser.parse_args()
    if args.run is not None:
        measure(args.run, args.rounds)
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "digits"
        overrides = {"train.epochs": args.epochs, "train.dtype": args.dtype}
        nettrain.fit(ROOT / "configs" / "digits.yaml", overrides, out=out)
        measure(out, args.rounds)


if __name__ == "__main__":
    main()
