"""ZCA and PCA whitening of the inputs, as the UFLDL tutorial's "PCA and whitening" chapter describes them.

With the train split's rows x (after standardisation, when it is on), μ their mean and
Σ = (1/m) Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ = U diag(S) Uᵀ (its eigendecomposition):

    x_ZCA = U diag(1/√(Sₖ + ε)) Uᵀ (x − μ)

Every direction of the data is scaled to (about) unit variance and the result is rotated back to
the inputs' own axes, so that an image stays an image (neighbouring pixels stay neighbours): the
features become decorrelated, edges sharpen. ε keeps the directions of tiny variance — mostly
noise — from being blown up: with ε too small whitening amplifies noise (on JPEG photographs it
amplifies the compression's blocks), with ε too large it barely whitens. The tutorial's advice for
images scaled to [0, 1]: ε of about 0.01–0.1, and look at the result.

PCA whitening keeps only the first k directions, by descending eigenvalue λ₁ ≥ λ₂ ≥ … ≥ λₙ (S sorted),
and does not rotate back:

    x_PCAwhite = diag(1/√(λᵢ + ε)) U_kᵀ (x − μ)          k values, not n: the network's input width is k

k is given (components), or the smallest k whose eigenvalues hold a fraction `retain` of the variance:
Σ_{j≤k} λⱼ / Σⱼ λⱼ ≥ retain (the tutorial's 99 %): the directions left out are those of least variance.
Each eigenvector's sign is fixed (its largest entry positive), so that the same data give the same
features whichever way the eigensolver returns them. With k = n and the same ε, x_ZCA = U x_PCAwhite.

Like standardisation, both are fitted on the train split only and stored with the model (checkpoint
metadata, key "whitening", method "zca" or "pca"), so that eval and predict treat new rows exactly as
the training rows.

Left out on purpose: reading files, choosing ε (the config's), PCA without whitening (x_rot = U_kᵀ(x − μ)).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np

from .errors import ConfigError, DataError

WHERE = "whitening metadata"
RETAIN_ROUNDING = 1e-12  # Σ_{j≤k} λⱼ / Σⱼ λⱼ this far below retain still retains it (the eigenvalues' own rounding)


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


@dataclass
class PCA:
    """A fitted PCA whitening of n inputs to k: x ↦ diag(1/√(λ_k + ε)) U_kᵀ (x − μ); for rows, (x − μ) U_k / √(λ_k + ε)."""

    mean: np.ndarray  # μ (n,)
    basis: np.ndarray  # U_k (n, k): Σ's first k eigenvectors, as columns, by descending eigenvalue
    eigenvalues: np.ndarray  # λ (n,): all of Σ's eigenvalues, descending (the retained-variance curve)
    epsilon: float

    @classmethod
    def fit(cls, X: np.ndarray, *, retain: Optional[float] = None, components: Optional[int] = None,
            epsilon: float) -> "PCA":
        """Fit on rows X (m, n), in float64: μ, Σ = (1/m) Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ = U diag(λ) Uᵀ; k from retain or components."""
        X = np.asarray(X, dtype=np.float64)
        mu = X.mean(axis=0)
        Xc = X - mu
        return cls.of_covariance(mu, Xc.T @ Xc / X.shape[0], retain=retain, components=components, epsilon=epsilon)

    @classmethod
    def of_covariance(cls, mu: np.ndarray, sigma: np.ndarray, *, retain: Optional[float] = None,
                      components: Optional[int] = None, epsilon: float) -> "PCA":
        """The PCA whitening of data with mean μ (n,) and covariance Σ (n, n), from the rows (fit) or from sums
        of them added up elsewhere (a cluster's partitions), as ZCA.of_covariance. Exactly one of retain, a
        fraction in (0, 1], and components, a k in 1 … n, chooses k."""
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not 0 < epsilon < math.inf:
            raise ConfigError(f"PCA whitening: epsilon must be a number > 0, e.g. 0.1 (got {epsilon!r})")
        S, U = np.linalg.eigh(sigma)  # ascending
        lam = np.maximum(S[::-1], 0.0)  # λ₁ ≥ … ≥ λₙ; rounding can make a zero eigenvalue slightly negative
        U = U[:, ::-1]
        k = _width(lam, retain, components)
        Uk = U[:, :k] * np.where(_largest_is_negative(U[:, :k]), -1.0, 1.0)  # a fixed sign per eigenvector
        return cls(np.asarray(mu, dtype=np.float64), np.ascontiguousarray(Uk), lam, float(epsilon))

    @property
    def width(self) -> int:
        """k: the inputs the network sees after whitening."""
        return int(self.basis.shape[1])

    @property
    def matrix(self) -> np.ndarray:
        """M (n, k) = U_k diag(1/√(λ_k + ε)): x_PCAwhite = (x − μ) M for rows, as ZCA's M (what export_onnx and
        the drawn filters W⁽¹⁾Mᵀ take; apply() divides after the rotation, the same numbers to rounding)."""
        return self.basis / np.sqrt(self.eigenvalues[: self.width] + self.epsilon)

    @property
    def retained_variance(self) -> np.ndarray:
        """(n,): entry k − 1 is Σ_{j≤k} λⱼ / Σⱼ λⱼ, the fraction of the variance the first k components keep."""
        return _retained(self.eigenvalues)

    def apply(self, X: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        """x_PCAwhite for every row of X (m, n): (m, k), computed in float64 and returned as dtype."""
        Xr = (np.asarray(X, dtype=np.float64) - self.mean) @ self.basis  # x_rot = U_kᵀ (x − μ), per row
        return (Xr / np.sqrt(self.eigenvalues[: self.width] + self.epsilon)).astype(dtype, copy=False)

    def to_meta(self) -> dict:
        return {"method": "pca", "epsilon": self.epsilon, "mean": [float(v) for v in self.mean],
                "eigenvalues": [float(v) for v in self.eigenvalues],
                "basis": [[float(v) for v in row] for row in self.basis]}

    @classmethod
    def from_meta(cls, d: Any, n: int) -> "PCA":
        """Rebuild from to_meta()'s dict for n inputs; any malformed field is a DataError naming it."""
        if not isinstance(d, dict) or d.get("method") != "pca":
            raise DataError(f"{WHERE}: expected a mapping with method 'pca'")
        eps = d.get("epsilon")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (math.isfinite(eps) and eps > 0):
            raise DataError(f"{WHERE}: epsilon must be a number > 0 (got {repr(eps)[:40]})")
        mean = _finite(d, "mean", 1)
        lam = _finite(d, "eigenvalues", 1)
        basis = _finite(d, "basis", 2)
        k = basis.shape[1]
        if mean.shape != (n,) or lam.shape != (n,) or basis.shape[0] != n or not 1 <= k <= n:
            raise DataError(f"{WHERE}: expected a mean and eigenvalues of {n} and a basis of {n}×k, 1 ≤ k ≤ {n} "
                            f"(got {mean.shape}, {lam.shape}, {basis.shape})")
        if (lam < 0).any() or (np.diff(lam) > 0).any():
            raise DataError(f"{WHERE}: the eigenvalues must be ≥ 0 and in descending order")
        if np.abs(basis.T @ basis - np.eye(k)).max() > 1e-6:  # UᵀU = I: a damaged basis would whiten nothing
            raise DataError(f"{WHERE}: the basis's columns are not orthonormal (UᵀU ≠ I): the metadata is damaged")
        return cls(mean, basis, lam, float(eps))


