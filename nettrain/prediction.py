"""Predictions for new rows: `nettrain predict`'s CSV (the label and per-class probabilities, or the outputs).

    predictions(target, data, unknown, keep)  the header and the rows of predictions, PREDICT_ROWS rows at a
                                     time: the kept columns of the data file, then the predicted columns
    write_csv(stream, header, rows)  those rows into a text stream as they come (stdout)
    write_predictions(path, …)       the same into a file, atomically (a failure leaves no half file)
    predict_rows(target, data)       header and every row at once, for a file small enough to hold them

A .npy file is read from its memory map PREDICT_ROWS rows at a time and each chunk's predictions are
written before the next is read: memory beyond the map is bounded by the chunk, whatever the file's size.
A file of fewer rows is one chunk, predicted exactly as a whole.

The predicted columns are named predicted_<target> (the target column the model was trained on) and p_<class>:
never like a column of the data file, so that the file's own target, kept with --keep, stands beside them.

Left out on purpose: metrics (evaluation.py), printing.
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence, TextIO

import numpy as np

from . import checkpoint as ckpt
from . import data as data_mod
from .errors import UsageError
from .trained import Trained, class_probabilities, load_trained, network_outputs, read_like_training

PREDICT_ROWS = 8192  # rows of the data file predicted (and their CSV rows made, some 600 bytes each) at a time


def predictions(target: Path, data: Path, unknown: str = "error", keep: Sequence[str] = ()
                ) -> tuple[list[str], Iterator[list[list]]]:
    """Header and the rows of predictions — the data file's `keep` columns as they are written there, then the
    predicted label and per-class probabilities, or the regression outputs — as an iterator of chunks of
    PREDICT_ROWS rows, each computed when it is asked for. The file is read (and checked) here; a .npy file's
    target column is left in its map, unread. unknown: "error" or "ignore" (all zeros) for a category the model
    lacks."""
    trained = load_trained(target)
    cfg, prep = trained.cfg, trained.prep
    table = read_like_training(cfg, Path(data), require_target=False, encoding=prep.encoding, unknown=unknown,
                               drop=False, scan_targets=True)
    names = [str(n) for n in prep.target_names]
    header = ([f"predicted_{names[0]}"] + [f"p_{lab}" for lab in prep.labels] if cfg.data.task == "classification"
              else [f"predicted_{n}" for n in names])
    kept = kept_columns(Path(data), keep, cfg.data.delimiter, table.X.shape[0]) if keep else None
    return list(keep) + header, _chunks(trained, table.X, Path(data), kept)


def kept_columns(path: Path, keep: Sequence[str], delimiter: Optional[str], m: int) -> list[list[str]]:
    """The cells of the named columns of a .csv/.tsv/.txt or .parquet file, as text, row by row (m rows, those
    predicted). A file of unnamed columns (.npy, .npz), an unknown name or a name given twice: one line."""
    if len(set(keep)) != len(keep):
        raise UsageError(f"--keep names a column twice ({', '.join(keep)}): name each once")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        columns = _parquet_columns(path)
    elif suffix in data_mod.TEXT_SUFFIXES:
        columns = _text_columns(path, delimiter)
    else:
        raise UsageError(f"--keep needs a file with named columns (.csv, .tsv, .txt or .parquet); {path} has none: "
                         "leave --keep out")
    header, read = columns
    missing = [k for k in keep if k not in header]
    if missing:
        raise UsageError(f"--keep {missing[0]}: {path} has no column {missing[0]!r}; its columns: "
                         f"{', '.join(header[:12])}{' …' if len(header) > 12 else ''}")
    rows = read(list(keep))
    if len(rows) != m:
        raise UsageError(f"--keep: {path} has {len(rows)} rows of {', '.join(keep)} but {m} rows to predict: "
                         "give a file with a value in every row")
    return rows


def _text_columns(path: Path, delimiter: Optional[str]) -> tuple[list[str], Any]:
    import pandas as pd  # the kept columns are read apart from the features, as text exactly as written

    header, sep = data_mod.text_header(path, delimiter)  # as the rows predicted were read

    def read(names: list[str]) -> list[list[str]]:
        frame = pd.read_csv(path, sep=sep, usecols=names, dtype=str, keep_default_na=False, na_filter=False)
        return frame[names].values.tolist()
    return header, read


def _parquet_columns(path: Path) -> tuple[list[str], Any]:
    import pyarrow.parquet as pq

    header = list(pq.read_schema(path).names)

    def read(names: list[str]) -> list[list[str]]:
        t = pq.read_table(path, columns=names)
        return [["" if v is None else str(v) for v in row] for row in zip(*(t.column(n).to_pylist() for n in names))]
    return header, read


def _chunks(trained: Trained, X: Any, data: Path, kept: Optional[list[list[str]]] = None) -> Iterator[list[list]]:
    for s in range(0, X.shape[0], PREDICT_ROWS):
        rows = _rows(trained, network_outputs(trained, np.asarray(X[s : s + PREDICT_ROWS]), data))
        yield rows if kept is None else [k + r for k, r in zip(kept[s : s + PREDICT_ROWS], rows)]


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


def predict_rows(target: Path, data: Path, unknown: str = "error", keep: Sequence[str] = ()
                 ) -> tuple[list[str], list[list]]:
    """Header and every row of predictions at once: label and per-class probabilities, or the regression outputs
    (unknown and keep as predictions)."""
    header, chunks = predictions(target, data, unknown, keep)
    return header, [row for rows in chunks for row in rows]


def predictions_csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    write_csv(buf, header, [rows])
    return buf.getvalue()
