"""Tests of nettrain.config: the schema, loading YAML with line numbers, --set, round trips.

Every refusal is checked for what a user needs to fix it: the file name, the line, the dotted
key and the hint, on one line.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nettrain.config import (
    Config,
    DataConfig,
    InitConfig,
    LogConfig,
    ModelConfig,
    SplitConfig,
    TrainConfig,
    config_from_dict,
    config_to_dict,
    diff_configs,
    dump_config_yaml,
    json_schema,
    load_config,
)
from nettrain.errors import ConfigError
from nettrain.network import Architecture
from .fuzzing import key_paths

# Line numbers matter: the refusal tests below name them.
BASE = """\
name: digits
seed: 0
data:
  path: data.csv
  target: label
  split: {train: 0.8, val: 0.1, test: 0.1}
model:
  layers: [4, 3, 2]
  activation: sigmoid
  output_activation: softmax
loss: cross_entropy
train:
  learning_rate: 0.5
  weight_decay: 0.0001
  epochs: 10
log:
  every: 5
"""

MINIMAL = """\
data:
  path: data.csv
model:
  layers: [2, 1]
"""


def write(folder: Path, text: str | bytes, name: str = "x.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def refusal(path: Path, overrides=()) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    msg = str(info.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


# --- valid configs --------------------------------------------------------------------------


def test_full_config_loads_with_paths_resolved_against_its_folder(tmp_path, monkeypatch):
    text = """\
name: digits            # run folder runs/digits/
seed: 3
data:
  path: ../data/digits.csv
  target: [label]
  task: classification
  standardize: false
  split: {train: 0.6, val: 0.2, test: 0.2}
  delimiter: ";"
model:
  layers: [64, 25, 10]
  activation: tanh
  output_activation: softmax
  init: {scheme: glorot_uniform, std: 0.5}
loss: cross_entropy
train:
  optimizer: gd
  learning_rate: 0.5
  weight_decay: 1.0e-4
  epochs: 2000
  tolerance: 1e-9
  dtype: float32
  chunk_size: 256
log:
  every: 100
  checkpoint_every: 500
