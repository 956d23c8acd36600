"""Central logs (issue 14 item 8): which hosts the logging controls reach, the store's
upkeep plan (retention, size cap, free-space floor) and the freshness check's verdicts."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from opsproof.controls.catalog import load_catalog
from opsproof.inspection import collect, health
from opsproof.ssh_targets import SshTarget

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(REPO / "controls/catalog.yml")
TODAY = dt.date(2026, 12, 4)
MB = 1024 * 1024


def vacuum_module() -> ModuleType:
    """roles/log_server/files/log-store-vacuum.py, the script the store's timer runs."""
    path = REPO / "roles/log_server/files/log-store-vacuum.py"
    spec = importlib.util.spec_from_file_location("log_store_vacuum", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VACUUM = vacuum_module()


def target(*groups: str) -> SshTarget:
    return SshTarget("h", "10.0.0.1", "opsadmin", 22, None, (), tuple(groups))


@pytest.mark.parametrize(
    ("pattern", "groups", "inside"),
    [
        ("all:!ops", ("lab", "db"), True),
        ("all:!ops", ("lab", "ops"), False),
        ("ops", ("lab", "ops"), True),
        ("ops", ("lab", "db"), False),
        ("web:app", ("app",), True),
        ("web:app:!app", ("app",), False),
    ],
)
def test_group_patterns(pattern: str, groups: tuple[str, ...], inside: bool) -> None:
    assert collect.in_pattern(pattern, groups) is inside


def test_forwarding_controls_reach_every_host_but_the_store() -> None:
    fwd = next(c for c in CATALOG.controls if c.id == "LOG-FWD-001")
    store = next(c for c in CATALOG.controls if c.id == "HLT-LOG-001")
    assert collect.applies_to(fwd, target("lab", "db"))
    assert not collect.applies_to(fwd, target("lab", "ops"))
    assert collect.applies_to(store, target("lab", "ops"))
    assert not collect.applies_to(store, target("lab", "web"))


def day(source: str, days_ago: int, size_mb: float, gz: bool = True) -> Any:
    d = TODAY - dt.timedelta(days=days_ago)
    name = f"/s/{source}/{d.isoformat()}.log" + (".gz" if gz else "")
    return VACUUM.DayFile(name, d, int(size_mb * MB), gz)


def plan(files: list[Any], **kw: int) -> list[tuple[str, str]]:
    args = {"retention_days": 180, "max_use": 100 * MB, "free": 1000 * MB, "keep_free": 10 * MB}
    args.update(kw)
    return [(f.path, why) for f, why in VACUUM.plan(files, TODAY, **args)]


def test_days_beyond_the_retention_go_and_nothing_else_under_the_cap() -> None:
    files = [day("db01", 181, 1), day("db01", 180, 1), day("web01", 10, 1)]
    files.append(day("db01", 0, 1, gz=False))
    assert plan(files) == [(files[0].path, "retention")]


def test_over_the_cap_the_oldest_days_go_first_until_under_it() -> None:
    files = [day("db01", 3, 40), day("web01", 5, 40), day("db01", 1, 40)]
    files.append(day("db01", 0, 40, gz=False))
    # 160 MB against a 100 MB cap: the two oldest days (5, then 3 days ago) go.
    assert plan(files) == [(files[1].path, "cap"), (files[0].path, "cap")]


def test_the_free_space_floor_also_deletes_and_today_is_never_deleted() -> None:
    files = [day("db01", 2, 5), day("db01", 0, 50, gz=False)]
    # Well under the cap, but the volume has 1 MB free of the 10 MB floor: the old day goes,
    # today's file stays even though the floor is still not reached.
    assert plan(files, free=1 * MB) == [(files[0].path, "cap")]


def test_upkeep_runs_on_a_store(tmp_path: Path) -> None:
    store = tmp_path / "logs"
    (store / "db01").mkdir(parents=True)
    old = store / "db01" / f"{(dt.date.today() - dt.timedelta(days=200)).isoformat()}.log"
    done = store / "db01" / f"{(dt.date.today() - dt.timedelta(days=1)).isoformat()}.log"
    now = store / "db01" / f"{dt.date.today().isoformat()}.log"
    for f in (old, done, now):
        f.write_text("2026-12-04T10:00:00+08:00 db01 x: line\n" * 100)
    conf = tmp_path / "log-store.json"
    settings = {"dir": str(store), "retention_days": 180, "max_use_mb": 100, "keep_free_mb": 0}
    conf.write_text(json.dumps(settings))
    script = REPO / "roles/log_server/files/log-store-vacuum.py"
    run = subprocess.run(["python3", str(script), str(conf)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    names = sorted(p.name for p in (store / "db01").iterdir())
    assert names == [done.name + ".gz", now.name]
    assert "retention" in run.stdout


def _freshness() -> health.Threshold:
    rule = next(c for c in CATALOG.controls if c.id == "HLT-LOG-001").check.pass_
    return health.Threshold.from_rule(rule["threshold"])


def test_freshness_thresholds_from_the_catalog() -> None:
    t = _freshness()
    assert health.assess(t, health.parse("web01 2.0\ndb01 4.5"))[0] == "pass"
    assert health.assess(t, health.parse("web01 2.0\ndb01 11"))[0] == "warn"
    assert health.assess(t, health.parse("web01 16\ndb01 1"))[0] == "fail"


def test_role_defaults_keep_six_months() -> None:
    defaults = yaml.safe_load((REPO / "roles/log_server/defaults/main.yml").read_text())
    assert defaults["log_server_retention_days"] >= 180
    assert defaults["log_server_max_use_mb"] > 0
