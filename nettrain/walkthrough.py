"""One training example through the network, every quantity of backpropagation written out.

`explain(arch, params, x, y, i, lam)` follows the UFLDL equations for example i (column i of
x, y) and returns a plain dict of plain numbers (lists), for `nettrain explain` to render or
print as JSON:

    forward          z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾,  a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾),  f′(z⁽ˡ⁺¹⁾)   (network.forward)
    output error     δ⁽ⁿˡ⁾ = ∂loss/∂z⁽ⁿˡ⁾ (losses.py's Loss.delta), and the factors of its equation
    hidden errors    δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾ δⱼ⁽ˡ⁺¹⁾)·f′(zᵢ⁽ˡ⁾), the terms Wⱼᵢ⁽ˡ⁾δⱼ⁽ˡ⁺¹⁾ kept
    sparsity         (with a penalty) ρ̂⁽ˡ⁾ = (1/m) Σᵢ a⁽ˡ⁾(xᵢ) over the whole batch, KL(ρ‖ρ̂ⱼ), and the term
                     sⱼ⁽ˡ⁾ = β(−ρ/ρ̂ⱼ + (1−ρ)/(1−ρ̂ⱼ)) every example adds inside its hidden δ:
                     δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾ δⱼ⁽ˡ⁺¹⁾ + sᵢ⁽ˡ⁾)·f′(zᵢ⁽ˡ⁾)
    this example     ∂loss/∂Wᵢⱼ⁽ˡ⁾ = δᵢ⁽ˡ⁺¹⁾aⱼ⁽ˡ⁾,  ∂loss/∂bᵢ⁽ˡ⁾ = δᵢ⁽ˡ⁺¹⁾
                     beside the numerical derivative of the same single-example cost (no λ; with a
                     penalty, loss + Σₗ s⁽ˡ⁾·a⁽ˡ⁾(xᵢ) with s held at the batch's ρ̂: this example's
                     share of m·J_sparse's gradient, so that the shares average to ∂J_sparse)
    the batch        ∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ + λW⁽ˡ⁾   (sums.backprop on all m columns)

The hidden δ's are computed here explicitly, one equation at a time, so that the terms of each
sum can be shown; sums.backprop computes the same numbers with matrix products (the tests
check that they agree, and numgrad.numerical_gradient checks both).

Layout of the result: `layers[l-1]` holds layer l's z, a, f′, δ and the terms of its δ (they
use W⁽ˡ⁾, the weights *leaving* layer l), and the gradient of W⁽ˡ⁾, b⁽ˡ⁾. Arrays are nested
lists indexed from 0; the tutorial (and the text output) numbers units from 1.

`load(target)` is the thin glue that finds the weights and the train split for a config, a
checkpoint or a run folder (problem.py, trained.py), and `report(target, …)` the dict `nettrain explain
--json` prints; everything else here is numpy and nettrain's math.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # config.py (pydantic) is imported only when a config is read
    from .config import Config, Overrides

import numpy as np

from . import network, numgrad, sums
from .errors import UsageError
from .network import Architecture, Params, Sparsity
from .objective import Objective

__all__ = ["UsageError", "explain", "output_delta", "load", "report", "for_json", "check_layer", "Source"]


OUTPUT_FORMS = {
    # (loss, output activation or "elementwise") → (form, equation): how the text writes δ⁽ⁿˡ⁾ out
    ("squared_error", "elementwise"): ("-(y - a) f'(z)", "δ⁽ⁿˡ⁾ = −(y − a⁽ⁿˡ⁾)·f′(z⁽ⁿˡ⁾)"),
    ("squared_error", "softmax"): (
        "softmax jacobian",
        "δₖ⁽ⁿˡ⁾ = Σⱼ (∂aⱼ/∂zₖ)(aⱼ − yⱼ),  ∂aⱼ/∂zₖ = aⱼ(1[j=k] − aₖ)",
    ),
    ("cross_entropy", "softmax"): ("a sum(y) - y", "δ⁽ⁿˡ⁾ = a⁽ⁿˡ⁾·Σₖyₖ − y  (= a − y for one-hot y: f′ cancels)"),
    ("cross_entropy", "sigmoid"): ("a - y", "δ⁽ⁿˡ⁾ = a⁽ⁿˡ⁾ − y  (f′ = a(1 − a) cancels the loss's 1/(a(1 − a)))"),
}


def _f(arch: Architecture, l: int):
    """The activation of layer l (2 … nl): the output one for l = nl."""
    return arch.f_out if l == arch.nl else arch.f


def output_delta(arch: Architecture, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, dict]:
    """δ⁽ⁿˡ⁾ of one example (vectors of length s_nl) and the factors it is made of, in the loss's form.

    δ itself is the loss's own (losses.py, `Loss.delta`: the one definition the fused training
    kernels are tested against); the factors are the inputs of its equation, for the text to show:

        squared error, elementwise f:  δ = −(y − a)·f′(z)                 y, a, −(y − a), f′(z)
        squared error, softmax:        δₖ = Σⱼ Jⱼₖ gⱼ,  g = a − y          g, J = diag(a) − a aᵀ, the terms Jⱼₖgⱼ
        cross-entropy, softmax:        δ = a·Σₖyₖ − y                     a, y, Σₖyₖ
        cross-entropy, sigmoid:        δ = a − y                          a, y
    """
    out = arch.output_activation
    delta = np.empty((len(a), 1))
    arch.loss_fn.delta(z[:, None], a[:, None], y[:, None], arch.f_out, delta)
    delta = delta[:, 0]
    if arch.loss == "squared_error" and out == "softmax":
        jac = np.diag(a) - np.outer(a, a)  # Jⱼₖ = ∂aⱼ/∂zₖ = aⱼ(1[j=k] − aₖ), symmetric
        g = a - y
        parts = {"a_minus_y": g, "jacobian": jac, "terms": jac * g[:, None]}  # terms[j, k] = Jⱼₖ gⱼ
    elif arch.loss == "squared_error":
        out = "elementwise"
        parts = {"y": y, "a": a, "minus_y_minus_a": -(y - a), "fprime": arch.f_out.fprime(z, a)}
    elif out == "softmax":
        parts = {"a": a, "y": y, "sum_y": float(y.sum())}
    else:
        parts = {"a": a, "y": y}
    delta_fn = arch.loss_fn.delta
    where = f"{delta_fn.__module__.rpartition('.')[2]}.{delta_fn.__name__}"  # e.g. losses.squared_error_delta
    # a loss registered beside the shipped ones: its own δ, shown as the number it computes
    form, equation = OUTPUT_FORMS.get((arch.loss, out), ("dloss/dz", f"δ⁽ⁿˡ⁾ = ∂loss/∂z⁽ⁿˡ⁾ ({arch.loss})"))
    return delta, {"form": form, "equation": equation, "function": where, **parts}


def _lists(d: dict) -> dict:
    """Every numpy array or number in d (one level of nesting) as plain lists and floats."""
    out = {}
    for k, v in d.items():
        if isinstance(v, np.ndarray):
            out[k] = v.tolist()
        elif isinstance(v, dict):
            out[k] = _lists(v)
        elif isinstance(v, (np.floating, np.integer)):
            out[k] = v.item()
        else:
            out[k] = v
    return out


LARGEST = 16  # a sampled block's numerical derivative always covers its 16 largest and its first 16 entries


def explain(
    arch: Architecture, params: Params, x: np.ndarray, y: np.ndarray, i: int, lam: float = 0.0, *,
    numerical: bool = True, max_entries: Optional[int] = None, full_layer: Optional[int] = None,
    sparsity: Optional[Sparsity] = None,
) -> dict:
    """Backpropagation for column i of x (s_1, m), y (s_nl, m), every term kept; see the module docstring.

    The computation is made in float64. The numerical derivative costs four forward passes per
    entry (about a second for a 2,000-parameter network): `numerical=False` skips it, and
    `max_entries` limits it to that many entries of a bigger block, drawn at random (seeded by the
    block's name), plus the block's LARGEST biggest |∂loss/∂θ| and first LARGEST entries (those a
    summary shows); the others are NaN. The blocks of layer `full_layer` are always done in full.
    """
    m = x.shape[1]
    if not 0 <= i < m:
        raise UsageError(f"--example {i} is out of range: the train split has {m} examples (0–{m - 1})")
    params = Params({l: np.array(w, np.float64) for l, w in params.W.items()},
                    {l: np.array(v, np.float64) for l, v in params.b.items()})
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ex = _Example(arch, params, x[:, i : i + 1], y[:, i : i + 1])  # one column: m = 1
    rho_hat, s_term = _sparsity_terms(arch, params, x, sparsity)
    ex.backward(s_term)
    num, counted = (_numerical(ex, s_term, max_entries=max_entries, full_layer=full_layer) if numerical
                    else ({}, {}))
    (cost_b, grads_b), (_, grads_data) = _batch_gradients(arch, params, x, y, lam, sparsity)
    layers = [_layer(ex, l, lam, num=num, counted=counted, grads_b=grads_b, grads_data=grads_data,
                     sparse=None if sparsity is None else (rho_hat, s_term)) for l in range(1, arch.nl + 1)]
    return {
        "example": i,
        "m": m,
        "lam": lam,
        "architecture": {"layers": list(arch.layers), "activation": arch.activation,
                         "output_activation": arch.output_activation, "loss": arch.loss},
        "x": x[:, i].tolist(),
        "y": y[:, i].tolist(),
        "h": ex.a[arch.nl].tolist(),
        # the batch's J and its parts under the names run.cost, model.cost() and eval --json use
        "cost": {"example": network.cost(arch, params, ex.xi, ex.yi, 0.0).J, "cost": cost_b.J,
                 "data_cost": cost_b.J_data, "reg_cost": cost_b.J_reg,
                 **({"sparse_cost": cost_b.parts["sparse_cost"]} if sparsity is not None else {})},
        **({} if sparsity is None else {"sparsity": {
            "rho": sparsity.rho, "beta": sparsity.beta,
            "kl": {str(l): network.kl_divergence(sparsity.rho, rho_hat[l]).tolist() for l in rho_hat}}}),
        "layers": layers,
    }


class _Example:
    """One example's forward pass (z, a, f′ per layer, vectors of length s_l) and, after backward(), its δ's,
    the terms of each hidden δ's sum, and its gradient ∂loss/∂W⁽ˡ⁾, ∂loss/∂b⁽ˡ⁾."""

    def __init__(self, arch: Architecture, params: Params, xi: np.ndarray, yi: np.ndarray) -> None:
        self.arch, self.params, self.xi, self.yi = arch, params, xi, yi
        z2, a2 = network.forward(arch, params, xi)
        self.z = {l: v[:, 0] for l, v in z2.items()}
        self.a = {l: v[:, 0] for l, v in a2.items()}
        self.fprime = {l: _f(arch, l).fprime(self.z[l], self.a[l]) for l in range(2, arch.nl + 1)
                       if _f(arch, l).fprime is not None}

    def backward(self, s_term: dict) -> None:
        arch, W, nl = self.arch, self.params.W, self.arch.nl
        delta, terms = {}, {}
        delta[nl], self.out_parts = output_delta(arch, self.z[nl], self.a[nl], self.yi[:, 0])
        for l in range(nl - 1, 1, -1):
            terms[l] = W[l].T * delta[l + 1][None, :]  # terms[i, j] = Wⱼᵢ⁽ˡ⁾ δⱼ⁽ˡ⁺¹⁾: the transpose, column j scaled
            delta[l] = terms[l].sum(axis=1) * self.fprime[l]  # δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾ δⱼ⁽ˡ⁺¹⁾)·f′(zᵢ⁽ˡ⁾)
            if l in s_term:  # δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾ δⱼ⁽ˡ⁺¹⁾ + sᵢ⁽ˡ⁾)·f′(zᵢ⁽ˡ⁾)
                delta[l] = (terms[l].sum(axis=1) + s_term[l]) * self.fprime[l]
        self.delta, self.terms = delta, terms
        # ∂loss/∂Wᵢⱼ⁽ˡ⁾ = δᵢ⁽ˡ⁺¹⁾ aⱼ⁽ˡ⁾ (+ 0.0: no −0), ∂loss/∂bᵢ⁽ˡ⁾ = δᵢ⁽ˡ⁺¹⁾
        self.dW = {l: np.outer(delta[l + 1], self.a[l]) + 0.0 for l in range(1, nl)}
        self.db = {l: delta[l + 1].copy() for l in range(1, nl)}


def _sparsity_terms(arch: Architecture, params: Params, x: np.ndarray, sparsity: Optional[Sparsity]
                    ) -> tuple[dict, dict]:
    """With a penalty: ρ̂⁽ˡ⁾ over all m examples, and the term β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂)) it puts in every hidden δ."""
    if sparsity is None:
        return {}, {}
    _, a_all = network.forward(arch, params, x)
    rho_hat = {l: a_all[l].mean(axis=1) for l in range(2, arch.nl)}  # ρ̂ⱼ⁽ˡ⁾ = (1/m) Σᵢ aⱼ⁽ˡ⁾(xᵢ)
    return rho_hat, {l: network.sparse_delta(rho_hat[l], sparsity) for l in rho_hat}


def _numerical(ex: _Example, s_term: dict, *, max_entries: Optional[int], full_layer: Optional[int]
               ) -> tuple[dict, dict]:
    """The numerical derivative of this example's cost (m = 1, no λ; with a penalty, its share with s held at
    the batch's ρ̂) per block, NaN where an entry was not sampled; and the entries differentiated per block."""
    arch, xi, yi = ex.arch, ex.xi, ex.yi
    work = ex.params.copy()  # perturbed in place, one element at a time

    def J_example(_: np.ndarray) -> float:
        J = network.cost(arch, work, xi, yi, 0.0).J
        if s_term:
            a_i = network.forward(arch, work, xi)[1]
            J += sum(float(s_term[l] @ a_i[l][:, 0]) for l in s_term)
        return J

    example_grad = {**{f"W{l}": ex.dW[l] for l in ex.dW}, **{f"b{l}": ex.db[l] for l in ex.db}}
    num: dict[str, np.ndarray] = {}
    counted: dict[str, int] = {}
    for name, theta in work.blocks().items():
        entries = None if int(name[1:]) == full_layer else _entries(name, example_grad[name], max_entries)
        g = numgrad.numerical_gradient(J_example, theta, entries=entries)
        if entries is not None:  # NaN where not computed
            g, part = np.full(theta.shape, np.nan), g
            g.reshape(-1)[entries] = part
        num[name], counted[name] = g, theta.size if entries is None else len(entries)
    return num, counted


def _batch_gradients(arch: Architecture, params: Params, x: np.ndarray, y: np.ndarray, lam: float,
                     sparsity: Optional[Sparsity]) -> tuple[tuple, tuple]:
    """(J, ∇J) over the whole batch with λ, and without it: (1/m) Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ alone."""
    if sparsity is None:
        return sums.backprop(arch, params, x, y, lam), sums.backprop(arch, params, x, y, 0.0)

    def objective(l2: float) -> tuple:  # the objective with the penalty: ρ̂'s pass, then the sums with its term
        c, g = Objective(sums.Backprop(arch, x, y, 0.0), l2, sparsity)(params)
        grads = network.flat_params(arch.layers)
        grads.vec[:] = g
        return c, grads.params

    with np.errstate(over="ignore"):
        return objective(lam), objective(0.0)


def _layer(ex: _Example, l: int, lam: float, *, num: dict, counted: dict, grads_b: Params, grads_data: Params,
           sparse: Optional[tuple[dict, dict]]) -> dict:
    """Layer l's entry of the result: its z, a, f′, δ and the terms of δ's sum; the gradient of W⁽ˡ⁾, b⁽ˡ⁾."""
    arch, nl, W, b = ex.arch, ex.arch.nl, ex.params.W, ex.params.b
    entry: dict = {
        "l": l,
        "size": arch.layers[l - 1],
        "activation": None if l == 1 else _f(arch, l).name,
        "z": ex.z[l] if l > 1 else None,
        "a": ex.a[l],
        "fprime": ex.fprime.get(l),
        "delta": ex.delta.get(l),  # δ⁽¹⁾ is never needed: the input has no parameters below it
        "delta_terms": ex.terms.get(l),
        "output_delta": ex.out_parts if l == nl else None,
    }
    if sparse is not None:  # this hidden layer's mean activation over the batch, and the term
        entry.update(rho_hat=sparse[0].get(l), sparse_term=sparse[1].get(l))  # β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂)) inside δ⁽ˡ⁾
    if l < nl:
        entry.update(
            W=W[l], b=b[l],
            dW_example=ex.dW[l], db_example=ex.db[l],
            dW_numerical=num.get(f"W{l}"), db_numerical=num.get(f"b{l}"),  # NaN (JSON null): not computed
            dW_numerical_entries=counted.get(f"W{l}", 0), db_numerical_entries=counted.get(f"b{l}", 0),
            dW_batch_data=grads_data.W[l], lam_W=lam * W[l] + 0.0,  # + 0.0: no −0.0 when λ = 0
            dW_batch=grads_b.W[l], db_batch=grads_b.b[l],
        )
    return _lists(entry)


def _entries(name: str, grad: np.ndarray, max_entries: Optional[int]) -> Optional[np.ndarray]:
    """Flat indices of a block to differentiate numerically (None: all): see explain()."""
    sample = numgrad.sample_entries(grad.size, max_entries, name)
    if sample is None:
        return None
    largest = np.argsort(-np.abs(grad).reshape(-1), kind="stable")[:LARGEST]  # ties: the lower index first
    return np.union1d(np.union1d(sample, largest), np.arange(min(LARGEST, grad.size)))


# ----------------------------------------------------------------------------- finding the inputs


@dataclass
class Source:
    """A network and its train split: what `explain` needs, and where it came from."""

    arch: Architecture
    params: Params
    x: np.ndarray  # (s_1, m)
    y: np.ndarray  # (s_nl, m)
    lam: float
    weights: str  # "initial weights (model.init)" or "checkpoint <path>, epoch <e>"
    data: str
    sparsity: Optional[Sparsity] = None


def load(target: "Path | Config", overrides: "Overrides" = ()) -> Source:
    """A config (its initial weights, after --set overrides), or a checkpoint / run folder (its trained
    weights), with its train split. target: a path, or a validated Config (overrides already applied)."""
    from . import config as config_mod
    from .problem import initial_params, load_problem
    from .trained import load_trained

    if isinstance(target, config_mod.Config):
        cfg, params = target, None
    else:
        target = Path(target)
        if target.is_dir() or target.suffix == ".npz":
            if overrides:
                raise UsageError(f"--set applies to a config, not to the trained network in {target}")
            trained = load_trained(target)
            cfg, params = trained.cfg, trained.params
            weights = f"checkpoint {trained.path}, epoch {trained.meta.get('epoch')}"
        else:
            cfg, params = config_mod.load_config(target, overrides), None
    if params is None:
        weights = f"initial weights ({_init_text(cfg)})"
    problem = load_problem(cfg)
    if params is None:
        params = initial_params(cfg, problem.arch, np.float64)
    x, y = problem.columns("train")
    return Source(problem.arch, params, x, y, cfg.train.weight_decay, weights,
                  f"train split of {cfg.data.path} ({x.shape[1]} examples)", cfg.sparsity())


def report(target: "Path | Config", example: int = 0, layer: Optional[int] = None, overrides: "Overrides" = (),
           max_entries: Optional[int] = None) -> tuple[Source, dict]:
    """`nettrain explain`'s findings: the Source, and explain()'s dict headed by where the network, its
    weights and its data came from (every layer: for_json keeps the one --layer names)."""
    src = load(target, overrides)
    check_layer(src.arch, layer)
    res = explain(src.arch, src.params, src.x, src.y, example, src.lam, max_entries=max_entries, full_layer=layer,
                  sparsity=src.sparsity)
    from .config import Config

    source = target.source if isinstance(target, Config) else str(target)
    return src, {"source": source, "weights": src.weights, "data": src.data, **res}


def for_json(res: dict, layer: Optional[int] = None) -> dict:
    """What `nettrain explain --json` prints: report()'s dict, with layer l alone when --layer l is given."""
    if layer is None:
        return res
    return {**res, "layers": [L for L in res["layers"] if L["l"] == layer]}


def _init_text(cfg) -> str:
    init = cfg.model.init
    if init.from_ is not None:
        return f"model.init.from {init.from_}"
    return f"model.init.scheme {init.scheme}, seed {cfg.seed}"


def check_layer(arch: Architecture, layer: Optional[int]) -> None:
    if layer is not None and not 1 <= layer <= arch.nl:
        raise UsageError(f"--layer {layer} is out of range: the network {'-'.join(map(str, arch.layers))} "
                         f"has layers 1–{arch.nl}")
