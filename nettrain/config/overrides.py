"""--set overrides: `--set dotted.key=value` texts (the value read as YAML), or from Python a mapping
{"dotted.key": value}, applied to the parsed document before the schema validates it.

A path given with --set is read from the working directory, as the shell would. Left out on
purpose: validation (load.py).
"""

from __future__ import annotations

import copy
import os
from typing import Any, Mapping, Sequence, Union

from ..errors import ConfigError
from .locate import _one_line, _short_repr
from .yamlfile import _parse_yaml, _YamlProblem

# An override of the key replaces these sibling keys of the file: --set model.init.from=RUN/last.npz on a config
# whose init is {scheme: normal, std: 0.01} starts from the checkpoint, as the README says (in one file, giving
# both stays a mistake the schema names).
REPLACES = {"model.init.from": ("scheme", "std"), "model.init.scheme": ("from",)}

_PATH_KEYS = ("data.path", "model.init.from", "model.init.from.*.run", "data.transform.from")  # *: any list item
_TEXT_KEYS = ("data.delimiter",)  # one character typed is that character


def _paths_from_cwd(key: str, value: Any) -> Any:
    """A --set value with its file paths made absolute from the working directory (typed in a shell,
    a path means what it means there), however it is written: --set data.path=d.csv and
    --set 'data={path: d.csv, …}' alike. The file's own paths stay relative to the file's folder."""
    segs = key.split(".")
    for path_key in _PATH_KEYS:
        pattern = path_key.split(".")
        if len(pattern) >= len(segs) and all(p in ("*", s) for p, s in zip(pattern, segs)):
            value = _absolute_at(value, pattern[len(segs):])
    return value


def _absolute_at(node: Any, rest: list[str]) -> Any:
    """node with the path at `rest` below it (a pattern of keys, * any list item) made absolute."""
    if not rest:
        if isinstance(node, str) and node.strip() and "\x00" not in node:
            return os.path.abspath(os.path.expanduser(node))
        return node
    head, tail = rest[0], rest[1:]
    if head == "*" and isinstance(node, list):
        return [_absolute_at(v, tail) for v in node]
    if isinstance(node, dict) and head in node:
        node[head] = _absolute_at(node[head], tail)
    return node


def _apply_override(data: dict, lines: dict[str, int], overrides: dict[str, str], item: str) -> None:
    """Apply one `--set KEY=VALUE` text: the value is read as YAML (a path from the working directory)."""
    raw = _one_line(str(item))
    shown = raw if len(raw) <= 100 else raw[:99] + "…"
    if "=" not in raw:
        raise ConfigError(f"--set {shown}: expected KEY=VALUE, e.g. --set train.learning_rate=0.01")
    key, _, text = str(item).partition("=")
    key = key.strip()
    label = f"--set {shown}"
    _check_key(key, label)
    if key in _TEXT_KEYS and len(text) == 1:
        value: Any = text  # --set data.delimiter=, (or | or #): the character itself, which YAML would misread
    else:
        try:
            value, _ = _parse_yaml(text)
        except _YamlProblem as p:
            if key not in _TEXT_KEYS:
                raise ConfigError(_one_line(f"{label}: cannot read the value: {p.message}")) from None
            value = text  # as typed, for the schema to judge
    _set_key(data, lines, overrides, key, value, label)


def _apply_value(data: dict, lines: dict[str, int], overrides: dict[str, str], key: Any, value: Any) -> None:
    """Apply one override given in Python, {"train.epochs": 300}: as --set train.epochs=300 applies it,
    with the value taken as it is instead of read from text. Errors name it as `overrides[...]`."""
    shown = _short_repr(value, 60)
    label = f"overrides[{_short_repr(key, 60)}]={shown}"
    if not isinstance(key, str):
        raise ConfigError(f"{label}: an override's key must be a dotted path as text, such as 'train.learning_rate'")
    _check_key(key, label)
    _set_key(data, lines, overrides, key, _plain(copy.deepcopy(value)), label)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays (np.int64(300), np.float64(1e-3), as a notebook produces them) as the Python
    numbers and lists the strict schema takes; lists, tuples and mappings walked; anything else as it is."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if type(value).__module__ == "numpy" and callable(getattr(value, "tolist", None)):
        return value.tolist()  # a numpy scalar → int/float/bool; an array → nested lists
    return value


def _check_key(key: str, label: str) -> None:
    parts = key.split(".")
    if not key or any(not p.strip() or p != p.strip() for p in parts):
        raise ConfigError(f"{label}: the key must be a dotted path such as train.learning_rate")


def _set_key(data: dict, lines: dict[str, int], overrides: dict[str, str], key: str, value: Any, label: str) -> None:
    """Set data's dotted `key` to `value` (creating missing mappings on the way); `label` is how errors
    name the override afterwards (`--set train.epochs=300`)."""
    parts = key.split(".")
    node: Any = data
    for i, seg in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not (seg.isdigit() and int(seg) < len(node)):
                raise ConfigError(
                    f"{label}: {'.'.join(parts[:i])} is a list of {len(node)} items; "
                    f"{seg!r} is not an index from 0 to {len(node) - 1}"
                )
            seg_key: Any = int(seg)
        elif isinstance(node, dict):
            seg_key = seg
            if not last and seg not in node:
                node[seg] = {}  # an intermediate mapping the file did not have
        else:
            raise ConfigError(
                f"{label}: {'.'.join(parts[:i])} is {_short_repr(node)}, not a mapping, so it has no key {seg!r}"
            )
        if last:
            node[seg_key] = _paths_from_cwd(key, value)
            if value is not None and isinstance(node, dict):
                for other in REPLACES.get(key, ()):  # an override given is what the user wants now …
                    if not isinstance(value, list) and not isinstance(node.get(other), list):  # … but a per-layer
                        node.pop(other, None)  # from and the scheme that draws the other layers go together
        else:
            node = node[seg_key]
    for k in [k for k in lines if k == key or k.startswith(key + ".")]:
        del lines[k]  # the file's lines no longer describe these keys
    overrides.pop(key, None)
    overrides[key] = label



Overrides = Union[Sequence[str], Mapping[str, Any]]
"""`--set` texts ["train.epochs=300"], or a mapping of dotted keys to Python values {"train.epochs": 300}."""


def _apply_overrides(data: dict, lines: dict[str, int], overrides: Overrides) -> dict[str, str]:
    """Apply overrides in order to data (changed in place); returns dotted key → how errors name it."""
    applied: dict[str, str] = {}
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            _apply_value(data, lines, applied, key, value)
    else:
        for item in [overrides] if isinstance(overrides, str) else overrides:
            _apply_override(data, lines, applied, item)
    return applied

