"""nettrain.plot and `nettrain plot`: the sparkline by literal values, metrics.csv reading, real pictures."""

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettrain import plot
from nettrain.cli import app
from nettrain.history import History

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(res, code: int) -> str:
    assert res.exit_code == code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output, res.stderr
    return lines[0]


# ----------------------------------------------------------------------------- sparkline


def test_sparkline_levels():
    assert plot.sparkline([1, 2, 3, 4, 5, 6, 7, 8], log=False) == "▁▂▃▄▅▆▇█"
    assert plot.sparkline([8, 7, 6, 5, 4, 3, 2, 1], log=False) == "█▇▆▅▄▃▂▁"
    assert plot.sparkline([3.0, 3.0, 3.0]) == "▁▁▁"
    assert plot.sparkline([]) == "" and plot.sparkline([None, float("nan")]) == ""
    assert plot.sparkline([1, None, 8]) == "▁█"  # empty cells are skipped


def test_sparkline_log_scale_when_values_span_decades():
    # log10: 3, 2, 1, 0 → levels 7, 4.67, 2.33, 0 → █▆▃▁;  linear: 7, 0.69, 0.06, 0 → █▂▁▁
    assert plot.sparkline([1000, 100, 10, 1], log=True) == "█▆▃▁"
    assert plot.sparkline([1000, 100, 10, 1], log=False) == "█▂▁▁"
    assert plot.sparkline([1000, 100, 10, 1]) == "█▆▃▁"  # automatic: 1000 > 10 × 1
    assert plot.log_scale_helps([1000, 1]) and not plot.log_scale_helps([5, 1])
    assert not plot.log_scale_helps([100, 0.0]) and not plot.log_scale_helps([3.0])


def test_sparkline_buckets():
    v = np.linspace(1.0, 2.0, 400)
    s = plot.sparkline(v, width=40)
    assert len(s) == 40 and s[0] == "▁" and s[-1] == "█"
    assert len(plot.sparkline(v[:7], width=40)) == 7  # fewer values than buckets: one each
    # each bucket is the mean of its values: [1, 1, 5, 5] in 2 buckets → 1, 5
    assert plot.sparkline([1, 1, 5, 5], width=2, log=False) == "▁█"


# ----------------------------------------------------------------------------- metrics.csv


def write_run(folder: Path, val: bool = True, epochs: int = 30) -> Path:
    """A run folder with a metrics.csv as nettrain fit writes it (val/grad/seconds cells every 10 epochs)."""
    cols = ["epoch", "cost", "data_cost", "reg_cost", "grad_norm"] + (["val_data_cost", "val_accuracy"] if val else [])
    cols += ["seconds"]
    h = History(cols)
    for e in range(epochs + 1):
        data = 2.0 * np.exp(-e / 5) + 0.01
        reg = 0.02 * (1 - np.exp(-e / 8))
        logged = e % 10 == 0
        row = [e, data + reg, data, reg, 0.5 / (e + 1) if logged else None]
        if val:
            row += [data * 1.3, min(0.99, 0.3 + e / 30)] if logged else [None, None]
        h.append(row + [100.0 + e if logged else None])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.csv").write_text(h.take())
    return folder


def test_read_metrics_turns_empty_cells_into_nan(tmp_path):
    m = plot.read_metrics(write_run(tmp_path / "r"))
    assert m.columns[:4] == ["epoch", "cost", "data_cost", "reg_cost"]
    assert m.values["epoch"].tolist() == list(range(31))
    assert np.isfinite(m.values["val_data_cost"]).sum() == 4  # epochs 0, 10, 20, 30
    assert m.has("val_accuracy") and not m.has("val_r2")


