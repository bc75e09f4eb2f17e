"""Pictures of a run: the cost curves of its metrics.csv, and a terminal sparkline of J.

    read_metrics(run_dir)      metrics.csv as columns of floats (NaN where a row left a cell empty:
                               grad_norm and the validation columns are filled every log.every epochs)
    plot_metrics(metrics, out) J, J_data and J_reg (and J_sparse, for a sparse autoencoder) against
                               the epoch (log scale when they span more than a decade), the
                               validation J_data, and the validation accuracy or R² in a second
                               panel: how the regularisation term trades against the data term.
                               Needs matplotlib (`pip install -e ".[plot]"`), imported only here
                               and only when called; drawn with the Agg backend (no display), to
                               .png or .svg.
    filter_grid(W)             W⁽¹⁾'s rows as square image tiles in one grid, each scaled to its own
                               range, as the tutorial's display_network does (numpy alone)
    plot_weights(W, out)       that grid as a picture, one tile per hidden unit: the learned filters
                               (with no hidden layer, layers [n, K], one tile per output unit: row k of
                               W⁽¹⁾ is the template that class k's score zₖ = W⁽¹⁾ₖx + bₖ matches)
    weights_title(…)           that picture's title, saying which units the tiles are
    runs_figure(series)        several runs' J, J_data, J_reg (one colour per run) and validation J_data
    sweep_figure(keys, trials, metric)   a sweep's metric against each swept key, and the validation
                               curve: train and validation J_data against λ on a log axis, λ = 0 placed
                               left of the smallest positive λ (sweep_axis)
    residual_figure(h, y)      a regression's predictions against its targets, and the residuals
    *_figure → a Figure; save_figure(fig, out) writes it, figure_bytes(fig) encodes it (for a page).
    sparkline(values)          ▁▂▃▄▅▆▇█ over ~40 buckets, log-scaled when the values span decades:
                               pure Python and numpy, for `fit`'s summary without the extra.

Left out on purpose: the math (network.py) and the terminal (cli.py).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from .errors import MissingExtra, RunIOError
from .history import OLD_NAMES

BLOCKS = "▁▂▃▄▅▆▇█"
FORMATS = (".png", ".svg")
REQUIRED = ("epoch", "cost", "data_cost", "reg_cost")


def log_scale_helps(values: Iterable[Optional[float]]) -> bool:
    """True when the finite values are all positive and the largest is more than 10× the smallest."""
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    return v.size > 1 and bool(np.all(v > 0)) and float(v.max()) > 10.0 * float(v.min())


def sparkline(values: Iterable[Optional[float]], width: int = 40, log: Optional[bool] = None) -> str:
    """One block character per bucket of consecutive values (the bucket's mean), lowest ▁ to highest █.

    At most `width` buckets; None and non-finite values are skipped. log=None: log-scaled when
    `log_scale_helps`. A constant series is a flat line of ▁.
    """
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return ""
    if log is None:
        log = log_scale_helps(v)
    if log and np.all(v > 0):
        v = np.log10(v)
    means = np.array([b.mean() for b in np.array_split(v, min(width, v.size))])
    lo, hi = float(means.min()), float(means.max())
    if hi - lo <= 1e-12 * max(abs(hi), abs(lo), 1e-300):
        return BLOCKS[0] * means.size
    levels = np.rint((means - lo) / (hi - lo) * (len(BLOCKS) - 1)).astype(int)
    return "".join(BLOCKS[k] for k in levels)


@dataclass
class Metrics:
    """metrics.csv by column: name → float array (NaN for an empty cell), and where it was read from."""

    path: Path
    columns: list[str]
    values: dict[str, np.ndarray]

    def has(self, column: str) -> bool:
        return column in self.values and bool(np.isfinite(self.values[column]).any())


def read_metrics(run_dir: Path) -> Metrics:
    """A run folder's metrics.csv (or the csv file itself), checked for the columns nettrain fit writes."""
    run_dir = Path(run_dir)
    path = run_dir / "metrics.csv" if run_dir.is_dir() else run_dir
    if not run_dir.exists():
        raise RunIOError(f"{run_dir} does not exist: give a run folder written by nettrain fit")
    if not path.is_file():
        raise RunIOError(f"{run_dir} has no metrics.csv: give a run folder written by nettrain fit")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise RunIOError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    if not rows:
        raise RunIOError(f"{path} is empty: it should start with the header epoch,cost,data_cost,reg_cost,…")
    header = [OLD_NAMES.get(h.strip(), h.strip()) for h in rows[0]]  # an older run's names read as today's
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RunIOError(
            f"{path}: line 1: the header lacks {', '.join(missing)}: not a metrics.csv written by nettrain fit"
        )
    if len(rows) < 2:
        raise RunIOError(f"{path} has no rows yet: the run has not logged an epoch")
    data = np.full((len(rows) - 1, len(header)), np.nan)
    for r, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise RunIOError(f"{path}: line {r + 2}: {len(row)} cells for {len(header)} columns")
        for c, cell in enumerate(row):
            if cell.strip():
                try:
                    data[r, c] = float(cell)
                except ValueError:
                    raise RunIOError(f"{path}: line {r + 2}, column {header[c]}: not a number ({cell!r})") from None
    return Metrics(path, header, {h: data[:, c] for c, h in enumerate(header)})


def run_title(metrics: Metrics) -> str:
    """"<name>: λ = …, α = …, <n> epochs" from the config.yaml beside metrics.csv (the folder name without it)."""
    epochs = len(metrics.values["epoch"]) - 1
    try:
        import yaml

        cfg = yaml.safe_load((metrics.path.parent / "config.yaml").read_text(encoding="utf-8"))
        train = cfg["train"]
        lam, alpha = float(train["weight_decay"]), float(train["learning_rate"])
        return f"{cfg['name']}: λ = {lam:g}, α = {alpha:g}, {epochs} epochs"
    except Exception:  # no config.yaml or not nettrain's: the title is only a label
        return f"{metrics.path.parent.resolve().name}: {epochs} epochs"


def _matplotlib():
    """matplotlib's Figure and Agg canvas, or a one-line error saying how to install them."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtra(
            'drawing figures needs matplotlib, which is not installed: pip install -e ".[plot]"'
        ) from None
    return Figure, FigureCanvasAgg


def val_data_column(metrics: Metrics) -> Optional[str]:
    """The validation J_data column (None: no val split)."""
    return "val_data_cost" if metrics.has("val_data_cost") else None


def plot_metrics(metrics: Metrics, out: Path, title: Optional[str] = None) -> Path:
    """Draw the cost curves (and validation accuracy/R² when present) to out (.png or .svg)."""
    return save_figure(metrics_figure(metrics, title), out)


def metrics_figure(metrics: Metrics, title: Optional[str] = None) -> Any:
    """plot_metrics's figure (a matplotlib Figure on the Agg canvas), not yet written anywhere."""
    v = metrics.values
    epoch = v["epoch"]
    has_val_metric = next((c for c in ("val_accuracy", "val_r2") if metrics.has(c)), None)
    fig = new_figure((10, 4.2) if has_val_metric else (7, 4.2))
    axes = fig.subplots(1, 2 if has_val_metric else 1, squeeze=False)[0]
    ax = axes[0]
    sparse = "sparse_cost" in v
    curves = [("cost", "J = J_data + J_reg" + (" + J_sparse" if sparse else ""), "C0", "-"),
              ("data_cost", "J_data (train)", "C1", "--"), ("reg_cost", "J_reg = (λ/2) Σ‖W‖²", "C2", ":")]
    if sparse:
        curves.append(("sparse_cost", "J_sparse = β Σⱼ KL(ρ‖ρ̂ⱼ)", "C4", "-."))
    shown = []
    for col, label, color, style in curves:
        y = v[col]
        if col == "reg_cost" and not np.any(y[np.isfinite(y)] > 0):
            ax.plot([], [], color=color, linestyle=style, label="J_reg = 0 (λ = 0)")
            continue
        ok = np.isfinite(y)  # rows without J (a minibatch run's log.train_cost: logged) are left out
        ax.plot(epoch[ok], y[ok], color=color, linestyle=style, linewidth=1.6, label=label)
        shown.append(y[ok])
    val = val_data_column(metrics)
    if val:
        ok = np.isfinite(v[val])
        ax.plot(epoch[ok], v[val][ok], "o-", color="C3", markersize=3.5, linewidth=1, label="J_data (validation)")
        shown.append(v[val][ok])
    if log_scale_helps(np.concatenate(shown).tolist()):
        log_y(ax)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost")
    ax.set_title("the cost and its three terms" if sparse else "the cost and its two terms")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    if has_val_metric:
        ax2 = axes[1]
        ok = np.isfinite(v[has_val_metric])
        name = "accuracy" if has_val_metric == "val_accuracy" else "R²"
        ax2.plot(epoch[ok], v[has_val_metric][ok], "o-", color="C3", markersize=3.5, linewidth=1)
        ax2.set_xlabel("epoch")
        ax2.set_ylabel(f"validation {name}")
        ax2.set_title(f"validation {name}")
        ax2.grid(True, alpha=0.3)
    fig.suptitle(plain_text(title or run_title(metrics)), fontsize="medium")
    return fig


def run_colors(n: int) -> list:
    """n distinct colours, one per run: matplotlib's tab10 (tab20 past 10 runs, viridis past 20)."""
    from matplotlib import colormaps

    if n <= 10:
        return [f"C{i}" for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["viridis"](x) for x in np.linspace(0.0, 0.95, n)]


def new_figure(size: tuple[float, float]) -> Any:
    """An empty matplotlib Figure of `size` inches (100 dpi, constrained layout) on the Agg canvas."""
    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # no display: the Agg canvas renders to a file
    return fig


SPAN = 1e-6  # runs_figure's log cost axis shows at most 6 decades below the largest value


def runs_figure(series: Sequence[tuple[str, Metrics]], title: Optional[str] = None, fig: Any = None) -> Any:
    """Several runs in one figure: J (solid), J_data (dashed) and J_reg (dotted) against the epoch, one
    colour per run; beside them each run's validation J_data (when any run has a val split). A log cost
    axis is cut SPAN below its largest value, and says so. fig: draw into this figure (or subfigure)
    instead of a new one."""
    _matplotlib()
    from matplotlib.lines import Line2D

    val_cols = [val_data_column(m) for _, m in series]
    has_val = any(val_cols)
    fig = new_figure((11, 4.4) if has_val else (8, 4.4)) if fig is None else fig
    axes = fig.subplots(1, 2 if has_val else 1, squeeze=False)[0]
    colors = run_colors(len(series))
    shown: list[np.ndarray] = []
    for (label, m), color, val in zip(series, colors, val_cols):
        v = m.values
        for col, style in (("cost", "-"), ("data_cost", "--"), ("reg_cost", ":"), ("sparse_cost", "-.")):
            y = v.get(col)
            ok = np.isfinite(y) & (y > 0) if y is not None else None  # J_reg of λ = 0 is 0: not drawn
            if ok is None or not ok.any():
                continue
            axes[0].plot(v["epoch"][ok], y[ok], color=color, linestyle=style, linewidth=1.3)
            shown.append(y[ok])
        if val:
            ok = np.isfinite(v[val])
            axes[-1].plot(v["epoch"][ok], v[val][ok], "o-", color=color, markersize=3, linewidth=1)
    if shown and log_scale_helps(np.concatenate(shown).tolist()):
        log_y(axes[0])
        top = float(np.concatenate(shown).max())
        if float(np.concatenate(shown).min()) < top * SPAN:  # a J_data → 0 (λ = 0 fitting exactly) squashes the rest
            axes[0].set_ylim(bottom=top * SPAN)
            axes[0].text(0.01, 0.01, f"(cut below {top * SPAN:.0e})", transform=axes[0].transAxes, fontsize="x-small")
    axes[0].set_title("J (solid), J_data (dashed), J_reg (dotted)")
    axes[0].legend(handles=[Line2D([], [], color="k", linestyle=s, label=t) for s, t in
                            (("-", "J"), ("--", "J_data (train)"), (":", "J_reg"))], fontsize="small")
    if has_val:
        axes[1].set_title("J_data on the validation split")
        if log_scale_helps([x for _, m in series for c in [val_data_column(m)] if c for x in m.values[c]]):
            log_y(axes[1])
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("cost")
    handles = [Line2D([], [], color=c, linewidth=2, label=plain_text(label)) for (label, _), c in zip(series, colors)]
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize="small", ncols=1 + len(series) // 16)
    else:
        _nothing(axes[0], "no run has logged an epoch yet")
    if title:
        fig.suptitle(plain_text(title), fontsize="medium")
    return fig


def _numbers(values: Sequence[Any]) -> bool:
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                for v in values)


