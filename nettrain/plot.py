"""Pictures of a run: the cost curves of its metrics.csv, and a terminal sparkline of J.

    read_metrics(run_dir)      metrics.csv as columns of floats (NaN where a row left a cell empty:
                               grad_norm and the validation columns are filled every log.every epochs)
    plot_metrics(metrics, out) J, J_data and J_reg (and J_sparse, for a sparse autoencoder) against
                               the epoch (log scale when they span more than a decade), the
                               validation J_data, and the validation accuracy or R² in a second
                               panel: how the regularisation term trades against the data term.
                               Needs matplotlib (`pip install "nettrain[plot]"`), imported only here
                               and only when called; drawn with the Agg backend (no display), to
                               .png or .svg.
    filter_grid(W)             W⁽¹⁾'s rows as square image tiles in one grid, each scaled to its own
                               range, as the tutorial's display_network does (numpy alone)
    plot_weights(W, out)       that grid as a picture, one tile per hidden unit: the learned filters
                               (with no hidden layer, layers [n, K], one tile per output unit: row k of
                               W⁽¹⁾ is the template that class k's score zₖ = W⁽¹⁾ₖx + bₖ matches)
    weights_title(…)           that picture's title, saying which units the tiles are
    sparkline(values)          ▁▂▃▄▅▆▇█ over ~40 buckets, log-scaled when the values span decades:
                               pure Python and numpy, for `fit`'s summary without the extra.

Left out on purpose: the math (network.py) and the terminal (cli.py).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from .errors import MissingExtra, RunIOError

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
    header = [h.strip() for h in rows[0]]
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
            'nettrain plot needs matplotlib, which is not installed: pip install "nettrain[plot]"'
        ) from None
    return Figure, FigureCanvasAgg


def plot_metrics(metrics: Metrics, out: Path, title: Optional[str] = None) -> Path:
    """Draw the cost curves (and validation accuracy/R² when present) to out (.png or .svg)."""
    Figure, FigureCanvasAgg = _matplotlib()
    v = metrics.values
    epoch = v["epoch"]
    has_val_metric = next((c for c in ("val_accuracy", "val_r2") if metrics.has(c)), None)
    fig = Figure(figsize=(10, 4.2) if has_val_metric else (7, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # no display: the Agg canvas renders to a file
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
    if metrics.has("val_cost"):
        ok = np.isfinite(v["val_cost"])
        ax.plot(epoch[ok], v["val_cost"][ok], "o-", color="C3", markersize=3.5, linewidth=1,
                label="J_data (validation)")
        shown.append(v["val_cost"][ok])
    if log_scale_helps(np.concatenate(shown).tolist()):
        ax.set_yscale("log")
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
    fig.suptitle(title or run_title(metrics), fontsize="medium")
    return _save(fig, out)


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
        fig.suptitle(title, fontsize="small", y=0.995)
    return _save(fig, out)


def _save(fig: Any, out: Any) -> Path:
    """Write the figure to `out` in the format its suffix names (.png or .svg); RunIOError when it cannot."""
    out = Path(out)
    try:
        fig.savefig(out, format=out.suffix.lstrip(".").lower())
    except OSError as e:
        raise RunIOError(f"cannot write {out}: {e.strerror or e}: check the folder exists and is writable") from None
    return out
