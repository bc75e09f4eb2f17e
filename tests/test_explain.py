"""nettrain.explain and `nettrain explain`: one example's backprop, every term, against backprop and finite
differences."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettrain import walkthrough as ex
from nettrain import network, sums
from nettrain.cli import app
from nettrain.network import Architecture, Params
from nettrain.problem import initial_params, load_problem
from nettrain.trained import load_trained

ROOT = Path(__file__).resolve().parent.parent
XOR = ROOT / "configs" / "xor.yaml"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def arr(v):
    return np.array(v, dtype=float)


def one_line_error(res, code: int) -> str:
    assert res.exit_code == code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output, res.stderr
    return lines[0]


# ----------------------------------------------------------------------------- a worked example by hand


def test_worked_example_by_hand():
    """2-2-1, identity units and squared error, so that every number is exact arithmetic."""
    arch = Architecture((2, 2, 1), "identity", "identity", "squared_error")
    params = Params({1: np.array([[1.0, 2.0], [3.0, -1.0]]), 2: np.array([[1.0, -2.0]])},
                    {1: np.array([0.0, 1.0]), 2: np.array([0.5])})
    x, y = np.array([[1.0], [2.0]]), np.array([[1.0]])
    res = ex.explain(arch, params, x, y, 0, lam=0.0)
    L1, L2, L3 = res["layers"]
    # z⁽²⁾ = W⁽¹⁾x + b⁽¹⁾ = [1·1 + 2·2 + 0, 3·1 − 1·2 + 1] = [5, 2]
    assert L2["z"] == [5.0, 2.0] and L2["a"] == [5.0, 2.0] and L2["fprime"] == [1.0, 1.0]
    # z⁽³⁾ = 1·5 − 2·2 + 0.5 = 1.5; δ⁽³⁾ = −(y − a)·f′ = −(1 − 1.5)·1 = 0.5
    assert L3["z"] == [1.5] and L3["delta"] == [0.5]
    assert L3["output_delta"]["form"] == "-(y - a) f'(z)" and L3["output_delta"]["minus_y_minus_a"] == [0.5]
    assert L3["output_delta"]["y"] == [1.0] and L3["output_delta"]["a"] == [1.5]
    # terms Wⱼᵢ⁽²⁾δⱼ⁽³⁾ (one j): [1·0.5, −2·0.5]; δ⁽²⁾ = [0.5, −1]·f′ = [0.5, −1]
    assert L2["delta_terms"] == [[0.5], [-1.0]] and L2["delta"] == [0.5, -1.0]
    # ∂/∂W⁽²⁾ = δ⁽³⁾a⁽²⁾ᵀ = 0.5·[5, 2] = [[2.5, 1]];  ∂/∂W⁽¹⁾ = δ⁽²⁾xᵀ = [[0.5, 1], [−1, −2]]
    assert L2["dW_example"] == [[2.5, 1.0]] and L2["db_example"] == [0.5]
    assert L1["dW_example"] == [[0.5, 1.0], [-1.0, -2.0]] and L1["db_example"] == [0.5, -1.0]
    # the cost of the example: ½(1.5 − 1)² = 0.125
    assert res["cost"]["example"] == 0.125
    assert L1["delta"] is None and L1["z"] is None  # the input layer has neither
    np.testing.assert_allclose(arr(L1["dW_numerical"]), arr(L1["dW_example"]), atol=1e-9)


# ----------------------------------------------------------------------------- acceptance: xor --json


@pytest.fixture(scope="module")
def xor_problem():
    from nettrain import config

    cfg = config.load_config(XOR)
    problem = load_problem(cfg)
    x, y = problem.columns("train")
    return problem.arch, initial_params(cfg, problem.arch, np.float64), x, y, cfg.train.weight_decay


@pytest.mark.parametrize("i", [0, 1, 2, 3])
def test_xor_json_equals_backprop_of_that_example_and_the_numerical_derivative(i, xor_problem):
    res = run("explain", XOR, "--example", i, "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)  # exactly one JSON object
    arch, params, x, y, lam = xor_problem
    _, g = sums.backprop(arch, params, x[:, [i]], y[:, [i]], 0.0)  # that one column, λ = 0
    _, batch = sums.backprop(arch, params, x, y, lam)
    assert data["example"] == i and data["m"] == 4 and data["x"] == x[:, i].tolist()
    for L in data["layers"][:-1]:
        l = L["l"]
        np.testing.assert_allclose(arr(L["dW_example"]), g.W[l], rtol=0, atol=1e-7)
        np.testing.assert_allclose(arr(L["db_example"]), g.b[l], rtol=0, atol=1e-7)
        np.testing.assert_allclose(arr(L["dW_numerical"]), g.W[l], rtol=0, atol=1e-7)
        np.testing.assert_allclose(arr(L["db_numerical"]), g.b[l], rtol=0, atol=1e-7)
        np.testing.assert_allclose(arr(L["dW_batch"]), batch.W[l], rtol=1e-12)
        np.testing.assert_allclose(arr(L["db_batch"]), batch.b[l], rtol=1e-12)
        np.testing.assert_allclose(arr(L["W"]), params.W[l])
    keys = {"z", "a", "fprime", "delta", "delta_terms", "dW_example", "db_example", "dW_numerical", "db_numerical",
            "dW_batch", "db_batch", "dW_batch_data", "lam_W"}
    assert keys <= set(data["layers"][1])


def test_xor_text_walkthrough():
    res = run("explain", XOR, "--example", "0")
    assert res.exit_code == 0, res.output
    text = res.stdout
    for part in ("1. forward pass", "z⁽²⁾ = W⁽¹⁾a⁽¹⁾ + b⁽¹⁾", "2. output error", "δ⁽ⁿˡ⁾ = a⁽ⁿˡ⁾ − y",
                 "3. errors carried back", "δ₁⁽²⁾ = (W₁₁⁽²⁾δ₁⁽³⁾)·f′(z₁⁽²⁾)", "4. this example's gradient",
                 "numerical", "5. from one example to the batch", "(1/m) Σ", "+ λW"):
        assert part in text, part


def test_the_output_error_writes_out_minus_y_minus_a_in_numbers():
    """δ₁⁽³⁾ = −(y₁ − a₁)·f′(z₁) = −(1 − 0.5733)·0.2446 = (−0.4267)×0.2446: the ½ has cancelled the 2."""
    data = json.loads(run("explain", XOR, "--example", 1, "--set", "loss=squared_error", "--json").stdout)
    L3 = data["layers"][-1]
    a, fp, d = L3["a"][0], L3["fprime"][0], L3["delta"][0]
    text = run("explain", XOR, "--example", 1, "--set", "loss=squared_error").stdout
    assert (f"δ₁⁽³⁾ = −(y₁ − a₁)·f′(z₁) = −(1 − {a:.4g})·{fp:.4g} = ({-(1 - a):.4g})×{fp:.4g} = {d:.4g}"
            in text), text


def test_every_row_a_summary_leaves_out_is_counted_where_it_is_left_out():
    """XOR's W⁽¹⁾ is 3×2: the batch table shows 4 of its 6 entries and 2 of 3 biases, and says so."""
    text = run("explain", XOR, "--example", 1).stdout
    assert "… 3 more rows (W⁽¹⁾ 2, b⁽¹⁾ 1); --layer 1 shows all" in text
    assert "more rows (W⁽²⁾" not in text  # W⁽²⁾ (1×3) and b⁽²⁾ are shown whole
    assert "more rows" not in run("explain", XOR, "--example", 1, "--layer", 1).stdout


