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
    ρ, β            sp.rho, sp.beta  —           model.sparsity.target, model.sparsity.weight
    ρ̂⁽ˡ⁾            rho_hat[l]  (s_l,)           mean activation of hidden layer l over the batch
    J, J_data, J_reg            —                cost, data_cost, reg_cost
    J_sparse                    —                sparse_cost

    J(W, b) = J_data + J_reg (+ J_sparse, with model.sparsity)
    J_data  = (1/m) Σᵢ loss(h(xᵢ), yᵢ)          e.g. (1/m) Σᵢ ½‖h(xᵢ) − yᵢ‖²
    J_reg   = (λ/2) Σₗ ‖W⁽ˡ⁾‖²_F                 biases are not regularised
    J_sparse = β Σₗ Σⱼ KL(ρ‖ρ̂ⱼ⁽ˡ⁾)              over every hidden layer l = 2 … nl−1

Examples are stored in columns (x has shape (s_1, m)), as in the tutorial's vectorised notes:
data files hold one row per example and are transposed once when loaded for training.

Training (Backprop) computes the same equations with the numbers laid out for speed: all the
parameters in one vector (FlatParams), layer l's block being Θ⁽ˡ⁾ = [b⁽ˡ⁾ | W⁽ˡ⁾]; each layer's
activations with a row of ones on top, [1; a⁽ˡ⁾]. Then z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾ = Θ⁽ˡ⁾[1; a⁽ˡ⁾] and
[Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] = δ⁽ˡ⁺¹⁾[1; a⁽ˡ⁾]ᵀ are one matrix product each; buffers are allocated
once per run; the sum over examples may be taken in chunks (bounded memory) and by threads.

Left out on purpose: no file, YAML or terminal code; nothing but numpy and nettrain's math.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from . import losses
from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, Activation
from .errors import ModelError
from .losses import Loss, OutputScratch, get_loss, output_step

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


class Cost:
    """J and its named parts, as Python floats: J = Σ parts, in the order the objective reports them.

    parts["data_cost"] = J_data = (1/m) Σᵢ loss,  parts["reg_cost"] = J_reg = (λ/2) Σₗ ‖W⁽ˡ⁾‖²; an
    objective with more terms (a sparsity penalty) adds its own names. metrics.csv's cost columns,
    the terminal, eval and gradcheck follow from these names.
    """

    __slots__ = ("J", "parts")

    def __init__(self, parts: dict) -> None:
        J = 0.0
        for v in parts.values():  # in order: J_data + J_reg (+ …), the same bits as writing the sum out
            J += v
        self.J, self.parts = J, dict(parts)

    @classmethod
    def of(cls, J_data: float, J_reg: float, **more: float) -> "Cost":
        return cls({"data_cost": J_data, "reg_cost": J_reg, **more})

    @property
    def J_data(self) -> float:
        return self.parts["data_cost"]

    @property
    def J_reg(self) -> float:
        return self.parts.get("reg_cost", 0.0)

    def as_dict(self) -> dict:
        """{"cost": J, "data_cost": …, "reg_cost": …, …}: the keys metrics.csv, eval and the API use."""
        return {"cost": self.J, **self.parts}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cost) and self.J == other.J and self.parts == other.parts

    def __repr__(self) -> str:
        return f"Cost(J={self.J!r}, " + ", ".join(f"{k}={v!r}" for k, v in self.parts.items()) + ")"


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


class Sparsity(NamedTuple):
    """The sparse autoencoder's penalty: ρ, the target mean activation of every hidden unit, in (0, 1),
    and β, its weight (model.sparsity.target and .weight)."""

    rho: float
    beta: float


def kl_divergence(rho: float, rho_hat: np.ndarray) -> np.ndarray:
    """KL(ρ‖ρ̂ⱼ) = ρ log(ρ/ρ̂ⱼ) + (1 − ρ) log((1 − ρ)/(1 − ρ̂ⱼ)) for every unit j: ρ̂ (s_l,) → (s_l,).

    Outside (0, 1) ρ̂ has no KL: a unit saturated at 0 or 1 over the whole batch gives inf (or NaN),
    which the training loop reports as a divergence."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return rho * np.log(rho / rho_hat) + (1.0 - rho) * np.log((1.0 - rho) / (1.0 - rho_hat))


def sparse_cost(rho_hat: dict[int, np.ndarray], sp: Sparsity) -> float:
    """J_sparse = β Σₗ Σⱼ KL(ρ‖ρ̂ⱼ⁽ˡ⁾), ρ̂⁽ˡ⁾ = (1/m) Σᵢ a⁽ˡ⁾(xᵢ), over every hidden layer l in rho_hat."""
    return sp.beta * sum(float(np.sum(kl_divergence(sp.rho, rho_hat[l]))) for l in sorted(rho_hat))


def sparse_delta(rho_hat: np.ndarray, sp: Sparsity) -> np.ndarray:
    """The term the penalty adds to every example's hidden δ before the f′ product, (s_l,):

        δ⁽ˡ⁾ = (W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ + β(−ρ/ρ̂⁽ˡ⁾ + (1 − ρ)/(1 − ρ̂⁽ˡ⁾))) · f′(z⁽ˡ⁾)

    It is m·∂J_sparse/∂aⱼ⁽ˡ⁾(xᵢ), the same for every example i (∂ρ̂ⱼ/∂aⱼ(xᵢ) = 1/m; finish() divides
    the sums by m, once, for this term as for the rest)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # ρ̂ at 0 or 1: J is infinite there, and says so
        return sp.beta * (-sp.rho / rho_hat + (1.0 - sp.rho) / (1.0 - rho_hat))


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
    return _forward_cost(arch, params, x, y, lam, chunk_size, None)


