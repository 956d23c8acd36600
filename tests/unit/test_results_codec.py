"""The one (de)serialiser of the results dataclasses (opsproof.results.codec)."""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from opsproof.results import CheckResult, ResultsDocument, StepResult, load_results, write_results
from opsproof.results.codec import JSONValue, from_json, to_json

# Written by the hand-written to_dict of every results dataclass before the codec replaced
# them (every result type, optional fields set and unset, a +08:00 timestamp, UTF-8 text).
GOLDEN = Path(__file__).parent / "data" / "results-golden.json"


def test_golden_file_is_rewritten_byte_for_byte(tmp_path: Path) -> None:
    doc = load_results(GOLDEN)
    assert {type(r).__name__ for r in doc.results} == {
        "CheckResult",
        "Measurement",
        "ExperimentResult",
        "StepResult",
        "LoadResult",
        "Comparison",
        "PlanResult",
    }
    again = write_results(doc, tmp_path / "again.json")
    assert again.read_bytes() == GOLDEN.read_bytes()


def test_golden_dict_round_trips_through_from_dict() -> None:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    doc = ResultsDocument.from_dict(data)
    assert doc.to_dict() == data
    assert list(doc.to_dict()) == list(data)  # key order too: json.dumps keeps it
    for written, read in zip(doc.to_dict()["results"], data["results"], strict=True):
        assert list(written) == list(read)  # type: ignore[arg-type]


def test_missing_optional_keys_take_the_default() -> None:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    step = dict(next(r for r in data["results"] if r["type"] == "step"))
    for key in ("skipped", "rescued", "ignored"):
        del step[key]
    assert StepResult.from_dict(step).skipped == 0
    check = dict(data["results"][0])
    del check["title_zh"], check["waiver"], check["references"]
    read = CheckResult.from_dict(check)
    assert (read.title_zh, read.waiver, read.references) == (None, None, ())
    del check["host"]
    with pytest.raises(KeyError, match="host"):
        CheckResult.from_dict(check)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Leaf:
    TYPE: ClassVar[str] = "leaf"
    at: dt.datetime
    on: dt.date | None = None


@dataclass(frozen=True)
class Other:
    TYPE: ClassVar[str] = "other"
    n: int


@dataclass(frozen=True)
class Tree:
    colour: Colour
    leaves: tuple[Leaf, ...]
    named: Mapping[str, Leaf]
    mixed: list[Leaf | Other]
    best: Leaf | None
    extra: JSONValue = None
    tags: dict[str, list[int]] = field(default_factory=dict)


def test_codec_handles_enums_nesting_unions_and_containers() -> None:
    at = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    tree = Tree(
        colour=Colour.BLUE,
        leaves=(Leaf(at), Leaf(at, dt.date(2025, 2, 1))),
        named={"x": Leaf(at)},
        mixed=[Other(3), Leaf(at)],
        best=None,
        extra={"k": [1, None]},
        tags={"a": [1, 2]},
    )
    data = to_json(tree)
    assert data["colour"] == "blue"
    assert data["leaves"] == [
        {"type": "leaf", "at": "2025-01-02T03:04:05Z", "on": None},
        {"type": "leaf", "at": "2025-01-02T03:04:05Z", "on": "2025-02-01"},
    ]
    assert data["mixed"] == [
        {"type": "other", "n": 3},
        {"type": "leaf", "at": "2025-01-02T03:04:05Z", "on": None},
    ]
    assert from_json(Tree, json.loads(json.dumps(data))) == tree
