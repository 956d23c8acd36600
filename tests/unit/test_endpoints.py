"""The platform's URL and CA and the load defaults each have one home (issue 17, item 2)."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
from argparse import Namespace
from pathlib import Path

import pytest

from opsproof.ansible_inventory import AnsibleInventory
from opsproof.endpoints import lab_addresses, platform_endpoint
from opsproof.errors import ConfigError
from opsproof.lab.config import load_spec
from opsproof.perf import ceiling
from opsproof.perf.defaults import LOAD
from opsproof.perf.loadrun import LoadSettings, locust_argv

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "inventories/lab"
SPEC = load_spec(LAB / "lab.yml")


def test_the_lab_platform_is_lab_yml_web_host_and_the_nginx_role_ca() -> None:
    endpoint = platform_endpoint(LAB)
    web = next(h for h in SPEC.hosts if "web" in h.groups)
    assert (endpoint.host, endpoint.address) == (web.name, str(web.address))
    assert endpoint.url == f"https://{web.address}"
    ca_dir = AnsibleInventory(LAB).render(web.name, ["nginx_lab_ca_dir"])["nginx_lab_ca_dir"]
    assert endpoint.ca_cert == f"{ca_dir}/ca.crt"


def test_a_real_certificate_is_verified_with_the_system_cas() -> None:
    endpoint = platform_endpoint(REPO / "inventories/production.example")
    assert endpoint.url == "https://192.0.2.11"
    assert endpoint.ca_cert == ""


def test_the_ceiling_targets_only_lab_hosts() -> None:
    allowed = lab_addresses(LAB)
    assert allowed == {str(h.address) for h in SPEC.hosts}
    urls = ceiling.targets(platform_endpoint(LAB).url)
    ceiling._check(urls[0][0], 10, 16, allowed)
    ceiling._check("http://127.0.0.1:8080/", 10, 16, allowed)
    with pytest.raises(ConfigError, match="only targets the inventory's lab hosts"):
        ceiling._check("https://192.0.2.11/health", 10, 16, allowed)


def _lab_literals() -> list[str]:
    """What lab.yml and the inventory say once: the addresses, the subnet, the CA path."""
    prefix = str(SPEC.subnet.network_address).rsplit(".", 1)[0] + "."
    literals = [str(h.address) for h in SPEC.hosts] + [str(SPEC.gateway), prefix]
    literals.append(platform_endpoint(LAB).ca_cert)
    assert all(ipaddress.ip_address(str(h.address)) in SPEC.subnet for h in SPEC.hosts)
    return literals


CODE = [*(REPO / "src").rglob("*.py"), *(REPO / "loadtests").rglob("*.py")]


def _lines_with(files: list[Path], literals: list[str]) -> list[str]:
    """`path:line: literal` for each literal written in the files."""
    return [
        f"{path.relative_to(REPO)}:{n}: {literal}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for literal in literals
        if literal in line
    ]


def test_no_lab_address_or_ca_is_written_in_the_code() -> None:
    found = _lines_with([*CODE, REPO / "pyproject.toml", REPO / "Makefile"], _lab_literals())
    assert found == [], "read it from the inventory (opsproof.endpoints): " + "; ".join(found)


def test_no_lab_host_name_is_a_string_in_the_code() -> None:
    found = _lines_with(CODE, [f"{q}{h.name}{q}" for h in SPEC.hosts for q in "\"'"])
    assert found == [], "ask the inventory for a group's hosts (opsproof.placement): " + (
        "; ".join(found)
    )


def test_the_makefile_passes_only_the_knobs_the_user_set() -> None:
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    targets = ["loadtest", "loadtest-ui", "perf-compare", "loadtest-ceiling", "probe"]
    run = subprocess.run(
        ["make", "-n", "--no-print-directory", *targets],
        cwd=REPO,
        env={**env, "MAKEFLAGS": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    commands = " ".join(line for line in run.stdout.splitlines() if "opsproof " in line)
    options = re.findall(r"(--[a-z][a-z0-9-]*|-[a-z]) ", commands + " ")
    assert set(options) <= {"--inventory", "-i"}, commands
    knobs = subprocess.run(
        ["make", "-n", "loadtest", "USERS=8", "RUN_TIME=5", "MIX=natural"],
        cwd=REPO,
        env={**env, "MAKEFLAGS": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--users '8'" in knobs
    assert "--run-time '5'" in knobs
    assert "--mix 'natural'" in knobs


def test_load_settings_and_the_locust_command_use_the_one_set_of_defaults() -> None:
    settings = LoadSettings(url="https://platform.example", ca_cert="")
    assert (settings.users, settings.warmup_s, settings.steady_s) == (
        LOAD.users,
        LOAD.warmup_s,
        LOAD.steady_s,
    )
    assert (settings.user_rate, settings.mix, settings.apdex_t_s) == (
        LOAD.user_rate,
        LOAD.mix,
        LOAD.apdex_t_s,
    )
    headless = locust_argv(settings, Path("/tmp/run"))
    dashboard = locust_argv(settings, None)
    assert "--headless" in headless
    assert "--headless" not in dashboard
    assert "--request-log" not in dashboard
    assert dashboard[dashboard.index("--host") + 1] == "https://platform.example"


def test_a_hand_run_locust_takes_the_inventory_platform() -> None:
    from loadtests import target

    class Env:
        host: str | None = None
        parsed_options = Namespace(host=None, ca_cert=None, inventory=str(LAB))

    env = Env()
    target.fill_defaults(env)  # type: ignore[arg-type]
    endpoint = platform_endpoint(LAB)
    assert env.host == endpoint.url
    assert env.parsed_options.ca_cert == endpoint.ca_cert

    given = Env()
    given.host = "https://elsewhere"
    given.parsed_options = Namespace(host="https://elsewhere", ca_cert="", inventory="/nope")
    target.fill_defaults(given)  # type: ignore[arg-type]
    assert (given.host, given.parsed_options.ca_cert) == ("https://elsewhere", "")
