"""The network: parameters, initialisation, forward pass, cost and backpropagation.

The UFLDL equations live here and nowhere else. Layers are numbered as in the tutorial, from
1 (the input) to nl (the output), and every dict below is keyed by that number, so that
`z[l + 1] = W[l] @ a[l] + b[l]` reads like the notes.

    tutorial        code        shape            config / checkpoint / metrics
    s_l             layers[l-1] —                model.layers
    nl              arch.nl     —                len(model.layers)
    W⁽ˡ⁾            W[l]        (s_{l+1}, s_l)   "W{l}" in a checkpoint
    b⁽ˡ⁾            b[l]        (s_{l+1},)       "b{l}"
    z⁽ˡ⁾, a⁽ˡ⁾      z[l], a[l]  (s_l, m)         a[1] = x: one column per example
    δ⁽ˡ⁾            delta[l]    (s_l, m)
    ∂J/∂W⁽ˡ⁾        dW[l]       (s_{l+1}, s_l)
    ∂J/∂b⁽ˡ⁾        db[l]       (s_{l+1},)
    f, f′           arch.f      —                model.activation (output: model.output_activation)
    λ               lam         —                train.weight_decay
    α               alpha       —                train.learning_rate
    m               m           —                examples in the batch (the train split)
    J, J_data, J_reg            —                cost, data_cost, reg_cost

    J(W, b) = J_data + J_reg
    J_data  = (1/m) Σᵢ loss(h(xᵢ), yᵢ)          e.g. (1/m) Σᵢ ½‖h(xᵢ) − yᵢ‖²
    J_reg   = (λ/2) Σₗ ‖W⁽ˡ⁾‖²_F                 biases are not regularised

Examples are stored in columns (x has shape (s_1, m)), as in the tutorial's vectorised notes:
data files hold one row per example and are transposed once when loaded for training.

Left out on purpose: no file, YAML or terminal code; nothing but numpy and nettrain's math.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional

import numpy as np

from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, Activation
from .errors import ModelError
from .losses import Loss, get_loss

INIT_SCHEMES = ("normal", "glorot_uniform", "he_normal")


@dataclass(frozen=True)
class Architecture:
    """What the network is, apart from its numbers: layer sizes, f, the output f and the loss."""

    layers: tuple[int, ...]
    activation: str = "sigmoid"
    output_activation: str = "sigmoid"
    loss: str = "squared_error"
    f: Activation = field(init=False, repr=False, compare=False)
    f_out: Activation = field(init=False, repr=False, compare=False)
    loss_fn: Loss = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        layers = tuple(int(s) for s in self.layers)
        if len(layers) < 2 or min(layers) < 1:
            raise ModelError(f"model.layers needs at least 2 sizes, each ≥ 1 (got {list(self.layers)})")
        if self.activation not in HIDDEN_ACTIVATIONS:
            raise ModelError(
                f"model.activation must be one of {', '.join(HIDDEN_ACTIVATIONS)} (got {self.activation!r})"
            )
        loss_fn = get_loss(self.loss, self.output_activation)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "f", ACTIVATIONS[self.activation])
        object.__setattr__(self, "f_out", ACTIVATIONS[self.output_activation])
        object.__setattr__(self, "loss_fn", loss_fn)

    @property
    def nl(self) -> int:
        """Number of layers, input and output included."""
        return len(self.layers)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter block's name and shape: W1 (s_2, s_1), b1 (s_2,), …"""
        s = self.layers
        out: dict[str, tuple[int, ...]] = {}
        for l in range(1, self.nl):
            out[f"W{l}"] = (s[l], s[l - 1])  # s[l] is s_{l+1}: the list is 0-based
            out[f"b{l}"] = (s[l],)
        return out

    def n_params(self) -> int:
        return sum(int(np.prod(shape)) for shape in self.shapes().values())