"""
    path = write(tmp_path / "configs", text)
    monkeypatch.chdir(tmp_path)  # the cwd must not matter
    cfg = load_config(path)
    assert cfg.name == "digits" and cfg.seed == 3
    assert cfg.data.path == (tmp_path / "data" / "digits.csv").resolve()
    assert cfg.data.path.is_absolute()
    assert cfg.data.target == ["label"]
    assert cfg.data.standardize is False
    assert (cfg.data.split.train, cfg.data.split.val, cfg.data.split.test) == (0.6, 0.2, 0.2)
    assert cfg.data.delimiter == ";"
    assert cfg.model.layers == [64, 25, 10]
    assert (cfg.model.activation, cfg.model.output_activation) == ("tanh", "softmax")
    assert (cfg.model.init.scheme, cfg.model.init.std, cfg.model.init.from_) == ("glorot_uniform", 0.5, None)
    assert cfg.loss == "cross_entropy"
    t = cfg.train
    assert (t.optimizer, t.learning_rate, t.weight_decay, t.epochs) == ("gd", 0.5, 1e-4, 2000)
    assert (t.tolerance, t.dtype, t.chunk_size) == (1e-9, "float32", 256)  # 1e-9 is a number, not text
    assert (cfg.log.every, cfg.log.checkpoint_every) == (100, 500)
    assert cfg.source_path == path
    assert cfg.where("train.learning_rate") == f"{path}:18"
    assert cfg.where("data.split.val") == f"{path}:8"
    assert cfg.where("model.layers.2") == f"{path}:11"


def test_minimal_config_fills_every_default(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.name == "run" and cfg.seed == 0
    assert cfg.data.path == tmp_path / "data.csv"
    assert cfg.data.target is None and cfg.data.task == "classification" and cfg.data.standardize is True
    assert (cfg.data.split.train, cfg.data.split.val, cfg.data.split.test) == (0.8, 0.1, 0.1)
    assert cfg.data.delimiter is None
    assert (cfg.model.activation, cfg.model.output_activation) == ("sigmoid", "sigmoid")
    assert (cfg.model.init.scheme, cfg.model.init.std, cfg.model.init.from_) == ("normal", 0.01, None)
    assert cfg.loss == "squared_error"
    assert cfg.train == TrainConfig()
    assert (cfg.train.learning_rate, cfg.train.weight_decay, cfg.train.epochs) == (0.1, 0.0, 1000)
    assert (cfg.train.tolerance, cfg.train.dtype, cfg.train.chunk_size) == (0.0, "float64", None)
    assert (cfg.log.every, cfg.log.checkpoint_every) == (100, 0)


def test_ints_are_accepted_for_floats_and_stored_as_floats(tmp_path):
    cfg = load_config(write(tmp_path, edit("learning_rate: 0.5", "learning_rate: 1").replace("0.0001", "0")))
    assert cfg.train.learning_rate == 1.0 and isinstance(cfg.train.learning_rate, float)
    assert isinstance(cfg.train.weight_decay, float)


def test_an_empty_section_means_its_defaults(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL + "train:\n  # learning_rate: 0.3\nlog:\n"))
    assert cfg.train == TrainConfig() and cfg.log == LogConfig()


def test_init_from_a_checkpoint_resolves_like_the_data_path(tmp_path):
    cfg = load_config(write(tmp_path / "c", MINIMAL.replace("[2, 1]", "[2, 1]\n  init: {from: ../runs/a/last.npz}")))
    assert cfg.model.init.from_ == tmp_path / "runs" / "a" / "last.npz"
    assert cfg.model.init.scheme is None and cfg.model.init.std is None
    assert config_to_dict(cfg)["model"]["init"]["from"] == str(tmp_path / "runs" / "a" / "last.npz")


def test_architecture_is_built_from_the_model_section(tmp_path):
    arch = load_config(write(tmp_path, BASE)).architecture()
    assert isinstance(arch, Architecture)
    assert arch.layers == (4, 3, 2) and arch.loss == "cross_entropy" and arch.output_activation == "softmax"
    assert arch.n_params() == 3 * 4 + 3 + 2 * 3 + 2  # W1 (3, 4), b1 (3,), W2 (2, 3), b2 (2,)


def test_models_build_in_python_too(tmp_path):
    cfg = Config(
        data=DataConfig(path=tmp_path / "d.csv", split=SplitConfig(train=1, val=0, test=0)),
        model=ModelConfig(layers=[3, 1], init=InitConfig(scheme="he_normal")),
    )
    assert cfg.model.init.std == 0.01 and cfg.where("train") == "<python>"


# --- refusals: file, line, dotted key, hint -------------------------------------------------

CASES = {
    "unknown key": (edit("  learning_rate:", "  learning_rat:"), 13, "train.learning_rat",
                    ["unknown key 'learning_rat' in train", "did you mean 'learning_rate'?"]),
    "unknown top key": (edit("seed: 0", "sed: 0"), 2, "sed", ["unknown key 'sed' at the top level", "'seed'"]),
    "unknown key, no match": (edit("  every: 5", "  zzz: 5"), 17, "log.zzz", ["allowed keys: every, checkpoint_every"]),
    "python name of from": (MINIMAL + "  init: {from_: a.npz}\n", 5, "model.init.from_", ["did you mean 'from'?"]),
    "text for int": (edit("epochs: 10", "epochs: ten"), 15, "train.epochs", ["whole number", "(got 'ten')"]),
    "float for int": (edit("epochs: 10", "epochs: 1.5"), 15, "train.epochs", ["whole number", "(got 1.5)"]),
    "bool for number": (edit("learning_rate: 0.5", "learning_rate: true"), 13, "train.learning_rate",
                        ["not true/false", "(got True)"]),
    "bool for int": (edit("layers: [4, 3, 2]", "layers: [4, yes, 2]"), 8, "model.layers.1", ["not true/false"]),
    "quoted number": (edit("learning_rate: 0.5", 'learning_rate: "0.5"'), 13, "train.learning_rate",
                      ["not text", "remove the quotes"]),
    "inf": (edit("learning_rate: 0.5", "learning_rate: .inf"), 13, "train.learning_rate", ["finite", "(got inf)"]),
    "nan": (edit("weight_decay: 0.0001", "weight_decay: .nan"), 14, "train.weight_decay", ["finite", "(got nan)"]),
    "-inf tolerance": (edit("epochs: 10", "epochs: 10\n  tolerance: -.inf"), 16, "train.tolerance", ["finite"]),
    "alpha zero": (edit("learning_rate: 0.5", "learning_rate: 0"), 13, "train.learning_rate",
                   ["greater than 0", "(got 0)"]),
    "alpha negative": (edit("learning_rate: 0.5", "learning_rate: -0.1"), 13, "train.learning_rate",
                       ["greater than 0", "(got -0.1)"]),
    "lambda negative": (edit("weight_decay: 0.0001", "weight_decay: -1e-3"), 14, "train.weight_decay",
                        ["greater than or equal to 0", "(got -0.001)"]),
    "negative seed": (edit("seed: 0", "seed: -1"), 2, "seed", ["greater than or equal to 0"]),
    "split sum": (edit("val: 0.1,", "val: 0.2,"), 6, "data.split", ["must sum to 1", "sum to 1.1"]),
    "split train zero": (edit("train: 0.8, val: 0.1", "train: 0, val: 0.9"), 6, "data.split.train",
                         ["greater than 0"]),
    "split above one": (edit("test: 0.1", "test: 1.5"), 6, "data.split.test", ["less than or equal to 1"]),
    "bad activation": (edit("activation: sigmoid", "activation: sigmod"), 9, "model.activation",
                       ["must be one of sigmoid, tanh, relu, identity", "did you mean 'sigmoid'?"]),
    "softmax hidden": (edit("activation: sigmoid", "activation: softmax"), 9, "model.activation", ["one of"]),
    "bad task": (edit("target: label", "target: label\n  task: clasification"), 6, "data.task",
                 ["did you mean 'classification'?"]),
    "cross entropy on identity": (edit("output_activation: softmax", "output_activation: identity"), 11, "loss",
                                  ["cross_entropy", "sigmoid or softmax", "'identity'"]),
    "name escapes": (edit("name: digits", "name: ../../x"), 1, "name", ["folder name", "(got '../../x')"]),
    "name absolute": (edit("name: digits", "name: /abs"), 1, "name", ["no slashes", "(got '/abs')"]),
    "name slash": (edit("name: digits", "name: a/b"), 1, "name", ["folder name"]),
    "name empty": (edit("name: digits", 'name: ""'), 1, "name", ["folder name"]),
    "name number": (edit("name: digits", "name: 12"), 1, "name", ["valid string", "(got 12)"]),
    "missing path": (edit("  path: data.csv\n", ""), 3, "data.path", ["missing required key 'path' in data"]),
    "missing model": (BASE.split("model:")[0] + "loss: squared_error\n", 1, "model",
                      ["missing required key 'model' at the top level"]),
    "empty path": (edit("path: data.csv", 'path: ""'), 4, "data.path", ["not empty"]),
    "number path": (edit("path: data.csv", "path: 3"), 4, "data.path", ["file path written as text"]),
    "one layer": (edit("layers: [4, 3, 2]", "layers: [4]"), 8, "model.layers", ["at least 2 items"]),
    "zero units": (edit("layers: [4, 3, 2]", "layers:\n  - 4\n  - 0\n  - 2"), 10, "model.layers.1",
                   ["greater than or equal to 1", "(got 0)"]),
    "layers not a list": (edit("layers: [4, 3, 2]", "layers: 4"), 8, "model.layers", ["valid list"]),
    "section not a mapping": (edit("log:\n  every: 5", "log: 5"), 16, "log", ["must be a mapping", "(got 5)"]),
    "long delimiter": (edit("target: label", "target: label\n  delimiter: ';;'"), 6, "data.delimiter",
                       ["at most 1 character"]),
    "empty target": (edit("target: label", "target: []"), 5, "data.target", ["at least 1 item"]),
    "unknown optimizer": (edit("  epochs: 10", "  optimizer: adma"), 15, "train.optimizer",
                          ["must be one of gd, momentum, nesterov, adam, lbfgs", "(got 'adma')", "did you mean 'adam'"]),
    "from with scheme": (MINIMAL + "  init:\n    scheme: he_normal\n    from: ck.npz\n", 7, "model.init.from",
                         ["cannot be used together with scheme"]),
    "int key": (edit("  every: 5", "  1: 5"), 17, "log", ["keys must be text", "put it in quotes"]),
    "duplicate": (edit("  epochs: 10", "  epochs: 10\n  learning_rate: 0.2"), 16, "train.learning_rate",
                  ["duplicate key (first at line 13)"]),
    "duplicate section": (BASE + "data:\n  path: b.csv\n", 18, "data", ["duplicate key (first at line 3)"]),
    "bad date": (edit("seed: 0", "seed: 2020-13-45"), 2, "seed", ["cannot read '2020-13-45'"]),
    "merge key": (edit("log:\n  every: 5", "log:\n  <<: {every: 5}"), 17, "log", ["merge keys (<<)"]),
    "custom tag": (edit("seed: 0", "seed: !seed 0"), 2, "seed", ["tag '!seed' is not allowed"]),
    "binary tag": (edit("seed: 0", "seed: !!binary aGk="), 2, "seed", ["tag '!!binary' is not allowed"]),
    "set tag": (edit("seed: 0", "seed: !!set {a: null}"), 2, "seed", ["tag '!!set' is not allowed"]),
    "alias": (edit("  every: 5", "  every: *n"), 17, "log.every", ["aliases (*n) are not allowed"]),
    "anchor": (edit("  epochs: 10", "  epochs: &n 10"), 15, "train.epochs", ["anchors (&n) are not allowed"]),
    "deep nesting": (edit("seed: 0", "seed: " + "[" * 200 + "]" * 200), 2, "seed.0.0", ["nested more than 32"]),
}


@pytest.mark.parametrize("text, line, key, hints", CASES.values(), ids=CASES.keys())
def test_refusal_names_file_line_key_and_hint(tmp_path, text, line, key, hints):
    path = write(tmp_path, text, "bad.yaml")
    msg = refusal(path)
    assert msg.startswith(f"{path}:{line}: {key}: "), msg
    for hint in hints:
        assert hint in msg, msg


def test_huge_layers_are_refused_before_anything_is_allocated(tmp_path):
    path = write(tmp_path, edit("layers: [4, 3, 2]", "layers: [10000000, 10000000, 1]"))
    msg = refusal(path)
    n_params = 10**7 * 10**7 + 10**7 + 10**7 + 1  # W1, b1, W2, b2
    assert msg.startswith(f"{path}:8: model.layers: ")
    assert f"{n_params} parameters" in msg and str(n_params * 8 * 4) in msg


def test_astronomical_layers_still_give_one_readable_line(tmp_path):
    huge = "0b" + "1" * 20000  # an int too long for str(); binary ints are not limited
    msg = refusal(write(tmp_path, edit("layers: [4, 3, 2]", f"layers: [{huge}, {huge}]")))
    assert "model.layers" in msg and "parameters" in msg and len(msg) < 1000


def test_python_tags_never_run(tmp_path):
    sentinel = tmp_path / "SENTINEL"
    attacks = [
        f'name: !!python/object/apply:os.system ["touch {sentinel}"]',
        f'name: !!python/object/apply:subprocess.check_call [["touch", "{sentinel}"]]',
        f'name: !!python/object/new:os.system ["touch {sentinel}"]',
        f"? !!python/object/apply:os.system ['touch {sentinel}']\n: 1",
        f'!!python/object/apply:os.system ["touch {sentinel}"]',
    ]
    for attack in attacks:
        path = write(tmp_path, edit("name: digits", attack) if attack.startswith("name") else attack + "\n")
        msg = refusal(path)
        assert msg.startswith(f"{path}:1: ") and "!!python/object/" in msg and "is not allowed" in msg, msg
    assert not sentinel.exists()


def test_alias_bomb_is_refused_quickly(tmp_path):
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):  # 9^9 strings if expanded
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = write(tmp_path, "\n".join(bomb) + "\n")
    start = time.monotonic()
    msg = refusal(path)
    assert time.monotonic() - start < 5  # a generous guard: refusal happens at the first anchor
    assert msg.startswith(f"{path}:1: a: anchors (&a) are not allowed")


def test_file_over_one_mib_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, BASE + "#" * (1024 * 1024) + "\n")
    assert refusal(path) == f"{path}: the config file is larger than 1 MiB; a config should be a page of YAML"


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n", "---\n", "null\n"])
def test_empty_file_is_refused(tmp_path, text):
    path = write(tmp_path, text)
    msg = refusal(path)
    assert msg.startswith(f"{path}: the config file is empty") and "'data:' and 'model:'" in msg


@pytest.mark.parametrize("text, got", [("- data\n- model\n", "a list"), ("\n\njust text\n", "'just text'")])
def test_top_level_must_be_a_mapping(tmp_path, text, got):
    path = write(tmp_path, text)
    msg = refusal(path)
    assert msg.startswith(f"{path}:") and "top level must be a mapping" in msg and f"(got {got})" in msg
    if got == "'just text'":
        assert msg.startswith(f"{path}:3:")


def test_unreadable_files_are_named(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert refusal(missing) == f"{missing}: no such config file"
    assert refusal(tmp_path) == f"{tmp_path}: is a folder, not a config file"
    latin1 = write(tmp_path, "name: caf\xe9\n".encode("latin-1"))
    msg = refusal(latin1)
    assert msg.startswith(f"{latin1}: the config file is not UTF-8") and "0xe9" in msg


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, edit("  epochs: 10", "  epochs: [10"))
    msg = refusal(path)
    assert msg.startswith(f"{path}:16: invalid YAML:"), msg


def test_tab_indentation_gets_a_hint(tmp_path):
    path = write(tmp_path, edit("  every: 5", "\tevery: 5"))
    msg = refusal(path)
    assert msg.startswith(f"{path}:17: invalid YAML:") and "spaces, not tabs" in msg


def test_a_value_starting_with_a_yaml_indicator_gets_a_hint_to_quote_it(tmp_path):
    path = write(tmp_path, MINIMAL.replace("data:\n", "data:\n  delimiter: ,\n"))
    msg = refusal(path)
    assert msg.startswith(f"{path}:2: invalid YAML:") and "in quotes, e.g. delimiter: ','" in msg
    assert load_config(write(tmp_path, MINIMAL.replace("data:\n", "data:\n  delimiter: ','\n"))).data.delimiter == ","


def test_control_characters_are_refused_with_their_line(tmp_path):
    path = write(tmp_path, edit("  every: 5", "  every: 5\x07"))
    assert refusal(path) == f"{path}:17: invalid YAML: character U+0007 is not allowed"


def test_where_falls_back_to_the_parent_line_then_the_source(tmp_path):
    path = write(tmp_path, BASE)
    cfg = load_config(path)
    assert cfg.where("train.chunk_size") == f"{path}:12"  # not in the file: its section's line
    assert cfg.where("nothing.here") == f"{path}:1"
    again = config_from_dict(config_to_dict(cfg))
    assert again.where("train.learning_rate") == "<checkpoint>" and again.source_path is None


def test_home_folder_paths_are_expanded(tmp_path):
    cfg = load_config(write(tmp_path, edit("path: data.csv", "path: ~/d.csv")))
    assert cfg.data.path == (Path.home() / "d.csv").resolve()


def test_a_byte_order_mark_is_fine(tmp_path):
    assert load_config(write(tmp_path, b"\xef\xbb\xbf" + BASE.encode())).name == "digits"


# --- overrides ------------------------------------------------------------------------------


def test_overrides_change_nested_keys_lists_and_create_sections(tmp_path):
    path = write(tmp_path, MINIMAL)
    sets = ["train.learning_rate=0.01", "model.layers=[2, 4, 1]", "data.split.val=0", "data.split.test=0.2",
            "log.every=7", "model.layers.1=5", "data.target=y"]
    cfg = load_config(path, sets)
    assert cfg.train.learning_rate == 0.01
    assert cfg.model.layers == [2, 5, 1]
    assert (cfg.data.split.val, cfg.data.split.test) == (0, 0.2)
    assert cfg.log.every == 7 and cfg.data.target == ["y"]
    assert cfg.where("train.learning_rate") == "--set train.learning_rate=0.01"
    assert cfg.where("model.layers.1") == "--set model.layers.1=5"
    assert cfg.where("model") == f"{path}:3"
    assert cfg.where("data.path") == f"{path}:2"


def test_override_paths_are_read_from_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(write(tmp_path / "configs", MINIMAL), ["data.path=other.csv"])
    assert cfg.data.path == tmp_path / "other.csv"
    # however the override is written: a mapping that holds the path means the same
    for sets in (["data={path: other.csv}", "model.init={from: runs/a/last.npz}"],
                 ["model={layers: [2, 1], init: {from: runs/a/last.npz}}", "data.path=other.csv"]):
        cfg = load_config(write(tmp_path / "configs", MINIMAL), sets)
        assert cfg.data.path == tmp_path / "other.csv"
        assert cfg.model.init.from_ == tmp_path / "runs" / "a" / "last.npz"
    # while the file's own paths stay relative to its folder, and other values are left alone
    cfg = load_config(write(tmp_path / "configs", MINIMAL), ["model.init={scheme: normal}", "model.layers=[2, 1]"])
    assert cfg.data.path == tmp_path / "configs" / "data.csv" and cfg.model.init.from_ is None


@pytest.mark.parametrize("typed, delimiter", [(",", ","), (";", ";"), ("|", "|"), ("#", "#"), (" ", " "),
                                             ("\\t", "\t"), ('"\\t"', "\t"), ("'|'", "|"), ("null", None)])
def test_a_delimiter_is_set_as_typed(tmp_path, typed, delimiter):
    """One character is that character (YAML would misread , | #); \\t is a tab, in a shell or a file."""
    assert load_config(write(tmp_path, MINIMAL), [f"data.delimiter={typed}"]).data.delimiter == delimiter
    in_file = MINIMAL.replace("data:\n", "data:\n  delimiter: \\t\n")  # a plain scalar: backslash, t
    assert load_config(write(tmp_path, in_file)).data.delimiter == "\t"
    with pytest.raises(ConfigError, match=r"--set data.delimiter=,,: must have at most 1 character \(got ',,'\)"):
        load_config(write(tmp_path, MINIMAL), ["data.delimiter=,,"])


@pytest.mark.parametrize(
    "override, expected",
    [
        ("train.learning_rat=0.1",
         "--set train.learning_rat=0.1: unknown key 'learning_rat' in train, did you mean 'learning_rate'?"),
        ("train.learning_rate=-1", "--set train.learning_rate=-1: must be greater than 0 (got -1)"),
        ("train.learning_rate=true", "--set train.learning_rate=true: must be a number, not true/false (got True)"),
        ("train={learning_rate: 0, epochs: 3}",
         "--set train={learning_rate: 0, epochs: 3}: train.learning_rate: must be greater than 0 (got 0)"),
        ("train.learning_rate", "--set train.learning_rate: expected KEY=VALUE, e.g. --set train.learning_rate=0.01"),
        ("=3", "--set =3: the key must be a dotted path such as train.learning_rate"),
        ("train..epochs=3", "--set train..epochs=3: the key must be a dotted path such as train.learning_rate"),
        ("data.path.x=1", "--set data.path.x=1: data.path is 'data.csv', not a mapping, so it has no key 'x'"),
        ("model.layers.5=1",
         "--set model.layers.5=1: model.layers is a list of 2 items; '5' is not an index from 0 to 1"),
        ("seed=!!python/object/apply:os.getpid []", "--set seed=!!python/object/apply:os.getpid []: cannot read the "
         "value: tag '!!python/object/apply:os.getpid' is not allowed: only plain YAML values (text, numbers, "
         "true/false, null, lists and mappings)"),
        ("model.layers=[1, 2", None),
    ],
)
def test_override_refusals_name_the_override(tmp_path, override, expected):
    msg = refusal(write(tmp_path, MINIMAL), [override])
    assert msg.startswith(f"--set {override}: ")
    if expected:
        assert msg == expected


def test_a_split_given_in_part_that_sums_to_1_leaves_the_other_parts_0(tmp_path):
    """{train: 1.0} means train on everything: val and test are 0, not their defaults 0.1."""
    cfg = load_config(write(tmp_path, BASE.replace("{train: 0.8, val: 0.1, test: 0.1}", "{train: 1.0}")))
    assert (cfg.data.split.train, cfg.data.split.val, cfg.data.split.test) == (1.0, 0.0, 0.0)
    cfg = load_config(write(tmp_path, BASE.replace("{train: 0.8, val: 0.1, test: 0.1}", "{train: 0.7, test: 0.3}")))
    assert (cfg.data.split.train, cfg.data.split.val, cfg.data.split.test) == (0.7, 0.0, 0.3)
    cfg = load_config(write(tmp_path, MINIMAL), ["data.split.train=1.0"])
    assert (cfg.data.split.train, cfg.data.split.val, cfg.data.split.test) == (1.0, 0.0, 0.0)
    # parts that do not sum to 1 keep the defaults of the others, and the message says so
    cfg = load_config(write(tmp_path, BASE.replace("{train: 0.8, val: 0.1, test: 0.1}", "{train: 0.8}")))
    assert (cfg.data.split.train, cfg.data.split.val, cfg.data.split.test) == (0.8, 0.1, 0.1)
    msg = refusal(write(tmp_path, BASE.replace("{train: 0.8, val: 0.1, test: 0.1}", "{train: 0.9}")))
    assert "sum to 1.1" in msg and "val was not given and defaults to 0.1" in msg
    assert "test was not given and defaults to 0.1" in msg and "{train: 0.8, val: 0.1, test: 0.1}" in msg
    # a split written in full round-trips unchanged
    assert config_from_dict(config_to_dict(cfg)) == cfg


def test_an_override_that_breaks_a_file_value_names_both(tmp_path):
    path = write(tmp_path, BASE)
    msg = refusal(path, ["data.split.val=0.5"])
    assert msg.startswith(f"{path}:6 (with --set data.split.val=0.5): data.split: ") and "sum to 1" in msg


def test_overrides_given_in_python_apply_as_set_applies_them(tmp_path, monkeypatch):
    """{"train.epochs": 300} is --set train.epochs=300 with the value as it is (numpy numbers too)."""
    np = pytest.importorskip("numpy")
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "configs", MINIMAL)
    values = {"train.learning_rate": np.float64(0.01), "model.layers": (2, np.int64(4), 1), "log.every": np.int64(7),
              "data.path": "other.csv", "data.split": {"train": 1.0, "val": 0.0, "test": 0.0}}
    texts = ["train.learning_rate=0.01", "model.layers=[2, 4, 1]", "log.every=7", "data.path=other.csv",
             "data.split={train: 1.0, val: 0.0, test: 0.0}"]
    assert load_config(path, values) == load_config(path, texts)
    cfg = load_config(path, values)
    assert cfg.data.path == tmp_path / "other.csv"  # from the current folder, as --set reads it
    assert cfg.where("log.every") == "overrides['log.every']=np.int64(7)"


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("train.learning_rate", -1, "overrides['train.learning_rate']=-1: must be greater than 0 (got -1)"),
        ("train.learning_rat", 0.1,
         "overrides['train.learning_rat']=0.1: unknown key 'learning_rat' in train, did you mean 'learning_rate'?"),
        ("train..epochs", 3, "overrides['train..epochs']=3: the key must be a dotted path such as train.learning_rate"),
        (3, 3, "overrides[3]=3: an override's key must be a dotted path as text, such as 'train.learning_rate'"),
        ("model.layers.5", 1,
         "overrides['model.layers.5']=1: model.layers is a list of 2 items; '5' is not an index from 0 to 1"),
    ],
)
def test_python_override_refusals_name_the_override(tmp_path, key, value, expected):
    assert refusal(write(tmp_path, MINIMAL), {key: value}) == expected


