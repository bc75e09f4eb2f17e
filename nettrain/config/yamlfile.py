"""A config file as plain data: read (at most 1 MiB of UTF-8), parsed by a safe YAML loader that records
the line of every key and refuses duplicate keys, anchors, aliases and non-standard tags.

Left out on purpose: what the keys mean (schema.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import yaml

from ..errors import ConfigError
from .locate import _one_line, _short_repr

MAX_CONFIG_BYTES = 1024 * 1024  # a config is a page of text; anything bigger is a mistake
MAX_DEPTH = 32  # nesting levels allowed in a YAML document (the schema needs 3)

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
# YAML 1.1 reads 1e-4 (no dot) as text; read it as the number everyone means.
_EXP_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")


class _YamlProblem(Exception):
    def __init__(self, line: Optional[int], key: str, message: str) -> None:
        super().__init__(message)
        self.line, self.key, self.message = line, key, message


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases and deep nesting while composing.

    Aliases are refused outright (not merely capped): a "billion laughs" document fails at its
    first `&` or `*`, before anything is expanded.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if isinstance(index, yaml.ScalarNode):  # a mapping value: index is its key node
            seg: Optional[str] = str(index.value)
        elif isinstance(index, int):  # a list item
            seg = str(index)
        elif index is not None:  # a value whose key is a list or mapping
            seg = "?"
        else:  # the document, or a mapping key: errors belong to the parent
            seg = None
        path = self._path + ([seg] if seg is not None else [])
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise _YamlProblem(line, ".".join(path), f"aliases (*{event.anchor}) are not allowed: write the value out")
        if event.anchor is not None:
            raise _YamlProblem(line, ".".join(path), f"anchors (&{event.anchor}) are not allowed: write the value out")
        if len(path) > MAX_DEPTH:
            # the first 3 keys say where (the schema is 3 deep); the rest would be noise
            raise _YamlProblem(line, ".".join(path[:3]), f"nested more than {MAX_DEPTH} levels deep")
        saved, self._path = self._path, path
        try:
            return super().compose_node(parent, index)
        finally:
            self._path = saved


_Loader.add_implicit_resolver(_TAG + "float", _EXP_FLOAT, list("-+0123456789."))


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes text such as '1e5' which _Loader would read back as a number."""


_Dumper.add_implicit_resolver(_TAG + "float", _EXP_FLOAT, list("-+0123456789."))


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _tag_problem(node: yaml.Node, path: str) -> _YamlProblem:
    """Nothing is ever constructed from a tag outside YAML's plain types."""
    return _YamlProblem(
        node.start_mark.line + 1,
        path,
        f"tag {_short_tag(node.tag)!r} is not allowed: only plain YAML values "
        "(text, numbers, true/false, null, lists and mappings)",
    )


def _build(loader: _Loader, node: yaml.Node, path: str, lines: dict[str, int]) -> Any:
    """Python data from a composed node: plain dicts, lists and scalars, recording key lines."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        if node.tag != _TAG + "map":
            raise _tag_problem(node, path)
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _TAG + "merge":
                raise _YamlProblem(key_line, path, "merge keys (<<) are not allowed: write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                if key_node.tag != _TAG + ("map" if isinstance(key_node, yaml.MappingNode) else "seq"):
                    raise _tag_problem(key_node, path)
                raise _YamlProblem(key_line, path, "keys must be plain text, not lists or mappings")
            key = _build(loader, key_node, path, {})
            if not isinstance(key, str):
                raise _YamlProblem(key_line, path, f"keys must be text (got {_short_repr(key)}): put it in quotes")
            dotted = f"{path}.{key}" if path else key
            if key in first:
                raise _YamlProblem(key_line, dotted, f"duplicate key (first at line {first[key]})")
            first[key] = lines[dotted] = key_line
            out[key] = _build(loader, value_node, dotted, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _TAG + "seq":
            raise _tag_problem(node, path)
        items = []
        for i, item in enumerate(node.value):
            dotted = f"{path}.{i}" if path else str(i)
            lines[dotted] = item.start_mark.line + 1
            items.append(_build(loader, item, dotted, lines))
        return items
    if node.tag == _TAG + "value":  # a lone '=' is text
        return node.value
    if node.tag not in _SCALAR_TAGS:
        raise _tag_problem(node, path)
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError, TypeError, yaml.YAMLError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise _YamlProblem(line, path, f"cannot read {node.value[:40]!r} as {_short_tag(node.tag)[2:]}: {reason}")


def _parse_yaml(text: str) -> tuple[Any, dict[str, int]]:
    """(data, lines): the document as plain data, and the line of every dotted key ('' = top)."""
    try:
        loader = _Loader(text)  # the reader refuses control characters here already
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        raise _YamlProblem(line, "", f"invalid YAML: character U+{e.character:04X} is not allowed") from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            problem = " ".join(x for x in (e.problem, e.context) if x) or "cannot be parsed"
            if "'\\t'" in problem:
                problem += " (indent with spaces, not tabs)"
            elif "expected the node content, but found" in problem:  # a value starting with , ] } | > …
                problem += " (put a value that starts with this character in quotes, e.g. delimiter: ',')"
            raise _YamlProblem(mark.line + 1 if mark else None, "", f"invalid YAML: {problem}") from None
        except yaml.YAMLError as e:
            raise _YamlProblem(None, "", f"invalid YAML: {_one_line(str(e))}") from None
        if node is None:
            return None, {}
        lines = {"": node.start_mark.line + 1}
        return _build(loader, node, "", lines), lines
    finally:
        loader.dispose()


def _read_text(path: Path, label: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)  # never more, even from a device or a pipe
    except FileNotFoundError:
        raise ConfigError(f"{label}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{label}: is a folder, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{label}: cannot read the config file (permission denied)") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the name
        reason = getattr(e, "strerror", None) or str(e)
        raise ConfigError(_one_line(f"{label}: cannot read the config file ({reason})")) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{label}: the config file is larger than 1 MiB; a config should be a page of YAML")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{label}: the config file is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
            "save it as UTF-8"
        ) from None
    return text


def _problem_error(where: str, p: _YamlProblem) -> ConfigError:
    loc = where if p.line is None else f"{where}:{p.line}"
    key = f"{p.key}: " if p.key else ""
    return ConfigError(_one_line(f"{loc}: {key}{p.message}"))

