"""Platform SQL is well-formed, without a database.

The deploy role applies platform/sql/migrations/NNN_<name>.sql in order with
`psql -v ON_ERROR_STOP=1 -1 -f` as platform_owner and records each version in
schema_migrations itself. So: numbers are 001, 002, ... without gaps or
duplicates; no file touches schema_migrations' rows or controls the
transaction; and the untuned baseline declares primary keys only (no CREATE
INDEX, no UNIQUE/EXCLUDE constraints, which build indexes too).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SQL_DIR = REPO / "platform" / "sql"
MIGRATIONS = SQL_DIR / "migrations"

NAME_RE = re.compile(r"^(\d{3})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$")
FORBIDDEN = {
    "CREATE INDEX (primary keys only in the baseline)": re.compile(
        r"\bCREATE\s+(?:UNIQUE\s+)?INDEX\b", re.I
    ),
    "UNIQUE constraint (builds an index)": re.compile(r"\bUNIQUE\b", re.I),
    "EXCLUDE constraint (builds an index)": re.compile(r"\bEXCLUDE\b", re.I),
    "writes schema_migrations (the role records versions)": re.compile(
        r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE(?:\s+TABLE)?)\s+"
        r"(?:ONLY\s+)?(?:public\.)?\"?schema_migrations\b",
        re.I,
    ),
    "transaction control (the role runs psql -1)": re.compile(
        r"(?:^|;)\s*(?:BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION)\s*(?:;|$)", re.I | re.M
    ),
    "CONCURRENTLY (cannot run inside psql -1)": re.compile(r"\bCONCURRENTLY\b", re.I),
    "psql meta-command": re.compile(r"^\s*\\", re.M),
}


def code_only(sql: str) -> str:
    """SQL with comments removed and string/dollar-quoted bodies emptied.

    Keywords inside comments or literals must not count as statements.
    Block comments nest, as in PostgreSQL.
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif c == "'":
            i += 1
            while i < n:
                if sql[i] == "'" and sql.startswith("''", i):
                    i += 2
                elif sql[i] == "'":
                    i += 1
                    break
                else:
                    i += 1
            out.append("''")
        elif c == "$" and (m := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])):
            tag = m.group(0)
            end = sql.find(tag, i + len(tag))
            i = n if end < 0 else end + len(tag)
            out.append("$$")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def migration_problems(files: dict[str, str]) -> list[str]:
    """Every problem with a set of migration files {file name: text}; [] if none."""
    problems: list[str] = []
    numbers: dict[int, str] = {}
    for name in sorted(files):
        m = NAME_RE.match(name)
        if not m:
            problems.append(f"{name}: name is not NNN_<lower_snake>.sql")
            continue
        num = int(m.group(1))
        if num in numbers:
            problems.append(f"{name}: number {num:03d} also used by {numbers[num]}")
        numbers[num] = name
    if numbers:
        expected = list(range(1, len(numbers) + 1))
        if sorted(numbers) != expected:
            problems.append(
                f"migration numbers must run 001..{len(numbers):03d} without gaps, "
                f"got {', '.join(f'{k:03d}' for k in sorted(numbers))}"
            )
    first = numbers.get(1)
    if first is not None and not re.search(
        r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:public\.)?schema_migrations\b",
        code_only(files[first]),
        re.I,
    ):
        problems.append(f"{first}: migration 001 must create schema_migrations")
    for name, text in sorted(files.items()):
        code = code_only(text)
        if not code.strip():
            problems.append(f"{name}: no SQL statements")
        for what, rx in FORBIDDEN.items():
            if rx.search(code):
                problems.append(f"{name}: {what}")
    return problems


def read_migrations() -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8") for p in sorted(MIGRATIONS.iterdir()) if p.is_file()
    }


# --------------------------------------------------------------- the real tree


def test_migrations_directory_is_well_formed() -> None:
    files = read_migrations()
    assert files, f"no migrations under {MIGRATIONS}"
    assert migration_problems(files) == []


