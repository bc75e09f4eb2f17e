"""The README's commands run as written, in order, on a fresh copy of configs/ and data/."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """Every `nettrain …` command in the README's ```bash blocks (after any `pip install … &&`)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    cmds = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.split("&&")[-1].strip()
            if line.startswith("nettrain "):
                cmds.append(line)
    return cmds


def test_readme_shows_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -e . && nettrain fit configs/digits.yaml' in text
    assert 'pip install -e ".[test]" && pytest' in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'python -m pip install -e ".[test]" && python -m pytest' in ci


def test_readme_commands_run_as_written(tmp_path):
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    cmds = readme_commands()
    assert cmds[0] == "nettrain fit configs/digits.yaml" and len(cmds) >= 6
    # this interpreter's own script (pip puts it beside python), never another environment's found on PATH
    script = Path(sys.executable).with_name("nettrain")
    prefix = [str(script)] if script.is_file() else [sys.executable, "-m", "nettrain"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    for cmd in cmds:
        args = prefix + cmd.split()[1:]
        res = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, (cmd, res.stderr)
    assert (tmp_path / "runs" / "digits" / "last.npz").exists()
    assert (tmp_path / "runs" / "digits" / "predictions.csv").read_text().startswith("label,predicted_label,p_0,")


def test_readme_writes_its_predictions_where_git_ignores_them():
    """A file the README's commands write is under runs/ (ignored by .gitignore), not beside the sources."""
    for cmd in readme_commands():
        if "--out" in cmd.split():
            out = cmd.split()[cmd.split().index("--out") + 1]
            assert out.startswith("runs/"), cmd
    assert "runs/" in (ROOT / ".gitignore").read_text().splitlines()


def readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_runs_as_written(tmp_path, monkeypatch, capsys):
    """The ```python blocks, in order, in one namespace, on a fresh copy of configs/ and data/; they
    print their results and write only the run folders they name."""
    blocks = readme_python_blocks()
    assert len(blocks) >= 2 and any("nettrain.fit(" in b for b in blocks) and any("NetClassifier" in b for b in blocks)
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    for n, code in enumerate(blocks):
        if "sklearn" in code:
            __import__("pytest").importorskip("sklearn")
        if "onnxruntime" in code:
            __import__("pytest").importorskip("onnxruntime")
        exec(compile(code, f"README.md python block {n + 1}", "exec"), namespace)
    assert capsys.readouterr().out.count("\n") >= 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["configs", "data", "runs"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["digits-300", "penguins"]


def test_the_readme_lists_exactly_the_keys_a_resume_may_change():
    from nettrain.runfolder import RESUMABLE_KEYS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    para = text[text.index("`nettrain fit CONFIG --resume` continues"):].split("\n\n")[0]
    listed = re.findall(r"`((?:train|log)\.[a-z_]+|cluster)`", para.split("(`runfolder.RESUMABLE_KEYS`")[0])
    assert listed == list(RESUMABLE_KEYS)


def test_the_config_reference_is_the_digits_config_with_every_key_and_its_defaults():
    """README's config block is what `--print-config` gives for configs/digits.yaml: every key of the schema (a
    new key cannot be left out), every value the same; where a value is not the default, its comment says the
    default (or what null means)."""
    import yaml

    from nettrain import config as config_mod

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## The config\n\n.*?```yaml\n(.*?)```", text, flags=re.S).group(1)
    shown = yaml.safe_load(block)
    shown["data"]["path"] = str((ROOT / "configs" / shown["data"]["path"]).resolve())
    printed = config_mod.config_to_dict(config_mod.load_config(ROOT / "configs" / "digits.yaml"))
    assert _flat(shown) == _flat(printed)
    defaults = _flat(config_mod.config_to_dict(config_mod.config_from_dict({"data": {"path": "x"},
                                                                            "model": {"layers": [2, 1]}})))
    comments = dict(re.findall(r"^(?: *)([a-z_0-9]+): .*?# (.*)$", block, flags=re.M))
    for key, value in _flat(printed).items():
        if key in ("data.path", "model.layers") or value == defaults[key]:
            continue
        leaf = next(part for part in reversed(key.split(".")) if part in comments)
        assert "default" in comments[leaf] or "null:" in comments[leaf], (key, value, defaults[key])


def _flat(d: dict, prefix: str = "") -> dict:
    """Dotted keys to values; a mapping's inline parts (split, init) flattened too."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_one_figure_per_fact_the_digits_fit_takes_one_time():
    """The results table and the optimizers' table time the same command, `nettrain fit configs/digits.yaml`:
    one figure, not two."""
    rows = {line.split("|")[1].strip(): line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| `configs/digits.yaml`") or line.startswith("| `gd`")}
    results = rows["`configs/digits.yaml`"].split("|")[5].strip()
    gd = rows["`gd`"].split("|")[4].strip()
    assert re.fullmatch(r"[\d.]+ s", results) and results == gd
