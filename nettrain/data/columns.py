"""Text and empty cells of the used columns: data.categorical and data.missing as the readers apply them.

    ColumnRules(categorical, missing)   what a reader does with a text cell in a feature column (a category,
                                        or refused) and with an empty cell (refused, its row dropped, or kept
                                        as NaN for the encoding to fill)
    category_codes(cells)               a column of text as codes into its levels (the distinct cells,
                                        stripped, sorted), NaN for an empty cell: one pass of pandas'
                                        Categorical, never a Python loop over the rows
    numbers_or_empty(cells)             a text column of numbers and empty cells as float64, NaN where empty
    RowsKept                            the file lines of the rows a drop kept, counted only when asked for

A raw table (Table.levels set) holds each categorical feature column as codes in X — float, so that a row
of X is still one array row, split and gathered as any other — and Table.levels[name] the text of each
code. Such a table is never trained on: encoding.Encoding turns it into numbers (one-hot columns, fills).

Left out on purpose: which categories a model keeps and what an empty cell becomes (encoding.py); parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from .messages import _error, _list, _show

MISSING = ("refuse", "drop", "mean")
AUTO = "auto"


@dataclass(frozen=True)
class ColumnRules:
    """How the used columns' text and empty cells are read.

    categorical: None (every feature column holds numbers, as before), "auto" (every feature column with a
    cell that is not a number, unless most of its cells are numbers: then it is a number column with a bad
    cell, refused where it is), or the names of the categorical feature columns.
    missing: "refuse" (an empty cell is a one-line error at its file:line), "drop" (rows with an empty cell
    in a used column are left out, and counted), "mean" (empty feature cells kept — NaN, or a NaN code — for
    the encoding to fill; an empty target cell is still refused).
    fitted: the columns are a trained model's (a text cell in a numeric column is then refused as such, not
    with the hint to name it in data.categorical).
    """

    categorical: Union[None, str, tuple[str, ...]] = None
    missing: str = "refuse"
    fitted: bool = False

    @classmethod
    def of(cls, categorical: Any = None, missing: str = "refuse", fitted: bool = False) -> "ColumnRules":
        if categorical is not None and categorical != AUTO:
            categorical = tuple(str(c) for c in ([categorical] if isinstance(categorical, str) else categorical))
        if missing not in MISSING:
            raise _error(f"data.missing must be one of {', '.join(MISSING)} (got {_show(missing)})")
        return cls(categorical, missing, fitted)

    def text_hint(self, name: str) -> str:
        """What a message about a text cell in the numeric column `name` adds."""
        if self.fitted:
            return " (the model takes this column as numbers: it held only numbers when the model was trained)"
        return f" (a category? name the column in data.categorical: [{name}], or set data.categorical: auto)"

    @property
    def plain(self) -> bool:
        """Numbers only and no empty cell: the readers' original path, unchanged."""
        return self.categorical is None and self.missing == "refuse"

    def named(self, path: Path, names: list[str], feature_cols: list[int]) -> Optional[list[int]]:
        """The named categorical columns as indices into names (None for auto or none); each must be a
        feature column."""
        if self.categorical is None or self.categorical == AUTO:
            return None
        features = [names[j] for j in feature_cols]
        for name in self.categorical:
            if name not in features:
                where = "a target column" if name in names else "not a column of the file"
                raise _error(f"{path}: data.categorical names {_show(name)}, which is {where}: name feature columns "
                             f"only (the features: {_list(features)})")
        return [names.index(name) for name in self.categorical]


