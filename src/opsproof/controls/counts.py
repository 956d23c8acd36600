"""The catalog's counts as the docs show them, so prose cannot drift from the catalog.

docs/controls.md carries `counts_table` and `host_checks` (what the inspection runs on the lab
hosts) between markers and README.md names the number of hardening controls and health checks;
tests/unit/test_doc_counts.py holds them to the catalog, site.yml's placement and the inventory.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opsproof.controls.model import Catalog

if TYPE_CHECKING:
    from opsproof.ssh_targets import SshTarget

BEGIN = "<!-- BEGIN counts: generated from controls/catalog.yml (opsproof.controls.counts) -->"
END = "<!-- END counts -->"
HOSTS_BEGIN = (
    "<!-- BEGIN host checks: generated from controls/catalog.yml, playbooks/site.yml and "
    "inventories/lab (opsproof.controls.counts) -->"
)
HOSTS_END = "<!-- END host checks -->"
SEVERITIES = ("critical", "high", "medium", "low")
_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def hardening_count(catalog: Catalog) -> int:
    return sum(1 for c in catalog.controls if c.layer != "health")


def health_count(catalog: Catalog) -> int:
    return sum(1 for c in catalog.controls if c.layer == "health")


def counts_table(catalog: Catalog) -> str:
    """The counts section of docs/controls.md: a sentence, then per layer and severity."""
    total = len(catalog.controls)
    lines = [
        BEGIN,
        f"{total} controls: {hardening_count(catalog)} hardening controls and "
        f"{health_count(catalog)} health checks, catalog version {catalog.version}.",
        "",
        "| layer | " + " | ".join(SEVERITIES) + " | total | not in lab |",
        "|---|" + "---:|" * (len(SEVERITIES) + 2),
    ]
    layers = list(dict.fromkeys(c.layer for c in catalog.controls))
    sums: Counter[str] = Counter()
    for layer in layers:
        rows = [c for c in catalog.controls if c.layer == layer]
        cells: Counter[str] = Counter(str(c.severity) for c in rows)
        cells["total"] = len(rows)
        cells["not in lab"] = sum(1 for c in rows if not c.lab.applies)
        sums.update(cells)
        keys = (*SEVERITIES, "total", "not in lab")
        lines.append(f"| {layer} | " + " | ".join(str(cells[k]) for k in keys) + " |")
    keys = (*SEVERITIES, "total", "not in lab")
    lines.append("| **total** | " + " | ".join(f"**{sums[k]}**" for k in keys) + " |")
    lines.append(END)
    return "\n".join(lines)


def host_checks(catalog: Catalog, targets: Sequence[SshTarget]) -> str:
    """The paragraph of docs/controls.md that counts the checks the inspection runs on these
    hosts: one per control and host it applies to (opsproof.inspection.collect.applies_to)."""
    from opsproof.inspection.collect import applies_to

    def applying(health: bool, target: SshTarget) -> int:
        return sum(
            1 for c in catalog.controls if (c.layer == "health") == health and applies_to(c, target)
        )

    hardening = {t.name: applying(False, t) for t in targets}
    health = {t.name: applying(True, t) for t in targets}
    everywhere = sum(
        1
        for c in catalog.controls
        if c.layer == "health" and all(applies_to(c, t) for t in targets)
    )
    n = len(targets)
    hosts = _WORDS[n] if n < len(_WORDS) else str(n)
    text = (
        f"On the {hosts} lab hosts that is {sum(hardening.values()) + sum(health.values())} "
        f"checks: {sum(hardening.values())} hardening checks (one per control and host it "
        "applies to; "
        + ", ".join(f"{name} {count}" for name, count in hardening.items())
        + f") and {sum(health.values())} health checks ({everywhere} on every host, "
        + ", ".join(f"{count - everywhere} on {name}" for name, count in health.items())
        + ")."
    )
    return "\n".join((HOSTS_BEGIN, textwrap.fill(text, width=96), HOSTS_END))
