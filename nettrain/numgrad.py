"""Gradient checking: backprop's ∂J/∂W⁽ˡ⁾, ∂J/∂b⁽ˡ⁾ against central differences, block by block.

    g_num = (J(θ + ε eᵢ) − J(θ − ε eᵢ)) / (2ε),   ε = 10⁻⁴ (UFLDL)
    refined by default with one Richardson step, (4·g_num(ε/2) − g_num(ε)) / 3, which cancels the
    ε² truncation error (10⁻⁸ relative) so that agreement to 10⁻¹⁰ and better becomes visible
    relative difference of a block = ‖g_num − g_bp‖ / ‖g_num + g_bp‖

As the tutorial advises, the check is made in stages, so that a failure says which part is wrong:
"data" (λ = 0: the data term alone), "reg" (the weight-decay term alone: backprop(λ) − backprop(0)
against the numerical gradient of J_reg), and "both". With a sparsity penalty (the sparse
autoencoder) the stages are data → reg → sparsity → all: "sparsity" is the penalty alone (the
objective's gradient with β minus the one without, against the numerical gradient of
J_sparse = β Σⱼ KL(ρ‖ρ̂ⱼ)), "all" the whole J. The numerical differentiator itself is first
checked on h(x) = x₁² + 3x₁x₂ at x = (2, 88), whose gradient is (268, 6).

Checks are made in float64 whatever the training dtype: ε = 10⁻⁴ is below float32's resolution.

Left out on purpose: no file, YAML or terminal code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator, Optional

import numpy as np

from . import network, sums
from .activations import HIDDEN_ACTIVATIONS
from .losses import LOSSES
from .network import Architecture, Params, Sparsity
from .objective import Objective

EPSILON = 1e-4
GOOD = 1e-7  # below: backprop is right
ACCEPTABLE = 1e-4  # below: right up to kinks (ReLU at z = 0) or float noise; above: wrong
STAGES = ("data", "reg", "both")
SPARSE_STAGES = ("data", "reg", "sparsity", "all")


def central_difference(
    J: Callable[[np.ndarray], float], theta: np.ndarray, eps: float = EPSILON, entries: Optional[np.ndarray] = None
) -> np.ndarray:
    """gᵢ = (J(θ + ε eᵢ) − J(θ − ε eᵢ)) / 2ε for every element i of θ (any shape): the tutorial's formula.

    θ is perturbed in place, one element at a time, and restored exactly afterwards. The error
    of this estimate is (ε²/6)·∂³J/∂θᵢ³ + rounding: about 10⁻⁸ relative for ε = 10⁻⁴.
    entries: only these flat indices of θ (sample_entries); the result then holds one gᵢ per entry.
    """
    flat = theta.reshape(-1)  # a view: perturbing flat perturbs θ
    idx = range(flat.size) if entries is None else entries
    g = np.zeros(len(idx), dtype=np.float64)
    for k, i in enumerate(idx):
        old = flat[i]
        flat[i] = old + eps
        j_plus = J(theta)
        flat[i] = old - eps
        j_minus = J(theta)
        flat[i] = old
        g[k] = (j_plus - j_minus) / (2 * eps)
    return g.reshape(theta.shape) if entries is None else g


def numerical_gradient(
    J: Callable[[np.ndarray], float],
    theta: np.ndarray,
    eps: float = EPSILON,
    richardson: bool = True,
    entries: Optional[np.ndarray] = None,
) -> np.ndarray:
    """The numerical gradient of J at θ (entries: at those flat indices only, as central_difference).

    richardson=False: the central difference D(ε) alone, as in the tutorial.
    richardson=True:  (4·D(ε/2) − D(ε)) / 3, the same formula at ε and ε/2 combined so that the
                      ε² error terms cancel (Richardson extrapolation): error O(ε⁴), which lets
                      a correct backprop agree to 10⁻¹⁰ instead of 10⁻⁸.
    """
    d_eps = central_difference(J, theta, eps, entries)
    if not richardson:
        return d_eps
    return (4.0 * central_difference(J, theta, eps / 2, entries) - d_eps) / 3.0


def sample_entries(size: int, max_entries: Optional[int], block: str) -> Optional[np.ndarray]:
    """Sorted flat indices of max_entries elements of a block of `size` entries named `block` (W1, …),
    drawn without replacement, seeded by the name: the same sample every time. None (every
    element) when the block is no bigger."""
    if not max_entries or size <= max_entries:
        return None
    rng = np.random.default_rng(list(block.encode("utf-8")))
    return np.sort(rng.choice(size, int(max_entries), replace=False))


def self_test() -> tuple[np.ndarray, float]:
    """The differentiator on h(x) = x₁² + 3x₁x₂ at (2, 88): returns (g_num, relative difference to (268, 6))."""
    x = np.array([2.0, 88.0])
    g = numerical_gradient(lambda v: v[0] ** 2 + 3 * v[0] * v[1], x)
    exact = np.array([268.0, 6.0])
    return g, relative_difference(g, exact)


def relative_difference(g_num: np.ndarray, g_bp: np.ndarray) -> float:
    """‖g_num − g_bp‖ / ‖g_num + g_bp‖ (0 when both are zero)."""
    den = float(np.linalg.norm(g_num + g_bp))
    num = float(np.linalg.norm(g_num - g_bp))
    if den == 0.0:
        return 0.0 if num == 0.0 else float("inf")
    return num / den


def verdict(rel: float) -> str:
    if rel < GOOD:
        return "good"
    if rel < ACCEPTABLE:
        return "acceptable"
    return "wrong"


@dataclass
class BlockResult:
    block: str
    rel_diff: float
    worst_index: list[int]
    worst_numerical: float
    worst_backprop: float
    worst_rel: float
    verdict: str
    checked: int = 0  # entries compared (all of them, or a random sample of a big block)
    size: int = 0  # entries in the block


@dataclass
class StageResult:
    case: str
    stage: str
    blocks: list[BlockResult] = field(default_factory=list)

    @property
    def worst(self) -> float:
        return max((b.rel_diff for b in self.blocks), default=0.0)


def compare_block(name: str, g_num: np.ndarray, g_bp: np.ndarray, entries: Optional[np.ndarray] = None) -> BlockResult:
    """Relative difference of a block and its worst element (elementwise |Δ| / (|g_num| + |g_bp|)).

    entries: g_num holds only these flat indices of the block g_bp (sample_entries); the comparison
    is over them, and the worst element is still named by its index in the block."""
    shape, size = g_bp.shape, g_bp.size
    if entries is not None:
        g_bp = g_bp.reshape(-1)[entries]
    diff = np.abs(g_num - g_bp)
    scale = np.abs(g_num) + np.abs(g_bp)
    elem = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    elem[(scale == 0) & (diff > 0)] = np.inf
    k = int(np.argmax(elem)) if elem.size else 0
    worst = int(k if entries is None else entries[k])
    rel = relative_difference(g_num, g_bp)
    return BlockResult(
        block=name,
        rel_diff=rel,
        worst_index=[int(i) for i in np.unravel_index(worst, shape)] if elem.size else [],
        worst_numerical=float(g_num.reshape(-1)[k]) if elem.size else 0.0,
        worst_backprop=float(g_bp.reshape(-1)[k]) if elem.size else 0.0,
        worst_rel=float(elem.reshape(-1)[k]) if elem.size else 0.0,
        verdict=verdict(rel),
        checked=int(elem.size),
        size=int(size),
    )


def check(
    arch: Architecture,
    params: Params,
    x: np.ndarray,
    y: np.ndarray,
    lam: float,
    case: str = "",
    eps: float = EPSILON,
    richardson: bool = True,
    max_entries: Optional[int] = None,
    progress: Optional[Callable[[int, int], None]] = None,
    sparsity: Optional[Sparsity] = None,
) -> list[StageResult]:
    """The three stages (data, reg, both) for one network, in float64 — with a sparsity penalty the four
    (data, reg, sparsity, all); λ = 0 leaves out reg. Returns one StageResult each.

    max_entries: a block with more entries is checked on that many of them, drawn at random (the
    same in every stage, seeded by the block's name) — a numerical gradient costs four evaluations
    of J per entry. progress(done, total): called after each block of each stage."""
    params = Params(
        {l: w.astype(np.float64) for l, w in params.W.items()}, {l: v.astype(np.float64) for l, v in params.b.items()}
    )
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    blocks = params.blocks()  # views of params: perturbing a block perturbs the network
    _, g0 = sums.backprop(arch, params, x, y, 0.0)
    _, g1 = sums.backprop(arch, params, x, y, lam)
    bp = {
        "data": g0.blocks(),
        "reg": {k: g1.blocks()[k] - g0.blocks()[k] for k in blocks},
        "both": g1.blocks(),
    }
    objective = {
        "data": lambda _: network.cost(arch, params, x, y, 0.0).J,
        "reg": lambda _: network.reg_cost(params.W, lam),
        "both": lambda _: network.cost(arch, params, x, y, lam).J,
    }
    if sparsity is not None:
        sparse = Objective(sums.Backprop(arch, x, y, 0.0), lam, sparsity)
        with np.errstate(over="ignore"):
            _, g2 = sparse(params)  # J_data + J_reg + J_sparse
        g_all = network.flat_params(arch.layers)
        g_all.vec[:] = g2
        bp["all"] = g_all.params.blocks()
        bp["sparsity"] = {k: bp["all"][k] - g1.blocks()[k] for k in blocks}
        objective["sparsity"] = lambda _: network.sparse_cost(sparse.rho_hat(params), sparsity)
        objective["all"] = lambda _: sparse.cost(params).J
    entries = {name: sample_entries(theta.size, max_entries, name) for name, theta in blocks.items()}
    results, done, total = [], 0, len(stages(lam, sparsity)) * len(blocks)
    if progress:
        progress(done, total)
    for stage in stages(lam, sparsity):
        res = StageResult(case, stage)
        for name, theta in blocks.items():
            g_num = numerical_gradient(objective[stage], theta, eps, richardson, entries[name])
            res.blocks.append(compare_block(name, g_num, bp[stage][name], entries[name]))
            done += 1
            if progress:
                progress(done, total)
        results.append(res)
    return results


def stages(lam: float, sparsity: Optional[Sparsity] = None) -> tuple[str, ...]:
    """The stages check() runs: with λ = 0 the reg and both stages would repeat the data stage (with a
    penalty, reg is left out and data → sparsity → all remain)."""
    if sparsity is not None:
        return SPARSE_STAGES if lam else tuple(s for s in SPARSE_STAGES if s != "reg")
    return STAGES if lam else STAGES[:1]


def passed(results: list[StageResult], kinks: bool = False) -> bool:
    """Every block good, or acceptable where the network has kinks (ReLU)."""
    allowed = ("good", "acceptable") if kinks else ("good",)
    return all(b.verdict in allowed for r in results for b in r.blocks)


@dataclass
class Case:
    name: str
    arch: Architecture
    lam: float
    x: np.ndarray
    y: np.ndarray
    params: Params
    sparsity: Optional[Sparsity] = None

    @property
    def kinks(self) -> bool:
        return "relu" in (self.arch.activation, self.arch.output_activation)


def _targets(arch: Architecture, m: int, rng: np.random.Generator) -> np.ndarray:
    """Targets that fit the output: one-hot for softmax, in (0, 1) for sigmoid, (−1, 1) for tanh."""
    k = arch.layers[-1]
    out = arch.output_activation
    if out == "softmax":
        return np.eye(k)[:, rng.integers(0, k, size=m)]
    if out == "sigmoid":
        return rng.uniform(0.05, 0.95, size=(k, m)) if arch.loss == "squared_error" else rng.integers(0, 2, (k, m)).astype(float)
    if out == "tanh":
        return rng.uniform(-0.9, 0.9, size=(k, m))
    return rng.normal(0.0, 1.0, size=(k, m))


BUILTIN_ARCHITECTURES = ((2, 3, 1), (3, 4, 3), (4, 5, 3, 2), (3, 6, 4))
# The sparse autoencoder: (layers, output, loss, ρ, β, λ); sigmoid hidden units, inputs in (0, 1), y = x
SPARSE_CASES = (((4, 3, 4), "sigmoid", "squared_error", 0.01, 3.0, 1e-4),
                ((5, 6, 5), "sigmoid", "squared_error", 0.1, 0.5, 0.0),
                ((4, 5, 3, 4), "identity", "squared_error", 0.05, 3.0, 0.1),
                ((6, 4, 6), "sigmoid", "cross_entropy", 0.3, 10.0, 1e-3))


def builtin_cases(seed: int = 0) -> Iterator[Case]:
    """Every allowed activation × output × loss pair, λ = 0 and λ = 0.1, over small architectures.

    (3, 6, 4) with identity output is multi-output regression; softmax needs ≥ 2 outputs.
    """
    rng = np.random.default_rng(seed)
    m = 5
    for loss_name, loss in LOSSES.items():
        for out in loss.outputs:
            for act in HIDDEN_ACTIVATIONS:
                for layers in BUILTIN_ARCHITECTURES:
                    if out == "softmax" and layers[-1] < 2:
                        continue
                    for lam in (0.0, 0.1):
                        arch = Architecture(layers, act, out, loss_name)
                        params = network.init_params(layers, "normal", rng, std=0.5)
                        for v in params.b.values():
                            v[:] = rng.normal(0.0, 0.5, size=v.shape)
                        x = rng.normal(0.0, 1.0, size=(layers[0], m))
                        y = _targets(arch, m, rng)
                        name = f"{'-'.join(map(str, layers))} {act}→{out} {loss_name} λ={lam:g}"
                        yield Case(name, arch, lam, x, y, params)


NO_HIDDEN_LAYERS = (4, 3)  # [n, K]: softmax regression with a softmax output and cross-entropy


def no_hidden_cases(seed: int = 0) -> Iterator[Case]:
    """Every allowed output × loss pair with no hidden layer, λ = 0 and λ = 0.1: the δ recursion never
    runs, and ∂J/∂W⁽¹⁾ = (1/m) Σᵢ δ⁽²⁾xᵢᵀ + λW⁽¹⁾ comes from the output δ alone. model.activation
    applies to no unit (sigmoid is given, and unused)."""
    rng = np.random.default_rng(seed)
    m, layers = 5, NO_HIDDEN_LAYERS
    for loss_name, loss in LOSSES.items():
        for out in loss.outputs:
            for lam in (0.0, 0.1):
                arch = Architecture(layers, "sigmoid", out, loss_name)
                params = network.init_params(layers, "normal", rng, std=0.5)
                params.b[1][:] = rng.normal(0.0, 0.5, size=params.b[1].shape)
                x = rng.normal(0.0, 1.0, size=(layers[0], m))
                name = f"{'-'.join(map(str, layers))} no hidden→{out} {loss_name} λ={lam:g}"
                yield Case(name, arch, lam, x, _targets(arch, m, rng), params)


def sparse_cases(seed: int = 0) -> Iterator[Case]:
    """The sparsity penalty (SPARSE_CASES): several ρ, β, λ and widths, one or two hidden layers, y = x."""
    rng = np.random.default_rng(seed)
    m = 5
    for layers, out, loss_name, rho, beta, lam in SPARSE_CASES:
        arch = Architecture(layers, "sigmoid", out, loss_name)
        params = network.init_params(layers, "normal", rng, std=0.5)
        for v in params.b.values():
            v[:] = rng.normal(0.0, 0.5, size=v.shape)
        x = rng.uniform(0.1, 0.9, size=(layers[0], m))
        name = f"{'-'.join(map(str, layers))} sigmoid→{out} {loss_name} λ={lam:g} sparse ρ={rho:g} β={beta:g}"
        yield Case(name, arch, lam, x, x.copy(), params, Sparsity(rho, beta))


def suite(seed: int = 0) -> Iterator[Case]:
    """`nettrain gradcheck`'s built-in suite: builtin_cases, no_hidden_cases, then sparse_cases."""
    yield from builtin_cases(seed)
    yield from no_hidden_cases(seed)
    yield from sparse_cases(seed)


def results_to_dict(results: list[StageResult]) -> list[dict]:
    return [{"case": r.case, "stage": r.stage, "blocks": [asdict(b) for b in r.blocks]} for r in results]


def run_cases(
    cases: Iterator[Case], richardson: bool = True, progress: Optional[Callable[[Case], None]] = None
) -> list[tuple[Case, list[StageResult], bool]]:
    """Check each case; return (case, stage results, passed) for each."""
    out = []
    for case in cases:
        results = check(case.arch, case.params, case.x, case.y, case.lam, case.name, richardson=richardson,
                        sparsity=case.sparsity)
        out.append((case, results, passed(results, case.kinks)))
        if progress:
            progress(case)
    return out