def test_config_from_dict_takes_overrides_and_leaves_the_dict_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = {"data": {"path": "d.csv"}, "model": {"layers": [2, 1]}}
    cfg = config_from_dict(d, "config dict", {"train.epochs": 5, "model.layers.0": 3})
    assert cfg.train.epochs == 5 and cfg.model.layers == [3, 1] and cfg.data.path == tmp_path / "d.csv"
    assert d == {"data": {"path": "d.csv"}, "model": {"layers": [2, 1]}}
    with pytest.raises(ConfigError, match=r"^config dict: train.learning_rate: must be greater than 0 \(got -1\)$"):
        config_from_dict({**d, "train": {"learning_rate": -1}}, "config dict")
    with pytest.raises(ConfigError, match=r"^--set train.epochs=-1: must be greater than or equal to 0"):
        config_from_dict(d, "config dict", ["train.epochs=-1"])


def test_the_last_override_wins(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL), ["seed=1", "seed=2"])
    assert cfg.seed == 2 and cfg.where("seed") == "--set seed=2"


# --- round trips ----------------------------------------------------------------------------


def test_config_to_dict_is_plain_json_with_every_default(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL))
    d = config_to_dict(cfg)
    assert json.loads(json.dumps(d)) == d
    assert d["data"]["path"] == str(tmp_path / "data.csv")
    assert d["model"]["init"] == {"scheme": "normal", "std": 0.01, "from": None}
    assert d["train"] == {"optimizer": "gd", "learning_rate": 0.1, "momentum": 0.9, "beta1": 0.9, "beta2": 0.999,
                          "epsilon": 1e-8, "memory": 10, "batch_size": None, "weight_decay": 0.0, "epochs": 1000,
                          "tolerance": 0.0, "early_stopping": None, "dtype": "float64", "chunk_size": None,
                          "threads": None}
    assert d["log"] == {"every": 100, "checkpoint_every": 0, "train_cost": "every_epoch"}
    assert d["cluster"] is None  # train in this process
    assert list(d) == ["name", "seed", "data", "model", "loss", "train", "log", "cluster"]


