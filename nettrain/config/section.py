"""What every section of the schema shares: strict types, unknown keys refused, null read as {}; and the
marker of a field whose type a registry makes (Current).

Left out on purpose: the sections themselves (schema.py, train.py).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, model_validator
from pydantic.fields import FieldInfo

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Current:
    """A field's type as a registry makes it now (Annotated[base, Current(make)]): make() is called whenever
    the schema is built, and the registries rebuild Config when they change (the end of schema.py), so
    that a loss or optimizer registered later is a choice of the config, with its keys, in its JSON Schema.
    describe(): the field's description, when it follows the registry too."""

    def __init__(self, make: Callable[[], Any], describe: Optional[Callable[[], str]] = None) -> None:
        self.make, self.describe = make, describe

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return handler.generate_schema(self.make())

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        out = handler(schema)
        if self.describe is not None:
            out["description"] = self.describe()
        return out


def field_model(field: FieldInfo) -> Any:
    """The type a field validates with: its annotation, or what its Current marker makes now."""
    return next((m.make() for m in field.metadata if isinstance(m, Current)), field.annotation)


class _Section(BaseModel):
    """A mapping of the config file: strict types, unknown keys refused, null read as {}."""

    model_config = _STRICT

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value  # `train:` with every key commented out is null
