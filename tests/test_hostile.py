"""Hostile or broken input through the real CLI: nothing runs, nothing is written, one line is said.

Every refusal here is checked the same way (`assert_refused`): the exit code, exactly one line on
stderr naming the file (and the line, column or array where there is one), nothing on stdout, no
traceback, no hint to use `allow_pickle=True`, and a byte-for-byte snapshot of the test's folder
tree equal before and after — so no run folder, prediction file or temp file was created.

The commands run in-process through typer's CliRunner (fast); tests/test_faults.py kills real
processes. docs/reliability.md maps each guarantee to the test that proves it.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import time
import tracemalloc
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy_format
from typer.testing import CliRunner

from nettrain.cli import app
from .fuzzing import key_paths, mutate
from .runfolders import metrics_less_seconds

# Fault and hostile-input tests: `pytest -m "not robustness"` leaves them out of the inner loop.
pytestmark = pytest.mark.robustness

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ("xor.csv", "iris.csv", "diabetes.csv")
runner = CliRunner()


# ----------------------------------------------------------------------------- helpers


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def snapshot(*roots: Path) -> dict:
    """Every folder (None) and file (its bytes) under roots: equal snapshots mean nothing was touched."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            out[str(p)] = p.read_bytes() if p.is_file() and not p.is_symlink() else None
    return out


def assert_refused(res, code: int, *fragments: str, before: dict | None = None, roots=()) -> str:
    """The refusal contract: exit code, one stderr line with the fragments, no traceback, disk untouched."""
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("nettrain: "), line
    assert "Traceback" not in res.output
    assert "allow_pickle" not in res.output
    assert res.stdout == "", res.stdout  # nothing but the one line, not even a blank one
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    if before is not None:
        assert snapshot(*roots) == before, "the refusal changed files on disk"
    return line


def refused(code: int, args: list, *fragments: str, roots: tuple[Path, ...]) -> str:
    """Run the CLI with args; assert the refusal contract with a snapshot of roots."""
    before = snapshot(*roots)
    return assert_refused(run(*args), code, *fragments, before=before, roots=roots)


def peak_bytes(fn):
    """(fn's result, the peak of Python and numpy allocations while it ran)."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def proj(tmp_path, monkeypatch):
    """configs/ and the small datasets copied to a temp folder, which is the working directory."""
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    (tmp_path / "data").mkdir()
    for name in DATASETS:
        shutil.copy(ROOT / "data" / name, tmp_path / "data" / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real iris run (20 epochs) whose checkpoint the hostile checkpoints are made from."""
    base = tmp_path_factory.mktemp("trained")
    shutil.copytree(ROOT / "configs", base / "configs")
    shutil.copytree(ROOT / "data", base / "data", ignore=shutil.ignore_patterns("*.py", "*.md", "digits.csv"))
    config, run_dir = base / "configs" / "iris.yaml", base / "run"
    fit_args = ["fit", config, "--set", "train.epochs=20", "--set", "log.every=5"]
    res = run(*fit_args, "--out", run_dir)
    assert res.exit_code == 0, res.output
    good_eval = run("eval", run_dir / "last.npz", "--json")
    assert good_eval.exit_code == 0, good_eval.output
    return SimpleNamespace(base=base, config=config, run=run_dir, fit_args=fit_args,
                           good=(run_dir / "last.npz").read_bytes(), good_eval=json.loads(good_eval.stdout),
                           iris=base / "data" / "iris.csv")


# ============================================================================= YAML configs

BASE = """\
name: hostile
data:
  path: ../data/iris.csv
  target: [species]
model:
  layers: [4, 8, 3]
  output_activation: softmax
loss: cross_entropy
train:
  learning_rate: 0.5
  weight_decay: 0.001
  epochs: 3
log:
  every: 1
"""


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):  # 9⁹ strings if it were expanded
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


N_HUGE = 4 * 10**8 + 10**8 + 10**8 * 10**8 + 10**8 + 3 * 10**8 + 3  # W1, b1, W2, b2, W3, b3 of [4, 1e8, 1e8, 3]