@pytest.mark.parametrize("extra", ["", "  init: {from: ck/last.npz}\n"])
def test_dump_and_load_give_an_equal_config(tmp_path, extra):
    text = edit("name: digits", "name: '1e5'").replace("target: label", "target: ['1e5', 'yes']")
    text = text.replace("  output_activation: softmax\n", "  output_activation: softmax\n" + extra)
    cfg = load_config(write(tmp_path / "a", text))
    assert cfg.name == "1e5" and cfg.data.target == ["1e5", "yes"]  # text that looks like a number stays text
    dumped = dump_config_yaml(cfg)
    assert yaml.safe_load(dumped) == config_to_dict(cfg)
    for folder in (tmp_path / "a", tmp_path / "elsewhere" / "deeper"):
        again = load_config(write(folder, dumped, "dumped.yaml"))
        assert again == cfg
        assert config_to_dict(again) == config_to_dict(cfg)
        assert again.where("train.learning_rate") != cfg.where("train.learning_rate")  # only values compare


def test_config_from_dict_round_trips_and_reports_like_a_file(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    assert config_from_dict(config_to_dict(cfg)) == cfg
    d = config_to_dict(cfg)
    d["train"]["learning_rate"] = -1.0
    with pytest.raises(ConfigError, match=r"^<checkpoint>: train.learning_rate: must be greater than 0 \(got -1.0\)$"):
        config_from_dict(d)
    with pytest.raises(ConfigError, match=r"^run.json: must be a mapping of keys \(got \[1, 2\]\)$"):
        config_from_dict([1, 2], source="run.json")
    del d["model"]
    with pytest.raises(ConfigError, match="^<checkpoint>: model: missing required key 'model' at the top level$"):
        config_from_dict(d)


def test_diff_configs_lists_sorted_dotted_keys():
    a = {"name": "a", "seed": 0, "model": {"layers": [2, 1], "init": {"std": 0.01, "from": None}},
         "train": {"learning_rate": 0.1, "epochs": 10}, "log": {"every": 1}}
    b = {"name": "a", "seed": 0, "model": {"layers": [2, 3, 1], "init": {"std": 0.02, "from": None}},
         "train": {"learning_rate": 0.1, "epochs": 10, "tolerance": 0}, "log": 5}
    assert diff_configs(a, b) == ["log", "model.init.std", "model.layers", "train.tolerance"]
    assert diff_configs(a, a) == []
    assert diff_configs({"x": 1}, {"x": 1.0}) == [] and diff_configs({"x": 1}, {"x": True}) == ["x"]


def test_json_schema_describes_every_key():
    schema = json_schema()
    assert set(schema["properties"]) == {"name", "seed", "data", "model", "loss", "train", "log", "cluster"}
    assert "from" in schema["$defs"]["InitConfig"]["properties"]
    for model in [schema, *schema["$defs"].values()]:
        assert model["additionalProperties"] is False
        for key, prop in model["properties"].items():
            assert prop.get("description"), key
    json.dumps(schema)


# --- fuzzing: a Config or a ConfigError, nothing else ---------------------------------------

VALID = yaml.safe_load(BASE)
KEYS = sorted({k for m in (Config, DataConfig, SplitConfig, ModelConfig, InitConfig, TrainConfig, LogConfig)
               for k in m.model_json_schema(by_alias=True)["properties"]})


PATHS = list(key_paths(VALID))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(), st.text(max_size=12), st.sampled_from(["sigmoid", "softmax", "gd", "float32", "../x", "a.csv"]),
)
trees = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers()), kids, max_size=4),
    ),
    max_leaves=12,
)
yaml_chars = st.sampled_from(list(":-[]{},&*!#|>?'\"%@`~=. \n\t\\") + ["!!python/name:os.system", "<<", "0x"])


