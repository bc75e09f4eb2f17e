"""The UFLDL exercises' pictures of a trained run: its first layer's filters as grey or colour image tiles, as they
act on the inputs before whitening, and the "PCA and whitening" exercise's figure.

    input_filters(trained)      W⁽¹⁾ on the inputs as scaled (or standardised), before whitening: W⁽¹⁾Mᵀ with the
                                run's whitening x_w = (x − μ)M (ZCA: M symmetric, W⁽¹⁾M, as the tutorial draws its
                                linear decoder's filters; PCA: M = U_k diag(1/√(λ + ε)), k columns)
    colour_grid(W)              rows of W (s_2, 3s²) as s×s colour tiles: the R, G and B planes one after another
    plot_filters(trained, out)  `nettrain plot RUN --weights`: grey tiles (s_1 = s²) or colour tiles (s_1 = 3s²)
    plot_whitening(trained, …)  `nettrain plot RUN --whitening`: the retained variance against k, patches of the
                                train split, their PCA reduction to the k that keeps 99 %, the eigenvalues and ε,
                                the covariance of the PCA-whitened rows, and the ZCA-whitened patches

Left out on purpose: training; the cost curves and grey filter grid (plot.py, whose functions these use).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import numpy as np

from . import data as data_mod
from . import plot
from . import whiten as whiten_mod
from .errors import RunIOError
from .problem import read_data

PATCHES = 36  # patches shown in the whitening figure
RETAIN = 0.99  # the tutorial's fraction of the variance for the PCA reduction shown


def input_filters(trained: Any) -> np.ndarray:
    """W⁽¹⁾ as it acts on the inputs before whitening, (s_2, n): z⁽²⁾ = W⁽¹⁾M ᵀ(x − μ) + b⁽¹⁾ for rows x_w = (x − μ)M."""
    W = np.asarray(trained.params.W[1], dtype=np.float64)
    return W if trained.zca is None else W @ np.asarray(trained.zca.matrix, dtype=np.float64).T


def _side(n: int, channels: int) -> Optional[int]:
    """s when n = channels·s², else None."""
    if n % channels:
        return None
    s = math.isqrt(n // channels)
    return s if s * s * channels == n else None


def colour_grid(W: np.ndarray, pad: int = 1) -> np.ndarray:
    """W (s_2, 3s²) as one RGB image (h, w, 3) in [0, 1]: row j as an s×s tile whose planes are W[j]'s three
    blocks of s² (R, G, B, each row by row), ⌈√s_2⌉ tiles a row, black between them. W's overall mean removed,
    each tile divided by its own largest |value| (across its three planes, so that its colours keep their
    balance) and mapped from [−1, 1] to [0, 1]: mid-grey is 0."""
    W = np.asarray(W, dtype=np.float64)
    units, n = W.shape
    side = _side(n, 3)
    if side is None:
        raise RunIOError(f"the network has {n} inputs, not a colour image (3 planes of s×s: 8×8×3 = 192)")
    cols = math.ceil(math.sqrt(units))
    rows = math.ceil(units / cols)
    grid = np.zeros((pad + rows * (side + pad), pad + cols * (side + pad), 3))
    W = W - W.mean()
    for j in range(units):
        r, c = divmod(j, cols)
        top, left = pad + r * (side + pad), pad + c * (side + pad)
        scale = float(np.max(np.abs(W[j]))) or 1.0
        tile = W[j].reshape(3, side, side).transpose(1, 2, 0) / scale  # planes → (s, s, RGB)
        grid[top : top + side, left : left + side] = (tile + 1.0) / 2.0
    return grid


def filters_figure(trained: Any, title: Optional[str] = None, pixels: Optional[int] = None) -> Any:
    """The figure of input_filters(trained): grey tiles for a square image, colour tiles for 3 planes."""
    W = input_filters(trained)
    if _side(W.shape[1], 1) is not None or _side(W.shape[1], 3) is None:
        return plot.weights_figure(W, title, pixels)  # grey (or plot's own message for an input that is no image)
    grid = colour_grid(W)
    h, w, _ = grid.shape
    pixels = pixels or max(1, min(16, plot.MAX_WIDTH // w))
    Figure, FigureCanvasAgg = plot._matplotlib()
    fig = Figure(figsize=(w * pixels / 100, h * pixels / 100 + (0.35 if title else 0)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, h / (h + (35 / pixels if title else 0))))
    ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(plot.plain_text(title), fontsize="small", y=0.995)
    return fig


def plot_filters(trained: Any, out: Path, title: Optional[str] = None) -> Path:
    """filters_figure written to out (.png or .svg)."""
    return plot.save_figure(filters_figure(trained, title), out)


def filters_title(trained: Any) -> str:
    """plot.weights_title, saying when the tiles are W⁽¹⁾M (a whitened run's filters on its inputs)."""
    title = plot.weights_title(trained.path, trained.meta.get("epoch"), trained.arch.layers)
    if trained.zca is None:
        return title
    return title.replace("W⁽¹⁾ of", "W⁽¹⁾M of", 1) + f" ({type(trained.zca).__name__} whitening M: on the inputs)"


# ----------------------------------------------------------------------------- the PCA exercise


def train_rows(trained: Any) -> np.ndarray:
    """The run's train split as the whitening saw it: its rows scaled or standardised (m, n), float64."""
    cfg = trained.cfg
    table = read_data(cfg, cfg.data.path, transform=trained.transform)
    s = cfg.data.split
    rows = data_mod.split_indices(len(table.X), s.train, s.val, s.test, cfg.seed)["train"]
    return trained.prep.transform_x(np.asarray(table.X[rows]), np.float64)


def plot_whitening(trained: Any, out: Path) -> Path:
    """The PCA exercise's six panels for a run with data.whiten (its ε; k for 99 % of the variance), from its
    train split: what the tutorial's pca_gen shows and checks."""
    w = trained.zca
    if w is None:
        raise RunIOError(f"{trained.path}: the run has no data.whiten: there is no whitening to draw")
    X = train_rows(trained)
    pca = whiten_mod.PCA.fit(X, retain=RETAIN, epsilon=w.epsilon)
    zca = whiten_mod.ZCA.fit(X, w.epsilon)
    shown = X[np.random.default_rng(0).choice(len(X), size=min(PATCHES, len(X)), replace=False)]
    Figure, FigureCanvasAgg = plot._matplotlib()
    fig = Figure(figsize=(13, 8.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots(2, 3)
    _retained(ax[0, 0], pca)
    _tiles(ax[0, 1], shown, "patches of the train split (each scaled to its own range)")
    recovered = (shown - pca.mean) @ pca.basis @ pca.basis.T + pca.mean  # x̂ = U_k U_kᵀ (x − μ) + μ
    _tiles(ax[0, 2], recovered, f"reduced to k = {pca.width} of {X.shape[1]} dimensions and recovered")
    _eigenvalues(ax[1, 0], pca)
    white = pca.apply(X)
    cov = white.T @ white / len(white)
    off = float(np.abs(cov - np.diag(np.diag(cov))).max())
    ax[1, 1].imshow(cov, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax[1, 1].set_title(f"covariance of x_PCAwhite (k = {pca.width}): diagonal λᵢ/(λᵢ + ε), largest off-diagonal "
                       f"{off:.0e}", fontsize="small", wrap=True)
    _tiles(ax[1, 2], zca.apply(shown), f"ZCA-whitened (ε = {w.epsilon:g})")
    fig.suptitle(plot.plain_text(f"PCA and whitening of {Path(trained.cfg.data.path).name} ({len(X)} train rows, "
                                 f"ε = {w.epsilon:g})"), fontsize="medium")
    fig.tight_layout()
    return plot.save_figure(fig, out)


def _tiles(ax: Any, rows: np.ndarray, title: str) -> None:
    ax.imshow(plot.filter_grid(rows), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize="small")


def _retained(ax: Any, pca: whiten_mod.PCA) -> None:
    frac = pca.retained_variance
    k = np.arange(1, len(frac) + 1)
    ax.plot(k, frac, color="C0")
    for level in (0.9, RETAIN):
        kk = int(np.searchsorted(frac, level - whiten_mod.RETAIN_ROUNDING)) + 1
        ax.axvline(kk, color="0.6", lw=0.8, ls="--")
        ax.annotate(f"{level:.0%}: k = {kk}", (kk, level), textcoords="offset points", xytext=(-4, 6),
                    fontsize="small", ha="right")
    ax.set_xlabel("k, the principal components kept")
    ax.set_ylabel("fraction of the variance retained")
    ax.set_title("Σ_{j≤k} λⱼ / Σⱼ λⱼ", fontsize="small")
    ax.grid(alpha=0.3)


def _eigenvalues(ax: Any, pca: whiten_mod.PCA) -> None:
    lam = pca.eigenvalues
    shown = lam > lam[0] * 1e-12  # a zero eigenvalue (each patch's own mean removed: Σ has no variance along 𝟙)
    zeros = int((~shown).sum())
    ax.plot(np.flatnonzero(shown) + 1, lam[shown], color="C0", label="λᵢ (the covariance's eigenvalues)"
            + (f"; {zeros} of them 0, not drawn" if zeros else ""))
    ax.axhline(pca.epsilon, color="C3", lw=1, ls="--", label=f"ε = {pca.epsilon:g}")
    plot.log_y(ax)
    ax.set_xlabel("i")
    ax.set_title("eigenvalues: PCA whitening divides by √(λᵢ + ε)", fontsize="small")
    ax.legend(fontsize="small", loc="upper right")
    ax.grid(alpha=0.3)
