"""nettrain.metrics: accuracy, the confusion matrix and per-class precision, recall and F1, by hand."""

import math

import numpy as np
import pytest

from nettrain.metrics import classification_metrics, per_class_scores


def one_hot(classes, k):
    return np.eye(k)[classes]


def test_per_class_precision_recall_f1_and_macro_by_hand():
    # 3 classes, 7 examples:          true  0 0 0 1 1 2 2
    #                                 pred  0 0 1 1 2 2 0
    true = [0, 0, 0, 1, 1, 2, 2]
    pred = [0, 0, 1, 1, 2, 2, 0]
    res = classification_metrics(one_hot(pred, 3), one_hot(true, 3), ["a", "b", "c"])
    # confusion (rows true, columns predicted): [[2, 1, 0], [0, 1, 1], [1, 0, 1]]
    assert res["confusion"] == [[2, 1, 0], [0, 1, 1], [1, 0, 1]]
    assert res["accuracy"] == pytest.approx(4 / 7)
    a, b, c = res["per_class"]
    # a: predicted a 3 times (column 0: 2 + 0 + 1), 2 right → P = 2/3; 3 true a, 2 found → R = 2/3; F1 = 2/3
    assert (a["label"], a["precision"], a["recall"], a["f1"], a["support"]) == ("a", 2 / 3, 2 / 3, pytest.approx(2 / 3), 3)
    # b: column 1 = 1 + 1 + 0 = 2, 1 right → P = 1/2; 2 true b, 1 found → R = 1/2; F1 = 1/2
    assert (b["precision"], b["recall"], b["f1"], b["support"]) == (0.5, 0.5, pytest.approx(0.5), 2)
    # c: column 2 = 0 + 1 + 1 = 2, 1 right → P = 1/2; 2 true c, 1 found → R = 1/2
    assert (c["precision"], c["recall"], c["f1"], c["support"]) == (0.5, 0.5, pytest.approx(0.5), 2)
    # macro: plain means over the classes: P = R = F1 = (2/3 + 1/2 + 1/2)/3 = 5/9
    assert res["macro"] == pytest.approx({"precision": 5 / 9, "recall": 5 / 9, "f1": 5 / 9})


def test_unequal_precision_and_recall_give_their_harmonic_mean():
    # P = 1/4 (1 of 4 predicted right), R = 1/1: F1 = 2·(1/4)·1 / (1/4 + 1) = 0.4
    (scores, *_), _ = per_class_scores(np.array([[1, 0], [3, 0]]))
    assert scores["precision"] == 0.25 and scores["recall"] == 1.0 and scores["f1"] == pytest.approx(0.4)


def test_undefined_scores_are_nan_and_left_out_of_the_macro_average():
    # class 1 is never predicted (precision 0/0) and found in 0 of its 2 examples (recall 0);
    # class 2 is absent from the data and never predicted (all three 0/0).
    per_class, macro = per_class_scores(np.array([[3, 0, 0], [2, 0, 0], [0, 0, 0]]))
    p0, p1, p2 = per_class
    assert (p0["precision"], p0["recall"]) == (0.6, 1.0) and p0["f1"] == pytest.approx(0.75)
    assert math.isnan(p1["precision"]) and p1["recall"] == 0.0 and math.isnan(p1["f1"])
    assert all(math.isnan(p2[k]) for k in ("precision", "recall", "f1")) and p2["support"] == 0
    assert macro["precision"] == 0.6 and macro["recall"] == 0.5 and macro["f1"] == pytest.approx(0.75)


def test_a_wrong_class_everywhere_scores_f1_0():
    per_class, _ = per_class_scores(np.array([[0, 2], [1, 0]]))
    assert [p["f1"] for p in per_class] == [0.0, 0.0]


def test_one_sigmoid_output_is_two_classes():
    # outputs ≥ 0.5 are class 1: predicted 1 0 1 1, true 1 0 0 1
    out = np.array([[0.9], [0.2], [0.6], [0.5]])
    y = np.array([[1.0], [0.0], [0.0], [1.0]])
    res = classification_metrics(out, y, [0, 1])
    assert res["confusion"] == [[1, 1], [0, 2]]
    assert res["per_class"][1]["precision"] == pytest.approx(2 / 3) and res["per_class"][1]["recall"] == 1.0
    assert res["per_class"][0]["precision"] == 1.0 and res["per_class"][0]["recall"] == 0.5