@st.composite
def documents(draw):
    kind = draw(st.integers(0, 4))
    if kind == 0:  # random text, YAML punctuation included
        chars = st.one_of(st.characters(codec="utf-8"), yaml_chars)  # any character UTF-8 can write
        return "".join(draw(st.lists(chars, max_size=40))).encode("utf-8")
    if kind == 1:  # random bytes
        return draw(st.binary(max_size=80))
    if kind == 2:  # random structures
        return yaml.safe_dump(draw(trees)).encode("utf-8")
    doc = json.loads(json.dumps(VALID))
    if kind == 3:  # a valid config with one key deleted or replaced
        path = draw(st.sampled_from(PATHS))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(trees)
        return yaml.safe_dump(doc).encode("utf-8")
    text = BASE  # a valid file with characters inserted
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.one_of(yaml_chars, st.text(st.characters(codec="utf-8"), max_size=3))) + text[at:]
    return text.encode("utf-8")


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "fuzz.yaml"


@settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents(), sets=st.lists(st.one_of(st.text(max_size=20), st.sampled_from(
    ["seed=3", "train.epochs=[", "model.layers=[2,1]", "data.split=1", "log=~", "x.y.z=1"])), max_size=2))
def test_any_document_gives_a_config_or_a_config_error(fuzz_file, doc, sets):
    fuzz_file.write_bytes(doc)
    try:
        cfg = load_config(fuzz_file, sets)
    except ConfigError as e:
        msg = str(e)
        assert msg and "\n" not in msg and "\r" not in msg
        assert msg.startswith(str(fuzz_file)) or msg.startswith("--set "), msg
    else:
        assert isinstance(cfg, Config)
        assert config_from_dict(config_to_dict(cfg)) == cfg


