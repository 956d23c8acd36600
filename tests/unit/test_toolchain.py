"""The collections make venv unpacks are exactly the ones the roles and playbooks name."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from opsproof import toolchain
from opsproof.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _named_in_project() -> set[str]:
    files = [ROOT / "ansible.cfg"]
    for top in ("roles", "playbooks", "plugins"):
        files += [p for p in (ROOT / top).rglob("*") if p.suffix in {".yml", ".yaml", ".j2", ".py"}]
    named: set[str] = set()
    for path in files:
        named |= toolchain.named_collections(path.read_text(encoding="utf-8"))
    return named


def test_pyproject_lists_every_collection_the_code_names_and_no_other() -> None:
    listed = set(toolchain.load(ROOT / "pyproject.toml").collections)
    assert _named_in_project() == listed


def test_named_collections_reads_fqcns_only() -> None:
    text = (
        "- community.postgresql.postgresql_query:\n"
        "  ansible.builtin.copy: {}\n"
        "callbacks_enabled = ansible.posix.profile_tasks\n"
        "net.ipv4.conf.all.rp_filter: 1\n"
        "{{ x | community.general.dict_kv('a') }}\n"
        "from ansible.plugins.strategy import linear\n"
    )
    assert toolchain.named_collections(text) == {
        "community.postgresql",
        "ansible.posix",
        "community.general",
    }


def _pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("[tool.other]\n", "is missing"),
        ('[tool.opsproof.ansible]\nbundle = "ansible"\ncollections = ["a.b"]\n', "is not pinned"),
        (
            '[tool.opsproof.ansible]\nbundle = "ansible==12.3.0"\ncollections = ["posix"]\n',
            "namespace.name",
        ),
        (
            '[tool.opsproof.ansible]\nbundle = "ansible==12.3.0"\ncollections = []\n',
            "namespace.name",
        ),
    ],
)
def test_a_bad_section_names_the_file_and_the_fix(tmp_path: Path, body: str, names: str) -> None:
    with pytest.raises(ConfigError) as err:
        toolchain.load(_pyproject(tmp_path, body))
    assert names in str(err.value)
    assert "[tool.opsproof.ansible]" in str(err.value)
    assert err.value.fix


def _wheel(cache: Path) -> None:
    cache.mkdir()
    with zipfile.ZipFile(cache / "ansible-12.3.0-py3-none-any.whl", "w") as whl:
        whl.writestr("ansible_collections/ansible/posix/MANIFEST.json", "{}")
        whl.writestr("ansible_collections/ansible/posix/plugins/modules/mount.py", "#")
        whl.writestr("ansible_collections/ansible/windows/MANIFEST.json", "{}")


def test_install_unpacks_only_the_listed_collections_and_replaces_old_files(tmp_path: Path) -> None:
    _wheel(tmp_path / "cache")
    site = tmp_path / "site"
    stale = site / "ansible_collections/ansible/posix/plugins/modules/gone.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("#", encoding="utf-8")
    chain = toolchain.AnsibleToolchain(bundle="ansible==12.3.0", collections=("ansible.posix",))
    done = toolchain.install(chain, cache=tmp_path / "cache", site=site)
    assert done == ["ansible.posix (2 files)"]
    assert (site / "ansible_collections/ansible/posix/plugins/modules/mount.py").is_file()
    assert not stale.exists()
    assert not (site / "ansible_collections/ansible/windows").exists()


def test_install_names_a_collection_the_bundle_lacks(tmp_path: Path) -> None:
    _wheel(tmp_path / "cache")
    chain = toolchain.AnsibleToolchain(bundle="ansible==12.3.0", collections=("community.nope",))
    with pytest.raises(ConfigError, match=r"community\.nope"):
        toolchain.install(chain, cache=tmp_path / "cache", site=tmp_path / "site")


def test_run_metadata_names_each_installed_collection_with_its_version(tmp_path: Path) -> None:
    posix = tmp_path / "ansible_collections/ansible/posix"
    posix.mkdir(parents=True)
    (posix / "MANIFEST.json").write_text(
        '{"collection_info": {"namespace": "ansible", "name": "posix", "version": "2.1.0"}}',
        encoding="utf-8",
    )
    broken = tmp_path / "ansible_collections/community/broken"
    broken.mkdir(parents=True)
    (broken / "MANIFEST.json").write_text("{", encoding="utf-8")
    assert toolchain.installed_versions(tmp_path) == {"ansible.posix": "2.1.0"}
