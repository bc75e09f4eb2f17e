"""Text files: the fast parser (pandas) gives exactly what the careful one (csv, float() per cell)
gives, refusals are worded by the careful one, and the columns are chosen by name."""

import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nettrain.data import read_table, text
from nettrain.errors import DataError
from nettrain.problem import load_problem
from tests.test_data import DATA, csv_texts, data_error, write


def _fast(path, **kw):
    """The fast parser's Table, "refused", or its DataError message."""
    try:
        return text._read_fast(path, kw.get("target"), kw.get("features"), kw.get("delimiter"),
                               kw.get("task", "classification"), True, True)
    except text._Refused:
        return "refused"
    except DataError as exc:
        return str(exc)


def _careful(path, **kw):
    try:
        return text._read_careful(path, text._decode(path, path.read_bytes()), kw.get("target"), kw.get("features"),
                                  kw.get("delimiter"), kw.get("task", "classification"), True, True)
    except DataError as exc:
        return str(exc)


def assert_same(fast, careful):
    if isinstance(fast, str):
        assert fast == "refused" or fast == careful
        return
    assert not isinstance(careful, str), careful
    assert fast.X.dtype == careful.X.dtype == np.float64 and fast.X.flags.c_contiguous
    assert fast.X.tobytes() == careful.X.tobytes()  # bit for bit, the sign of zero included
    assert fast.y.dtype == careful.y.dtype and fast.y.tolist() == careful.y.tolist()
    assert (fast.feature_names, fast.target_names) == (careful.feature_names, careful.target_names)
    assert list(fast.lines or []) == list(careful.lines or [])


_ODD = st.sampled_from(["-0", "+0", "-00", "0", "1_0", " 5 ", "5 ", "1e5", "1E-0", "-0.0", "1.", ".5", "0x10", "True",
                        "False", "nan", "inf", "", " ", '"7"', '"a\nb"', '"a\r\nb"', "\u00e9", "١", "1e400", "9" * 25,
                        "-9223372036854775809", "18446744073709551616", "NA", "null", "#"])


