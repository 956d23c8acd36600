"""text.json: the one home of the zh/en wording of the inspection record and the summary report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from opsproof import text

SRC = Path(text.__file__).parent
USERS = {
    "inspection_record": SRC / "inspection" / "record.py",
    "summary_report": SRC / "evidence" / "report.py",
}


def test_every_entry_has_both_languages() -> None:
    tables = text._tables()
    assert set(tables) == {"common", *text.DOCUMENTS}
    for name, entries in tables.items():
        for key, entry in entries.items():
            assert set(entry) == {"zh", "en"}, f"{name}.{key}"
            assert all(isinstance(v, str) and v.strip() for v in entry.values()), f"{name}.{key}"


def test_no_document_shadows_common() -> None:
    tables = text._tables()
    for document in text.DOCUMENTS:
        assert not set(tables[document]) & set(tables["common"]), document


@pytest.mark.parametrize("document", text.DOCUMENTS)
def test_every_key_the_code_names_exists(document: str) -> None:
    used = set(re.findall(r"""\bt\(\s*["']([a-z_-]+)["']""", USERS[document].read_text()))
    assert used, USERS[document]
    assert used <= set(text.table(document)), sorted(used - set(text.table(document)))


def test_lookup_reads_common_and_own_entries() -> None:
    t = text.lookup("summary_report")
    assert t("host", "zh") == text._tables()["common"]["host"]["zh"]
    assert t("title", "en") == text._tables()["summary_report"]["title"]["en"]
    with pytest.raises(KeyError):
        t("no such key", "en")
