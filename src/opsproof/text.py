"""The zh/en wording of the documents opsproof writes, from one file: text.json.

text.json holds a table per document (`inspection_record`: the 巡检记录表,
`summary_report`: the 运维总结报告) and `common`, the wording both share; an entry gives
the Chinese and the English text of one key.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Literal, cast

Lang = Literal["zh", "en"]
Table = Mapping[str, Mapping[Lang, str]]
DOCUMENTS = ("inspection_record", "summary_report")


@functools.cache
def _tables() -> Mapping[str, Table]:
    raw = resources.files("opsproof").joinpath("text.json").read_text(encoding="utf-8")
    return cast(Mapping[str, Table], json.loads(raw))


def table(document: str) -> Table:
    """The document's wording: the common entries and its own."""
    tables = _tables()
    return {**tables["common"], **tables[document]}


def lookup(document: str) -> Callable[[str, Lang], str]:
    """t(key, lang) for one document; an unknown key raises KeyError."""
    entries = table(document)

    def t(key: str, lang: Lang) -> str:
        return entries[key][lang]

    return t