SOURCE_CHUNK = 65536  # examples per forward pass when x is a column source (a memory map), not an array


def cost_and_outputs(
    arch: Architecture,
    params: Params,
    x: Any,
    y: np.ndarray,
    lam: float = 0.0,
    chunk_size: Optional[int] = None,
) -> tuple[Cost, np.ndarray]:
    """cost(...) and predict(...) together, from one forward pass: J and h_{W,b}(x) (s_nl, m).

    The same numbers as the two functions (computed the same way); x may be a column source
    (network.Backprop), read SOURCE_CHUNK examples at a time.
    """
    h = np.empty((arch.layers[-1], x.shape[1]), params.W[1].dtype)
    return _forward_cost(arch, params, x, y, lam, chunk_size, h), h


def _forward_cost(arch, params, x, y, lam, chunk_size, h: Optional[np.ndarray]) -> Cost:
    """J over the columns of x, chunk by chunk; the outputs a⁽ⁿˡ⁾ are written into h when given."""
    m = x.shape[1]
    step = int(chunk_size) if chunk_size else (m if isinstance(x, np.ndarray) else SOURCE_CHUNK)
    step = max(step, 1)
    dtype = params.W[1].dtype
    total = 0.0
    for s in range(0, m, step):
        xc = np.asarray(x[:, s : s + step], dtype=dtype)
        yc = np.asarray(y[:, s : s + step], dtype=dtype)
        if h is None:
            total += data_cost_sum(arch, params, xc, yc)
        else:
            z, a = forward(arch, params, xc)
            total += arch.loss_fn.fn(z[arch.nl], a[arch.nl], yc, arch.f_out)  # Σᵢ loss, as data_cost_sum
            h[:, s : s + step] = a[arch.nl]
    J_data = total / m
    J_reg = reg_cost(params.W, lam)
    return Cost.of(J_data, J_reg)


class FlatParams(NamedTuple):
    """Every parameter in one vector, seen three ways (all views of `vec`, nothing copied).

    theta[l] = Θ⁽ˡ⁾ = [b⁽ˡ⁾ | W⁽ˡ⁾], shape (s_{l+1}, 1 + s_l): b⁽ˡ⁾ as column 0, then W⁽ˡ⁾, so that
        z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾ = Θ⁽ˡ⁾ [1; a⁽ˡ⁾]          ([1; a]: a row of ones on top of a)
        [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] = δ⁽ˡ⁺¹⁾ [1; a⁽ˡ⁾]ᵀ
    are each ONE matrix product, the bias inside it (no broadcast add, no separate Σᵢ δ).
    params: Params with W[l] = Θ⁽ˡ⁾[:, 1:] and b[l] = Θ⁽ˡ⁾[:, 0] (strided views).
    vec: Θ⁽¹⁾, Θ⁽²⁾, … one after the other: an update θ ← θ − α∇J is two numpy calls in all.
    """

    vec: np.ndarray
    theta: dict[int, np.ndarray]
    params: Params


def flat_params(layers: tuple[int, ...], dtype: type = np.float64) -> FlatParams:
    """Zero parameters for these layer sizes, laid out as FlatParams describes."""
    s = tuple(int(v) for v in layers)
    vec = np.zeros(sum(s[l] * (1 + s[l - 1]) for l in range(1, len(s))), dtype)
    theta, W, b, off = {}, {}, {}, 0
    for l in range(1, len(s)):
        theta[l] = vec[off : off + s[l] * (1 + s[l - 1])].reshape(s[l], 1 + s[l - 1])
        W[l], b[l] = theta[l][:, 1:], theta[l][:, 0]
        off += theta[l].size
    return FlatParams(vec, theta, Params(W, b))


