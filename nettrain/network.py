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

Training computes the same equations with the numbers laid out for speed: all the parameters in
one vector (FlatParams), layer l's block being Θ⁽ˡ⁾ = [b⁽ˡ⁾ | W⁽ˡ⁾]; each layer's activations with a
row of ones on top, [1; a⁽ˡ⁾]. Then z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾ = Θ⁽ˡ⁾[1; a⁽ˡ⁾] and
[Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ] = δ⁽ˡ⁺¹⁾[1; a⁽ˡ⁾]ᵀ are one matrix product each. The equations of one
chunk of examples in that layout are here (forward_chunk, backprop_chunk, activation_chunk), and
finish, which turns sums over examples into J and ∇J; the engines that set up the buffers once per
run and add the chunks up — in chunks, on threads, over a minibatch's rows — are in sums.py.

Left out on purpose: no file, YAML or terminal code; nothing but numpy and nettrain's math; the
sums engines (sums.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, Activation
from .errors import ModelError
from .losses import Loss, OutputScratch, get_loss

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
    (.shape and x[:, a:b], as sums.Backprop reads it), read SOURCE_CHUNK examples at a time.
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


class Chunk(NamedTuple):
    """Everything one chunk of examples needs every epoch, resolved once: views, not lookups (the engines
    in sums.py make them: Backprop one per chunk of a split, BatchSums one per batch width)."""

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


def forward_chunk(f, step, nl, theta, c: Chunk) -> float:
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


def backprop_chunk(f, fprime, step, nl, theta, WT, c: Chunk, delta_terms: Optional[list] = None) -> float:
    """Forward (forward_chunk) and backward over one chunk of columns; writes δ⁽ˡ⁺¹⁾[1; a⁽ˡ⁾]ᵀ = [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ]
    into c.dtheta[l]; returns Σᵢ loss over the chunk.

    theta[l] = Θ⁽ˡ⁾ = [b⁽ˡ⁾ | W⁽ˡ⁾], WT[l] = W⁽ˡ⁾ᵀ (FlatParams). Every product writes into a
    workspace buffer; np.dot with a positional out is numpy's cheapest call for it.
    delta_terms: None, or per layer l a column (s_l, 1) (None where there is none) added to W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾
    before the f′ product, the same for every example: the sparsity term β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂)).
    """
    dot, z, a, delta = np.dot, c.z, c.a, c.delta
    loss_sum = forward_chunk(f, step, nl, theta, c)
    for l in range(nl - 1, 0, -1):
        dot(delta[l + 1], c.augT[l], c.dtheta[l])  # [Σᵢ δ⁽ˡ⁺¹⁾ | Σᵢ δ⁽ˡ⁺¹⁾ a⁽ˡ⁾ᵀ]
        if l > 1:  # δ⁽¹⁾ is never needed: the input has no parameters below it
            dot(WT[l], delta[l + 1], delta[l])  # δ⁽ˡ⁾ = (W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾) · f′(z⁽ˡ⁾)
            if delta_terms is not None and delta_terms[l] is not None:  # δ⁽ˡ⁾ = (W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾ + β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂))) · f′
                np.add(delta[l], delta_terms[l], delta[l])
            if fprime is not None:  # identity: f′ = 1. (z[l] is a[l] here: every f′ reads a alone)
                np.multiply(delta[l], fprime(z[l], a[l], c.fp[l]), delta[l])
    return loss_sum


def activation_chunk(f, nl, theta, c: Chunk, out: list) -> None:
    """The first of the two passes a sparsity penalty needs: the forward pass over one chunk up to
    the last hidden layer, writing Σᵢ aᵢ⁽ˡ⁾ (over the chunk's columns) into out[l] for l = 2 … nl−1."""
    dot, z, a, aug = np.dot, c.z, c.a, c.aug
    if c.load is not None:
        c.load()  # a⁽¹⁾ = x, as forward_chunk reads it
    for l in range(1, nl - 1):
        dot(theta[l], aug[l], z[l + 1])  # z⁽ˡ⁺¹⁾ = Θ⁽ˡ⁾[1; a⁽ˡ⁾]
        f(z[l + 1], a[l + 1])  # a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾), in place
        np.add.reduce(a[l + 1], axis=1, out=out[l + 1])  # Σᵢ aᵢ⁽ˡ⁺¹⁾ over this chunk
