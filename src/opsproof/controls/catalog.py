"""Read and validate the controls catalog (controls/catalog.yml) against catalog.schema.json."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from opsproof.controls.model import LAYER_PREFIX, Catalog
from opsproof.errors import ConfigError, ValidationError
from opsproof.schema_messages import SchemaDocument, json_path

DEFAULT_CATALOG = Path("controls/catalog.yml")
SCHEMA_RESOURCE = "catalog.schema.json"
CATALOG_DOC = "docs/controls.md"
CATALOG_SCHEMA = SchemaDocument(
    "opsproof.controls",
    SCHEMA_RESOURCE,
    what="controls catalog",
    fix=f"correct the field(s) named; the catalog's fields are described in {CATALOG_DOC}",
)

# GB/T 22239-2019 8.1.4 lettered clause -> GB/T 28448-2019 level-3 host test item.
# The standard's numbering has no L3-CES1-16.
MLPS_TEST_ITEMS: Mapping[str, str] = {
    **{f"8.1.4.1 {x})": f"L3-CES1-{1 + i:02d}" for i, x in enumerate("abcd")},
    **{f"8.1.4.2 {x})": f"L3-CES1-{5 + i:02d}" for i, x in enumerate("abcdefg")},
    **{f"8.1.4.3 {x})": f"L3-CES1-{12 + i:02d}" for i, x in enumerate("abcd")},
    **{f"8.1.4.4 {x})": f"L3-CES1-{17 + i:02d}" for i, x in enumerate("abcdef")},
    "8.1.4.5": "L3-CES1-23",
    "8.1.4.6": "L3-CES1-24",
    **{f"8.1.4.7 {x})": f"L3-CES1-{25 + i:02d}" for i, x in enumerate("ab")},
    **{f"8.1.4.8 {x})": f"L3-CES1-{27 + i:02d}" for i, x in enumerate("ab")},
    **{f"8.1.4.9 {x})": f"L3-CES1-{29 + i:02d}" for i, x in enumerate("abc")},
    **{f"8.1.4.10 {x})": f"L3-CES1-{32 + i:02d}" for i, x in enumerate("ab")},
    **{f"8.1.4.11 {x})": f"L3-CES1-{34 + i:02d}" for i, x in enumerate("ab")},
}
TEST_ITEM_CLAUSE: Mapping[str, str] = {item: clause for clause, item in MLPS_TEST_ITEMS.items()}


def load_schema() -> dict[str, Any]:
    """A copy of the catalog schema shipped in the package."""
    return CATALOG_SCHEMA.schema()


# --- messages --------------------------------------------------------------------------


def _json_path(data: object, path: Iterable[str | int]) -> str:
    """controls[3] (SSH-AUTH-001).title.zh style path; '(document)' for the top level."""
    return json_path(path, functools.partial(_control_label, data))


def _control_label(data: object, parts: list[str | int]) -> str:
    """' (ID)' after controls[index] when that control has a string id, else ''."""
    controls = data.get("controls") if isinstance(data, dict) else None
    if len(parts) != 2 or parts[0] != "controls" or not isinstance(controls, list):
        return ""
    index = cast(int, parts[1])
    if 0 <= index < len(controls):
        item = controls[index]
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return f" ({item['id']})"
    return ""


def _semantic(data: dict[str, Any]) -> Iterator[str]:
    """Rules JSON Schema cannot say; run only on a schema-valid catalog."""
    first_index: dict[str, int] = {}
    for index, control in enumerate(data["controls"]):

        def where(field: str, index: int = index) -> str:
            return _json_path(data, ["controls", index, *field.split(".")])

        cid: str = control["id"]
        if cid in first_index:
            yield f"{where('id')}: duplicate id, already used by controls[{first_index[cid]}]"
        else:
            first_index[cid] = index
        prefix = LAYER_PREFIX[control["layer"]]
        if cid.split("-", 1)[0] != prefix:
            yield (
                f"{where('id')}: prefix {cid.split('-', 1)[0]!r} does not match layer "
                f"{control['layer']!r} (its ids start with '{prefix}-')"
            )
        lab = control["lab"]
        if not lab["applies"] and "reason" not in lab:
            yield f"{where('lab.reason')}: required when lab.applies is false"
        role: str = control["role"]
        for field, name in (
            ("variable", control["variable"]),
            ("setting.variable", control.get("setting", {}).get("variable")),
        ):
            if name is not None and not name.startswith(f"{role}_"):
                yield f"{where(field)}: {name!r} is not prefixed with its role {role + '_'!r}"
        threshold = control["check"].get("pass", {}).get("threshold")
        if threshold is not None and "warn" in threshold:
            warn, fail = threshold["warn"], threshold["fail"]
            if (threshold["worse"] == "higher" and warn > fail) or (
                threshold["worse"] == "lower" and warn < fail
            ):
                yield (
                    f"{where('check.pass.threshold')}: warn {warn} lies beyond fail {fail} "
                    f"(values are worse when {threshold['worse']})"
                )
        refs = control["references"]
        if not (refs["cis"] or refs["mlps"] or refs.get("other")):
            yield f"{where('references')}: at least one of cis, mlps, other must name a reference"
        for i, item in enumerate(refs["mlps_test"]):
            clause = TEST_ITEM_CLAUSE.get(item)
            if clause is None:
                yield (
                    f"{where('references.mlps_test')}[{i}]: {item!r} is not a GB/T 28448-2019 "
                    "level-3 host test item (the numbering skips L3-CES1-16)"
                )
            elif clause not in refs["mlps"]:
                yield (
                    f"{where('references.mlps_test')}[{i}]: {item} tests clause {clause!r}, "
                    "which references.mlps does not list"
                )


def catalog_errors(data: object) -> list[str]:
    """Every problem with data as 'path: message', in document order; empty when valid."""
    return CATALOG_SCHEMA.errors(data, _semantic, label=functools.partial(_control_label, data))


def validate_catalog(data: object, *, source: str | os.PathLike[str] | None = None) -> None:
    """Raise ValidationError naming the source, the control and the path of each bad field."""
    CATALOG_SCHEMA.check(catalog_errors(data), source)


# --- files -----------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_catalog(path: str | os.PathLike[str]) -> object:
    """Parse the catalog YAML strictly (no duplicate keys); errors name the file."""
    where = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: controls catalog not found",
            fix="run from the repository root or pass --catalog PATH",
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a directory, not a controls catalog") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{where}: cannot read controls catalog: {err}") from None
    try:
        # _StrictLoader is a SafeLoader: no arbitrary Python objects.
        return cast(object, yaml.load(text, Loader=_StrictLoader))
    except yaml.YAMLError as err:
        raise ValidationError(
            f"{where}: not valid YAML: {err}".replace("\n", " "),
            fix="fix the YAML syntax at the position named",
        ) from None


def load_catalog(path: str | os.PathLike[str] = DEFAULT_CATALOG) -> Catalog:
    """Read, validate and parse the controls catalog."""
    data = read_catalog(path)
    validate_catalog(data, source=path)
    return Catalog.from_dict(cast(dict[str, Any], data))
