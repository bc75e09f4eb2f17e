"""nettrain.data.columns and the readers under data.categorical and data.missing: the raw table (categorical
columns as codes of their sorted text, empty cells NaN or their rows dropped), pandas' parser and the careful
one alike, and every refusal one line naming the file's line and column."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nettrain.data import ColumnRules, read_table, table_of_frame, text
from nettrain.data.columns import category_codes, numbers_or_empty
from nettrain.errors import DataError

ROOT = Path(__file__).resolve().parent.parent

CSV = """age,color,income,label
31,red,52000,yes
45, green ,,no
27,blue,38000,yes

52,,61000,no
38,red,47000.5,no
"""


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def careful(monkeypatch):
    """Make every text file go to the careful parser, as a file pandas refuses does."""
    def refuse(*a, **k):
        raise text._Refused

    monkeypatch.setattr(text, "_read_fast", refuse)


def same(a, b):
    assert np.array_equal(a.X, b.X, equal_nan=True) and a.levels == b.levels and a.dropped == b.dropped
    assert a.y.tolist() == b.y.tolist() and a.feature_names == b.feature_names
    assert (a.lines is None) == (b.lines is None) and (a.lines is None or list(a.lines) == list(b.lines))


def test_category_codes_by_hand():
    codes, levels = category_codes(pd.Series(["red", " green", "", "red", None, "blue ", "  "], dtype=object))
    # levels sorted as text, cells stripped: blue 0, green 1, red 2; "", None and blanks are empty (NaN)
    assert levels == ["blue", "green", "red"]
    np.testing.assert_array_equal(codes, [2, 1, np.nan, 2, np.nan, 0, np.nan])


def test_numbers_or_empty_reads_as_float_does():
    got = numbers_or_empty(pd.Series(["0.1", "", " 2", "1e-3"], dtype=object))
    np.testing.assert_array_equal(got, [0.1, np.nan, 2.0, 0.001])
    assert numbers_or_empty(pd.Series(["1", "abc"])) is None and numbers_or_empty(pd.Series(["1", "nan"])) is None


@pytest.mark.parametrize("parser", ["fast", "careful"])
def test_a_categorical_column_with_missing_mean_is_codes_and_nan(tmp_path, monkeypatch, parser):
    if parser == "careful":
        careful(monkeypatch)
    t = read_table(write(tmp_path / "d.csv", CSV), rules=ColumnRules.of(["color"], "mean"))
    assert t.feature_names == ["age", "color", "income"] and t.levels == {"color": ["blue", "green", "red"]}
    np.testing.assert_array_equal(t.X, [[31, 2, 52000], [45, 1, np.nan], [27, 0, 38000], [52, np.nan, 61000],
                                        [38, 2, 47000.5]])
    assert t.y.tolist() == ["yes", "no", "yes", "no", "no"] and list(t.lines) == [2, 3, 4, 6, 7]
    assert t.dropped == 0


@pytest.mark.parametrize("parser", ["fast", "careful"])
def test_drop_leaves_out_rows_with_an_empty_used_cell_and_keeps_their_lines(tmp_path, monkeypatch, parser):
    if parser == "careful":
        careful(monkeypatch)
    t = read_table(write(tmp_path / "d.csv", CSV), rules=ColumnRules.of("auto", "drop"))
    assert t.dropped == 2 and list(t.lines) == [2, 4, 7]  # lines 3 (income) and 6 (color) are left out
    np.testing.assert_array_equal(t.X, [[31, 1, 52000], [27, 0, 38000], [38, 1, 47000.5]])
    assert t.levels == {"color": ["blue", "red"]}  # green was only in a dropped row


def test_the_two_parsers_read_the_same_raw_table(tmp_path, monkeypatch):
    path = write(tmp_path / "d.csv", CSV)
    for rules in (ColumnRules.of(["color"], "mean"), ColumnRules.of("auto", "drop"), ColumnRules.of("auto", "mean")):
        fast = read_table(path, rules=rules)
        with monkeypatch.context() as mp:
            careful(mp)
            same(fast, read_table(path, rules=rules))


def test_a_file_pandas_refuses_is_read_by_the_careful_parser_alike(tmp_path):
    """A quoted line break in a category: pandas' rows would not be lines, so the careful parser reads it."""
    path = write(tmp_path / "q.csv", 'a,c,label\n1,"x\ny",0\n2,x,1\n,z,0\n')
    t = read_table(path, rules=ColumnRules.of("auto", "mean"))
    assert t.levels == {"c": ["x", "x\ny", "z"]} and list(t.lines) == [2, 4, 5]
    np.testing.assert_array_equal(t.X, [[1, 1], [2, 0], [np.nan, 2]])


@pytest.mark.parametrize("parser", ["fast", "careful"])
def test_refuse_names_the_first_empty_cell_at_its_line(tmp_path, monkeypatch, parser):
    if parser == "careful":
        careful(monkeypatch)
    path = write(tmp_path / "d.csv", CSV)
    with pytest.raises(DataError, match=r"d.csv:3: column 'income': is empty \(a missing value\): fill it in or drop "
                                        r"the row, or set data.missing: drop"):
        read_table(path, rules=ColumnRules.of(["color"]))
    with pytest.raises(DataError, match=r"d.csv:6: column 'color': is empty"):
        read_table(path, features=["age", "color"], rules=ColumnRules.of(["color"]))


