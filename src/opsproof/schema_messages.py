"""JSON-Schema errors as one-line 'path: message' texts, and the one ValidationError they raise.

`SchemaDocument` is one kind of document checked this way: its packaged schema first, then
the rules a schema cannot say.

Used by the controls catalog and the results documents: both name each offending field by
its path (`results[3].status`, `controls[4] (SSH-001).title.zh`), list missing and unknown
fields one by one (with a did-you-mean), in document order, and report at most a few.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema import ValidationError as SchemaError

from opsproof.errors import ValidationError

MAX_REPORTED = 5

# A label added after a list index of the path: (path up to and with the index) -> text.
Label = Callable[[list[str | int]], str]


def json_path(path: Iterable[str | int], label: Label | None = None) -> str:
    """results[3].status style path; '(document)' for the top level."""
    parts = list(path)
    text = ""
    for i, part in enumerate(parts):
        if isinstance(part, int):
            text += f"[{part}]"
            if label is not None:
                text += label(parts[: i + 1])
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(document)"


def _sort_key(parts: list[str | int], top_order: Mapping[str, str]) -> tuple[str, ...]:
    """Document order: the top-level keys as top_order ranks them, then the path (indexes
    numerically)."""
    top = (top_order.get(str(parts[0]), "~"),) if parts and top_order else ()
    return (*top, *(f"{p:09d}" if isinstance(p, int) else p for p in parts))


def _messages(
    error: SchemaError, label: Label | None, top_order: Mapping[str, str]
) -> list[tuple[tuple[str, ...], str]]:
    """(sort key, 'path: message') pairs for one schema error."""
    parts: list[str | int] = list(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = [k for k in cast(list[str], error.validator_value) if k not in instance]
        return [
            (
                _sort_key([*parts, k], top_order),
                f"{json_path([*parts, k], label)}: required field is missing",
            )
            for k in missing
        ]
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(cast(dict[str, Any], error.schema).get("properties", {}))
        out = []
        for extra in sorted(k for k in instance if k not in allowed):
            close = difflib.get_close_matches(extra, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
            where = json_path([*parts, extra], label)
            out.append((_sort_key([*parts, extra], top_order), f"{where}: unknown field{hint}"))
        return out
    return [(_sort_key(parts, top_order), f"{json_path(parts, label)}: {error.message}")]


def schema_messages(
    validator: Draft202012Validator,
    data: object,
    *,
    label: Label | None = None,
    top_order: Mapping[str, str] | None = None,
) -> list[str]:
    """Every schema error of data as 'path: message', deduplicated, in document order."""
    found: dict[str, tuple[str, ...]] = {}
    for error in validator.iter_errors(data):
        for key, message in _messages(error, label, top_order or {}):
            found.setdefault(message, key)
    return [m for m, _ in sorted(found.items(), key=lambda item: (item[1], item[0]))]


def raise_problems(
    problems: list[str], *, source: str | os.PathLike[str] | None, what: str, fix: str
) -> None:
    """Raise the one ValidationError for problems (none: return): the source, then at most
    MAX_REPORTED problems and how many more."""
    if not problems:
        return
    where = os.fspath(source) if source is not None else what
    shown = "; ".join(problems[:MAX_REPORTED])
    more = len(problems) - MAX_REPORTED
    suffix = f"; and {more} more error{'s' if more > 1 else ''}" if more > 0 else ""
    raise ValidationError(f"{where}: {shown}{suffix}", fix=fix)


@functools.cache
def packaged_schema(package: str, resource: str) -> dict[str, Any]:
    """A JSON Schema shipped in a package (cached: callers hand out copies)."""
    text = resources.files(package).joinpath(resource).read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


@dataclass(frozen=True)
class SchemaDocument:
    """A kind of document checked against a JSON Schema shipped in a package, then (when the
    schema passes) by the rules a schema cannot say; its problems raise one ValidationError."""

    package: str
    resource: str
    what: str  # names the document in an error without a source, e.g. "controls catalog"
    fix: str
    format_checker: Callable[[], FormatChecker] | None = None

    def schema(self) -> dict[str, Any]:
        """A copy of the schema."""
        return copy.deepcopy(packaged_schema(self.package, self.resource))

    @functools.cached_property
    def validator(self) -> Draft202012Validator:
        """A validator of the schema, the schema itself checked first (once)."""
        schema = packaged_schema(self.package, self.resource)
        Draft202012Validator.check_schema(schema)
        checker = self.format_checker() if self.format_checker else None
        return Draft202012Validator(schema, format_checker=checker)

    def errors(
        self,
        data: object,
        semantic: Callable[[dict[str, Any]], Iterable[str]],
        *,
        label: Label | None = None,
        top_order: Mapping[str, str] | None = None,
    ) -> list[str]:
        """The schema's messages (schema_messages); none: those of semantic(data)."""
        found = schema_messages(self.validator, data, label=label, top_order=top_order)
        return found or list(semantic(cast(dict[str, Any], data)))

    def check(self, problems: list[str], source: str | os.PathLike[str] | None) -> None:
        """Raise the one ValidationError for problems (raise_problems); none: return."""
        raise_problems(problems, source=source, what=self.what, fix=self.fix)
