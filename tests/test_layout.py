"""The shape of the code: the math core has no I/O, and gradcheck works on every shipped config."""

import ast
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nettrain.cli import app

ROOT = Path(__file__).resolve().parent.parent
MATH_CORE = ("activations", "losses", "network", "sums", "numgrad", "train", "errors", "objective", "optimizers",
             "optimizers/base", "optimizers/gd", "optimizers/momentum", "optimizers/nesterov", "optimizers/adam",
             "optimizers/lbfgs")
ALLOWED = {"numpy", "__future__", "dataclasses", "typing", "math"}


@pytest.mark.parametrize("module", MATH_CORE)
def test_math_core_imports_nothing_but_numpy_and_itself(module):
    path = ROOT / "nettrain" / f"{module}.py"
    path = path if path.exists() else ROOT / "nettrain" / module / "__init__.py"
    allowed = ALLOWED | ({"scipy"} if module == "optimizers/lbfgs" else set())  # L-BFGS is scipy's
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 0:  # from . import x / from .x import y: must be the math core itself
                target = node.module or ""
                mods = [target] if target else [a.name for a in node.names]
                package = module.split("/")[0] if "/" in module or not (ROOT / "nettrain" / f"{module}.py").exists() else None
                if package and node.level == 1:  # from .x inside the optimizers package
                    mods = [f"{package}/{m}" for m in mods]
                assert all(m.split(".")[0] in MATH_CORE for m in mods), (module, mods)
                continue
            names = [node.module.split(".")[0]]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("open", "print", "input"), (module, node.func.id)
            continue
        else:
            continue
        assert set(names) <= allowed, (module, names)


@pytest.mark.parametrize("name", ["xor", "iris", "digits", "diabetes"])
def test_gradcheck_passes_on_every_shipped_config(name):
    res = CliRunner().invoke(app, ["gradcheck", str(ROOT / "configs" / f"{name}.yaml"), "--json", "--sample", "8"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    (case,) = data["cases"]
    assert case["passed"]
    blocks = {b["block"] for s in case["stages"] for b in s["blocks"]}
    assert blocks == {"W1", "b1", "W2", "b2"}
    stages = [s["stage"] for s in case["stages"]]
    assert stages == (["data"] if name == "xor" else ["data", "reg", "both"])  # xor has λ = 0


def test_fault_and_hostile_input_tests_are_marked_robustness():
    """`pytest -m "not robustness"` is the fast inner loop; plain `pytest` (CI) still runs them."""
    from . import test_faults, test_hostile

    for module in (test_faults, test_hostile):
        assert module.pytestmark.name == "robustness", module.__name__
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"robustness: ' in pyproject  # registered
    addopts = [line for line in pyproject.splitlines() if line.startswith("addopts")]
    assert addopts == ['addopts = "-q"']  # nothing deselected by default
