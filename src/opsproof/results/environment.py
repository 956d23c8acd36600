"""Run metadata from the environment: who ran, which tools, which commit, on what machine."""

from __future__ import annotations

import datetime as dt
import getpass
import importlib.metadata
import os
import platform
import socket
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import cast

from opsproof import toolchain
from opsproof.results.model import JSONValue, RunKind, RunMeta, utc_now

# Tool name in the results file -> distribution name in importlib.metadata.
TOOL_DISTRIBUTIONS: Mapping[str, str] = {
    "ansible-core": "ansible-core",
    "testinfra": "pytest-testinfra",
    "pytest": "pytest",
    "locust": "locust",
    "jsonschema": "jsonschema",
    "opsproof": "opsproof",
}


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout


def git_state(cwd: Path | None = None) -> tuple[str | None, bool]:
    """(HEAD commit, tracked files modified) of the git tree at cwd; (None, False) outside one."""
    where = cwd or Path.cwd()
    head = _git(["rev-parse", "HEAD"], where)
    if head is None:
        return None, False
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    return head.strip(), bool(status and status.strip())


def current_operator() -> str:
    """Who ran it: OPSPROOF_OPERATOR, else the user behind sudo, else the login name."""
    for var in ("OPSPROOF_OPERATOR", "SUDO_USER", "USER"):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def tool_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Versions of the installed tools we know (and `extra` distributions), plus python."""
    names = dict(TOOL_DISTRIBUTIONS)
    names.update({name: name for name in extra})
    versions = {"python": platform.python_version()}
    for tool, dist in names.items():
        try:
            versions[tool] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    versions.update(toolchain.installed_versions())
    return dict(sorted(versions.items()))


def machine_conditions() -> dict[str, JSONValue]:
    """Facts about the machine the tool ran on; goes to run.conditions['machine']."""
    return {
        "hostname": socket.gethostname(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def run_meta_from_environment(
    kind: RunKind,
    *,
    inventory: str | None = None,
    hosts: Iterable[str] = (),
    role_versions: Mapping[str, str] | None = None,
    conditions: Mapping[str, JSONValue] | None = None,
    extra_tools: Iterable[str] = (),
    repo: Path | None = None,
    started_at: dt.datetime | None = None,
    run_id: str | None = None,
    operator: str | None = None,
) -> RunMeta:
    """RunMeta for a run starting now; call `.finished()` on it when the run ends.

    conditions gets a 'machine' entry (hostname, cpus, platform) unless given one.
    """
    started = started_at or utc_now()
    commit, dirty = git_state(repo)
    merged: dict[str, JSONValue] = {"machine": cast(JSONValue, machine_conditions())}
    merged.update(conditions or {})
    return RunMeta(
        id=run_id or f"{kind}-{started.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        kind=kind,
        started_at=started,
        finished_at=started,
        operator=operator or current_operator(),
        inventory=inventory,
        hosts=tuple(hosts),
        tool_versions=tool_versions(extra_tools),
        role_versions=dict(role_versions or {}),
        git_commit=commit,
        git_dirty=dirty,
        conditions=merged,
    )
