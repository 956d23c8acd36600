"""opsproof runlog (provision/drift results from a real playbook log) and the pack's sums."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from opsproof.evidence import sums
from opsproof.playbook_log import parse_recap
from opsproof.results import load_results
from opsproof.runlog import parse_log, results_from_log

# The output of a real first `make provision` on the lab, 2026-12-03 (UTC), from its first play.
LOG = Path(__file__).parent / "evidence_data/provision-lab-20261203.log.gz"


def _log_text() -> str:
    with gzip.open(LOG, "rt", encoding="utf-8") as f:
        return f.read()


def test_runlog_steps_add_up_to_the_recap(tmp_path: Path) -> None:
    text = _log_text()
    parsed = parse_log(text)
    recap = {r.host: r for r in parse_recap(text)}
    ok, changed = Counter[str](), Counter[str]()
    for step in parsed.steps:
        ok[step.host] += step.ok + step.changed  # the recap's ok includes changed tasks
        changed[step.host] += step.changed
    assert {h: (r.ok, r.changed) for h, r in recap.items()} == {
        h: (ok[h], changed[h]) for h in recap
    }
    assert parsed.total_s == pytest.approx(515.637)
    assert parsed.started_at is not None
    assert parsed.started_at.isoformat() == "2026-12-03T20:47:17+00:00"
    # Bootstrap's failed admin login is ignored on purpose: ok, counted as ignored.
    boot = [s for s in parsed.steps if s.play.startswith("Bootstrap")]
    assert {s.host: (s.unreachable, s.ignored) for s in boot} == {
        h: (0, 1) for h in ("web01", "app01", "db01")
    }
    # Each play's duration is the sum of its tasks; no play is longer than the run.
    assert all(0 <= s.duration_s <= 515.637 for s in parsed.steps)

    log = tmp_path / "ansible.log"
    log.write_text(text, encoding="utf-8")
    doc = results_from_log(log, kind="drift", inventory="inventories/lab", playbook="site.yml")
    assert doc.run.kind == "provision"
    assert doc.run.conditions["mode"] == "check"
    assert doc.run.hosts == ("app01", "db01", "web01")


def test_runlog_without_recap_fails_naming_the_log(tmp_path: Path) -> None:
    log = tmp_path / "cut.log"
    log.write_text("PLAY [x] ***\n", encoding="utf-8")
    from opsproof.errors import ValidationError

    with pytest.raises(ValidationError, match="no PLAY RECAP"):
        results_from_log(log, kind="provision", inventory=None, playbook=None)


def test_runlog_command_writes_a_valid_results_file(tmp_path: Path) -> None:
    log = tmp_path / "ansible.log"
    log.write_text(_log_text(), encoding="utf-8")
    out = tmp_path / "results.json"
    from opsproof.cli import main

    assert main(["runlog", "--kind", "provision", str(log), str(out)]) == 0
    assert len(load_results(out).results) == 15


def _pack(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    (root / "sources/a").mkdir(parents=True)
    (root / "sources/a/x.json").write_text('{"a": 1}\n', encoding="utf-8")
    (root / "index.html").write_text("<html></html>\n", encoding="utf-8")
    sums.write_sums(root)
    return root


def test_verify_names_each_edited_missing_extra_and_symlinked_file(tmp_path: Path) -> None:
    root = _pack(tmp_path)
    assert sums.verify(root) == []
    (root / "sources/a/x.json").write_text('{"a": 2}\n', encoding="utf-8")
    (root / "extra.txt").write_text("added\n", encoding="utf-8")
    (root / "index.html").unlink()
    (root / "index.html").symlink_to("/etc/hostname")
    found = {(f.path, f.problem) for f in sums.verify(root)}
    assert found == {
        ("sources/a/x.json", "edited"),
        ("extra.txt", "extra"),
        ("index.html", "symlink"),
    }
    shutil.rmtree(root / "sources")
    assert ("sources/a/x.json", "missing") in {(f.path, f.problem) for f in sums.verify(root)}


@pytest.mark.skipif(shutil.which("cksum") is None, reason="coreutils cksum")
def test_sums_files_are_read_by_coreutils(tmp_path: Path) -> None:
    root = _pack(tmp_path)
    for argv in (
        ["sha256sum", "-c", "--strict", "SHA256SUMS"],
        ["cksum", "-a", "sm3", "-c", "--strict", "SM3SUMS"],
    ):
        proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
