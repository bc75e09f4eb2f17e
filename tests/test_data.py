"""Data reading and preprocessing: the shipped files, every bad input, literal encodings and statistics."""

import json
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nettrain.data import Preprocessing, Table, prepare, read_table, split_indices
from nettrain.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SPLIT = {"train": 0.8, "val": 0.1, "test": 0.1}


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def data_error(*args, **kwargs) -> str:
    """read_table's DataError message (asserting there is one, on one line)."""
    with pytest.raises(DataError) as info:
        read_table(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# ---- the shipped datasets


def test_xor():
    t = read_table(DATA / "xor.csv")
    assert t.X.shape == (4, 2) and t.X.dtype == np.float64
    assert t.X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert t.y.tolist() == [0, 1, 1, 0]
    assert (t.feature_names, t.target_names) == (["x1", "x2"], ["label"])


def test_iris_reads_back_exactly():
    from sklearn.datasets import load_iris

    t = read_table(DATA / "iris.csv")
    iris = load_iris()
    assert t.X.shape == (150, 4)
    assert t.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert t.target_names == ["species"]
    assert np.array_equal(t.X, iris.data)  # exact: floats were written with repr
    assert sorted(set(t.y.tolist())) == ["setosa", "versicolor", "virginica"]
    assert t.y.tolist() == [str(iris.target_names[k]) for k in iris.target]


def test_digits_reads_back_exactly():
    from sklearn.datasets import load_digits

    t = read_table(DATA / "digits.csv")
    digits = load_digits()
    assert t.X.shape == (1797, 64)
    assert t.feature_names == [f"p{j}" for j in range(64)]
    assert np.array_equal(t.X, digits.data)
    assert t.y.dtype == np.int64 and np.array_equal(t.y, digits.target)
    _, pre = prepare(t, SPLIT, True, seed=0)
    assert pre.labels == list(range(10)) and pre.n_outputs == 10


def test_diabetes_reads_back_exactly():
    from sklearn.datasets import load_diabetes

    t = read_table(DATA / "diabetes.csv", task="regression")
    diabetes = load_diabetes(scaled=False)
    assert t.X.shape == (442, 10) and t.y.shape == (442, 1) and t.y.dtype == np.float64
    assert t.feature_names == list(diabetes.feature_names) and t.target_names == ["progression"]
    assert np.array_equal(t.X, diabetes.data)
    assert np.array_equal(t.y[:, 0], diabetes.target)


def test_shipped_files_are_small():
    for name in ("xor", "iris", "digits", "diabetes"):
        assert (DATA / f"{name}.csv").stat().st_size < 1_000_000
    assert (DATA / "mnist-5k.npz").stat().st_size < 2_000_000


def test_mnist_reads_as_made():
    """data/mnist-5k.npz (data/make_mnist.py): 500 of each digit, 28×28 pixels 0–255 stored as uint8, read
    as the same numbers in float64; data.scale {0, 255} maps them to [0, 1] as x/255."""
    with np.load(DATA / "mnist-5k.npz") as f:
        raw = f["X"]
        assert raw.dtype == np.uint8 and raw.shape == (5000, 784) and f["y"].dtype == np.int64
    t = read_table(DATA / "mnist-5k.npz")
    assert t.X.dtype == np.float64 and np.array_equal(t.X, raw.astype(np.float64))
    assert t.X.max() == 255.0 and t.X.min() == 0.0
    assert t.feature_names == [f"p{j}" for j in range(784)] and t.target_names == ["label"]
    assert t.y.dtype == np.int64 and np.bincount(t.y).tolist() == [500] * 10
    ink = raw.reshape(-1, 28, 28).astype(np.float64).mean(axis=0)
    assert ink[0].max() == 0.0 and ink[12:16, 12:16].mean() > 100  # row 0 blank in every image; ink in the middle


def test_uint8_pixels_are_read_without_wrapping(tmp_path):
    """uint8 X (.npz and the memory-mapped .npy alike): x − μ and x/255 computed in float64, never in
    uint8's modular arithmetic (where 0 − 1 = 255)."""
    X = np.array([[0, 255, 7], [255, 0, 7], [128, 1, 7], [3, 254, 7]], dtype=np.uint8)
    y = np.array([0, 1, 0, 1], dtype=np.uint8)
    np.savez_compressed(tmp_path / "u.npz", X=X, y=y)
    np.save(tmp_path / "u.npy", np.hstack([X, y[:, None]]))
    whole = {"train": 1.0, "val": 0.0, "test": 0.0}
    for name in ("u.npz", "u.npy"):
        t = read_table(tmp_path / name)
        assert np.array_equal(np.asarray(t.X, dtype=np.float64), X.astype(np.float64)) and t.y.tolist() == [0, 1, 0, 1]
        scaled, _ = prepare(t, whole, False, seed=0, scale=(0, 255))
        np.testing.assert_array_equal(scaled["train"][0][:2], [[0, 1, 7 / 255], [1, 0, 7 / 255]])
        std, pre = prepare(t, whole, True, seed=0)
        assert pre.mean == [96.5, 127.5, 7.0] and pre.std[2] == 1.0  # (0+255+128+3)/4; constant column: σ = 1
        np.testing.assert_allclose(std["train"][0][:, 0], (X[:, 0] - 96.5) / np.std(X[:, 0].astype(float)))


# ---- text formats


def test_bom_is_dropped(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbfa,b,label\r\n1,2,x\r\n3,4,y\r\n")
    t = read_table(p)
    assert t.feature_names == ["a", "b"]
    assert t.X.tolist() == [[1, 2], [3, 4]] and t.y.tolist() == ["x", "y"]


@pytest.mark.parametrize("name, sep", [("semi.csv", ";"), ("tabs.tsv", "\t"), ("tabs.txt", "\t"), ("comma.txt", ",")])
def test_delimiter_detected(tmp_path, name, sep):
    p = write(tmp_path / name, sep.join(["a", "b", "label"]) + "\n" + sep.join(["1.5", "-2", "0"]) + "\n"
              + sep.join(["3", "4e1", "1"]) + "\n")
    t = read_table(p)
    assert t.X.tolist() == [[1.5, -2.0], [3.0, 40.0]] and t.y.tolist() == [0, 1]


def test_quoting_blank_lines_and_spaces(tmp_path):
    # a quoted header name, a label holding the delimiter, blank lines and a ",," row skipped
    p = write(tmp_path / "q.csv", '"a b", c ,kind\n\n 1 ,2,"x, y"\n,,\n3,4,z\n\n')
    t = read_table(p)
    assert t.feature_names == ["a b", "c"] and t.target_names == ["kind"]
    assert t.X.tolist() == [[1, 2], [3, 4]] and t.y.tolist() == ["x, y", "z"]


def test_single_column_header_is_not_a_delimiter_problem(tmp_path):
    # no ',', tab or ';' in the header: one column, read fine — it is then the target, leaving no features
    p = write(tmp_path / "one.csv", "x\n1\n2\n")
    assert data_error(p, task="regression") == f"{p}: no feature columns: every column ('x') is a target"
    assert data_error(p, delimiter=",", task="regression") == f"{p}: no feature columns: every column ('x') is a target"


def test_target_choice_and_label_types(tmp_path):
    p = write(tmp_path / "t.csv", "label,a,b,c\n1.0,1,2,3\n2,4,5,6\n")
    t = read_table(p, target=["label"])
    assert t.feature_names == ["a", "b", "c"] and t.y.dtype == np.int64 and t.y.tolist() == [1, 2]
    r = read_table(p, target=["b", "c"], task="regression")
    assert r.feature_names == ["label", "a"] and r.y.tolist() == [[2, 3], [5, 6]]
    f = read_table(write(tmp_path / "f.csv", "a,label\n1,0.5\n2,1.5\n"))
    assert f.y.dtype == np.float64 and f.y.tolist() == [0.5, 1.5]
    s = read_table(write(tmp_path / "s.csv", "a,label\n1,3\n2,three\n"))
    assert s.y.tolist() == ["3", "three"]  # one non-number: every label is a string


# ---- every bad input: one line naming file, line and column


def test_missing_and_empty_files(tmp_path):
    assert "nope.csv: file not found" in data_error(tmp_path / "nope.csv")
    assert "empty.csv: file is empty" in data_error(write(tmp_path / "empty.csv", ""))
    assert "blank.csv: file is empty" in data_error(write(tmp_path / "blank.csv", "\n \n\n"))
    msg = data_error(write(tmp_path / "head.csv", "a,b,label\n"))
    assert "head.csv" in msg and "no data rows" in msg
    assert "is a folder" in data_error(tmp_path)
    assert "unknown file type '.xlsx'" in data_error(write(tmp_path / "x.xlsx", "a"))


def test_not_utf8(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes(b"a,label\n1,x\n2,caf\xe9\n")
    msg = data_error(p)
    assert "latin.csv:3:" in msg and "UTF-8" in msg


def test_ragged_row(tmp_path):
    rows = "".join(f"{i},{i},{i},{i},0\n" for i in range(15))
    p = write(tmp_path / "x.csv", "a,b,c,d,label\n" + rows + "1,2,1\n")
    assert data_error(p).endswith("x.csv:17: row has 3 cells, header has 5")


def test_non_numeric_feature(tmp_path):
    rows = "".join(f"{i},{i},{i},{i},0\n" for i in range(7))
    p = write(tmp_path / "x.csv", "p0,p1,p2,p3,label\n" + rows + "1,2,3,abc,1\n")
    assert data_error(p).endswith("x.csv:9: column 'p3': 'abc' is not a number (a category? name the column in "
                                  "data.categorical: [p3], or set data.categorical: auto)")


@pytest.mark.parametrize(
    "cell, words",
    [("", "is empty (a missing value)"), ("nan", "'nan' is not a finite number"),
     ("-inf", "'-inf' is not a finite number"), ("1,5", "decimal commas")],
)
def test_missing_and_nonfinite_cells(tmp_path, cell, words):
    p = write(tmp_path / "x.csv", f"a;b;label\n1;2;0\n3;{cell};1\n")
    msg = data_error(p)
    assert msg.startswith(f"{p}:3: column 'b': ") and words in msg


def test_line_numbers_count_physical_lines(tmp_path):
    # line 2 blank, lines 3-4 hold one row with a quoted newline, the bad cell is on line 5
    p = write(tmp_path / "x.csv", 'a,label\n\n1,"multi\nline"\nzz,y\n')
    assert "x.csv:5: column 'a': 'zz' is not a number (a category?" in data_error(p)


def test_regression_target_cells(tmp_path):
    p = write(tmp_path / "r.csv", "a,y\n1,2\n3,inf\n")
    assert data_error(p, task="regression").endswith(
        "r.csv:3: column 'y': 'inf' is not a finite number (NaN and infinity are not allowed)"
    )
    p = write(tmp_path / "r2.csv", "a,y\n1,2\n3,\n")
    assert "r2.csv:3: column 'y': is empty" in data_error(p, task="regression")
    p = write(tmp_path / "r3.csv", "a,y\n1,2\n3,high\n")
    assert "r3.csv:3: column 'y': 'high' is not a number" in data_error(p, task="regression")


def test_missing_label(tmp_path):
    assert "l.csv:3: column 'label': label is empty" in data_error(write(tmp_path / "l.csv", "a,label\n1,x\n2, \n"))
    assert "n.csv:2: column 'label': label 'NaN'" in data_error(write(tmp_path / "n.csv", "a,label\n1,NaN\n2,1\n"))


def test_missing_target_column(tmp_path):
    p = write(tmp_path / "x.csv", "sepal,petal,label\n1,2,a\n3,4,b\n")
    msg = data_error(p, target=["labl"])
    assert msg == f"{p}: target column 'labl' not found (columns: 'sepal', 'petal', 'label'); did you mean 'label'?"
    assert "did you mean" not in data_error(p, target=["zzz"])


def test_target_problems(tmp_path):
    p = write(tmp_path / "x.csv", "a,b,label\n1,2,a\n3,4,b\n")
    assert "exactly one target column" in data_error(p, target=["a", "label"])
    assert "no feature columns" in data_error(p, target=["a", "b", "label"], task="regression")
    assert "appears twice" in data_error(write(tmp_path / "d.csv", "a,a,label\n1,2,x\n"))
    assert "column 2 has no name" in data_error(write(tmp_path / "n.csv", "a,,label\n1,2,x\n"))
    assert "task must be one of" in data_error(p, task="clustering")


def test_one_class(tmp_path):
    p = write(tmp_path / "x.csv", "a,label\n1,cat\n2,cat\n3, cat\n")
    msg = data_error(p)
    assert "x.csv" in msg and "'label'" in msg and "only one class ('cat')" in msg


def test_forced_comma_on_semicolon_file(tmp_path):
    p = write(tmp_path / "x.csv", "a;b;label\n1;2;0\n3;4;1\n")
    msg = data_error(p, delimiter=",")
    assert msg.startswith(f"{p}:1: ") and "';'-separated" in msg and "data.delimiter" in msg
    assert read_table(p, delimiter=";").X.tolist() == [[1, 2], [3, 4]]
    assert "must be one character" in data_error(p, delimiter=";;")


def test_without_target_for_predicting(tmp_path):
    p = write(tmp_path / "new.csv", "a,b\n1,2\n3,4\n")
    assert "target column 'label' not found" in data_error(p, target=["label"])
    t = read_table(p, target=["label"], require_target=False)
    assert t.X.tolist() == [[1, 2], [3, 4]] and t.feature_names == ["a", "b"]
    assert t.y.shape == (2, 0) and t.target_names == []
    one = write(tmp_path / "one.csv", "a,label\n1,cat\n")  # a single row, a single class: fine here
    assert read_table(one, target=["label"], require_target=False).y.tolist() == ["cat"]
    assert "only one class" in data_error(one)
    q = tmp_path / "new.npz"
    np.savez(q, X=np.ones((2, 3)))
    assert "missing 'y'" in data_error(q)
    assert read_table(q, require_target=False).y.shape == (2, 0)


# ---- npz and npy


def test_npz(tmp_path):
    p = tmp_path / "d.npz"
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.savez(p, X=X, y=np.array(["a", "b", "a", "c"]))
    t = read_table(p)
    assert t.X.dtype == np.float64 and np.array_equal(t.X, X) and t.y.tolist() == ["a", "b", "a", "c"]
    assert t.feature_names == ["x0", "x1", "x2"] and t.target_names == ["y"]
    np.savez(p, X=X, y=np.ones((4, 2)), feature_names=np.array(["u", "v", "w"]))
    r = read_table(p, task="regression")
    assert r.y.shape == (4, 2) and r.feature_names == ["u", "v", "w"] and r.target_names == ["y0", "y1"]


def test_npz_errors(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, A=np.zeros((2, 2)), y=np.zeros(2))
    msg = data_error(p)
    assert "d.npz" in msg and "missing 'X'" in msg and "found: 'A', 'y'" in msg
    np.savez(p, X=np.zeros((2, 2)), y=np.array(["a", 1], dtype=object))
    assert "object dtype" in data_error(p)
    np.savez(p, X=np.array([[1.0, np.nan], [0, 0]]), y=np.array([0, 1]))
    assert "d.npz: X[0, 1] is nan" in data_error(p)
    np.savez(p, X=np.zeros((3, 2)), y=np.array([0, 1]))
    assert "y must have shape (3,)" in data_error(p)
    np.savez(p, X=np.zeros((2, 2)), y=np.array([0, 1]))
    assert "is not this .npz file's target 'y'" in data_error(p, target=["label"])
    assert read_table(p, target=["y"]).y.tolist() == [0, 1]
    write(p, "not a zip")
    assert "not a valid .npz" in data_error(p)


def test_npy_is_memory_mapped(tmp_path):
    p = tmp_path / "d.npy"
    A = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0], [5.0, 6.0, 1.0]])
    np.save(p, A)
    t = read_table(p)
    assert isinstance(t.X, np.memmap) or isinstance(t.X.base, np.memmap)
    assert np.array_equal(t.X, A[:, :2]) and t.y.tolist() == [0, 1, 1] and t.y.dtype == np.int64
    assert (t.feature_names, t.target_names) == (["0", "1"], ["2"])
    r = read_table(p, target=["-2", "-1"], task="regression")
    assert r.X.shape == (3, 1) and r.y.tolist() == [[2, 0], [4, 1], [6, 1]]
    splits, pre = prepare(t, {"train": 1.0, "val": 0.0, "test": 0.0}, True, seed=0)
    assert splits["train"][0].shape == (3, 2) and pre.mean == [3.0, 4.0]


