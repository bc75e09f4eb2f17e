"""`nettrain explain` as text: one example's backpropagation, every equation with its numbers.

`render(console, res, layer)` prints the plain dict explain.explain returns (with the "data" and
"weights" descriptions the CLI adds): the forward pass, the output error in its loss's form, each
hidden δ with the terms of its sum, this example's gradient beside the numerical derivative, and
how the batch gradient is made of it. Wide layers are summarised, and every summary says what it
leaves out and how to see it (--layer l shows every number of layer l).

Left out on purpose: the computation (explain.py, network.py) and the command's options (cli.py).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..numgrad import relative_difference

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
FPRIME_TEXT = {"sigmoid": "a(1 − a)", "tanh": "1 − a²", "relu": "1 if z > 0, else 0", "identity": "1", "softmax": "—"}
SHOW_UNITS = 8  # units per layer written out, and terms per sum, before the rest is summarised (--layer: all)
SHOW_ENTRIES = 6  # gradient entries per block in the tables (--layer: all)


def _sup(l: int) -> str:
    return f"⁽{str(l).translate(_SUP)}⁾"


def _sub(*idx: int) -> str:
    """1-based unit indices as subscripts, comma-separated when one has two digits: W₁₂, W₁₀,₃."""
    sep = "," if any(k > 9 for k in idx) else ""
    return sep.join(str(k).translate(_SUB) for k in idx)


def _g(v: Optional[float]) -> str:
    return "—" if v is None else f"{v:.4g}"


def _gp(v: float) -> str:
    """A factor in a product: negative numbers in parentheses, 0.3×(−0.2)."""
    return f"({_g(v)})" if v < 0 else _g(v)


def _sum_text(values: list, folded: Optional[tuple[int, float]] = None) -> str:
    """a − b + c: a sum written with its signs; folded = (n, v): n more terms, summed to v, labelled as such."""
    text = _g(values[0]) if values else "0"
    for v in values[1:]:
        text += f" − {_g(-v)}" if v < 0 else f" + {_g(v)}"
    if folded is not None:
        text += f" + [the {folded[0]} more: {_g(folded[1])}]"
    return text


def _omitted(out: Console, parts: list[tuple[int, str]], l: int) -> None:
    """Say what a summary left out, where it leaves it out: '… 2 more rows (W⁽¹⁾ 2); --layer 1 shows all'."""
    parts = [(n, what) for n, what in parts if n > 0]
    if parts:
        total = sum(n for n, _ in parts)
        out.print(f"  … {total} more row{'s' if total > 1 else ''} ({', '.join(f'{what} {n}' for n, what in parts)}); "
                  f"--layer {l} shows all", markup=False)


def _vec(v: list, full: bool) -> str:
    """A vector in full, or (when long) its first values, size, norm and range."""
    if full or len(v) <= 10:
        return "[" + ", ".join(_g(x) for x in v) + "]"
    arr = np.asarray(v, dtype=float)
    return (f"[{', '.join(_g(x) for x in v[:SHOW_UNITS])}, …] ({len(v)} values, ‖·‖ {_g(float(np.linalg.norm(arr)))}, "
            f"min {_g(float(arr.min()))}, max {_g(float(arr.max()))}; --layer shows all)")


def _section(out: Console, title: str, where: str) -> None:
    out.print()
    out.print(f"[bold]{escape(title)}[/]   [dim]{escape(where)}[/]")


def _row(out: Console, equation: str, values: str) -> None:
    """An equation, then its numbers, aligned in a column."""
    out.print(f"{equation:<41} {values}", markup=False)


def _render_forward(out: Console, L: dict, full: bool) -> None:
    l, s, s0 = L["l"], _sup(L["l"]), _sup(L["l"] - 1)
    if l == 1:
        _row(out, f"  layer 1   a{s} = x", _vec(L["a"], full))
        return
    _row(out, f"  layer {l}   z{s} = W{s0}a{s0} + b{s0}", _vec(L["z"], full))
    _row(out, f"            a{s} = f(z{s}), f = {L['activation']}", _vec(L["a"], full))
    if L["fprime"] is not None:
        _row(out, f"            f′(z{s}) = {FPRIME_TEXT[L['activation']]}", _vec(L["fprime"], full))
    else:
        _row(out, "            f′: softmax is not elementwise", "(its Jacobian is in the output error below)")


def _units(n: int, full: bool) -> range:
    return range(n if full else min(n, SHOW_UNITS))


def _render_output_delta(out: Console, L: dict, full: bool) -> None:
    l, od, delta = L["l"], L["output_delta"], L["delta"]
    s = _sup(l)
    form = od["form"]
    for k in _units(len(delta), full):
        u = _sub(k + 1)
        if form == "-(y - a) f'(z)":  # the numbers of −(y − a) first: the ½ of ½‖h − y‖² has cancelled the 2
            line = (f"δ{u}{s} = −(y{u} − a{u})·f′(z{u}) = −({_gp(od['y'][k])} − {_gp(od['a'][k])})·{_gp(od['fprime'][k])}"
                    f" = {_gp(od['minus_y_minus_a'][k])}×{_gp(od['fprime'][k])} = {_g(delta[k])}")
        elif form == "softmax jacobian":
            col = [row[k] for row in od["terms"]]  # Jⱼₖgⱼ over j
            order = _top(col, full)
            parts = " + ".join(f"J{_sub(j + 1, k + 1)}g{_sub(j + 1)}" for j in order)
            vals = [col[j] for j in order]
            rest = len(col) - len(order)
            if rest:
                parts += f" + {rest} more"
            nums = _sum_text(vals, (rest, sum(col) - sum(vals)) if rest else None)
            line = f"δ{u}{s} = Σⱼ Jⱼₖgⱼ = {parts} = {nums} = {_g(delta[k])}"
        elif form == "dloss/dz":
            line = f"δ{u}{s} = ∂loss/∂z{u} = {_g(delta[k])}  (a{u} = {_g(od['a'][k])}, y{u} = {_g(od['y'][k])})"
        elif form == "a sum(y) - y":
            line = f"δ{u}{s} = a{u}·Σy − y{u} = {_g(od['a'][k])}·{_g(od['sum_y'])} − {_g(od['y'][k])} = {_g(delta[k])}"
        else:
            line = f"δ{u}{s} = a{u} − y{u} = {_g(od['a'][k])} − {_g(od['y'][k])} = {_g(delta[k])}"
        out.print("  " + line, markup=False)
    if len(delta) > len(_units(len(delta), full)):
        out.print(f"  … {len(delta) - SHOW_UNITS} more units (--layer {l} shows all)", markup=False)
    if form == "softmax jacobian":
        out.print("  (g = a − y; Jⱼₖ = ∂aⱼ/∂zₖ = aⱼ(1[j=k] − aₖ): a change of zₖ moves every output aⱼ)", markup=False)


def _top(values: list, full: bool, n: int = 4) -> list[int]:
    """Indices of the terms to write out: all when few (or full), else the n largest in magnitude."""
    if full or len(values) <= n + 1:
        return list(range(len(values)))
    return sorted(sorted(range(len(values)), key=lambda j: -abs(values[j]))[:n])


def _render_sparsity(out: Console, L: dict, sp: dict, full: bool) -> None:
    """ρ̂ⱼ, KL(ρ‖ρ̂ⱼ) and the δ term sⱼ = β(−ρ/ρ̂ⱼ + (1−ρ)/(1−ρ̂ⱼ)) of one hidden layer, unit by unit."""
    l = L["l"]
    s = _sup(l)
    rho, beta = sp["rho"], sp["beta"]
    kl = sp["kl"][str(l)]
    for j in _units(len(L["rho_hat"]), full):
        u, r = _sub(j + 1), L["rho_hat"][j]
        out.print(f"  ρ̂{u}{s} = {_g(r)}   KL(ρ‖ρ̂{u}) = {_g(kl[j])}   s{u}{s} = β(−ρ/ρ̂{u} + (1−ρ)/(1−ρ̂{u})) = "
                  f"{_g(beta)}×(−{_g(rho)}/{_g(r)} + {_g(1 - rho)}/{_g(1 - r)}) = {_g(L['sparse_term'][j])}", markup=False)
    if len(L["rho_hat"]) > len(_units(len(L["rho_hat"]), full)):
        out.print(f"  … {len(L['rho_hat']) - SHOW_UNITS} more units (--layer {l} shows all)", markup=False)
    out.print(f"  layer {l}: mean ρ̂ = {_g(float(np.mean(L['rho_hat'])))} (target ρ = {_g(rho)}); "
              f"β Σⱼ KL(ρ‖ρ̂ⱼ{s}) = {_g(beta * float(np.sum(kl)))}", markup=False)


def _render_hidden_delta(out: Console, L: dict, nxt: dict, full: bool) -> None:
    l = L["l"]
    s, s1 = _sup(l), _sup(l + 1)
    W = L["W"]  # W⁽ˡ⁾: (s_{l+1}, s_l)
    sparse = L.get("sparse_term")  # with a penalty: sᵢ⁽ˡ⁾, added to the sum before the f′ product
    out.print(f"  layer {l}: the sum runs over the {len(nxt['delta'])} unit(s) j of layer {l + 1}; "
              f"unit i's error comes back through column i of W{s} (row i of W{s}ᵀ)"
              + (f"; the sparsity term s{s} (section 2b) is added to it" if sparse is not None else ""), markup=False)
    for i in _units(len(L["delta"]), full):
        terms = L["delta_terms"][i]  # Wⱼᵢδⱼ over j
        order = _top(terms, full)
        sym = " + ".join(f"W{_sub(j + 1, i + 1)}{s}δ{_sub(j + 1)}{s1}" for j in order)
        rest = len(terms) - len(order)
        if not rest and len(terms) <= 3:
            nums = " + ".join(f"{_gp(W[j][i])}×{_gp(nxt['delta'][j])}" for j in order)
        else:
            vals = [terms[j] for j in order]
            if rest:
                sym += f" + {rest} more"
            nums = _sum_text(vals, (rest, sum(terms) - sum(vals)) if rest else None)
        u, fp = _sub(i + 1), _gp(L["fprime"][i])
        if sparse is not None:  # δᵢ = (Σⱼ Wⱼᵢδⱼ + sᵢ)·f′
            total = sum(terms) + sparse[i]
            out.print(f"  δ{u}{s} = ({sym} + s{u}{s})·f′(z{u}{s}) = ({nums} + {_gp(sparse[i])})·{fp} = "
                      f"{_gp(total)}·{fp} = {_g(L['delta'][i])}", markup=False)
            continue
        out.print(f"  δ{u}{s} = ({sym})·f′(z{u}{s}) = ({nums})·{fp} = {_gp(sum(terms))}·{fp} = {_g(L['delta'][i])}",
                  markup=False)
    if len(L["delta"]) > len(_units(len(L["delta"]), full)):
        out.print(f"  … {len(L['delta']) - SHOW_UNITS} more units (--layer {l} shows all)", markup=False)


def _entries(L: dict, full: bool) -> list[tuple[int, int]]:
    """(i, j) entries of W⁽ˡ⁾ to tabulate: all (full or small), else the largest of this example's terms."""
    dW = L["dW_example"]
    idx = [(i, j) for i in range(len(dW)) for j in range(len(dW[0]))]
    if full or len(idx) <= SHOW_ENTRIES:
        return idx
    return sorted(sorted(idx, key=lambda ij: -abs(dW[ij[0]][ij[1]]))[:SHOW_ENTRIES])


