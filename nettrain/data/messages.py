"""One-line DataError messages: how a cell, a name or a list of them is quoted, and the error itself.

Every module of the data package words its refusals with these, so that a message is always one
line (newlines escaped) and values are shown alike. Left out on purpose: what the messages say.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import DataError



def _show(value: Any, limit: int = 40) -> str:
    """A cell, label or name quoted for a one-line message: repr (newlines escaped), truncated."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text)


def _list(values: Sequence[Any], limit: int = 12) -> str:
    shown = ", ".join(_show(v) for v in values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


def _error(message: str) -> DataError:
    """A DataError whose message is guaranteed to be a single line."""
    return DataError(message.replace("\r", "\\r").replace("\n", "\\n"))



def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else "no detail"


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value JSON writes exactly (int, float or str)."""
    if isinstance(value, np.generic):
        return value.item()
    return value
