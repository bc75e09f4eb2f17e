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
import time
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


# click's ClickException (typer.BadParameter's base), from click itself or typer's vendored copy of it
_USAGE_ERRORS = tuple(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def handle_errors(command: Callable) -> Callable:
    """Map nettrain's errors to a one-line message and exit code; anything else to exit 70."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit, *_USAGE_ERRORS):  # usage errors: click prints them, exit 2
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


ENTRIES = 2000  # gradcheck CONFIG: entries checked per block (a random sample of a bigger block)


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
    entries: int = typer.Option(
        ENTRIES, "--entries", min=0, help="With CONFIG: check at most this many entries of each block, drawn at "
        "random (seeded: the same every time); 0 = every entry. Each costs four evaluations of J."
    ),
    plain: bool = typer.Option(
        False, "--plain", help="Use the tutorial's central difference alone (no Richardson step): agreement ~1e-8."
    ),
) -> None:
    """Prove backprop's gradient against a numerical one, block by block (W1, b1, W2, …).

    Central differences with ε = 1e-4, in three stages: the data term alone (λ = 0), the
    weight-decay term alone, then both. Verdict per block: relative difference < 1e-7 good,
    < 1e-4 acceptable (ReLU kinks), else wrong. Exit 0 when every block passes, 1 otherwise.

    With CONFIG, a block of more than --entries entries is checked on a random sample of them
    (the tables say how many); --entries 0 checks every one.

    Examples:  nettrain gradcheck          nettrain gradcheck configs/xor.yaml --json
               nettrain gradcheck configs/digits.yaml --entries 0
    """
    from . import runs

    label = "checking gradients" if config is None else "checking gradients, block by block"
    with _progress(None, label, disable=json_out) as step:
        run = runs.gradcheck_run(config, set_, sample=sample, richardson=not plain, max_entries=entries or None,
                                 progress=step)
    g_self, rel_self, results, ok = run.g_self, run.rel_self, run.results, run.passed
    if json_out:
        print_json(run.to_dict())
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


# ----------------------------------------------------------------------------- fit


def _num(v: Any, fmt: str = ".6g") -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return format(v, fmt)


class FitReporter:
    """Renders a fit: a live progress bar (epoch, elapsed, ETA) with a row every log.every epochs."""

    HEAD = {"epoch": "epoch", "cost": "J", "data_cost": "J_data", "reg_cost": "J_reg", "grad_norm": "‖∇J‖",
            "val_cost": "val J_data", "val_accuracy": "val acc", "val_r2": "val R²"}

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.console = console
        self.progress = Progress(
            TextColumn("epoch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=console, transient=True, refresh_per_second=1,
        )
        self.task = None
        self.columns: list[str] = []
        self._last_row = self._last_draw = 0.0
        self._show_all, self._shown, self._skipped = True, 0, 0

    def start(self, info: dict) -> None:
        self.columns = info["columns"]
        what = "resuming" if info["resumed"] else "training"
        self.console.print(
            f"{what} {info['layers']} on {info['m']} examples, epoch {info['start_epoch']} → {info['epochs']}; "
            f"run folder {info['run_dir']}"
        )
        for p in info.get("swept", []):
            self.console.print(f"removed a temp file left by an interrupted save: {p}")
        self.console.print("  ".join(f"{self.HEAD[c]:>12}" for c in self.columns), style="bold")
        self.progress.start()
        self.task = self.progress.add_task("", total=info["epochs"], completed=info["start_epoch"])
        rows = (info["epochs"] - info["start_epoch"]) // max(1, info.get("every", 1)) + 2
        self._show_all = rows <= self.SHOW_ALL_ROWS

    # The terminal is throttled; metrics.csv has every row. Drawing costs ~1 ms (a row printed under
    # the live bar redraws the bar too), so a run logged every epoch would spend more time drawing
    # than training. A run that logs at most SHOW_ALL_ROWS rows shows them all; a denser one shows
    # at most ROWS_PER_SECOND (a slow run: every row it logs), the first and the last always. With
    # the bar drawn at most every MIN_DRAW_INTERVAL, the display stays near 0.5 % of a run logged
    # every epoch (benchmarks/bench.py, variant fit+term). The bar is drawn from the training
    # thread at the progress ticks; rich's refresh thread, at 1 a second, only keeps the clock
    # moving through a long epoch (its draws take the GIL from the epoch).
    SHOW_ALL_ROWS = 60
    ROWS_PER_SECOND = 4.0
    MIN_DRAW_INTERVAL = 0.25

    def progress_(self, epoch: int) -> None:
        self.progress.update(self.task, completed=epoch)
        now = time.monotonic()
        if now - self._last_draw >= self.MIN_DRAW_INTERVAL:
            self._last_draw = now
            self.progress.refresh()

    def row(self, values: list, final: bool = False) -> None:
        """values: one per self.columns, the epoch first."""
        now = time.monotonic()
        if not (final or self._show_all or not self._shown or now - self._last_row >= 1.0 / self.ROWS_PER_SECOND):
            self._skipped += 1
            return
        self._shown += 1
        self._last_row = self._last_draw = now
        cells = [f"{values[0]:>12d}"] + [f"{_num(v):>12}" for v in values[1:]]
        self.progress.console.print("  ".join(cells), markup=False)

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False)

    def stop(self) -> None:
        if self.task is not None:  # never started (input refused): stopping would print a blank line to stdout
            self.progress.stop()
            if self._skipped:
                self.console.print(f"(rows shown: {self._shown} of {self._shown + self._skipped}, at most "
                                   f"{self.ROWS_PER_SECOND:g} a second; metrics.csv has every epoch)", style="dim")
            self.task = None


class _ReporterAdapter:
    def __init__(self, r: FitReporter) -> None:
        self.r = r
        self.start, self.row, self.note = r.start, r.row, r.note

    def progress(self, epoch: int) -> None:
        self.r.progress_(epoch)


def _summary_table(res: Any) -> Table:
    t = Table(title=f"run {res.run_dir}: {res.reason} at epoch {res.epoch}", title_justify="left")
    t.add_column("split")
    t.add_column("J", justify="right")
    t.add_column("J_data", justify="right")
    t.add_column("J_reg", justify="right")
    t.add_column("metric", justify="right")
    for name, m in (("train", res.train), ("val", res.val), ("test", res.test)):
        if m:
            metric = f"accuracy {m['accuracy']:.4f}" if "accuracy" in m else f"RMSE {m['rmse']:.4g}, R² {m['r2']:.4f}"
            t.add_row(name, _num(m["cost"]), _num(m["data_cost"]), _num(m["reg_cost"]), metric)
    return t


SET_HELP = "Override a config key before validation (repeatable), e.g. --set train.learning_rate=0.1."


@app.command()
@handle_errors
def fit(
    config: Path = typer.Argument(..., help="The YAML config file."),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Run folder (default runs/<name>)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in the run folder from its last.npz."),
    print_config: bool = typer.Option(False, "--print-config", help="Print the resolved config with every default and exit."),
) -> None:
    """Train the config's network by batch gradient descent, logging J, J_data and J_reg.

    Writes a run folder: config.yaml, metrics.csv (one row per epoch), last.npz, best.npz and
    checkpoints/epoch-N.npz. Ctrl-C saves the current state; --resume continues it.

    Examples:  nettrain fit configs/digits.yaml
               nettrain fit configs/xor.yaml --set train.epochs=500 --out runs/xor-short
    """
    from . import config as config_mod
    from . import runs

    if print_config:
        cfg = config_mod.load_config(config, set_)
        sys.stdout.write(config_mod.dump_config_yaml(cfg))
        return
    reporter = FitReporter(out)
    try:
        res = runs.fit(config, set_, out_dir, resume, _ReporterAdapter(reporter))
    finally:
        reporter.stop()
    out.print(_summary_table(res))
    spark = _sparkline_line(res.history)
    if spark:
        out.print(spark, markup=False)
    out.print(f"saved {res.run_dir / 'last.npz'}; evaluate with: nettrain eval {res.run_dir}")


# ----------------------------------------------------------------------------- eval, predict, schema


@app.command("eval")
@handle_errors
def eval_(
    target: Path = typer.Argument(..., help="A run folder (its last.npz) or a checkpoint .npz."),
    data: Optional[Path] = typer.Option(
        None, "--data", help="Evaluate on this file instead of a split of the run's data: a csv, .npz or .npy with "
        "the training features and a target per row (any rows: a single class is fine)."
    ),
    split: str = typer.Option("test", "--split", help="Which split of the run's data: test, val or train."),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object on stdout."),
) -> None:
    """Measure a trained network: J, J_data, J_reg, and accuracy or MSE/RMSE/R².

    The data is preprocessed exactly as in training (statistics from the checkpoint).

    Examples:  nettrain eval runs/digits          nettrain eval runs/iris/best.npz --split val --json
    """
    from . import runs

    if split not in ("test", "val", "train"):
        raise typer.BadParameter(f"--split must be test, val or train (got {split!r})")
    res = runs.evaluate_run(target, data, split)
    if json_out:
        print_json(res)
        return
    t = Table(title=f"{res['checkpoint']} (epoch {res['epoch']}) on {res['data']}", title_justify="left")
    t.add_column("measure")
    t.add_column("value", justify="right")
    for k in ("cost", "data_cost", "reg_cost", "accuracy", "mse", "rmse", "r2"):
        if k in res:
            t.add_row({"cost": "J", "data_cost": "J_data", "reg_cost": "J_reg", "r2": "R²"}.get(k, k), _num(res[k], ".6g"))
    out.print(t)
    if "confusion" in res:
        c = Table(title="confusion matrix (rows: true label, columns: predicted)", title_justify="left")
        c.add_column("")
        for lab in res["labels"]:
            c.add_column(str(lab), justify="right")
        for lab, row in zip(res["labels"], res["confusion"]):
            c.add_row(str(lab), *[str(v) for v in row])
        out.print(c)


@app.command()
@handle_errors
def predict(
    target: Path = typer.Argument(..., help="A run folder (its last.npz) or a checkpoint .npz."),
    data: Path = typer.Option(..., "--data", help="The examples to predict (same columns as the training data)."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write the CSV here instead of stdout."),
) -> None:
    """Write predictions as CSV: the class label and per-class probabilities, or the regression outputs.

    Examples:  nettrain predict runs/iris --data data/iris.csv --out predictions.csv
    """
    from . import runs

    header, rows = runs.predict_rows(target, data)
    text = runs.predictions_csv(header, rows)
    if out_file is None:
        sys.stdout.write(text)
    else:
        runs.write_predictions(out_file, text)
        err.print(f"wrote {len(rows)} predictions to {out_file}")


@app.command()
@handle_errors
def schema() -> None:
    """Print the config's JSON Schema, for editors that validate and complete YAML.

    Example:  nettrain schema > nettrain.schema.json
    """
    from . import config as config_mod

    print_json(config_mod.json_schema())


# ----------------------------------------------------------------------------- explain, plot

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


def _sum_text(values: list) -> str:
    """a − b + c: a sum written with its signs."""
    text = _g(values[0]) if values else "0"
    for v in values[1:]:
        text += f" − {_g(-v)}" if v < 0 else f" + {_g(v)}"
    return text


def _vec(v: list, full: bool) -> str:
    """A vector in full, or (when long) its first values, size, norm and range."""
    if full or len(v) <= 10:
        return "[" + ", ".join(_g(x) for x in v) + "]"
    import numpy as np

    arr = np.asarray(v, dtype=float)
    return (f"[{', '.join(_g(x) for x in v[:SHOW_UNITS])}, …] ({len(v)} values, ‖·‖ {_g(float(np.linalg.norm(arr)))}, "
            f"min {_g(float(arr.min()))}, max {_g(float(arr.max()))}; --layer shows all)")


def _section(title: str, where: str) -> None:
    from rich.markup import escape

    out.print()
    out.print(f"[bold]{escape(title)}[/]   [dim]{escape(where)}[/]")


def _row(equation: str, values: str) -> None:
    """An equation, then its numbers, aligned in a column."""
    out.print(f"{equation:<41} {values}", markup=False)


def _render_forward(L: dict, full: bool) -> None:
    l, s, s0 = L["l"], _sup(L["l"]), _sup(L["l"] - 1)
    if l == 1:
        _row(f"  layer 1   a{s} = x", _vec(L["a"], full))
        return
    _row(f"  layer {l}   z{s} = W{s0}a{s0} + b{s0}", _vec(L["z"], full))
    _row(f"            a{s} = f(z{s}), f = {L['activation']}", _vec(L["a"], full))
    if L["fprime"] is not None:
        _row(f"            f′(z{s}) = {FPRIME_TEXT[L['activation']]}", _vec(L["fprime"], full))
    else:
        _row("            f′: softmax is not elementwise", "(its Jacobian is in the output error below)")


def _units(n: int, full: bool) -> range:
    return range(n if full else min(n, SHOW_UNITS))


def _render_output_delta(L: dict, full: bool) -> None:
    l, od, delta = L["l"], L["output_delta"], L["delta"]
    s = _sup(l)
    form = od["form"]
    for k in _units(len(delta), full):
        u = _sub(k + 1)
        if form == "-(y - a) f'(z)":
            line = (f"δ{u}{s} = −(y{u} − a{u})·f′(z{u}) = {_gp(od['minus_y_minus_a'][k])}×{_gp(od['fprime'][k])}"
                    f" = {_g(delta[k])}")
        elif form == "softmax jacobian":
            col = [row[k] for row in od["terms"]]  # Jⱼₖgⱼ over j
            order = _top(col, full)
            parts = " + ".join(f"J{_sub(j + 1, k + 1)}g{_sub(j + 1)}" for j in order)
            vals = [col[j] for j in order]
            rest = len(col) - len(order)
            if rest:
                parts += f" + {rest} more"
                vals.append(sum(col) - sum(vals))
            nums = _sum_text(vals)
            line = f"δ{u}{s} = Σⱼ Jⱼₖgⱼ = {parts} = {nums} = {_g(delta[k])}"
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


def _render_hidden_delta(L: dict, nxt: dict, full: bool) -> None:
    l = L["l"]
    s, s1 = _sup(l), _sup(l + 1)
    W = L["W"]  # W⁽ˡ⁾: (s_{l+1}, s_l)
    out.print(f"  layer {l}: the sum runs over the {len(nxt['delta'])} unit(s) j of layer {l + 1}; "
              f"unit i's error comes back through column i of W{s} (row i of W{s}ᵀ)", markup=False)
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
                vals.append(sum(terms) - sum(vals))
            nums = _sum_text(vals)
        u, fp = _sub(i + 1), _gp(L["fprime"][i])
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


def _render_gradients(L: dict, nxt: dict, full: bool) -> None:
    from .gradcheck import relative_difference
    import numpy as np

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
        text += f" ({shown} largest shown; --layer {l} shows all)"
    out.print(text, markup=False)


def _render_batch(L: dict, res: dict, full: bool) -> None:
    l = L["l"]
    s = _sup(l)
    t = Table(title=f"∂J/∂W{s} = (1/m) Σᵢ δ{_sup(l + 1)}a{s}ᵀ + λW{s}, m = {res['m']}, λ = {res['lam']:g}",
              title_justify="left")
    cols = ("entry", f"example {res['example']}'s term", "(1/m) Σ over the batch", "+ λW", "= ∂J/∂W (network.backprop)")
    for col in cols:
        t.add_column(col, justify="left" if col == "entry" else "right")
    for i, j in _entries(L, full)[: None if full else 4]:
        t.add_row(f"W{_sub(i + 1, j + 1)}{s}", f"{L['dW_example'][i][j]:.6g}", f"{L['dW_batch_data'][i][j]:.6g}",
                  f"{L['lam_W'][i][j]:.6g}", f"{L['dW_batch'][i][j]:.6g}")
    for i in range(len(L["db_batch"]) if full else min(2, len(L["db_batch"]))):
        t.add_row(f"b{_sub(i + 1)}{s}", f"{L['db_example'][i]:.6g}", f"{L['db_batch'][i]:.6g}", "(none)",
                  f"{L['db_batch'][i]:.6g}")
    out.print(t)


def _render_explain(res: dict, src: Any, layer: Optional[int]) -> None:
    arch = res["architecture"]
    layers = res["layers"]
    nl = len(layers)
    full = layer is not None
    pick = (lambda l: l == layer) if full else (lambda l: True)
    out.print(f"example {res['example']} of the {src.data}", markup=False, style="bold")
    out.print(f"network {'-'.join(map(str, arch['layers']))}: {arch['activation']} hidden, {arch['output_activation']} "
              f"output, {arch['loss']} loss, λ = {res['lam']:g}; {src.weights}", markup=False)
    c = res["cost"]
    out.print(f"x = {_vec(res['x'], full)}   y = {_vec(res['y'], full)}   h(x) = a{_sup(nl)} = {_vec(res['h'], full)}",
              markup=False)
    out.print(f"this example's cost (no λ) {c['example']:.6g};  batch J = (1/m) Σ loss + (λ/2) Σ‖W‖² = "
              f"{c['J_data']:.6g} + {c['J_reg']:.6g} = {c['J']:.6g}  (m = {res['m']})", markup=False)

    _section("1. forward pass:  z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾,  a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾)", "network.forward")
    for L in layers:
        if pick(L["l"]):
            _render_forward(L, full)
    if pick(nl):
        od = layers[-1]["output_delta"]
        fn = "losses.squared_error_delta" if arch["loss"] == "squared_error" else "losses.cross_entropy_delta"
        _section(f"2. output error:  {od['equation']}", fn)
        _render_output_delta(layers[-1], full)
    hidden = [L for L in layers[1:-1] if pick(L["l"])]
    if hidden:
        _section("3. errors carried back:  δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾ δⱼ⁽ˡ⁺¹⁾)·f′(zᵢ⁽ˡ⁾),  i.e. δ⁽ˡ⁾ = (W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾)·f′(z⁽ˡ⁾)",
                 "network.backprop")
        for L in reversed(hidden):
            _render_hidden_delta(L, layers[L["l"]], full)
    blocks = [L for L in layers[:-1] if pick(L["l"])]
    if blocks:
        _section("4. this example's gradient:  ∂J/∂Wᵢⱼ⁽ˡ⁾ = aⱼ⁽ˡ⁾δᵢ⁽ˡ⁺¹⁾,  ∂J/∂bᵢ⁽ˡ⁾ = δᵢ⁽ˡ⁺¹⁾",
                 "network.backprop; numerical: gradcheck.numerical_gradient on this example's cost, λ = 0")
        for L in blocks:
            _render_gradients(L, layers[L["l"]], full)
        _section("5. from one example to the batch:  "
                 "∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ + λW⁽ˡ⁾,  ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾",
                 "network.backprop on the whole train split")
        for L in blocks:
            _render_batch(L, res, full)
    if not full:
        out.print()
        out.print(f"--layer 1…{nl} prints every number of one layer; --json prints them all.", markup=False)


@app.command()
@handle_errors
def explain(
    target: Path = typer.Argument(
        ..., help="A config (its initial weights), or a run folder / checkpoint .npz (its trained weights)."
    ),
    example: int = typer.Option(0, "--example", "-i", help="Which example of the train split (0-based)."),
    layer: Optional[int] = typer.Option(
        None, "--layer", "-l", help="Show every number of layer l only: its z, a, f′, δ, and the gradient of W⁽ˡ⁾, "
        "b⁽ˡ⁾ (the weights leaving it); 1 = input … nl = output."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object with every array in full."),
    set_: list[str] = typer.Option([], "--set", help="With a config: override a key, e.g. --set loss=squared_error."),
    entries: int = typer.Option(
        ENTRIES, "--entries", min=0, help="The numerical derivative of at most this many entries of a block (a "
        "random sample, with the largest and the first; the --layer shown: all); 0 = every entry."
    ),
) -> None:
    """Walk one training example through backpropagation, every term of every equation written out.

    Forward pass (z, a = f(z), f′(z)); the output error δ⁽ⁿˡ⁾ in the loss's own form; each hidden
    δᵢ⁽ˡ⁾ = (Σⱼ Wⱼᵢ⁽ˡ⁾δⱼ⁽ˡ⁺¹⁾)·f′(zᵢ⁽ˡ⁾) with the terms of the sum; this example's gradient
    ∂J/∂Wᵢⱼ⁽ˡ⁾ = aⱼ⁽ˡ⁾δᵢ⁽ˡ⁺¹⁾ beside the numerical derivative of its cost; and how the average
    over the m examples and λW make the batch gradient. See docs/math.md for the derivation.
    Wide layers are summarised; --layer and --json give the full numbers. The numerical derivative
    costs four forward passes an entry: a block of more than --entries entries gets it on a random
    sample of them, always with the largest and the first (the --layer shown: on all).

    \b
    Examples:  nettrain explain configs/xor.yaml --example 0
               nettrain explain runs/digits --example 5 --layer 2
               nettrain explain configs/iris.yaml --set loss=squared_error --json
    """
    from . import explain as ex

    src, res = ex.report(target, example, layer, set_, max_entries=entries or None)
    if json_out:
        print_json(ex.for_json(res, layer))
        return
    _render_explain(res, src, layer)


def _sparkline_line(history: Any) -> str:
    """J over the run as one line of ▁▂▃▄▅▆▇█ (plot.sparkline), with its first and last values."""
    from .plot import log_scale_helps, sparkline

    J = history.J  # J of every epoch, resumed ones included
    if len(J) < 2:
        return ""
    log = log_scale_helps(J)
    return (f"J over {len(J) - 1} epochs: {sparkline(J, 40, log)}  {_num(J[0], '.4g')} → {_num(J[-1], '.4g')}"
            + (" (log scale)" if log else ""))


@app.command()
@handle_errors
def plot(
    run_dir: Path = typer.Argument(..., help="A run folder written by nettrain fit (its metrics.csv is read)."),
    out_file: Optional[Path] = typer.Option(
        None, "--out", help="The picture to write, .png or .svg (default RUN_DIR/cost.png)."
    ),
) -> None:
    """Draw a run's cost curves from its metrics.csv to a .png or .svg picture.

    J, J_data and J_reg per epoch (log scale when they span decades), the validation cost, and
    the validation accuracy or R² when the run has a val split: how the regularisation term
    trades against the data term.

    Needs matplotlib: pip install "nettrain[plot]". Without it, exits 1 with a one-line message.

    \b
    Examples:  nettrain plot runs/digits
               nettrain plot runs/iris --out iris-cost.svg
    """
    from . import plot as plot_mod

    if out_file is not None and out_file.suffix.lower() not in plot_mod.FORMATS:
        err.print(f"nettrain: usage error: --out {out_file}: the picture must be .png or .svg", markup=False)
        raise typer.Exit(2)
    metrics = plot_mod.read_metrics(run_dir)
    target = out_file if out_file is not None else metrics.path.parent / "cost.png"
    plot_mod.plot_metrics(metrics, target)
    err.print(f"wrote {target}", markup=False)


class _progress:
    """A transient rich progress bar on stderr; `step()` moves it by one, step(done, total) sets both."""

    def __init__(self, total: Optional[int], label: str, disable: bool = False) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True, disable=disable,
        )
        self.total = total
        self.task: Any = None  # the bar appears at the first step: an input refused before it leaves one line

    def step(self, done: Optional[int] = None, total: Optional[int] = None) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("", total=self.total)
        if done is None:
            self.progress.advance(self.task)
        else:
            self.progress.update(self.task, completed=done, total=total)

    def __enter__(self) -> Callable[..., None]:
        return self.step

    def __exit__(self, *exc: Any) -> None:
        if self.task is not None:
            self.progress.stop()


def main() -> None:
    """Entry point of the `nettrain` console script."""
    app()