def copy_params(dst: FlatParams, src: Params) -> FlatParams:
    """Write src's W[l], b[l] into dst (any layout to the flat one); returns dst."""
    for l in src.W:
        np.copyto(dst.params.W[l], src.W[l], casting="unsafe")
        np.copyto(dst.params.b[l], src.b[l], casting="unsafe")
    return dst


def _augmented(s: int, w: int, dtype: type) -> np.ndarray:
    """An (1 + s, w) array for [1; a]: row 0 is ones, rows 1… are left for a."""
    buf = np.empty((1 + s, w), dtype)
    buf[0] = 1.0
    return buf


class Workspace:
    """Buffers for one chunk of up to `width` examples, allocated once and reused every epoch.

    Per layer δ⁽ˡ⁾; a⁽ˡ⁾ inside [1; a⁽ˡ⁾] (FlatParams) for the hidden layers, where z⁽ˡ⁾ is computed
    and f applied in place (half the memory traffic; f′ is computed from a); z and a of the output
    layer (the same buffer for an identity output); one f′ buffer
    shared by the hidden layers (each f′ is used at once); [1; x] for input columns read every
    epoch (a memory map); the output step's scratch; and G, the chunk's sums δ⁽ˡ⁺¹⁾[1; a⁽ˡ⁾]ᵀ
    (laid out as flat_params). Touching freshly allocated memory is slow: a training run makes
    these once per worker. z⁽ⁿˡ⁾, δ, f′ are flat, so a narrower last chunk gets contiguous (s_l, w)
    views of the same memory; [1; a] buffers are made per chunk width (the ones row must stay put).
    """

    def __init__(self, arch: Architecture, width: int, dtype: type = np.float64) -> None:
        self.arch, self.width, self.dtype = arch, int(width), np.dtype(dtype)
        s, nl, width = arch.layers, arch.nl, self.width
        self._z = {nl: np.empty(s[-1] * width, dtype)}  # a hidden layer's z is written into its a (below)
        self._delta = {l: np.empty(s[l - 1] * width, dtype) for l in range(2, nl + 1)}
        self._fp = np.empty(max(s[1:-1], default=0) * width, dtype)
        self._out = np.empty(s[-1] * width, dtype) if arch.f_out.name != "identity" else None
        self.scratch = OutputScratch(s[-1], width, dtype)
        self.G = flat_params(s, dtype)
        self._views: dict[int, dict] = {}

    def views(self, w: int) -> dict:
        """Views for a chunk of w ≤ width examples, keyed by name and then by layer l:
        z, a, aug ([1; a], hidden layers), delta, fp, x_aug (a [1; x] buffer), scratch."""
        if w not in self._views:
            s, nl, dt = self.arch.layers, self.arch.nl, self.dtype

            def shaped(bufs):
                return {l: buf[: s[l - 1] * w].reshape(s[l - 1], w) for l, buf in bufs.items()}

            z, delta = shaped(self._z), shaped(self._delta)
            aug = {l: _augmented(s[l - 1], w, dt) for l in range(2, nl)}
            a = {l: aug[l][1:] for l in aug}
            for l in range(2, nl):
                # hidden layers: z⁽ˡ⁾ is computed where a⁽ˡ⁾ goes and f is applied in place — f′ needs
                # a alone: σ′ = a(1 − a), tanh′ = 1 − a², relu′ = [a > 0] = [z > 0], identity′ = 1
                z[l] = a[l]
            a[nl] = z[nl] if self._out is None else self._out[: s[-1] * w].reshape(s[-1], w)
            fp = {l: self._fp[: s[l - 1] * w].reshape(s[l - 1], w) for l in range(2, nl)}
            self._views[w] = {"z": z, "a": a, "aug": aug, "delta": delta, "fp": fp, "x_aug": None,
                              "scratch": self.scratch.view(w)}
        return self._views[w]

    def x_buffer(self, w: int) -> np.ndarray:
        """[1; x] for a chunk of w examples whose columns are read every epoch."""
        v = self.views(w)
        if v["x_aug"] is None:
            v["x_aug"] = _augmented(self.arch.layers[0], w, self.dtype)
        return v["x_aug"]

    def y_buffer(self, w: int) -> np.ndarray:
        """y (s_nl, w) for a chunk of w examples whose targets are read every epoch (a column source)."""
        v = self.views(w)
        if v.get("y") is None:
            v["y"] = np.empty((self.arch.layers[-1], w), self.dtype)
        return v["y"]


def decay_scratch(layers: tuple[int, ...], lam: float, dtype: type) -> Optional["FlatParams"]:
    """The buffer finish() builds λW in, laid out as θ (None for λ = 0: no decay term)."""
    return flat_params(layers, dtype) if lam else None


