"""`make test` runs the compliance gate's check-mode run (`make drift`) right after the
end-to-end suite; test_tuning.py leaves the whole-site check after its switches to it, which
holds only while it is the suite's last module (pytest runs the files in name order)."""

from __future__ import annotations

from pathlib import Path

E2E = Path(__file__).resolve().parents[1] / "e2e"


def test_the_tuning_module_runs_last() -> None:
    modules = sorted(p.name for p in E2E.glob("test_*.py"))
    assert modules[-1] == "test_tuning.py", (
        f"{modules[-1]} now runs after test_tuning.py: give test_tuning.py its own check-mode run"
        " again, or keep it last"
    )
