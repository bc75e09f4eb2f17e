"""Patches of natural images, made as the UFLDL sparse autoencoder exercise makes them.

    downsample(img, k)         the means of k×k blocks of pixels: the image k times smaller
    whiten_image(img)          the image's 2-D spectrum multiplied by R(f) = f·exp(−(f/f₀)⁴), then
                               divided by its standard deviation: Olshausen & Field's (1997) whitening,
                               with which the exercise's IMAGES.mat was made (f₀ = 0.4 cycles per
                               pixel, their 0.4·N for an N × N image)
    sample_patches(imgs, n)    n random size×size patches (a random image, a random position), one row
                               each, row by row (pixel (r, c) in column size·r + c)
    normalize_patches(X)       the exercise's normalisation: each patch's own mean removed, clipped at
                               ±3 standard deviations of all the patches, mapped to [0.1, 0.9] (the range
                               of a sigmoid output)

Why whiten the images first: photographs have a spectrum falling as 1/f, so most of their variance
is in slow changes of brightness; an autoencoder trained on raw patches spends its units on those
and learns blurry blobs. R(f) rises as f, flattening the spectrum, and falls off again near the
Nyquist frequency (the exp(−(f/f₀)⁴) factor), where the images hold mostly noise and the
compression's artefacts. The whitened images have a flat spectrum up to f₀: edges are what is left,
and the learned filters are localised, oriented edges (data/make_patches.py writes the shipped
data/patches.npz with these functions; benchmarks/README.md gives the measurements).

Why downsample the photographs first (by 2, to 213 × 320): at their full 427 × 640 pixels an 8×8
patch of these two pictures holds mostly a smooth stretch of one surface, and the filters come out
as patch-wide gratings; halved, a patch spans more of the scene's edges, as the exercise's 512 × 512
landscapes do, and the filters come out localised.

Left out on purpose: reading image files (data/make_patches.py takes scikit-learn's sample images).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

F0 = 0.4  # f₀ in cycles per pixel (the Nyquist frequency is 0.5): Olshausen & Field's f_0 = 0.4·N


def downsample(img: np.ndarray, k: int) -> np.ndarray:
    """The mean of every k×k block of pixels (the last rows and columns that do not fill a block dropped)."""
    img = np.asarray(img, dtype=np.float64)
    h, w = img.shape[0] // k, img.shape[1] // k
    return img[: h * k, : w * k].reshape(h, k, w, k).mean(axis=(1, 3))


def whiten_image(img: np.ndarray, f0: float = F0) -> np.ndarray:
    """One grey image (h, w) whitened: F⁻¹[F[img] · R(f)], R(f) = f·exp(−(f/f₀)⁴), scaled to unit std.

    f = √(f_x² + f_y²) in cycles per pixel (numpy's fftfreq). R(0) = 0: the image's mean is removed too."""
    img = np.asarray(img, dtype=np.float64)
    fy = np.fft.fftfreq(img.shape[0])[:, None]
    fx = np.fft.fftfreq(img.shape[1])[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    R = f * np.exp(-((f / f0) ** 4))
    out = np.real(np.fft.ifft2(np.fft.fft2(img) * R))
    return out / out.std()


def sample_patches(images: Sequence[np.ndarray], n: int, size: int = 8, rng: Optional[np.random.Generator] = None,
                   margin: int = 0) -> np.ndarray:
    """n patches (n, size²) from random images at random positions, `margin` pixels clear of every edge
    (the whitening's circular convolution wraps around there)."""
    rng = np.random.default_rng(0) if rng is None else rng
    out = np.empty((n, size * size))
    which = rng.integers(0, len(images), size=n)
    for k, i in enumerate(which):
        img = images[i]
        r = rng.integers(margin, img.shape[0] - size - margin + 1)
        c = rng.integers(margin, img.shape[1] - size - margin + 1)
        out[k] = img[r : r + size, c : c + size].reshape(-1)  # row by row: pixel (r, c) → column size·r + c
    return out


def normalize_patches(X: np.ndarray) -> np.ndarray:
    """The exercise's normalizeData, for rows X (n, size²):

        x ← x − mean(x)                       each patch's own mean (its brightness) removed
        x ← clip(x, −3σ, 3σ) / 3σ              σ: the standard deviation of all the values (ddof 1, as MATLAB's std)
        x ← (x + 1) · 0.4 + 0.1                from [−1, 1] to [0.1, 0.9]
    """
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=1, keepdims=True)
    s = 3.0 * X.std(ddof=1)
    return (np.clip(X, -s, s) / s + 1.0) * 0.4 + 0.1
