"""Datasets: reading csv / npz / npy files, targets, one-hot labels, standardisation, the seeded split.

This package is the one home of data reading and preprocessing. Here a dataset is held one ROW
per example, X of shape (m, n), as files hold it; the trainer transposes once to the tutorial's
one-column-per-example layout.

    read_table(path)            a file as read: Table(X, y, names) — or DataError, one line
    read_rows(path, start, stop) rows start…stop−1 of it, reading no more of the file than needed
    row_count(path)             its number of rows, from a footer, a header or a scan of lines
    SplitSpec(m, …, seed)       the seeded split into train / val / test; .rows(name): a split's rows
    split_indices(m, ...)       the same as sorted index arrays
    prepare_rows(rows, spec, …) the one preparation path: labels, standardisation, whitening from sums over
                                rows in memory, in a memory map or on a cluster (Rows), → Prepared
    prepare(table, ...)         split, standardise with train statistics, encode targets: a Table's splits
    Preprocessing               what it takes to treat new data exactly as the training data:
                                mean, std, label set, the Encoding; stored in checkpoints via to_meta()
    ColumnRules(categorical, missing)   how a reader takes text and empty cells (data.categorical, data.missing):
                                a raw table, categorical columns as codes
    Encoding, encode_train_split  the raw columns as numbers (one-hot columns, fills), fitted on the train split
    MappedRows                  the train split of a memory-mapped file, read a chunk at a time

One job per module:

    messages.py     one-line DataError wording shared by all
    table.py        Table; the checks every reader shares (labels, classes, finite values)
    columns.py      ColumnRules: text cells as category codes, empty cells (a raw table); rows of a DataFrame
    encoding.py     Encoding: one-hot columns and fills, fitted on the train split, applied to new raw rows
    readers.py      read_table: dispatch by file kind, argument checks
    text.py         .csv / .tsv / .txt: pandas' C parser
    careful.py      the careful parser that words refusals, and what both parsers share
    arrays.py       .npz and .npy (memory-mapped)
    parquet.py      .parquet, through pyarrow (optional), by row group
    preprocess.py   Preprocessing: standardise, encode targets, decode outputs, checkpoint metadata
    split.py        SplitSpec, SplitRows (a split's rows, two bits per row), split_indices
    prepare.py      the one preparation path (Rows, TableRows, prepare_rows, held_splits, prepare)
    mapped.py       MappedRows, MappedTargets: a lazy split, x̂ and encoded y made per chunk

Left out on purpose: no terminal output, no config parsing, no network code. Every problem with
the input is a DataError whose message is one line naming the file and, where there is one, the
line (1-based; the header is line 1) and the column.
"""

from .arrays import table_of_arrays
from .columns import AUTO, MISSING, ColumnRules, as_text, frame_of, table_of_frame
from .encoding import UNKNOWN, Encoding, described, encode_train_split, fit_encoding, notes
from .mapped import MappedRows, MappedTargets
from .preprocess import Preprocessing
from .readers import file_kind, read_inputs, read_rows, read_table, row_count
from .prepare import Prepared, Rows, TableRows, held_splits, prepare, prepare_rows
from .split import SPLITS, SplitRows, SplitSpec, split_indices
from .table import TASKS, Table, as_rows
from .text import DELIMITERS, TEXT_SUFFIXES, text_header

__all__ = [
    "AUTO", "MISSING", "UNKNOWN", "ColumnRules", "as_text", "frame_of", "table_of_frame",
    "Encoding", "described", "encode_train_split", "fit_encoding", "notes",
    "table_of_arrays",
    "read_inputs",
    "as_rows",
    "DELIMITERS", "TASKS", "TEXT_SUFFIXES", "text_header", "MappedRows", "MappedTargets", "Preprocessing", "Table", "file_kind",
    "prepare", "read_rows", "read_table", "row_count", "split_indices",
    "Prepared", "Rows", "TableRows", "held_splits", "prepare_rows", "SPLITS", "SplitRows", "SplitSpec",
]