def test_npy_errors(tmp_path):
    p = tmp_path / "d.npy"
    np.save(p, np.zeros((3, 2)))
    assert "only one class" in data_error(p)
    assert "last column" in data_error(p, target=["0"])
    assert "named by number" in data_error(p, target=["label"])
    assert "out of range" in data_error(p, target=["5"])
    np.save(p, np.zeros(3))
    assert "must be 2-D" in data_error(p)
    np.save(p, np.array([[1, "a"]], dtype=object), allow_pickle=True)
    assert "object dtype" in data_error(p)
    np.save(p, np.array([[1.0, 0.0], [np.inf, 1.0]]))
    assert "d.npy: X[1, 0] is inf" in data_error(p)
    write(p, "garbage")
    assert "not a valid .npy" in data_error(p)


# ---- standardisation, encoding, decoding


def test_standardisation_uses_train_statistics_only():
    # seed 0 puts row 3 in val (literal below); train = rows 0-2.
    # x1: μ = (1+3+5)/3 = 3, σ = √(((−2)²+0²+2²)/3) = √(8/3) = 1.632993161855452
    # x2 is constant on train (7): σ = 1, not 0. The val row (1000, 9) must not move μ or σ.
    X = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0], [1000.0, 9.0]])
    table = Table(X, np.array([0, 1, 0, 1]), ["x1", "x2"], ["label"], Path("t.csv"))
    assert split_indices(4, 0.75, 0.25, 0.0, seed=0)["val"].tolist() == [3]
    splits, pre = prepare(table, {"train": 0.75, "val": 0.25, "test": 0.0}, True, seed=0)
    assert set(splits) == {"train", "val"}  # the empty test split is left out
    assert pre.mean == [3.0, 7.0] and pre.std == [1.632993161855452, 1.0]
    Xtr, Ytr = splits["train"]
    assert Xtr[:, 0] == pytest.approx([-1.224744871391589, 0.0, 1.224744871391589], rel=1e-15)
    assert Xtr[:, 1].tolist() == [0.0, 0.0, 0.0]
    assert splits["val"][0][0] == pytest.approx([610.5353183887072, 2.0], rel=1e-15)  # (1000−3)/σ, (9−7)/1
    assert Ytr.tolist() == [[1, 0], [0, 1], [1, 0]]
    plain, pre = prepare(table, {"train": 0.75, "val": 0.25, "test": 0.0}, False, seed=0)
    assert pre.mean is None and pre.std is None and plain["train"][0].tolist() == [[1, 7], [3, 7], [5, 7]]


