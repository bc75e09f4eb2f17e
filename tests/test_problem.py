"""problem.py: what a run trains on — the widths checked against the data in words that lead to the right
model, a row id among the features said, a missing data file named with the config line that gave it."""

from pathlib import Path

import numpy as np
import pytest

from nettrain import config as config_mod
from nettrain.errors import ConfigError, DataError
from nettrain.problem import load_problem, looks_continuous, row_ids
from nettrain.data import read_table


def _toy(tmp: Path, m: int = 400) -> Path:
    """id, four features, a price (a quantity) and a kind (3 classes)."""
    rng = np.random.default_rng(0)
    a, b, c, d = rng.normal(size=(4, m))
    price = np.round(100 + 10 * a + 5 * b + rng.normal(size=m), 2)
    kind = rng.integers(0, 3, m)
    lines = ["id,a,b,c,d,price,kind"] + [f"{i},{a[i]:.4f},{b[i]:.4f},{c[i]:.4f},{d[i]:.4f},{price[i]},{kind[i]}"
                                         for i in range(m)]
    (tmp / "toy.csv").write_text("\n".join(lines) + "\n")
    return tmp / "toy.csv"


def _config(tmp: Path, text: str) -> config_mod.Config:
    (tmp / "c.yaml").write_text(text)
    return config_mod.load_config(tmp / "c.yaml")


def test_a_float_target_read_as_classes_is_said_to_be_a_regression_first(tmp_path):
    _toy(tmp_path)
    cfg = _config(tmp_path, "data: {path: toy.csv, target: [price], features: [a, b, c, d]}\n"
                            "model: {layers: [4, 8, 1]}\n")
    with pytest.raises(ConfigError) as info:
        load_problem(cfg)
    said = str(info.value)
    assert said.index("set data.task: regression") < said.index("set the last layer size")
    assert "target 'price'" in said and "different values in 400 rows" in said
    # following the advice trains a regression
    cfg = _config(tmp_path, "data: {path: toy.csv, target: [price], features: [a, b, c, d], task: regression}\n"
                            "model: {layers: [4, 8, 1]}\n")
    assert load_problem(cfg).prep.task == "regression"


def test_ten_digit_classes_are_not_a_quantity_and_a_price_is():
    assert not looks_continuous(list(range(10)), 1797)
    assert not looks_continuous(["setosa", "versicolor", "virginica"], 150)
    assert looks_continuous([0.5, 1.25, 2.0], 3)  # not whole numbers
    assert looks_continuous(list(range(300)), 400)  # whole numbers, but a value almost per row
    assert not looks_continuous(list(range(60)), 5000)  # 60 classes in 5,000 rows: classes


def test_the_width_error_names_the_columns_it_chose_and_a_row_id_is_warned_of(tmp_path):
    _toy(tmp_path)
    cfg = _config(tmp_path, "data: {path: toy.csv, target: [kind]}\nmodel: {layers: [4, 8, 3]}\n")
    with pytest.raises(ConfigError, match=r"has 6 feature columns \(id, a, b, c, d, price: every column but the "
                                          r"target\): set model.layers to \[6, …\], or choose the columns with "
                                          r"data.features"):
        load_problem(cfg)
    cfg = _config(tmp_path, "data: {path: toy.csv, target: [kind]}\nmodel: {layers: [6, 8, 3]}\n")
    (note,) = load_problem(cfg).notes
    assert note.startswith("feature column 'id' holds whole numbers that only ever increase (0 … 399): a row id?")
    chosen = _config(tmp_path, "data: {path: toy.csv, target: [kind], features: [a, b, c, d]}\n"
                               "model: {layers: [4, 8, 3]}\n")
    assert load_problem(chosen).notes == []  # columns chosen: nothing to say
    assert row_ids(read_table(tmp_path / "toy.csv", ["kind"])) == [("id", 0.0, 399.0)]
    assert row_ids(read_table(Path(__file__).parent.parent / "data" / "digits.csv", ["label"])) == []


def test_a_missing_data_file_is_named_with_the_line_or_set_that_gave_it(tmp_path):
    cfg = _config(tmp_path, "data:\n  path: nope.csv\nmodel: {layers: [4, 8, 3]}\n")
    with pytest.raises(DataError, match=r"c\.yaml:2: data\.path: .*nope\.csv does not exist: check the path"):
        load_problem(cfg)
    cfg = config_mod.load_config(tmp_path / "c.yaml", ["data.path=gone.csv"])
    with pytest.raises(DataError, match=r"^--set data\.path=gone\.csv: data\.path: .*gone\.csv does not exist"):
        load_problem(cfg)