def _render_gradients(out: Console, L: dict, nxt: dict, full: bool) -> None:
    l = L["l"]
    s, s1 = _sup(l), _sup(l + 1)
    t = Table(title=f"W{s} and b{s}: this example's gradient beside the numerical derivative of its cost",
              title_justify="left")
    for col in ("entry", f"aⱼ{s}", f"δᵢ{s1}", f"aⱼ{s}δᵢ{s1}", "numerical", "difference"):
        t.add_column(col, justify="left" if col == "entry" else "right")
    num = L["dW_numerical"]
    for i, j in _entries(L, full):
        d = L["dW_example"][i][j]
        n = None if num is None or not math.isfinite(num[i][j]) else num[i][j]
        t.add_row(f"W{_sub(i + 1, j + 1)}{s}", _g(L["a"][j]), _g(nxt["delta"][i]), f"{d:.10g}",
                  "—" if n is None else f"{n:.10g}", "—" if n is None else f"{abs(d - n):.1e}")
    for i in _units(len(L["db_example"]), full):
        d = L["db_example"][i]
        n = None if L["db_numerical"] is None or not math.isfinite(L["db_numerical"][i]) else L["db_numerical"][i]
        t.add_row(f"b{_sub(i + 1)}{s}", "1", _g(nxt["delta"][i]), f"{d:.10g}",
                  "—" if n is None else f"{n:.10g}", "—" if n is None else f"{abs(d - n):.1e}")
    out.print(t)
    dW = np.asarray(L["dW_example"])
    shown, total = len(_entries(L, full)), dW.size
    text = f"  W{s} is {dW.shape[0]}×{dW.shape[1]}: ‖δ{s1}a{s}ᵀ‖ = {_g(float(np.linalg.norm(dW)))}"
    if num is not None:
        numa = np.asarray(num)
        done = np.isfinite(numa)
        rel = relative_difference(numa[done], dW[done])
        over = f"all {total} entries" if L["dW_numerical_entries"] == total else (
            f"{L['dW_numerical_entries']:,} of its {total:,} entries (drawn at random, with the largest and the "
            f"first; --entries 0: all)")
        text += f"; over {over}, ‖numerical − backprop‖ / ‖numerical + backprop‖ = {rel:.2e}"
    if shown < total:
        text += f" (the table shows its {shown} largest)"
    out.print(text, markup=False)
    _omitted(out, [(total - shown, f"W{s}"), (len(L["db_example"]) - len(_units(len(L["db_example"]), full)), f"b{s}")], l)


