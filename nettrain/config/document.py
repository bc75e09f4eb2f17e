"""A YAML file of nettrain's other than a config (a sweep file), read as configs are: the same safe loader
with the line of every key, the same one-line errors naming file:line and the dotted key, "did you mean".

    doc = read_document(path, what="sweep file")    the data and the line of every dotted key
    doc.validate(Model)                             a pydantic model of it; a problem is one ConfigError line
    doc.where("grid.train.weight_decay.2")          'sweeps/x.yaml:7'
    doc.error(("metric",), "needs a val split")     ConfigError('sweeps/x.yaml:9: metric: needs a val split')

Left out on purpose: what the keys mean (the model given to validate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from .load import _from_validation_error
from .locate import _Locator, _short_repr, _split_key
from .yamlfile import _parse_yaml, _problem_error, _read_text, _YamlProblem


@dataclass
class Document:
    source: str  # the path as given: how errors name the file
    data: Any
    lines: dict[str, int] = field(default_factory=dict)  # dotted key → line ('' = the document)

    def _locator(self) -> _Locator:
        return _Locator(self.source, self.lines, {})

    def validate(self, model: type[BaseModel], context: Optional[dict] = None) -> Any:
        """model.model_validate(data); a problem is one ConfigError line with the config's wording."""
        try:
            return model.model_validate(self.data, context=context)
        except ValidationError as e:
            raise _from_validation_error(e, self._locator(), model) from None

    def where(self, key: str) -> str:
        """'file:line' of a dotted key (or of its nearest parent the file has)."""
        return self._locator().where(_split_key(key))[0]

    def error(self, path: Sequence[Any], message: str) -> ConfigError:
        """ConfigError('file:line: dotted.key: message') for the key at path."""
        return self._locator().error(path, message)


def read_document(path: str | Path, what: str = "file") -> Document:
    """The YAML file at path (at most 1 MiB of UTF-8) as plain data with the line of every key; a file that
    cannot be read or parsed, or whose top level is not a mapping, is one ConfigError line."""
    label = str(path)
    try:
        data, lines = _parse_yaml(_read_text(Path(path), label))
    except _YamlProblem as p:
        raise _problem_error(label, p) from None
    if not isinstance(data, dict):
        got = "nothing" if data is None else "a list" if isinstance(data, list) else _short_repr(data)
        raise ConfigError(f"{label}:{lines.get('', 1)}: the top level of a {what} must be a mapping of keys "
                          f"(got {got})")
    return Document(label, data, lines)
