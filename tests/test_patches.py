"""Image patches as the exercise makes them: the whitening filter, the sampling and the normalisation;
and the shipped data/patches.npz is what data/make_patches.py describes."""

from pathlib import Path

import numpy as np

from nettrain import patches

ROOT = Path(__file__).resolve().parent.parent


def test_normalize_patches_is_the_exercises_normalize_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 16)) * 5 + rng.normal(size=(200, 1)) * 20  # patches with their own brightness
    got = patches.normalize_patches(X)
    Xc = X - X.mean(axis=1, keepdims=True)  # each patch's mean removed
    s = 3 * Xc.std(ddof=1)  # 3 standard deviations of all the values
    want = (np.clip(Xc, -s, s) / s + 1) * 0.4 + 0.1
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert got.min() >= 0.1 and got.max() <= 0.9


def test_whiten_image_flattens_a_one_over_f_spectrum_and_removes_the_mean():
    rng = np.random.default_rng(1)
    n = 128
    f = np.sqrt(np.fft.fftfreq(n)[:, None] ** 2 + np.fft.fftfreq(n)[None, :] ** 2)
    pink = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(n, n))) / np.maximum(f, 1 / n)))  # 1/f amplitude
    w = patches.whiten_image(pink + 5.0)
    assert abs(w.mean()) < 1e-12 and np.isclose(w.std(), 1.0)
    power = np.abs(np.fft.fft2(w)) ** 2
    low, mid = power[(f > 0.02) & (f < 0.05)].mean(), power[(f > 0.15) & (f < 0.25)].mean()
    assert 0.5 < low / mid < 2  # flat up to f₀ (a 1/f image has 100× more power at the low band)


def test_sample_patches_reads_rows_row_by_row():
    img = np.arange(20 * 30, dtype=float).reshape(20, 30)
    P = patches.sample_patches([img], 50, 4, np.random.default_rng(0), margin=2)
    for p in P:
        r, c = divmod(int(p[0]), 30)
        assert 2 <= r <= 20 - 4 - 2 and 2 <= c <= 30 - 4 - 2
        np.testing.assert_array_equal(p.reshape(4, 4), img[r : r + 4, c : c + 4])


def test_downsample_takes_block_means():
    img = np.arange(5 * 4, dtype=float).reshape(5, 4)
    np.testing.assert_array_equal(patches.downsample(img, 2), [[2.5, 4.5], [10.5, 12.5]])


def test_shipped_patches_file():
    with np.load(ROOT / "data" / "patches.npz", allow_pickle=False) as f:
        X, names = f["X"], f["feature_names"]
    assert X.shape == (10_000, 64) and X.dtype == np.float32
    assert list(names) == [f"p{j}" for j in range(64)]
    assert X.min() >= np.float32(0.1) and X.max() <= np.float32(0.9)
    assert abs(float(X.mean()) - 0.5) < 0.01  # every patch's mean removed: centred on 0.5
    assert (ROOT / "data" / "patches.npz").stat().st_size < 3_000_000