def _render_batch(out: Console, L: dict, res: dict, full: bool) -> None:
    l = L["l"]
    s = _sup(l)
    t = Table(title=f"∂J/∂W{s} = (1/m) Σᵢ δ{_sup(l + 1)}a{s}ᵀ + λW{s}, m = {res['m']}, λ = {res['lam']:g}",
              title_justify="left")
    cols = ("entry", f"example {res['example']}'s term", "(1/m) Σ over the batch", "+ λW", "= ∂J/∂W (sums.backprop)")
    for col in cols:
        t.add_column(col, justify="left" if col == "entry" else "right")
    w_rows = _entries(L, full)[: None if full else 4]
    b_rows = range(len(L["db_batch"]) if full else min(2, len(L["db_batch"])))
    for i, j in w_rows:
        t.add_row(f"W{_sub(i + 1, j + 1)}{s}", f"{L['dW_example'][i][j]:.6g}", f"{L['dW_batch_data'][i][j]:.6g}",
                  f"{L['lam_W'][i][j]:.6g}", f"{L['dW_batch'][i][j]:.6g}")
    for i in b_rows:
        t.add_row(f"b{_sub(i + 1)}{s}", f"{L['db_example'][i]:.6g}", f"{L['db_batch'][i]:.6g}", "(none)",
                  f"{L['db_batch'][i]:.6g}")
    out.print(t)
    w_total = len(L["dW_batch"]) * len(L["dW_batch"][0])
    _omitted(out, [(w_total - len(w_rows), f"W{s}"), (len(L["db_batch"]) - len(b_rows), f"b{s}")], l)