class Params(NamedTuple):
    """W[l] and b[l] for l = 1 … nl−1: plain arrays, keyed by the tutorial's layer number."""

    W: dict[int, np.ndarray]
    b: dict[int, np.ndarray]

    def blocks(self) -> dict[str, np.ndarray]:
        """The parameters as named blocks W1, b1, W2, b2, … (checkpoint and gradcheck order)."""
        out = {}
        for l in sorted(self.W):
            out[f"W{l}"] = self.W[l]
            out[f"b{l}"] = self.b[l]
        return out

    @classmethod
    def from_blocks(cls, blocks: dict[str, np.ndarray]) -> "Params":
        nl = len(blocks) // 2 + 1
        return cls({l: blocks[f"W{l}"] for l in range(1, nl)}, {l: blocks[f"b{l}"] for l in range(1, nl)})

    def copy(self) -> "Params":
        return Params({l: w.copy() for l, w in self.W.items()}, {l: v.copy() for l, v in self.b.items()})


class Cost(NamedTuple):
    """J = J_data + J_reg, as Python floats."""

    J: float
    J_data: float
    J_reg: float


def init_params(
    layers: tuple[int, ...],
    scheme: str = "normal",
    rng: Optional[np.random.Generator] = None,
    std: float = 0.01,
    dtype: type = np.float64,
) -> Params:
    """Random W⁽ˡ⁾ (shape (s_{l+1}, s_l)) and zero b⁽ˡ⁾, reproducible from `rng`.

    normal          Wᵢⱼ ~ N(0, std²)            UFLDL's "small random values near zero"
    glorot_uniform  Wᵢⱼ ~ U(−r, r), r = √6 / √(s_l + s_{l+1} + 1)   (UFLDL's r)
    he_normal       Wᵢⱼ ~ N(0, 2 / s_l)         for ReLU layers

    Draws are made in float64 and then cast, so float32 weights are the float64 ones rounded.
    """
    if scheme not in INIT_SCHEMES:
        raise ModelError(f"model.init.scheme must be one of {', '.join(INIT_SCHEMES)} (got {scheme!r})")
    rng = np.random.default_rng(0) if rng is None else rng
    W, b = {}, {}
    for l in range(1, len(layers)):
        s_in, s_out = layers[l - 1], layers[l]  # s_l, s_{l+1}
        if scheme == "normal":
            w = rng.normal(0.0, std, size=(s_out, s_in))
        elif scheme == "glorot_uniform":
            r = np.sqrt(6.0) / np.sqrt(s_in + s_out + 1)
            w = rng.uniform(-r, r, size=(s_out, s_in))
        else:
            w = rng.normal(0.0, np.sqrt(2.0 / s_in), size=(s_out, s_in))
        W[l] = w.astype(dtype, copy=False)
        b[l] = np.zeros(s_out, dtype=dtype)
    return Params(W, b)


def forward(arch: Architecture, params: Params, x: np.ndarray) -> tuple[dict, dict]:
    """The forward pass, keeping every layer: returns (z, a) with z[l], a[l] of shape (s_l, m).

        a⁽¹⁾ = x
        z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ a⁽ˡ⁾ + b⁽ˡ⁾        (b added to every column)
        a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾)              (the output layer uses the output activation)
    """
    W, b, nl = params.W, params.b, arch.nl
    z, a = {}, {1: x}
    for l in range(1, nl):
        z[l + 1] = W[l] @ a[l] + b[l][:, None]
        f = arch.f_out if l + 1 == nl else arch.f
        a[l + 1] = f.f(z[l + 1])
    return z, a


def predict(arch: Architecture, params: Params, x: np.ndarray) -> np.ndarray:
    """h_{W,b}(x) = a⁽ⁿˡ⁾, shape (s_nl, m)."""
    return forward(arch, params, x)[1][arch.nl]


def reg_cost(W: dict[int, np.ndarray], lam: float) -> float:
    """J_reg = (λ/2) Σₗ ‖W⁽ˡ⁾‖²_F = (λ/2) Σₗ Σᵢⱼ (Wᵢⱼ⁽ˡ⁾)². Biases b⁽ˡ⁾ are not included."""
    if lam == 0:
        return 0.0
    return 0.5 * lam * sum(float(np.vdot(w, w)) for w in W.values())


