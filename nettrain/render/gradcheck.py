"""What `nettrain gradcheck` shows: the differentiator's self-test, then a table per case (or the built-in
suite's worst block per kind of network), and the verdict. Every table fits 80 columns; a number is never cut
(a column too narrow folds it onto a second line instead).

Left out on purpose: the check itself (checks.py, numgrad.py).
"""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

VERDICT_STYLE = {"good": "green", "acceptable": "yellow", "wrong": "bold red"}


def _fmt(x: float) -> str:
    return "inf" if not math.isfinite(x) else f"{x:.3e}"


def _table(columns: dict[str, str]) -> Table:
    """A borderless table whose numbers fold rather than being cut; columns: name → justify. Its title is
    printed as a line of its own (_line): a long path wraps at the terminal's width, the table stays narrow."""
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    for name, justify in columns.items():
        t.add_column(name, justify=justify, overflow="fold")
    return t


def _line(out: Console, text: str) -> None:
    out.print(text, soft_wrap=False, markup=False)


def _verdict(v: str) -> str:
    return f"[{VERDICT_STYLE[v]}]{v}[/]"


def _print_blocks(out: Console, title: str, stage_results: list) -> None:
    """Every block of every stage of one case, and which blocks were checked on a sample of their entries."""
    sampled = {b.block: b for r in stage_results for b in r.blocks if b.checked != b.size}
    t = _table({"stage": "left", "block": "left", "rel. diff": "right", "worst at": "left",
                       "numerical": "right", "backprop": "right", "verdict": "left"})
    for r in stage_results:
        for b in r.blocks:
            t.add_row(r.stage, b.block if b.checked == b.size else f"{b.block}*", _fmt(b.rel_diff),
                      str(tuple(b.worst_index)), f"{b.worst_numerical:.6g}", f"{b.worst_backprop:.6g}",
                      _verdict(b.verdict))
    _line(out, title)
    out.print(t)
    if sampled:  # wrapped at the terminal's width, as the table is
        out.print("* checked on a random sample of its entries (the same in every stage; --entries 0: all): "
                  + ", ".join(f"{name} {b.checked:,} of {b.size:,}" for name, b in sampled.items()),
                  soft_wrap=False, markup=False)


def _kind(case: Any) -> tuple[str, str]:
    """The kind of network a suite case checks: (f → output, with the sparsity penalty when it has one; loss)."""
    arch = case.arch
    hidden = arch.activation if len(arch.layers) > 2 else "(none)"
    return f"{hidden}→{arch.output_activation}" + (" sparse" if case.sparsity is not None else ""), arch.loss


def _suite_table(results: list) -> Table:
    """One row per kind of network: how many cases, and the worst block of the worst case."""
    groups: dict[tuple[str, str], list] = {}
    for c, r, p in results:
        groups.setdefault(_kind(c), []).append((c, r, p))
    t = _table({"f → output": "left", "loss": "left", "cases": "right", "worst": "left", "rel. diff": "right",
                "verdict": "left"})
    for (kind, loss), cases in groups.items():
        _, stage, block = max(((c, s, b) for c, r, _ in cases for s in r for b in s.blocks),
                              key=lambda csb: csb[2].rel_diff)
        t.add_row(kind, loss, str(len(cases)), f"{stage.stage}/{block.block}", _fmt(block.rel_diff),
                  _verdict(block.verdict))
    return t


def render(out: Console, run: Any, *, every_block: bool) -> None:
    """run: checks.GradcheckRun. every_block: a table of every block of every case (a config, or --verbose);
    else the suite's worst block per kind of network, and the full table of any case that failed."""
    g_self, results = run.g_self, run.results
    out.print("self-test of the numerical derivative on h(x) = x₁² + 3x₁x₂ at (2, 88):")
    out.print(f"  numerical ({g_self[0]:.10g}, {g_self[1]:.10g}), exact (268, 6): relative difference "
              f"{_fmt(run.rel_self)}")
    if every_block:
        for c, r, p in results:
            _print_blocks(out, f"{c.name}: {'passed' if p else 'FAILED'}", r)
    else:
        _line(out, "built-in suite: the worst block of each kind of network (--verbose: every block of every case)")
        out.print(_suite_table(results))
        for c, r, p in results:
            if not p:
                _print_blocks(out, f"{c.name}: FAILED", r)
    n_fail = sum(not p for _, _, p in results)
    worst = max((s.worst for _, r, _ in results for s in r), default=0.0)
    if run.passed:
        out.print(f"[green]all {len(results)} case(s) passed[/] (largest relative difference {_fmt(worst)})")
        return
    bad = [f"{c.name}: {s.stage}/{b.block}" for c, r, p in results if not p for s in r for b in s.blocks
           if b.verdict == "wrong" or (b.verdict == "acceptable" and not c.kinks)]
    out.print(f"[bold red]{n_fail} case(s) failed[/]: " + "; ".join(bad[:10]) + (" …" if len(bad) > 10 else ""))
