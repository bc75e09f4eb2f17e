"""Parquet files, and rows start…stop−1 of any data file read without the rest (read_rows, row_count)."""

import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nettrain.data import read_rows, read_table, row_count
from tests.test_data import DATA, data_error, write

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def to_parquet(table, path, row_group_size=None, **columns):
    """A read_table Table written as parquet: its features and target under their names."""
    data = {name: table.X[:, j] for j, name in enumerate(table.feature_names)}
    if table.y.ndim == 1:
        data[table.target_names[0]] = table.y
    else:
        data.update({name: table.y[:, k] for k, name in enumerate(table.target_names)})
    data.update(columns)
    pq.write_table(pa.table(data), path, row_group_size=row_group_size)
    return path


def same(a, b):
    assert a.X.dtype == b.X.dtype and np.array_equal(a.X, b.X)
    assert a.y.dtype == b.y.dtype and a.y.tolist() == b.y.tolist()
    assert (a.feature_names, a.target_names) == (b.feature_names, b.target_names)


# ---- parquet


@pytest.mark.parametrize("name, task", [("iris", "classification"), ("digits", "classification"),
                                        ("diabetes", "regression")])
def test_parquet_reads_as_the_csv_does(tmp_path, name, task):
    csv = read_table(DATA / f"{name}.csv", task=task)
    path = to_parquet(csv, tmp_path / f"{name}.parquet", row_group_size=100)
    same(read_table(path, task=task), csv)
    assert row_count(path) == len(csv.X)


def test_parquet_target_features_and_types(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({
        "id": pa.array(["a7", "b8", "c9", "d0"]),
        "u": pa.array([1, 2, 3, 4], pa.int32()),
        "v": pa.array([0.5, 1.5, 2.5, 3.5], pa.float32()),
        "kind": pa.array(["x", "y", "x", "y"]).dictionary_encode(),
        "score": pa.array([1.0, 2.0, 3.0, 4.0]),
    }), path)
    assert "column 'id' holds string values, not numbers: leave it out with data.features" in data_error(
        path, task="regression")
    t = read_table(path, target=["kind"], features=["v", "u"])
    assert t.feature_names == ["v", "u"] and t.X.tolist() == [[0.5, 1], [1.5, 2], [2.5, 3], [3.5, 4]]
    assert t.y.tolist() == ["x", "y", "x", "y"] and t.y.dtype.kind == "U"
    r = read_table(path, target=["score"], features=["u"], task="regression")
    assert r.y.tolist() == [[1], [2], [3], [4]]
    w = read_table(path, target=["u"], features=["v"])
    assert w.y.dtype == np.int64 and w.y.tolist() == [1, 2, 3, 4]
    assert data_error(path, target=["kid"], features=["u"]).endswith("did you mean 'kind'?")
    assert "feature column 'vv' not found" in data_error(path, target=["kind"], features=["vv"])
    p = read_table(path, target=["label"], features=["u", "v"], require_target=False)  # to predict
    assert p.y.shape == (4, 0) and p.X.shape == (4, 2)


def test_parquet_refusals_name_column_and_row(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": [1.0, None, 3.0], "label": [0, 1, 0]}), path)
    assert data_error(path).endswith("d.parquet: column 'a', row 2: is empty (null): fill it in or drop the row")
    pq.write_table(pa.table({"a": [1.0, 2.0, float("inf")], "label": [0, 1, 0]}), path)
    assert "column 'a', row 3: inf is not a finite number" in data_error(path)
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "label": ["x", None, "y"]}), path)
    assert "column 'label', row 2: label is empty (null)" in data_error(path)
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "label": ["x", "x", "x"]}), path)
    assert "only one class ('x')" in data_error(path)
    write(path, "a,label\n1,0\n")
    assert "not a valid .parquet file" in data_error(path)


def test_parquet_without_pyarrow_names_the_install(tmp_path, monkeypatch):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0], "label": [0, 1]}), path)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # import pyarrow.parquet now fails
    assert data_error(path) == f'{path}: reading .parquet files needs pyarrow: pip install -e ".[parquet]"'


# ---- rows start…stop−1


