"""Pure logic of the lab: the description, routes, the inventory cross-check, nspawn flags."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsproof.errors import ConfigError, PreconditionError
from opsproof.lab import aptcache, host, hosts_yml, net, rootfs, system
from opsproof.lab.config import load_spec, parse_spec
from opsproof.lab.state import LabPaths

REPO = Path(__file__).resolve().parents[2]
SPEC_FILE = REPO / "inventories/lab/lab.yml"


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text())
    return copy.deepcopy(data)


def test_repository_lab_description_is_valid() -> None:
    spec = load_spec(SPEC_FILE)
    assert [h.name for h in spec.hosts] == ["web01", "app01", "db01", "ops01"]
    assert all(h.address in spec.subnet for h in spec.hosts)
    assert spec.proxy_url == f"http://{spec.gateway}:3142"


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["lab"].update(subnet="10.213.0.0/33"), "lab.subnet is invalid"),
        (lambda d: d["lab"].update(subnet="8.8.8.0/24"), "must be a private network"),
        (lambda d: d["lab"].update(gateway="10.9.9.9"), "lab.gateway=10.9.9.9"),
        (lambda d: d["lab"].update(bridge="a-very-long-bridge-name"), "lab.bridge"),
        (lambda d: d["hosts"]["web01"].update(address="10.213.1.5"), "hosts.web01.address"),
        (
            lambda d: d["hosts"]["app01"].update(address="10.213.0.11"),
            "already used by hosts.web01",
        ),
        (lambda d: d["hosts"]["db01"].update(address="10.213.0.1"), "already used by lab.gateway"),
        (
            lambda d: d["hosts"]["db01"].update(memory_mb="lots"),
            "hosts.db01.memory_mb must be a number",
        ),
        (
            lambda d: d["hosts"]["db01"].update(cpu_cores=0),
            "hosts.db01.cpu_cores=0 is out of range",
        ),
        (lambda d: d["hosts"]["db01"].pop("address"), "hosts.db01.address is missing"),
        (
            lambda d: d["hosts"].update({"Bad_Name": {"address": "10.213.0.40"}}),
            "not a valid hostname",
        ),
        (lambda d: d["lab"].update(suite="bullseye"), "lab.suite='bullseye' is not supported"),
        (lambda d: d.pop("lab"), "top-level 'lab:'"),
    ],
)
def test_bad_description_names_the_key(raw: dict[str, Any], mutate: Any, needle: str) -> None:
    mutate(raw)
    with pytest.raises(ConfigError) as err:
        parse_spec(raw, Path("lab.yml"))
    assert needle in str(err.value)
    assert "lab.yml" in str(err.value)
    assert err.value.fix


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lab description not found"):
        load_spec(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("lab: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_spec(bad)


def test_overlapping_routes_are_found() -> None:
    spec = load_spec(SPEC_FILE)
    table: list[dict[str, object]] = [
        {"dst": "default", "dev": "eth0"},
        {"dst": "192.0.2.0/24", "dev": "eth0"},
        {"dst": "10.213.0.0/24", "dev": spec.bridge},  # the lab's own route
    ]
    assert net.overlapping_routes(spec, table) == []
    table.append({"dst": "10.0.0.0/8", "dev": "tun0"})
    table.append({"dst": "10.213.0.77", "dev": "wg0"})
    assert net.overlapping_routes(spec, table) == ["10.0.0.0/8 dev tun0", "10.213.0.77 dev wg0"]


def test_subnet_clash_is_a_precondition_error(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(SPEC_FILE)
    monkeypatch.setattr(net, "routes", lambda: [{"dst": "10.213.0.0/16", "dev": "eth1"}])
    with pytest.raises(PreconditionError, match=r"overlaps the route 10\.213\.0\.0/16 dev eth1"):
        net.check_subnet_free(spec)


def test_inventory_agrees_with_description() -> None:
    spec = load_spec(SPEC_FILE)
    on_disk = yaml.safe_load((REPO / "inventories/lab/hosts.yml").read_text())
    assert hosts_yml.differences(spec, on_disk) == []
    assert hosts_yml.differences(spec, hosts_yml.render(spec)) == []


def test_inventory_drift_is_reported(tmp_path: Path) -> None:
    spec = load_spec(SPEC_FILE)
    inv = hosts_yml.render(spec)
    groups = inv["all"]["children"]["lab"]["children"]
    groups["web"]["hosts"]["web01"]["ansible_host"] = "10.213.0.99"
    groups["db"]["hosts"]["db01"]["opsproof_memory_mb"] = 512
    groups["db"]["hosts"]["db02"] = {"ansible_host": "10.213.0.14"}
    del groups["app"]
    diffs = hosts_yml.differences(spec, inv)
    assert "web01: ansible_host=10.213.0.99, lab.yml says 10.213.0.11" in diffs
    assert "host app01 is missing" in diffs
    assert "db01: opsproof_memory_mb=512, lab.yml says memory_mb=4096" in diffs
    assert "host db02 is not in lab.yml" in diffs
    f = tmp_path / "hosts.yml"
    f.write_text(yaml.safe_dump(inv))
    with pytest.raises(ConfigError, match="disagrees with"):
        hosts_yml.check(spec, f)


def test_cgroup_plan_carries_the_limits() -> None:
    spec = load_spec(SPEC_FILE)
    db = spec.host("db01")
    plan = {str(p["path"]).split("/")[4]: p for p in host.cgroup_plan(db)}
    assert plan["cpu"]["settings"] == {
        "cpu.cfs_period_us": "100000",
        "cpu.cfs_quota_us": str(int(db.cpu_cores * 100000)),
    }
    assert plan["memory"]["settings"] == {"memory.limit_in_bytes": str(db.memory_mb << 20)}
    # The lab's group yields to the control node's processes (1024 each) when both want CPU.
    assert plan["cpu"]["parent_settings"] == {"cpu.shares": "256"}
    assert "parent_settings" not in plan["memory"]
    assert all(str(p["path"]).endswith("/opsproof-lab/db01") for p in plan.values())


def test_nspawn_flags_that_make_it_work_here() -> None:
    spec = load_spec(SPEC_FILE)
    web = spec.host("web01")
    hp = host.host_paths(LabPaths(Path("/state")), "web01")
    argv = host.nspawn_argv(spec, web, hp)
    for flag in ("--boot", "--register=no", "--keep-unit", "--console=read-only"):
        assert flag in argv
    assert f"--network-bridge={spec.bridge}" in argv
    assert f"--bind=/state/hosts/web01/data:{spec.data_mount}" in argv


def test_unknown_host_is_named() -> None:
    spec = load_spec(SPEC_FILE)
    with pytest.raises(ConfigError, match="no lab host named 'web99'"):
        spec.host("web99")


def test_mirror_from_sources(tmp_path: Path) -> None:
    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"
    )
    assert aptcache.machine_mirror([deb822]) == "http://mirror.example/debian"
    legacy = tmp_path / "sources.list"
    legacy.write_text("deb [arch=amd64] http://ftp.example/debian bookworm main\n")
    assert aptcache.machine_mirror([legacy]) == "http://ftp.example/debian"
    with pytest.raises(PreconditionError, match="no Debian mirror"):
        aptcache.machine_mirror([tmp_path / "missing"])


def test_the_base_is_built_current_through_the_cache(tmp_path: Path) -> None:
    text = rootfs.sources_list("http://deb.debian.org/debian", "bookworm")
    assert "deb http://deb.debian.org/debian-security bookworm-security main" in text
    argv = rootfs.build_argv("bookworm", "http://deb.debian.org/debian", 3142, tmp_path / "b")
    assert argv[0] == "mmdebstrap"
    assert '--aptopt=Acquire::http::Proxy "http://127.0.0.1:3142"' in argv
    # The suite, its -updates and -security: the base is current when it is built.
    assert argv[-3:] == text.splitlines()
    assert argv[-5:-3] == ["bookworm", str(tmp_path / "b")]
    assert "--include=" + ",".join(rootfs.BASE_PACKAGES) in argv


def test_missing_tools_name_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system.shutil, "which", lambda t: None if t == "mmdebstrap" else "/x")
    with pytest.raises(PreconditionError) as err:
        system.require_tools()
    assert "mmdebstrap" in str(err.value)
    assert "apt-get install mmdebstrap" in str(err.value)


def test_not_root_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    with pytest.raises(PreconditionError, match="needs root"):
        system.require_root()


def test_the_stale_veth_looked_for_is_nspawns_name_for_a_short_host() -> None:
    # --network-bridge names the host side vb-<machine>; past 15 characters systemd hashes it.
    assert net.host_veth("web01") == "vb-web01"
    assert net.host_veth("a" * 12) == "vb-" + "a" * 12
    assert net.host_veth("a" * 13) == ""


def test_a_base_of_this_recipe_is_kept(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    paths.base.mkdir()
    paths.base_ready.write_text(rootfs.recipe("bookworm"))
    assert rootfs.ensure_base(load_spec(SPEC_FILE), paths) is False


def test_an_older_recipes_base_stays_while_hosts_are_made_of_it(tmp_path: Path) -> None:
    # The base is the lower layer of every host's overlay root: never rebuilt under them.
    paths = LabPaths(tmp_path)
    paths.base.mkdir()
    paths.base_ready.write_text("ok\n")  # written by the checkouts before the recipe
    paths.host_dir("web01").mkdir(parents=True)
    assert rootfs.ensure_base(load_spec(SPEC_FILE), paths) is False
    assert rootfs.recipe("bookworm") != "ok\n"
    assert "builder=mmdebstrap updates=1" in rootfs.recipe("bookworm")