# name → (file text or a function of the sentinel's path, fragments of the one-line message)
YAML_CASES = {
    "python_apply_tag": (lambda s: edit("name: hostile", f'name: !!python/object/apply:os.system ["touch {s}"]'),
                         ["h.yaml:1", "!!python/object/apply:os.system", "not allowed"]),
    "python_new_tag_nested": (lambda s: edit("learning_rate: 0.5", f'learning_rate: !!python/object/new:builtins.open ["{s}", "w"]'),
                              ["h.yaml:10", "!!python/object/new:builtins.open", "not allowed"]),
    "python_name_tag_top": (lambda s: f"!!python/object/apply:builtins.open ['{s}', 'w']\n", ["h.yaml:1", "not allowed"]),
    "python_tag_as_key": (lambda s: BASE + f"? !!python/object/apply:builtins.open ['{s}', 'w']\n: 1\n",
                          ["h.yaml:15", "not allowed"]),
    "billion_laughs": (billion_laughs(), ["h.yaml:1", "anchors (&a) are not allowed"]),
    "over_one_mib": (BASE + "#" * (1024 * 1024) + "\n", ["h.yaml", "larger than 1 MiB"]),
    "duplicate_key": (edit("  epochs: 3\n", "  epochs: 3\n  learning_rate: 0.1\n"),
                      ["h.yaml:13", "learning_rate", "duplicate key (first at line 10)"]),
    "duplicate_section": (BASE + "train: {epochs: 5}\n", ["h.yaml:15", "train", "duplicate key (first at line 9)"]),
    "inf_learning_rate": (edit("learning_rate: 0.5", "learning_rate: .inf"), ["h.yaml:10", "train.learning_rate", "finite"]),
    "nan_weight_decay": (edit("weight_decay: 0.001", "weight_decay: .nan"), ["h.yaml:11", "train.weight_decay", "finite"]),
    "nan_split": (edit("  target: [species]\n", "  target: [species]\n  split: {train: .nan, val: 0, test: 0}\n"),
                  ["h.yaml:5", "data.split.train", "finite"]),
    "minus_inf_tolerance": (edit("  epochs: 3\n", "  epochs: 3\n  tolerance: -.inf\n"), ["h.yaml:13", "train.tolerance"]),
    "bool_epochs": (edit("epochs: 3", "epochs: true"), ["h.yaml:12", "train.epochs", "not true/false"]),
    "yes_learning_rate": (edit("learning_rate: 0.5", "learning_rate: yes"), ["h.yaml:10", "train.learning_rate", "not true/false"]),
    "bool_layer": (edit("layers: [4, 8, 3]", "layers: [4, false, 3]"), ["h.yaml:6", "model.layers.1", "true/false"]),
    "name_parent_escape": (edit("name: hostile", "name: ../../x"), ["h.yaml:1", "name", "plain folder name", "'../../x'"]),
    "name_absolute": (lambda s: edit("name: hostile", f"name: {s.parent / 'abs'}"), ["h.yaml:1", "name", "no slashes"]),
    "name_dotdot": (edit("name: hostile", "name: '..'"), ["h.yaml:1", "name", "plain folder name"]),
    "name_home": (edit("name: hostile", "name: ~/x"), ["h.yaml:1", "name"]),
    "huge_layers": (edit("layers: [4, 8, 3]", "layers: [4, 100000000, 100000000, 3]"),
                    ["h.yaml:6", "model.layers", f"{N_HUGE} parameters", f"{N_HUGE * 8 * 4} bytes", "use smaller layers"]),
}


@pytest.mark.parametrize("command", ["fit", "gradcheck"])
@pytest.mark.parametrize("case", list(YAML_CASES))
def test_hostile_yaml_is_refused_and_runs_nothing(proj, case, command):
    text, fragments = YAML_CASES[case]
    sentinel = proj / "SENTINEL"
    escape = (proj / "../../x").resolve()
    existed = escape.exists()
    cfg = proj / "configs" / "h.yaml"
    cfg.write_text(text(sentinel) if callable(text) else text, encoding="utf-8")
    start = time.perf_counter()
    _, peak = peak_bytes(lambda: refused(3, [command, cfg], "config error", *fragments, roots=(proj,)))
    assert time.perf_counter() - start < 5  # never expanded (the alias bomb included): a bound, not a speed
    assert peak < 32 * 2**20  # huge layers are refused before anything is allocated
    assert not sentinel.exists() and escape.exists() == existed and not (proj / "runs").exists()


@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", "a/b", "..", ".hidden", "x\\..\\y"])
def test_run_name_escaping_the_runs_folder_is_refused_from_set_too(proj, name):
    line = refused(3, ["fit", "configs/xor.yaml", "--set", f"name={name}"], f"--set name={name}", "plain folder name",
                   roots=(proj,))
    assert "config error" in line


# ============================================================================= checkpoints


