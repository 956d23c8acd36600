"""Counts in README.md and docs/controls.md come from the controls catalog."""

from __future__ import annotations

import re
from pathlib import Path

from opsproof.controls.catalog import load_catalog
from opsproof.controls.counts import BEGIN, END, counts_table, hardening_count, health_count

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(REPO / "controls" / "catalog.yml")


def test_controls_doc_counts_table_is_the_catalogs() -> None:
    text = (REPO / "docs" / "controls.md").read_text(encoding="utf-8")
    shown = BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert shown == counts_table(CATALOG), "regenerate with opsproof.controls.counts.counts_table"


def test_readme_names_the_catalogs_counts() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    controls = re.findall(r"`controls/catalog\.yml`, (\d+) controls", text)
    health = re.findall(r"(\d+) operational health checks", text)
    assert controls == [str(hardening_count(CATALOG))]
    assert health == [str(health_count(CATALOG))]


def test_counts_table_follows_the_catalog() -> None:
    fewer = type(CATALOG)(**{**CATALOG.__dict__, "controls": CATALOG.controls[1:]})
    assert counts_table(fewer) != counts_table(CATALOG)
    assert f"{len(CATALOG.controls) - 1} controls:" in counts_table(fewer)
