"""Predictions for new rows: `nettrain predict`'s CSV (the label and per-class probabilities, or the outputs).

    predictions(target, data, unknown)  the header and the rows of predictions, PREDICT_ROWS rows at a time
    write_csv(stream, header, rows)  those rows into a text stream as they come (stdout)
    write_predictions(path, …)       the same into a file, atomically (a failure leaves no half file)
    predict_rows(target, data)       header and every row at once, for a file small enough to hold them

A .npy file is read from its memory map PREDICT_ROWS rows at a time and each chunk's predictions are
written before the next is read: memory beyond the map is bounded by the chunk, whatever the file's size.
A file of fewer rows is one chunk, predicted exactly as a whole.

Left out on purpose: metrics (evaluation.py), printing.
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

import numpy as np

from . import checkpoint as ckpt
from .trained import Trained, class_probabilities, load_trained, network_outputs, read_like_training

PREDICT_ROWS = 8192  # rows of the data file predicted (and their CSV rows made, some 600 bytes each) at a time


def predictions(target: Path, data: Path, unknown: str = "error") -> tuple[list[str], Iterator[list[list]]]:
    """Header and the rows of predictions — label and per-class probabilities, or the regression outputs —
    as an iterator of chunks of PREDICT_ROWS rows, each computed when it is asked for. The file is read
    (and checked) here; a .npy file's target column is left in its map, unread. unknown: "error" or "ignore"
    (all zeros) for a category the model lacks."""
    trained = load_trained(target)
    cfg, prep = trained.cfg, trained.prep
    table = read_like_training(cfg, Path(data), require_target=False, encoding=prep.encoding, unknown=unknown,
                               drop=False, scan_targets=True)
    header = (["label"] + [f"p_{lab}" for lab in prep.labels] if cfg.data.task == "classification"
              else list(prep.target_names))
    return header, _chunks(trained, table.X, Path(data))


def _chunks(trained: Trained, X: Any, data: Path) -> Iterator[list[list]]:
    for s in range(0, X.shape[0], PREDICT_ROWS):
        yield _rows(trained, network_outputs(trained, np.asarray(X[s : s + PREDICT_ROWS]), data))


def _rows(trained: Trained, outputs: np.ndarray) -> list[list]:
    """One chunk's CSV rows from its outputs h (w, s_nl): label and probabilities, or the outputs."""
    if trained.cfg.data.task == "classification":
        labels = trained.prep.decode(outputs)
        return [[lab] + [repr(float(v)) for v in o] for lab, o in zip(labels.tolist(), class_probabilities(outputs))]
    return [[repr(float(v)) for v in o] for o in outputs]


def write_csv(stream: TextIO, header: list[str], chunks: Iterable[list[list]]) -> int:
    """The header and every chunk's rows as CSV into stream, a chunk at a time; returns the rows written. The
    first chunk is computed before anything is written: a file the model cannot take leaves the stream empty."""
    chunks = iter(chunks)
    first = next(chunks, [])
    w = csv.writer(stream, lineterminator="\n")
    w.writerow(header)
    n = 0
    for rows in itertools.chain([first], chunks):
        w.writerows(rows)
        n += len(rows)
    return n


def write_predictions(path: Path, header: list[str], chunks: Iterable[list[list]]) -> int:
    """write_csv into the file at path, atomically and durably (checkpoint.write_file); returns the rows written."""
    written = [0]

    def write(f: Any) -> None:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="", write_through=True)
        written[0] = write_csv(text, header, chunks)
        text.flush()
        text.detach()  # f is write_file's: fsynced and closed there

    ckpt.write_file(Path(path), write)
    return written[0]


def predict_rows(target: Path, data: Path, unknown: str = "error") -> tuple[list[str], list[list]]:
    """Header and every row of predictions at once: label and per-class probabilities, or the regression outputs
    (unknown as predictions)."""
    header, chunks = predictions(target, data, unknown)
    return header, [row for rows in chunks for row in rows]


def predictions_csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    write_csv(buf, header, [rows])
    return buf.getvalue()
