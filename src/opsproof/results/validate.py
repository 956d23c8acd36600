"""Validate, read and write results documents against results.schema.json."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from jsonschema import FormatChecker

from opsproof.errors import ConfigError, ValidationError
from opsproof.results.model import SCHEMA_VERSION, ResultsDocument, parse_timestamp
from opsproof.schema_messages import SchemaDocument, json_path

SCHEMA_RESOURCE = "results.schema.json"
SCHEMA_DOC = "docs/results-schema.md"

# RFC 3339 section 5.6 date-time; the offset is mandatory. jsonschema only checks
# "date-time" when the optional rfc3339-validator is installed, so we check it ourselves.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def is_rfc3339(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    match = _RFC3339.fullmatch(instance)
    if not match:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    offset = match.group(8)
    try:
        # Leap second 60 is valid RFC 3339; datetime cannot hold it.
        dt.datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return False
    if second > 60:
        return False
    if offset not in ("Z", "z"):
        off_h, off_m = int(offset[1:3]), int(offset[4:6])
        if off_h > 23 or off_m > 59:
            return False
    return True


def _format_checker() -> FormatChecker:
    checker = FormatChecker()  # every format jsonschema can check with what is installed
    checker.checks("date-time")(is_rfc3339)
    return checker


RESULTS_SCHEMA = SchemaDocument(
    "opsproof.results",
    SCHEMA_RESOURCE,
    what="results document",
    fix=f"correct the field(s) named; the format is described in {SCHEMA_DOC}",
    format_checker=_format_checker,
)


def load_schema() -> dict[str, Any]:
    """A copy of the results schema shipped in the package."""
    return RESULTS_SCHEMA.schema()


# --- messages --------------------------------------------------------------------------


_TOP_ORDER = {"schema_version": "0", "run": "1", "results": "2"}


def _non_finite(value: object, parts: list[str | int]) -> Iterator[str]:
    if isinstance(value, float) and not math.isfinite(value):
        yield f"{json_path(parts)}: {value!r} is not a JSON number"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _non_finite(v, [*parts, str(k)])
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _non_finite(v, [*parts, i])


def _semantic(data: dict[str, Any]) -> Iterator[str]:
    """Rules JSON Schema cannot say; run only on a schema-valid document."""
    run = data["run"]
    if parse_timestamp(run["finished_at"]) < parse_timestamp(run["started_at"]):
        yield (
            f"run.finished_at: {run['finished_at']!r} is earlier than "
            f"run.started_at {run['started_at']!r}"
        )


def schema_errors(data: object) -> list[str]:
    """Every problem with data as 'path: message', in document order; empty when valid."""
    non_finite = list(_non_finite(data, []))
    if non_finite:
        return non_finite
    if isinstance(data, dict) and data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        # Another version: the rest of the errors would only be noise.
        return [
            f"schema_version: {data['schema_version']!r} is not supported; "
            f"this opsproof reads schema_version {SCHEMA_VERSION!r}"
        ]
    return RESULTS_SCHEMA.errors(data, _semantic, top_order=_TOP_ORDER)


def validate_document(data: object, *, source: str | os.PathLike[str] | None = None) -> None:
    """Raise ValidationError naming the source and the JSON path of each offending field."""
    RESULTS_SCHEMA.check(schema_errors(data), source)


# --- files -----------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def read_json(path: str | os.PathLike[str]) -> object:
    """Parse a JSON file strictly (no NaN, no duplicate keys); errors name the file."""
    where = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: results file not found", fix="check the path given") from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a directory, not a results file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{where}: cannot read results file: {err}") from None
    try:
        return cast(
            object,
            json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant),
        )
    except json.JSONDecodeError as err:
        raise ValidationError(
            f"{where}: not valid JSON: {err.msg} at line {err.lineno} column {err.colno}",
            fix="the file is damaged or not a results file; regenerate it",
        ) from None
    except ValueError as err:
        raise ValidationError(f"{where}: not valid JSON: {err}") from None


def load_results(path: str | os.PathLike[str]) -> ResultsDocument:
    """Read, validate and parse a results file."""
    data = read_json(path)
    validate_document(data, source=path)
    return ResultsDocument.from_dict(cast(dict[str, Any], data))


def _file_mode(target: Path) -> int:
    """Keep an existing file's mode; else what open() would give (mkstemp makes 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def write_results(doc: ResultsDocument, path: str | os.PathLike[str]) -> Path:
    """Validate doc, then write it atomically (temp file in the same directory + rename)."""
    target = Path(path)
    data = doc.to_dict()
    validate_document(data, source=target)
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise ConfigError(f"{target}: cannot write results file: {err}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode(target))
        os.replace(tmp, target)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ConfigError(f"{target}: cannot write results file: {err}") from None
    return target