def _hidden_units(arch: dict) -> str:
    """"sigmoid hidden", or, for layers [n, K], that there is none: model.activation then applies to no unit."""
    if len(arch["layers"]) > 2:
        return f"{arch['activation']} hidden"
    regression = arch["output_activation"] == "softmax" and arch["loss"] == "cross_entropy"
    return "no hidden layer" + (" (softmax regression)" if regression else "")


def render(out: Console, res: dict, layer: Optional[int]) -> None:
    arch = res["architecture"]
    layers = res["layers"]
    nl = len(layers)
    full = layer is not None
    pick = (lambda l: l == layer) if full else (lambda l: True)
    out.print(f"example {res['example']} of the {res['data']}", markup=False, style="bold")
    out.print(f"network {'-'.join(map(str, arch['layers']))}: {_hidden_units(arch)}, {arch['output_activation']} "
              f"output, {arch['loss']} loss, λ = {res['lam']:g}; {res['weights']}", markup=False)
    c = res["cost"]
    out.print(f"x = {_vec(res['x'], full)}   y = {_vec(res['y'], full)}   h(x) = a{_sup(nl)} = {_vec(res['h'], full)}",
              markup=False)
    if "sparse_cost" in c:
        sp = res["sparsity"]
        out.print(f"this example's cost (no λ) {c['example']:.6g};  batch J = (1/m) Σ loss + (λ/2) Σ‖W‖² + "
                  f"β Σⱼ KL(ρ‖ρ̂ⱼ) = {c['data_cost']:.6g} + {c['reg_cost']:.6g} + {c['sparse_cost']:.6g} = {c['cost']:.6g}  "
                  f"(m = {res['m']}, ρ = {sp['rho']:g}, β = {sp['beta']:g})", markup=False)
    else:
        out.print(f"this example's cost (no λ) {c['example']:.6g};  batch J = (1/m) Σ loss + (λ/2) Σ‖W‖² = "
                  f"{c['data_cost']:.6g} + {c['reg_cost']:.6g} = {c['cost']:.6g}  (m = {res['m']})", markup=False)

    _section(out, "1. forward pass:  z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾,  a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾)", "network.forward")
    for L in layers:
        if pick(L["l"]):
            _render_forward(out, L, full)
    if pick(nl):
        od = layers[-1]["output_delta"]
        _section(out, f"2. output error:  {od['equation']}", od["function"])
        _render_output_delta(out, layers[-1], full)
    hidden = [L for L in layers[1:-1] if pick(L["l"])]
    if hidden and "sparsity" in res:
        _section(out, "2b. the sparsity term:  ρ̂ⱼ⁽ˡ⁾ = (1/m) Σᵢ aⱼ⁽ˡ⁾(xᵢ) over the whole batch,  "
                 "sⱼ⁽ˡ⁾ = β(−ρ/ρ̂ⱼ + (1−ρ)/(1−ρ̂ⱼ)), the same for every example", "objective.Objective.rho_hat, "
                 "network.sparse_delta")
        for L in hidden:
            _render_sparsity(out, L, res["sparsity"], full)
    if hidden:
        _section(out, "3. errors carried back:  δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾ δⱼ⁽ˡ⁺¹⁾" + (" + sᵢ⁽ˡ⁾" if "sparsity" in res else "")
                 + ")·f′(zᵢ⁽ˡ⁾),  i.e. δ⁽ˡ⁾ = (W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾" + (" + s⁽ˡ⁾" if "sparsity" in res else "") + ")·f′(z⁽ˡ⁾)",
                 "sums.backprop")
        for L in reversed(hidden):
            _render_hidden_delta(out, L, layers[L["l"]], full)
    blocks = [L for L in layers[:-1] if pick(L["l"])]
    if blocks:
        _section(out, "4. this example's gradient:  ∂J/∂Wᵢⱼ⁽ˡ⁾ = aⱼ⁽ˡ⁾δᵢ⁽ˡ⁺¹⁾,  ∂J/∂bᵢ⁽ˡ⁾ = δᵢ⁽ˡ⁺¹⁾",
                 "sums.backprop; numerical: gradcheck.numerical_gradient on this example's cost, λ = 0"
                 + ("; with the penalty, loss + Σₗ s⁽ˡ⁾·a⁽ˡ⁾(x), s held at the batch's ρ̂ (its share of "
                    "m·∂J_sparse)" if "sparsity" in res else ""))
        for L in blocks:
            _render_gradients(out, L, layers[L["l"]], full)
        _section(out, "5. from one example to the batch:  "
                 "∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ + λW⁽ˡ⁾,  ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾",
                 "sums.backprop on the whole train split")
        for L in blocks:
            _render_batch(out, L, res, full)
    if not full:
        out.print()
        out.print(f"--layer 1…{nl} prints every number of one layer; --json prints them all.", markup=False)