def test_constant_feature_tiny_std():
    # np.std([0.1]*3) is 1.4e-17, not 0: still a constant feature, σ = 1
    table = Table(np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]]), np.array([[1.0], [2.0], [3.0]]),
                  ["c", "x"], ["y"], Path("t.csv"))
    splits, pre = prepare(table, {"train": 1.0, "val": 0.0, "test": 0.0}, True, seed=1)
    assert pre.std[0] == 1.0 and pre.task == "regression" and pre.labels is None
    assert np.allclose(splits["train"][0][:, 0], 0.0, atol=1e-15) and splits["train"][1].tolist() == [[1], [2], [3]]


def test_extreme_features():
    whole = {"train": 1.0, "val": 0.0, "test": 0.0}
    tiny = Table(np.array([[0.0], [5e-324], [0.0]]), np.array([0, 1, 0]), ["t"], ["label"], Path("t.csv"))
    assert prepare(tiny, whole, True, seed=0)[1].std == [1.0]  # σ underflows to 0: taken as 1
    huge = Table(np.array([[1e308], [-1e308], [1e308]]), np.array([0, 1, 0]), ["h"], ["label"], Path("h.csv"))
    with pytest.raises(DataError, match="h.csv: feature 'h' is too large to standardise"):
        prepare(huge, whole, True, seed=0)


