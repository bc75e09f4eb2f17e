"""The shape of the code: the math core has no I/O, and gradcheck works on every shipped config."""

import ast
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nettrain.cli import app

ROOT = Path(__file__).resolve().parent.parent
MATH_CORE = ("activations", "losses", "network", "sums", "numgrad", "train", "errors", "registry", "objective",
             "optimizers",
             "optimizers/base", "optimizers/gd", "optimizers/momentum", "optimizers/nesterov", "optimizers/adam",
             "optimizers/lbfgs")
ALLOWED = {"numpy", "__future__", "dataclasses", "typing", "math", "difflib"}  # difflib: "did you mean"


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


# ----------------------------------------------------------------------------- the house's shape


def _modules() -> dict[str, Path]:
    """nettrain's modules by dotted name (a package by its own name, for its __init__.py)."""
    mods = {}
    for path in (ROOT / "nettrain").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """The nettrain modules `name` imports anywhere in its text — inside functions too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
        else:
            continue
        for t in targets:
            while t not in mods and "." in t:
                t = t.rpartition(".")[0]
            if t in mods and t != name:
                found.add(t)
    return found


def test_no_import_cycles_not_even_through_function_level_imports():
    mods = _modules()
    graph = {name: _imports(name, path, mods) for name, path in mods.items()}
    cycles = []

    def visit(node: str, trail: list[str], done: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in trail:
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt, trail + [nxt], done)
        done.add(node)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name], done)
    assert not cycles, [" → ".join(c) for c in cycles[:5]]
    assert "nettrain.cli" not in set().union(*(graph[m] for m in graph if m != "nettrain.__main__"))  # only an entry


def test_the_graph_above_sees_a_function_level_import(tmp_path):
    """The cycle test reads imports inside functions too (the kind that hid api → cli → api)."""
    mods = {"nettrain.a": tmp_path / "a.py", "nettrain.b": tmp_path / "b.py"}
    (tmp_path / "a.py").write_text("def f():\n    from . import b\n")
    (tmp_path / "b.py").write_text("from .a import f\n")
    assert _imports("nettrain.a", mods["nettrain.a"], mods) == {"nettrain.b"}
    assert _imports("nettrain.b", mods["nettrain.b"], mods) == {"nettrain.a"}


MAX_FUNCTION_LINES, MAX_MODULE_LINES = 60, 600


def test_no_function_over_60_lines_and_no_module_over_600():
    too_long = []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {n} lines")
    assert not too_long, "a long function is several jobs, a long module several homes: " + "; ".join(too_long)