Whitening = Union[ZCA, PCA]


def of_covariance(mu: np.ndarray, sigma: np.ndarray, *, method: str, epsilon: float, retain: Optional[float] = None,
                  components: Optional[int] = None) -> Whitening:
    """data.whiten's whitening of data with mean μ (n,) and covariance Σ (n, n): ZCA, or PCA keeping k directions."""
    if method == "pca":
        return PCA.of_covariance(mu, sigma, retain=retain, components=components, epsilon=epsilon)
    return ZCA.of_covariance(mu, sigma, epsilon)


def from_meta(d: Optional[dict], n: int) -> Optional[Whitening]:
    """A checkpoint's whitening, ZCA or PCA by its method (None when the run had none)."""
    if d is None:
        return None
    method = d.get("method") if isinstance(d, dict) else None
    if method == "pca":
        return PCA.from_meta(d, n)
    if method == "zca":
        return ZCA.from_meta(d, n)
    raise DataError(f"{WHERE}: expected a mapping with method 'zca' or 'pca'")


def _retained(lam: np.ndarray) -> np.ndarray:
    """Σ_{j≤k} λⱼ / Σⱼ λⱼ for k = 1 … n, the last exactly 1 (λ descending, ≥ 0); all 1 when every λ is 0."""
    total = float(lam.sum())
    if not total > 0:
        return np.ones_like(lam)
    frac = np.cumsum(lam) / total
    frac[-1] = 1.0  # the sum of all of them, whatever the rounding of the cumulative sum
    return np.minimum(frac, 1.0)


def _width(lam: np.ndarray, retain: Optional[float], components: Optional[int]) -> int:
    """k: components as given, or the smallest k with Σ_{j≤k} λⱼ / Σⱼ λⱼ ≥ retain."""
    n = lam.shape[0]
    if (retain is None) == (components is None):
        raise ConfigError("PCA whitening: give exactly one of retain (a fraction of the variance) and components (k)")
    if components is not None:
        if isinstance(components, bool) or not isinstance(components, numbers.Integral) or not 1 <= components <= n:
            raise ConfigError(f"PCA whitening: components must be a whole number from 1 to the {n} inputs "
                              f"(got {components!r})")
        return int(components)
    if isinstance(retain, bool) or not isinstance(retain, numbers.Real) or not 0 < retain <= 1:
        raise ConfigError(f"PCA whitening: retain must be a fraction of the variance in (0, 1], e.g. 0.99 "
                          f"(got {retain!r})")
    if not lam.sum() > 0:
        raise DataError("PCA whitening: the inputs have no variance (every train row the same): nothing to keep")
    # the first k whose fraction ≥ retain, up to rounding: a fraction short of it by 10⁻¹² is taken as reaching it
    return int(np.searchsorted(_retained(lam), retain - RETAIN_ROUNDING, side="left")) + 1


def _largest_is_negative(U: np.ndarray) -> np.ndarray:
    """Per column of U, whether its entry of largest |value| (the first such) is negative."""
    return U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])] < 0


def _finite(d: dict, key: str, ndim: int) -> np.ndarray:
    """d[key] as a float64 array of ndim dimensions: numbers only (no strings, booleans or nulls), all finite."""
    try:
        a = np.asarray(d[key])
    except KeyError:
        raise DataError(f"{WHERE}: the key {key!r} is missing") from None
    except (TypeError, ValueError, OverflowError, RecursionError):  # ragged lists, nesting deeper than numpy takes
        raise DataError(f"{WHERE}: {key} must be a {ndim}-D array of numbers") from None
    if a.dtype.kind not in "iuf" or a.ndim != ndim or a.size == 0:
        what = {"U": "text", "b": "true/false", "O": "nulls, mappings or mixed values"}.get(a.dtype.kind, "numbers")
        raise DataError(f"{WHERE}: {key} must be a {ndim}-D array of numbers (got {what}, {a.ndim}-D, {a.size} values)")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise DataError(f"{WHERE}: {key} holds a NaN or an infinity")
    return a