def test_without_rules_a_text_cell_names_data_categorical(tmp_path):
    path = write(tmp_path / "d.csv", CSV)
    with pytest.raises(DataError) as e:
        read_table(path)
    assert str(e.value) == (f"{path}:2: column 'color': 'red' is not a number (a category? name the column in "
                            "data.categorical: [color], or set data.categorical: auto)")


def test_auto_takes_a_mostly_numeric_column_as_numbers_with_a_bad_cell(tmp_path):
    path = write(tmp_path / "n.csv", "a,b,label\n1,x,0\n2,y,1\nN/A,x,0\n4,z,1\n")
    with pytest.raises(DataError, match=r"n.csv:4: column 'a': 'N/A' is not a number"):
        read_table(path, rules=ColumnRules.of("auto"))
    t = read_table(path, rules=ColumnRules.of(["a", "b"]))  # named: a column of text, whatever it holds
    assert t.levels == {"a": ["1", "2", "4", "N/A"], "b": ["x", "y", "z"]}


def test_an_empty_target_is_dropped_or_refused_never_filled(tmp_path):
    path = write(tmp_path / "t.csv", "a,label\n1,x\n2,\n3,y\n")
    assert read_table(path, rules=ColumnRules.of(None, "drop")).y.tolist() == ["x", "y"]
    with pytest.raises(DataError, match=r"t.csv:3: column 'label': label is empty"):
        read_table(path, rules=ColumnRules.of(None, "mean"))
    reg = write(tmp_path / "r.csv", "a,y\n1,0.5\n2,\n3,1.5\n")
    with pytest.raises(DataError, match=r"r.csv:3: column 'y': is empty \(a missing value\): a target is never filled"):
        read_table(reg, task="regression", rules=ColumnRules.of(None, "mean"))


def test_drop_that_leaves_nothing_is_one_line(tmp_path):
    path = write(tmp_path / "e.csv", "a,b,label\n1,,x\n,2,y\n")
    with pytest.raises(DataError, match=r"e.csv: every one of the 2 rows has an empty cell"):
        read_table(path, rules=ColumnRules.of(None, "drop"))


def test_categorical_names_must_be_feature_columns(tmp_path):
    path = write(tmp_path / "d.csv", CSV)
    with pytest.raises(DataError, match=r"data.categorical names 'label', which is a target column"):
        read_table(path, rules=ColumnRules.of(["label"]))
    with pytest.raises(DataError, match=r"data.categorical names 'colour', which is not a column of the file"):
        read_table(path, rules=ColumnRules.of(["colour"]))


def test_numpy_files_hold_numbers_only(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.ones((3, 2)), y=np.array([0, 1, 0]))
    with pytest.raises(DataError, match=r"data.categorical needs a .csv or .parquet file"):
        read_table(tmp_path / "a.npz", rules=ColumnRules.of("auto"))


def test_the_penguins_file():
    t = read_table(ROOT / "data" / "penguins.csv", ["species"], rules=ColumnRules.of("auto", "mean"))
    assert t.levels == {"island": ["Biscoe", "Dream", "Torgersen"], "sex": ["female", "male"]}
    assert int(np.isnan(t.X).sum()) == 19 and t.X.shape == (344, 7)


def test_parquet_text_and_null_cells(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1.0, None, 3.0, 4.0], "c": ["u", "v", None, "w"], "label": ["x", "y", "x", "y"]}),
                   tmp_path / "d.parquet")
    t = read_table(tmp_path / "d.parquet", rules=ColumnRules.of("auto", "mean"))
    assert t.levels == {"c": ["u", "v", "w"]}
    np.testing.assert_array_equal(t.X, [[1, 0], [np.nan, 1], [3, np.nan], [4, 2]])
    dropped = read_table(tmp_path / "d.parquet", rules=ColumnRules.of("auto", "drop"))
    assert dropped.y.tolist() == ["x", "y"] and dropped.levels == {"c": ["u", "w"]} and dropped.dropped == 2
    with pytest.raises(DataError, match=r"column 'a', row 2: is empty \(null\)"):
        read_table(tmp_path / "d.parquet", rules=ColumnRules.of("auto"))


def test_a_data_frame_as_a_raw_table():
    frame = pd.DataFrame({"n": [1.5, None, 2.0], "c": ["a", "b", np.nan], "k": [3, 1, 3]})
    t = table_of_frame(frame, ["c", "k"], "mean", "X")
    assert t.levels == {"c": ["a", "b"], "k": ["1", "3"]}  # numbers given for a category are their text
    np.testing.assert_array_equal(t.X, [[1.5, 0, 1], [np.nan, 1, 0], [2.0, np.nan, 1]])
    with pytest.raises(DataError, match=r"X: row 2, column 'n': is empty"):
        table_of_frame(frame, ["c", "k"], "refuse", "X")
    with pytest.raises(DataError, match=r"X: row 1, column 'c': 'a' is not a finite number"):
        table_of_frame(frame, [], "mean", "X")