def test_one_hot_literal():
    pre = Preprocessing("classification", ["x"], ["label"], None, None, ["a", "b", "c"])
    Y = pre.encode_y(np.array(["b", "a", "c", "a"]))
    assert Y.dtype == np.float64 and Y.tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]]
    assert pre.encode_y(["c"], dtype=np.float32).dtype == np.float32
    assert pre.n_outputs == 3


def test_binary_encoding():
    table = Table(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array(["yes", "no", "no", "yes"]),
                  ["x"], ["ok"], Path("b.csv"))
    splits, pre = prepare(table, {"train": 1.0, "val": 0.0, "test": 0.0}, False, seed=0, n_outputs=1)
    assert pre.binary and pre.n_outputs == 1 and pre.labels == ["no", "yes"]
    assert splits["train"][1].tolist() == [[1], [0], [0], [1]]  # 1 ⇔ labels[1] = "yes"
    _, wide = prepare(table, {"train": 1.0, "val": 0.0, "test": 0.0}, False, seed=0, n_outputs=2)
    assert not wide.binary and wide.n_outputs == 2


def test_output_width_must_match():
    table = Table(np.zeros((4, 1)), np.array([0, 1, 2, 0]), ["x"], ["label"], Path("w.csv"))
    with pytest.raises(DataError, match=r"w\.csv: the model has 1 outputs but the data has 3 classes"):
        prepare(table, {"train": 1.0, "val": 0.0, "test": 0.0}, True, seed=0, n_outputs=1)
    reg = Table(np.zeros((4, 1)), np.zeros((4, 2)), ["x"], ["u", "v"], Path("r.csv"))
    with pytest.raises(DataError, match="2 target column"):
        prepare(reg, {"train": 1.0, "val": 0.0, "test": 0.0}, True, seed=0, n_outputs=3)


