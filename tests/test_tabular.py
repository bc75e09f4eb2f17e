"""A table as practitioners have one — text categories and empty cells — from fit to eval, predict, explain,
gradcheck, the Python API and the estimators: configs/penguins.yaml and small files made here. Every bad input at
a new step is one line and a non-zero exit."""

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import nettrain
from nettrain.cli import app
from nettrain.prediction import predict_rows

runner = CliRunner()
SHORT = ["--set", "train.epochs=40", "--set", "log.every=20"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line(res, code, *fragments):
    assert res.exit_code == code, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


@pytest.fixture
def penguins(proj):
    res = run("fit", "configs/penguins.yaml", *SHORT, "--out", "runs/penguins")
    assert res.exit_code == 0, res.output
    return proj / "runs" / "penguins", res.stdout


def new_rows(proj, rows):
    path = proj / "new.csv"
    head = "species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\n"
    path.write_text(head + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_fit_says_what_the_empty_cells_became(penguins):
    run_dir, out = penguins
    header = " ".join(out.split())  # the header's lines, however the terminal's width wrapped them
    assert header.startswith("training [9, 8, 3] on 276 examples")
    assert ("data.missing: mean: 11 of 344 rows have empty cells, filled with the train split's means (an "
            "empty category: all zeros) epoch") in header
    meta = nettrain.load(run_dir)
    assert meta.feature_names == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g",
                                  "sex"]
    assert meta.encoded_names[:3] == ["island=Biscoe", "island=Dream", "island=Torgersen"]


def test_eval_json_counts_the_rows_filled(penguins):
    run_dir, _ = penguins
    doc = json.loads(run("eval", run_dir, "--split", "train", "--json").stdout)
    test = json.loads(run("eval", run_dir, "--json").stdout)
    whole = json.loads(run("eval", run_dir, "--data", "data/penguins.csv", "--json").stdout)
    assert doc["missing"]["policy"] == "mean" and whole["missing"] == {"policy": "mean", "dropped": 0, "filled": 11,
                                                                       "unknown": 0}
    assert doc["missing"]["filled"] + test["missing"]["filled"] <= 11 and doc["m"] == 276
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test"]["cost"] == test["cost"]  # the run's own split, measured as the fit measured it


def test_predict_on_raw_rows_equals_the_python_api_by_name(penguins, proj):
    run_dir, _ = penguins
    header, rows = predict_rows(run_dir, proj / "data" / "penguins.csv")
    assert header == ["label", "p_Adelie", "p_Chinstrap", "p_Gentoo"] and len(rows) == 344
    model = nettrain.load(run_dir)
    frame = pd.read_csv(proj / "data" / "penguins.csv")  # NaN where a cell is empty
    p = model.predict_proba(frame)
    np.testing.assert_array_equal(p, np.array([[float(v) for v in r[1:]] for r in rows]))
    assert model.predict(frame).tolist() == [r[0] for r in rows]
    dicts = frame.head(4).drop(columns=["species", "year"]).to_dict("records")[::-1]  # columns by name, any order
    assert model.predict(dicts).tolist() == [r[0] for r in rows[:4]][::-1]
    assert (model.predict(frame) == frame["species"]).mean() > 0.9


def test_an_unknown_category_is_one_line_or_all_zeros(penguins, proj):
    run_dir, _ = penguins
    path = new_rows(proj, ["Adelie,Biscoe,39.1,18.7,181,3750,male,2007", "Adelie,Anvers,39.1,18.7,181,3750,male,2007"])
    for command in (["predict", run_dir, "--data", path], ["eval", run_dir, "--data", path]):
        one_line(run(*command), 4, f"{path}:3: column 'island': 'Anvers' is not one of the 3 categories the model "
                                   "learnt ('Biscoe', 'Dream', 'Torgersen')", "--unknown ignore")
    res = run("predict", run_dir, "--data", path, "--unknown", "ignore")
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 3
    model = nettrain.load(run_dir)
    zeros = model.encode(pd.read_csv(path), unknown="ignore")
    np.testing.assert_array_equal(zeros[1, :3], [0, 0, 0])  # no island
    np.testing.assert_array_equal(zeros[0, :3], [1, 0, 0])  # Biscoe


def test_an_empty_cell_at_predict_is_filled_as_in_training(penguins, proj):
    run_dir, _ = penguins
    path = new_rows(proj, ["Adelie,Dream,,18.7,181,3750,,2007"])
    model = nettrain.load(run_dir)
    x = model.encode(pd.read_csv(path))
    fill = model._loaded.prep.encoding.columns[1].fill
    assert x[0, 3] == fill and x[0, 7:].tolist() == [0.0, 0.0]  # the train split's mean; no sex: all zeros
    assert run("predict", run_dir, "--data", path).exit_code == 0


def test_drop_refuses_an_empty_cell_at_predict_and_counts_at_eval(proj):
    res = run("fit", "configs/penguins.yaml", *SHORT, "--set", "data.missing=drop", "--out", "runs/drop")
    assert res.exit_code == 0 and "data.missing: drop: 11 of 344 rows left out" in res.stdout
    assert "training [9, 8, 3] on 267 examples" in res.stdout
    one_line(run("predict", "runs/drop", "--data", "data/penguins.csv"), 4,
             "data/penguins.csv:5: column 'bill_length_mm': is empty (a missing value)")
    doc = json.loads(run("eval", "runs/drop", "--data", "data/penguins.csv", "--json").stdout)
    assert doc["missing"] == {"policy": "drop", "dropped": 11, "filled": 0, "unknown": 0} and doc["m"] == 333


def test_refuse_is_todays_message(proj):
    res = run("fit", "configs/penguins.yaml", *SHORT, "--set", "data.missing=refuse", "--out", "runs/r")
    one_line(res, 4, "data/penguins.csv:5: column 'bill_length_mm': is empty (a missing value): fill it in or drop the "
                     "row")
    assert not (proj / "runs" / "r").exists()


def test_a_column_numeric_in_training_but_text_at_predict(proj):
    (proj / "t.csv").write_text("a,b,label\n" + "".join(f"{i % 3},{'xy'[i % 2]},{'pq'[i % 2]}\n" for i in range(30)))
    cfg = proj / "t.yaml"
    cfg.write_text("data: {path: t.csv, categorical: auto}\nmodel: {layers: [3, 2], output_activation: softmax}\n"
                   "loss: cross_entropy\ntrain: {epochs: 5}\n")
    assert run("fit", cfg, "--out", "runs/t").exit_code == 0
    assert nettrain.load("runs/t").encoded_names == ["a", "b=x", "b=y"]  # a held numbers only: a number column
    (proj / "n.csv").write_text("a,b,label\n1,x,p\nlow,y,q\n")
    one_line(run("predict", "runs/t", "--data", "n.csv"), 4,
             "n.csv:3: column 'a': 'low' is not a number (the model takes this column as numbers")


def test_a_wrong_width_names_the_one_hot_columns(proj):
    res = run("fit", "configs/penguins.yaml", "--set", "model.layers=[6,8,3]", "--out", "runs/w")
    one_line(res, 3, "model.layers starts with 6 inputs but", "has 9 inputs (6 feature columns, island, sex one-hot)")


def test_gradcheck_and_explain_see_the_encoded_numbers(proj):
    from nettrain.config import load_config
    from nettrain.problem import load_problem

    res = run("gradcheck", "configs/penguins.yaml", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["passed"]
    doc = nettrain.explain("configs/penguins.yaml", example=0)
    problem = load_problem(load_config("configs/penguins.yaml"))
    x = problem.splits["train"][0][0]  # the first training row: one-hot columns and fills, standardised
    assert len(doc["x"]) == 9 and doc["x"] == x.tolist() == doc["layers"][0]["a"]
    assert problem.prep.feature_names[:3] == ["island=Biscoe", "island=Dream", "island=Torgersen"]


def test_the_config_keys_are_checked(proj):
    one_line(run("fit", "configs/penguins.yaml", "--set", "data.missing=zero"), 3, "data.missing", "refuse, drop, mean")
    one_line(run("fit", "configs/penguins.yaml", "--set", "data.categorical=[species]"), 3,
             "is in data.target and in data.categorical")
    one_line(run("fit", "configs/sparse_autoencoder_digits.yaml", "--set", "data.missing=mean"), 3,
             "data.missing", "is for classification and regression")
    one_line(run("fit", "configs/penguins.yaml", "--set", "data.features=null", "--set", "cluster={address: local}"),
             3, "data.categorical: is not supported on a cluster yet")


# ------------------------------------------------------------------------------------- the Python API


def test_save_and_load_give_the_same_model(penguins, tmp_path):
    run_dir, _ = penguins
    model = nettrain.load(run_dir)
    frame = pd.read_csv(Path("data") / "penguins.csv")
    saved = nettrain.load(model.save(tmp_path / "copy.npz"))
    np.testing.assert_array_equal(saved.predict_proba(frame), model.predict_proba(frame))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(frame), model.predict_proba(frame))
    assert run("eval", tmp_path / "copy.npz", "--data", "data/penguins.csv").exit_code == 0


def test_an_array_is_taken_by_position_and_its_width_checked(penguins):
    run_dir, _ = penguins
    model = nettrain.load(run_dir)
    row = [["Dream", 41.2, 18.0, 190.0, 3800.0, "female"]]
    assert model.predict(np.array(row, dtype=object)).tolist() == model.predict([dict(zip(model.feature_names,
                                                                                          row[0]))]).tolist()
    with pytest.raises(nettrain.errors.DataError, match=r"X must be 2-D with 6 columns"):
        model.predict([[1.0, 2.0]])
    with pytest.raises(nettrain.errors.DataError, match=r"X has no column 'sex'"):
        model.predict(pd.DataFrame({c: [1] for c in model.feature_names[:-1]}))


# ------------------------------------------------------------------------------------- the estimators


def test_estimators_take_data_frames_with_text_columns_and_pickle(tmp_path):
    pytest.importorskip("sklearn")
    joblib = pytest.importorskip("joblib")
    from nettrain.sklearn import NetClassifier, NetRegressor

    frame = pd.read_csv(Path(__file__).resolve().parent.parent / "data" / "penguins.csv")
    X, y = frame.drop(columns=["species", "year"]), frame["species"]
    clf = NetClassifier(hidden_layer_sizes=(6,), categorical="auto", missing="mean", optimizer="lbfgs", epochs=60,
                        weight_decay=1e-3, activation="tanh", random_state=0).fit(X, y)
    assert clf.model_.encoded_names[:3] == ["island=Biscoe", "island=Dream", "island=Torgersen"]
    assert list(clf.feature_names_in_) == list(X.columns) and clf.score(X, y) > 0.9
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X), clf.predict_proba(X))
    reg = NetRegressor(hidden_layer_sizes=(4,), categorical=["island", "sex"], missing="drop", epochs=30,
                       random_state=0).fit(X.drop(columns="body_mass_g"), frame["body_mass_g"].fillna(4000) / 1000)
    joblib.dump(reg, tmp_path / "reg.joblib")
    rows = X.drop(columns="body_mass_g").dropna()
    np.testing.assert_array_equal(joblib.load(tmp_path / "reg.joblib").predict(rows), reg.predict(rows))


def test_a_plain_estimator_pickles_to_the_same_predictions(tmp_path):
    pytest.importorskip("sklearn")
    joblib = pytest.importorskip("joblib")
    from nettrain.sklearn import NetClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = NetClassifier(hidden_layer_sizes=(4,), epochs=20, random_state=0).fit(X, y)
    joblib.dump(clf, tmp_path / "c.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "c.joblib").predict_proba(X), clf.predict_proba(X))


def test_a_numeric_model_takes_a_data_frame_by_name_or_by_position(proj):
    model = nettrain.fit("configs/iris.yaml", {"train.epochs": 20}, out="runs/iris").model
    frame = pd.read_csv("data/iris.csv")
    X = frame.drop(columns="species").to_numpy()
    want = model.predict_proba(X)
    np.testing.assert_array_equal(model.predict_proba(frame[frame.columns[::-1]]), want)  # by name, label and all
    np.testing.assert_array_equal(model.predict_proba(pd.DataFrame(X)), want)  # no such names: by position
    np.testing.assert_array_equal(model.predict_proba(frame.drop(columns="species").to_dict("records")), want)
