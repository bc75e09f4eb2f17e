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
    exe = shutil.which("nettrain")
    prefix = [exe] if exe else [sys.executable, "-m", "nettrain"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    for cmd in cmds:
        args = prefix + cmd.split()[1:]
        res = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, (cmd, res.stderr)
    assert (tmp_path / "runs" / "digits" / "last.npz").exists()
    assert (tmp_path / "predictions.csv").read_text().startswith("label,p_0,")
