"""The inputs as numbers: data.categorical's one-hot columns and data.missing's fills, fitted on the train split
and stored with the model, so that new raw rows are treated exactly as the training rows were.

    fit_encoding(table, train, missing)     the Encoding of a raw table (columns.py): each categorical column's
                                            categories (those of the train split, sorted as text) and, with
                                            data.missing: mean, each numeric column's fill (its train split mean)
    Encoding.apply(table, unknown=…)        a raw table made numbers: the encoded Table
    encode_train_split(table, split, seed, missing)   both, for a run: fitted on the train split, applied to
                                            every row (a val or test row whose category the train split lacks
                                            is all zeros there, and counted)

The encoded columns, in order: every raw feature column in place — a numeric column as itself (an empty cell:
its fill), a categorical column C as one 0/1 column per category, named "C=category". An empty categorical
cell (data.missing: mean) is all zeros; so is, with unknown="ignore", a category the model lacks (as
scikit-learn's OneHotEncoder(handle_unknown="ignore")); with unknown="error" that is a one-line DataError
naming the file's line, the column, the value and the categories. Preprocessing's μ and σ are then those of
the encoded columns (a one-hot column is standardised like any other), and a model without text or empty
cells has no Encoding at all: its encoded columns are its raw ones.

Left out on purpose: reading cells (the readers, columns.py); standardisation (preprocess.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Union

import numpy as np

from .messages import _error, _list, _show
from .table import Table

UNKNOWN = ("error", "ignore")
UNKNOWN_HINT = "predict with --unknown ignore (unknown='ignore' in Python) to encode it as all zeros"


@dataclass(frozen=True)
class Numeric:
    """A numeric input column; fill: what an empty cell becomes (data.missing: mean), None: no empty cell allowed."""

    name: str
    fill: Optional[float] = None


@dataclass(frozen=True)
class Categorical:
    """A text input column, one 0/1 column per category (sorted as text), in place."""

    name: str
    categories: tuple[str, ...]


Column = Union[Numeric, Categorical]


@dataclass(frozen=True)
class Encoding:
    """The raw input columns in order, each Numeric or Categorical."""

    columns: tuple[Column, ...]

    @property
    def raw_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def categorical(self) -> tuple[str, ...]:
        """The names of the categorical columns (what a reader of new rows takes as text)."""
        return tuple(c.name for c in self.columns if isinstance(c, Categorical))

    @property
    def names(self) -> list[str]:
        """The encoded columns' names: a numeric column's own, "C=category" for each one-hot column."""
        out: list[str] = []
        for c in self.columns:
            out += [c.name] if isinstance(c, Numeric) else [f"{c.name}={v}" for v in c.categories]
        return out

    def to_meta(self) -> list[dict]:
        """JSON-able: [{"name", "kind": "numeric", "fill"} | {"name", "kind": "categorical", "categories"}]."""
        return [{"name": c.name, "kind": "numeric", "fill": None if c.fill is None else float(c.fill)}
                if isinstance(c, Numeric) else {"name": c.name, "kind": "categorical", "categories": list(c.categories)}
                for c in self.columns]

    @classmethod
    def from_meta(cls, items: list) -> "Encoding":
        """From to_meta's list, already validated (preprocess._Meta)."""
        return cls(tuple(Numeric(d["name"], d["fill"]) if d["kind"] == "numeric"
                         else Categorical(d["name"], tuple(d["categories"])) for d in items))

    def apply(self, table: Table, unknown: str = "error") -> Table:
        """The raw table's X as the encoded (m, n) float64 array, in a new Table (feature_names: names; filled and
        unknown: per row, whether a cell was filled or a category the model lacks became all zeros). unknown:
        "error" (a one-line DataError at the first such cell) or "ignore"."""
        if unknown not in UNKNOWN:
            raise _error(f"unknown must be one of {', '.join(UNKNOWN)} (got {_show(unknown)})")
        if list(table.feature_names) != self.raw_names:
            raise _error(f"{table.path}: the data's feature columns are {_list(list(table.feature_names))}, the "
                         f"model's {_list(self.raw_names)}")
        m = table.X.shape[0]
        parts, filled, lacking = [], np.zeros(m, dtype=bool), np.zeros(m, dtype=bool)
        levels = table.levels or {}
        for j, column in enumerate(self.columns):
            v = np.asarray(table.X[:, j], dtype=np.float64)
            empty = np.isnan(v)
            if isinstance(column, Numeric):
                if column.name in levels:
                    raise _error(f"{table.path}: column {_show(column.name)} was read as text, but the model takes "
                                 "it as numbers")
                if empty.any():
                    if column.fill is None:  # the readers refuse it first; rows given in Python may not
                        raise _error(f"{_where(table, int(np.argmax(empty)))}column {_show(column.name)} is empty: "
                                     "the model has no value to fill in (it was trained with data.missing: refuse "
                                     "or drop): fill it in")
                    v = np.where(empty, column.fill, v)
                parts.append(v.reshape(-1, 1))
            else:
                block, bad = _one_hot(table, column, v, levels.get(column.name))
                if bad.any() and unknown == "error":
                    i = int(np.argmax(bad))
                    value = (levels.get(column.name) or [])[int(v[i])]
                    raise _error(f"{_where(table, i)}column {_show(column.name)}: {_show(value)} is not one of the "
                                 f"{len(column.categories)} categories the model learnt ({_list(column.categories)}): "
                                 f"fix the value, or {UNKNOWN_HINT}")
                parts.append(block)
                lacking |= bad
            filled |= empty
        X = np.ascontiguousarray(np.hstack(parts)) if parts else np.empty((m, 0))
        return replace(table, X=X, feature_names=self.names, levels=None, encoding=self,
                       filled=filled if filled.any() else None, unknown=lacking if lacking.any() else None)


