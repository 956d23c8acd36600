"""One (de)serialiser for frozen dataclasses, driven by their fields and type hints.

`to_json(obj)` writes every field in declaration order (a class with a `TYPE` class
variable, as `tagged` sets it, gets a leading `"type"` key); `from_json(cls, data)` reads them
back, taking a field's default when its key is absent; `Record` gives a class both as methods.
Types handled: str/int/float/bool, `JSONValue` (passed through as is), datetimes (RFC 3339,
UTC as Z), dates (ISO), enums (their value), `X | None`, tuples and lists, dicts and Mappings,
nested dataclasses, and unions of dataclasses told apart by their `TYPE`. Input is trusted to
have the schema's shape: validate before reading.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self, TypeAlias, TypeVar, dataclass_transform

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None

T = TypeVar("T")


class Record:
    """JSON (de)serialisation of a results dataclass, through this codec."""

    TYPE: ClassVar[str]  # the "type" key of a tagged class's JSON object; unset on others

    def to_dict(self) -> dict[str, JSONValue]:
        return to_json(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return from_json(cls, data)


R = TypeVar("R", bound=Record)


@dataclass_transform(frozen_default=True)
def tagged(tag: str, *, kw_only: bool = False) -> Callable[[type[R]], type[R]]:
    """Make a Record class a frozen dataclass whose JSON object starts with "type": tag."""

    def make(cls: type[R]) -> type[R]:
        cls.TYPE = tag
        return dataclasses.dataclass(frozen=True, kw_only=kw_only)(cls)

    return make


def format_timestamp(value: dt.datetime) -> str:
    """RFC 3339; UTC is written with Z. A naive datetime has no offset and fails validation."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_timestamp(text: str) -> dt.datetime:
    """Parse a schema-valid RFC 3339 date-time; accepts t/z, reads leap second :60 as :59."""
    text = text.upper()
    if text[17:19] == "60":
        text = text[:17] + "59" + text[19:]
    return dt.datetime.fromisoformat(text)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _options(hint: Any) -> list[Any] | None:
    """The non-None members of a union hint; None when it is no union."""
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return None
    return [arg for arg in typing.get_args(hint) if arg is not type(None)]


def _is_json(hint: Any) -> bool:
    """`JSONValue` or `Any`: a union of several members that are not all dataclasses."""
    options = _options(hint)
    if hint is Any or hint is JSONValue:
        return True
    return options is not None and len(options) > 1 and not all(map(_is_dataclass, options))


def _is_dataclass(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def to_json(obj: Any) -> dict[str, JSONValue]:
    """The JSON object for a dataclass instance."""
    out: dict[str, JSONValue] = {}
    tag = getattr(type(obj), "TYPE", None)
    if isinstance(tag, str):
        out["type"] = tag
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        out[f.name] = _encode(getattr(obj, f.name), hints[f.name])
    return out


def _encode(value: Any, hint: Any) -> JSONValue:
    if value is None or _is_json(hint):
        return typing.cast(JSONValue, value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return typing.cast(JSONValue, value.value)
    options = _options(hint)
    if options:
        hint = options[0]
    args = typing.get_args(hint)
    if isinstance(value, tuple | list):
        item = args[0] if args else JSONValue
        return [_encode(v, item) for v in value]
    if isinstance(value, Mapping):
        item = args[1] if len(args) == 2 else JSONValue
        return {str(k): _encode(v, item) for k, v in value.items()}
    return typing.cast(JSONValue, value)


def from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    """An instance of dataclass `cls` from its JSON object (missing keys take the default)."""
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            values[f.name] = _decode(data[f.name], hints[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(f.name)
    return cls(**values)


def _decode(value: Any, hint: Any) -> Any:
    if value is None or _is_json(hint):
        return value
    options = _options(hint)
    if options is not None:
        return _decode(value, options[0]) if len(options) == 1 else _decode_tagged(value, options)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return value
    if origin is tuple:
        return tuple(_decode(v, args[0]) for v in value)
    if origin is list:
        return [_decode(v, args[0]) for v in value]
    if origin in (dict, Mapping):
        return {k: _decode(v, args[1]) for k, v in value.items()}
    if isinstance(hint, type):
        return _decode_class(value, hint)
    return value


def _decode_class(value: Any, hint: type) -> Any:
    if _is_dataclass(hint):
        return from_json(hint, value)
    if issubclass(hint, dt.datetime):
        return parse_timestamp(value)
    if issubclass(hint, dt.date):
        return dt.date.fromisoformat(value)
    if issubclass(hint, enum.Enum):
        return hint(value)
    return value


def _decode_tagged(value: Any, options: list[Any]) -> Any:
    """One of several dataclasses, chosen by the object's "type" against their TYPE."""
    for option in options:
        if isinstance(option, type) and getattr(option, "TYPE", None) == value.get("type"):
            return from_json(option, value)
    raise ValueError(f"no dataclass among {options} has TYPE {value.get('type')!r}")
