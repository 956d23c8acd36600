"""The tuning profiles' formulas, rendered from the roles' real defaults by Ansible's templating."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from opsproof.errors import ConfigError
from opsproof.perf.profiles import tuned_values

REPO = Path(__file__).resolve().parents[2]
GROUPS = {"db": ["db1"], "app": ["app1"], "web": ["web1"]}


def inventory(tmp_path: Path, *, db: dict[str, Any], app: dict[str, Any], **all_vars: Any) -> Path:
    """A one-host-per-group inventory; the facts are not there, so memory and CPUs are given."""
    db = {"opsproof_memory_mb": 4096, "opsproof_cpus": 1, **db}
    app = {"opsproof_memory_mb": 3072, **app}
    hosts = {
        "all": {
            "vars": all_vars,
            "children": {
                "db": {"hosts": {"db1": db}},
                "app": {"hosts": {"app1": app}},
                "web": {"hosts": {"web1": {"opsproof_memory_mb": 1024}}},
            },
        }
    }
    path = tmp_path / "inventory"
    path.mkdir()
    (path / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return path


def render(inv: Path, profile: str) -> dict[str, dict[str, Any]]:
    return tuned_values(inv, GROUPS, profile, roles_dir=REPO / "roles")


@pytest.mark.parametrize(
    ("memory", "cpus", "expected"),
    [
        # the lab's db01: 4 GB, one core
        (
            4096,
            1,
            {
                "shared_buffers": "1024MB",
                "effective_cache_size": "3072MB",
                "maintenance_work_mem": "256MB",
                "work_mem": "10MB",
                "max_parallel_workers_per_gather": 0,
            },
        ),
        (
            8192,
            4,
            {
                "shared_buffers": "2048MB",
                "effective_cache_size": "6144MB",
                "maintenance_work_mem": "512MB",
                "work_mem": "20MB",
                "max_parallel_workers_per_gather": 2,
            },
        ),
        # maintenance_work_mem stops at 2 GB; work_mem never below PostgreSQL's 4 MB
        (65536, 16, {"maintenance_work_mem": "2048MB", "work_mem": "163MB"}),
        (1024, 1, {"shared_buffers": "256MB", "work_mem": "4MB"}),
    ],
)
def test_postgresql_optimised_follows_the_pgtune_formulas(
    tmp_path: Path, memory: int, cpus: int, expected: dict[str, Any]
) -> None:
    inv = inventory(
        tmp_path,
        db={"opsproof_memory_mb": memory, "opsproof_cpus": cpus},
        app={"opsproof_memory_mb": 3072},
    )
    settings = render(inv, "optimised")["db1"]["postgresql_settings"]
    assert settings.items() >= expected.items()
    assert settings["max_connections"] == 100
    assert settings["random_page_cost"] == pytest.approx(1.1)
    assert settings["shared_preload_libraries"] == "pg_stat_statements"
    assert settings["jit"] is False
    assert settings["log_min_duration_statement"] == 250


def test_postgresql_baseline_keeps_postgresqls_defaults_and_the_inventory_wins(
    tmp_path: Path,
) -> None:
    inv = inventory(
        tmp_path,
        db={"opsproof_memory_mb": 4096, "postgresql_settings": {"work_mem": "64MB"}},
        app={"opsproof_memory_mb": 3072},
        opsproof_cpus=1,
    )
    assert render(inv, "baseline")["db1"]["postgresql_settings"] == {"work_mem": "64MB"}
    assert render(inv, "optimised")["db1"]["postgresql_settings"]["work_mem"] == "64MB"


@pytest.mark.parametrize(("memory", "heap"), [(3072, 1536), (1500, 576), (8192, 4608)])
def test_tomcat_optimised_heap_is_a_share_of_memory_after_the_reserve(
    tmp_path: Path, memory: int, heap: int
) -> None:
    inv = inventory(tmp_path, db={"opsproof_memory_mb": 4096}, app={"opsproof_memory_mb": memory})
    app = render(inv, "optimised")["app1"]
    # floor((memory - 512) * 60 % / 64) * 64, and Xms = Xmx
    assert app["tomcat_heap_max_mb"] == app["tomcat_heap_initial_mb"] == heap
    assert app["tomcat_max_threads"] == 2 * app["tomcat_datasource_max_total"]


def test_tomcat_baseline_is_the_installed_small_heap(tmp_path: Path) -> None:
    inv = inventory(tmp_path, db={"opsproof_memory_mb": 4096}, app={"opsproof_memory_mb": 3072})
    app = render(inv, "baseline")["app1"]
    assert (app["tomcat_heap_max_mb"], app["tomcat_heap_initial_mb"]) == (256, 64)
    assert (app["tomcat_max_threads"], app["tomcat_datasource_max_total"]) == (200, 20)


def test_an_inventory_value_overrides_the_profile(tmp_path: Path) -> None:
    inv = inventory(
        tmp_path,
        db={"opsproof_memory_mb": 4096},
        app={"opsproof_memory_mb": 3072, "tomcat_heap_max_mb": 700},
    )
    assert render(inv, "optimised")["app1"]["tomcat_heap_max_mb"] == 700


def test_nginx_profiles(tmp_path: Path) -> None:
    inv = inventory(tmp_path, db={}, app={})
    web = render(inv, "baseline")["web1"]
    assert (web["nginx_gzip_enabled"], web["nginx_static_cache_enabled"]) == (False, False)
    web = render(inv, "optimised")["web1"]
    assert (web["nginx_gzip_enabled"], web["nginx_static_cache_enabled"]) == (True, True)
    assert web["nginx_upstream_keepalive"] == 64


def test_the_pools_of_the_optimised_profile_fit_the_connection_budget(tmp_path: Path) -> None:
    inv = inventory(tmp_path, db={"opsproof_memory_mb": 4096}, app={"opsproof_memory_mb": 3072})
    values = render(inv, "optimised")
    defaults = yaml.safe_load((REPO / "roles/postgresql/defaults/main.yml").read_text())
    pool = values["app1"]["tomcat_datasource_max_total"]
    budget = values["db1"]["postgresql_settings"]["max_connections"]
    assert pool + defaults["postgresql_connection_reserve"] <= budget


def test_an_unknown_profile_is_refused(tmp_path: Path) -> None:
    inv = inventory(tmp_path, db={}, app={})
    with pytest.raises(ConfigError, match="'turbo' is not a tuning profile"):
        render(inv, "turbo")