def finish(loss_sum: float, G: np.ndarray, m: int, lam: float, theta: "FlatParams", out: np.ndarray,
           scratch: Optional["FlatParams"], with_reg: bool = True) -> Cost:
    """The one place where sums over examples become the cost and its gradient:

        J_data  = (1/m) Σᵢ loss                       J_reg = (λ/2) Σₗ ‖W⁽ˡ⁾‖²
        ∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ + λW⁽ˡ⁾       ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾

    G: the sums [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] laid out as flat_params (chunks, threads, a minibatch's rows
    or a cluster's partitions, added up in a fixed order); ∇J is written into `out` (may be G itself).
    scratch: decay_scratch(λ). Returns Cost(data_cost, reg_cost); with_reg False leaves J_reg out
    (a minibatch step needs ∇J and only a finite J_data: the epoch's J over the train split has J_reg).
    """
    np.divide(G, m, out)  # (1/m) Σᵢ δ⁽ˡ⁺¹⁾ a⁽ˡ⁾ᵀ and (1/m) Σᵢ δ⁽ˡ⁺¹⁾
    if lam:  # + λ W⁽ˡ⁾, never λb: λθ over the whole flat vector (one pass), its b⁽ˡ⁾ entries then zeroed
        np.multiply(theta.vec, lam, scratch.vec)
        for b in scratch.params.b.values():
            b.fill(0.0)
        np.add(out, scratch.vec, out)
    if not with_reg:
        return Cost({"data_cost": loss_sum / m})
    return Cost.of(loss_sum / m, reg_cost(theta.params.W, lam) if lam else 0.0)


def zeros_like_params(params: Params) -> Params:
    return Params({l: np.zeros_like(w) for l, w in params.W.items()}, {l: np.zeros_like(v) for l, v in params.b.items()})


class _Chunk(NamedTuple):
    """Everything one chunk of examples needs every epoch, resolved once: views, not lookups."""

    load: Optional[Callable[[], Any]]  # reads x's columns into aug[1] (a memory map); None: kept in memory
    z: list  # indexed by layer l, as in the notes (index 0 unused)
    a: list
    aug: list  # [1; a⁽ˡ⁾]
    augT: list  # [1; a⁽ˡ⁾]ᵀ, the transposed views δ[1; a]ᵀ takes
    delta: list
    fp: list
    y: np.ndarray
    ysum: Optional[np.ndarray]
    scratch: OutputScratch
    dtheta: list  # where the chunk's sums go: the gradient itself for chunk 0, else its worker's G
    G_vec: Optional[np.ndarray]  # None for chunk 0: nothing to add


def _forward_chunk(f, step, nl, theta, c: _Chunk) -> float:
    """The forward pass over one chunk, into its buffers, and the output step; returns Σᵢ loss."""
    dot, z, a, aug = np.dot, c.z, c.a, c.aug
    if c.load is not None:
        c.load()  # a⁽¹⁾ = x: this chunk's columns, read in the arithmetic dtype
    for l in range(1, nl - 1):
        dot(theta[l], aug[l], z[l + 1])  # z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾ = Θ⁽ˡ⁾[1; a⁽ˡ⁾]
        f(z[l + 1], a[l + 1])  # a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾), in place: z[l+1] is a[l+1], inside [1; a⁽ˡ⁺¹⁾]
    dot(theta[nl - 1], aug[nl - 1], z[nl])  # z⁽ⁿˡ⁾ = Θ⁽ⁿˡ⁻¹⁾[1; a⁽ⁿˡ⁻¹⁾]
    # a⁽ⁿˡ⁾ = f_out(z⁽ⁿˡ⁾) and δ⁽ⁿˡ⁾ = ∂loss/∂z⁽ⁿˡ⁾, e.g. −(y − a⁽ⁿˡ⁾)·f′(z⁽ⁿˡ⁾) for the squared error
    return step(z[nl], a[nl], c.y, c.ysum, c.delta[nl], c.scratch)


