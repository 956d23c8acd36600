"""Declared indexes: platform/sql/indexes/<subsystem>.yml, read and checked.

The postgresql role builds them (optimised profile) or drops them (baseline) and checks the
same rules in its validate.yml; `opsproof explain` runs the query each one serves. A file:

    subsystem: oa                       # must equal the file name's stem
    indexes:
      - name: oa_flow_step_inbox_idx    # SQL identifier, unique over every file
        table: oa_flow_step             # SQL identifier (schema public)
        columns: [assignee_id, created_at DESC, id DESC]   # "column [opclass] [ASC|DESC]";
                                         # a column may be "(function(column))"
        using: btree                    # optional: btree (default), gin, gist, brin, hash
        where: status = 'pending'       # optional partial-index predicate
        endpoint: GET /api/oa/inbox?user=7
        query: SELECT ...               # one read-only statement, example parameters inline
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsproof.errors import ConfigError

DEFAULT_INDEXES_DIR = Path("platform/sql/indexes")
METHODS = ("btree", "gin", "gist", "brin", "hash")
# The same patterns as roles/postgresql/vars/main.yml (__postgresql_index_*_re).
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
COLUMN_RE = re.compile(
    r"^([a-z_][a-z0-9_]*|\([a-z_][a-z0-9_]*\([a-z_][a-z0-9_]*\)\))"
    r"( [a-z0-9_]+_ops)?( (ASC|DESC))?( NULLS (FIRST|LAST))?$"
)
READ_ONLY_RE = re.compile(r"^\s*(SELECT|WITH)\b", re.IGNORECASE)
REQUIRED = ("name", "table", "columns", "endpoint", "query")
OPTIONAL = ("using", "where")


@dataclass(frozen=True)
class DeclaredIndex:
    subsystem: str
    name: str
    table: str
    columns: tuple[str, ...]
    endpoint: str
    query: str
    using: str = "btree"
    where: str | None = None
    source: str = ""

    def create_sql(self) -> str:
        """The statement the postgresql role's postgresql_idx task runs for this index."""
        sql = (
            f'CREATE INDEX CONCURRENTLY "{self.name}" ON "public"."{self.table}" '
            f"USING {self.using.upper()} ({','.join(self.columns)})"
        )
        return f"{sql} WHERE {self.where}" if self.where else sql


def _bad(source: str, where: str, problem: str) -> ConfigError:
    return ConfigError(
        f"{source}: {where}: {problem}",
        fix="see the format in platform/sql/indexes/README.md",
    )


def parse_index_file(source: str, data: Any, subsystem: str) -> list[DeclaredIndex]:
    """The indexes of one file's parsed YAML; a ConfigError names the file, index and field."""
    if not isinstance(data, Mapping):
        raise _bad(source, "top level", "must be a mapping with `subsystem` and `indexes`")
    unknown = sorted(set(data) - {"subsystem", "indexes"})
    if unknown:
        raise _bad(source, "top level", f"unknown key(s) {', '.join(map(str, unknown))}")
    if data.get("subsystem") != subsystem:
        raise _bad(
            source,
            "subsystem",
            f"is {data.get('subsystem')!r}, not the file's name {subsystem!r}",
        )
    entries = data.get("indexes")
    if not isinstance(entries, list) or not entries:
        raise _bad(source, "indexes", "must be a non-empty list")
    return [_parse_entry(source, subsystem, i, entry) for i, entry in enumerate(entries)]


def _parse_entry(source: str, subsystem: str, position: int, entry: Any) -> DeclaredIndex:
    label = f"indexes[{position}]"
    if not isinstance(entry, Mapping):
        raise _bad(source, label, "must be a mapping")
    if isinstance(entry.get("name"), str):
        label = f"{label} ({entry['name']})"
    missing = [key for key in REQUIRED if key not in entry]
    if missing:
        raise _bad(source, label, f"missing {', '.join(missing)}")
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise _bad(source, label, f"unknown key(s) {', '.join(map(str, unknown))}")
    for key in ("name", "table"):
        if not isinstance(entry[key], str) or not NAME_RE.match(entry[key]):
            raise _bad(
                source, f"{label}.{key}", f"{entry[key]!r} is not a lower-case SQL identifier"
            )
    columns = entry["columns"]
    if not isinstance(columns, list) or not columns:
        raise _bad(source, f"{label}.columns", "must be a non-empty list")
    for column in columns:
        if not isinstance(column, str) or not COLUMN_RE.match(column):
            raise _bad(
                source,
                f"{label}.columns",
                f"{column!r} is not 'column [opclass] [ASC|DESC] [NULLS FIRST|LAST]' "
                "(or '(function(column))' in place of the column)",
            )
    using = entry.get("using", "btree")
    if using not in METHODS:
        raise _bad(source, f"{label}.using", f"{using!r} is not one of {', '.join(METHODS)}")
    where = entry.get("where")
    if where is not None and (not isinstance(where, str) or ";" in where or not where.strip()):
        raise _bad(source, f"{label}.where", "must be one SQL condition without ';'")
    endpoint = entry["endpoint"]
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise _bad(source, f"{label}.endpoint", "must name the endpoint, e.g. GET /api/oa/inbox")
    query = entry["query"]
    if not isinstance(query, str) or not READ_ONLY_RE.match(query) or ";" in query:
        raise _bad(
            source,
            f"{label}.query",
            "must be one read-only statement (SELECT or WITH) without ';'",
        )
    return DeclaredIndex(
        subsystem=subsystem,
        name=entry["name"],
        table=entry["table"],
        columns=tuple(columns),
        endpoint=endpoint.strip(),
        query=" ".join(query.split()),
        using=using,
        where=where.strip() if where else None,
        source=source,
    )


def check_unique(indexes: Sequence[DeclaredIndex]) -> None:
    seen: dict[str, str] = {}
    for index in indexes:
        if index.name in seen:
            raise _bad(
                index.source,
                index.name,
                f"the name is declared again (first in {seen[index.name]})",
            )
        seen[index.name] = index.source


def load_indexes(directory: Path = DEFAULT_INDEXES_DIR) -> list[DeclaredIndex]:
    """Every declared index, file by file in name order."""
    if not directory.is_dir():
        raise ConfigError(
            f"{directory}: no such directory of declared indexes",
            fix="run from the repository root, or pass --indexes-dir platform/sql/indexes",
        )
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise ConfigError(f"{directory}: no <subsystem>.yml files", fix="declare indexes there")
    indexes: list[DeclaredIndex] = []
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}", fix="fix the file") from None
        indexes += parse_index_file(str(path), data, path.stem)
    check_unique(indexes)
    return indexes