def test_unseen_label_at_encode():
    pre = Preprocessing("classification", ["x"], ["label"], None, None, ["cat", "dog"])
    with pytest.raises(DataError) as info:
        pre.encode_y(np.array(["cat", "zebra", "dog", "zebra"]), path="new.csv")
    assert str(info.value) == (
        "new.csv: label 'zebra' (first in data row 2) is not one of the 2 training labels: 'cat', 'dog'"
    )
    numbers = Preprocessing("classification", ["x"], ["label"], None, None, [0, 1])
    assert numbers.encode_y(np.array([1.0, 0.0])).tolist() == [[0, 1], [1, 0]]  # 1.0 is the label 1
    with pytest.raises(DataError, match="label '7'"):
        numbers.encode_y(np.array([0, 7]))
    with pytest.raises(DataError, match=r"label 'x' \(first in data row 3\)"):
        numbers.encode_y(np.array([1, 0, "x"], dtype=object))  # mixed Python values


def test_decode():
    pre = Preprocessing("classification", ["x"], ["label"], None, None, ["a", "b", "c"])
    assert pre.decode(np.array([[0.1, 0.7, 0.2], [0.9, 0.0, 0.0]])).tolist() == ["b", "a"]
    binary = Preprocessing("classification", ["x"], ["label"], None, None, ["no", "yes"], binary=True)
    assert binary.decode(np.array([[0.2], [0.5], [0.7]])).tolist() == ["no", "yes", "yes"]
    digits = Preprocessing("classification", ["x"], ["label"], None, None, [3, 5])
    assert digits.decode(np.array([[0.0, 1.0]])).tolist() == [5]
    with pytest.raises(DataError, match="expected"):
        pre.decode(np.zeros((2, 2)))


