"""The command line: parse → call a plain function → render with rich → exit code.

Only this module prints and exits. Library code raises NettrainError subclasses; `handle_errors`
turns them into one line on stderr and the error's exit code (see errors.EXIT_CODES), never a
traceback. An unexpected exception prints one line and how to see the traceback (--debug).
"""

from __future__ import annotations

import functools
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import EXIT_CODES, NettrainError

EXIT_CODE_HELP = "Exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()) + "."

app = typer.Typer(
    name="nettrain",
    help="Train fully-connected neural networks from YAML configs, exactly as the UFLDL equations say.\n\n"
    "Example: nettrain fit configs/digits.yaml",
    epilog=EXIT_CODE_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False}


def handle_errors(command: Callable) -> Callable:
    """Map nettrain's errors to a one-line message and exit code; anything else to exit 70."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except NettrainError as e:
            if _state["debug"]:
                raise
            err.print(f"nettrain: {e.kind}: {e}", markup=False)
            raise typer.Exit(e.exit_code)
        except KeyboardInterrupt:
            err.print("nettrain: interrupted", markup=False)
            raise typer.Exit(130)
        except Exception as e:  # a bug: say so in one line, without local variables
            if _state["debug"]:
                raise
            err.print(
                f"nettrain: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                "(rerun with --debug for the full traceback, and please report it)",
                markup=False,
            )
            raise typer.Exit(70)

    return wrapper


def _version(value: bool) -> None:
    if value:
        out.print(f"nettrain {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _state["debug"] = debug


def _fmt(x: float) -> str:
    return "inf" if not math.isfinite(x) else f"{x:.3e}"


def _json_safe(obj: Any) -> Any:
    """Replace non-finite floats by None so that the output is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    """Exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(_json_safe(obj), allow_nan=False) + "\n")
    sys.stdout.flush()


VERDICT_STYLE = {"good": "green", "acceptable": "yellow", "wrong": "bold red"}


def _block_table(title: str, stage_results: list) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("stage", "block", "relative difference", "worst element", "numerical", "backprop", "verdict"):
        t.add_column(col, justify="right" if col in ("relative difference", "numerical", "backprop") else "left")
    for r in stage_results:
        for b in r.blocks:
            t.add_row(
                r.stage,
                b.block,
                _fmt(b.rel_diff),
                str(tuple(b.worst_index)),
                f"{b.worst_numerical:.10g}",
                f"{b.worst_backprop:.10g}",
                f"[{VERDICT_STYLE[b.verdict]}]{b.verdict}[/]",
            )
    return t


@app.command()
@handle_errors
def gradcheck(
    config: Optional[Path] = typer.Argument(
        None, help="A config file: check that network on a small sample of its data. Without it: the built-in suite."
    ),
    set_: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set model.layers=[64,5,10]."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Built-in suite: show every block of every case."),
    sample: int = typer.Option(20, "--sample", min=1, help="With CONFIG: how many training examples to check on."),
    plain: bool = typer.Option(
        False, "--plain", help="Use the tutorial's central difference alone (no Richardson step): agreement ~1e-8."
    ),
) -> None:
    """Prove backprop's gradient against a numerical one, block by block (W1, b1, W2, …).

    Central differences with ε = 1e-4, in three stages: the data term alone (λ = 0), the
    weight-decay term alone, then both. Verdict per block: relative difference < 1e-7 good,
    < 1e-4 acceptable (ReLU kinks), else wrong. Exit 0 when every block passes, 1 otherwise.

    Examples:  nettrain gradcheck          nettrain gradcheck configs/xor.yaml --json
    """
    from . import gradcheck as gc

    g_self, rel_self = gc.self_test()
    self_ok = rel_self < gc.GOOD
    if config is None:
        cases = list(gc.builtin_cases())
        with _progress(len(cases), "checking gradients", disable=json_out) as advance:
            results = gc.run_cases(cases, richardson=not plain, progress=lambda _: advance())
    else:
        from . import runs

        results = [runs.gradcheck_config(config, set_, sample=sample, richardson=not plain)]
    ok = self_ok and all(p for _, _, p in results)
    if json_out:
        print_json(
            {
                "passed": ok,
                "epsilon": gc.EPSILON,
                "richardson": not plain,
                "self_test": {
                    "function": "h(x) = x1^2 + 3*x1*x2 at (2, 88)",
                    "numerical": g_self.tolist(),
                    "exact": [268.0, 6.0],
                    "rel_diff": rel_self,
                    "passed": self_ok,
                },
                "cases": [
                    {"case": c.name, "passed": p, "stages": gc.results_to_dict(r)} for c, r, p in results
                ],
            }
        )
    else:
        out.print(
            f"differentiator self-test on h(x) = x₁² + 3x₁x₂ at (2, 88): numerical "
            f"({g_self[0]:.10g}, {g_self[1]:.10g}), exact (268, 6), relative difference {_fmt(rel_self)}"
        )
        if config is not None or verbose:
            for c, r, p in results:
                out.print(_block_table(f"{c.name}: {'passed' if p else 'FAILED'}", r))
        else:
            t = Table(title="built-in suite: worst block per case", title_justify="left")
            for col in ("case", "worst stage/block", "relative difference", "verdict"):
                t.add_column(col, justify="right" if col == "relative difference" else "left")
            for c, r, p in results:
                stage, block = max(((s, b) for s in r for b in s.blocks), key=lambda sb: sb[1].rel_diff)
                t.add_row(c.name, f"{stage.stage}/{block.block}", _fmt(block.rel_diff), f"[{VERDICT_STYLE[block.verdict]}]{block.verdict}[/]")
            out.print(t)
            for c, r, p in results:
                if not p:
                    out.print(_block_table(f"{c.name}: FAILED", r))
        n_fail = sum(not p for _, _, p in results)
        worst = max((s.worst for _, r, _ in results for s in r), default=0.0)
        if ok:
            out.print(f"[green]all {len(results)} case(s) passed[/] (largest relative difference {_fmt(worst)})")
        else:
            bad = [f"{c.name}: {s.stage}/{b.block}" for c, r, p in results if not p for s in r for b in s.blocks if b.verdict == "wrong" or (b.verdict == "acceptable" and not c.kinks)]
            out.print(f"[bold red]{n_fail} case(s) failed[/]: " + "; ".join(bad[:10]) + (" …" if len(bad) > 10 else ""))
    raise typer.Exit(0 if ok else 1)


class _progress:
    """A transient rich progress bar on stderr; `advance()` moves it by one."""

    def __init__(self, total: int, label: str, disable: bool = False) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True, disable=disable,
        )
        self.total = total

    def __enter__(self) -> Callable[[], None]:
        self.progress.start()
        task = self.progress.add_task("", total=self.total)
        return lambda: self.progress.advance(task)

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()


def main() -> None:
    """Entry point of the `nettrain` console script."""
    app()