class Evil:
    """Unpickling this creates a file: the sentinel proving that nothing was unpickled."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def npy(a, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    npy_format.write_array(buf, np.asanyarray(a), allow_pickle=allow_pickle)
    return buf.getvalue()


def array(member: bytes) -> np.ndarray:
    return npy_format.read_array(io.BytesIO(member), allow_pickle=False)


def npy_header(descr: str, shape: tuple) -> bytes:
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def with_member(good: bytes, name: str, data: bytes | None) -> bytes:
    """The good checkpoint with one member replaced (or removed: data None, or added)."""
    members = members_of(good)
    if data is None:
        del members[name]
    else:
        members[name] = data
    return zip_of(members)


def object_array_npz(good: bytes, sentinel: Path) -> bytes:
    w = np.empty((8, 4), dtype=object)
    w[:] = 0.0
    w[0, 0] = Evil(sentinel)
    return with_member(good, "W1.npy", npy(w, allow_pickle=True))


def object_meta_npz(good: bytes, sentinel: Path) -> bytes:
    return with_member(good, "meta.npy", npy(np.array({"format": "nettrain-checkpoint", "x": Evil(sentinel)}), allow_pickle=True))


def nan_weight(good: bytes, sentinel: Path) -> bytes:
    w = array(members_of(good)["W1.npy"]).copy()
    w[1, 2] = np.nan
    return with_member(good, "W1.npy", npy(w))


def wrong_shapes(good: bytes, sentinel: Path) -> bytes:
    """A consistent 4-6-3 network in a checkpoint whose config says 4-8-3."""
    members = members_of(good)
    members["W1.npy"], members["b1.npy"] = npy(np.full((6, 4), 0.1)), npy(np.zeros(6))
    members["W2.npy"] = npy(np.full((3, 6), 0.1))
    return zip_of(members)


def zip_bomb(good: bytes, sentinel: Path) -> bytes:
    """W1 declared as 8e6 float64 zeros (64 MB), deflated to about 64 KB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in members_of(good).items():
            if name != "W1.npy":
                zf.writestr(name, data)
        with zf.open("W1.npy", "w", force_zip64=True) as member:
            member.write(npy_header("<f8", (8_000_000,)))
            zeros = bytes(2**20)
            for _ in range(8_000_000 * 8 // len(zeros)):
                member.write(zeros)
            member.write(bytes(8_000_000 * 8 % len(zeros)))
    return buf.getvalue()


def truncated(n: int):
    return lambda good, sentinel: good[: n % len(good)]


# name → (bytes from (good checkpoint, sentinel), fragments besides the file name; "|" separates alternatives)
CHECKPOINT_CASES = {
    "pickle": (lambda g, s: pickle.dumps({"W1": Evil(s)}), ["not a nettrain checkpoint (not an .npz archive)"]),
    "object_array": (object_array_npz, ["W1", "Python objects"]),
    "object_meta": (object_meta_npz, ["meta", "Python objects"]),
    "csv_renamed": (lambda g, s: b"sepal_length,species\n5.1,setosa\n", ["not an .npz archive"]),
    "single_npy": (lambda g, s: npy(np.zeros((8, 4))), ["a single .npy array"]),
    "empty": (lambda g, s: b"", ["is empty (0 bytes)"]),
    "truncated_4": (truncated(4), ["corrupt or truncated|not an .npz archive"]),
    "truncated_64": (truncated(64), ["corrupt or truncated"]),
    "truncated_half": (lambda g, s: g[: len(g) // 2], ["corrupt or truncated"]),
    "truncated_end_of_directory": (truncated(-10), ["corrupt or truncated"]),
    "truncated_last_byte": (truncated(-1), ["corrupt or truncated"]),
    "huge_declared_shape": (lambda g, s: with_member(g, "W1.npy", npy_header("<f8", (10**12,)) + bytes(64)),
                            ["W1", "(1000000000000,)"]),
    "zip_bomb": (zip_bomb, ["W1", "zip bomb"]),
    "nan_in_weight": (nan_weight, ["W1[1, 2] is nan", "finite"]),
    "missing_array": (lambda g, s: with_member(g, "b2.npy", None), ["b2"]),
    "extra_array": (lambda g, s: with_member(g, "extra.npy", npy(np.zeros(3))), ["extra"]),
    "int_weights": (lambda g, s: with_member(g, "W1.npy", npy(np.zeros((8, 4), dtype=np.int64))), ["W1", "int64"]),
    "shapes_disagree_with_config": (wrong_shapes, ["W1 is (6, 4), the config needs (8, 4)", "W2 is (3, 6)"]),
}
ENTRIES = ["eval", "predict", "export", "resume", "init_from"]


def entry_args(entry: str, trained, tmp: Path, payload: bytes) -> tuple[list, Path]:
    """The command that reads the hostile checkpoint through one entry point, and that file's path."""
    if entry == "resume":  # a copy of the real run whose last.npz is the hostile file
        run_dir = tmp / "run"
        shutil.copytree(trained.run, run_dir)
        bad = run_dir / "last.npz"
        bad.write_bytes(payload)
        return [*trained.fit_args, "--out", run_dir, "--resume"], bad
    bad = tmp / "hostile.npz"
    bad.write_bytes(payload)
    if entry == "eval":
        return ["eval", bad], bad
    if entry == "predict":
        return ["predict", bad, "--data", trained.iris, "--out", tmp / "pred.csv"], bad
    if entry == "export":  # refused as eval refuses it, before the onnx package is needed
        return ["export", bad, "--out", tmp / "model.onnx"], bad
    return [*trained.fit_args, "--set", f'model.init={{"from": "{bad}"}}', "--out", tmp / "new"], bad


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any call into pickle's loaders fails the test (nettrain must never unpickle)."""
    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise AssertionError("pickle loader called")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    yield calls
    assert not calls


@pytest.fixture(scope="module")
def bomb_bytes(trained):
    return zip_bomb(trained.good, Path("unused"))


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_hostile_checkpoint_is_refused_naming_file_and_array(trained, tmp_path, no_unpickling, bomb_bytes, case, entry):
    build, fragments = CHECKPOINT_CASES[case]
    sentinel = tmp_path / "SENTINEL"
    payload = bomb_bytes if case == "zip_bomb" else build(trained.good, sentinel)
    args, bad = entry_args(entry, trained, tmp_path, payload)
    before = snapshot(tmp_path, trained.run)
    start = time.perf_counter()
    res, peak = peak_bytes(lambda: run(*args))
    elapsed = time.perf_counter() - start
    line = assert_refused(res, 5, "checkpoint error", bad.name, before=before, roots=(tmp_path, trained.run))
    assert str(bad) in line or str(bad.resolve()) in line
    for fragment in fragments:
        assert any(alt in line for alt in fragment.split("|")), (fragment, line)
    assert not sentinel.exists()
    assert elapsed < 5  # "rejected in < 1 s": a generous guard
    if case in ("zip_bomb", "huge_declared_shape"):
        assert peak < 16 * 2**20  # nothing near the declared 64 MB / 8 TB was allocated


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "missing"])
def test_special_files_as_checkpoints_are_refused_without_blocking(tmp_path, kind):
    bad = tmp_path / f"{kind}.npz"
    if kind == "fifo":
        os.mkfifo(bad)  # reading it would block forever
    elif kind == "device":
        bad.symlink_to("/dev/zero")  # reading it would never end
    elif kind == "folder":
        bad.mkdir()
    start = time.perf_counter()
    refused(5, ["eval", bad], "checkpoint error", bad.name, roots=(tmp_path,))
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("where", [0.03, 0.2, 0.4, 0.6, 0.8, 0.97, 0.995])
def test_flipped_bits_load_identically_or_are_refused_by_eval(trained, tmp_path, where):
    for bit in (0, 3, 7):
        data = bytearray(trained.good)
        data[int(len(data) * where)] ^= 1 << bit
        bad = tmp_path / f"flip-{bit}.npz"
        bad.write_bytes(bytes(data))
        res = run("eval", bad, "--json")
        if res.exit_code == 0:  # the flip hit something harmless (a timestamp): the result is unchanged
            got = json.loads(res.stdout)
            assert {k: v for k, v in got.items() if k != "checkpoint"} == {
                k: v for k, v in trained.good_eval.items() if k != "checkpoint"}
        else:
            assert_refused(res, 5, bad.name)


# ============================================================================= data files


def iris_lines() -> list[str]:
    return (ROOT / "data" / "iris.csv").read_text().splitlines()


def _replace_cell(line: int, col: int, value: str) -> bytes:
    """iris.csv with the cell at (1-based file line, 0-based column) replaced."""
    lines = iris_lines()
    cells = lines[line - 1].split(",")
    cells[col] = value
    lines[line - 1] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode()


def _iris(transform) -> bytes:
    return ("\n".join(transform(iris_lines())) + "\n").encode()


# name → (file bytes, fragments after the file name, the entries that must refuse it; predict needs no
# target column, and only eval knows the training labels)
ALL = ("fit", "eval", "predict")
DATA_CASES = {
    "ragged_short_row": (_iris(lambda L: L[:7] + [L[7].rsplit(",", 1)[0]] + L[8:]), [":8:", "row has 4 cells, header has 5"], ALL),
    "ragged_long_row": (_iris(lambda L: L[:7] + [L[7] + ",1.0"] + L[8:]), [":8:", "row has 6 cells, header has 5"], ALL),
    "empty_file": (b"", ["file is empty"], ALL),
    "blank_lines_only": (b"\n  \n\n", ["file is empty"], ALL),
    "header_only": (_iris(lambda L: L[:1]), ["no data rows, only a header (line 1)"], ALL),
    "non_numeric_cell": (_replace_cell(6, 1, "abc"), [":6:", "column 'sepal_width'", "'abc' is not a number"], ALL),
    "nan_cell": (_replace_cell(10, 0, "nan"), [":10:", "column 'sepal_length'", "not a finite number"], ALL),
    "inf_cell": (_replace_cell(151, 3, "-inf"), [":151:", "column 'petal_width'", "not a finite number"], ALL),
    "empty_cell": (_replace_cell(40, 2, ""), [":40:", "column 'petal_length'", "is empty"], ALL),
    "empty_label": (_replace_cell(9, 4, ""), [":9:", "column 'species'", "label is empty"], ALL),
    "nan_label": (_replace_cell(9, 4, "NaN"), [":9:", "column 'species'", "missing value"], ALL),
    "not_utf8": (_replace_cell(4, 4, "set\xf6sa").decode().encode("latin-1"), [":4:", "not UTF-8"], ALL),
    "decimal_commas": (_iris(lambda L: [line.replace(",", ";") for line in L[:2]] + [L[2].replace(",", ";").replace(".", ",", 1)]
                             + [line.replace(",", ";") for line in L[3:]]), [":3:", "column 'sepal_length'", "decimal commas"], ALL),
    "missing_target_column": (_iris(lambda L: [line.rsplit(",", 1)[0] for line in L]),
                              ["target column 'species' not found"], ("fit", "eval")),
    "unseen_label": (_replace_cell(3, 4, "rose"), [":3:", "column 'species'", "'rose'", "not one of the 3 training labels"], ("eval",)),
    "wrong_feature_count": ((ROOT / "data" / "xor.csv").read_bytes(), ["3 features", "the model expects 4"], ("predict",)),
}
FIT_CONFIG = BASE.replace("../data/iris.csv", "../data/bad.csv")


@pytest.mark.parametrize("case, entry", [(c, e) for c, (_, _, entries) in DATA_CASES.items() for e in entries])
def test_broken_data_is_refused_with_file_line_and_column(proj, trained, case, entry):
    payload, fragments, _ = DATA_CASES[case]
    bad = proj / "data" / "bad.csv"
    bad.write_bytes(payload)
    if entry == "fit":
        cfg = proj / "configs" / "d.yaml"
        cfg.write_text(FIT_CONFIG)
        args = ["fit", cfg]
    elif entry == "eval":
        args = ["eval", trained.run, "--data", "data/bad.csv"]
    else:
        args = ["predict", trained.run, "--data", "data/bad.csv", "--out", "pred.csv"]
    line = refused(4, args, "data error", "bad.csv", *fragments, roots=(proj, trained.run))
    loc = next((f for f in fragments if f.startswith(":")), None)
    if loc:
        assert f"bad.csv{loc}" in line  # file:line, as an editor can jump to it
    assert not (proj / "runs").exists() and not (proj / "pred.csv").exists()


@pytest.mark.parametrize("variant", ["bom", "semicolon", "tab", "tsv", "crlf", "bom_semicolon_crlf"])
def test_bom_and_other_delimiters_load_exactly_like_the_plain_csv(proj, trained, variant):
    text = (proj / "data" / "iris.csv").read_text()
    sep = {"semicolon": ";", "tab": "\t", "tsv": "\t", "bom_semicolon_crlf": ";"}.get(variant, ",")
    text = text.replace(",", sep)
    if "crlf" in variant:
        text = text.replace("\n", "\r\n")
    if variant.startswith("bom"):
        text = "\ufeff" + text
    name = "variant.tsv" if variant == "tsv" else "variant.csv"
    (proj / "data" / name).write_text(text, newline="")
    for path, out in (("../data/iris.csv", "plain"), (f"../data/{name}", "variant")):
        (proj / "configs" / f"{out}.yaml").write_text(BASE.replace("../data/iris.csv", path))
        res = run("fit", f"configs/{out}.yaml", "--out", out)
        assert res.exit_code == 0, res.output
    assert metrics_less_seconds(proj / "plain" / "metrics.csv") == metrics_less_seconds(proj / "variant" / "metrics.csv")
    plain = json.loads(run("eval", trained.run, "--data", "data/iris.csv", "--json").stdout)
    other = json.loads(run("eval", trained.run, "--data", f"data/{name}", "--json").stdout)
    assert {k: v for k, v in plain.items() if k != "data"} == {k: v for k, v in other.items() if k != "data"}


def test_forced_delimiter_that_does_not_fit_is_refused_clearly(proj):
    (proj / "data" / "semi.csv").write_text((proj / "data" / "iris.csv").read_text().replace(",", ";"))
    cfg = proj / "configs" / "d.yaml"
    cfg.write_text(BASE.replace("../data/iris.csv", "../data/semi.csv").replace("  target: [species]\n",
                                                                                "  target: [species]\n  delimiter: ','\n"))
    refused(4, ["fit", cfg], "semi.csv:1", "looks ';'-separated", "set data.delimiter to ';'", roots=(proj,))


# ============================================================================= internal errors


def _boom(*args, **kwargs):
    secret_local = "hunter2-local-value"  # a local variable that must never be printed
    return len(secret_local) / 0


def test_internal_error_is_one_line_with_the_debug_hint(proj, monkeypatch):
    from nettrain import evaluation

    assert run("fit", "configs/xor.yaml", "--set", "train.epochs=2", "--out", "x").exit_code == 0
    monkeypatch.setattr(evaluation, "evaluate_run", _boom)
    line = refused(70, ["eval", "x", "--split", "train"], "internal error: ZeroDivisionError: division by zero",
                   "--debug", roots=(proj,))
    assert "hunter2" not in line and "secret_local" not in line
    res = run("--debug", "eval", "x", "--split", "train")  # --debug lets the exception through, traceback and all
    assert isinstance(res.exception, ZeroDivisionError)


def test_debug_flag_prints_the_real_traceback(proj):
    """In a real process: without --debug one line; with it, Python's traceback (no local variables)."""
    import subprocess
    import sys

    assert run("fit", "configs/xor.yaml", "--set", "train.epochs=2", "--out", "x").exit_code == 0
    script = ("import sys; from nettrain import evaluation\n"
              "def boom(*a, **k):\n    secret_local = 'hunter2-local-value'\n    return len(secret_local) / 0\n"
              "evaluation.evaluate_run = boom\nsys.argv = ['nettrain', *sys.argv[1:]]\nfrom nettrain.cli import main\nmain()\n")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    plain = subprocess.run([sys.executable, "-c", script, "eval", "x", "--split", "train"], cwd=proj, env=env,
                           capture_output=True, text=True, timeout=60)
    assert plain.returncode == 70 and len(plain.stderr.splitlines()) == 1 and "--debug" in plain.stderr
    assert "Traceback" not in plain.stderr and "hunter2" not in plain.stderr
    debug = subprocess.run([sys.executable, "-c", script, "--debug", "eval", "x", "--split", "train"], cwd=proj,
                           env=env, capture_output=True, text=True, timeout=60)
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr
    assert "ZeroDivisionError: division by zero" in debug.stderr and "hunter2" not in debug.stderr


def test_bad_command_line_value_is_a_usage_error_not_an_internal_one(proj, trained):
    res = run("eval", trained.run, "--split", "bogus")
    assert res.exit_code == 2, res.output
    assert "internal error" not in res.output and "Traceback" not in res.output
    assert "--split" in res.stderr


# ============================================================================= fuzzing

FUZZ = settings(max_examples=500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
VALID = yaml.safe_load(BASE)
SCHEMA_KEYS = ["name", "seed", "data", "path", "target", "task", "standardize", "split", "train", "val", "test",
               "delimiter", "model", "layers", "activation", "output_activation", "init", "scheme", "std", "from",
               "loss", "learning_rate", "weight_decay", "epochs", "tolerance", "dtype", "chunk_size", "log", "every",
               "checkpoint_every", "optimizer"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 12), st.integers(), st.floats(),
    st.text(max_size=10), st.sampled_from(["sigmoid", "softmax", "relu", "cross_entropy", "float32", "../x", "/etc",
                                           "iris.csv", ".inf", "-.nan", "0x10", "1e-3", "~", "null", "yes"]),
)
trees = st.recursive(
    scalars,
    lambda kids: st.one_of(st.lists(kids, max_size=4),
                           st.dictionaries(st.one_of(st.sampled_from(SCHEMA_KEYS), st.text(max_size=6)), kids, max_size=4)),
    max_leaves=10,
)
yaml_bits = st.sampled_from(list(":-[]{},&*!#|>?'\"%@`~=. \n\t\\") + [
    "!!python/object/apply:os.system ['touch SENTINEL']", "&a ", "*a", "<<: *a", "!!binary", "---\n", "...\n",
    "!!set", "%YAML 1.2\n", "\ufeff", "\x00", "\r", "\u2028"])


@st.composite
def yaml_documents(draw) -> bytes:
    """Anything a file might hold: random text and bytes, random YAML structures, hostile snippets."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return "".join(draw(st.lists(st.one_of(st.characters(), yaml_bits), max_size=50))).encode("utf-8", "surrogatepass")
    if kind == 1:
        return draw(st.binary(max_size=100))
    if kind == 2:
        return yaml.safe_dump(draw(trees), default_flow_style=draw(st.booleans())).encode("utf-8")
    return yaml.safe_dump({k: draw(trees) for k in draw(st.lists(st.sampled_from(SCHEMA_KEYS), max_size=5))}).encode()


PATHS = list(key_paths(VALID))


@st.composite
def mutated_configs(draw, values=trees) -> bytes:
    """The valid BASE config with 1–3 keys deleted, replaced, renamed or added, or characters inserted."""
    doc = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = doc
        for k in path[:-1]:
            parent = parent.get(k) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        op = draw(st.sampled_from(["delete", "replace", "replace", "rename", "add"]))
        if op == "delete":
            parent.pop(path[-1], None)
        elif op == "replace":
            parent[path[-1]] = draw(values)
        elif op == "rename" and path[-1] in parent:
            parent[draw(st.sampled_from(SCHEMA_KEYS + ["learning_rat", "layer", "Train"]))] = parent.pop(path[-1])
        else:
            parent[draw(st.sampled_from(SCHEMA_KEYS + ["extra"]))] = draw(values)
    text = yaml.safe_dump(doc, default_flow_style=draw(st.sampled_from([False, None, True])), sort_keys=False)
    if draw(st.integers(0, 4)) == 0:  # textual damage too
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(yaml_bits) + text[at:]
    return text.encode("utf-8", "surrogatepass")


SETS = st.lists(st.one_of(st.text(max_size=16), st.sampled_from(
    ["seed=3", "train.epochs=[", "model.layers=[4,3]", "data.split=1", "log=~", "x.y.z=1", "name=../up",
     "train.learning_rate=.nan", "model.init={from: nothing.npz}", "data.path=", "model.layers.9=2"])), max_size=2)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "configs", folder / "configs")
    (folder / "data").mkdir()
    for name in DATASETS:
        shutil.copy(ROOT / "data" / name, folder / "data" / name)
    return folder


def assert_config_outcome(res, cfg: Path) -> None:
    """Success (the resolved config, which loads again), or exit 3 with one line: nothing else."""
    assert "Traceback" not in res.output, res.output
    if res.exit_code == 0:
        assert yaml.safe_load(res.stdout)["model"]["layers"]
        return
    assert res.exit_code == 3, (res.exit_code, res.output, res.exception)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nettrain: config error: "), res.stderr
    assert str(cfg) in lines[0] or "--set " in lines[0], lines[0]


@FUZZ
@given(doc=yaml_documents(), sets=SETS)
def test_fuzz_random_yaml_gives_a_config_or_a_config_error(fuzz_dir, doc, sets):
    cfg = fuzz_dir / "configs" / "fuzz.yaml"
    cfg.write_bytes(doc)
    res = run("fit", cfg, "--print-config", *[a for s in sets for a in ("--set", s)])
    assert_config_outcome(res, cfg)
    assert not (fuzz_dir / "runs").exists() and not (fuzz_dir / "SENTINEL").exists()


@FUZZ
@given(doc=mutated_configs(), sets=SETS)
def test_fuzz_mutated_configs_give_a_config_or_a_config_error(fuzz_dir, doc, sets):
    cfg = fuzz_dir / "configs" / "fuzz.yaml"
    cfg.write_bytes(doc)
    res = run("fit", cfg, "--print-config", *[a for s in sets for a in ("--set", s)])
    assert_config_outcome(res, cfg)
    assert not (fuzz_dir / "runs").exists() and not (fuzz_dir / "SENTINEL").exists()


# Values a user might plausibly type, key by key, so that most fits really run and stay tiny
# (no 10⁸-unit layers; the epochs are set to 0–3 on the command line).
PLAUSIBLE = {
    ("name",): ["a", "x-1", "../x", ""],
    ("seed",): [0, 1, 2**31, -1],
    ("data", "path"): ["../data/iris.csv", "../data/xor.csv", "../data/diabetes.csv", "../data/none.csv", "h.yaml"],
    ("data", "target"): ["species", ["species"], ["label"], ["progression"], None, ["sepal_length"], ["species", "x"]],
    ("data", "task"): ["classification", "regression"],
    ("data", "standardize"): [True, False],
    ("data", "split"): [{"train": 1.0, "val": 0, "test": 0}, {"train": 0.5, "val": 0.25, "test": 0.25},
                        {"train": 0.01, "val": 0.99, "test": 0}, {"train": 0.98, "val": 0.01, "test": 0.01}],
    ("data", "delimiter"): [",", ";", None, "\t"],
    ("model", "layers"): [[4, 3], [4, 2, 3], [4, 8, 8, 3], [4, 1, 3], [4, 16, 3], [4, 3, 1], [4, 8, 2], [2, 3, 1]],
    ("model", "activation"): ["sigmoid", "tanh", "relu", "identity"],
    ("model", "output_activation"): ["sigmoid", "tanh", "relu", "identity", "softmax"],
    ("model", "init"): [{"scheme": "normal", "std": 1.0}, {"scheme": "he_normal"}, {"scheme": "glorot_uniform"},
                        {"from": "../nothing.npz"}, {"scheme": "normal", "std": 1e3}, {"from": "../data/iris.csv"}],
    ("loss",): ["squared_error", "cross_entropy"],
    ("train", "learning_rate"): [1e-300, 0.01, 0.5, 5.0, 50.0, 1e10, 1e300],
    ("train", "weight_decay"): [0, 0.1, 10.0, 1e300],
    ("train", "tolerance"): [0, 1e-3, 1e300],
    ("train", "dtype"): ["float32", "float64"],
    ("train", "chunk_size"): [None, 1, 7, 1000],
    ("log", "every"): [1, 2, 1000],
    ("log", "checkpoint_every"): [0, 1, 2],
}


@st.composite
def plausible_configs(draw) -> bytes:
    """BASE with 1–4 keys set to values a user might type; now and then a key dropped."""
    doc = json.loads(json.dumps(VALID))
    for path in draw(st.lists(st.sampled_from(list(PLAUSIBLE)), min_size=1, max_size=4, unique=True)):
        parent = doc
        for k in path[:-1]:
            parent = parent.setdefault(k, {})
        if draw(st.integers(0, 9)) == 0:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(st.sampled_from(PLAUSIBLE[path]))
    return yaml.safe_dump(doc, sort_keys=False).encode()


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(doc=plausible_configs(), epochs=st.sampled_from([0, 1, 3]))
def test_fuzz_plausible_configs_really_fit_or_fail_with_a_nettrain_error(fuzz_dir, doc, epochs):
    cfg = fuzz_dir / "configs" / "fuzz.yaml"
    cfg.write_bytes(doc)
    runs = fuzz_dir / "runs"
    out = runs / f"r{len(list(runs.iterdir())) if runs.exists() else 0}"
    res = run("fit", cfg, "--set", f"train.epochs={epochs}", "--out", out)
    assert "Traceback" not in res.output, res.output
    assert res.exit_code in (0, 3, 4, 5, 6), (res.exit_code, res.output, res.exception)
    if res.exit_code == 0:
        assert (out / "last.npz").exists()
        return
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nettrain: "), res.stderr
    if res.exit_code != 6:  # refused before anything was written
        assert not out.exists()


_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**16), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 2**16)),
    st.tuples(st.just("insert"), st.integers(0, 2**16), st.binary(min_size=1, max_size=12)),
    st.tuples(st.just("delete"), st.integers(0, 2**16), st.integers(1, 12)),
    st.tuples(st.just("digits"), st.integers(0, 2**16), st.sampled_from([b"9999999999", b"(0,", b"'<f8'", b"'|O'", b"\xff" * 4])),
)


def _header_offsets(good: bytes) -> list[int]:
    """Where the .npy headers and the zip directory are: mutations aimed there find more branches."""
    spots = [i for i in range(len(good)) if good.startswith(b"{'descr'", i)]
    return spots + [good.rfind(b"PK\x01\x02"), good.rfind(b"PK\x05\x06")]


@FUZZ
@given(ops=st.lists(_mutation, min_size=1, max_size=3), aim=st.integers(0, 50), near=st.booleans())
def test_fuzz_mutated_checkpoints_give_a_checkpoint_error_in_bounded_time_and_memory(trained, fuzz_dir, ops, aim, near):
    if near:  # aim the first mutation at a header or the zip directory
        spots = _header_offsets(trained.good)
        ops = [(ops[0][0], spots[aim % len(spots)] + ops[0][1] % 64, *ops[0][2:])] + ops[1:]
    bad = fuzz_dir / "mutated.npz"
    bad.write_bytes(mutate(trained.good, ops))
    start = time.perf_counter()
    res, peak = peak_bytes(lambda: run("eval", bad, "--json"))
    assert time.perf_counter() - start < 5
    assert peak < 32 * 2**20
    assert "Traceback" not in res.output and "allow_pickle" not in res.output
    if res.exit_code == 0:  # the zip CRCs leave only harmless changes: the same result
        got = json.loads(res.stdout)
        assert {k: v for k, v in got.items() if k != "checkpoint"} == {
            k: v for k, v in trained.good_eval.items() if k != "checkpoint"}
    else:
        assert res.exit_code == 5, (res.exit_code, res.output, res.exception)
        lines = res.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("nettrain: checkpoint error: ") and "mutated.npz" in lines[0]


# ============================================================================= the doc


def test_reliability_doc_names_every_fault_test_and_only_real_ones():
    """docs/reliability.md maps each guarantee to its test: each name it gives exists, and every test of
    tests/test_faults.py and tests/test_hostile.py is named there."""
    import ast
    import re

    from nettrain.errors import EXIT_CODES

    doc = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    named = set(re.findall(r"tests/(test_\w+)\.py::(test_\w+)", doc))
    defined = set()
    for module in {"test_faults", "test_hostile"} | {m for m, _ in named}:
        path = ROOT / "tests" / f"{module}.py"
        tree = ast.parse(path.read_text(encoding="utf-8")) if path.exists() else ast.Module([], [])
        defined |= {(module, f.name) for f in tree.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")}
    defined.discard(("test_hostile", "test_reliability_doc_names_every_fault_test_and_only_real_ones"))
    assert named - defined == set(), "the doc names tests that do not exist"
    fault_tests = {(m, f) for m, f in defined if m in ("test_faults", "test_hostile")}
    assert fault_tests - named == set(), "tests missing from the doc"
    for code, meaning in EXIT_CODES.items():  # the exit codes table is errors.EXIT_CODES
        assert f"| {code} | {meaning} |" in doc, code
