"""The objective: the sparsity penalty as its third term — the cost by hand on a tiny case, ρ̂ against its
definition, the gradient against finite differences and the independent reference, the two-pass
chunked computation against the unchunked one, threads and minibatches, and a run without the
penalty unchanged."""

import math

import numpy as np
import pytest

from nettrain import network, numgrad, train
from nettrain.network import Architecture, Sparsity
from nettrain.sums import Backprop, BatchSums
from nettrain.objective import NAMES, SPARSE_NAMES, Objective, cost_names

from . import reference


def autoencoder(layers=(6, 4, 6), m=9, seed=0, std=0.5):
    rng = np.random.default_rng(seed)
    arch = Architecture(layers, "sigmoid", "sigmoid", "squared_error")
    params = network.init_params(layers, "normal", rng, std=std)
    for v in params.b.values():
        v[:] = rng.normal(0.0, 0.3, size=v.shape)
    x = rng.uniform(0.1, 0.9, size=(layers[0], m))
    y = x.copy() if layers[0] == layers[-1] else rng.uniform(0.1, 0.9, size=(layers[-1], m))
    return arch, params, x, y


def flat(arch, params):
    return network.copy_params(network.flat_params(arch.layers), params)


def test_cost_by_hand_on_a_tiny_case():
    """A [1, 1, 1] network, two examples, W = 0, b⁽¹⁾ = 0: every hidden activation is σ(0) = ½.

    ρ̂ = (½ + ½)/2 = ½; with ρ = 0.1, β = 2:
    KL(0.1‖0.5) = 0.1 log(0.1/0.5) + 0.9 log(0.9/0.5) = 0.1·(−1.6094379) + 0.9·0.5877867 = 0.3680642
    J_sparse = 2 · 0.3680642 = 0.7361284.
    b⁽²⁾ = 0 too: h = σ(0) = ½ for both; y = x = (0, 1): J_data = (½·¼ + ½·¼)/2 = 0.125. λ = 0.
    The extra δ⁽²⁾ term: β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂)) = 2(−0.2 + 1.8) = 3.2, times f′ = ¼: 0.8 for each example.
    """
    arch = Architecture((1, 1, 1), "sigmoid", "sigmoid", "squared_error")
    params = network.Params({1: np.zeros((1, 1)), 2: np.zeros((1, 1))}, {1: np.zeros(1), 2: np.zeros(1)})
    x = np.array([[0.0, 1.0]])
    obj = Objective(Backprop(arch, x, x.copy(), 0.0), 0.0, Sparsity(0.1, 2.0))
    c, g = obj(flat(arch, params))
    kl = 0.1 * math.log(0.1 / 0.5) + 0.9 * math.log(0.9 / 0.5)
    assert kl == pytest.approx(0.3680642, abs=1e-7)
    assert c.parts["sparse_cost"] == pytest.approx(2 * kl, rel=1e-15)
    assert c.J_data == pytest.approx(0.125, rel=1e-15)
    assert c.J == c.J_data + c.J_reg + c.parts["sparse_cost"]
    assert list(c.parts) == ["data_cost", "reg_cost", "sparse_cost"]
    # ∂J/∂b⁽¹⁾ = (1/m) Σᵢ δ⁽²⁾: δ⁽²⁾ = (W⁽²⁾δ⁽³⁾ + 3.2)·¼ = (0 + 3.2)·¼ = 0.8 (W⁽²⁾ = 0)
    grads = network.flat_params(arch.layers)
    grads.vec[:] = g
    assert grads.params.b[1][0] == pytest.approx(0.8, rel=1e-15)
    # ∂J/∂W⁽¹⁾ = (1/m) Σᵢ δ⁽²⁾xᵢ = (0.8·0 + 0.8·1)/2 = 0.4
    assert grads.params.W[1][0, 0] == pytest.approx(0.4, rel=1e-15)


