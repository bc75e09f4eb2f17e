"""Loading a config: the file read and parsed, overrides applied, the schema validated; every problem
one ConfigError line that names the file's line or the --set text.

    configs/iris.yaml:7: train.learning_rate: must be greater than 0 (got -0.1)
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from .locate import _dotted, _int_text, _Locator, _short_repr
from .overrides import Overrides, _apply_overrides, _plain
from .schema import UNION_TAGS, Config, _UnknownKey
from .section import field_model
from .yamlfile import _Dumper, _parse_yaml, _problem_error, _read_text, _YamlProblem

BYTES_PER_NUMBER = 8  # float64
COPIES = 4  # weights, gradient, scratch, checkpoint copy


def _model_at(path: Sequence[Any], root: type[BaseModel] = Config) -> Optional[type[BaseModel]]:
    """The schema model that validates the mapping at `path` below `root` (None if that is not a mapping of
    known keys). An optional section is its model; a field mapping names to a model (a sweep's space) takes
    one more segment, the name."""
    model: Any = root
    segs = list(path)
    while segs:
        seg = segs.pop(0)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = next((f for n, f in model.model_fields.items() if seg in (n, f.alias)), None)
        model, named = _section_of(None if field is None else field_model(field))
        if named and segs:
            segs.pop(0)  # the name in dict[str, Model]
        elif named:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _section_of(annotation: Any) -> tuple[Any, bool]:
    """(the model inside Optional[Model], Annotated[Model, …] or dict[str, Model], whether it is a dict's value),
    else (annotation, False)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Annotated:
        return _section_of(args[0])
    if typing.get_origin(annotation) is dict and len(args) == 2:
        return _section_of(args[1])[0], True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _section_of(args[0])
    return annotation, False


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _where_in(path: Sequence[Any]) -> str:
    return f"in {_dotted(path)}" if path else "at the top level"


def _unknown_key_message(path: Sequence[Any], key: str, root: type[BaseModel] = Config) -> str:
    model = _model_at(path, root)
    allowed = _keys_of(model) if model else []
    msg = f"unknown key {key!r} {_where_in(path)}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"{msg}, did you mean {close[0]!r}?"
    return f"{msg}; allowed keys: {', '.join(allowed)}" if allowed else msg


def _describe(err: dict, root: type[BaseModel] = Config) -> str:
    """One readable line for one pydantic error (without the location); root: the model validated."""
    kind, loc, value = err["type"], err["loc"], err.get("input")
    got = f" (got {_short_repr(value)})"
    if kind == "extra_forbidden":
        return _unknown_key_message(loc[:-1], str(loc[-1]), root)
    if kind == "missing":
        return f"missing required key {loc[-1]!r} {_where_in(loc[:-1])}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a mapping of keys" + got
    if kind in ("int_type", "float_type", "int_from_float") and isinstance(value, bool):
        return "must be a number, not true/false" + got
    if kind in ("int_type", "float_type") and isinstance(value, str):
        hint = ""
        try:
            float(value)
            hint = ": remove the quotes"
        except ValueError:
            pass
        return ("must be a whole number" if kind == "int_type" else "must be a number") + ", not text" + got + hint
    if kind in ("int_type", "int_from_float"):
        return "must be a whole number" + got
    if kind == "finite_number":
        return "must be a finite number, not .inf or .nan" + got
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
        msg = f"must be one of {', '.join(choices)}" + got
        close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
        return msg + (f"; did you mean {close[0]!r}?" if close else "")
    msg = err["msg"]
    msg = re.sub(r"^(Value error|Assertion failed), ", "", msg)
    msg = re.sub(r"^(Input|List|String|Value|Dictionary) should ", "must ", msg)
    msg = msg.replace(" after validation", "")
    return msg if "(got " in msg else msg + got


def _from_validation_error(e: ValidationError, locator: _Locator, root: type[BaseModel] = Config) -> ConfigError:
    err = e.errors(include_url=False)[0]
    loc = tuple(p for p in err["loc"] if p not in UNION_TAGS)  # a key's place in the file, not the union's branch
    err = {**err, "loc": loc}
    if isinstance(err.get("ctx", {}).get("error"), _UnknownKey):
        loc = (*loc, str(err["ctx"]["error"]))
        err = {**err, "type": "extra_forbidden", "loc": loc}
    return locator.error(loc, _describe(err, root))



def _check_memory(cfg: Config, locator: _Locator) -> None:
    """Refuse layer sizes whose parameters (×8 bytes ×4 copies) exceed the physical memory."""
    s = cfg.model.layers
    n_params = sum(s[l] * s[l - 1] + s[l] for l in range(1, len(s)))  # W⁽ˡ⁾ and b⁽ˡ⁾, Python ints
    need = n_params * BYTES_PER_NUMBER * COPIES
    try:
        have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        if have <= 0:
            raise ValueError
    except (ValueError, OSError, AttributeError):
        have = 8 * 1024**3
    if need > have:
        raise locator.error(
            ("model", "layers"),
            f"the network has {_int_text(n_params)} parameters, needing {_int_text(need)} bytes "
            f"({_human_bytes(need)}: {BYTES_PER_NUMBER} bytes × {COPIES} copies) but this machine has "
            f"{_human_bytes(have)} of memory; use smaller layers (got {_short_repr(s)})",
        )


def _human_bytes(n: int) -> str:
    if n.bit_length() > 200:
        return f"about 2^{n.bit_length()} bytes"
    x = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if x < 1024 or unit == "EiB":
            break
        x /= 1024
    return f"{x:.1f} {unit}" if x < 1e6 else f"{x:.3g} {unit}"


def _validate(
    data: Any,
    *,
    source: str,
    lines: dict[str, int],
    overrides: dict[str, str],
    base_dir: Optional[Path],
    source_path: Optional[Path],
) -> Config:
    locator = _Locator(source, lines, overrides)
    try:
        cfg = Config.model_validate(data, context={"base_dir": base_dir, "strict_keys": True})
    except ValidationError as e:
        raise _from_validation_error(e, locator) from e
    _check_memory(cfg, locator)
    if cfg.data.task == "autoencode" and cfg.model.layers[-1] != cfg.model.layers[0]:
        s = cfg.model.layers
        raise locator.error(("model", "layers"), f"task autoencode reproduces its input (y = x): the output layer must "
                            f"be as wide as the input; set model.layers to [{s[0]}, …, {s[0]}] (got {s})")
    if cfg.data.whiten is not None and cfg.data.task == "autoencode" and cfg.model.output_activation in (
            "sigmoid", "tanh", "softmax"):
        raise locator.error(("model", "output_activation"), f"data.whiten gives inputs outside the range of a "
                            f"{cfg.model.output_activation} output, and an autoencoder must reproduce them: set "
                            "model.output_activation to identity (the tutorial's linear decoder)")
    if cfg.data.scale is not None and cfg.data.standardize:
        raise locator.error(("data", "scale"), "cannot be used with data.standardize: true (both rescale the "
                            "inputs): set data.standardize: false")
    if cfg.train.early_stopping is not None and cfg.data.split.val == 0:
        raise locator.error(("train", "early_stopping"), "needs a validation split to watch: set data.split.val > 0, "
                            "e.g. --set 'data.split={train: 0.8, val: 0.1, test: 0.1}'")
    if cfg.data.task == "autoencode":
        for key, given in (("data.categorical", cfg.data.categorical is not None),
                           ("data.missing", cfg.data.missing != "refuse")):
            if given:
                raise locator.error(tuple(key.split(".")), "is for classification and regression: an autoencoder "
                                    "reproduces numeric inputs (leave it unset)")
    if cfg.data.labels is not None or cfg.data.transform is not None:  # they take rows of numbers, as read
        for key, given in (("data.categorical", cfg.data.categorical is not None),
                           ("data.missing", cfg.data.missing != "refuse")):
            if given:
                raise locator.error(tuple(key.split(".")), "cannot be used with data.labels or data.transform yet "
                                    "(they take the file's rows of numbers as read): leave it unset")
    if cfg.cluster is not None:
        for key, given in (("data.features", cfg.data.features is not None), ("data.task", cfg.data.task == "autoencode"),
                           ("data.labels", cfg.data.labels is not None), ("data.transform", cfg.data.transform is not None),
                           ("data.categorical", cfg.data.categorical is not None),
                           ("data.missing", cfg.data.missing != "refuse")):
            if given:
                raise locator.error(tuple(key.split(".")), "is not supported on a cluster yet (the workers read "
                                    "every column but the target, as classification or regression): train in this "
                                    "process with --set cluster=null")
    if cfg.cluster is not None and cfg.train.batch_size is not None and cfg.train.optimizer != "lbfgs":
        raise locator.error(("train", "batch_size"), "minibatch steps do not run on a cluster: each step would be a "
                            "round trip to every worker for a few rows' sums; set train.batch_size=null (full batch) "
                            "or remove the cluster section")
    cfg._source, cfg._source_path, cfg._lines, cfg._overrides = source, source_path, lines, overrides
    return cfg



def load_config(path: str | Path, overrides: Overrides = (), *, labels: Optional[Mapping[str, str]] = None) -> Config:
    """Read, parse, override and validate a config file; every problem is one ConfigError line.

    overrides: `--set` texts, or a mapping of dotted keys to values applied the same way. labels: how errors
    name the override of a dotted key, instead of its `--set` text (a sweep names its own file's line)."""
    label = str(path)
    text = _read_text(Path(path), label)
    try:
        data, lines = _parse_yaml(text)
    except _YamlProblem as p:
        raise _problem_error(label, p) from None
    if data is None:
        raise ConfigError(f"{label}: the config file is empty; it needs at least 'data:' and 'model:' sections")
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else _short_repr(data)
        raise ConfigError(
            f"{label}:{lines.get('', 1)}: the top level must be a mapping of keys such as 'data:' and 'model:' "
            f"(got {kind})"
        )
    applied = _apply_overrides(data, lines, overrides)
    applied.update({k: labels[k] for k in applied if labels and k in labels})
    absolute = Path(os.path.abspath(path))
    cfg = _validate(data, source=label, lines=lines, overrides=applied, base_dir=absolute.parent, source_path=absolute)
    cfg._given = overrides
    return cfg


def config_from_dict(d: Any, source: str = "<checkpoint>", overrides: Overrides = ()) -> Config:
    """Validate a config held as a dict (stored in a checkpoint, or built in Python), after overrides
    (as load_config applies them; d itself is not changed). Relative paths are read from the current
    folder. Errors name `source` and the dotted key: `config dict: train.learning_rate: must be …`."""
    if not isinstance(d, Mapping):  # refused by the schema with the usual message
        return _validate(d, source=source, lines={}, overrides={}, base_dir=None, source_path=None)
    data = _plain(copy.deepcopy(dict(d)))
    applied = _apply_overrides(data, {}, overrides)
    cfg = _validate(data, source=source, lines={}, overrides=applied, base_dir=None, source_path=None)
    cfg._given = overrides
    return cfg


def config_to_dict(cfg: Config) -> dict:
    """The fully resolved config as JSON-able data: defaults filled, paths absolute strings."""
    return cfg.model_dump(mode="json", by_alias=True)


def dump_config_yaml(cfg: Config) -> str:
    """config_to_dict as YAML; load_config of this text gives an equal Config."""
    return yaml.dump(config_to_dict(cfg), Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def diff_configs(a: dict, b: dict) -> list[str]:
    """Sorted dotted keys whose values differ between two config dicts (added/removed keys too).

    Mappings are compared key by key; any other value (a list such as model.layers) as a whole.
    """
    out: list[str] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in set(x) | set(y):
                sub = f"{path}.{k}" if path else str(k)
                if k in x and k in y:
                    walk(x[k], y[k], sub)
                else:
                    out.append(sub)
        elif x != y or isinstance(x, bool) != isinstance(y, bool):  # True == 1, but not here
            out.append(path)

    walk(a, b, "")
    return sorted(out)


def json_schema() -> dict:
    """The JSON schema of a config file (editors use it for completion and checking)."""
    return Config.model_json_schema(by_alias=True)