def sweep_axis(ax: Any, values: Sequence[Any], log: Optional[bool] = None) -> list[float]:
    """The x positions of a swept key's values on ax, with ax's x axis set up for them.

    Numbers ≥ 0 whose positive ones span more than a decade (or log=True): a log axis, and 0 — which a
    log axis cannot hold — drawn one decade left of the smallest positive value, its tick labelled "0"
    and the axis marked "//" between them. Other numbers: a linear axis. Anything else (a list such as
    model.layers, a text): one position per distinct value, in the order of first appearance."""
    if not _numbers(values):
        distinct: list[str] = []
        for v in values:
            if value_text(v) not in distinct:
                distinct.append(value_text(v))
        ax.set_xticks(range(len(distinct)), [plain_text(t) for t in distinct],
                      rotation=30 if sum(map(len, distinct)) > 40 else 0)
        ax.set_xlim(-0.5, len(distinct) - 0.5)
        return [float(distinct.index(value_text(v))) for v in values]
    x = [float(v) for v in values]
    pos = [v for v in x if v > 0]
    if log is None:
        log = log_scale_helps(pos)
    if not log or not pos or min(x) < 0:
        return x
    from matplotlib.ticker import NullLocator

    lo, hi = min(pos), max(pos)
    zero = lo / 10.0
    ax.set_xscale("log")
    ticks = [10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]
    ticks = [t for t in ticks if lo / 1.0001 <= t <= hi * 1.0001] or [lo, hi]
    labels = [f"{t:g}" for t in ticks]
    if any(v == 0 for v in x):
        ticks, labels = [zero] + ticks, ["0"] + labels
        from matplotlib.transforms import blended_transform_factory

        mark = blended_transform_factory(ax.transData, ax.transAxes)
        ax.text(math.sqrt(zero * lo), 0.0, "//", transform=mark, ha="center", va="center", fontsize="small",
                backgroundcolor="white", clip_on=False)
    ax.set_xticks(ticks, labels)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(min(ticks + [zero if 0 in x else lo]) / 2.0, hi * 2.0)
    return [zero if v == 0 else v for v in x]


