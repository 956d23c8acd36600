"""The chaos experiments' shared blocks are written once (issue 17, item 7): chaos/*.json is
what opsproof.chaos.experiments generates, and each stays a valid Chaos Toolkit experiment."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from opsproof import placement
from opsproof.chaos import experiments

REPO = Path(__file__).resolve().parents[2]
GENERATED = experiments.experiments()


def test_the_committed_experiments_are_the_generated_ones() -> None:
    assert experiments.stale(REPO / "chaos") == [], (
        "run `.venv/bin/python -m opsproof.chaos.experiments --write` and commit chaos/"
    )


def test_an_edited_missing_or_extra_file_is_named(tmp_path: Path) -> None:
    experiments.write(tmp_path)
    assert experiments.stale(tmp_path) == []
    (tmp_path / "jvm-kill.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "db-kill.json").unlink()
    (tmp_path / "hand-made.json").write_text("{}\n", encoding="utf-8")
    assert experiments.stale(tmp_path) == ["hand-made.json", "db-kill.json", "jvm-kill.json"]
    assert experiments.main(["--check", "--dir", str(tmp_path)]) == 1
    experiments.main(["--write", "--dir", str(tmp_path)])
    assert experiments.stale(tmp_path) == ["hand-made.json"]


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_each_experiment_is_valid_for_chaos_toolkit(name: str) -> None:
    from chaoslib.experiment import ensure_experiment_is_valid

    document = json.loads(experiments.render(GENERATED[name]))
    ensure_experiment_is_valid(document)  # raises InvalidExperiment


def test_shared_blocks_are_identical_in_every_experiment() -> None:
    first = next(iter(GENERATED.values()))
    for doc in GENERATED.values():
        assert doc["configuration"] == first["configuration"]
        assert doc["steady-state-hypothesis"] == first["steady-state-hypothesis"]
        assert doc["method"][1] == experiments.RECOVERS
        assert doc["extensions"][0]["target"] == doc["method"][0]["provider"]["arguments"]["host"]


def test_hosts_are_the_groups_site_yml_places_the_roles_on() -> None:
    groups = set(placement.site().groups())
    for doc in GENERATED.values():
        for step in [*doc["method"], *doc["rollbacks"]]:
            for key in ("host", "peer"):
                value = step["provider"]["arguments"].get(key)
                if value is not None:
                    assert value.removeprefix("group:") in groups, (doc["title"], value)


NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen").split()  # noqa: SIM905


def test_readme_and_chaos_doc_count_and_list_the_experiments() -> None:
    count = NUMBERS[len(GENERATED)]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    chaos = (REPO / "docs" / "chaos.md").read_text(encoding="utf-8")
    assert re.findall(r"`make chaos` \| (\w+) fault experiments", readme) == [count]
    assert re.findall(r"(\w+) host faults", chaos) == [count]
    assert re.findall(r"## The (\w+) faults and their mechanisms", chaos) == [count]
    table = chaos.split("## The ", 1)[1].split("\n## ", 1)[0]
    assert sorted(re.findall(r"^\| `([a-z-]+)` \|", table, re.M)) == sorted(GENERATED)