def test_the_seconds_column_is_read_but_never_drawn_as_a_curve(tmp_path):
    pytest.importorskip("matplotlib")
    m = plot.read_metrics(write_run(tmp_path / "r"))
    seconds = m.values["seconds"]
    assert m.columns[-1] == "seconds" and seconds[np.isfinite(seconds)].tolist() == [100.0, 110.0, 120.0, 130.0]
    for fig in (plot.metrics_figure(m), plot.runs_figure([("r", m)])):
        drawn = [np.asarray(line.get_ydata(), dtype=float) for ax in fig.axes for line in ax.get_lines()]
        assert len(drawn) >= 3 and not any((y >= 100.0).any() for y in drawn)  # costs and scores, no wall time


def test_an_older_run_s_val_cost_column_reads_as_val_data_cost(tmp_path):
    path = write_run(tmp_path / "r") / "metrics.csv"
    new = plot.read_metrics(path).values["val_data_cost"]
    path.write_text(path.read_text().replace("val_data_cost", "val_cost", 1))  # as runs before the rename wrote it
    m = plot.read_metrics(path)
    assert not m.has("val_cost") and np.array_equal(m.values["val_data_cost"], new, equal_nan=True)
    assert np.isfinite(new).sum() == 4


def test_read_metrics_errors(tmp_path):
    with pytest.raises(plot.RunIOError, match="does not exist"):
        plot.read_metrics(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(plot.RunIOError, match="has no metrics.csv"):
        plot.read_metrics(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metrics.csv").write_text("a,b\n1,2\n")
    with pytest.raises(plot.RunIOError, match="line 1: the header lacks epoch"):
        plot.read_metrics(tmp_path / "bad")
    (tmp_path / "bad" / "metrics.csv").write_text("epoch,cost,data_cost,reg_cost\n")
    with pytest.raises(plot.RunIOError, match="no rows yet"):
        plot.read_metrics(tmp_path / "bad")
    (tmp_path / "bad" / "metrics.csv").write_text("epoch,cost,data_cost,reg_cost\n0,1,1,x\n")
    with pytest.raises(plot.RunIOError, match="line 2, column reg_cost"):
        plot.read_metrics(tmp_path / "bad")


# ----------------------------------------------------------------------------- pictures


def image(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    return imread(str(path))


@pytest.mark.parametrize("val,shape", [(True, (420, 1000)), (False, (420, 700))])
def test_plot_metrics_draws_a_png(tmp_path, val, shape):
    out = plot.plot_metrics(plot.read_metrics(write_run(tmp_path / "r", val)), tmp_path / "cost.png")
    img = image(out)
    assert img.shape[:2] == shape
    assert float(img[..., :3].var()) > 0.001  # not blank
    assert len(np.unique(img[..., :3].reshape(-1, 3), axis=0)) > 20  # curves, text, colours


def test_cli_plot_of_a_real_run(tmp_path):
    res = run("fit", ROOT / "configs" / "iris.yaml", "--set", "train.epochs=60", "--set", "log.every=20",
              "--out", tmp_path / "iris")
    assert res.exit_code == 0, res.output
    assert "J over 60 epochs:" in res.stdout and any(c in res.stdout for c in plot.BLOCKS)  # fit's sparkline
    res = run("plot", tmp_path / "iris")
    assert res.exit_code == 0, res.output
    img = image(tmp_path / "iris" / "cost.png")
    assert img.shape[:2] == (420, 1000) and float(img[..., :3].var()) > 0.001
    res = run("plot", tmp_path / "iris", "--out", tmp_path / "iris.svg")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "iris.svg").read_text().lstrip().startswith("<?xml")


def test_cli_plot_bad_input_is_one_line(tmp_path):
    write_run(tmp_path / "r")
    assert "must be .png or .svg" in one_line_error(run("plot", tmp_path / "r", "--out", tmp_path / "x.jpg"), 2)
    (tmp_path / "empty").mkdir()
    assert "has no metrics.csv" in one_line_error(run("plot", tmp_path / "empty"), 7)
    assert "does not exist" in one_line_error(run("plot", tmp_path / "nothing"), 7)
    assert "cannot write" in one_line_error(run("plot", tmp_path / "r", "--out", tmp_path / "no" / "dir.png"), 7)


def test_without_matplotlib_plot_says_how_to_install(tmp_path, monkeypatch):
    write_run(tmp_path / "r")
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib…` now raises ImportError
    line = one_line_error(run("plot", tmp_path / "r"), 1)
    assert "matplotlib" in line and 'pip install -e ".[plot]"' in line
    assert not (tmp_path / "r" / "cost.png").exists()


def test_help_has_an_example():
    res = run("plot", "--help")
    assert res.exit_code == 0 and "Example" in res.stdout and "nettrain plot runs/digits" in res.stdout
    assert "exits 1" in res.stdout


def test_the_readme_picture_is_a_real_small_png():
    path = ROOT / "docs" / "images" / "digits-cost.png"
    assert path.stat().st_size < 150_000
    img = image(path)
    assert img.shape[:2] == (420, 1000) and float(img[..., :3].var()) > 0.001


# ----------------------------------------------------------------------------- the weights as tiles


def test_filter_grid_tiles_are_the_rows_of_w_each_scaled_to_its_own_range():
    """W (10, 4): ⌈√10⌉ = 4 tiles a row, 3 rows of 2×2 tiles, 1 pixel of −1 between them. W's mean (here
    19.5/40 + 0.15 = 0.6375) removed, then row j divided by its largest |value|."""
    W = np.arange(40, dtype=float).reshape(10, 4) / 40 + np.array([0.0, 0.1, 0.2, 0.3])  # mean 0.6375
    grid = plot.filter_grid(W)
    assert grid.shape == (1 + 3 * 3, 1 + 4 * 3)
    centred = W - 0.6375
    tile5 = grid[4:6, 4:6]  # row 1, column 1 of tiles: unit 5
    np.testing.assert_allclose(tile5, (centred[5] / np.abs(centred[5]).max()).reshape(2, 2))
    assert grid[0].tolist() == [-1.0] * 13 and grid[7:, 7:].tolist() == [[-1.0] * 6] * 3  # padding; no unit 10, 11
    with pytest.raises(Exception, match="not a square image"):
        plot.filter_grid(np.zeros((3, 5)))


def test_softmax_regression_weights_are_drawn_one_tile_per_class(tmp_path):
    """layers [64, 10]: W⁽¹⁾'s rows are the 10 classes' templates, and the title says so."""
    assert plot.weights_title("r/last.npz", 7, [64, 25, 10]) == "W⁽¹⁾ of r/last.npz (epoch 7): one tile per hidden unit"
    assert "one tile per output unit" in plot.weights_title("r/last.npz", 7, (64, 10))
    res = run("fit", ROOT / "configs" / "digits-lbfgs.yaml", "--set", "model.layers=[64, 10]", "--set",
              "train.epochs=10", "--out", tmp_path / "softmax")
    assert res.exit_code == 0, res.output
    res = run("plot", tmp_path / "softmax", "--weights")
    assert res.exit_code == 0, res.output
    img = image(tmp_path / "softmax" / "weights.png")
    assert img.shape[1] == (1 + 4 * 9) * 16 and float(img[..., :3].var()) > 0.001  # 4 tiles of 8 + 1 a row


def test_a_wide_grid_is_drawn_smaller(tmp_path):
    """196 tiles of 28×28 (MNIST's [784, 196, 784]): a grid 1 + 14·29 = 407 pixels wide, drawn 1600 // 407 = 3
    pixels a grid pixel, 1,221 pixels across; a small grid keeps 16."""
    W = np.random.default_rng(0).normal(size=(196, 784))
    assert image(plot.plot_weights(W, tmp_path / "w.png")).shape[1] == 407 * 3
    assert image(plot.plot_weights(W[:4, :64], tmp_path / "s.png")).shape[1] == (1 + 2 * 9) * 16