def test_a_folded_sum_is_labelled():
    """δ of a hidden unit fed by 7 units: 4 terms written out, the other 3 summed and labelled as such."""
    from rich.console import Console

    from nettrain.render import explain as render

    rng = np.random.default_rng(2)
    arch = Architecture((3, 4, 7), "tanh", "softmax", "squared_error")
    params = network.init_params(arch.layers, "normal", rng, std=0.5)
    x, y = rng.normal(size=(3, 2)), np.eye(7)[:, [1, 4]]
    res = {"data": "two examples", "weights": "random", **ex.explain(arch, params, x, y, 0)}
    console = Console(record=True, width=1000, highlight=False)
    render.render(console, res, None)
    text = console.export_text()
    terms = res["layers"][1]["delta_terms"][0]  # Wⱼ₁δⱼ over the 7 units j
    rest = sum(sorted(terms, key=abs)[:3])  # the 3 smallest in magnitude are folded
    assert "+ 3 more)·f′(z₁⁽²⁾)" in text and f"+ [the 3 more: {rest:.4g}])" in text
    assert text.count("[the 3 more: ") == 4 + 7  # 4 hidden units; 7 output units' Jacobian sums (4 of 7 terms)


# ----------------------------------------------------------------------------- every loss/output form


PAIRS = [("squared_error", "sigmoid"), ("squared_error", "identity"), ("squared_error", "softmax"),
         ("cross_entropy", "softmax"), ("cross_entropy", "sigmoid")]


