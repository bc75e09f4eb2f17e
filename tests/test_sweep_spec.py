"""nettrain.sweep's sweep file: its schema, read with the config's YAML loader, and every trial's keys checked
against the config's schema before any trial starts; each mistake one line naming the sweep file's line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nettrain.errors import ConfigError
from nettrain.sweep import load_sweep
from nettrain.sweep.spec import grid_trials

ROOT = Path(__file__).resolve().parent.parent
IRIS = ROOT / "configs" / "iris.yaml"


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("BASE", str(IRIS)), encoding="utf-8")
    return path


GOOD = """name: lam
base: BASE
set: [train.epochs=20]
grid:
  train.weight_decay: [0, 1.0e-4, 1.0e-2]
  model.layers: [[4, 3, 3], [4, 8, 3]]
"""


def test_a_grid_is_every_combination_in_order_the_last_key_fastest(tmp_path):
    s = load_sweep(write(tmp_path, GOOD))
    assert s.keys == ["train.weight_decay", "model.layers"] and s.total == 6 and s.method == "grid"
    assert s.grid == [{"train.weight_decay": lam, "model.layers": layers}
                      for lam in (0, 1e-4, 1e-2) for layers in ([4, 3, 3], [4, 8, 3])]
    assert grid_trials({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    # a trial's config is the base with the sweep's --set texts, then one per swept key, read back as YAML
    assert s.overrides(s.grid[3]) == ["train.epochs=20", "train.weight_decay=0.0001", "model.layers=[4, 8, 3]"]
    assert (s.metric.name, s.metric.goal, s.spec.workers, s.spec.prune, s.spec.cluster) == (
        "val_data_cost", "min", 1, None, None)


def test_the_resolved_sweep_loads_again_as_the_same_sweep(tmp_path):
    """sweep.yaml is itself a sweep file: the base's absolute path, the command's --set and --workers in it."""
    s = load_sweep(write(tmp_path, GOOD), ["log.every=5"], workers=2)
    resolved = s.resolved()
    assert resolved["base"] == str(IRIS) and resolved["set"] == ["train.epochs=20", "log.every=5"]
    assert resolved["workers"] == 2 and resolved["metric"] == {"name": "val_data_cost", "goal": "min"}
    again = load_sweep(write(tmp_path, yaml.safe_dump(resolved, sort_keys=False), "again.yaml"))
    assert again.resolved() == resolved and again.grid == s.grid


def test_a_search_space_and_a_metric_to_maximise(tmp_path):
    s = load_sweep(write(tmp_path, """name: tpe
base: BASE
search: {method: tpe, trials: 12, seed: 3}
space:
  train.learning_rate: {log: [1.0e-3, 1.0]}
  train.epochs: {int: [10, 30]}
  train.momentum: {uniform: [0.5, 0.9]}
  model.layers: {choice: [[4, 3, 3], [4, 8, 3]]}
metric: {name: val_accuracy}
prune: {warmup: 10}
"""))
    assert (s.method, s.total, s.metric.goal) == ("tpe", 12, "max")  # accuracy: maximised unless said otherwise
    assert (s.spec.prune.method, s.spec.prune.warmup, s.spec.prune.startup_trials) == ("median", 10, 5)
    assert [d.kind for d in s.spec.space.values()] == ["log", "int", "uniform", "choice"]
    assert s.resolved()["space"]["train.epochs"] == {"int": [10, 30]}
    halving = load_sweep(write(tmp_path, """name: sh
