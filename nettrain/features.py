"""data.transform: features from a trained network. Every input row x is replaced by a⁽ᴷ⁺¹⁾(x), the activations of
the first K hidden layers of a trained run, computed after that run's own preprocessing (its standardisation or
scale, its whitening, and its own data.transform: the whole chain, so that features stack):

    a⁽¹⁾ = the run's preprocessing of x,    a⁽ˡ⁺¹⁾ = f(W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾),  l = 1 … K    → x ↦ a⁽ᴷ⁺¹⁾ (s_{K+1} values)

These are self-taught learning's features (an autoencoder's hidden layer, K = 1) and the input of a stacked
autoencoder's next layer. The run is named by its checkpoint and the SHA-256 of that file's bytes, stored with
every model trained on the features (checkpoint metadata key "transform": {"from", "layers", "sha256"}): wherever
that model is used, the run is loaded again and checked, and a run that changed or is missing is refused in one
line (trained.load_features) — the features it was trained on could not be made again.

Left out on purpose: loading runs (trained.py), reading data and choosing rows (problem.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .errors import CheckpointError, ConfigError

META_KEY = "transform"  # the checkpoint metadata's key
MAX_PATH_CHARS = 4096
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Features:
    """x ↦ a⁽ᴷ⁺¹⁾(x) of a trained run (a trained.Trained: source), whose checkpoint is `path` with SHA-256 `sha256`."""

    source: Any  # trained.Trained
    layers: int  # K
    path: Path
    sha256: str

    @property
    def width(self) -> int:
        """s_{K+1}: the features per row."""
        return int(self.source.arch.layers[self.layers])

    @property
    def feature_names(self) -> list[str]:
        """h1 … h_{s_{K+1}}: the units of hidden layer K + 1 of the run, as columns."""
        return [f"h{j}" for j in range(1, self.width + 1)]

    def apply(self, X: np.ndarray, path: Optional[Path] = None) -> np.ndarray:
        """The features (m, s_{K+1}), float64, of rows X (m, n) as the run's data file holds them (path: where X was
        read, for messages): the run's own preprocessing, then a⁽ˡ⁺¹⁾ = f(W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾) for l = 1 … K, each the
        same products as network.forward, in the run's dtype."""
        src = self.source
        a = np.ascontiguousarray(src.transform_x(X, path).T)  # a⁽¹⁾ (n, m): one column per example
        W, b, f = src.params.W, src.params.b, src.arch.f
        for l in range(1, self.layers + 1):
            a = f.f(W[l] @ a + b[l][:, None])  # a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾): a hidden layer's f (K < nl − 1)
        return np.ascontiguousarray(a.T, dtype=np.float64)

    def to_meta(self) -> dict:
        return {"from": str(self.path), "layers": self.layers, "sha256": self.sha256}

    def describe(self) -> str:
        """'layer 2 of runs/ae1/last.npz' (K = 1: the activations of its first hidden layer), for messages."""
        return f"layer {self.layers + 1} of {self.path}"


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read a MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_layers(source_layers: tuple[int, ...], k: int, where: str) -> None:
    """K must name hidden layers of the run: 1 ≤ K ≤ nl − 2 (its output layer is not a feature)."""
    hidden = len(source_layers) - 2
    if hidden < 1:
        raise ConfigError(f"{where}: the run has no hidden layer (model.layers {list(source_layers)}): its features "
                          "would be its outputs; name a run with a hidden layer")
    if k > hidden:
        raise ConfigError(f"{where}: layers is {k}, but the run has {hidden} hidden layer{'s' if hidden > 1 else ''} "
                          f"(model.layers {list(source_layers)}): set data.transform.layers to 1 … {hidden}")


def stored(d: Any, where: str) -> tuple[Path, int, str]:
    """(checkpoint path, K, SHA-256) of a checkpoint's "transform" metadata, every field checked (it is hostile
    input until then): CheckpointError naming the field."""
    if not isinstance(d, dict) or set(d) != {"from", "layers", "sha256"}:
        raise CheckpointError(f"{where}: the metadata's transform must be a mapping of from, layers and sha256")
    src, k, sha = d["from"], d["layers"], d["sha256"]
    if not isinstance(src, str) or not src or len(src) > MAX_PATH_CHARS or "\x00" in src:
        raise CheckpointError(f"{where}: the metadata's transform.from must be a checkpoint's path")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
        raise CheckpointError(f"{where}: the metadata's transform.layers must be a whole number ≥ 1")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise CheckpointError(f"{where}: the metadata's transform.sha256 must be 64 hexadecimal digits")
    return Path(src), k, sha


def check_resume(meta: dict, current: Optional[Features], last: Path) -> None:
    """A resumed run must train on the features it started with: the same run's checkpoint, unchanged."""
    before = meta.get(META_KEY)
    now = None if current is None else current.to_meta()
    if before != now:
        what = ("was trained without data.transform" if before is None else
                f"was trained on the features of {before.get('from') if isinstance(before, dict) else before}")
        raise ConfigError(f"cannot resume from {last}: it {what}, and the features are now "
                          f"{'none' if current is None else current.describe()}"
                          f"{'' if current is None else ' (SHA-256 ' + current.sha256[:12] + '…)'}: that run changed "
                          "since; start a new run (--overwrite, or another --out)")
