"""The catalog's counts as the docs show them, so prose cannot drift from the catalog.

docs/controls.md carries `counts_table` between markers and README.md names the number of
hardening controls and health checks; tests/unit/test_doc_counts.py holds both to the catalog.
"""

from __future__ import annotations

from collections import Counter

from opsproof.controls.model import Catalog

BEGIN = "<!-- BEGIN counts: generated from controls/catalog.yml (opsproof.controls.counts) -->"
END = "<!-- END counts -->"
SEVERITIES = ("critical", "high", "medium", "low")


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
