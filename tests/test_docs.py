"""docs/math.md: its code runs, every function it names exists, every equation names its function;
docs/notebook.py runs and prints the numbers it argues from.

Each ```python block is run on its own, in a fresh namespace, with the repository root as the
working directory (the page promises that each block runs as written when pasted alone).
"""

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "math.md"
MODULES = ("activations", "losses", "network", "sums", "numgrad", "train", "trainer", "walkthrough", "plot", "config", "data",
           "checkpoint", "metrics", "whiten", "features", "problem", "trained")
# `network.backprop`, `losses.squared_error_delta`, optionally nettrain.-prefixed or called: `network.cost(...)`
NAMED = re.compile(r"`(?:nettrain\.)?(" + "|".join(MODULES) + r")\.([A-Za-z_]\w*)(?:\(.*?\))?`")
LINK = re.compile(r"\[`(?:nettrain\.)?(\w+)\.(\w+)`\]\(([^)]+)\)")


def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def fenced(lang: str) -> list[tuple[int, str]]:
    """(line number, body) of every ```lang block."""
    text = page()
    blocks = re.finditer(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in blocks]


PYTHON_BLOCKS = fenced("python")


def test_the_page_has_code_and_equations():
    assert len(PYTHON_BLOCKS) >= 8
    assert len(fenced("text")) >= 12


@pytest.mark.parametrize("line,code", PYTHON_BLOCKS, ids=[f"line{n}" for n, _ in PYTHON_BLOCKS])
def test_python_block_runs_as_written(line, code, monkeypatch, capsys):
    if "sklearn" in code:
        pytest.importorskip("sklearn")
    monkeypatch.chdir(ROOT)
    exec(compile(code, f"docs/math.md:{line}", "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip(), "each block prints its real numbers"


def test_every_named_function_exists():
    names = set(NAMED.findall(page())) - {("metrics", "csv")}  # the run folder's file, not the module
    assert len(names) >= 20
    missing = [f"{mod}.{fn}" for mod, fn in sorted(names)
               if not hasattr(importlib.import_module(f"nettrain.{mod}"), fn)]
    assert not missing


def test_every_link_points_at_the_file_of_the_function_it_names():
    links = LINK.findall(page())
    assert len(links) >= 20
    for mod, fn, target in links:
        assert target == f"../nettrain/{mod}.py", (mod, fn, target)
        assert (PAGE.parent / target).resolve().is_file()
        source = (PAGE.parent / target).read_text(encoding="utf-8")
        assert re.search(rf"^\s*(def|class) {fn}\b|^{fn}\s*[:=]", source, re.M), (mod, fn)


def test_every_equation_names_the_function_that_computes_it():
    lines = page().splitlines()
    for start, body in fenced("text"):
        end = start + body.count("\n") + 1  # the closing ``` line (1-based)
        after = next(l for l in lines[end:] if l.strip())
        assert after.startswith("**Computed by**") and NAMED.search(after), (start, after)


def test_the_scikit_learn_claims_match_its_source():
    """The page quotes scikit-learn's code; check the quotes against the installed version."""
    sklearn = pytest.importorskip("sklearn")
    nn = Path(sklearn.__file__).parent / "neural_network"
    base = (nn / "_base.py").read_text(encoding="utf-8")
    mlp = (nn / "_multilayer_perceptron.py").read_text(encoding="utf-8")
    assert "0.5 * np.average((y_true - y_pred) ** 2, weights=sample_weight, axis=0).mean()" in " ".join(base.split())
    assert "loss += (0.5 * self.alpha) * values / sw_sum" in mlp
    assert "deltas[last] = activations[-1] - y" in mlp


def test_the_commands_the_page_cites_run():
    """Every `nettrain explain|gradcheck configs/…` the page points to as "Shown by" runs and shows that section."""
    from typer.testing import CliRunner

    from nettrain.cli import app

    cited = sorted(set(re.findall(r"`nettrain ((?:explain|gradcheck) configs/[^`]*)`", page())))
    assert len(cited) >= 8
    for cmd in cited:
        args = cmd.split()
        args[1] = str(ROOT / args[1])
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, (cmd, res.output)


def test_the_notebook_runs_and_shows_what_lambda_does(tmp_path, monkeypatch, capsys):
    """docs/notebook.py, run as a script: its run folders go to a temporary folder (here tmp_path), removed at
    its end, and its table shows λ = 0 with the lower training cost and λ = 1e-3 with the lower validation
    cost."""
    import runpy
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    ns = runpy.run_path(str(ROOT / "docs" / "notebook.py"), run_name="__notebook__")
    out = capsys.readouterr().out
    assert "J_data" in out and "lowest val J_data" in out
    no_decay, decay = ns["runs"][0.0], ns["runs"][1e-3]
    assert no_decay.train["data_cost"] < decay.train["data_cost"]
    assert decay.val["data_cost"] < no_decay.val["data_cost"]
    assert ns["OUT"].parent == tmp_path and not ns["OUT"].exists()  # nothing left behind
    assert [p.name for p in tmp_path.iterdir()] == []
