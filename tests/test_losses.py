"""J_data and the output δ of each loss/output pair: literal costs, δ against finite differences."""

import warnings

import numpy as np
import pytest

from nettrain.activations import ACTIVATIONS
from nettrain.errors import ModelError
from nettrain.losses import (LOSSES, OutputScratch, cross_entropy, get_loss, output_step, reference_step,
                             squared_error, target_sums)

PAIRS = [(loss, out) for loss, spec in LOSSES.items() for out in spec.outputs]


def _targets(out, rng, shape):
    if out == "softmax":
        return np.eye(shape[0])[:, rng.integers(0, shape[0], shape[1])]
    if out in ("sigmoid",):
        return rng.uniform(0, 1, shape)
    return rng.normal(size=shape)


def test_squared_error_literal():
    # two examples (columns): ½[(0.5−1)² + (0.2−0)²] + ½[(−1−0)² + (2−2)²] = ½(0.25+0.04) + ½(1) = 0.645
    a = np.array([[0.5, -1.0], [0.2, 2.0]])
    y = np.array([[1.0, 0.0], [0.0, 2.0]])
    assert squared_error(a, a, y) == pytest.approx(0.645, rel=1e-15)


def test_cross_entropy_literal():
    # softmax of z = (0, ln 3) is (1/4, 3/4); y = (0, 1): −log(3/4) = 0.2876820724517809
    z = np.array([[0.0], [np.log(3.0)]])
    sm = ACTIVATIONS["softmax"]
    assert cross_entropy(z, sm.f(z.copy()), np.array([[0.0], [1.0]]), sm) == pytest.approx(-np.log(0.75), rel=1e-14)
    # sigmoid at z = 0 with y = 1: −log(½) = ln 2
    sg = ACTIVATIONS["sigmoid"]
    z0 = np.zeros((1, 1))
    assert cross_entropy(z0, sg.f(z0.copy()), np.ones((1, 1)), sg) == pytest.approx(np.log(2.0), rel=1e-15)


@pytest.mark.parametrize("loss,out", PAIRS)
def test_delta_is_derivative_of_cost_wrt_z(loss, out):
    """δ⁽ⁿˡ⁾ᵢ = ∂(Σ cost)/∂zᵢ, by central differences over every entry of z."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(3, 4))
    y = _targets(out, rng, z.shape)
    act, L = ACTIVATIONS[out], LOSSES[loss]

    def total(zz):
        return L.fn(zz, act.f(zz.copy()), y, act)

    delta = np.empty_like(z)
    c = L.delta(z, act.f(z.copy()), y, act, delta)
    assert c == pytest.approx(total(z), rel=1e-14)
    eps = 1e-6
    num = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        dz = np.zeros_like(z)
        dz[idx] = eps
        num[idx] = (total(z + dz) - total(z - dz)) / (2 * eps)
    np.testing.assert_allclose(delta, num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("out", ["softmax", "sigmoid"])
def test_cross_entropy_finite_when_prediction_saturates(out):
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    y = np.array([[0.0, 0.0], [1.0, 1.0]])  # first column: confident and wrong
    act = ACTIVATIONS[out]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act.f(z.copy())
        delta = np.empty_like(z)
        c = LOSSES["cross_entropy"].delta(z, a, y, act, delta)
    assert np.isfinite(c) and np.all(np.isfinite(delta))
    # the wrong column costs ≈ 2000 (softmax: z₀ − z₁) or 1000 + 1000 (sigmoid: two wrong units)
    assert c == pytest.approx(2000.0, rel=1e-12)


def test_cross_entropy_refused_with_identity_output():
    with pytest.raises(ModelError, match="cross_entropy needs model.output_activation sigmoid or softmax"):
        get_loss("cross_entropy", "identity")
    with pytest.raises(ModelError, match="loss must be one of"):
        get_loss("hinge", "sigmoid")


@pytest.mark.parametrize("loss,out", PAIRS)
def test_the_reference_step_is_the_fused_step_to_rounding(loss, out):
    """reference_step (f, then the loss's delta: what a loss without a fused kernel trains with) against the
    loss's own fused step: the same a, δ and Σ loss."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(3, 6))
    y = _targets(out, rng, z.shape)
    act, L = ACTIVATIONS[out], LOSSES[loss]
    got = {}
    for name, step in (("reference", reference_step(L, act)), ("fused", output_step(L, act))):
        a, delta = np.empty_like(z), np.empty_like(z)
        cost = step(z.copy(), a, y, target_sums(y), delta, OutputScratch(3, 6, np.float64).view(6))
        got[name] = (cost, a, delta)
    assert got["reference"][0] == pytest.approx(got["fused"][0], rel=1e-13)
    np.testing.assert_allclose(got["reference"][1], got["fused"][1], rtol=1e-14)
    np.testing.assert_allclose(got["reference"][2], got["fused"][2], rtol=1e-12, atol=1e-15)
    assert L.fused is not None  # the shipped losses train by their own fused kernels