def test_the_schema_choices_are_the_registries():
    """One list each: the names the schema takes are those activations.py, losses.py and network.py define."""
    from nettrain.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
    from nettrain.losses import LOSSES
    from nettrain.network import INIT_SCHEMES

    schema = json_schema()
    model = schema["$defs"]["ModelConfig"]["properties"]
    assert model["activation"]["enum"] == list(HIDDEN_ACTIVATIONS) == ["sigmoid", "tanh", "relu", "identity"]
    assert model["output_activation"]["enum"] == list(ACTIVATIONS)
    assert schema["properties"]["loss"]["enum"] == list(LOSSES)
    scheme = schema["$defs"]["InitConfig"]["properties"]["scheme"]
    assert [c for c in scheme["anyOf"] if "enum" in c][0]["enum"] == list(INIT_SCHEMES)


# --- the keys of the UFLDL exercises: data.labels, data.transform, data.whiten pca, model.init.from per layer ----

STACK = MINIMAL.replace("model:\n  layers: [2, 1]\n", "") + """\
  labels: [0, 1, 2]
  transform: {from: ../runs/ae, layers: 1}
model:
  layers: [4, 3, 2]
  init:
    scheme: glorot_uniform
    from: [{run: ../runs/ae}, null]
"""


def test_the_stacking_keys_resolve_their_paths_from_the_config_file(tmp_path):
    cfg = load_config(write(tmp_path / "configs", STACK))
    assert cfg.data.labels == [0, 1, 2]
    assert cfg.data.transform.from_ == tmp_path / "runs" / "ae" and cfg.data.transform.layers == 1
    entries = cfg.model.init.per_layer
    assert entries[0].run == tmp_path / "runs" / "ae" and entries[0].layer == 1 and entries[1] is None
    assert cfg.model.init.scheme == "glorot_uniform"  # the layers not copied are drawn by it
    d = config_to_dict(cfg)
    assert d["model"]["init"]["from"] == [{"run": str(tmp_path / "runs" / "ae"), "layer": 1}, None]
    assert d["data"]["transform"] == {"from": str(tmp_path / "runs" / "ae"), "layers": 1}
    assert load_config(write(tmp_path / "again", dump_config_yaml(cfg))) == cfg