def test_migrations_grant_to_platform_app() -> None:
    code = "\n".join(code_only(t) for t in read_migrations().values())
    assert re.search(
        r"GRANT\s+SELECT,\s*INSERT,\s*UPDATE\s+ON\s+ALL\s+TABLES\s+IN\s+SCHEMA\s+public\s+TO\s+"
        r"platform_app",
        code,
        re.I,
    )
    assert re.search(
        r"GRANT\s+USAGE\s+ON\s+ALL\s+SEQUENCES\s+IN\s+SCHEMA\s+public\s+TO\s+platform_app",
        code,
        re.I,
    )
    assert not re.search(r"\bGRANT\b[^;]*\bDELETE\b", code, re.I), "the app role gets no DELETE"


def test_seed_is_guarded_set_based_vacuumed_and_analyzed() -> None:
    seed = (SQL_DIR / "seed.sql").read_text(encoding="utf-8")
    code = code_only(seed)
    assert "generate_series" in code
    assert not FORBIDDEN["CREATE INDEX (primary keys only in the baseline)"].search(code)
    assert not FORBIDDEN["writes schema_migrations (the role records versions)"].search(code)
    # The guard raises when a table already holds rows; its message is a literal.
    assert re.search(r"RAISE\s+EXCEPTION\s+'seed: refusing to run", seed)
    assert re.search(r"\bscale\b", code)
    statements = [s.strip() for s in code.split(";") if s.strip()]
    assert re.match(r"VACUUM\s*\(ANALYZE\)", statements[-1], re.I), "seed must end with VACUUM"
    assert not re.search(r"\brandom\s*\(", code), "seed must be deterministic (hash, not random())"


# ------------------------------------------------------ the checker can fail


GOOD_001 = "CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz);\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"001_a.sql": GOOD_001, "003_c.sql": "SELECT 1;"}, "without gaps"),
        ({"001_a.sql": GOOD_001, "001_b.sql": "SELECT 1;"}, "also used by"),
        ({"001_a.sql": GOOD_001, "2_b.sql": "SELECT 1;"}, "name is not"),
        ({"001_a.sql": GOOD_001, "002_B.sql": "SELECT 1;"}, "name is not"),
        ({"001_a.sql": "CREATE TABLE t (i int PRIMARY KEY);"}, "must create schema_migrations"),
        ({"001_a.sql": GOOD_001 + "CREATE INDEX t_i ON t (i);"}, "CREATE INDEX"),
        ({"001_a.sql": GOOD_001 + "create unique index t_i on t (i);"}, "CREATE INDEX"),
        ({"001_a.sql": GOOD_001 + "CREATE TABLE t (i int UNIQUE);"}, "UNIQUE constraint"),
        (
            {"001_a.sql": GOOD_001 + "INSERT INTO schema_migrations (version) VALUES ('001');"},
            "writes schema_migrations",
        ),
        (
            {"001_a.sql": GOOD_001 + "insert into public.schema_migrations values ('1');"},
            "writes schema_migrations",
        ),
        ({"001_a.sql": "BEGIN;\n" + GOOD_001 + "COMMIT;\n"}, "transaction control"),
        ({"001_a.sql": GOOD_001 + "CREATE INDEX CONCURRENTLY x ON t (i);"}, "CONCURRENTLY"),
        ({"001_a.sql": GOOD_001 + "\\set x 1\n"}, "meta-command"),
        ({"001_a.sql": GOOD_001, "002_b.sql": "-- only a comment\n"}, "no SQL statements"),
    ],
)
def test_checker_reports_bad_migrations(files: dict[str, str], expected: str) -> None:
    problems = migration_problems(files)
    assert any(expected in p for p in problems), problems


def test_checker_ignores_comments_and_literals() -> None:
    files = {
        "001_a.sql": "-- we never CREATE INDEX here\n/* nor a UNIQUE /* nested */ one */\n"
        + GOOD_001
        + "COMMENT ON TABLE schema_migrations IS 'no INSERT INTO schema_migrations; BEGIN;';\n"
        + "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$ SELECT 1 /* UNIQUE */ $f$;\n",
        "002_b.sql": "CREATE TABLE t (i int PRIMARY KEY, s text DEFAULT 'it''s UNIQUE');\n",
    }
    assert migration_problems(files) == []


def test_code_only_strips_comments_and_strings() -> None:
    assert code_only("SELECT 'a -- b' -- c\n, 1") == "SELECT '' \n, 1"
    assert code_only("/* a /* b */ c */x") == " x"
    assert code_only("SELECT $t$ ; $t$, 2") == "SELECT $$, 2"
