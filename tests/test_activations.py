"""f and f′ of every activation: values, derivatives against finite differences, saturation."""

import warnings

import numpy as np
import pytest

from nettrain.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, log_softmax, sigmoid, softmax

Z = np.linspace(-6, 6, 49).reshape(7, 7) + 0.0123  # avoids the ReLU kink at exactly 0


@pytest.mark.parametrize("name", HIDDEN_ACTIVATIONS)
def test_fprime_matches_central_difference(name):
    act = ACTIVATIONS[name]
    eps = 1e-6
    numeric = (act.f(Z + eps) - act.f(Z - eps)) / (2 * eps)
    analytic = act.fprime(Z, act.f(Z.copy()))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", HIDDEN_ACTIVATIONS)
def test_out_argument_writes_in_place_and_matches(name):
    act = ACTIVATIONS[name]
    a = act.f(Z.copy())
    buf = np.empty_like(Z)
    got = act.f(Z, out=buf)
    assert got is buf
    np.testing.assert_array_equal(got, a)
    fp = np.empty_like(Z)
    assert act.fprime(Z, a, out=fp) is fp
    np.testing.assert_array_equal(fp, act.fprime(Z, a))


def test_literal_values():
    # σ(0) = 1/2, σ(ln 3) = 3/4; σ′(0) = 1/4; tanh′(0) = 1; relu(−2) = 0
    np.testing.assert_allclose(sigmoid(np.array([0.0, np.log(3.0)])), [0.5, 0.75], rtol=1e-15)
    assert ACTIVATIONS["sigmoid"].fprime(np.zeros(1), np.array([0.5]))[0] == 0.25
    assert ACTIVATIONS["tanh"].fprime(np.zeros(1), np.zeros(1))[0] == 1.0
    assert ACTIVATIONS["relu"].f(np.array([-2.0, 3.0])).tolist() == [0.0, 3.0]
    assert ACTIVATIONS["relu"].fprime(np.array([-2.0, 0.0, 3.0]), None).tolist() == [0.0, 0.0, 1.0]


def test_softmax_columns_sum_to_one_and_jacobian():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4, 3))
    a = softmax(z)
    np.testing.assert_allclose(a.sum(axis=0), 1.0, rtol=1e-15)
    # ∂aⱼ/∂zᵢ = aⱼ(δᵢⱼ − aᵢ), checked by central differences for column 0
    eps = 1e-6
    for i in range(4):
        dz = np.zeros_like(z)
        dz[i, 0] = eps
        numeric = (softmax(z + dz)[:, 0] - softmax(z - dz)[:, 0]) / (2 * eps)
        exact = a[:, 0] * ((np.arange(4) == i) - a[i, 0])
        np.testing.assert_allclose(numeric, exact, atol=1e-9)
    np.testing.assert_allclose(log_softmax(z), np.log(a), rtol=1e-13)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_saturation_at_1000_is_finite_and_silent(name):
    z = np.array([[-1000.0, 1000.0], [0.0, -1000.0], [1000.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is exact rounding
            a = ACTIVATIONS[name].f(z.copy())
            assert np.all(np.isfinite(a))
            if ACTIVATIONS[name].fprime is not None:
                assert np.all(np.isfinite(ACTIVATIONS[name].fprime(z, a)))
            if name == "softmax":
                assert np.all(np.isfinite(log_softmax(z)))
    if name == "sigmoid":
        assert a[0, 0] == 0.0 and a[0, 1] == 1.0
