"""Preprocessing's stored metadata (validated by a pydantic model) and its one transform."""

import numpy as np
import pytest

from nettrain.data import MappedRows, Preprocessing, SplitRows
from nettrain.errors import DataError

META = Preprocessing("classification", ["a", "b"], ["y"], [0.0, 0.0], [1.0, 1.0], ["a", "b", "c"]).to_meta()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"task": "ranking"}, "task: must be 'classification' or 'regression' (got 'ranking')"),
        ({"mean": [1.0]}, "mean must be null or a list of 2 finite numbers (got a list of 1)"),
        ({"mean": [1.0, float("nan")]}, "mean.1: must be a finite number (got 'nan')"),
        ({"std": [0.0, 1.0]}, "std must be > 0 for every feature"),
        ({"std": None}, "mean and std must both be set or both be null"),
        ({"labels": ["b", "a"]}, "labels must be sorted and distinct"),
        ({"labels": ["a"]}, "labels must be a list of at least 2 labels for classification"),
        ({"labels": [1, "a"]}, "labels must be all strings or all finite numbers"),
        ({"labels": [False, True]}, "labels.0: labels must be a list of strings or of finite numbers (got 'False')"),
        ({"feature_names": "ab"}, "feature_names: must be a valid list (got 'ab')"),
        ({"target_names": ["y", 3]}, "target_names.1: must be a valid string (got '3')"),
        ({"binary": True}, "binary encoding needs exactly 2 labels (got 3)"),
        ({"binary": 1}, "binary: must be a valid boolean (got '1')"),
        ({"extra": 1}, "unknown key 'extra'"),
    ],
)
def test_malformed_metadata_is_one_line_naming_the_field(change, message):
    with pytest.raises(DataError) as info:
        Preprocessing.from_meta({**META, **change})
    assert str(info.value) == f"preprocessing metadata: {message}"


def test_missing_key_and_not_a_mapping():
    meta = dict(META)
    del meta["mean"]
    with pytest.raises(DataError, match="^preprocessing metadata: missing 'mean'$"):
        Preprocessing.from_meta(meta)
    with pytest.raises(DataError, match=r"^preprocessing metadata: expected a mapping \(got list\)$"):
        Preprocessing.from_meta([])


def test_metadata_keeps_label_types():
    # whole numbers stay int, others float, strings str: labels compare equal to the file's after a round trip
    assert Preprocessing.from_meta({**META, "labels": [0, 1.5, 2]}).labels == [0, 1.5, 2]
    assert [type(v) for v in Preprocessing.from_meta({**META, "labels": [0, 1.5, 2]}).labels] == [int, float, int]
    regression = Preprocessing("regression", ["a"], ["y", "z"], [1], [2], None)
    assert Preprocessing.from_meta(regression.to_meta()).mean == [1.0]


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mapped_rows_use_the_same_transform(tmp_path, standardize, dtype):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((50, 4)).astype(np.float32) * 3 + 1
    np.save(tmp_path / "x.npy", A)
    X = np.load(tmp_path / "x.npy", mmap_mode="r")
    mean, std = ([0.5, -1.0, 2.0, 0.0], [2.0, 0.25, 1.0, 3.0]) if standardize else (None, None)
    pre = Preprocessing("regression", list("abcd"), ["y"], mean, std, None)
    rows = np.array([1, 2, 3, 7, 8, 20, 49])
    whole = pre.transform_x(X[rows], dtype)
    mapped = MappedRows(X, SplitRows.of(rows, len(X)), pre, dtype)
    out = np.empty((3, 4), dtype)
    np.testing.assert_array_equal(mapped.read_rows(2, 5, out), whole[2:5])
    contiguous = MappedRows(X, SplitRows.of(np.arange(10, 30), len(X)), pre, dtype)
    assert contiguous.rows.first == 10  # a run of rows: read as a slice of the map
    np.testing.assert_array_equal(contiguous.read_rows(0, 3, out), pre.transform_x(X[10:13], dtype))
