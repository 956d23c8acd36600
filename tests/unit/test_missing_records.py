"""A missing record is a finding in words (issue 13 §3): the catalog's own check commands run
here, against a temporary directory standing in for the host's path, and their output goes
through the inspection's verdict. Never a traceback as what was found, never a sentinel number."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from opsproof.controls.catalog import load_catalog
from opsproof.inspection import evaluate, health
from opsproof.inspection.collect import Observation

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(REPO / "controls/catalog.yml")
DRILL = "/var/lib/platform/restore-drill.json"
BACKUPS = "/srv/data/backup"


def run_check(cid: str, paths: dict[str, str]) -> Observation:
    """The control's catalogued command, with host paths replaced by local ones, run as the
    inspection runs it (sh -c, C locale)."""
    cmd = CATALOG.get(cid).check.cmd
    assert cmd is not None
    for host_path, local in paths.items():
        assert host_path in cmd, f"{cid} no longer reads {host_path}"
        cmd = cmd.replace(host_path, local)
    env = dict(os.environ, LC_ALL="C", LANG="C")
    p = subprocess.run(
        ["sh", "-c", cmd], capture_output=True, text=True, timeout=20, env=env, check=False
    )
    return Observation(p.returncode, p.stdout, p.stderr, 0.0)


def verdict(cid: str, paths: dict[str, str]) -> tuple[str, str]:
    status, actual = evaluate.verdict(CATALOG.get(cid), run_check(cid, paths))
    return status, str(actual)


def drill(tmp_path: Path, content: str | None) -> dict[str, str]:
    path = tmp_path / "restore-drill.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    return {DRILL: str(path)}


def recent_drill(days_ago: float = 1) -> str:
    finished = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    tables = [{"name": "t1", "ok": True}, {"name": "t2", "ok": True}]
    return json.dumps({"status": "pass", "finished": finished.isoformat(), "tables": tables})


def assert_words(actual: str) -> None:
    assert "Traceback" not in actual, actual
    assert "Error:" not in actual.split("(")[0], actual  # not an exception's name first
    assert not re.search(r"\b9{4,}\b", actual), actual


# --- health.finding and the verdict -------------------------------------------------------


def test_finding_lines_are_read_as_fail_or_warn_with_their_words() -> None:
    assert health.finding("FAIL: no backup on record\n") == ("fail", "no backup on record")
    assert health.finding("WARN: first drill not yet due") == ("warn", "first drill not yet due")
    assert health.finding("/srv/data 35") is None
    assert health.finding("N/A: no GC log") is None


def test_a_finding_line_is_a_finding_for_a_health_control_only() -> None:
    bak = CATALOG.get("HLT-BAK-001")
    out = Observation(0, "FAIL: no backup on record (no *.dump in /srv/data/backup)\n", "", 0)
    assert evaluate.verdict(bak, out) == (
        "fail",
        "no backup on record (no *.dump in /srv/data/backup)",
    )
    warn = Observation(0, "WARN: younger than the backup interval\n", "", 0)
    assert evaluate.verdict(bak, warn) == ("warn", "younger than the backup interval")
    hardening = CATALOG.get("PG-BAK-003")
    assert evaluate.verdict(hardening, Observation(0, "FAIL: whatever", "", 0))[0] == "fail"
    assert evaluate.verdict(hardening, Observation(0, "WARN: whatever", "", 0))[0] == "fail"


def test_a_traceback_on_stderr_is_reduced_to_the_exception() -> None:
    err = (
        "Traceback (most recent call last):\n"
        '  File "<string>", line 2, in <module>\n'
        "FileNotFoundError: [Errno 2] No such file or directory: '/x/restore-drill.json'\n"
    )
    status, actual = evaluate.verdict(CATALOG.get("PG-BAK-003"), Observation(1, "", err, 0))
    assert status == "error"
    assert "Traceback" not in str(actual)
    assert str(actual).endswith(
        "raised FileNotFoundError: [Errno 2] No such file or directory: '/x/restore-drill.json'"
    )


# --- the restore drill record (PG-BAK-003, HLT-BAK-002) ------------------------------------


@pytest.mark.parametrize("cid", ["PG-BAK-003", "HLT-BAK-002"])
def test_no_drill_on_record_fails_in_words(tmp_path: Path, cid: str) -> None:
    paths = drill(tmp_path, None)
    status, actual = verdict(cid, paths)
    assert status == "fail"
    assert actual == f"no restore drill on record ({paths[DRILL]} missing)"
    assert_words(actual)


@pytest.mark.parametrize("cid", ["PG-BAK-003", "HLT-BAK-002"])
@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "JSONDecodeError"),
        ('{"status": "pass"}', "KeyError: 'finished'"),
        ('{"status": "pass", "finished": "yesterday"}', "ValueError"),
        ('{"status": "pass", "finished": "2026-11-01T00:00:00"}', "TypeError"),  # no zone
        ("[]", "TypeError"),
    ],
)
def test_an_unreadable_drill_record_fails_in_words(
    tmp_path: Path, cid: str, content: str, why: str
) -> None:
    status, actual = verdict(cid, drill(tmp_path, content))
    assert status == "fail"
    assert actual.startswith("restore drill record unreadable ("), actual
    assert why in actual
    assert "Traceback" not in actual


def test_a_recent_passing_drill_passes(tmp_path: Path) -> None:
    assert verdict("PG-BAK-003", drill(tmp_path, recent_drill())) == (
        "pass",
        "status=pass finished_within_8d=yes",
    )
    status, actual = verdict("HLT-BAK-002", drill(tmp_path, recent_drill()))
    assert status == "pass"
    assert actual.startswith("drill(pass, 2/2 tables)=1")


def test_an_old_drill_is_measured_not_replaced(tmp_path: Path) -> None:
    assert verdict("PG-BAK-003", drill(tmp_path, recent_drill(9)))[1].endswith(
        "finished_within_8d=no"
    )
    status, actual = verdict("HLT-BAK-002", drill(tmp_path, recent_drill(30)))
    assert status == "warn"
    assert "=30 days [warn]" in actual


# --- the backups (PG-BAK-001, HLT-BAK-001) ---------------------------------------------------


def test_no_backup_on_record_fails_in_words(tmp_path: Path) -> None:
    empty = tmp_path / "backup"
    empty.mkdir()
    status, actual = verdict("HLT-BAK-001", {BACKUPS: str(empty)})
    assert status == "fail"
    assert actual == f"no backup on record (no *.dump in {empty})"
    status, actual = verdict("PG-BAK-001", {BACKUPS: str(empty)})
    assert status == "fail"
    assert actual.endswith(f"newest_dump_within_26h=no (no backup on record: no *.dump in {empty})")
    assert_words(actual)
    # A backup directory that does not exist at all reads the same.
    assert verdict("HLT-BAK-001", {BACKUPS: str(tmp_path / "absent")})[0] == "fail"


def test_a_fresh_dump_is_measured(tmp_path: Path) -> None:
    (tmp_path / "platform-20261127.dump").write_bytes(b"x")
    status, actual = verdict("HLT-BAK-001", {BACKUPS: str(tmp_path)})
    assert status == "pass"
    assert actual == "platform-20261127.dump=0 h"
    assert verdict("PG-BAK-001", {BACKUPS: str(tmp_path)})[1].endswith("newest_dump_within_26h=yes")
    old = tmp_path / "platform-20261120.dump"
    old.write_bytes(b"x")
    week = dt.datetime.now().timestamp() - 7 * 86400
    os.utime(old, (week, week))
    os.utime(tmp_path / "platform-20261127.dump", (week, week))
    status, actual = verdict("HLT-BAK-001", {BACKUPS: str(tmp_path)})
    assert status == "fail"
    assert "=168 h [fail]" in actual


# --- other records a fresh host may lack ------------------------------------------------------


def test_no_package_lists_is_a_finding_in_words(tmp_path: Path) -> None:
    status, actual = verdict("HLT-APT-001", {"/var/lib/apt/lists": str(tmp_path)})
    assert status == "fail"
    assert actual.startswith("no package lists on this host")
    assert_words(actual)


def test_no_request_in_the_access_log_is_not_a_zero_rate(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("", encoding="utf-8")
    status, actual = verdict("HLT-NGX-001", {"/var/log/nginx/platform-access.log": str(log)})
    assert status == "not-applicable"
    assert actual == "not measurable here: no request in the last 24 hours of the access log"
    now = dt.datetime.now().timestamp()
    lines = [f'{{"msec":{now:.3f},"status":{s}}}' for s in (200, 200, 503, 200)]
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, actual = verdict("HLT-NGX-001", {"/var/log/nginx/platform-access.log": str(log)})
    assert status == "fail"
    assert actual == "last-24h(4 requests, 1 5xx)=25 % [fail]"


# --- no sentinel anywhere ----------------------------------------------------------------------


def test_no_check_command_prints_a_sentinel_number() -> None:
    """A stand-in such as `99999` for 'missing' reads as a measurement; say it in words."""
    sentinel = re.compile(r"(?<![\w./-])(9{4,}|-1)(?![\w.])")
    offenders = [
        c.id
        for c in CATALOG.controls
        if c.check.cmd
        and any(
            sentinel.search(line)
            for line in c.check.cmd.splitlines()
            if re.search(r"\b(echo|print|printf)\b", line)
        )
    ]
    assert offenders == []