base: BASE
search: {method: random, trials: 4}
space: {train.learning_rate: {log: [1.0e-3, 1.0]}}
metric: val_data_cost
prune: {method: successive_halving, min_epochs: 20, reduction: 2}
"""))
    assert (halving.spec.prune.method, halving.spec.prune.min_epochs, halving.spec.prune.reduction) == (
        "successive_halving", 20, 2)


# (the sweep file, the line named, the rest of the one-line message)
ERRORS = {
    "unknown top key": ("name: x\nbase: BASE\ngird: {train.epochs: [1]}\n", 3,
                        "gird: unknown key 'gird' at the top level, did you mean 'grid'?"),
    "grid and search": ("name: x\nbase: BASE\ngrid: {train.epochs: [1]}\nsearch: {method: random, trials: 2}\n"
                        "space: {train.epochs: {int: [1, 3]}}\n", 1,
                        "give either grid (every combination) or search and space (drawn trials), not both"),
    "no grid": ("name: x\nbase: BASE\n", 1, "missing grid: give grid (every combination) or search and space"),
    "a grid value the config refuses": ("name: x\nbase: BASE\ngrid:\n  train.weight_decay:\n    - 0\n    - -1\n", 6,
                                        "train.weight_decay=-1: must be greater than or equal to 0 (got -1)"),
    "an unknown config key": ("name: x\nbase: BASE\ngrid:\n  train.epochs: [5]\n  train.learnin_rate: [0.1]\n", 5,
                              "train.learnin_rate=0.1: unknown key 'learnin_rate' in train, did you mean "
                              "'learning_rate'?"),
    "a list where a value goes": ("name: x\nbase: BASE\ngrid: {model.layers: [4, 8, 3]}\n", 3,
                                  "model.layers=4: must be a valid list (got 4)"),
    "a space bound the config refuses": ("name: x\nbase: BASE\nsearch: {method: random, trials: 2}\nspace:\n"
                                         "  train.momentum: {uniform: [0.5, 1.5]}\n", 5,
                                         "train.momentum=1.5: must be less than 1 (got 1.5)"),
    "a misspelt kind": ("name: x\nbase: BASE\nsearch: {method: random, trials: 2}\nspace:\n"
                        "  train.weight_decay: {logg: [1.0e-5, 1]}\n", 5,
                        "unknown key 'logg' in space.train.weight_decay, did you mean 'log'?"),
    "a log scale from 0": ("name: x\nbase: BASE\nsearch: {method: random, trials: 2}\nspace:\n"
                           "  train.weight_decay: {log: [0, 1]}\n", 5,
                           "log: the bounds must be > 0 (got [0.0, 1.0]); for 0 itself use choice or a grid"),
    "bounds the wrong way round": ("name: x\nbase: BASE\nsearch: {method: random, trials: 2}\nspace:\n"
                                   "  train.epochs: {int: [30, 10]}\n", 5, "int: low must be below high"),
    "an unknown metric": ("name: x\nbase: BASE\ngrid: {train.epochs: [5]}\nmetric: val_acc\n", 4,
                          "metric.name: must be one of val_data_cost, val_accuracy, val_r2, cost, data_cost, "
                          "reg_cost (got 'val_acc'); did you mean 'val_accuracy'?"),
    "a regression's score on a classification": ("name: x\nbase: BASE\ngrid: {train.epochs: [5]}\n\n"
                                                 "metric: {name: val_r2}\n", 5, "metric: val_r2 is a regression's"),
    "a trial's own cluster": ("name: x\nbase: BASE\ngrid:\n  cluster.address: [local]\n", 4,
                              'cluster.address="local": cluster: a sweep runs each trial in one process'),
    "a misspelt prune key": ("name: x\nbase: BASE\ngrid: {train.epochs: [5]}\nprune: {warmpu: 3}\n", 4,
                             "prune.warmpu: unknown key 'warmpu' in prune, did you mean 'warmup'?"),
    "a name with a slash": ("name: a/b\nbase: BASE\ngrid: {train.epochs: [5]}\n", 1, "name: must be a plain folder"),
    "no trials": ("name: x\nbase: BASE\nsearch: {method: tpe, trials: 0}\nspace: {train.epochs: {int: [1, 3]}}\n", 3,
                  "search.trials: must be greater than or equal to 1"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_each_mistake_is_one_line_naming_the_sweep_files_line(tmp_path, case):
    text, line, message = ERRORS[case]
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_sweep(path)
    assert "\n" not in str(e.value)
    assert str(e.value).startswith(f"{path}:{line}: "), str(e.value)
    assert message in str(e.value), str(e.value)


def test_a_missing_base_and_a_metric_without_a_val_split_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such config file"):
        load_sweep(write(tmp_path, "name: x\nbase: nope.yaml\ngrid: {train.epochs: [5]}\n"))
    path = write(tmp_path, "name: x\nbase: BASE\nset: ['data.split={train: 1.0}']\ngrid: {train.epochs: [5]}\n")
    with pytest.raises(ConfigError, match=rf"^{path}:1: metric: val_data_cost needs a validation split"):
        load_sweep(path)
    ok = path.with_name("ok.yaml")
    ok.write_text(path.read_text() + "metric: data_cost\n")
    load_sweep(ok)  # a metric of the train split needs none


def test_the_commands_set_is_checked_like_the_files(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(ConfigError, match=rf"^--set train\.weight_decay=0\.1: the sweep sets train\.weight_decay in "
                                          rf"every trial \({path}:5\): remove it from set"):
        load_sweep(path, ["train.weight_decay=0.1"])
    with pytest.raises(ConfigError, match=r"^--set train\.epochs=-3: must be greater than or equal to 0"):
        load_sweep(path, ["train.epochs=-3"])
    with pytest.raises(ConfigError, match=r"^--set cluster\.address=local: cluster: a sweep runs each trial in one "
                                          r"process"):
        load_sweep(path, ["cluster.address=local"])


def test_the_command_refuses_a_bad_sweep_in_one_line_and_writes_nothing(tmp_path):
    path = write(tmp_path, ERRORS["a grid value the config refuses"][0])
    res = subprocess.run([sys.executable, "-m", "nettrain", "sweep", str(path), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 3 and res.stdout == ""
    assert res.stderr == f"nettrain: config error: {path}:6: train.weight_decay=-1: must be greater than or equal to 0 " \
                         "(got -1)\n"
    assert not (tmp_path / "out").exists()


def test_json_values_of_every_kind_reach_the_trial_as_written(tmp_path):
    """A trial's --set text is its value as JSON, read back by the config's YAML loader: every float bit, lists,
    text and null arrive as the sweep file gave them."""
    from nettrain import config as config_mod

    path = write(tmp_path, """name: v
base: BASE
grid:
  train.weight_decay: [1.0e-5, 0.1, 3.0000000000000004e-7]
  model.activation: [relu]
  train.early_stopping: [null, {patience: 3}]
""")
    s = load_sweep(path)
    for params in s.grid:
        cfg = config_mod.load_config(IRIS, s.overrides(params))
        assert cfg.train.weight_decay == params["train.weight_decay"]  # the same float, bit for bit
        assert cfg.model.activation == "relu"
        es = cfg.train.early_stopping
        assert (es and es.model_dump()) == (params["train.early_stopping"] and {"patience": 3, "min_delta": 0.0})
    assert json.loads(s.overrides(s.grid[0])[-1].split("=", 1)[1]) is None
