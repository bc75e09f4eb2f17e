"""Write the raw (unwhitened) patches of the UFLDL "PCA and whitening" and "Linear decoders" exercises, from the two
photographs scikit-learn ships (CC BY 2.0; see data/README.md):

    data/patches-12x12.npz    10,000 grey 12×12 patches, each patch's own mean removed (the PCA exercise's step 0)
    data/patches-colour.npz   10,000 colour 8×8×3 patches, 0–255 (the linear decoder's; nettrain scales and whitens)

Both from the photographs downsampled by 2 (2×2 block means: 213 × 320, as data/make_patches.py), at random
positions (seed 0 and seed 1). Grey is the mean of R, G and B, rounded to a whole grey level k (0–255), so that
a patch's values with its own mean removed are held exactly as whole numbers: 144·(k − k̄), k̄ the patch's mean
(int16; `data.scale: {min: 0, max: 36720}`, 36720 = 144·255, maps them to (k − k̄)/255). A colour patch is a
row of 192 bytes, the red 8×8 plane row by row (pixel (r, c) in column 8r + c), then green, then blue: columns
r0 … r63, g0 … g63, b0 … b63.

    python data/make_raw_patches.py      # with scikit-learn installed (pip install -e ".[sklearn]"); no download

nettrain itself never needs scikit-learn to read the files.
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_sample_images

from nettrain.patches import downsample, sample_patches

N, DOWN = 10_000, 2
GREY, GREY_SEED = 12, 0
COLOUR, COLOUR_SEED = 8, 1


def grey_patches(images: list) -> np.ndarray:
    """(N, 144) int16: 144·(k − k̄) for each patch's grey levels k (whole numbers 0–255)."""
    grey = [np.round(downsample(img.astype(np.float64).mean(axis=2), DOWN)) for img in images]
    k = sample_patches(grey, N, GREY, np.random.default_rng(GREY_SEED)).astype(np.int64)
    centred = GREY * GREY * k - k.sum(axis=1, keepdims=True)  # 144·k − Σk = 144·(k − k̄), exactly
    assert np.abs(centred).max() < 2**15, "a patch's values do not fit int16"
    return centred.astype(np.int16)


def colour_patches(images: list) -> np.ndarray:
    """(N, 192) uint8: the R, G and B planes of each 8×8 patch, one after the other, pixel values 0–255."""
    planes = [np.stack([np.round(downsample(img[:, :, c].astype(np.float64), DOWN)) for c in range(3)])
              for img in images]  # (3, h, w) per image
    rng = np.random.default_rng(COLOUR_SEED)
    out = np.empty((N, 3 * COLOUR * COLOUR), dtype=np.uint8)
    for t, i in enumerate(rng.integers(0, len(planes), size=N)):
        p = planes[i]
        r = rng.integers(0, p.shape[1] - COLOUR + 1)
        c = rng.integers(0, p.shape[2] - COLOUR + 1)
        out[t] = p[:, r : r + COLOUR, c : c + COLOUR].reshape(-1)  # plane by plane, each row by row
    return out


def main() -> None:
    images = load_sample_images().images
    here = Path(__file__).resolve().parent
    grey = here / "patches-12x12.npz"
    np.savez_compressed(grey, X=grey_patches(images), feature_names=np.array([f"p{j}" for j in range(GREY * GREY)]))
    colour = here / "patches-colour.npz"
    names = [f"{ch}{j}" for ch in "rgb" for j in range(COLOUR * COLOUR)]
    np.savez_compressed(colour, X=colour_patches(images), feature_names=np.array(names))
    for path in (grey, colour):
        print(f"wrote {path}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