def data_cost_sum(arch: Architecture, params: Params, x: np.ndarray, y: np.ndarray) -> float:
    """Σᵢ loss(h(xᵢ), yᵢ) over the columns of x, y: m·J_data for this batch."""
    z, a = forward(arch, params, x)
    nl = arch.nl
    return arch.loss_fn.fn(z[nl], a[nl], y, arch.f_out)


def cost(
    arch: Architecture,
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    lam: float = 0.0,
    chunk_size: Optional[int] = None,
) -> Cost:
    """J(W, b) = (1/m) Σᵢ loss(h(xᵢ), yᵢ) + (λ/2) Σₗ ‖W⁽ˡ⁾‖², with x (s_1, m) and y (s_nl, m).

    With chunk_size, the sum over examples is taken chunk by chunk (memory bounded by the chunk).
    """
    m = x.shape[1]
    step = m if not chunk_size else chunk_size
    dtype = params.W[1].dtype
    total = 0.0
    for s in range(0, m, max(step, 1)):
        xc = np.asarray(x[:, s : s + step], dtype=dtype)
        yc = np.asarray(y[:, s : s + step], dtype=dtype)
        total += data_cost_sum(arch, params, xc, yc)
    J_data = total / m
    J_reg = reg_cost(params.W, lam)
    return Cost(J_data + J_reg, J_data, J_reg)


class Workspace:
    """Buffers for z, a, δ and f′ of one chunk of examples, allocated once and reused each epoch.

    Touching freshly allocated memory is slow; a training run allocates these once. Buffers are
    flat, so a narrower last chunk gets contiguous (s_l, width) views of the same memory.
    """

    def __init__(self, arch: Architecture, width: int, dtype: type = np.float64) -> None:
        self.arch, self.width, self.dtype = arch, width, np.dtype(dtype)
        s, nl = arch.layers, arch.nl
        self._z = {l: np.empty(s[l - 1] * width, dtype) for l in range(2, nl + 1)}
        # an identity layer's a is its z: no copy is ever made
        self._a = {
            l: self._z[l] if (arch.f_out if l == nl else arch.f).name == "identity" else np.empty(s[l - 1] * width, dtype)
            for l in range(2, nl + 1)
        }
        self._delta = {l: np.empty(s[l - 1] * width, dtype) for l in range(2, nl + 1)}
        self._fp = {l: np.empty(s[l - 1] * width, dtype) for l in range(2, nl)}
        self._ones = np.ones(width, dtype)
        self.G = {l: np.empty((s[l], s[l - 1]), dtype) for l in range(1, nl)}  # chunk sums of δaᵀ
        self.g = {l: np.empty(s[l], dtype) for l in range(1, nl)}
        self._views: dict[int, tuple] = {}

    def views(self, w: int) -> tuple[dict, dict, dict, dict, np.ndarray]:
        """(z, a, delta, fp, ones) for a chunk of w ≤ width examples."""
        if w not in self._views:
            s = self.arch.layers

            def shaped(bufs):
                return {l: buf[: s[l - 1] * w].reshape(s[l - 1], w) for l, buf in bufs.items()}

            self._views[w] = (shaped(self._z), shaped(self._a), shaped(self._delta), shaped(self._fp), self._ones[:w])
        return self._views[w]


def zeros_like_params(params: Params) -> Params:
    return Params({l: np.zeros_like(w) for l, w in params.W.items()}, {l: np.zeros_like(v) for l, v in params.b.items()})