def test_rho_hat_is_the_mean_hidden_activation():
    arch, params, x, y = autoencoder((5, 4, 3, 5), m=11)
    obj = Objective(Backprop(arch, x, y, 0.0, width=4), 0.0, Sparsity(0.05, 3.0))
    rho_hat = obj.rho_hat(flat(arch, params))
    _, a = network.forward(arch, params, x)
    assert sorted(rho_hat) == [2, 3]  # every hidden layer, never the input or the output
    for l in (2, 3):
        np.testing.assert_allclose(rho_hat[l], a[l].mean(axis=1), rtol=1e-14)
        np.testing.assert_allclose(rho_hat[l], [sum(a[l][j, i] for i in range(11)) / 11 for j in range(a[l].shape[0])],
                                   rtol=1e-14)


@pytest.mark.parametrize("layers", [(4, 3, 4), (6, 5, 6), (5, 4, 3, 5), (3, 7, 2)])
@pytest.mark.parametrize("rho,beta", [(0.01, 3.0), (0.1, 0.5), (0.3, 10.0)])
def test_sparse_gradient_against_finite_differences(layers, rho, beta):
    arch, params, x, y = autoencoder(layers, m=6, seed=len(layers) + int(100 * rho))
    obj = Objective(Backprop(arch, x, y, 0.0), 1e-3, Sparsity(rho, beta))
    theta = flat(arch, params)
    _, g = obj(theta)
    g_num = numgrad.numerical_gradient(lambda v: obj.at(v)[0].J, theta.vec.copy())
    assert numgrad.relative_difference(g_num, g) < 1e-9


