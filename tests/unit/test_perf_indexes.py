"""Declared indexes (platform/sql/indexes): the real files, and every rule of the loader."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsproof.errors import ConfigError
from opsproof.perf import indexes as idx

REPO = Path(__file__).resolve().parents[2]
INDEXES = REPO / "platform/sql/indexes"
SUBSYSTEMS = {"sharing", "intake", "investment", "publishing", "reporting", "oa"}


def entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "oa_flow_step_inbox_idx",
        "table": "oa_flow_step",
        "columns": ["assignee_id", "created_at DESC", "id DESC"],
        "where": "status = 'pending'",
        "endpoint": "GET /api/oa/inbox?user=7",
        "query": "SELECT s.id FROM oa_flow_step s WHERE s.assignee_id = 7",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def parse(*entries: dict[str, Any], subsystem: str = "oa") -> list[idx.DeclaredIndex]:
    return idx.parse_index_file("oa.yml", {"subsystem": subsystem, "indexes": list(entries)}, "oa")


def test_the_repository_declares_valid_indexes_for_every_subsystem() -> None:
    declared = idx.load_indexes(INDEXES)
    assert {i.subsystem for i in declared} == SUBSYSTEMS
    assert len({i.name for i in declared}) == len(declared)
    for index in declared:
        assert index.query.upper().startswith(("SELECT", "WITH")), index.name
        assert index.table in index.query, f"{index.name}: the query does not read {index.table}"


def test_the_loader_and_the_role_check_the_same_patterns() -> None:
    role_vars = yaml.safe_load((REPO / "roles/postgresql/vars/main.yml").read_text())
    assert role_vars["__postgresql_index_name_re"] == idx.NAME_RE.pattern
    assert role_vars["__postgresql_index_column_re"] == idx.COLUMN_RE.pattern
    assert tuple(role_vars["__postgresql_index_methods"]) == idx.METHODS


def test_an_entry_is_read_with_defaults() -> None:
    (index,) = parse(entry(where=None))
    assert index.using == "btree"
    assert index.where is None
    assert index.columns == ("assignee_id", "created_at DESC", "id DESC")
    assert index.subsystem == "oa"


def test_the_create_statement_is_what_postgresql_idx_runs() -> None:
    (index,) = parse(entry())
    assert index.create_sql() == (
        'CREATE INDEX CONCURRENTLY "oa_flow_step_inbox_idx" ON "public"."oa_flow_step" '
        "USING BTREE (assignee_id,created_at DESC,id DESC) WHERE status = 'pending'"
    )


def test_a_trigram_index_is_accepted() -> None:
    (index,) = parse(entry(columns=["title gin_trgm_ops"], using="gin", where=None))
    assert index.using == "gin"


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"name": "Bad-Name"}, "indexes[0] (Bad-Name).name", "identifier"),
        ({"table": "x; drop"}, "indexes[0] (oa_flow_step_inbox_idx).table", "identifier"),
        ({"columns": []}, ".columns", "non-empty list"),
        ({"columns": ["id DESCENDING"]}, ".columns", "ASC|DESC"),
        ({"columns": ["lower(title)"]}, ".columns", "column [opclass]"),
        ({"using": "rtree"}, ".using", "btree"),
        ({"where": "status = 'x'; DROP TABLE t"}, ".where", "';'"),
        ({"query": "DELETE FROM oa_flow_step"}, ".query", "read-only"),
        ({"query": "SELECT 1; SELECT 2"}, ".query", "read-only"),
        ({"endpoint": " "}, ".endpoint", "endpoint"),
        ({"include": ["x"]}, "indexes[0]", "unknown key(s) include"),
        ({"query": None}, "indexes[0]", "missing query"),
    ],
)
def test_a_bad_entry_names_the_file_the_index_and_the_field(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse(entry(**overrides))
    assert str(err.value).startswith("oa.yml: indexes[0]")
    assert field in str(err.value)
    assert words in str(err.value)
    assert "platform/sql/indexes/README.md" in str(err.value)


def test_the_subsystem_must_be_the_file_name() -> None:
    with pytest.raises(ConfigError, match=r"oa.yml: subsystem: is 'sharing', not the file's"):
        parse(entry(), subsystem="sharing")


def test_a_file_needs_a_list_of_indexes() -> None:
    with pytest.raises(ConfigError, match="indexes: must be a non-empty list"):
        idx.parse_index_file("oa.yml", {"subsystem": "oa", "indexes": []}, "oa")
    with pytest.raises(ConfigError, match="unknown key"):
        idx.parse_index_file("oa.yml", {"subsystem": "oa", "indexes": [], "extra": 1}, "oa")


def test_a_name_declared_twice_is_refused(tmp_path: Path) -> None:
    for name in ("oa", "sharing"):
        data = {"subsystem": name, "indexes": [entry()]}
        (tmp_path / f"{name}.yml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(ConfigError, match=re.escape("declared again (first in")):
        idx.load_indexes(tmp_path)


def test_a_missing_directory_says_where_to_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        idx.load_indexes(tmp_path / "nope")
    with pytest.raises(ConfigError, match=re.escape("no <subsystem>.yml")):
        idx.load_indexes(tmp_path)


def test_bad_yaml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "oa.yml").write_text("subsystem: [oa\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        idx.load_indexes(tmp_path)


@pytest.mark.parametrize(
    ("column", "ok"),
    [
        ("(search_bigrams(title))", True),
        ("(search_bigrams(title)) array_ops", True),
        ("search_bigrams(title)", False),  # CREATE INDEX needs the expression in parentheses
        ("(lower(title) || x)", False),
        ("(f(g(title)))", False),
        ("(f(title)); DROP TABLE x", False),
    ],
)
def test_a_column_may_be_a_function_of_one_column(column: str, ok: bool) -> None:
    assert bool(idx.COLUMN_RE.match(column)) is ok
