"""The generator's CPU budget: quota arithmetic and the cgroup it creates (in a temporary
directory standing in for /sys/fs/cgroup)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsproof.errors import ConfigError, PreconditionError
from opsproof.lab.host import current_cgroup
from opsproof.perf import cpucap


def test_quota_is_the_share_of_a_period() -> None:
    assert cpucap.quota_us(0.3) == 30_000
    assert cpucap.quota_us(1.25) == 125_000


@pytest.mark.parametrize("cores", [0.0, 0.01, -1.0, 65.0])
def test_an_impossible_share_names_the_fix(cores: float) -> None:
    with pytest.raises(ConfigError, match=r"0\.05\.\.64"):
        cpucap.quota_us(cores)


def test_no_cap_means_no_cgroup(tmp_path: Path) -> None:
    with cpucap.cpu_budget(None, "x", root=tmp_path) as join:
        assert join is None
    assert list(tmp_path.iterdir()) == []


def test_without_a_cpu_hierarchy_it_stops_with_the_fix(tmp_path: Path) -> None:
    with (
        pytest.raises(PreconditionError, match="GEN_CPU"),
        cpucap.cpu_budget(0.5, "x", root=tmp_path),
    ):
        pass


def test_the_cgroup_gets_the_quota_and_the_child_joins_it(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cgroup.procs").write_text("", encoding="ascii")
    group = tmp_path / "cpu" / current_cgroup("cpu").lstrip("/") / cpucap.GROUP / "run"
    with cpucap.cpu_budget(0.3, "run", root=tmp_path) as join:
        assert (group / "cpu.cfs_quota_us").read_text(encoding="ascii") == "30000"
        assert (group / "cpu.cfs_period_us").read_text(encoding="ascii") == "100000"
        assert join is not None
        join()  # what the child runs before exec: its pid into cgroup.procs
        assert (group / "cgroup.procs").read_text(encoding="ascii") == str(os.getpid())
