"""Write data/patches.npz: 10,000 8×8 patches of natural images, made as the UFLDL sparse autoencoder
exercise makes them, from the two photographs scikit-learn ships (CC BY 2.0; see data/README.md).

    grey image  = mean of R, G, B / 255, downsampled by 2 (nettrain.patches.downsample: 2×2 block means)
    whitened    = nettrain.patches.whiten_image (Olshausen & Field's R(f) = f·exp(−(f/f₀)⁴), as the
                  exercise's IMAGES.mat), the whole image before any patch is taken
    patches     = 10,000 random 8×8 patches (seed 0), 4 pixels clear of the edges
    normalised  = nettrain.patches.normalize_patches: each patch's mean removed, clipped at ±3σ, in [0.1, 0.9]

The file holds X (10,000 × 64, float32: half the size of float64, and far finer than the JPEG's own
8-bit steps) and feature_names p0 … p63 (pixel (r, c) is p{8r + c}, as in digits.csv). Run once from
the repository root, with scikit-learn installed (`pip install -e ".[sklearn]"`); nothing is
downloaded. nettrain itself never needs scikit-learn to read the file.
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_sample_images

from nettrain.patches import downsample, normalize_patches, sample_patches, whiten_image

N, SIZE, SEED, MARGIN, DOWN = 10_000, 8, 0, 4, 2


def main() -> None:
    images = [whiten_image(downsample(img.astype(np.float64).mean(axis=2) / 255.0, DOWN))
              for img in load_sample_images().images]
    X = normalize_patches(sample_patches(images, N, SIZE, np.random.default_rng(SEED), margin=MARGIN))
    out = Path(__file__).resolve().parent / "patches.npz"
    np.savez_compressed(out, X=X.astype(np.float32), feature_names=np.array([f"p{j}" for j in range(SIZE * SIZE)]))
    print(f"wrote {out}: {N} patches of {SIZE}×{SIZE}, {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
