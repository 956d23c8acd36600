"""The lab's memory budget: hosts' limits + the control node's reserve against the machine."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from opsproof.errors import ConfigError
from opsproof.lab import budget
from opsproof.lab.config import load_spec, parse_spec

REPO = Path(__file__).resolve().parents[2]
SPEC_FILE = REPO / "inventories/lab/lab.yml"


def test_the_lab_with_its_ops_host_fits_a_24_gib_machine() -> None:
    spec = load_spec(SPEC_FILE)
    b = budget.budget(spec, machine_mb=24105)
    assert "ops01" in b.hosts_mb
    assert b.lab_mb == sum(h.memory_mb for h in spec.hosts)
    assert b.needed_mb == b.lab_mb + spec.controller_reserve_mb
    assert b.fits
    budget.check(b, SPEC_FILE)


def test_a_machine_too_small_is_refused_naming_the_shortfall() -> None:
    spec = load_spec(SPEC_FILE)
    b = budget.budget(spec, machine_mb=8192)
    assert not b.fits
    with pytest.raises(ConfigError) as err:
        budget.check(b, SPEC_FILE)
    text = str(err.value)
    assert f"needs {b.needed_mb} MB" in text
    assert "ops01 1536" in text
    assert f"by {b.needed_mb - 8192} MB" in err.value.fix


def test_controller_reserve_is_validated() -> None:
    data = yaml.safe_load(SPEC_FILE.read_text())
    data["lab"]["controller_reserve_mb"] = 10
    with pytest.raises(ConfigError, match=r"lab\.controller_reserve_mb=10 is out of range"):
        parse_spec(data, SPEC_FILE)


def test_machine_memory_is_the_smallest_limit_above_us(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24683520 kB\nMemFree: 1 kB\n")
    cg = tmp_path / "cgroup"
    (cg / "memory/runner/job").mkdir(parents=True)
    (cg / "memory/memory.limit_in_bytes").write_text("9223372036854771712\n")
    (cg / "memory/runner/memory.limit_in_bytes").write_text(str(16 << 30))
    (cg / "memory/runner/job/memory.limit_in_bytes").write_text("9223372036854771712\n")
    proc = tmp_path / "self-cgroup"
    proc.write_text("4:memory:/runner/job\n1:cpu:/\n")
    assert budget.machine_mb(meminfo, proc, cg) == 16384
    proc.write_text("4:memory:/\n")
    assert budget.machine_mb(meminfo, proc, cg) == 24683520 // 1024
