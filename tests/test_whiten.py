"""ZCA whitening: the tutorial's equation, decorrelated unit-variance output, and its checkpoint metadata."""

import numpy as np
import pytest

from nettrain.errors import DataError
from nettrain.whiten import ZCA, from_meta


def test_zca_is_the_tutorials_equation_and_whitens():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4)) + 3.0  # correlated columns, non-zero mean
    eps = 1e-9
    zca = ZCA.fit(X, eps)
    mu = X.mean(axis=0)
    sigma = (X - mu).T @ (X - mu) / len(X)
    S, U = np.linalg.eigh(sigma)
    want = (U @ np.diag(1 / np.sqrt(S + eps)) @ U.T @ (X - mu).T).T  # x_ZCA = U diag(1/√(S+ε)) Uᵀ (x − μ)
    got = zca.apply(X)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.T @ got / len(X), np.eye(4), atol=1e-6)  # unit variance, decorrelated
    np.testing.assert_array_equal(zca.matrix, zca.matrix.T)  # symmetric: the result stays in the inputs' axes


def test_epsilon_damps_the_small_directions():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3)) * np.array([10.0, 1.0, 0.01])
    var = ZCA.fit(X, 1.0).apply(X).var(axis=0)
    assert var[0] > 0.98 and var[2] < 1e-3  # S ≫ ε: whitened; S ≪ ε: left small, not blown up


def test_meta_round_trip_is_exact_and_checked():
    rng = np.random.default_rng(2)
    zca = ZCA.fit(rng.normal(size=(50, 3)), 0.1)
    back = from_meta(zca.to_meta(), 3)
    np.testing.assert_array_equal(back.mean, zca.mean)
    np.testing.assert_array_equal(back.matrix, zca.matrix)
    assert back.epsilon == 0.1 and from_meta(None, 3) is None
    with pytest.raises(DataError, match="whitening metadata"):
        from_meta(zca.to_meta(), 4)
    with pytest.raises(DataError, match="whitening metadata"):
        from_meta({**zca.to_meta(), "epsilon": -1}, 3)