def _where(table: Table, i: int) -> str:
    """'file:line: ' of row i, or 'file: row i+1: '."""
    if table.lines is not None:
        return f"{table.path}:{table.lines[i]}: "
    return f"{table.path}: row {i + 1}: "


def _one_hot(table: Table, column: Categorical, codes: np.ndarray, levels: Optional[list[str]]
             ) -> tuple[np.ndarray, np.ndarray]:
    """(the (m, C) 0/1 block, the rows whose value is not a category): codes index levels (NaN: empty, all zeros)."""
    if levels is None:
        raise _error(f"{table.path}: column {_show(column.name)} was read as numbers, but the model takes it as a "
                     f"category (one of {_list(column.categories)})")
    index = {v: c for c, v in enumerate(column.categories)}
    lookup = np.array([index.get(v, -1) for v in levels] + [-2], dtype=np.intp)  # one entry per level, not per row
    at = lookup[np.where(np.isnan(codes), len(levels), np.nan_to_num(codes)).astype(np.intp)]  # −2: empty
    block = np.zeros((codes.shape[0], len(column.categories)), dtype=np.float64)
    rows = np.flatnonzero(at >= 0)
    block[rows, at[rows]] = 1.0
    return block, at == -1


def fit_encoding(table: Table, train: np.ndarray, missing: str) -> Encoding:
    """The Encoding of a raw table fitted on its rows `train`: a categorical column's categories are the values of
    those rows, sorted; with missing "mean" a numeric column's fill is their mean (over its non-empty cells).
    DataError when a column has no value at all in those rows."""
    levels = table.levels or {}
    columns: list[Column] = []
    for j, name in enumerate(table.feature_names):
        values = np.asarray(table.X[train, j], dtype=np.float64)
        present = values[~np.isnan(values)]
        if not present.size:
            raise _error(f"{table.path}: column {_show(name)} has no value in the train split's {len(train)} rows: "
                         "leave it out with data.features")
        if name in levels:
            columns.append(Categorical(name, tuple(levels[name][int(c)] for c in np.unique(present))))
        else:
            columns.append(Numeric(name, float(np.mean(present)) if missing == "mean" else None))
    return Encoding(tuple(columns))


def encode_train_split(table: Table, train: np.ndarray, missing: str) -> Table:
    """A run's table as numbers: a raw table (read with data.categorical or data.missing) encoded by the Encoding
    fitted on the rows `train` (a val or test row holding a category the train split lacks: all zeros, counted in
    Table.unknown); any other table as it is."""
    if table.levels is None:
        return table
    if not table.levels and missing != "mean":
        return replace(table, levels=None)  # numbers only and no empty cell left: nothing to encode
    return fit_encoding(table, train, missing).apply(table, unknown="ignore")


def described(table: Table, missing: str, rows: Optional[np.ndarray] = None) -> dict:
    """What data.missing did to the rows `rows` of an encoded table (None: all): {"policy", "dropped" (rows of
    the file left out), "filled" (rows with a filled cell or an empty category), "unknown" (rows with a category
    the model lacks, all zeros)} — eval --json's "missing" and the notes of a fit."""
    def count(mask: Optional[np.ndarray]) -> int:
        return 0 if mask is None else int(np.count_nonzero(mask if rows is None else mask[rows]))

    return {"policy": missing, "dropped": int(table.dropped), "filled": count(table.filled),
            "unknown": count(table.unknown)}


def notes(table: Table, missing: str) -> list[str]:
    """One line for each thing data.missing and data.categorical did to a run's data (nothing: no line)."""
    d, m = described(table, missing), table.X.shape[0]
    out = []
    if d["dropped"]:
        out.append(f"data.missing: drop: {d['dropped']} of {m + d['dropped']} rows left out (an empty cell in a used "
                   "column)")
    if d["filled"]:
        out.append(f"data.missing: mean: {d['filled']} of {m} rows have empty cells, filled with the train split's "
                   "means (an empty category: all zeros)")
    if d["unknown"]:
        out.append(f"{d['unknown']} val/test rows hold a category the train split lacks: encoded as all zeros")
    return out