def _backprop_chunk(f, fprime, step, nl, theta, WT, c: _Chunk, delta_terms: Optional[list] = None) -> float:
    """Forward (_forward_chunk) and backward over one chunk of columns; writes δ⁽ˡ⁺¹⁾[1; a⁽ˡ⁾]ᵀ = [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ]
    into c.dtheta[l]; returns Σᵢ loss over the chunk.

    theta[l] = Θ⁽ˡ⁾ = [b⁽ˡ⁾ | W⁽ˡ⁾], WT[l] = W⁽ˡ⁾ᵀ (FlatParams). Every product writes into a
    workspace buffer; np.dot with a positional out is numpy's cheapest call for it.
    delta_terms: None, or per layer l a column (s_l, 1) (None where there is none) added to W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾
    before the f′ product, the same for every example: the sparsity term β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂)).
    """
    dot, z, a, delta = np.dot, c.z, c.a, c.delta
    loss_sum = _forward_chunk(f, step, nl, theta, c)
    for l in range(nl - 1, 0, -1):
        dot(delta[l + 1], c.augT[l], c.dtheta[l])  # [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾ a⁽ˡ⁾ᵀ]
        if l > 1:  # δ⁽¹⁾ is never needed: the input has no parameters below it
            dot(WT[l], delta[l + 1], delta[l])  # δ⁽ˡ⁾ = (W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾) · f′(z⁽ˡ⁾)
            if delta_terms is not None and delta_terms[l] is not None:  # δ⁽ˡ⁾ = (W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾ + β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂))) · f′
                np.add(delta[l], delta_terms[l], delta[l])
            if fprime is not None:  # identity: f′ = 1. (z[l] is a[l] here: every f′ reads a alone)
                np.multiply(delta[l], fprime(z[l], a[l], c.fp[l]), delta[l])
    return loss_sum


def _activation_chunk(f, nl, theta, c: _Chunk, out: list) -> None:
    """The first of the two passes a sparsity penalty needs: the forward pass over one chunk up to
    the last hidden layer, writing Σᵢ aᵢ⁽ˡ⁾ (over the chunk's columns) into out[l] for l = 2 … nl−1."""
    dot, z, a, aug = np.dot, c.z, c.a, c.aug
    if c.load is not None:
        c.load()  # a⁽¹⁾ = x, as _forward_chunk reads it
    for l in range(1, nl - 1):
        dot(theta[l], aug[l], z[l + 1])  # z⁽ˡ⁺¹⁾ = Θ⁽ˡ⁾[1; a⁽ˡ⁾]
        f(z[l + 1], a[l + 1])  # a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾), in place
        np.add.reduce(a[l + 1], axis=1, out=out[l + 1])  # Σᵢ aᵢ⁽ˡ⁺¹⁾ over this chunk


def _reader(x: Any, s: int, e: int, buf: np.ndarray) -> Callable[[], Any]:
    return lambda: x.read(s, e, buf)


def _both(first: Optional[Callable[[], Any]], second: Callable[[], Any]) -> Callable[[], Any]:
    """A chunk's loader that reads x (when it is a column source) and then y."""
    if first is None:
        return second
    return lambda: (first(), second())


