"""nettrain.data.encoding: the one-hot columns and fills fitted on the train split, applied to new raw rows, and
stored in Preprocessing's metadata (old metadata without them still loads; hostile metadata is one line)."""

from pathlib import Path

import numpy as np
import pytest

from nettrain.data import ColumnRules, Encoding, Preprocessing, encode_train_split, fit_encoding, read_table
from nettrain.data.encoding import Categorical, Numeric
from nettrain.errors import DataError

CSV = """age,color,income,label
31,red,52000,yes
45,green,,no
27,blue,38000,yes
52,,61000,no
38,red,47000.5,no
"""


@pytest.fixture
def raw(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(CSV, encoding="utf-8")
    return read_table(path, rules=ColumnRules.of(["color"], "mean"))


def test_fit_on_the_train_rows_only(raw):
    enc = fit_encoding(raw, np.array([0, 1, 3]), "mean")  # rows of ages 31, 45, 52
    # categories: those of the train rows (red, green; the 4th row's is empty), sorted; fills: their means
    assert enc.columns == (Numeric("age", (31 + 45 + 52) / 3), Categorical("color", ("green", "red")),
                           Numeric("income", (52000 + 61000) / 2))
    assert enc.names == ["age", "color=green", "color=red", "income"]
    assert fit_encoding(raw, np.array([0, 1, 3]), "drop").columns[0] == Numeric("age", None)


def test_apply_one_hot_in_place_fills_and_zeros(raw):
    enc = Encoding((Numeric("age", 40.0), Categorical("color", ("green", "red")), Numeric("income", 50000.0)))
    t = enc.apply(raw, unknown="ignore")
    np.testing.assert_array_equal(t.X, [
        [31, 0, 1, 52000],  # red
        [45, 1, 0, 50000],  # green, income filled
        [27, 0, 0, 38000],  # blue: not a category, ignored → all zeros
        [52, 0, 0, 61000],  # empty color → all zeros
        [38, 0, 1, 47000.5],
    ])
    assert t.feature_names == enc.names and t.levels is None and t.encoding is enc
    assert t.filled.tolist() == [False, True, False, True, False] and t.unknown.tolist() == [False, False, True,
                                                                                             False, False]


def test_an_unknown_category_is_one_line_naming_line_column_value_and_categories(raw):
    enc = Encoding((Numeric("age", 40.0), Categorical("color", ("green", "red")), Numeric("income", 50000.0)))
    with pytest.raises(DataError) as e:
        enc.apply(raw)
    assert str(e.value) == (f"{raw.path}:4: column 'color': 'blue' is not one of the 2 categories the model learnt "
                            "('green', 'red'): fix the value, or predict with --unknown ignore (unknown='ignore' in "
                            "Python) to encode it as all zeros")


def test_an_empty_cell_without_a_fill_is_refused(raw):
    enc = Encoding((Numeric("age"), Categorical("color", ("blue", "green", "red")), Numeric("income")))
    with pytest.raises(DataError, match=r"d.csv:3: column 'income' is empty: the model has no value to fill in"):
        enc.apply(raw)


def test_the_columns_must_be_the_models(raw):
    enc = Encoding((Numeric("income"), Numeric("age")))
    with pytest.raises(DataError, match=r"the data's feature columns are 'age', 'color', 'income', the model's"):
        enc.apply(raw)


def test_a_run_encodes_every_split_with_the_train_splits_encoding(raw):
    t = encode_train_split(raw, np.array([0, 2, 4]), "mean")  # green only in row 1: not a train category
    assert t.encoding.columns[1] == Categorical("color", ("blue", "red"))
    assert t.unknown.tolist() == [False, True, False, False, False]


# ------------------------------------------------------------------------------------------- metadata


def prep(enc):
    return Preprocessing("classification", enc.names, ["label"], [0.0] * len(enc.names), [1.0] * len(enc.names),
                         ["no", "yes"], False, enc)


ENC = Encoding((Numeric("age", 40.5), Categorical("color", ("green", "red")), Numeric("income", None)))


def test_metadata_round_trip():
    meta = prep(ENC).to_meta()
    assert meta["columns"] == [{"name": "age", "kind": "numeric", "fill": 40.5},
                               {"name": "color", "kind": "categorical", "categories": ["green", "red"]},
                               {"name": "income", "kind": "numeric", "fill": None}]
    back = Preprocessing.from_meta(meta)
    assert back.encoding == ENC and back.feature_names == ENC.names


def test_metadata_without_columns_is_a_model_of_raw_numbers():
    meta = prep(ENC).to_meta()
    del meta["columns"]
    assert Preprocessing.from_meta(meta).encoding is None
    assert "columns" not in Preprocessing("regression", ["a"], ["y"], None, None, None).to_meta()  # as before


@pytest.mark.parametrize("columns,message", [
    ([{"name": "age", "kind": "numeric", "fill": 1.0}], "columns encode to 1 inputs"),
    ([{"name": "age", "kind": "text", "fill": 1.0}], "columns.0"),
    ([{"name": "age", "kind": "numeric", "fill": "x"}], "columns.0.fill"),
    ([{"name": "age", "kind": "numeric", "fill": None},
      {"name": "color", "kind": "categorical", "categories": ["red", "green"]},
      {"name": "income", "kind": "numeric", "fill": None}], "the categories of 'color' must be sorted and distinct"),
    ([{"name": "age", "kind": "numeric", "fill": None},
      {"name": "color", "kind": "categorical", "categories": ["green", ""]},
      {"name": "income", "kind": "numeric", "fill": None}], "columns.1.categories.1"),
    ([{"name": "age", "kind": "numeric", "fill": None, "extra": 1}], "unknown key"),
    ("columns", "columns"),
])
def test_hostile_columns_metadata_is_one_line(columns, message):
    meta = {**prep(ENC).to_meta(), "columns": columns}
    with pytest.raises(DataError) as e:
        Preprocessing.from_meta(meta)
    assert str(e.value).startswith("preprocessing metadata: ") and message in str(e.value)
    assert "\n" not in str(e.value)


def test_a_model_learns_from_penguins_as_read(tmp_path):
    root = Path(__file__).resolve().parent.parent
    raw = read_table(root / "data" / "penguins.csv", ["species"], rules=ColumnRules.of("auto", "drop"))
    t = encode_train_split(raw, np.arange(len(raw.X)), "drop")
    assert t.X.shape == (333, 10) and t.dropped == 11 and np.isfinite(t.X).all()
    assert t.X[:, :3].sum(axis=1).tolist() == [1.0] * 333  # every penguin on exactly one island