def test_stacking_paths_given_with_set_are_read_from_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(write(tmp_path / "configs", STACK), ["data.transform.from=runs/b",
                                                           "model.init.from.1={run: runs/c, layer: 2}"])
    assert cfg.data.transform.from_ == tmp_path / "runs" / "b"
    assert cfg.model.init.per_layer[1].run == tmp_path / "runs" / "c" and cfg.model.init.per_layer[1].layer == 2
    cfg = load_config(write(tmp_path / "configs", STACK), ["model.init.from=[{run: x}, {run: y}]"])
    assert [e.run for e in cfg.model.init.per_layer] == [tmp_path / "x", tmp_path / "y"]
    assert cfg.model.init.scheme == "glorot_uniform"  # a per-layer list keeps the scheme that draws the others
    cfg = load_config(write(tmp_path / "configs", STACK), ["model.init.scheme=he_normal"])
    assert cfg.model.init.scheme == "he_normal" and cfg.model.init.per_layer[0].run == tmp_path / "runs" / "ae"


@pytest.mark.parametrize("override, where, words", [
    ("model.init.from=[{run: x}]", "x.yaml:7", ["model.init:", "one entry per W⁽ˡ⁾", "(got 1 entries)"]),
    ("model.init.from=[null, null]", "--set", ["names no run in any entry"]),
    ("model.init.from=[{run: 3}, null]", "--set", ["model.init.from.0.run: must be a file path written as text"]),
    ("model.init.from=[{rn: a}, null]", "--set", ["model.init.from.0.run: missing required key 'run'"]),
    ("model.init.from=[{run: a, layer: 0}, null]", "--set", ["model.init.from.0.layer: must be greater than or equal "
                                                            "to 1"]),
    ("model.init.from=5", "--set", ["must be a file path written as text (got 5)"]),
    ("data.labels=[1, 1]", "--set", ["names label 1 twice"]),
    ("data.labels=[true]", "--set", ["data.labels.0: must be a whole number or a text"]),
    ("data.labels=[]", "--set", ["data.labels"]),
    ("data.task=regression", "x.yaml:3", ["data.labels: keeps the rows of some classes", "(got task regression)"]),
    ("data.task=autoencode", "x.yaml:3", ["data.labels: with task autoencode needs data.target"]),
    ("data.transform={from_: a}", "--set", ["unknown key 'from_' in data.transform, did you mean 'from'?"]),
    ("data.transform={from: a, layers: 0}", "--set", ["data.transform.layers: must be greater than or equal to 1"]),
    ("data.transform={layers: 1}", "--set", ["missing required key 'from' in data.transform"]),
    ("data.whiten={method: pca, epsilon: 0.1}", "--set", ["method pca needs exactly one of retain"]),
    ("data.whiten={method: pca, epsilon: 0.1, retain: 0.9, components: 3}", "--set", ["(both are given)"]),
    ("data.whiten={method: zca, epsilon: 0.1, components: 3}", "--set", ["components is for method pca"]),
    ("data.whiten={method: pca, epsilon: 0.1, retain: 1.5}", "--set", ["data.whiten.retain: must be less than or "
                                                                       "equal to 1"]),
    ("cluster={}", "x.yaml:3", ["data.labels: is not supported on a cluster yet"]),
    ("data.missing=mean", "--set", ["cannot be used with data.labels or data.transform yet", "leave it unset"]),
])
def test_the_stacking_keys_are_refused_with_their_place(tmp_path, override, where, words):
    msg = refusal(write(tmp_path, STACK), [override])
    assert where in msg.split(": ")[0], msg  # the file's line (or the --set text) of the key
    for w in words:
        assert w in msg, msg


