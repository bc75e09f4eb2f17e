"""What `nettrain gradcheck` shows: the differentiator's self-test, then a table per case (or the built-in
suite's worst block per case), and the verdict.

Left out on purpose: the check itself (checks.py, numgrad.py).
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

VERDICT_STYLE = {"good": "green", "acceptable": "yellow", "wrong": "bold red"}


def _fmt(x: float) -> str:
    return "inf" if not math.isfinite(x) else f"{x:.3e}"


def _block_table(title: str, stage_results: list) -> Table:
    sampled = {b.block: b for r in stage_results for b in r.blocks if b.checked != b.size}
    caption = ("* checked on a random sample of its entries (the same in every stage; --entries 0: all): "
               + ", ".join(f"{name} {b.checked:,} of {b.size:,}" for name, b in sampled.items())) if sampled else None
    t = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for col in ("stage", "block", "relative difference", "worst element", "numerical", "backprop", "verdict"):
        t.add_column(col, justify="right" if col in ("relative difference", "numerical", "backprop") else "left")
    for r in stage_results:
        for b in r.blocks:
            t.add_row(
                r.stage,
                b.block if b.checked == b.size else f"{b.block}*",
                _fmt(b.rel_diff),
                str(tuple(b.worst_index)),
                f"{b.worst_numerical:.10g}",
                f"{b.worst_backprop:.10g}",
                f"[{VERDICT_STYLE[b.verdict]}]{b.verdict}[/]",
            )
    return t


def _suite_table(results: list) -> Table:
    t = Table(title="built-in suite: worst block per case", title_justify="left")
    for col in ("case", "worst stage/block", "relative difference", "verdict"):
        t.add_column(col, justify="right" if col == "relative difference" else "left")
    for c, r, p in results:
        stage, block = max(((s, b) for s in r for b in s.blocks), key=lambda sb: sb[1].rel_diff)
        t.add_row(c.name, f"{stage.stage}/{block.block}", _fmt(block.rel_diff),
                  f"[{VERDICT_STYLE[block.verdict]}]{block.verdict}[/]")
    return t


def render(out: Console, run: Any, *, every_block: bool) -> None:
    """run: checks.GradcheckRun. every_block: a table of every block of every case (a config, or --verbose);
    else the suite's worst block per case, and the full table of any case that failed."""
    g_self, results = run.g_self, run.results
    out.print(
        f"differentiator self-test on h(x) = x₁² + 3x₁x₂ at (2, 88): numerical "
        f"({g_self[0]:.10g}, {g_self[1]:.10g}), exact (268, 6), relative difference {_fmt(run.rel_self)}"
    )
    if every_block:
        for c, r, p in results:
            out.print(_block_table(f"{c.name}: {'passed' if p else 'FAILED'}", r))
    else:
        out.print(_suite_table(results))
        for c, r, p in results:
            if not p:
                out.print(_block_table(f"{c.name}: FAILED", r))
    n_fail = sum(not p for _, _, p in results)
    worst = max((s.worst for _, r, _ in results for s in r), default=0.0)
    if run.passed:
        out.print(f"[green]all {len(results)} case(s) passed[/] (largest relative difference {_fmt(worst)})")
        return
    bad = [f"{c.name}: {s.stage}/{b.block}" for c, r, p in results if not p for s in r for b in s.blocks
           if b.verdict == "wrong" or (b.verdict == "acceptable" and not c.kinks)]
    out.print(f"[bold red]{n_fail} case(s) failed[/]: " + "; ".join(bad[:10]) + (" …" if len(bad) > 10 else ""))