LAMBDA = "train.weight_decay"
METRIC_NAMES = {"cost": "J", "data_cost": "J_data (train)", "reg_cost": "J_reg", "val_data_cost": "J_data (validation)",
                "val_accuracy": "validation accuracy", "val_r2": "validation R²"}


def sweep_figure(keys: Sequence[str], trials: Sequence[dict], metric: str, best: Optional[int] = None,
                 title: Optional[str] = None, fig: Any = None) -> Any:
    """A sweep's trials (trials.csv's rows: the swept keys' values, status, data_cost, val_data_cost, the
    metric) against each swept key: the metric, one point per trial (hollow: pruned; ringed: the best
    trial); for λ (train.weight_decay), the validation curve — train and validation J_data against λ on a
    log axis — in place of the metric's panel when the metric is val J_data, beside it otherwise.
    fig: draw into this figure (or subfigure) instead of a new one (sweep_size(keys, metric) fits it)."""
    rows = [t for t in trials if t.get("status") in ("done", "pruned", "running")]
    panels = sweep_panels(keys, metric)
    cols, nrows = min(3, max(1, len(panels))), max(1, math.ceil(len(panels) / 3))
    fig = new_figure(sweep_size(keys, metric)) if fig is None else fig
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, (kind, key) in zip(axes, panels):
        if kind == "curve":
            _validation_curve(ax, [k for k in keys if k != LAMBDA], rows, best)
        else:
            _metric_panel(ax, key, rows, metric, best)
        ax.grid(True, alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    if not panels:
        axes[0].text(0.5, 0.5, "no swept keys", ha="center", va="center")
    if title:
        fig.suptitle(plain_text(title), fontsize="medium")
    return fig


def sweep_panels(keys: Sequence[str], metric: str) -> list[tuple[str, str]]:
    """sweep_figure's panels, in order: ("curve", λ) for the validation curve, ("metric", key) for the others."""
    panels = [("curve", LAMBDA)] if LAMBDA in keys else []
    return panels + [("metric", k) for k in keys if not (k == LAMBDA and metric == "val_data_cost")]


def sweep_size(keys: Sequence[str], metric: str) -> tuple[float, float]:
    """sweep_figure's size in inches: up to 3 panels a row."""
    n = len(sweep_panels(keys, metric))
    return 4.3 * min(3, max(1, n)) + 0.6, 3.7 * max(1, math.ceil(n / 3))


def _with(rows: Sequence[dict], *columns: str) -> list[dict]:
    """The rows where every column holds a finite number."""
    return [r for r in rows if _numbers([r.get(c) for c in columns])]


def _nothing(ax: Any, text: str) -> None:
    """An empty panel that says why it is empty."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _metric_panel(ax: Any, key: str, rows: Sequence[dict], metric: str, best: Optional[int]) -> None:
    rows = [r for r in _with(rows, metric) if key in r]
    if not rows:
        return _nothing(ax, f"no trial has {plain_text(metric)} yet")
    x = sweep_axis(ax, [r[key] for r in rows], log=True if key == LAMBDA else None)
    y = [r[metric] for r in rows]
    pruned = [r.get("status") == "pruned" for r in rows]
    ax.scatter([a for a, p in zip(x, pruned) if not p], [b for b, p in zip(y, pruned) if not p], color="C0",
               s=28, zorder=3, label="done")
    if any(pruned):
        ax.scatter([a for a, p in zip(x, pruned) if p], [b for b, p in zip(y, pruned) if p], facecolors="none",
                   edgecolors="C0", s=28, zorder=3, label="pruned")
    at = [(a, b) for a, b, r in zip(x, y, rows) if best is not None and r.get("trial") == best]
    if at:
        ax.scatter(*zip(*at), facecolors="none", edgecolors="C3", s=140, linewidths=1.6, zorder=4, label="best")
    if len(y) > 1 and log_scale_helps(y):
        log_y(ax)
    ax.set_xlabel(plain_text(key) + (" (λ)" if key == LAMBDA else ""))
    ax.set_ylabel(METRIC_NAMES.get(metric, plain_text(metric)))
    ax.set_title(f"{METRIC_NAMES.get(metric, plain_text(metric))} by {plain_text(key)}", fontsize="medium")
    if any(pruned) or at:
        ax.legend(fontsize="small")


def _validation_curve(ax: Any, others: Sequence[str], rows: Sequence[dict], best: Optional[int]) -> None:
    """Train and validation J_data against λ, one colour per combination of the other swept keys (up to
    8, each a line through its positive λ; more: points alone); λ = 0 as sweep_axis places it; the best
    trial's validation point ringed. The J_data axis is linear — the gap between the curves and the
    minimum of the validation curve are what it shows, and a train J_data near 0 (λ = 0 fitting the train
    split exactly) would stretch a log axis over decades — unless the validation values span more
    than a factor 100."""
    rows = _with(rows, LAMBDA, "data_cost")
    if not rows:
        return _nothing(ax, "no trial has J_data yet")
    x = sweep_axis(ax, [r[LAMBDA] for r in rows], log=True)
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(", ".join(f"{k} = {value_text(r.get(k))}" for k in others), []).append(i)
    joined = len(groups) <= 8
    for g, (name, members) in enumerate(groups.items()):
        members.sort(key=lambda i: x[i])
        color = f"C{g % 10}"
        for col, style, marker, what in (("data_cost", "--", "s", "train"), ("val_data_cost", "-", "o", "val")):
            have = [i for i in members if _numbers([rows[i].get(col)])]
            if not have:
                continue
            pts = [(x[i], rows[i][col]) for i in have]
            label = f"{what} J_data" + (f" ({plain_text(name)})" if name and joined else "")
            line = [(x[i], rows[i][col]) for i in have if rows[i][LAMBDA] > 0] if joined else []
            if len(line) > 1:
                ax.plot(*zip(*line), linestyle=style, color=color, linewidth=1.2)
            ax.plot(*zip(*pts), linestyle="none", marker=marker, color=color, markersize=5,
                    markerfacecolor=color if what == "val" else "white", label=label if g < 8 else None)
    at = [(x[i], r["val_data_cost"]) for i, r in enumerate(rows)
          if best is not None and r.get("trial") == best and _numbers([r.get("val_data_cost")])]
    if at:
        ax.scatter(*zip(*at), facecolors="none", edgecolors="C3", s=150, linewidths=1.6, zorder=4, label="best")
    val = [r["val_data_cost"] for r in rows if _numbers([r.get("val_data_cost")])]
    if val and min(val) > 0 and max(val) > 100 * min(val):
        log_y(ax)
    ax.set_xlabel("λ (train.weight_decay)")
    ax.set_ylabel("J_data")
    ax.set_title("the validation curve: J_data against λ", fontsize="medium")
    ax.legend(fontsize="x-small" if len(groups) > 1 else "small")


def residual_figure(h: np.ndarray, y: np.ndarray, title: Optional[str] = None, points: int = 4000) -> Any:
    """Predictions h against targets y ((m, k) each, every output's pairs together; at most `points`
    of them, evenly spaced), with the line h = y; beside it the residuals h − y against h."""
    h, y = np.asarray(h, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if h.size > points:
        keep = np.linspace(0, h.size - 1, points).astype(int)
        h, y = h[keep], y[keep]
    fig = new_figure((9, 4))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.scatter(y, h, s=10, alpha=0.6, color="C0")
    lo, hi = (float(min(h.min(), y.min())), float(max(h.max(), y.max()))) if h.size else (0.0, 1.0)
    ax1.plot([lo, hi], [lo, hi], color="C3", linewidth=1, label="h = y")
    ax1.set_xlabel("target y")
    ax1.set_ylabel("prediction h(x)")
    ax1.set_title("predictions against targets", fontsize="medium")
    ax1.legend(fontsize="small")
    ax2.scatter(h, h - y, s=10, alpha=0.6, color="C0")
    ax2.axhline(0.0, color="C3", linewidth=1)
    ax2.set_xlabel("prediction h(x)")
    ax2.set_ylabel("residual h(x) − y")
    ax2.set_title("residuals", fontsize="medium")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(plain_text(title), fontsize="medium")
    return fig


def value_text(v: Any) -> str:
    """A swept value as a tick label: numbers in their shortest form, lists written out."""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value_text(x) for x in v) + "]"
    return "null" if v is None else str(v)


def filter_grid(W: np.ndarray, pad: int = 1) -> np.ndarray:
    """W⁽¹⁾ (s_2, s_1) as one grid image: row j of W⁽¹⁾ (the weights into hidden unit j) as a √s_1 × √s_1
    tile read row by row, ⌈√s_2⌉ tiles a row, `pad` pixels of −1 between them. As the tutorial's
    display_network: W's overall mean removed, then each tile divided by its own largest |value|, so
    every filter spans [−1, 1] (mid-grey = 0) whatever its scale. Returns values in [−1, 1]."""
    W = np.asarray(W, dtype=np.float64)
    units, n = W.shape
    side = math.isqrt(n)
    if side * side != n:
        raise RunIOError(f"the network has {n} inputs, not a square image (8×8 = 64, 28×28 = 784): its first-layer "
                         "weights cannot be drawn as image tiles")
    cols = math.ceil(math.sqrt(units))
    rows = math.ceil(units / cols)
    grid = np.full((pad + rows * (side + pad), pad + cols * (side + pad)), -1.0)
    W = W - W.mean()
    for j in range(units):
        r, c = divmod(j, cols)
        top, left = pad + r * (side + pad), pad + c * (side + pad)
        scale = float(np.max(np.abs(W[j])))
        grid[top : top + side, left : left + side] = (W[j] / scale if scale > 0 else W[j]).reshape(side, side)
    return grid


def weights_title(source: Any, epoch: Any, layers: Iterable[int]) -> str:
    """The title of plot_weights' picture of a network with these layers (s_1 … s_nl): its tiles are the
    rows of W⁽¹⁾, the weights into layer 2's units, hidden units unless layer 2 is the output."""
    units = "hidden unit" if len(tuple(layers)) > 2 else "output unit (no hidden layer: a class's template)"
    return f"W⁽¹⁾ of {source} (epoch {epoch}): one tile per {units}"


MAX_WIDTH = 1600  # plot_weights' picture at most this many pixels wide, when each grid pixel takes at least one


def plot_weights(W: np.ndarray, out: Path, title: Optional[str] = None, pixels: Optional[int] = None) -> Path:
    """filter_grid(W) drawn to out (.png or .svg) in grey (black −1, white +1), each pixel `pixels` wide:
    by default 16, fewer for a grid wider than MAX_WIDTH / 16 (196 tiles of 28×28: 3, not a 6,500-pixel picture)."""
    return save_figure(weights_figure(W, title, pixels), out)


def weights_figure(W: np.ndarray, title: Optional[str] = None, pixels: Optional[int] = None) -> Any:
    """plot_weights's figure, not yet written anywhere."""
    Figure, FigureCanvasAgg = _matplotlib()
    grid = filter_grid(W)
    h, w = grid.shape
    if pixels is None:
        pixels = max(1, min(16, MAX_WIDTH // w))
    fig = Figure(figsize=(w * pixels / 100, h * pixels / 100 + (0.35 if title else 0)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, h / (h + (35 / pixels if title else 0))))
    ax.imshow(grid, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(plain_text(title), fontsize="small", y=0.995)
    return fig


def log_y(ax: Any) -> None:
    """A log y axis whose ticks read as plain numbers (0.2, 1, 0.001), not powers of ten (2 × 10⁻¹);
    matplotlib still chooses which ticks to label (minor ones only on an axis of about a decade)."""
    from matplotlib.ticker import LogFormatter

    class Plain(LogFormatter):
        def __call__(self, x: float, pos: Any = None) -> str:
            return f"{x:g}" if super().__call__(x, pos) else ""

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(Plain(labelOnlyBase=False))
    ax.yaxis.set_minor_formatter(Plain(labelOnlyBase=False, minor_thresholds=(1.2, 0.5)))


def plain_text(text: str) -> str:
    """Text from a file as matplotlib should draw it: as written (a `$` would start mathtext, which can
    fail on arbitrary text or draw something else)."""
    return str(text).replace("$", r"\$")


def figure_bytes(fig: Any, fmt: str = "png") -> bytes:
    """The figure encoded as a .png or .svg file's bytes, for a page that embeds it."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    return buf.getvalue()


def save_figure(fig: Any, out: Any) -> Path:
    """Write the figure to `out` in the format its suffix names (.png or .svg); RunIOError when it cannot."""
    out = Path(out)
    try:
        fig.savefig(out, format=out.suffix.lstrip(".").lower())
    except OSError as e:
        raise RunIOError(f"cannot write {out}: {e.strerror or e}: check the folder exists and is writable") from None
    return out
