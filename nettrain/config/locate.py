"""Where a config key is: 'file:line' of the YAML file, or the --set text that gave it; one-line texts.

Every config error names its place this way: `configs/iris.yaml:7: train.learning_rate: …` or
`--set train.learning_rate=-1: …`. Left out on purpose: the schema and the YAML parser.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import ConfigError


def _one_line(text: str) -> str:
    """Line breaks (any kind str.splitlines knows) become spaces: a message is one line."""
    return " ".join(str(text).splitlines())


def _short_repr(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer too long for Python to print
        text = f"<integer of {value.bit_length()} bits>" if isinstance(value, int) else f"<{type(value).__name__}>"
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int_text(n: int) -> str:
    return str(n) if n.bit_length() < 10_000 else f"about 2^{n.bit_length()}"


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(key.split(".")) if key else ()


def _dotted(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path)


class _Locator:
    """Turns a dotted path into 'file:line' or '--set key=value', as errors and where() show it."""

    def __init__(self, source: str, lines: dict[str, int], overrides: dict[str, str]) -> None:
        self.source, self.lines, self.overrides = source, lines, overrides

    def where(self, path: tuple[str, ...], *, mention_inside: bool = False) -> tuple[str, bool]:
        """(location, key is the override's own key) for a path of strings.

        With mention_inside, a file location also names an override of a key below `path`
        (a split that no longer sums to 1 may be the override's doing, not the file's).
        """
        for key in reversed(list(self.overrides)):  # the latest override wins
            own = _split_key(key)
            if path[: len(own)] == own:
                return self.overrides[key], path == own
        loc = self.source
        for n in range(len(path), -1, -1):
            if _dotted(path[:n]) in self.lines:
                loc = f"{self.source}:{self.lines[_dotted(path[:n])]}"
                break
        inside = [raw for key, raw in self.overrides.items() if _split_key(key)[: len(path)] == path]
        if inside and mention_inside:
            loc += f" (with {inside[-1]})"
        return loc, False

    def error(self, path: Sequence[Any], message: str) -> ConfigError:
        spath = tuple(str(p) for p in path)
        loc, own = self.where(spath, mention_inside=True)
        key = "" if own or not spath else _dotted(spath) + ": "
        return ConfigError(_one_line(f"{loc}: {key}{message}"))

