"""ZCA whitening of the inputs, as the UFLDL tutorial's "PCA and whitening" chapter describes it.

With the train split's rows x (after standardisation, when it is on), μ their mean and
Σ = (1/m) Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ = U diag(S) Uᵀ (its eigendecomposition):

    x_ZCA = U diag(1/√(Sₖ + ε)) Uᵀ (x − μ)

Every direction of the data is scaled to (about) unit variance and the result is rotated back to
the inputs' own axes, so that an image stays an image (neighbouring pixels stay neighbours): the
features become decorrelated, edges sharpen. ε keeps the directions of tiny variance — mostly
noise — from being blown up: with ε too small whitening amplifies noise (on JPEG photographs it
amplifies the compression's blocks), with ε too large it barely whitens. The tutorial's advice for
images scaled to [0, 1]: ε of about 0.01–0.1, and look at the result.

Like standardisation, it is fitted on the train split only and stored with the model (checkpoint
metadata, key "whitening"), so that eval and predict treat new rows exactly as the training rows.

Left out on purpose: PCA with dimension reduction (nettrain keeps the input width), reading files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .errors import DataError


@dataclass
class ZCA:
    """A fitted ZCA whitening: x ↦ (x − μ) M for rows x, M = U diag(1/√(S + ε)) Uᵀ (symmetric)."""

    mean: np.ndarray  # μ (n,)
    matrix: np.ndarray  # M (n, n)
    epsilon: float

    @classmethod
    def fit(cls, X: np.ndarray, epsilon: float) -> "ZCA":
        """Fit on rows X (m, n), in float64: Σ = (1/m) Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ, its eigenvectors U, eigenvalues S."""
        X = np.asarray(X, dtype=np.float64)
        mu = X.mean(axis=0)
        Xc = X - mu
        return cls.of_covariance(mu, Xc.T @ Xc / X.shape[0], epsilon)

    @classmethod
    def of_covariance(cls, mu: np.ndarray, sigma: np.ndarray, epsilon: float) -> "ZCA":
        """The whitening of data with mean μ and covariance Σ (n, n): from the rows (fit), or from sums of
        them added up elsewhere (a cluster's partitions: Σ x, then Σ (x − μ)(x − μ)ᵀ)."""
        S, U = np.linalg.eigh(sigma)  # Σ is symmetric: eigh, the eigenvalues ascending
        S = np.maximum(S, 0.0)  # rounding can make a zero eigenvalue slightly negative
        M = (U / np.sqrt(S + float(epsilon))) @ U.T  # U diag(1/√(S + ε)) Uᵀ
        return cls(mu, (M + M.T) / 2, float(epsilon))  # symmetric to the last bit

    def apply(self, X: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """x_ZCA for every row of X (m, n), computed in float64 and returned as dtype."""
        return ((np.asarray(X, dtype=np.float64) - self.mean) @ self.matrix).astype(dtype, copy=False)

    def to_meta(self) -> dict:
        return {"method": "zca", "epsilon": self.epsilon, "mean": [float(v) for v in self.mean],
                "matrix": [[float(v) for v in row] for row in self.matrix]}

    @classmethod
    def from_meta(cls, d: Any, n: int) -> "ZCA":
        """Rebuild from to_meta()'s dict for n inputs; any malformed field is a DataError naming it."""
        where = "whitening metadata"
        if not isinstance(d, dict) or d.get("method") != "zca":
            raise DataError(f"{where}: expected a mapping with method 'zca'")
        try:
            eps = float(d["epsilon"])
            mean = np.asarray(d["mean"], dtype=np.float64)
            matrix = np.asarray(d["matrix"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{where}: epsilon, mean and matrix must be numbers") from None
        if mean.shape != (n,) or matrix.shape != (n, n) or not (np.isfinite(mean).all() and np.isfinite(matrix).all()) \
                or not (math.isfinite(eps) and eps > 0):
            raise DataError(f"{where}: expected a mean of {n} and a {n}×{n} matrix of finite numbers, epsilon > 0")
        return cls(mean, matrix, eps)


def from_meta(d: Optional[dict], n: int) -> Optional[ZCA]:
    """A checkpoint's whitening (None when the run had none)."""
    return None if d is None else ZCA.from_meta(d, n)
