"""Counts in README.md and docs/controls.md come from the controls catalog (and, for the checks
on the lab hosts, from site.yml's placement and the lab inventory)."""

from __future__ import annotations

import re
from pathlib import Path

from opsproof.controls.catalog import load_catalog
from opsproof.controls.counts import (
    BEGIN,
    END,
    HOSTS_BEGIN,
    HOSTS_END,
    counts_table,
    hardening_count,
    health_count,
    host_checks,
)
from opsproof.ssh_targets import resolve

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(REPO / "controls" / "catalog.yml")
LAB_HOSTS = resolve(REPO / "inventories" / "lab")


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


def test_controls_doc_counts_the_checks_on_the_lab_hosts() -> None:
    text = (REPO / "docs" / "controls.md").read_text(encoding="utf-8")
    shown = HOSTS_BEGIN + text.split(HOSTS_BEGIN, 1)[1].split(HOSTS_END, 1)[0] + HOSTS_END
    expected = host_checks(CATALOG, LAB_HOSTS)
    assert shown == expected, "regenerate with opsproof.controls.counts.host_checks"


def test_host_checks_follow_the_catalog_and_the_hosts() -> None:
    fewer = type(CATALOG)(**{**CATALOG.__dict__, "controls": CATALOG.controls[1:]})
    now = host_checks(CATALOG, LAB_HOSTS)
    assert host_checks(fewer, LAB_HOSTS) != now
    assert host_checks(CATALOG, LAB_HOSTS[:-1]) != now
