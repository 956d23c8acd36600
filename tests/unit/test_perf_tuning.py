"""perf-compare's split (issue 17, item 6): pure statistics in opsproof.perf.comparison, one
entry point for profile switches (opsproof.perf.tuning.switch) that make tune calls too."""

from __future__ import annotations

import ast
import fcntl
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opsproof.errors import ConfigError, PreconditionError
from opsproof.perf import comparison, tuning

REPO = Path(__file__).resolve().parents[2]


def test_the_statistics_module_is_pure() -> None:
    tree = ast.parse(Path(comparison.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name if isinstance(node, ast.Import) else f"{node.module}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {
        "__future__",
        "collections",
        "collections.abc",
        "typing",
        "opsproof.perf",
        "opsproof.results",
    }, imported


def test_the_playbook_command_switches_only_the_tuning_tag() -> None:
    argv = tuning.playbook_argv("optimised", "inventories/lab", limit="app", extra=["--check"])
    assert Path(argv[0]).name == "ansible-playbook"
    assert argv[1:] == [
        "-i",
        "inventories/lab",
        "--limit",
        "app",
        "--tags",
        "tuning",
        "-e",
        "opsproof_tuning_profile=optimised",
        "--check",
        str(REPO / "playbooks" / "tune.yml"),
    ]
    with pytest.raises(ConfigError, match="is not a profile"):
        tuning.playbook_argv("fastest", "inventories/lab")


def test_the_lab_inventory_names_a_profile() -> None:
    assert tuning.inventory_profile(str(REPO / "inventories/lab")) in tuning.PROFILES


class FakeRun:
    """subprocess.run stand-in: records the call and whether the change lock was held."""

    def __init__(self, lock: Path, rc: int = 0) -> None:
        self.lock, self.rc = lock, rc
        self.calls: list[dict[str, Any]] = []

    def held(self) -> bool:
        with self.lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append({"argv": argv, "held": self.held(), **kwargs})
        out = kwargs["stdout"]
        out.write("PLAY RECAP\nfailed\n" if self.rc else "PLAY RECAP\n")
        return subprocess.CompletedProcess(argv, self.rc)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeRun:
    lock = tmp_path / "change.lock"
    monkeypatch.setattr(tuning.locks, "change_lock_path", lambda: lock)
    run = FakeRun(lock)
    monkeypatch.setattr(tuning.subprocess, "run", run)
    return run


def test_switch_runs_under_the_change_lock(fake: FakeRun, tmp_path: Path) -> None:
    log = tmp_path / "tune.log"
    tuning.switch("baseline", "inventories/lab", log=log)
    (call,) = fake.calls
    assert call["held"] is True
    assert call["cwd"] == tuning.REPO
    assert call["env"]["ANSIBLE_CONFIG"] == str(REPO / "ansible.cfg")
    assert log.read_text(encoding="utf-8").startswith("$ ")
    assert "opsproof_tuning_profile=baseline" in log.read_text(encoding="utf-8")


def test_a_caller_holding_the_lock_is_not_blocked(fake: FakeRun, tmp_path: Path) -> None:
    with tuning.change_lock(timeout_s=1):
        tuning.switch("optimised", "inventories/lab", log=tmp_path / "t.log", locked=True)
    assert [c["held"] for c in fake.calls] == [True]  # held by the caller, not re-taken


def test_a_failed_switch_names_the_profile_and_the_log(fake: FakeRun, tmp_path: Path) -> None:
    fake.rc = 2
    log = tmp_path / "t.log"
    with pytest.raises(PreconditionError, match="profile optimised failed") as err:
        tuning.switch("optimised", "inventories/lab", log=log)
    assert str(log) in err.value.fix


def test_make_tune_calls_the_one_entry_point() -> None:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")}
    run = subprocess.run(
        ["make", "-n", "tune", "PROFILE=optimised", "ARGS=-e x=1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    commands = [line for line in run.stdout.splitlines() if "tune" in line]
    assert any("opsproof tune --profile 'optimised'" in line for line in commands), commands
    assert not any("ansible-playbook" in line for line in commands), commands
