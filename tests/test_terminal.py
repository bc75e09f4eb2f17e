"""What a newcomer sees in a terminal: output that fits it, help that reads plainly, errors in one line, a
closed pipe that does not stop training. Real processes with COLUMNS set, as a terminal sets it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from nettrain import checkpoint as ckpt

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")
COMMANDS = ("fit", "eval", "predict", "gradcheck", "explain", "plot", "schema")


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