def category_codes(cells: Any) -> tuple[np.ndarray, list[str]]:
    """(codes (m,) float64, levels): levels the distinct non-empty cells stripped of spaces, sorted as text;
    codes[i] the index of cell i's text in levels, NaN for an empty (or missing: None, NaN) cell.

    cells: a pandas Categorical or Series of text, or anything pandas.Categorical takes (numbers become
    their text: 3 → '3', 2.0 → '2.0')."""
    import pandas as pd  # here, not at the top: `import nettrain` stays light

    cat = cells.array if isinstance(cells, pd.Series) and isinstance(cells.dtype, pd.CategoricalDtype) else cells
    if not isinstance(cat, pd.Categorical):
        cat = pd.Categorical(cells)
    raw = np.asarray(cat.categories.astype(str), dtype=str)
    stripped = np.char.strip(raw) if raw.size else raw
    levels, inverse = np.unique(stripped, return_inverse=True)  # strip may merge two spellings: one level
    codes = np.asarray(cat.codes)
    table = np.append(inverse.reshape(-1).astype(np.float64), np.nan)  # code −1 (NaN, None) → NaN
    out = table[np.where(codes < 0, len(raw), codes)]
    found = [str(v) for v in levels]
    if found and found[0] == "":  # an empty (or blank) cell: missing, and the first level when sorted
        out[out == 0] = np.nan
        out -= 1
        found = found[1:]
    return out, found


def kept_levels(codes: np.ndarray, levels: list[str]) -> tuple[np.ndarray, list[str]]:
    """The codes and levels of the rows left after a drop: the levels no row holds any more left out, the codes
    renumbered (as category_codes of those rows alone gives them)."""
    used = np.unique(codes[~np.isnan(codes)]).astype(np.intp)
    if len(used) == len(levels):
        return codes, levels
    new = np.full(len(levels) + 1, np.nan)
    new[used] = np.arange(len(used))
    return new[np.where(np.isnan(codes), len(levels), codes).astype(np.intp)], [levels[i] for i in used]


def numbers_or_empty(cells: Any) -> Optional[np.ndarray]:
    """A text column (a pandas Series of str) of numbers and empty cells as float64, NaN where a cell is empty
    (or blank); None when a non-empty cell is not a finite number (the careful parser then words it). Each
    number is Python's float() of its text: correctly rounded, as the careful parser reads it."""
    text = cells.astype(object).to_numpy()
    empty = np.asarray(cells.astype(str).str.strip() == "", dtype=bool)
    try:
        values = np.where(empty, "nan", text).astype(np.float64)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(values) | empty).all():
        return None  # a "nan" or "inf" written in a cell
    values[empty] = np.nan
    return values


def mostly_numbers(cells: Any) -> bool:
    """data.categorical: auto's rule for a text column: more than half of its non-empty cells are finite
    numbers (a number column with a bad cell, not a category)."""
    import pandas as pd

    text = cells.astype(str).str.strip()
    filled = text[text != ""]
    if filled.empty:
        return True  # no text at all: a column of empty cells is no category
    numbers = pd.to_numeric(filled, errors="coerce").to_numpy(dtype=np.float64)
    return int(np.isfinite(numbers).sum()) * 2 > len(filled)


class RowsKept(Sequence[int]):
    """The file lines of the rows kept by data.missing: drop — lines[kept[i]] — counted when first asked for."""

    def __init__(self, lines: Sequence[int], kept: np.ndarray) -> None:
        self.lines, self.kept = lines, kept

    def __len__(self) -> int:
        return len(self.kept)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return RowsKept(self.lines, self.kept[i])
        return self.lines[int(self.kept[i])]


def nothing_left(path: Path, dropped: int) -> Exception:
    return _error(f"{path}: every one of the {dropped} rows has an empty cell in a used column, and data.missing: "
                  "drop leaves none: fill the cells in, leave the emptiest column out with data.features, or set "
                  "data.missing: mean")


# ---- rows given in Python: a DataFrame, a list of dicts, a dict of columns, an array


