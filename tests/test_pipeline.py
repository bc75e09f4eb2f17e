"""nettrain fit given several configs: the stages in order, finished ones skipped on --resume, the first failure
named; a kill -9 during any stage, then --resume, ends with the files of an uninterrupted pipeline."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nettrain import checkpoint as ckpt
from nettrain import pipeline
from nettrain.cli import app
from nettrain.errors import ConfigError, DataError, RunIOError

from .runfolders import metrics_less_seconds

ROOT = Path(__file__).resolve().parent.parent

AE = {"name": "ae", "data": {"path": "d.npz", "task": "autoencode", "target": ["label"], "labels": [5, 6, 7, 8, 9],
                             "standardize": False, "scale": {"min": 0, "max": 16}, "split": {"train": 1.0}},
      "model": {"layers": [64, 5, 64], "init": {"scheme": "glorot_uniform"}, "sparsity": {"target": 0.1, "weight": 3}},
      "train": {"optimizer": "lbfgs", "epochs": 40, "weight_decay": 3e-3}, "log": {"every": 10}}
SM = {"name": "sm", "data": {"path": "d.npz", "labels": [0, 1, 2, 3, 4], "transform": {"from": "runs/ae"},
                             "standardize": False, "split": {"train": 0.5, "val": 0.1, "test": 0.4}},
      "model": {"layers": [5, 5], "output_activation": "softmax"}, "loss": "cross_entropy",
      "train": {"optimizer": "momentum", "learning_rate": 0.5, "epochs": 600, "weight_decay": 1e-4},
      "log": {"every": 50, "checkpoint_every": 100}}
FT = {"name": "ft", "data": {"path": "d.npz", "labels": [0, 1, 2, 3, 4], "standardize": False,
                             "scale": {"min": 0, "max": 16}, "split": {"train": 0.5, "val": 0.1, "test": 0.4}},
      "model": {"layers": [64, 5, 5], "output_activation": "softmax",
                "init": {"from": [{"run": "runs/ae"}, {"run": "runs/sm"}]}},
      "loss": "cross_entropy", "train": {"optimizer": "lbfgs", "epochs": 40, "weight_decay": 3e-3},
      "log": {"every": 10}}


def make_project(folder: Path) -> list[Path]:
    """d.npz (400 digits, 8×8) and the three stage configs: autoencoder, softmax on its features, fine-tuning."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = np.loadtxt(ROOT / "data" / "digits.csv", delimiter=",", skiprows=1)[:400]
    np.savez(folder / "d.npz", X=rows[:, :-1], y=rows[:, -1].astype(np.int64),
             feature_names=np.array([f"p{j}" for j in range(64)]), target_names=np.array(["label"]))
    paths = []
    for doc in (AE, SM, FT):
        paths.append(folder / f"{doc['name']}.yaml")
        paths[-1].write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return paths


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def project(tmp_path, monkeypatch) -> list[Path]:
    paths = make_project(tmp_path)
    monkeypatch.chdir(tmp_path)  # runs/<name>, where the configs' from: paths point
    return [p.relative_to(tmp_path) for p in paths]


def test_the_stages_run_in_order_and_a_resume_skips_the_finished(project):
    first = pipeline.fit_all(project)
    assert [r.run_dir.name for r in first] == ["ae", "sm", "ft"]
    assert all((Path("runs") / n / "summary.json").exists() for n in ("ae", "sm", "ft"))
    before = {p: p.read_bytes() for p in Path("runs").rglob("*") if p.is_file()}
    assert pipeline.fit_all(project, resume=True) == [None, None, None]
    assert {p: p.read_bytes() for p in Path("runs").rglob("*") if p.is_file()} == before
    res = run("fit", *project, "--resume")
    assert res.exit_code == 0 and res.output.count("finished (summary.json): skipped") == 3


def test_the_first_failure_stops_the_pipeline_and_names_its_stage(project):
    Path(project[1]).write_text(Path(project[1]).read_text().replace("labels:\n  - 0", "labels:\n  - 11"))
    with pytest.raises(DataError, match=r"^stage 2 of 3 \(sm\.yaml\): .*data\.labels: 11 is not a label"):
        pipeline.fit_all(project)
    assert (Path("runs") / "ae" / "summary.json").exists() and not (Path("runs") / "ft").exists()
    res = run("fit", *project, "--resume")
    assert res.exit_code == 4 and "nettrain: data error: stage 2 of 3 (sm.yaml): " in res.output


