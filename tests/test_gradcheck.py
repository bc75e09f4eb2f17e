"""Gradient checking: the differentiator, the built-in suite, and a wrong gradient caught by the CLI."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from nettrain import numgrad as gc
from nettrain import sums
from nettrain.cli import app

runner = CliRunner()


def test_differentiator_self_test_on_ufldl_function():
    g, rel = gc.self_test()
    np.testing.assert_allclose(g, [268.0, 6.0], rtol=1e-9)  # rounding: |h| ≈ 540, u·540/ε ≈ 1e-9
    assert rel < 1e-10


def test_central_difference_error_is_order_eps_squared_and_richardson_removes_it():
    x = np.array([0.3])
    plain = gc.numerical_gradient(lambda v: float(np.exp(v[0])), x, richardson=False)[0]
    rich = gc.numerical_gradient(lambda v: float(np.exp(v[0])), x)[0]
    exact = np.exp(0.3)
    assert abs(plain - exact) / exact == pytest.approx(1e-8 / 6, rel=0.05)  # ε²/6 · f‴/f′
    assert abs(rich - exact) / exact < 1e-10
    assert x[0] == 0.3  # θ restored


def test_relative_difference_and_verdicts():
    assert gc.relative_difference(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert gc.relative_difference(np.zeros(2), np.zeros(2)) == 0.0
    assert gc.relative_difference(np.array([3.0]), np.array([1.0])) == pytest.approx(0.5)
    assert [gc.verdict(v) for v in (1e-9, 1e-5, 1e-3)] == ["good", "acceptable", "wrong"]


def test_builtin_suite_passes_below_1e9_for_smooth_activations():
    results = gc.run_cases(gc.builtin_cases())
    assert len(results) == 208
    pairs = {(c.arch.activation, c.arch.output_activation, c.arch.loss) for c, _, _ in results}
    assert len(pairs) == 4 * 7  # every hidden f × every allowed output/loss pair
    assert {c.lam for c, _, _ in results} == {0.0, 0.1}
    for case, stages, passed in results:
        assert passed, case.name
        assert {s.stage for s in stages} == ({"data"} if case.lam == 0 else {"data", "reg", "both"})
        if not case.kinks:
            assert max(s.worst for s in stages) < 1e-9, case.name


def test_networks_without_a_hidden_layer_pass_and_softmax_regression_is_a_minus_y_times_x():
    """no_hidden_cases: every output × loss pair on [4, 3], in the suite; the softmax regression case's
    gradient is (1/m) Σᵢ (aᵢ − yᵢ) xᵢᵀ + λW⁽¹⁾, written here with numpy alone."""
    cases = list(gc.no_hidden_cases())
    assert len(cases) == 2 * 7 and {c.arch.layers for c in cases} == {(4, 3)}
    assert {c.name for c in cases} <= {c.name for c in gc.suite()}
    for case, stages, passed in gc.run_cases(iter(cases)):
        assert passed, case.name
        if not case.kinks:
            assert max(s.worst for s in stages) < 1e-9, case.name
    case = next(c for c in cases if (c.arch.output_activation, c.arch.loss, c.lam) == ("softmax", "cross_entropy", 0.1))
    W, b, x, y = case.params.W[1], case.params.b[1], case.x, case.y
    z = W @ x + b[:, None]
    a = np.exp(z) / np.exp(z).sum(axis=0)
    cost, g = sums.backprop(case.arch, case.params, x, y, case.lam)
    np.testing.assert_allclose(g.W[1], (a - y) @ x.T / x.shape[1] + case.lam * W, rtol=1e-12)
    np.testing.assert_allclose(g.b[1], (a - y).mean(axis=1), rtol=1e-12, atol=1e-16)
    assert np.isclose(cost.J, -np.sum(y * np.log(a)) / x.shape[1] + case.lam / 2 * np.sum(W**2), rtol=1e-12)


def _wrong_backprop(real):
    def wrong(arch, params, x, y, lam=0.0, ws=None, grads=None):
        c, g = real(arch, params, x, y, lam, ws, grads)
        g.W[1][0, 0] *= 1.01  # a 1% error in one entry of ∂J/∂W⁽¹⁾
        return c, g

    return wrong


def test_wrong_gradient_is_caught_and_named(monkeypatch):
    monkeypatch.setattr(sums, "backprop", _wrong_backprop(sums.backprop))
    res = runner.invoke(app, ["gradcheck", "--json"])
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["passed"] is False
    bad = {(b["block"], s["stage"]) for c in data["cases"] for s in c["stages"] for b in s["blocks"] if b["verdict"] == "wrong"}
    assert ("W1", "data") in bad and all(block == "W1" for block, _ in bad)
    res = runner.invoke(app, ["gradcheck"])
    assert res.exit_code == 1
    assert "failed" in res.stdout and "data/W1" in res.stdout


def test_cli_gradcheck_passes_with_json():
    res = runner.invoke(app, ["gradcheck", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["passed"] is True and data["epsilon"] == 1e-4
    assert data["self_test"]["exact"] == [268.0, 6.0]
    block = data["cases"][0]["stages"][0]["blocks"][0]
    assert set(block) == {"block", "rel_diff", "worst_index", "worst_numerical", "worst_backprop", "worst_rel", "verdict",
                          "checked", "size"}


def test_a_sample_of_entries_is_the_same_numbers_as_the_full_gradient_at_those_entries():
    rng = np.random.default_rng(3)
    theta = rng.normal(size=(4, 6))
    J = lambda t: float(np.sum(np.sin(t) * t[::-1, ::-1]))  # noqa: E731  (entries interact)
    idx = gc.sample_entries(theta.size, 7, "W1")
    assert len(idx) == 7 and len(set(idx.tolist())) == 7 and list(idx) == sorted(idx)
    assert np.array_equal(idx, gc.sample_entries(theta.size, 7, "W1"))  # seeded by the name: repeatable
    assert not np.array_equal(idx, gc.sample_entries(theta.size, 7, "W2"))
    assert gc.sample_entries(theta.size, 24, "W1") is None and gc.sample_entries(theta.size, None, "W1") is None
    full = gc.numerical_gradient(J, theta)
    assert np.array_equal(gc.numerical_gradient(J, theta, entries=idx), full.reshape(-1)[idx])
    # the worst of the sampled entries is named by its place in the block
    bp = full.copy()
    i, j = np.unravel_index(idx[4], theta.shape)
    bp[i, j] *= 1.01
    r = gc.compare_block("W1", full.reshape(-1)[idx], bp, idx)
    assert r.worst_index == [i, j] and r.checked == 7 and r.size == 24 and r.verdict == "wrong"
    assert r.worst_backprop == bp[i, j] and r.worst_numerical == full[i, j]


def test_cli_gradcheck_of_a_config_samples_big_blocks_and_says_so(tmp_path, monkeypatch):
    from pathlib import Path

    config = Path(__file__).resolve().parent.parent / "configs" / "iris.yaml"  # [4, 8, 3]: W1 has 32 entries
    res = runner.invoke(app, ["gradcheck", str(config), "--entries", "10", "--json"])
    assert res.exit_code == 0, res.output
    stages = json.loads(res.stdout)["cases"][0]["stages"]
    for s in stages:
        sizes = {b["block"]: (b["checked"], b["size"]) for b in s["blocks"]}
        assert sizes == {"W1": (10, 32), "b1": (8, 8), "W2": (10, 24), "b2": (3, 3)}
    res = runner.invoke(app, ["gradcheck", str(config), "--entries", "10"])
    assert res.exit_code == 0 and "W1 10 of 32, W2 10 of 24" in " ".join(res.stdout.split())
    res = runner.invoke(app, ["gradcheck", str(config), "--entries", "0", "--json"])
    assert {(b["checked"], b["size"]) for b in json.loads(res.stdout)["cases"][0]["stages"][0]["blocks"]} == {
        (32, 32), (8, 8), (24, 24), (3, 3)}
    # a wrong entry in the sample is caught
    monkeypatch.setattr(sums, "backprop", _wrong_backprop(sums.backprop))
    res = runner.invoke(app, ["gradcheck", str(config), "--entries", "32", "--json"])
    assert res.exit_code == 1
