"""nettrain.pictures: filters as grey or colour tiles, through the run's whitening; the PCA exercise's figure."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nettrain import pictures
from nettrain.errors import RunIOError
from nettrain.network import Architecture, Params
from nettrain.whiten import PCA, ZCA

ROOT = Path(__file__).resolve().parent.parent


def trained(W: np.ndarray, whitening=None) -> SimpleNamespace:
    layers = (W.shape[1], W.shape[0], W.shape[1])
    return SimpleNamespace(params=Params({1: W}, {1: np.zeros(W.shape[0])}), zca=whitening, path=Path("r/last.npz"),
                           meta={"epoch": 3}, arch=Architecture(layers))


def test_colour_tiles_are_the_rows_r_g_b_planes_each_scaled_to_its_own_range():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(5, 3 * 4 * 4))
    grid = pictures.colour_grid(W)
    assert grid.shape == (1 + 2 * 5, 1 + 3 * 5, 3)  # ⌈√5⌉ = 3 tiles a row, 2 rows, 1 pixel between
    centred = W - W.mean()
    tile = centred[4].reshape(3, 4, 4).transpose(1, 2, 0) / np.abs(centred[4]).max()
    np.testing.assert_allclose(grid[6:10, 6:10], (tile + 1) / 2)  # row 4: second row, second tile
    assert grid.min() >= 0 and grid.max() <= 1 and np.isclose(np.abs(grid[6:10, 6:10] - 0.5).max(), 0.5)
    with pytest.raises(RunIOError, match="not a colour image"):
        pictures.colour_grid(np.zeros((2, 50)))


def test_the_filters_on_the_inputs_are_w_times_the_whitening():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12))
    W = rng.normal(size=(4, 12))
    np.testing.assert_array_equal(pictures.input_filters(trained(W)), W)
    zca = ZCA.fit(X, 0.1)
    np.testing.assert_allclose(pictures.input_filters(trained(W, zca)), W @ zca.matrix)  # the tutorial's W·ZCAWhite
    pca = PCA.fit(X, components=5, epsilon=0.1)
    Wk = rng.normal(size=(4, 5))
    F = pictures.input_filters(trained(Wk, pca))
    x = X[:3]
    np.testing.assert_allclose((x - pca.mean) @ F.T, pca.apply(x) @ Wk.T, rtol=1e-9)  # z⁽²⁾ − b from raw rows
    assert "W⁽¹⁾M of r/last.npz" in pictures.filters_title(trained(W, zca))


def test_filters_and_the_whitening_figure_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    W = np.random.default_rng(2).normal(size=(9, 192))
    out = pictures.plot_filters(trained(W), tmp_path / "c.png", "colour")
    from matplotlib.image import imread

    assert imread(out).shape[2] in (3, 4) and imread(out).shape[1] == (1 + 3 * 9) * 16
    from nettrain import config as config_mod
    from nettrain import trainer
    from nettrain.trained import load_trained

    path = tmp_path / "p.yaml"
    path.write_text(f"data:\n  path: {ROOT / 'data' / 'patches-12x12.npz'}\n  task: autoencode\n"
                    "  whiten: {method: pca, retain: 0.99, epsilon: 0.1}\n  split: {train: 1.0}\n"
                    "model: {layers: [129, 129], output_activation: identity}\ntrain: {optimizer: lbfgs, epochs: 0}\n")
    trainer.fit(config_mod.load_config(path), out=tmp_path / "run")
    figure = pictures.plot_whitening(load_trained(tmp_path / "run"), tmp_path / "w.png")
    assert imread(figure).shape[0] > 500
    with pytest.raises(RunIOError, match="has no data.whiten"):
        pictures.plot_whitening(trained(W), tmp_path / "x.png")
