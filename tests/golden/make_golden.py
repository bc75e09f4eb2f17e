"""Write tests/golden/shipped.json: what `nettrain fit` gives on every shipped config (a few epochs each).

    python tests/golden/make_golden.py            # from the repository's root

For each config file in tests/golden/configs/ (frozen copies of configs/ as they were when the file was
made), it runs `nettrain fit CONFIG --set train.epochs=N --set log.every=K` through the CLI in this
process and records the SHA-256 of every array of last.npz and best.npz (weights, biases, the optimizer's
state) and of every numeric column of metrics.csv read as float64, with each array's L2 norm and the
machine (numpy, BLAS kernel) it was made on. tests/test_golden.py runs the same commands and compares:
the same bits on a machine like this one, the same norms to 1e-9 elsewhere.

Made once, before a change that must not move a bit; made again only when a config or the math
deliberately changes (say so in the commit).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EPOCHS = 30  # per config: a few seconds for the whole set
EVERY = 10
# the metrics.csv columns compared (a column added later, such as the elapsed time, is not a result)
COLUMNS = ("epoch", "cost", "data_cost", "reg_cost", "sparse_cost", "grad_norm", "evaluations", "val_data_cost",
           "val_accuracy", "val_r2")


def machine() -> dict:
    from threadpoolctl import threadpool_info

    blas = [(i.get("internal_api"), i.get("architecture"), i.get("version")) for i in threadpool_info()
            if i.get("user_api") == "blas"]
    return {"numpy": np.__version__, "blas": [list(b) for b in blas]}


def overrides(config: Path) -> list[str]:
    return [f"train.epochs={EPOCHS}", f"log.every={EVERY}", f"data.path={data_path(config)}"]


def data_path(config: Path) -> str:
    import yaml

    rel = yaml.safe_load(config.read_text(encoding="utf-8"))["data"]["path"]
    return str((ROOT / "configs" / rel).resolve())


def record(run_dir: Path) -> dict:
    out: dict = {}
    for name in ("last.npz", "best.npz"):
        path = run_dir / name
        if not path.exists():
            continue
        with np.load(path, allow_pickle=False) as z:
            for key in sorted(z.files):
                if key == "meta":
                    continue
                a = np.ascontiguousarray(z[key])
                out[f"{name}:{key}"] = {"sha256": hashlib.sha256(a.tobytes()).hexdigest(),
                                        "norm": float(np.linalg.norm(a.astype(np.float64)))}
    lines = (run_dir / "metrics.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    for j, col in enumerate(header):
        col = {"val_cost": "val_data_cost"}.get(col, col)  # the column's later name
        if col not in COLUMNS:
            continue
        a = np.array([float(r[j]) if r[j] else np.nan for r in rows], dtype=np.float64)
        out[f"metrics.csv:{col}"] = {"sha256": hashlib.sha256(a.tobytes()).hexdigest(),
                                     "norm": float(np.linalg.norm(np.nan_to_num(a)))}
    return out


def fit(config: Path, run_dir: Path) -> None:
    from typer.testing import CliRunner

    from nettrain.cli import app

    args = ["fit", str(config), "--out", str(run_dir)]
    for o in overrides(config):
        args += ["--set", o]
    res = CliRunner().invoke(app, args)
    if res.exit_code != 0:
        raise SystemExit(f"{config}: exit {res.exit_code}: {res.output}")


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in sorted((HERE / "configs").glob("*.yaml")):
            run_dir = Path(tmp) / config.stem
            fit(config, run_dir)
            results[config.name] = record(run_dir)
    (HERE / "shipped.json").write_text(json.dumps({"machine": machine(), "epochs": EPOCHS, "every": EVERY,
                                                  "runs": results}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {HERE / 'shipped.json'}: {len(results)} configs")


if __name__ == "__main__":
    sys.exit(main())