@st.composite
def odd_csv(draw):
    """A clean numeric table with a few odd cells, blank lines, quoting and line ends mixed in."""
    sep = draw(st.sampled_from([",", ";", "\t"]))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    n = draw(st.integers(2, 4))
    m = draw(st.integers(1, 6))
    clean = st.one_of(st.integers(-3, 3).map(str), st.floats(-1e3, 1e3, allow_nan=False).map(repr))
    labels = st.sampled_from(draw(st.sampled_from([["a", "b", " a", "x y"], ["0", "1", "-0"], ["1", "2.5"]])))

    def cell(usual):  # an odd cell one time in ten
        return draw(_ODD) if draw(st.integers(0, 9)) == 0 else draw(usual)

    rows = [[cell(clean) for _ in range(n - 1)] + [cell(labels)] for _ in range(m)]
    lines = [sep.join(f"c{j}" for j in range(n))] + [sep.join(r) for r in rows]
    for _ in range(draw(st.integers(0, 2))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", "  ", sep * (n - 1)])))
    return ("\ufeff" if draw(st.booleans()) else "") + nl.join(lines) + draw(st.sampled_from(["", nl, nl + nl]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=odd_csv(), task=st.sampled_from(["classification", "regression"]))
def test_fast_parser_agrees_with_the_careful_one_on_odd_cells(tmp_path_factory, body, task):
    path = tmp_path_factory.getbasetemp() / "odd.csv"
    path.write_bytes(body.encode("utf-8"))
    assert_same(_fast(path, task=task), _careful(path, task=task))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=csv_texts())
def test_fast_parser_agrees_with_the_careful_one_on_damaged_files(tmp_path_factory, case):
    path = tmp_path_factory.getbasetemp() / f"damaged{case['suffix']}"
    path.write_bytes(case["text"].encode("utf-8"))
    kw = {k: case[k] for k in ("target", "delimiter", "task")}
    assert_same(_fast(path, **kw), _careful(path, **kw))


@pytest.mark.parametrize("name, task", [("xor", "classification"), ("iris", "classification"),
                                        ("digits", "classification"), ("diabetes", "regression")])
def test_clean_files_are_parsed_once(monkeypatch, name, task):
    monkeypatch.setattr(text, "_read_careful", lambda *a, **k: pytest.fail("the careful parser ran"))
    t = read_table(DATA / f"{name}.csv", task=task)
    assert isinstance(t.lines, text._LinesOfRows) and t.lines._lines is None  # counted only when asked
    assert t.lines[0] == 2 and t.lines[len(t.X) - 1] == len(t.X) + 1


def test_lines_are_counted_past_blank_lines(tmp_path):
    p = write(tmp_path / "b.csv", "\n a,label\n1,x\n\n  \n2,y\r\n3,x\n\n")
    t = read_table(p)
    assert isinstance(t.lines, text._LinesOfRows) and list(t.lines) == [3, 6, 7]
    assert t.X.tolist() == [[1], [2], [3]]


def test_a_refused_file_is_worded_by_the_careful_parser(tmp_path, monkeypatch):
    calls = []
    careful = text._read_careful
    monkeypatch.setattr(text, "_read_careful", lambda *a: calls.append(1) or careful(*a))
    p = write(tmp_path / "x.csv", "a,b,label\n1,2,0\n3,zz,1\n")
    assert data_error(p) == (f"{p}:3: column 'b': 'zz' is not a number (a category? name the column in "
                             "data.categorical: [b], or set data.categorical: auto)")
    assert calls == [1]


# ---- data.features and the target's "did you mean"


def test_features_leave_out_a_text_column(tmp_path):
    p = write(tmp_path / "f.csv", "id,name,a,b,label\n7,ann,1,2,x\n8,bob,3,4,y\n")
    assert "'ann' is not a number" in data_error(p)  # without data.features, every column is a feature
    t = read_table(p, features=["b", "a"])
    assert t.feature_names == ["b", "a"] and t.X.tolist() == [[2, 1], [4, 3]] and t.y.tolist() == ["x", "y"]
    r = read_table(p, target=["a"], features=["b"], task="regression")
    assert r.X.tolist() == [[2], [4]] and r.y.tolist() == [[1], [3]]
    # to predict: a file without the target is read as the same features
    q = write(tmp_path / "new.csv", "id,name,a,b\n9,cy,5,6\n")
    assert read_table(q, target=["label"], features=["b", "a"], require_target=False).X.tolist() == [[6, 5]]


def test_an_unused_last_column_still_needs_every_cell(tmp_path):
    p = write(tmp_path / "f.csv", "a,label,note\n1,x,hi\n2,y\n")
    assert data_error(p, target=["label"], features=["a"]).endswith("f.csv:3: row has 2 cells, header has 3")
    q = write(tmp_path / "g.csv", "a,label,note\n1,x,hi\n2,y,\n")  # an empty note is fine: it is not read
    assert read_table(q, target=["label"], features=["a"]).X.tolist() == [[1], [2]]


def test_feature_problems(tmp_path):
    p = write(tmp_path / "f.csv", "sepal,petal,label\n1,2,a\n3,4,b\n")
    assert data_error(p, features=["petl"]) == (
        f"{p}: feature column 'petl' not found (columns: 'sepal', 'petal', 'label'); did you mean 'petal'?"
    )
    assert data_error(p, features=["label"]) == (
        f"{p}: column 'label' is the target and also in data.features: leave it out of data.features"
    )
    assert "data.features names a column twice" in data_error(p, features=["sepal", "sepal"])
    assert "data.features is an empty list" in data_error(p, features=[])


def test_missing_target_among_many_columns_lists_the_nearest_first(tmp_path):
    names = [f"p{j}" for j in range(64)] + ["label"]
    p = write(tmp_path / "wide.csv", ",".join(names) + "\n" + ",".join(["1"] * 64 + ["0"]) + "\n")
    msg = data_error(p, target=["lable"])
    assert msg.startswith(f"{p}: target column 'lable' not found (65 columns, the nearest first: 'label', ")
    assert msg.endswith("; the last is 'label'); did you mean 'label'?")
    far = data_error(p, target=["zzz"])
    assert "'label'" in far and "did you mean" not in far and "more; the last is 'label')" in far


def test_features_of_npz_and_npy(tmp_path):
    z = tmp_path / "d.npz"
    np.savez(z, X=np.arange(12.0).reshape(4, 3), y=np.array([0, 1, 0, 1]), feature_names=np.array(["u", "v", "w"]))
    t = read_table(z, features=["w", "u"])
    assert t.feature_names == ["w", "u"] and t.X[:, 0].tolist() == [2, 5, 8, 11]
    assert "did you mean 'v'" in data_error(z, features=["vv"])
    np.savez(z, X=np.arange(12.0).reshape(4, 3), y=np.array([0, 1, 0, 1]))
    assert read_table(z, features=["x1"]).X[:, 0].tolist() == [1, 4, 7, 10]
    a = tmp_path / "d.npy"
    np.save(a, np.column_stack([np.arange(4.0) + 100, np.arange(8.0).reshape(4, 2), [0, 1, 0, 1]]))
    t = read_table(a, features=["1", "2"])
    assert t.feature_names == ["1", "2"] and t.X.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert isinstance(t.X, np.memmap) or isinstance(t.X.base, np.memmap)  # still a view of the map
    assert "adjacent columns in order" in data_error(a, features=["0", "2"])
    assert "is the target" in data_error(a, features=["-1"])
    assert "named by number" in data_error(a, features=["a"])


@settings(max_examples=100, deadline=None)
@given(names=st.lists(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=5), min_size=2, max_size=30,
                      unique=True), wanted=st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=5))
