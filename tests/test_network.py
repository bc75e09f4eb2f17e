"""The network: a 2-2-1 example worked by hand, an independent reference, chunking, dtype, init."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nettrain import network
from nettrain.errors import ModelError
from nettrain.network import Architecture, Params, cost, init_params
from nettrain.sums import backprop

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
    assert cost(arch, params, x, y, lam).as_dict() == pytest.approx(c.as_dict(), rel=1e-15)
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


def test_flat_params_layout_puts_the_bias_inside_the_product():
    fp = network.flat_params((3, 4, 2))
    assert fp.vec.size == 4 * (1 + 3) + 2 * (1 + 4) == Architecture((3, 4, 2)).n_params()
    fp.vec[:] = np.arange(fp.vec.size)
    for l, (s_in, s_out) in {1: (3, 4), 2: (4, 2)}.items():
        th = fp.theta[l]
        assert th.shape == (s_out, 1 + s_in) and np.shares_memory(th, fp.vec)
        np.testing.assert_array_equal(fp.params.b[l], th[:, 0])  # Θ = [b | W]
        np.testing.assert_array_equal(fp.params.W[l], th[:, 1:])
    a = np.random.default_rng(0).normal(size=(3, 5))
    aug = np.vstack([np.ones((1, 5)), a])  # [1; a]
    np.testing.assert_allclose(fp.theta[1] @ aug, fp.params.W[1] @ a + fp.params.b[1][:, None], rtol=1e-13, atol=1e-13)
    p = init_params((3, 4, 2), "normal", np.random.default_rng(1))
    network.copy_params(fp, p)
    for l in p.W:
        np.testing.assert_array_equal(fp.params.W[l], p.W[l])
        np.testing.assert_array_equal(fp.params.b[l], p.b[l])


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("m", [3, 300])  # 300 · s_nl ≥ 2048: the cross-entropy/sigmoid step's other branch
def test_output_step_equals_loss_fn_and_delta(pair, m):
    """The fused step computes f, the summed loss and δ exactly as f, Loss.fn and Loss.delta do (to rounding)."""
    from nettrain.losses import OutputScratch, output_step, target_sums

    loss, out = pair
    rng = np.random.default_rng(6)
    k = 7
    z = rng.normal(0, 3, (k, m))
    y = np.eye(k)[:, rng.integers(0, k, m)] if out == "softmax" else rng.uniform(0, 1, (k, m))
    if out == "softmax" and loss == "cross_entropy":
        y[:, 0] *= 0.5  # one column not summing to 1: the general a·Σy − y
    arch = Architecture((2, k), "sigmoid", out, loss)
    act, L = arch.f_out, arch.loss_fn
    a, delta = np.empty_like(z), np.empty_like(z)
    z_before = z.copy()
    cost = output_step(L, act)(z, a, y, target_sums(y), delta, OutputScratch(k, m, np.float64).view(m))
    np.testing.assert_array_equal(z, z_before)  # z is left as it was
    a_ref = act.f(z.copy())
    d_ref = np.empty_like(z)
    c_ref = L.delta(z, a_ref, y, act, d_ref)
    assert cost == pytest.approx(c_ref, rel=1e-13) == pytest.approx(L.fn(z, a_ref, y, act), rel=1e-13)
    np.testing.assert_allclose(a, a_ref, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(delta, d_ref, rtol=1e-12, atol=1e-15)


def test_float32_is_float32_throughout_with_no_upcast():
    """NumPy 2 keeps Python scalars weak, but a float64 0-d array or numpy scalar would upcast:
    the result must equal the same math done by hand in float32, and stay float32."""
    rng = np.random.default_rng(8)
    arch, p64, x, y = _random_problem(rng, (4, 6, 3), "sigmoid", "softmax", "cross_entropy", 12)
    f32 = np.float32
    p = Params({l: w.astype(f32) for l, w in p64.W.items()}, {l: v.astype(f32) for l, v in p64.b.items()})
    x32, y32 = x.astype(f32), y.astype(f32)
    c, g = backprop(arch, p, x32, y32, np.float64(0.01))
    assert isinstance(c.J, float) and all(v.dtype == f32 for v in g.blocks().values())
    # by hand, float32 all the way (the same operations in the same order)
    z2 = p.W[1] @ x32 + p.b[1][:, None]
    a2 = np.reciprocal(np.exp(-z2) + f32(1))
    z3 = p.W[2] @ a2 + p.b[2][:, None]
    e = np.exp(z3 - z3.max(axis=0))
    a3 = e * np.reciprocal(e.sum(axis=0))
    d3 = a3 - y32
    d2 = (p.W[2].T @ d3) * ((f32(1) - a2) * a2)
    dW1 = (d2 @ x32.T) / f32(12) + p.W[1] * f32(0.01)
    assert z2.dtype == a2.dtype == d2.dtype == dW1.dtype == f32
    np.testing.assert_allclose(g.W[1], dW1, rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(g.b[1], d2.sum(axis=1) / f32(12), rtol=2e-5, atol=1e-7)


class _Columns:
    """A column source as the math core reads one (data.MappedRows.columns() in real runs)."""

    def __init__(self, x):
        self.x, self.shape, self.reads = x, x.shape, 0

    def read(self, start, stop, out):
        self.reads += 1
        np.copyto(out, self.x[:, start:stop], casting="unsafe")
        return out

    def __getitem__(self, key):
        return self.x[key]


@pytest.mark.parametrize("chunk_size", [None, 4])
def test_cost_and_outputs_is_cost_and_predict(chunk_size):
    rng = np.random.default_rng(9)
    arch, params, x, y = _random_problem(rng, (3, 6, 4), "tanh", "softmax", "cross_entropy", 10)
    c, h = network.cost_and_outputs(arch, params, x, y, 0.05, chunk_size)
    assert c == cost(arch, params, x, y, 0.05, chunk_size)
    np.testing.assert_allclose(h, network.predict(arch, params, x), rtol=1e-15)
    c2, h2 = network.cost_and_outputs(arch, params, _Columns(x), y, 0.05, chunk_size)  # a column source
    assert c2 == c and np.array_equal(h2, h)
