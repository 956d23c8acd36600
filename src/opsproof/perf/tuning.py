"""Switching the lab's tuning profile: the one entry point (`make tune`, perf-compare).

`switch(profile)` runs `ansible-playbook playbooks/tune.yml --tags tuning -e
opsproof_tuning_profile=<profile>` under the machine-wide change lock (opsproof.locks), so
a provisioning run or another switch waits for it. A caller that already holds the lock
(perf-compare holds it for the whole comparison) passes `locked=True`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from opsproof import locks
from opsproof.ansible_inventory import AnsibleInventory
from opsproof.cli import add_inventory_option
from opsproof.endpoints import DEFAULT_INVENTORY
from opsproof.errors import ConfigError, PreconditionError

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "tune.yml"
PROFILES = ("baseline", "optimised")
PROFILE_VAR = "opsproof_tuning_profile"
TIMEOUT_S = 1800


def inventory_profile(inventory: str) -> str:
    """The profile the inventory itself sets (opsproof_tuning_profile; default baseline)."""
    loaded = AnsibleInventory(inventory, fix="pass INVENTORY=<dir>")
    found = {
        str(loaded.render(name, [PROFILE_VAR], defaults={PROFILE_VAR: "baseline"})[PROFILE_VAR])
        for name in loaded.names()
    }
    if len(found) > 1:
        raise ConfigError(
            f"{inventory}: hosts disagree on opsproof_tuning_profile ({', '.join(sorted(found))})",
            fix="set opsproof_tuning_profile once, in group_vars/all",
        )
    profile = found.pop() if found else "baseline"
    if profile not in PROFILES:
        raise ConfigError(
            f"{inventory}: opsproof_tuning_profile={profile!r} is not a profile",
            fix=f"use {' or '.join(PROFILES)}",
        )
    return profile


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ConfigError(
            f"PROFILE={profile!r} is not a profile",
            fix="use PROFILE=baseline or PROFILE=optimised",
        )


def playbook_argv(
    profile: str, inventory: str, *, limit: str | None = None, extra: Sequence[str] = ()
) -> list[str]:
    """The ansible-playbook command line that switches to `profile` (only what it changes)."""
    check_profile(profile)
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", inventory]
    argv += ["--limit", limit] if limit else []
    argv += ["--tags", "tuning", "-e", f"{PROFILE_VAR}={profile}", *extra, str(PLAYBOOK)]
    return argv


def ansible_env() -> dict[str, str]:
    """The environment the Makefile gives Ansible: the repository's ansible.cfg, this venv."""
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env.setdefault("ANSIBLE_FORCE_COLOR", "false")
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    return env


@contextmanager
def change_lock(timeout_s: float = TIMEOUT_S, *, who: str = "tune") -> Iterator[None]:
    """Hold the lab's change lock: provisioning and other switches wait meanwhile."""
    path = locks.change_lock_path()
    with locks.held(
        path,
        timeout_s=timeout_s,
        poll_s=2,
        on_wait=lambda: say(who, f"waiting for {path} (another provisioning or tuning run)"),
        timed_out=lambda: PreconditionError(
            f"another run held {path} for {timeout_s:.0f} s",
            fix="wait for the running make provision / make tune, then retry",
        ),
    ):
        yield


def switch(
    profile: str,
    inventory: str = DEFAULT_INVENTORY,
    *,
    log: Path | None = None,
    limit: str | None = None,
    extra: Sequence[str] = (),
    locked: bool = False,
) -> float:
    """Switch the hosts to `profile`; returns the wall time in s. Output goes to `log`
    (default: this process's stdout). Raises naming the failure (and the log's tail)."""
    argv = playbook_argv(profile, inventory, limit=limit, extra=extra)
    if locked:
        return _run(argv, profile, log)
    with change_lock():
        return _run(argv, profile, log)


def _run(argv: list[str], profile: str, log: Path | None) -> float:
    start = time.monotonic()
    with _output(log) as out:
        if log is not None:
            out.write(f"$ {shlex.join(argv)}\n")
            out.flush()
        try:
            proc = subprocess.run(
                argv,
                cwd=REPO,
                env=ansible_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PreconditionError(
                f"switching to profile {profile} did not finish in {TIMEOUT_S // 60} min",
                fix=f"see {log or 'the output above'}",
            ) from None
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-800:] if log else ""
        raise PreconditionError(
            f"switching to profile {profile} failed (ansible-playbook exited "
            f"{proc.returncode}){': ' + tail.strip() if tail else ''}",
            fix=f"see {log or 'the play recap above'}",
        )
    return round(time.monotonic() - start, 1)


@contextmanager
def _output(log: Path | None) -> Iterator[IO[str]]:
    if log is None:
        sys.stdout.flush()
        yield sys.stdout
        return
    with log.open("w", encoding="utf-8") as handle:
        yield handle


def say(who: str, message: str) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {who}: {message}", file=sys.stderr, flush=True)


def cmd_tune(args: argparse.Namespace) -> int:
    seconds = switch(args.profile, args.inventory, limit=args.limit, extra=args.ansible_args)
    say("tune", f"the hosts run the {args.profile} profile ({seconds:.0f} s)")
    return 0


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = groups.add_parser(
        "tune", help="switch the tuning profile (only what it changes), under the change lock"
    )
    cmd.add_argument("--profile", required=True, help=" or ".join(PROFILES))
    add_inventory_option(cmd)
    cmd.add_argument("--limit", help="an Ansible host pattern")
    cmd.add_argument("ansible_args", nargs="*", help="after --: more ansible-playbook options")
    cmd.set_defaults(func=cmd_tune)
