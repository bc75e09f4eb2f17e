"""What a newcomer sees in a terminal: output that fits it, help that reads plainly, errors in one line, a
closed pipe that does not stop training. Real processes with COLUMNS set, as a terminal sets it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from nettrain import checkpoint as ckpt

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
from nettrain.cli import app

COMMANDS = [c.name or c.callback.__name__ for c in app.registered_commands]  # every command, as the CLI has them


def nettrain(cwd: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nettrain", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(ENV, COLUMNS=str(columns)), timeout=300)


def widest(text: str) -> int:
    return max((cell_len(line.rstrip()) for line in text.splitlines()), default=0)


@pytest.mark.parametrize("args", [["gradcheck"], ["gradcheck", "configs/digits.yaml"],
                                  ["gradcheck", "configs/sparse_autoencoder.yaml", "--entries", "30"]])
def test_gradcheck_fits_80_columns_and_never_cuts_a_number(proj, args):
    res = nettrain(proj, *args)
    assert res.returncode == 0, res.stderr
    assert widest(res.stdout) <= 80 and "…" not in res.stdout
    if args == ["gradcheck"]:  # the built-in suite: a row per kind of network, not a screenful per case
        assert len(res.stdout.splitlines()) <= 60 and "--verbose" in res.stdout
    # every row of a block is whole, on one line: each number with all of its digits and its exponent
    number = r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?"
    row = re.compile(rf"(data|reg|both|sparsity|all) +[Wb]\d+\*? +{number} +\([\d, ]*\) +{number} +{number} +good *$")
    rows = [line for line in res.stdout.splitlines() if re.match(r"(data|reg|both|sparsity|all) +[Wb]", line)]
    assert all(row.fullmatch(line) for line in rows), [line for line in rows if not row.fullmatch(line)]
    assert len(rows) == (0 if args == ["gradcheck"] else 12 if "digits" in args[1] else 16)


FIT_RUNS = [("configs/digits-lbfgs.yaml", "train.epochs=30"),  # J evals: the widest row
            ("configs/diabetes.yaml", "train.epochs=40"),  # regression: RMSE and R²
            ("configs/penguins.yaml", "train.epochs=20")]  # data.missing's line under the header


@pytest.mark.parametrize("config, epochs", FIT_RUNS)
def test_fit_fits_80_columns_and_shows_every_digit_on_a_wide_terminal(proj, config, epochs):
    number = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?|—|0")
    for columns in (80, 200):
        res = nettrain(proj, "fit", config, "--set", epochs, "--set", "log.every=10", "--out", "f",
                       "--overwrite", columns=columns)
        assert res.returncode == 0, res.stderr
        assert widest(res.stdout) <= columns and "…" not in res.stdout
        lines = res.stdout.splitlines()
        head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["epoch", "J"])
        rows = [line.split() for line in lines[head + 1:] if line.strip() and line.split()[0].isdigit()]
        assert rows and len({len(r) for r in rows}) == 1 and len(rows[0]) >= 6  # every cell of a row on its line
        csv_head = (proj / "f" / "metrics.csv").read_text().split("\n", 1)[0].split(",")
        assert csv_head[-1] == "seconds" and len(rows[0]) == len(csv_head) - 1  # every column but the seconds
        assert all(number.fullmatch(c) for r in rows for c in r), rows
        digits = max(len(c.split("e")[0].lstrip("-").replace(".", "").lstrip("0")) for r in rows for c in r[1:3])
        assert 4 <= digits <= 6 and (digits == 6 or columns == 80)  # .6g where there is room, down to .4g
        title = next(line for line in lines if " at epoch " in line and "; each split at epoch" in line)
        assert re.search(r"in [\d.]+ s;", title)  # how long the fit took
        table = lines[lines.index(title) + 2]
        assert ("accuracy" in table) != ("RMSE" in table and "R²" in table)  # a metric's own column


def test_an_early_stopped_fit_shows_the_state_eval_uses(proj):
    res = nettrain(proj, "fit", "configs/iris.yaml", "--set", "train.optimizer=adam", "--set", "train.learning_rate=0.05",
                   "--set", "train.epochs=2000", "--set", "log.every=1", "--set", "train.early_stopping={patience: 5}",
                   "--out", str(proj / "es"))
    assert res.returncode == 0, res.stderr
    best = json.loads(nettrain(proj, "eval", str(proj / "es"), "--split", "test", "--json").stdout)
    assert best["checkpoint"].endswith("best.npz")
    title = next(line for line in res.stdout.splitlines() if line.startswith("early stopped at epoch"))
    assert f"each split at best.npz, epoch {best['epoch']} (what eval and predict use)" in " ".join(
        res.stdout[res.stdout.index(title):].split())
    test_row = next(line for line in res.stdout.splitlines() if line.startswith("│ test"))
    assert f"{best['accuracy']:.4f}" in test_row and f"{best['cost']:.6g}" in test_row


def test_eval_fits_80_columns_and_a_wide_terminal_too(proj):
    assert nettrain(proj, "fit", "configs/digits.yaml", "--set", "train.epochs=20", "--out", "d").returncode == 0
    for columns in (80, 200):
        res = nettrain(proj, "eval", str(proj / "d"), columns=columns)  # an absolute path: a long title line
        assert res.returncode == 0, res.stderr
        assert widest(res.stdout) <= columns and "…" not in res.stdout
        assert "confusion matrix" in res.stdout and "macro average" in res.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_reads_plainly_with_an_example(proj, command):
    res = nettrain(proj, command, "--help")
    assert res.returncode == 0
    usage = res.stdout.splitlines()[0]
    assert usage.startswith(f"Usage: nettrain {command} [OPTIONS]") and "{" not in usage
    assert not re.search(r"<(path|list\[str\]|int range|int|str|float)>", res.stdout), res.stdout
    assert "Example" in res.stdout and widest(res.stdout) <= 80


@pytest.mark.parametrize("args, says", [(["fit"], "Missing argument 'CONFIG...'"),
                                        (["fitt", "x"], "No such command 'fitt'. Did you mean 'fit'?"),
                                        (["eval", "x", "--split", "bogus"], "--split must be test, val or train"),
                                        (["gradcheck", "--sample", "0"], "--sample")])
def test_a_usage_error_is_one_line_and_exit_2(proj, args, says):
    res = nettrain(proj, *args)
    assert res.returncode == 2 and res.stdout == ""
    assert len(res.stderr.splitlines()) == 1, res.stderr
    assert res.stderr.startswith("nettrain: usage error: ") and says in res.stderr and "--help" in res.stderr


def test_a_closed_stdout_stops_the_printing_not_the_training(proj):
    """`nettrain fit … | head -2`: the reader goes away after two lines; the run goes on, saves, and exits 0."""
    cmd = [sys.executable, "-m", "nettrain", "fit", "configs/digits.yaml", "--set", "train.epochs=300",
           "--set", "log.every=1", "--out", "piped"]
    proc = subprocess.Popen(cmd, cwd=proj, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    head = [proc.stdout.readline() for _ in range(2)]
    proc.stdout.close()  # as head does
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, stderr
    assert head[0].startswith("training [64, 25, 10]") and stderr == ""
    assert ckpt.read_meta(proj / "piped" / "last.npz")["epoch"] == 300
    assert len((proj / "piped" / "metrics.csv").read_text().splitlines()) == 302  # the header and epochs 0 … 300


def test_pytest_says_why_it_skipped_tests(tmp_path):
    (tmp_path / "test_some.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    pass\n\n"
        "@pytest.mark.skip(reason='torch is not installed')\ndef test_a():\n    pass\n\n"
        "@pytest.mark.skip(reason='torch is not installed')\ndef test_b():\n    pass\n\n"
        "def test_c():\n    pytest.skip('slow: run with --runslow')\n")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.skipsummary",
                          str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])))
    assert res.returncode == 0, res.stdout
    lines = res.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "skipped, and why" in line)
    assert [line.strip() for line in lines[at + 1:at + 3]] == ["2  torch is not installed", "1  slow: run with --runslow"]