def _backprop_chunk(arch, W, b, x, y, ws: Workspace, dW, db) -> float:
    """Forward and backward over one chunk of columns; writes Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ into dW, Σᵢ δ⁽ˡ⁺¹⁾ into db.

    Returns Σᵢ loss over the chunk. Every product writes into a workspace buffer (out=...).
    """
    nl, f = arch.nl, arch.f
    z, a, delta, fp, ones = ws.views(x.shape[1])
    a[1] = x
    for l in range(1, nl):
        np.matmul(W[l], a[l], out=z[l + 1])  # z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾
        z[l + 1] += b[l][:, None]
        (arch.f_out if l + 1 == nl else f).f(z[l + 1], out=a[l + 1])  # a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾)
    # δ⁽ⁿˡ⁾ = ∂loss/∂z⁽ⁿˡ⁾, e.g. −(y − a⁽ⁿˡ⁾)·f′(z⁽ⁿˡ⁾) for the squared error
    loss_sum = arch.loss_fn.delta(z[nl], a[nl], y, arch.f_out, delta[nl])
    for l in range(nl - 1, 0, -1):
        np.matmul(delta[l + 1], a[l].T, out=dW[l])  # Σᵢ δ⁽ˡ⁺¹⁾ a⁽ˡ⁾ᵀ
        np.matmul(delta[l + 1], ones, out=db[l])  # Σᵢ δ⁽ˡ⁺¹⁾ (a product with 1s beats .sum)
        if l > 1:  # δ⁽¹⁾ is never needed: the input has no parameters below it
            np.matmul(W[l].T, delta[l + 1], out=delta[l])  # δ⁽ˡ⁾ = (W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾) · f′(z⁽ˡ⁾)
            if f.name != "identity":
                delta[l] *= f.fprime(z[l], a[l], out=fp[l])
    return loss_sum


def backprop(
    arch: Architecture,
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    lam: float = 0.0,
    ws: Optional[Workspace] = None,
    grads: Optional[Params] = None,
) -> tuple[Cost, Params]:
    """J and its gradient (∂J/∂W⁽ˡ⁾, ∂J/∂b⁽ˡ⁾) over the m columns of x (s_1, m), y (s_nl, m).

        δ⁽ⁿˡ⁾ = ∂loss/∂z⁽ⁿˡ⁾                      (losses.py: −(y − a)·f′(z) for squared error)
        δ⁽ˡ⁾  = ((W⁽ˡ⁾)ᵀ δ⁽ˡ⁺¹⁾) · f′(z⁽ˡ⁾)         for l = nl−1, …, 2
        ∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾ (a⁽ˡ⁾)ᵀ + λ W⁽ˡ⁾
        ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾

    The sum over examples i is a matrix product over the columns. With a workspace narrower
    than m, it is taken chunk by chunk (memory O(width · Σ s_l) instead of O(m · Σ s_l)); the
    result is the same full-batch gradient. `grads`, when given, is overwritten and returned.
    """
    W, b = params.W, params.b
    m = x.shape[1]
    dtype = W[1].dtype
    if ws is None:
        ws = Workspace(arch, m, dtype)
    if grads is None:
        grads = zeros_like_params(params)
    dW, db = grads.W, grads.b
    loss_sum = 0.0
    for s in range(0, m, ws.width):
        xc, yc = x[:, s : s + ws.width], y[:, s : s + ws.width]
        if xc.dtype != dtype:
            xc = xc.astype(dtype)
        if yc.dtype != dtype:
            yc = yc.astype(dtype)
        if s == 0:
            loss_sum += _backprop_chunk(arch, W, b, xc, yc, ws, dW, db)
        else:  # later chunks add their sums to the first one's
            loss_sum += _backprop_chunk(arch, W, b, xc, yc, ws, ws.G, ws.g)
            for l in dW:
                dW[l] += ws.G[l]
                db[l] += ws.g[l]
    for l in dW:
        dW[l] /= m  # (1/m) Σᵢ δ⁽ˡ⁺¹⁾ a⁽ˡ⁾ᵀ
        db[l] /= m  # (1/m) Σᵢ δ⁽ˡ⁺¹⁾
        if lam:
            dW[l] += np.multiply(W[l], lam, out=ws.G[l])  # + λ W⁽ˡ⁾ (never for b)
    J_data = loss_sum / m
    J_reg = reg_cost(W, lam)
    return Cost(J_data + J_reg, J_data, J_reg), grads


def grad_norm(grads: Params) -> float:
    """‖∇J‖ over all blocks: √(Σₗ ‖∂J/∂W⁽ˡ⁾‖² + ‖∂J/∂b⁽ˡ⁾‖²)."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.blocks().values())))