def test_a_missing_target_message_always_shows_the_last_column(tmp_path_factory, names, wanted):
    if wanted in names:
        return
    path = tmp_path_factory.getbasetemp() / "names.csv"
    path.write_text(",".join(names) + "\n" + ",".join(["1"] * len(names)) + "\n")
    msg = data_error(path, target=[wanted], task="regression")
    assert f"'{names[-1]}'" in msg and "\n" not in msg


def test_data_features_from_the_config_to_the_problem(tmp_path):
    from nettrain import config as config_mod
    from nettrain.errors import ConfigError

    rows = "".join(f"{i},name{i},{i % 3},{(i * 7) % 5},{i % 2}\n" for i in range(20))
    write(tmp_path / "d.csv", "id,name,a,b,label\n" + rows)
    cfg_text = "data: {{path: d.csv, {extra}}}\nmodel: {{layers: [2, 3, 2]}}\n"
    (tmp_path / "c.yaml").write_text(cfg_text.format(extra="features: [a, b]"))
    cfg = config_mod.load_config(tmp_path / "c.yaml")
    assert cfg.data.features == ["a", "b"]
    problem = load_problem(cfg)
    assert problem.prep.feature_names == ["a", "b"] and problem.columns("train")[0].shape[0] == 2
    (tmp_path / "c.yaml").write_text(cfg_text.format(extra="features: b"))
    assert config_mod.load_config(tmp_path / "c.yaml").data.features == ["b"]
    for extra, words in [("features: [a, a]", "names column 'a' twice"), ("features: []", "at least 1 item"),
                         ("features: [label], target: label", "in data.target and in data.features")]:
        (tmp_path / "c.yaml").write_text(cfg_text.format(extra=extra))
        with pytest.raises(ConfigError, match=words):
            config_mod.load_config(tmp_path / "c.yaml")