def slices(m):
    return [(0, m), (0, 1), (1, 4), (m - 2, m), (m - 1, m + 5), (m + 3, m + 9), (5, 5)]


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".npz", ".parquet"])
def test_read_rows_equals_the_same_rows_of_read_table(tmp_path, suffix):
    csv = read_table(DATA / "iris.csv")
    m = len(csv.X)
    if suffix == ".csv":
        path = DATA / "iris.csv"
    elif suffix == ".parquet":
        path = to_parquet(csv, tmp_path / "iris.parquet", row_group_size=16)
    else:
        digits = read_table(DATA / "digits.csv")
        m = len(digits.X)
        path = tmp_path / f"digits{suffix}"
        if suffix == ".npy":
            np.save(path, np.column_stack([digits.X, digits.y]).astype(np.float32))
        else:
            np.savez(path, X=digits.X, y=digits.y)
    whole = read_table(path)
    assert row_count(path) == m
    for start, stop in slices(m):
        part = read_rows(path, start, stop)
        assert part.X.shape == (max(0, min(stop, m) - start), whole.X.shape[1])
        assert np.array_equal(part.X, whole.X[start:stop]) and part.y.tolist() == whole.y[start:stop].tolist()
        assert part.feature_names == whole.feature_names
    if suffix == ".npy":
        part = read_rows(path, 100, 200)
        assert isinstance(part.X, np.memmap) or isinstance(part.X.base, np.memmap)  # a view, nothing copied


def test_parquet_rows_read_only_their_row_groups(tmp_path, monkeypatch):
    csv = read_table(DATA / "iris.csv")
    path = to_parquet(csv, tmp_path / "iris.parquet", row_group_size=10)
    asked = []
    real = pq.ParquetFile.read_row_groups
    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", lambda self, groups, **kw: asked.append(list(groups))
                        or real(self, groups, **kw))
    part = read_rows(path, 25, 42)
    assert asked == [[2, 3, 4]] and np.array_equal(part.X, csv.X[25:42])


def test_csv_rows_past_blank_lines_and_quotes(tmp_path):
    body = "a,b,label\n\n1,2,x\n , \n3,4,y\r\n\n5,6,x\n7,8,y\n,,\n9,10,x\n"
    p = write(tmp_path / "b.csv", body)
    whole = read_table(p)
    assert row_count(p) == 5 and whole.X[:, 0].tolist() == [1, 3, 5, 7, 9]
    for start in range(6):
        for stop in range(start, 7):
            part = read_rows(p, start, stop)
            assert part.X.tolist() == whole.X[start:stop].tolist(), (start, stop)
            assert list(part.lines) == list(whole.lines)[start:stop]
    q = write(tmp_path / "q.csv", 'a,label\n1,"x\ny"\n2,z\n3,x\n')  # a row spanning lines: read whole, then cut
    assert read_rows(q, 1, 3).X.tolist() == [[2], [3]] and list(read_rows(q, 1, 3).lines) == [4, 5]
    assert row_count(q) == 3


def test_read_rows_refusals(tmp_path):
    p = write(tmp_path / "x.csv", "a,label\n1,x\n2,y\nzz,x\n")
    with pytest.raises(Exception, match=r"x.csv:4: column 'a': 'zz' is not a number"):
        read_rows(p, 2, 3)
    assert read_rows(p, 0, 2).X.tolist() == [[1], [2]]  # the bad row is not in this range
    with pytest.raises(Exception, match="not a range of rows"):
        read_rows(p, 3, 1)
    one = read_rows(p, 0, 1)
    assert one.y.tolist() == ["x"]  # one class is fine in a range


@st.composite
def blank_csv(draw):
    m = draw(st.integers(1, 12))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [sep.join(["a", "b", "label"])] + [sep.join([str(i), str(-i), "xy"[i % 2]]) for i in range(m)]
    for _ in range(draw(st.integers(0, 4))):
        lines.insert(draw(st.integers(1, len(lines))), draw(st.sampled_from(["", " ", sep * 2, f" {sep} {sep}"])))
    return nl.join(lines) + draw(st.sampled_from(["", nl])), m


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=blank_csv(), start=st.integers(0, 13), width=st.integers(0, 13))
def test_csv_rows_agree_with_read_table(tmp_path_factory, case, start, width):
    body, m = case
    path = tmp_path_factory.getbasetemp() / "rows.csv"
    path.write_bytes(body.encode())
    whole = read_table(path, one_class=True)
    part = read_rows(path, start, start + width)
    assert part.X.tolist() == whole.X[start : start + width].tolist()
    assert part.y.tolist() == whole.y[start : start + width].tolist()
    assert row_count(path) == m


def test_csv_rows_skip_the_rest_without_parsing_it(tmp_path, monkeypatch):
    from nettrain.data import text

    whole = read_table(DATA / "digits.csv")
    body = "a,b,label\n\n1,2,x\n , \n3,4,y\r\n\n5,6,x\n,,\n9,10,x\n"
    blank = write(tmp_path / "b.csv", body)
    monkeypatch.setattr(text, "read_text", lambda *a: pytest.fail("the whole file was read"))
    assert np.array_equal(read_rows(DATA / "digits.csv", 1000, 1010).X, whole.X[1000:1010])
    assert read_rows(blank, 1, 3).X.tolist() == [[3, 4], [5, 6]]  # lines before row 1 skipped unparsed
