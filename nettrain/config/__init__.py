"""The config: its schema, safe YAML loading with line numbers, --set overrides, resolved paths.

One home for every setting a run takes. A config file is read (at most 1 MiB, UTF-8), parsed
by a safe YAML loader that records the line of every key and refuses duplicate keys, anchors,
aliases and non-standard tags; `--set dotted.key=value` overrides are applied (or, from Python,
a mapping {"dotted.key": value}, applied the same way); then a strict pydantic schema validates
the result — a config built as a dict in Python too. Every problem becomes a `ConfigError` with
one line:

    configs/iris.yaml:7: train.learning_rate: must be greater than 0 (got -0.1)

Dotted keys name list items by their index: `model.layers.2`. The names here are the edge
names (`learning_rate`, `weight_decay`); network.py maps them to the tutorial's α and λ.

The choices of losses and optimizers, and the train.* keys the optimizers read, are made from their
registries (losses.LOSSES, optimizers.OPTIMIZERS and each optimizer's Hyper declarations): the train
section's model is train.train_model(), and Config is rebuilt whenever a registry changes.

One job per module: schema.py (the pydantic models), train.py (the train section, from the optimizer
registry), section.py (what every section shares), yamlfile.py (the safe YAML loader that keeps
line numbers), overrides.py (--set), locate.py (file:line or --set of a key), load.py (the three
together, and the one-line ConfigError), document.py (another YAML file of nettrain's, such as a sweep
file, read and its errors worded the same way).

Left out on purpose: reading data, building or initialising the network, any printing. Paths
are resolved but never opened here; nettrain.data and checkpoint.py report missing files.
"""

from typing import Any

from .document import Document, read_document
from .load import config_from_dict, config_to_dict, diff_configs, dump_config_yaml, json_schema, load_config
from .overrides import Overrides
from .schema import (
    ClusterConfig,
    Config,
    DataConfig,
    InitConfig,
    LogConfig,
    ModelConfig,
    ScaleConfig,
    SparsityConfig,
    SplitConfig,
    WhitenConfig,
)
from .train import EarlyStoppingConfig, hyper_description, train_model
from .yamlfile import MAX_CONFIG_BYTES

__all__ = [
    "Config", "DataConfig", "SplitConfig", "ModelConfig", "InitConfig", "TrainConfig", "EarlyStoppingConfig",
    "ScaleConfig", "SparsityConfig", "WhitenConfig", "LogConfig", "ClusterConfig", "Overrides",
    "load_config", "config_from_dict", "config_to_dict", "dump_config_yaml", "diff_configs", "json_schema",
    "MAX_CONFIG_BYTES", "hyper_description", "train_model", "Document", "read_document",
]


def __getattr__(name: str) -> Any:
    if name == "TrainConfig":  # the train section's model as the optimizer registry makes it now (train_model())
        return train_model()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