class Backprop:
    """J(θ) and ∇J(θ) over one training set x (s_1, m), y (s_nl, m), set up once, evaluated per epoch.

    Everything that does not change between epochs is resolved here: chunk boundaries, every
    buffer view, the transposed views, the loss/activation dispatch, y in the arithmetic dtype,
    and x as [1; x] blocks (FlatParams: the bias rides inside the products).

    The sum over examples is taken chunk by chunk, chunk c holding columns [c·width, (c+1)·width):
    chunk 0 writes its sums straight into the gradient, every later chunk into its worker's G,
    which is then added to the gradient in chunk order. So the result depends on `width` alone,
    bit for bit — never on how many pool workers computed it. With a pool the chunks are dealt out
    round-robin to its workers (parallel.Pool: numpy releases the GIL in BLAS and in elementwise
    loops, so both the products and the elementwise work run on every core; BLAS then runs one
    thread each, as parallel.for_training arranges).

    x may be an array — copied once into [1; x] blocks, one per chunk, in the arithmetic dtype (one
    more copy of x for the run) — or a column source with .shape (s_1, m) and .read(start, stop,
    out) that writes columns start…stop−1 into out, called for every chunk every epoch (a memory-
    mapped file read chunk by chunk: memory stays bounded by the chunk, whatever m is). y likewise:
    an array, or a column source of the encoded targets (s_nl, m) read with x every epoch.
    Call it inside np.errstate(over="ignore"): sigmoid's exp(−z) may overflow harmlessly, and the
    loop silences that once rather than on every call.
    """

    def __init__(
        self,
        arch: Architecture,
        x: Any,
        y: np.ndarray,
        lam: float,
        dtype: type = np.float64,
        width: Optional[int] = None,
        pool: Any = None,
        workspaces: Optional[list] = None,
    ) -> None:
        self.arch, self.lam, self.dtype = arch, float(lam), np.dtype(dtype)
        self.m = m = int(x.shape[1])
        if m < 1:
            raise ModelError("backprop needs at least one example (x has no columns)")
        width = m if not width else max(1, min(int(width), m))
        bounds = [(s, min(s + width, m)) for s in range(0, m, width)]
        self.pool = pool
        self.threads = 1 if pool is None else max(1, min(pool.size, len(bounds)))
        if workspaces is None:
            workspaces = [Workspace(arch, width, self.dtype) for _ in range(self.threads)]
        self.workspaces = workspaces
        self.grad = flat_params(arch.layers, self.dtype)  # ∇J: .vec, .theta, .params
        self.g, self.grads = self.grad.vec, self.grad.params
        self._own = flat_params(arch.layers, self.dtype)  # θ copied here when given as plain Params
        self._decay = decay_scratch(arch.layers, self.lam, self.dtype)
        self.theta_now: Optional[FlatParams] = None
        self._f, self._step = arch.f.loop_f, output_step(arch.loss_fn, arch.f_out)
        self._fprime = None if arch.f.name == "identity" else arch.f.fprime
        self._nl = arch.nl
        self.chunks = [self._chunk(c, s, e, x, y) for c, (s, e) in enumerate(bounds)]
        self._WT: dict[int, tuple] = {}
        self._asums: Optional[list] = None  # activation_sums' per-chunk vectors, made when first asked for

    def _chunk(self, c: int, s: int, e: int, x: Any, y: np.ndarray) -> _Chunk:
        ws = self.workspaces[c % len(self.workspaces)]
        nl = self.arch.nl
        v = ws.views(e - s)
        aug = dict(v["aug"])
        a = dict(v["a"])
        if isinstance(x, np.ndarray):  # [1; x] for this chunk, made once
            aug[1] = _augmented(x.shape[0], e - s, self.dtype)
            np.copyto(aug[1][1:], x[:, s:e], casting="unsafe")
            load = None
        else:  # a column source: read into the workspace's [1; x] every epoch
            aug[1] = ws.x_buffer(e - s)
            load = _reader(x, s, e, aug[1][1:])
        a[1] = aug[1][1:]
        if isinstance(y, np.ndarray):
            yc = np.ascontiguousarray(y[:, s:e], dtype=self.dtype)
            ysum = losses.target_sums(yc)
        else:  # targets as a column source too: read with x every epoch; memory bounded by the chunk
            yc = ws.y_buffer(e - s)
            ysum = losses.target_sums(y.read(s, e, yc))  # None for one-hot targets: nothing kept
            ysum = None if ysum is None else ysum.copy()
            load = _both(load, _reader(y, s, e, yc))
        out = self.grad if c == 0 else ws.G

        def listed(d):
            return [d.get(l) for l in range(nl + 1)]

        return _Chunk(load, listed(v["z"]), listed(a), listed(aug), [None] + [aug[l].T for l in range(1, nl)],
                      listed(v["delta"]), listed(v["fp"]), yc, ysum, v["scratch"],
                      listed(out.theta), None if c == 0 else ws.G.vec)

    def _theta(self, params: Any) -> tuple:
        """(FlatParams, Θ⁽ˡ⁾ list, W⁽ˡ⁾ᵀ list) for params, resolved once per FlatParams object; plain
        Params are copied into this Backprop's own FlatParams on every call."""
        if not isinstance(params, FlatParams):  # never cached: its arrays may change in place
            params = copy_params(self._own, params)
            if id(params) in self._WT:
                return self._WT[id(params)]
        nl = self._nl
        # the entry holds params itself, so its id cannot be reused while the entry exists
        self._WT[id(params)] = r = (params, [None] + [params.theta[l] for l in range(1, nl)],
                                    [None] + [params.params.W[l].T for l in range(1, nl)])
        return r

    def sums(self, params: Any, delta_terms: Optional[list] = None) -> float:
        """The additive sums at params: returns Σᵢ loss; writes [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] into self.g
        (not yet divided by m: finish() does that, once, for every source of sums).
        delta_terms: per hidden layer l, a column (s_l, 1) added to every example's W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ before the
        f′ product (the sparsity term, which the objective makes from activation_sums); None: none."""
        fp, theta, WT = self._WT.get(id(params)) or self._theta(params)  # keyed by the object: FlatParams are kept
        f, fprime, step, nl, g = self._f, self._fprime, self._step, self._nl, self.g
        self.theta_now = fp
        if self.threads > 1:
            return self._run_threads(theta, WT, delta_terms)
        loss_sum = 0.0
        for c in self.chunks:
            loss_sum += _backprop_chunk(f, fprime, step, nl, theta, WT, c, delta_terms)
            if c.G_vec is not None:
                np.add(g, c.G_vec, g)  # chunk sums added in chunk order
        return loss_sum

    def activation_sums(self, params: Any) -> dict[int, np.ndarray]:
        """{l: Σᵢ aᵢ⁽ˡ⁾} over all m examples for each hidden layer l = 2 … nl−1 (vectors of length s_l):
        the additive first pass of the sparsity penalty (ρ̂ = Σᵢ a⁽ˡ⁾ / m). Each chunk sums its own
        columns; the chunk sums are added in chunk order, so the result depends on `width` alone."""
        _, theta, _ = self._WT.get(id(params)) or self._theta(params)
        nl, chunks = self._nl, self.chunks
        if self._asums is None:  # one vector per chunk and hidden layer, made at the first call
            self._asums = [[None, None] + [np.empty(s, self.dtype) for s in self.arch.layers[1:-1]] + [None]
                           for _ in chunks]
        head = (self._f, nl, theta)
        if self.threads > 1:
            T, run = self.threads, self.pool.run
            for r in range(0, len(chunks), T):
                run(_activation_chunk, [head + (c, self._asums[k]) for k, c in enumerate(chunks[r : r + T], r)])
        else:
            for c, out in zip(chunks, self._asums):
                _activation_chunk(*head, c, out)
        total = {l: self._asums[0][l].copy() for l in range(2, nl)}
        for out in self._asums[1:]:
            for l in total:
                np.add(total[l], out[l], total[l])  # chunk sums added in chunk order
        return total

    def __call__(self, params: Any) -> Cost:
        """J(θ) at params (FlatParams, or Params copied into FlatParams); ∇J(θ) into self.grad."""
        loss_sum = self.sums(params)
        return finish(loss_sum, self.g, self.m, self.lam, self.theta_now, self.g, self._decay)

    def each_output(self, params: Any):
        """The forward half chunk by chunk, in chunk order: yields (Σᵢ loss, a⁽ⁿˡ⁾, y) of each chunk, views
        valid until the next step (memory bounded by the chunk: metrics of a split read from disk)."""
        _, theta, _ = self._WT.get(id(params)) or self._theta(params)
        f, step, nl = self._f, self._step, self._nl
        for c in self.chunks:
            with np.errstate(over="ignore", invalid="ignore"):  # as in the training loop
                loss = _forward_chunk(f, step, nl, theta, c)
            yield loss, c.a[nl], c.y

    def outputs(self, params: Any, h: Optional[np.ndarray] = None) -> tuple[float, np.ndarray]:
        """The forward half alone: (J_data, h_{W,b}(x)) at params, h of shape (s_nl, m).

        J_data is summed over the same chunks in the same order as __call__, so it equals the J_data
        of __call__ to the last bit. With one chunk, h is a view of its buffer, valid until the next
        call; otherwise it is written into `h` (made here when not given).
        """
        _, theta, _ = self._WT.get(id(params)) or self._theta(params)
        f, step, nl, chunks = self._f, self._step, self._nl, self.chunks
        with np.errstate(over="ignore", invalid="ignore"):  # as in the training loop
            if len(chunks) == 1:
                return _forward_chunk(f, step, nl, theta, chunks[0]) / self.m, chunks[0].a[nl]
            if h is None:
                h = np.empty((self.arch.layers[-1], self.m), self.dtype)
            loss_sum, s = 0.0, 0
            for c in chunks:
                loss_sum += _forward_chunk(f, step, nl, theta, c)
                w = c.y.shape[1]
                h[:, s : s + w] = c.a[nl]
                s += w
        return loss_sum / self.m, h

    def _run_threads(self, theta, WT, delta_terms: Optional[list] = None) -> float:
        """Round r gives chunk r·T + k to worker k of the pool (worker 0 is this thread)."""
        T, chunks, g, run = self.threads, self.chunks, self.g, self.pool.run
        head = (self._f, self._fprime, self._step, self._nl, theta, WT)
        loss_sum = 0.0
        for r in range(0, len(chunks), T):
            batch = chunks[r : r + T]
            for c, loss in zip(batch, run(_backprop_chunk, [head + (c, delta_terms) for c in batch])):
                loss_sum += loss
                if c.G_vec is not None:
                    np.add(g, c.G_vec, g)  # chunk sums added in chunk order
        return loss_sum

    def close(self) -> None:
        """Nothing to release (the pool belongs to the caller); kept for use with `with`."""

    def __enter__(self) -> "Backprop":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class BatchSums:
    """The additive sums of backprop over a chosen subset of the examples: a minibatch.

    X (m, s_1) holds the examples as rows (the files' layout), Y (s_nl, m) the targets as columns.
    [1; x] is kept as rows, Xa = [1 | X] of shape (m, 1 + s_1), so that a batch is gathered with one
    row copy per example into a reused buffer; the products take it transposed (Θ⁽¹⁾[1; x] = Θ⁽¹⁾Xaᵀ,
    δ⁽²⁾[1; x]ᵀ = δ⁽²⁾Xa: BLAS reads either layout). select(idx) gathers; sums(θ) is backprop over them.
    """

    def __init__(self, arch: Architecture, X: np.ndarray, Y: np.ndarray, batch_size: int,
                 dtype: type = np.float64) -> None:
        self.arch, self.dtype = arch, np.dtype(dtype)
        m = int(X.shape[0])
        self.Xa = np.empty((m, 1 + arch.layers[0]), self.dtype)
        self.Xa[:, 0] = 1.0
        np.copyto(self.Xa[:, 1:], X, casting="unsafe")
        self.Y = np.ascontiguousarray(Y, dtype=self.dtype)
        self._ysum = losses.target_sums(self.Y)  # None: every target sums to 1 (one-hot)
        self.batch_size = max(1, min(int(batch_size), m))
        self.ws = Workspace(arch, self.batch_size, self.dtype)
        self.grad = flat_params(arch.layers, self.dtype)
        self.g = self.grad.vec
        self._f, self._step = arch.f.loop_f, output_step(arch.loss_fn, arch.f_out)
        self._fprime = None if arch.f.name == "identity" else arch.f.fprime
        self._nl = arch.nl
        self._by_width: dict[int, tuple] = {}
        self._WT: dict[int, tuple] = {}
        self._own = flat_params(arch.layers, self.dtype)
        self._cur: Optional[_Chunk] = None
        self.m = 0  # examples in the current selection
        self.theta_now: Optional[FlatParams] = None

    def _for_width(self, w: int) -> tuple:
        if w not in self._by_width:
            nl, v = self._nl, self.ws.views(w)
            xbuf = np.empty((w, 1 + self.arch.layers[0]), self.dtype)
            ybuf = np.empty((self.arch.layers[-1], w), self.dtype)
            ysum = None if self._ysum is None else np.empty(w, self.dtype)
            aug, a = dict(v["aug"]), dict(v["a"])
            aug[1] = xbuf.T  # [1; x] as the transpose of the gathered rows
            a[1] = aug[1][1:]

            def listed(d):
                return [d.get(l) for l in range(nl + 1)]

            augT = [None, xbuf] + [aug[l].T for l in range(2, nl)]
            chunk = _Chunk(None, listed(v["z"]), listed(a), listed(aug), augT, listed(v["delta"]), listed(v["fp"]),
                           ybuf, ysum, v["scratch"], listed(self.grad.theta), None)
            self._by_width[w] = (chunk, xbuf, ybuf, ysum)
        return self._by_width[w]

    def select(self, idx: np.ndarray) -> None:
        """Make the examples idx (row numbers, each in range(m)) the current batch."""
        chunk, xbuf, ybuf, ysum = self._for_width(len(idx))
        # mode="clip": idx comes from a permutation of range(m), always in range; the default "raise"
        # gathers into a temporary before copying to out, twice the time of a large batch's gather
        np.take(self.Xa, idx, axis=0, out=xbuf, mode="clip")
        np.take(self.Y, idx, axis=1, out=ybuf, mode="clip")
        if ysum is not None:
            np.take(self._ysum, idx, out=ysum, mode="clip")
        self._cur, self.m = chunk, len(idx)

    _theta = Backprop._theta

    def sums(self, params: Any, delta_terms: Optional[list] = None) -> float:
        """Σᵢ loss over the current batch; its [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] into self.g (delta_terms: as Backprop.sums)."""
        fp, theta, WT = self._WT.get(id(params)) or self._theta(params)
        self.theta_now = fp
        return _backprop_chunk(self._f, self._fprime, self._step, self._nl, theta, WT, self._cur, delta_terms)

    def activation_sums(self, params: Any) -> dict[int, np.ndarray]:
        """{l: Σᵢ aᵢ⁽ˡ⁾} over the current batch for each hidden layer (as Backprop.activation_sums):
        with a sparsity penalty, a minibatch step's ρ̂ is its batch's mean activation."""
        _, theta, _ = self._WT.get(id(params)) or self._theta(params)
        out = [None, None] + [np.empty(s, self.dtype) for s in self.arch.layers[1:-1]] + [None]
        _activation_chunk(self._f, self._nl, theta, self._cur, out)
        return {l: out[l] for l in range(2, self._nl)}


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
    A training run sets this up once instead (Backprop); this is the same computation, one-shot.
    """
    dtype = params.W[1].dtype
    bp = Backprop(arch, x, y, lam, dtype, width=ws.width if ws is not None else None,
                  workspaces=[ws] if ws is not None else None)
    with np.errstate(over="ignore"):  # sigmoid's exp(−z) overflows harmlessly for z < −709
        c = bp(params)
    if grads is None:
        grads = zeros_like_params(params)
    for l in grads.W:
        np.copyto(grads.W[l], bp.grads.W[l])
        np.copyto(grads.b[l], bp.grads.b[l])
    return c, grads
