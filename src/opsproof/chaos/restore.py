"""The safety net: after every experiment, whatever happened to Chaos Toolkit's rollbacks
(a crash, a second Ctrl-C, a timeout), put every host back and say what had to be fixed.

Idempotent; on a clean host it changes nothing and returns an empty list.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from opsproof import hosts
from opsproof.chaos import context
from opsproof.chaos.faults_network import TABLE
from opsproof.chaos.faults_resources import CPU_UNIT, FILL_NAME

# Group -> the services that must be active on its hosts.
UNITS: Mapping[str, tuple[str, ...]] = {
    "web": ("nginx",),
    "app": ("tomcat10",),
    "db": ("postgresql@15-main",),
}
FILL_DIRS = ("/srv/data",)

SCRIPT = """
fixed=""
if nft list table inet {table} >/dev/null 2>&1; then
  nft delete table inet {table}; fixed="$fixed nft-table"
fi
if systemctl is-active --quiet {cpu}; then systemctl stop {cpu}; fixed="$fixed {cpu}"; fi
systemctl reset-failed {cpu} 2>/dev/null || true
for d in {dirs}; do
  if [ -e "$d/{fill}" ]; then rm -f "$d/{fill}"; fixed="$fixed fill-file"; fi
done
for u in {units}; do
  case "$(systemctl is-active "$u")" in
    active|activating|reloading) ;;  # up, or being (re)started by its manager
    *) systemctl reset-failed "$u" 2>/dev/null || true; systemctl start "$u"; fixed="$fixed $u" ;;
  esac
done
echo "fixed:$fixed"
"""


def restore_host(name: str, units: tuple[str, ...]) -> list[str]:
    script = SCRIPT.format(
        table=TABLE,
        cpu=CPU_UNIT,
        fill=FILL_NAME,
        dirs=" ".join(shlex.quote(d) for d in FILL_DIRS),
        units=" ".join(shlex.quote(u) for u in units),
    )
    done = context.sudo(name, script, timeout=180)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("fixed:")), "fixed:")
    return [f"{name}:{item}" for item in line[len("fixed:") :].split()]


def restore_all() -> list[str]:
    """Restore every inventory host of the web, app and db groups; what had to be fixed."""
    fixed: list[str] = []
    targets = hosts.resolve(context.inventory_path())
    for target in targets:
        units = tuple(u for g in target.groups for u in UNITS.get(g, ()))
        if set(target.groups) & set(UNITS):
            context.sudo(target.name, "true")  # refusal rules apply here too
            fixed += restore_host(target.name, units)
    return fixed