@pytest.mark.parametrize("layers", [(4, 3, 4), (5, 4, 3, 5)])
def test_sparse_cost_and_gradient_equal_the_independent_reference(layers):
    arch, params, x, y = autoencoder(layers, m=5, seed=3)
    lam, rho, beta = 0.01, 0.2, 3.0
    c, g = Objective(Backprop(arch, x, y, 0.0), lam, Sparsity(rho, beta))(flat(arch, params))
    W = {l: w.tolist() for l, w in params.W.items()}
    b = {l: v.tolist() for l, v in params.b.items()}
    J, J_data, J_reg, J_sparse, rho_hat, dW, db = reference.sparse_cost_and_grad(
        layers, "sigmoid", "sigmoid", "squared_error", W, b, x.T.tolist(), y.T.tolist(), lam, rho, beta)
    assert c.J == pytest.approx(J, rel=1e-13)
    assert c.parts["sparse_cost"] == pytest.approx(J_sparse, rel=1e-13)
    assert c.J_data == pytest.approx(J_data, rel=1e-13) and c.J_reg == pytest.approx(J_reg, rel=1e-13)
    grads = network.flat_params(arch.layers)
    grads.vec[:] = g
    for l in params.W:
        np.testing.assert_allclose(grads.params.W[l], dW[l], rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(grads.params.b[l], db[l], rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("width", [1, 4, 7, 50])
def test_chunked_two_pass_equals_unchunked(width):
    arch, params, x, y = autoencoder((6, 5, 4, 6), m=23, seed=7)
    sp = Sparsity(0.05, 3.0)
    theta = flat(arch, params)
    c1, g1 = Objective(Backprop(arch, x, y, 0.0), 1e-4, sp)(theta)
    cw, gw = Objective(Backprop(arch, x, y, 0.0, width=width), 1e-4, sp)(theta)
    for k in c1.parts:
        assert cw.parts[k] == pytest.approx(c1.parts[k], rel=1e-13)
    np.testing.assert_allclose(gw, g1, rtol=1e-11, atol=1e-15)


class _SerialPool:
    """A Pool stand-in that runs the jobs one after the other in reverse order (order must not matter)."""

    size = 3

    def run(self, fn, args):
        return list(reversed([fn(*a) for a in reversed(args)]))


def test_threads_change_no_bit_of_the_sparse_objective():
    from nettrain.parallel import Pool

    arch, params, x, y = autoencoder((6, 5, 6), m=40, seed=9)
    sp, theta = Sparsity(0.05, 3.0), flat(arch, params)
    c1, g1 = Objective(Backprop(arch, x, y, 0.0, np.float64, 7), 1e-4, sp)(theta)
    with Pool(2) as pool:
        for p in (pool, _SerialPool()):
            c, g = Objective(Backprop(arch, x, y, 0.0, np.float64, 7, p), 1e-4, sp)(theta)
            assert c == c1
            np.testing.assert_array_equal(g, g1)


def test_minibatch_rho_hat_is_the_batch_mean():
    """Over a minibatch, ρ̂ is the batch's own mean activation: the batch objective equals the full-batch
    objective on those rows alone."""
    arch, params, x, y = autoencoder((6, 4, 6), m=20, seed=2)
    sp, theta = Sparsity(0.1, 3.0), flat(arch, params)
    rows = np.array([3, 0, 17, 9, 11])
    batch = Objective(BatchSums(arch, x.T, y, 5), 1e-3, sp)
    batch.source.select(rows)
    cb, gb = batch(theta)
    cf, gf = Objective(Backprop(arch, x[:, rows], y[:, rows], 0.0), 1e-3, sp)(theta)
    for k in cf.parts:
        assert cb.parts[k] == pytest.approx(cf.parts[k], rel=1e-13)
    np.testing.assert_allclose(gb, gf, rtol=1e-12, atol=1e-15)


def test_forward_only_cost_has_the_same_bits():
    arch, params, x, y = autoencoder((6, 4, 6), m=30, seed=4)
    obj = Objective(Backprop(arch, x, y, 0.0, width=8), 1e-3, Sparsity(0.05, 3.0))
    theta = flat(arch, params)
    assert obj.cost(theta) == obj(theta)[0]


def test_names_follow_the_penalty():
    arch, params, x, y = autoencoder()
    assert Objective(Backprop(arch, x, y, 0.0), 0.0).names == NAMES == cost_names(None) == ("data_cost", "reg_cost")
    assert Objective(Backprop(arch, x, y, 0.0), 0.0, Sparsity(0.1, 1.0)).names == SPARSE_NAMES == cost_names((0.1, 1))
    assert SPARSE_NAMES == ("data_cost", "reg_cost", "sparse_cost")


def test_without_the_penalty_nothing_changes():
    """No sparsity: the objective makes one call on its source (no activation pass) and the same bits as
    before; β = 0 gives the same J_data, J_reg and gradient with sparse_cost 0."""
    arch, params, x, y = autoencoder((6, 5, 6), m=12)
    theta = flat(arch, params)
    bp = Backprop(arch, x, y, 0.0)
    calls = []
    bp.activation_sums = lambda p: calls.append(p)
    c0, g0 = Objective(bp, 1e-3)(theta)
    assert calls == [] and list(c0.parts) == ["data_cost", "reg_cost"]
    c1, g1 = Objective(Backprop(arch, x, y, 0.0), 1e-3, Sparsity(0.1, 0.0))(theta)
    assert (c1.J_data, c1.J_reg, c1.parts["sparse_cost"]) == (c0.J_data, c0.J_reg, 0.0)
    np.testing.assert_array_equal(g1, g0)


def test_resume_with_sparsity_is_bit_identical():
    """Training with the penalty, stopped at epoch 4 and started again from θ_4: the same θ_12 bit for bit."""
    arch, params, x, y = autoencoder((6, 4, 6), m=15, seed=1)
    sp = Sparsity(0.05, 3.0)
    whole = train.minimize(arch, params, x, y, lam=1e-3, epochs=12, learning_rate=0.5, sparsity=sp)
    half = train.minimize(arch, params, x, y, lam=1e-3, epochs=4, learning_rate=0.5, sparsity=sp)
    rest = train.minimize(arch, half.params, x, y, lam=1e-3, epochs=12, start_epoch=4, learning_rate=0.5,
                          sparsity=sp)
    assert rest.cost == whole.cost and list(whole.cost.parts) == list(SPARSE_NAMES)
    for l in params.W:
        np.testing.assert_array_equal(rest.params.W[l], whole.params.W[l])
        np.testing.assert_array_equal(rest.params.b[l], whole.params.b[l])