def frame_of(rows: Any, names: list[str], what: str) -> Any:
    """Rows given in Python as a pandas DataFrame of the columns `names`, taken by name (a DataFrame, a list of
    dicts, a dict of columns) or by position (a 2-D array or nested lists: len(names) columns in this order)."""
    import pandas as pd

    if isinstance(rows, (list, tuple)) and rows and all(isinstance(r, dict) for r in rows):
        rows = pd.DataFrame(list(rows))
    elif isinstance(rows, dict):
        rows = pd.DataFrame(rows)
    if isinstance(rows, pd.DataFrame):
        absent = [n for n in names if n not in rows.columns]
        if absent:
            raise _error(f"{what} has no column {_show(absent[0])}: the model takes the columns {_list(names)}")
        return rows[names].reset_index(drop=True)
    array = np.asarray(rows, dtype=object if not isinstance(rows, np.ndarray) else None)
    if array.ndim != 2 or array.shape[1] != len(names):
        raise _error(f"{what} must be 2-D with {len(names)} columns, {_list(names)} in this order, one row per "
                     f"example (got shape {array.shape}); or a DataFrame or a list of dicts, columns by name")
    return pd.DataFrame(array, columns=names)


def as_text(column: Any) -> Any:
    """A column of categories as text cells (pandas' object Series; None, NaN → missing): numbers become their
    text, a whole float as an integer's (3 and 3.0 → '3', 2.5 → '2.5'), as a csv would write them."""
    import pandas as pd

    def text(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, (bool, np.bool_)):
            return str(bool(v))
        if isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()):
            return str(int(v))
        return str(v)

    if column.dtype.kind in "OSU" or isinstance(column.dtype, pd.CategoricalDtype):
        if all(isinstance(v, str) or v is None for v in column.array):
            return column.astype(object)
    return column.astype(object).map(text)


def table_of_frame(frame: Any, categorical: Sequence[str], missing: str, what: str, y: Any = None,
                   target_names: Sequence[str] = (), fitted: bool = True) -> Any:
    """A raw table (Table.levels set) of a DataFrame's columns, all features: `categorical` as codes of their text,
    the others numbers (a cell that is not one: a one-line DataError naming the row and column). An empty cell
    (None, NaN, blank text) is NaN with missing "mean"; refused with "refuse"; its row left out (with y's) with
    "drop". y: the targets, one per row (None: features only). fitted: the columns are a trained model's (for the
    message about a text cell in a numeric column)."""
    import pandas as pd

    from .table import Table

    m = len(frame)
    X, levels, empty = np.empty((m, frame.shape[1]), dtype=np.float64), {}, np.zeros(m, dtype=bool)
    for k, name in enumerate(frame.columns):
        column = frame[name]
        if name in categorical:
            X[:, k], levels[name] = category_codes(as_text(column))
        else:
            cells = column.astype(object)
            blank = cells.isna().to_numpy() | np.array([isinstance(c, str) and not c.strip() for c in cells])
            values = pd.to_numeric(cells.where(~blank, np.nan), errors="coerce").to_numpy(dtype=np.float64)
            bad = np.flatnonzero(~np.isfinite(values) & ~blank)
            if bad.size:
                i = int(bad[0])
                hint = "the model takes this column as numbers" if fitted else "a category? name it in categorical"
                raise _error(f"{what}: row {i + 1}, column {_show(name)}: {_show(cells[i])} is not a finite number "
                             f"({hint})")
            X[:, k] = np.where(blank, np.nan, values)
        blank = np.isnan(X[:, k])
        if blank.any() and missing == "refuse":
            raise _error(f"{what}: row {int(np.argmax(blank)) + 1}, column {_show(name)}: is empty (a missing value): "
                         "fill it in (the model has no value for it: it was not trained with data.missing: mean)")
        empty |= blank
    kept = np.flatnonzero(~empty) if missing == "drop" else np.arange(m)
    if not kept.size:
        raise nothing_left(Path(what), m)
    Y = np.empty((len(kept), 0)) if y is None else np.asarray(y)[kept]
    X = X[kept]
    for k, name in enumerate(frame.columns):
        if name in levels:
            X[:, k], levels[name] = kept_levels(X[:, k], levels[name])
    return Table(X, Y, [str(c) for c in frame.columns], list(target_names), Path(what), levels=levels,
                 dropped=m - len(kept))