def test_transform_x():
    pre = Preprocessing("regression", ["a", "b"], ["y"], [1.0, 2.0], [2.0, 4.0], None)
    X = np.array([[3.0, 10.0]])
    assert pre.transform_x(X).tolist() == [[1.0, 2.0]] and X.tolist() == [[3.0, 10.0]]  # a new array
    assert pre.transform_x(X, dtype=np.float32).dtype == np.float32
    with pytest.raises(DataError, match="the data has 3 features, the model expects 2"):
        pre.transform_x(np.zeros((1, 3)))


def test_meta_round_trip_through_json():
    table = read_table(DATA / "iris.csv")
    _, pre = prepare(table, SPLIT, True, seed=3)
    back = Preprocessing.from_meta(json.loads(json.dumps(pre.to_meta())))
    assert back == pre and back.mean == pre.mean  # floats exact
    reg = Preprocessing("regression", ["a"], ["y", "z"], None, None, None)
    assert Preprocessing.from_meta(json.loads(json.dumps(reg.to_meta()))) == reg
    binary = Preprocessing("classification", ["a"], ["y"], [0.1], [3.0], [0, 1], binary=True)
    assert Preprocessing.from_meta(json.loads(json.dumps(binary.to_meta()))) == binary


@pytest.mark.parametrize(
    "change",
    [{"task": "ranking"}, {"mean": [1.0]}, {"std": [0.0, 1.0]}, {"labels": ["b", "a"]}, {"labels": ["a"]},
     {"feature_names": "ab"}, {"binary": True}, {"extra": 1}],
)
def test_from_meta_rejects_malformed(change):
    meta = Preprocessing("classification", ["a", "b"], ["y"], [0.0, 0.0], [1.0, 1.0], ["a", "b", "c"]).to_meta()
    with pytest.raises(DataError, match="preprocessing metadata"):
        Preprocessing.from_meta({**meta, **change})
    with pytest.raises(DataError):
        Preprocessing.from_meta([])


# ---- the split


