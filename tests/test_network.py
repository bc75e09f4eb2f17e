"""The network: a 2-2-1 example worked by hand, an independent reference, chunking, dtype, init."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nettrain import network
from nettrain.errors import ModelError
from nettrain.network import Architecture, Params, Workspace, backprop, cost, init_params

from . import reference


def worked_example():
    """2-2-1, ReLU hidden, identity output, squared error, λ = 0.1, m = 2 (examples in columns)."""
    W = {1: np.array([[0.1, 0.2], [-0.3, 0.4]]), 2: np.array([[0.5, -0.6]])}
    b = {1: np.array([0.1, -0.2]), 2: np.array([0.3])}
    x = np.array([[1.0, 2.0], [2.0, -1.0]])  # x₁ = (1, 2), x₂ = (2, −1)
    y = np.array([[1.0, 0.0]])  # y₁ = 1, y₂ = 0
    return Architecture((2, 2, 1), "relu", "identity", "squared_error"), Params(W, b), x, y, 0.1


def test_worked_example_by_hand():
    arch, params, x, y, lam = worked_example()
    # Example 1: z⁽²⁾ = W⁽¹⁾x₁ + b⁽¹⁾ = (0.1+0.4+0.1, −0.3+0.8−0.2) = (0.6, 0.3) = a⁽²⁾ (both > 0)
    #            z⁽³⁾ = 0.5·0.6 − 0.6·0.3 + 0.3 = 0.42 = h;  ½(h − y)² = ½(−0.58)² = 0.1682
    # Example 2: z⁽²⁾ = (0.2−0.2+0.1, −0.6−0.4−0.2) = (0.1, −1.2) → a⁽²⁾ = (0.1, 0)
    #            z⁽³⁾ = 0.05 + 0 + 0.3 = 0.35 = h;  ½(0.35 − 0)² = 0.06125
    # J_data = (0.1682 + 0.06125)/2 = 0.114725
    # J_reg = (λ/2)ΣW² = 0.05·(0.01+0.04+0.09+0.16+0.25+0.36) = 0.05·0.91 = 0.0455   (b not included)
    c, g = backprop(arch, params, x, y, lam)
    assert c.J_data == pytest.approx(0.114725, rel=1e-14)
    assert c.J_reg == pytest.approx(0.0455, rel=1e-14)
    assert c.J == pytest.approx(0.160225, rel=1e-14)
    assert cost(arch, params, x, y, lam) == pytest.approx(tuple(c), rel=1e-15)
    # δ⁽³⁾ = −(y − h)·1 = (−0.58, 0.35)
    # ∂J/∂W⁽²⁾ = ½[−0.58·(0.6, 0.3) + 0.35·(0.1, 0)] + 0.1·(0.5, −0.6) = ½(−0.313, −0.174) + (0.05, −0.06)
    #          = (−0.1065, −0.147);   ∂J/∂b⁽²⁾ = ½(−0.58 + 0.35) = −0.115
    np.testing.assert_allclose(g.W[2], [[-0.1065, -0.147]], rtol=1e-13)
    np.testing.assert_allclose(g.b[2], [-0.115], rtol=1e-13)
    # δ⁽²⁾ = (W⁽²⁾ᵀδ⁽³⁾)·f′(z⁽²⁾): ex 1 (0.5·−0.58, −0.6·−0.58)·(1, 1) = (−0.29, 0.348)
    #                             ex 2 (0.5·0.35, −0.6·0.35)·(1, 0) = (0.175, 0)
    # Σ δ⁽²⁾xᵀ = [[−0.29, −0.58], [0.348, 0.696]] + [[0.35, −0.175], [0, 0]] = [[0.06, −0.755], [0.348, 0.696]]
    # ∂J/∂W⁽¹⁾ = ½ of that + 0.1·W⁽¹⁾ = [[0.03+0.01, −0.3775+0.02], [0.174−0.03, 0.348+0.04]]
    np.testing.assert_allclose(g.W[1], [[0.04, -0.3575], [0.144, 0.388]], rtol=1e-13)
    # ∂J/∂b⁽¹⁾ = ½[(−0.29, 0.348) + (0.175, 0)] = (−0.0575, 0.174)
    np.testing.assert_allclose(g.b[1], [-0.0575, 0.174], rtol=1e-13)


def test_biases_are_not_regularised():
    arch, params, x, y, _ = worked_example()
    big_b = Params(params.W, {l: v + 100.0 for l, v in params.b.items()})
    assert network.reg_cost(big_b.W, 0.1) == network.reg_cost(params.W, 0.1) == pytest.approx(0.0455)
    _, g0 = backprop(arch, params, x, y, 0.0)
    _, g1 = backprop(arch, params, x, y, 0.7)
    for l in (1, 2):
        np.testing.assert_array_equal(g1.b[l], g0.b[l])  # λ never touches ∂J/∂b
        np.testing.assert_allclose(g1.W[l] - g0.W[l], 0.7 * params.W[l], rtol=1e-12, atol=1e-15)


def _as_lists(params):
    return ({l: w.tolist() for l, w in params.W.items()}, {l: v.tolist() for l, v in params.b.items()})


def _random_problem(rng, layers, act, out, loss, m):
    arch = Architecture(layers, act, out, loss)
    params = init_params(layers, "normal", rng, std=0.7)
    for v in params.b.values():
        v[:] = rng.normal(0, 0.5, v.shape)
    x = rng.normal(size=(layers[0], m))
    k = layers[-1]
    if out == "softmax":
        y = np.eye(k)[:, rng.integers(0, k, m)]
    elif out == "sigmoid":
        y = rng.uniform(0, 1, (k, m))
    else:
        y = rng.normal(size=(k, m))
    return arch, params, x, y


PAIRS = [("squared_error", o) for o in ("sigmoid", "tanh", "relu", "identity", "softmax")] + [
    ("cross_entropy", "sigmoid"),
    ("cross_entropy", "softmax"),
]


@settings(max_examples=60, deadline=None)
@given(
    layers=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    act=st.sampled_from(["sigmoid", "tanh", "relu", "identity"]),
    pair=st.sampled_from(PAIRS),
    m=st.integers(1, 6),
    lam=st.sampled_from([0.0, 0.01, 1.3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_backprop_equals_independent_reference(layers, act, pair, m, lam, seed):
    loss, out = pair
    if out == "softmax" and layers[-1] < 2:
        layers = layers[:-1] + [2]
    rng = np.random.default_rng(seed)
    arch, params, x, y = _random_problem(rng, tuple(layers), act, out, loss, m)
    c, g = backprop(arch, params, x, y, lam)
    W, b = _as_lists(params)
    J, J_data, J_reg, dW, db = reference.cost_and_grad(layers, act, out, loss, W, b, x.T.tolist(), y.T.tolist(), lam)
    assert c.J == pytest.approx(J, rel=1e-12, abs=1e-14)
    assert c.J_data == pytest.approx(J_data, rel=1e-12, abs=1e-14)
    assert c.J_reg == pytest.approx(J_reg, rel=1e-12, abs=1e-14)
    for l in params.W:
        np.testing.assert_allclose(g.W[l], dW[l], rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(g.b[l], db[l], rtol=1e-9, atol=1e-13)


def test_multi_output_regression_gradient_against_reference():
    rng = np.random.default_rng(7)
    layers = (3, 6, 5, 4)
    arch, params, x, y = _random_problem(rng, layers, "tanh", "identity", "squared_error", 9)
    c, g = backprop(arch, params, x, y, 0.05)
    W, b = _as_lists(params)
    J, *_, dW, db = reference.cost_and_grad(layers, "tanh", "identity", "squared_error", W, b, x.T.tolist(), y.T.tolist(), 0.05)
    assert c.J == pytest.approx(J, rel=1e-13)
    for l in params.W:
        np.testing.assert_allclose(g.W[l], dW[l], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("width", [1, 3, 7, 10, 64])
def test_chunked_gradient_equals_full_batch(width):
    rng = np.random.default_rng(11)
    arch, params, x, y = _random_problem(rng, (5, 8, 4), "sigmoid", "softmax", "cross_entropy", 23)
    c_full, g_full = backprop(arch, params, x, y, 0.01)
    ws = Workspace(arch, width, np.float64)
    for _ in range(2):  # the workspace is reused: the second call must not see the first's numbers
        c, g = backprop(arch, params, x, y, 0.01, ws)
        assert c.J == pytest.approx(c_full.J, rel=1e-14)
        for l in params.W:
            np.testing.assert_allclose(g.W[l], g_full.W[l], rtol=1e-13, atol=1e-16)
            np.testing.assert_allclose(g.b[l], g_full.b[l], rtol=1e-13, atol=1e-16)
    assert cost(arch, params, x, y, 0.01, chunk_size=width).J == pytest.approx(c_full.J, rel=1e-14)


def test_float32_end_to_end():
    rng = np.random.default_rng(5)
    arch, p64, x, y = _random_problem(rng, (4, 6, 3), "tanh", "softmax", "cross_entropy", 10)
    p32 = Params({l: w.astype(np.float32) for l, w in p64.W.items()}, {l: v.astype(np.float32) for l, v in p64.b.items()})
    c32, g32 = backprop(arch, p32, x.astype(np.float32), y.astype(np.float32), 0.01)
    c64, g64 = backprop(arch, p64, x, y, 0.01)
    for l in p32.W:
        assert g32.W[l].dtype == np.float32 and g32.b[l].dtype == np.float32
        np.testing.assert_allclose(g32.W[l], g64.W[l], rtol=1e-4, atol=1e-6)
    assert c32.J == pytest.approx(c64.J, rel=1e-5)


def test_saturated_network_gives_finite_cost_and_gradient():
    arch = Architecture((2, 3, 2), "sigmoid", "softmax", "cross_entropy")
    params = init_params((2, 3, 2), "normal", np.random.default_rng(0), std=1.0)
    params.W[1][:] *= 1000.0
    params.W[2][:] = [[1000.0, -1000.0, 1000.0], [-1000.0, 1000.0, -1000.0]]
    x = np.array([[1.0, -1.0], [2.0, 0.5]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        c, g = backprop(arch, params, x, y, 0.0)
    assert np.isfinite(c.J) and all(np.all(np.isfinite(v)) for v in g.blocks().values())


@pytest.mark.parametrize("scheme", ["normal", "glorot_uniform", "he_normal"])
def test_init_is_seeded_and_has_the_stated_scale(scheme):
    layers = (200, 300, 10)
    p1 = init_params(layers, scheme, np.random.default_rng(42), std=0.01)
    p2 = init_params(layers, scheme, np.random.default_rng(42), std=0.01)
    for l in p1.W:
        np.testing.assert_array_equal(p1.W[l], p2.W[l])
        assert p1.W[l].shape == (layers[l], layers[l - 1])
        assert not p1.b[l].any()
    w = p1.W[1]
    if scheme == "normal":
        assert w.std() == pytest.approx(0.01, rel=0.02)
    elif scheme == "glorot_uniform":
        r = np.sqrt(6) / np.sqrt(200 + 300 + 1)
        assert np.abs(w).max() <= r and np.abs(w).max() > 0.99 * r
    else:
        assert w.std() == pytest.approx(np.sqrt(2 / 200), rel=0.02)
    p32 = init_params(layers, scheme, np.random.default_rng(42), std=0.01, dtype=np.float32)
    np.testing.assert_array_equal(p32.W[1], p1.W[1].astype(np.float32))


def test_architecture_errors():
    with pytest.raises(ModelError, match="at least 2"):
        Architecture((3,))
    with pytest.raises(ModelError, match="model.activation must be one of"):
        Architecture((2, 2), "softmax")
    with pytest.raises(ModelError, match="cross_entropy"):
        Architecture((2, 2), "sigmoid", "tanh", "cross_entropy")
    assert Architecture((64, 25, 10)).n_params() == 64 * 25 + 25 + 25 * 10 + 10
