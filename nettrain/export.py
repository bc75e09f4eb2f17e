"""`nettrain export`: a trained network as an ONNX file that computes, from raw rows, what `nettrain predict` writes.

    onnx_model(trained, *, dtype, unknown)   the onnx.ModelProto of a load_trained checkpoint (export_onnx.build)
    export_run(target, out, *, dtype, unknown) → ExportResult: the checkpoint read, the model built and written

Everything a checkpoint stores is in the model: data.missing: mean's fills, data.categorical's one-hot columns,
the standardisation or data.scale's map, data.whiten's ZCA, every layer and its activation, and the outputs
(probabilities and label, or y). Its inputs: x, the numeric raw columns in order, float64 (the raw values as
nettrain reads them, whatever dtype the network computes in), and one (N, 1) string input per categorical
column, named by it (an ONNX tensor holds one element type, so text cannot share x). export_onnx.py has the
graph; this module only reads, checks and writes.

Left out on purpose: the graph (export_onnx.py), printing (cli.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import checkpoint as ckpt
from .errors import RunIOError, UsageError
from .trained import Trained, load_trained

DTYPES = ("float32", "float64")


@dataclass
class ExportResult:
    checkpoint: Path
    out: Path
    size: int  # bytes written
    dtype: str  # the network's
    inputs: list[str]  # the model's input names: x (the numeric columns), then one per categorical column
    outputs: list[str]


def onnx_model(trained: Trained, *, dtype: Optional[str] = None, unknown: str = "error") -> Any:
    """The ONNX model of a trained network (export_onnx.build, checked with onnx.checker): its network in dtype
    (None: the run's train.dtype), a category the model lacks an error in ONNX Runtime or (unknown "ignore")
    all zeros. MissingExtra without the onnx package."""
    from . import export_onnx

    if dtype is not None and dtype not in DTYPES:
        raise UsageError(f"dtype must be float32 or float64 (got {dtype!r})")
    if unknown not in ("error", "ignore"):
        raise UsageError(f"unknown must be error or ignore (got {unknown!r})")
    cfg = trained.cfg
    if trained.transform is not None:  # its inputs are another run's features: that run's network is not in the graph
        raise UsageError(f"{trained.path}: the run's inputs are the features of {trained.transform.path} "
                         "(data.transform), which export does not put in the model yet: export a run trained on "
                         "the rows themselves (the fine-tuned stack, say)")
    about = {"nettrain.checkpoint": str(trained.path) if trained.path is not None else "",
             "nettrain.epoch": str(trained.meta.get("epoch")), "nettrain.run": cfg.name}
    spec = export_onnx.from_trained(trained.arch, trained.params, trained.prep, task=cfg.data.task, zca=trained.zca,
                                    metadata=about, unknown=unknown, missing=cfg.data.missing)
    if dtype is not None:
        spec.dtype = np.dtype(dtype).type  # the weights are cast when the graph's constants are made
    return export_onnx.build(spec)


def default_out(target: Path, checkpoint: Path) -> Path:
    """RUN/model.onnx for a run folder; the checkpoint's path with .onnx for a checkpoint file."""
    return Path(target) / "model.onnx" if Path(target).is_dir() else checkpoint.with_suffix(".onnx")


def write_model(model: Any, out: Path) -> int:
    """The serialized model written to out atomically (its folder must exist); its size in bytes."""
    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise UsageError(f"--out {out}: the file must end in .onnx")
    if not out.parent.is_dir():
        raise RunIOError(f"cannot write {out}: the folder {out.parent} does not exist: create it first, or give "
                         "another --out")
    data = model.SerializeToString()
    ckpt.write_bytes(out, data)
    return len(data)


def export_run(target: Path, out: Optional[Path] = None, *, dtype: Optional[str] = None, unknown: str = "error"
               ) -> ExportResult:
    """`nettrain export`: the run folder's (or checkpoint's) network as an ONNX file; out None: default_out. A
    damaged or hostile checkpoint is refused as `nettrain eval` refuses it (load_trained)."""
    trained = load_trained(Path(target))
    out = default_out(Path(target), trained.path) if out is None else Path(out)
    if out.exists() and out.is_dir():
        raise UsageError(f"--out {out} is a folder: give the .onnx file to write")
    model = onnx_model(trained, dtype=dtype, unknown=unknown)
    size = write_model(model, out)
    return ExportResult(trained.path, out, size, dtype or trained.cfg.train.dtype,
                        [i.name for i in model.graph.input], [o.name for o in model.graph.output])