def test_split_sizes_determinism_disjointness():
    s = split_indices(10, 0.7, 0.2, 0.1, seed=42)
    assert [len(s[k]) for k in ("train", "val", "test")] == [7, 2, 1]
    everything = np.concatenate(list(s.values()))
    assert sorted(everything.tolist()) == list(range(10))  # disjoint and complete
    again = split_indices(10, 0.7, 0.2, 0.1, seed=42)
    assert all(np.array_equal(s[k], again[k]) for k in s)
    other = split_indices(1000, 0.7, 0.2, 0.1, seed=43)
    assert not np.array_equal(split_indices(1000, 0.7, 0.2, 0.1, seed=42)["val"], other["val"])
    assert [len(v) for v in split_indices(7, 0.5, 0.25, 0.25, seed=0).values()] == [3, 2, 2]  # round(1.75) = 2


def test_split_errors():
    with pytest.raises(DataError, match="train split would be empty"):
        split_indices(2, 0.0, 0.5, 0.5, seed=0)
    with pytest.raises(DataError, match="add up to 1"):
        split_indices(10, 0.5, 0.1, 0.1, seed=0)
    with pytest.raises(DataError, match="between 0 and 1"):
        split_indices(10, 1.5, -0.5, 0.0, seed=0)


@pytest.mark.parametrize("m", [1, 10, 4097, 50_001])
@pytest.mark.parametrize("fractions", [(1.0, 0.0, 0.0), (0.8, 0.1, 0.1), (0.5, 0.25, 0.25)])
def test_split_rows_are_the_permutation_s_sorted_parts_taken_any_range_at_a_time(m, fractions):
    """The split of default_rng(seed).permutation(m) — train its first n_train entries, then val, then test —
    held as one byte per row: any range of a split's positions gives its rows, as the sorted arrays would."""
    from nettrain.data import SplitSpec

    train, val, test = fractions
    n_val, n_test = round(val * m), round(test * m)
    if m - n_val - n_test < 1:
        return
    perm = np.random.default_rng(5).permutation(m)
    cut = [0, m - n_val - n_test, m - n_test, m]
    spec = SplitSpec(m, train, val, test, seed=5)
    assert spec.sizes() == {k: cut[i + 1] - cut[i] for i, k in enumerate(("train", "val", "test"))}
    rng = np.random.default_rng(0)
    for i, name in enumerate(("train", "val", "test")):
        want, rows = np.sort(perm[cut[i] : cut[i + 1]]), spec.rows(name)
        assert len(rows) == len(want) and np.array_equal(rows.indices(), want)
        assert np.array_equal(split_indices(m, train, val, test, seed=5)[name], want)
        for _ in range(12):
            a = int(rng.integers(0, len(want) + 1))
            b = int(rng.integers(a, len(want) + 1))
            assert np.array_equal(rows.take(a, b), want[a:b])
    assert spec.rows("train").codes is None if train == 1.0 else spec.rows("val").codes.nbytes == m  # a byte a row


class PartsRows:
    """data.Rows over a Table whose sums come from `parts` partitions of each split, as a cluster's would."""

    def __init__(self, table: Table, parts: int) -> None:
        from nettrain.data import TableRows

        self.inner, self.parts = TableRows(table), parts
        for key in ("m", "task", "feature_names", "target_names", "path"):
            setattr(self, key, getattr(self.inner, key))

    def labels(self):
        return self.inner.labels()

    def each(self, fn, spec, split, *args):
        rows = spec.rows(split).indices()
        return [fn(self.inner.table.X[part], *args) for part in np.array_split(rows, self.parts)]