@pytest.mark.parametrize("loss,out", PAIRS)
def test_every_term_against_backprop_for_every_loss_output_pair(loss, out):
    rng = np.random.default_rng(7)
    arch = Architecture((3, 4, 5, 3), "tanh", out, loss)
    params = network.init_params(arch.layers, "normal", rng, std=0.6)
    for v in params.b.values():
        v[:] = rng.normal(0, 0.3, v.shape)
    m, i, lam = 6, 4, 0.05
    x = rng.normal(size=(3, m))
    y = np.eye(3)[:, rng.integers(0, 3, m)] if out == "softmax" else rng.uniform(0.1, 0.9, (3, m))
    res = ex.explain(arch, params, x, y, i, lam)
    _, g = sums.backprop(arch, params, x[:, [i]], y[:, [i]], 0.0)
    _, batch = sums.backprop(arch, params, x, y, lam)
    layers = res["layers"]
    expected_form = {"squared_error": "-(y - a) f'(z)", "cross_entropy": "a - y"}[loss]
    if out == "softmax":
        expected_form = "softmax jacobian" if loss == "squared_error" else "a sum(y) - y"
    assert layers[-1]["output_delta"]["form"] == expected_form
    # the output δ is the loss's own definition (losses.py), the one the fused training kernels are tested against
    z_out, a_out = arr(layers[-1]["z"])[:, None], arr(layers[-1]["a"])[:, None]
    reference = np.empty_like(z_out)
    arch.loss_fn.delta(z_out, a_out, y[:, [i]], arch.f_out, reference)
    assert layers[-1]["delta"] == reference[:, 0].tolist()
    for L in layers[:-1]:
        l = L["l"]
        np.testing.assert_allclose(arr(L["dW_example"]), g.W[l], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(arr(L["dW_numerical"]), g.W[l], rtol=0, atol=1e-8)
        np.testing.assert_allclose(arr(L["db_numerical"]), g.b[l], rtol=0, atol=1e-8)
        np.testing.assert_allclose(arr(L["dW_batch_data"]) + arr(L["lam_W"]), arr(L["dW_batch"]), rtol=1e-12)
        np.testing.assert_allclose(arr(L["dW_batch"]), batch.W[l], rtol=1e-12)
        np.testing.assert_allclose(arr(L["lam_W"]), lam * params.W[l])
    for L in layers[1:-1]:  # the hidden layers: terms Wⱼᵢ⁽ˡ⁾δⱼ⁽ˡ⁺¹⁾, summed over j, times f′
        W, nxt = arr(L["W"]), arr(layers[L["l"]]["delta"])
        terms = arr(L["delta_terms"])
        np.testing.assert_allclose(terms, W.T * nxt[None, :])
        np.testing.assert_allclose(terms.sum(axis=1) * arr(L["fprime"]), arr(L["delta"]))


# ----------------------------------------------------------------------------- a trained run


def test_a_run_folder_explains_its_trained_weights(tmp_path):
    res = run("fit", XOR, "--set", "train.epochs=40", "--out", tmp_path / "xor")
    assert res.exit_code == 0, res.output
    loaded = load_trained(tmp_path / "xor")
    data = json.loads(run("explain", tmp_path / "xor", "--example", 2, "--json").stdout)
    assert "checkpoint" in data["weights"] and "epoch 40" in data["weights"]
    np.testing.assert_allclose(arr(data["layers"][0]["W"]), loaded.params.W[1])
    layer = json.loads(run("explain", tmp_path / "xor" / "last.npz", "--layer", 2, "--json").stdout)
    assert [L["l"] for L in layer["layers"]] == [2]
    assert "--set" in one_line_error(run("explain", tmp_path / "xor", "--set", "loss=squared_error"), 2)


def test_layer_option_prints_every_entry():
    res = run("explain", ROOT / "configs" / "iris.yaml", "--layer", 1)
    assert res.exit_code == 0, res.output
    # W⁽¹⁾ is 8×4: every entry, in both tables
    assert res.stdout.count("W₈₄⁽¹⁾") == 2 and res.stdout.count("W₁₁⁽¹⁾") == 2
    assert "2. output error" not in res.stdout


# ----------------------------------------------------------------------------- bad input


def test_example_out_of_range_names_the_valid_range():
    line = one_line_error(run("explain", XOR, "--example", 4), 2)
    assert "--example 4" in line and "0–3" in line
    assert run("explain", XOR, "--example", -1).exit_code == 2


def test_layer_out_of_range_names_the_valid_range():
    line = one_line_error(run("explain", XOR, "--layer", 4), 2)
    assert "--layer 4" in line and "1–3" in line
    assert run("explain", XOR, "--layer", 0).exit_code == 2


def test_missing_files_are_one_line(tmp_path):
    assert "nope.yaml" in one_line_error(run("explain", tmp_path / "nope.yaml"), 3)
    assert "nope.npz" in one_line_error(run("explain", tmp_path / "nope.npz"), 5)
    (tmp_path / "empty_run").mkdir()
    assert "last.npz" in one_line_error(run("explain", tmp_path / "empty_run"), 5)


def test_set_overrides_a_config():
    data = json.loads(run("explain", ROOT / "configs" / "iris.yaml", "--set", "loss=squared_error", "--json").stdout)
    assert data["layers"][-1]["output_delta"]["form"] == "softmax jacobian"


def test_help_has_an_example():
    res = run("explain", "--help")
    assert res.exit_code == 0 and "Example" in res.stdout and "nettrain explain configs/xor.yaml" in res.stdout


def test_big_blocks_get_the_numerical_derivative_on_a_sample_that_holds_what_is_shown():
    """max_entries: the numbers computed are those of the full computation, at a seeded random sample
    plus the LARGEST biggest and first entries; the others are NaN (null in JSON); --layer's are all."""
    arch = Architecture((8, 12, 3), "tanh", "softmax", "cross_entropy")
    rng = np.random.default_rng(5)
    params = network.init_params(arch.layers, "normal", rng, std=0.5)
    x, y = rng.normal(size=(8, 4)), np.eye(3)[:, [0, 2, 1, 1]]
    full = ex.explain(arch, params, x, y, 1)
    part = ex.explain(arch, params, x, y, 1, max_entries=5)
    for L_full, L, size in zip(full["layers"], part["layers"], (96, 36)):  # W1 8×12, W2 12×3
        num, want, grad = np.array(L["dW_numerical"]), np.array(L_full["dW_numerical"]), np.abs(L["dW_example"])
        done = np.isfinite(num)
        assert L["dW_numerical_entries"] == done.sum() and ex.LARGEST < done.sum() < num.size == size
        assert np.array_equal(num[done], want[done])  # the same numbers, not an approximation of them
        assert done.reshape(-1)[: ex.LARGEST].all()  # the first entries …
        largest = np.argsort(-grad.reshape(-1), kind="stable")[: ex.LARGEST]
        assert done.reshape(-1)[largest].all()  # … and the largest, which a summary shows
    L, L_full = part["layers"][0], full["layers"][0]
    assert L["db_numerical"] == L_full["db_numerical"] and L["db_numerical_entries"] == 12  # ≤ LARGEST: all
    both = ex.explain(arch, params, x, y, 1, max_entries=5, full_layer=1)["layers"][0]
    assert both["dW_numerical"] == L_full["dW_numerical"] and both["dW_numerical_entries"] == 96
    # the CLI: nulls in JSON where not computed, and the summary says how many were
    res = run("explain", XOR, "--entries", "2", "--json")
    assert res.exit_code == 0, res.output
    W1 = json.loads(res.stdout)["layers"][0]
    assert W1["dW_numerical_entries"] == 6  # [2, 3, 1]: W1 has 6 entries, all among the first 16
    assert None not in sum(W1["dW_numerical"], [])


# ----------------------------------------------------------------------------- no hidden layer


def test_softmax_regression_has_no_hidden_delta_and_its_gradient_is_a_minus_y_times_x():
    """model.layers [64, 10], softmax output, cross-entropy: the tutorial's softmax regression. One example's
    ∂J/∂W⁽¹⁾ = (a − y) xᵀ, with a = softmax(W⁽¹⁾x + b⁽¹⁾) computed here by hand; the header says there is no
    hidden layer, and no section carries a δ back."""
    args = ("explain", ROOT / "configs" / "digits.yaml", "--set", "model.layers=[64, 10]", "--example", 3)
    data = json.loads(run(*args, "--json").stdout)
    assert [L["l"] for L in data["layers"]] == [1, 2]
    L1 = data["layers"][0]
    x, y, W, b = arr(data["x"]), arr(data["y"]), arr(L1["W"]), arr(L1["b"])
    z = W @ x + b
    a = np.exp(z - z.max()) / np.exp(z - z.max()).sum()  # softmax, by hand
    np.testing.assert_allclose(arr(data["h"]), a, rtol=1e-12)
    np.testing.assert_allclose(arr(L1["dW_example"]), np.outer(a - y, x), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(arr(L1["db_example"]), a - y, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(arr(L1["dW_numerical"]), np.outer(a - y, x), rtol=1e-6, atol=1e-9)
    text = run(*args)
    assert text.exit_code == 0, text.output
    assert "network 64-10: no hidden layer (softmax regression), softmax output" in text.stdout
    assert "sigmoid hidden" not in text.stdout and "3. errors carried back" not in text.stdout