def test_pca_whitening_keys(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL), ["data.whiten={method: pca, epsilon: 0.1, retain: 0.99}"])
    assert (cfg.data.whiten.method, cfg.data.whiten.retain, cfg.data.whiten.components) == ("pca", 0.99, None)
    cfg = load_config(write(tmp_path, MINIMAL), ["data.whiten={method: pca, epsilon: 0.1, components: 2}"])
    assert cfg.data.whiten.components == 2
    assert config_to_dict(load_config(write(tmp_path, MINIMAL), ["data.whiten={epsilon: 0.1}"]))["data"]["whiten"] == \
        {"method": "zca", "epsilon": 0.1, "retain": None, "components": None}


def test_the_schema_describes_the_stacking_keys():
    defs = json_schema()["$defs"]
    assert {"labels", "transform"} <= set(defs["DataConfig"]["properties"])
    assert {"retain", "components"} <= set(defs["WhitenConfig"]["properties"])
    assert {"run", "layer"} == set(defs["LayerInit"]["properties"])
    assert "per layer" in defs["InitConfig"]["properties"]["from"]["description"]


def test_a_from_given_with_set_replaces_the_files_scheme_and_std(tmp_path, monkeypatch):
    """--set model.init.from=RUN/last.npz on a config whose init is {scheme, std} starts from the checkpoint (the
    README's way to go on from trained weights); giving both in one file stays a mistake, named."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text("data: {path: d.csv}\nmodel:\n  layers: [2, 1]\n  init: {scheme: normal, std: 0.5}\n")
    cfg = load_config(tmp_path / "c.yaml", ["model.init.from=runs/x/last.npz"])
    assert cfg.model.init.from_ == tmp_path / "runs" / "x" / "last.npz"
    assert cfg.model.init.scheme is None and cfg.model.init.std is None
    back = load_config(tmp_path / "c.yaml", ["model.init.from=runs/x/last.npz", "model.init.scheme=he_normal"])
    assert back.model.init.from_ is None and back.model.init.scheme == "he_normal"  # the latest override wins
    (tmp_path / "both.yaml").write_text("data: {path: d.csv}\nmodel:\n  layers: [2, 1]\n"
                                        "  init: {scheme: normal, from: x.npz}\n")
    with pytest.raises(ConfigError, match=r"both\.yaml:4: model\.init\.from: cannot be used together with scheme"):
        load_config(tmp_path / "both.yaml")
