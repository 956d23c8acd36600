"""The pack's integrity: SHA256SUMS and SM3SUMS over every file, and their verification.

Both files use coreutils' untagged format (`<hex>  <relative path>`, sorted by path), so
`sha256sum -c SHA256SUMS` and `cksum -a sm3 -c SM3SUMS` (coreutils >= 9.0, GB/T 32905) read
them. `verify` goes further than `sha256sum -c`: a file that is not listed (added afterwards)
and a symbolic link (which could point anywhere) are failures too, each named.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SUM_FILES = {"SHA256SUMS": "sha256", "SM3SUMS": "sm3"}
# Files about the sums themselves: the sums and the detached signature of SHA256SUMS;
# they cannot be in the sums they sign.
UNSUMMED = frozenset({*SUM_FILES, "SHA256SUMS.sig"})
CHUNK = 1 << 20

Problem = Literal["edited", "missing", "extra", "symlink", "unlisted-sums", "malformed"]


def digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def walk(root: Path) -> Iterator[Path]:
    """Every entry below root that is a file or a symlink (never followed), relative, sorted."""
    entries: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in dirnames:
            if (base / name).is_symlink():
                entries.append((base / name).relative_to(root))
        for name in filenames:
            entries.append((base / name).relative_to(root))
    yield from sorted(entries, key=lambda p: p.as_posix())


def summed_files(root: Path) -> list[Path]:
    return [p for p in walk(root) if p.as_posix() not in UNSUMMED]


def sums_text(root: Path, files: Iterable[Path], algorithm: str) -> str:
    return "".join(f"{digest(root / p, algorithm)}  {p.as_posix()}\n" for p in files)


def write_sums(root: Path) -> list[Path]:
    """Write SHA256SUMS and SM3SUMS over every file of the pack; returns the files summed."""
    files = summed_files(root)
    for name, algorithm in SUM_FILES.items():
        (root / name).write_text(sums_text(root, files, algorithm), encoding="utf-8")
    return files


@dataclass(frozen=True)
class Finding:
    path: str
    problem: Problem
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.problem}: {self.path}" + (f" ({self.detail})" if self.detail else "")


def read_sums(path: Path) -> tuple[dict[str, str], list[Finding]]:
    listed: dict[str, str] = {}
    bad: list[Finding] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        hexdigest, sep, name = line.partition("  ")
        if (
            not sep
            or not name
            or not hexdigest
            or any(c not in "0123456789abcdef" for c in hexdigest)
        ):
            bad.append(Finding(f"{path.name}:{number}", "malformed", line[:80]))
            continue
        listed[name] = hexdigest
    return listed, bad


def verify(root: Path) -> list[Finding]:
    """Every way the pack differs from its sums files; empty when it is intact."""
    findings: list[Finding] = []
    present = {p.as_posix(): p for p in walk(root)}
    for rel, path in present.items():
        if (root / path).is_symlink():
            findings.append(Finding(rel, "symlink", f"points to {os.readlink(root / path)}"))
    for name, algorithm in SUM_FILES.items():
        sums = root / name
        if sums.is_symlink() or not sums.is_file():
            findings.append(Finding(name, "missing", "the sums file itself"))
            continue
        listed, bad = read_sums(sums)
        findings += bad
        for rel, expected in listed.items():
            path = root / rel
            if rel not in present:
                findings.append(Finding(rel, "missing", f"listed in {name}"))
            elif path.is_symlink():
                continue  # reported once above
            elif digest(path, algorithm) != expected:
                findings.append(Finding(rel, "edited", f"{algorithm} differs from {name}"))
        for rel in present:
            if rel not in listed and rel not in UNSUMMED:
                findings.append(Finding(rel, "extra", f"not in {name}"))
    unique: dict[tuple[str, str], Finding] = {}
    for f in findings:
        unique.setdefault((f.path, f.problem), f)
    return sorted(unique.values(), key=lambda f: (f.path, f.problem))