@pytest.mark.parametrize("parts", [1, 7])
def test_statistics_and_whitening_from_partitions_sums_equal_the_whole_split_s(parts):
    """μ, σ and the ZCA from additive sums over parts of the train split: one part gives np.mean's, np.std's and
    ZCA.fit's own bits, seven parts the same to 1e-12 — whoever computes the parts (a cluster's workers)."""
    from nettrain.data import SplitSpec, prepare_rows
    from nettrain.whiten import ZCA

    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=1001) * 1e-3 + 1e6, rng.normal(size=1001), np.full(1001, 7.0)])
    table = Table(X, rng.integers(0, 3, 1001), ["a", "b", "c"], ["y"], Path("x.npy"))
    spec = SplitSpec(1001, 0.8, 0.2, 0.0, seed=2)
    prepared = prepare_rows(PartsRows(table, parts), spec, standardize=True, whiten=0.1)
    train = X[spec.rows("train").indices()]
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[2] = 1.0  # a constant feature: σ = 1
    zca = ZCA.fit(prepared.pre.transform_x(train), 0.1)
    if parts == 1:
        assert prepared.pre.mean == mean.tolist() and prepared.pre.std == std.tolist()
        assert np.array_equal(prepared.zca.matrix, zca.matrix) and np.array_equal(prepared.zca.mean, zca.mean)
    np.testing.assert_allclose(prepared.pre.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(prepared.pre.std, std, rtol=1e-12)
    np.testing.assert_allclose(prepared.zca.matrix, zca.matrix, rtol=1e-9, atol=1e-12)
    assert prepared.pre.labels == [0, 1, 2]


# ---- anything at all: a Table or a DataError, never another exception

_CELLS = st.one_of(
    st.integers(-5, 20).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.sampled_from(["", " ", "abc", "nan", "inf", "1,5", "1e400", '"', "a\"b", "0x1F", "1_0", "\u00e9", "\r"]),
    st.text(alphabet=string.ascii_letters + string.digits + ",;\t \"'\n.-", max_size=6),
)
_NAMES = st.one_of(
    st.sampled_from(["a", "b", "label", "x y", ""]), st.text(alphabet=string.ascii_letters + ",;\"", max_size=4)
)


_NUMBERS = st.one_of(st.integers(-50, 50).map(str), st.floats(-1e6, 1e6, allow_nan=False).map(repr))


@st.composite
def csv_texts(draw):
    """A valid table (numbers, a label column) that is then damaged a random number of times."""
    sep = draw(st.sampled_from([",", ",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    n = draw(st.integers(2, 5))
    header = draw(st.lists(st.sampled_from(["a", "b", "c", "x y", "label", "p3"]), min_size=n, max_size=n, unique=True))
    labels = draw(st.sampled_from([["a", "b"], ["0", "1"], ["1", "2.5", "3"], ["-7", "x"], ["a", "b"], ["only"]]))
    m = draw(st.integers(2, 8))
    rows = [[draw(_NUMBERS) for _ in range(n - 1)] + [draw(st.sampled_from(labels))] for _ in range(m)]
    lines = [list(header)] + rows
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):  # damage: a junk cell or name, a cell less or more
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["cell", "cell", "drop", "add"]))
        if kind == "cell" and lines[i]:
            lines[i][draw(st.integers(0, len(lines[i]) - 1))] = draw(_CELLS if i else _NAMES)
        elif kind == "drop" and len(lines[i]) > 0:
            lines[i].pop()
        else:
            lines[i].append(draw(_CELLS))

    def quote(cell):
        if draw(st.integers(0, 3)) == 0 or sep in cell or '"' in cell or "\n" in cell:
            return '"' + cell.replace('"', '""') + '"' if draw(st.integers(0, 5)) else cell  # sometimes left broken
        return cell

    body = [sep.join(quote(c) for c in line) for line in lines]
    for _ in range(draw(st.integers(0, 2))):  # blank lines anywhere
        body.insert(draw(st.integers(0, len(body))), draw(st.sampled_from(["", " ", sep * (n - 1)])))
    return {
        "text": ("\ufeff" if draw(st.booleans()) else "") + newline.join(body) + draw(st.sampled_from(["", newline])),
        "suffix": draw(st.sampled_from([".csv", ".tsv", ".txt"])),
        "target": draw(st.sampled_from([None, None, None, [header[-1]], [header[0]], ["nope"]])),
        "delimiter": draw(st.sampled_from([None, None, None, sep, ",", ";"])),
        "task": draw(st.sampled_from(["classification", "regression"])),
    }


def _table_or_data_error(path, **kwargs):
    try:
        table = read_table(path, **kwargs)
    except DataError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    assert table.X.ndim == 2 and table.X.shape[0] == table.y.shape[0] >= 1
    assert np.isfinite(table.X).all()
    try:
        splits, pre = prepare(table, {"train": 0.6, "val": 0.2, "test": 0.2}, True, seed=0)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    assert splits["train"][1].shape[1] == pre.n_outputs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=csv_texts())
def test_random_csv_gives_table_or_data_error(tmp_path_factory, case):
    path = tmp_path_factory.getbasetemp() / f"random{case['suffix']}"
    path.write_bytes(case["text"].encode("utf-8"))
    _table_or_data_error(path, target=case["target"], delimiter=case["delimiter"], task=case["task"])


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200), suffix=st.sampled_from([".csv", ".npz", ".npy"]))
def test_random_bytes_give_table_or_data_error(tmp_path_factory, raw, suffix):
    path = tmp_path_factory.getbasetemp() / f"bytes{suffix}"
    path.write_bytes(raw)
    _table_or_data_error(path)