def test_every_config_is_checked_before_any_stage_trains(project):
    Path(project[2]).write_text(Path(project[2]).read_text().replace("epochs: 40", "epochs: -1"))
    res = run("fit", *project)
    assert res.exit_code == 3 and "ft.yaml:" in res.output and not Path("runs").exists()
    with pytest.raises(ConfigError, match=r"'ae' is also the name of stage 1 of 2 \(ae\.yaml\)"):
        pipeline.load_stages([project[0], project[0]])
    res = run("fit", *project, "--out", "elsewhere")
    assert res.exit_code == 2 and "--out names one run folder" in res.output


def test_without_resume_a_stage_folder_that_exists_is_refused(project):
    pipeline.fit_all(project[:1])
    with pytest.raises(RunIOError, match=r"^stage 1 of 3 \(ae\.yaml\): runs/ae already exists: add --resume"):
        pipeline.fit_all(project)
    assert len(pipeline.fit_all(project, overwrite=True)) == 3


def test_a_finished_stage_of_another_config_is_refused_on_resume(project):
    pipeline.fit_all(project[:1])
    with pytest.raises(ConfigError, match=r"stage 1 of 1 \(ae\.yaml\): runs/ae holds a finished run of another config "
                                          r"\(train\.weight_decay differ\)"):
        pipeline.fit_all(project[:1], ["train.weight_decay=0.1"], resume=True)
    assert pipeline.fit_all(project[:1], ["train.threads=1"], resume=True) == [None]  # the same bits: skipped


def test_a_stage_cut_short_resumes_if_first_order_and_starts_over_if_lbfgs(project):
    stages = pipeline.load_stages(project, ["train.epochs=2"])
    pipeline.fit_all(project, ["train.epochs=2"])
    for s in stages:
        (s.run_dir / "summary.json").unlink()  # as a kill after the last save leaves it
    longer = pipeline.load_stages(project, ["train.epochs=5"])
    assert [pipeline.stage_action(s, resume=True) for s in longer] == ["restart", "resume", "restart"]
    assert [pipeline.stage_action(s, resume=True) for s in stages] == ["resume", "resume", "resume"]  # at the end
    shutil.rmtree("runs/sm")
    Path("runs/sm/checkpoints").mkdir(parents=True)  # a fit killed before its first file
    assert pipeline.stage_action(longer[1], resume=True) == "restart"
    pipeline.clear_unstarted(Path("runs/sm"))
    assert list(Path("runs/sm").iterdir()) == []


# ----------------------------------------------------------------------------- kill -9


def tree(folder: Path) -> dict:
    """Every file under folder: its bytes, summary.json without its seconds, metrics.csv with its seconds masked, a
    checkpoint as its arrays and meta."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        key = str(p.relative_to(folder))
        if p.name == "summary.json":
            doc = json.loads(p.read_text())
            doc.pop("seconds")
            out[key] = doc
        elif p.suffix == ".npz":
            params, meta = ckpt.load_checkpoint(p)
            out[key] = ({k: v.tobytes() for k, v in params.blocks().items()}, meta)
        elif p.name == "metrics.csv":
            out[key] = metrics_less_seconds(p)
        else:
            out[key] = p.read_bytes()
    return out


@pytest.mark.robustness
def test_kill_9_during_any_stage_then_resume_ends_with_the_uninterrupted_files(tmp_path):
    paths = [p.name for p in make_project(tmp_path)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    command = [sys.executable, "-m", "nettrain", "fit", *paths]
    subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True)
    want = tree(tmp_path / "runs")
    rng = random.Random(0)
    killed = 0
    for stage in ("ae", "sm", "sm", "ft", "ft"):
        shutil.rmtree(tmp_path / "runs")
        proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        folder = tmp_path / "runs" / stage
        while not folder.exists() and proc.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait() == -signal.SIGKILL
        done = subprocess.run(command + ["--resume"], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert tree(tmp_path / "runs") == want, stage
    assert killed >= 3
