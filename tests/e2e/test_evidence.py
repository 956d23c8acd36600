"""The evidence pack (issue 15) built on the lab from real runs, then attacked.

A real inspection (make inspect, read-only) plus whatever runs this session already left under
reports/ (perf, chaos, provisioning); the pack is verified, tampered with in four ways, its
scorecard recomputed from the files in the pack, its OSCAL validated with trestle and NIST's
schema, rebuilt for the same SHA256SUMS, and its reports rendered.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from html import escape
from pathlib import Path

import pytest

from opsproof.evidence import nist
from opsproof.evidence.period import TZ
from opsproof.inspection.record import screenshot
from opsproof.placement import group_of
from opsproof.results import CheckResult, ExperimentResult, load_results
from opsproof.ssh_targets import resolve
from tests.e2e.conftest import REPO, VENV_BIN, sh

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("evidence")
    insp = base / "inspection"
    run = sh("make", "inspect", f"INSPECT_DIR={insp}", timeout=300)
    assert (insp / "inspection.json").is_file(), run.out[-3000:]
    key = base / "operator_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "auditor-test", "-f", str(key)],
        check=True,
    )
    # A survey file in the documented format (made up by this test, not a real survey).
    survey = base / "survey.csv"
    survey.write_text(
        "date,respondent,rating\n2026-01-05,a,5\n2026-01-05,b,4\n2026-01-06,c,3\n",
        encoding="utf-8",
    )
    period = f"{dt.datetime.now(TZ):%Y-%m}"
    out = base / "packs"

    def build(*extra: str) -> tuple[int, str]:
        r = sh(
            str(VENV_BIN / "opsproof"),
            "evidence",
            "build",
            "--period",
            period,
            "--source",
            str(insp),
            "--source",
            str(REPO / "reports"),
            "--out-root",
            str(out),
            "--sign-key",
            str(key),
            "--survey",
            str(survey),
            *extra,
            timeout=300,
        )
        return r.rc, r.out

    rc, text = build()
    assert rc in (0, 1), text  # 1: some evidence missing (each gap named), the pack is built
    assert "wrote" in text, text
    rc2, text2 = build()
    rc3, text3 = build("--lang", "en")
    assert rc2 == rc, text2
    assert rc3 == rc, text3
    allowed = base / "allowed_signers"
    allowed.write_text(
        'auditor namespaces="opsproof-evidence" '
        + " ".join(Path(f"{key}.pub").read_text().split()[:2])
        + "\n",
        encoding="utf-8",
    )
    return {
        "zh": out / period,
        "zh2": out / f"{period}.2",
        "en": out / f"{period}.3",
        "allowed": allowed,
        "base": base,
    }


def verify(directory: Path, allowed: Path | None = None) -> tuple[int, str]:
    args = [str(VENV_BIN / "opsproof"), "evidence", "verify", str(directory)]
    if allowed:
        args += ["--allowed-signers", str(allowed)]
    r = sh(*args)
    return r.rc, r.out


def test_pack_verifies_with_signature_and_coreutils(pack: dict[str, Path]) -> None:
    rc, out = verify(pack["zh"], pack["allowed"])
    assert rc == 0, out
    for argv in (
        ["sha256sum", "-c", "--quiet", "SHA256SUMS"],
        ["cksum", "-a", "sm3", "-c", "--quiet", "SM3SUMS"],
    ):
        proc = subprocess.run(argv, cwd=pack["zh"], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("attack", ["edit", "delete", "add", "symlink", "signature"])
def test_each_tampering_fails_naming_the_file(pack: dict[str, Path], attack: str) -> None:
    copy = pack["base"] / f"tampered-{attack}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(pack["zh"], copy, symlinks=True)
    victim = "scorecard.json"
    if attack == "edit":
        data = bytearray((copy / victim).read_bytes())
        data[10] ^= 1
        (copy / victim).write_bytes(bytes(data))
    elif attack == "delete":
        (copy / victim).unlink()
    elif attack == "add":
        victim = "sources/note.txt"
        (copy / victim).write_text("added later\n", encoding="utf-8")
    elif attack == "symlink":
        (copy / victim).unlink()
        (copy / victim).symlink_to(pack["zh"] / victim)
    else:
        sums = copy / "SHA256SUMS"
        sig = copy / "SHA256SUMS.sig"
        sig.unlink()  # replaced by a signature from a key the auditor does not trust
        other = pack["base"] / "other_key"
        if not other.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True
            )
        subprocess.run(
            [
                "ssh-keygen",
                "-Y",
                "sign",
                "-q",
                "-f",
                str(other),
                "-n",
                "opsproof-evidence",
                str(sums),
            ],
            check=True,
            capture_output=True,
        )
        assert sig.is_file()
        rc, out = verify(copy, pack["allowed"])
        assert rc == 1, out
        assert "signature" in out, out
        return
    rc, out = verify(copy)
    expected = {"edit": "edited", "delete": "missing", "add": "extra", "symlink": "symlink"}[attack]
    assert rc == 1, out
    assert f"{expected}: {victim}" in out, out


def test_rebuild_gives_the_same_sums(pack: dict[str, Path]) -> None:
    assert (pack["zh"] / "SHA256SUMS").read_bytes() == (pack["zh2"] / "SHA256SUMS").read_bytes()


def test_scorecard_recomputed_from_the_pack(pack: dict[str, Path]) -> None:
    root = pack["zh"]
    card = json.loads((root / "scorecard.json").read_text())
    goals = {g["id"]: g for g in card["goals"]}
    html = (root / "report.zh.html").read_text(encoding="utf-8")
    hosts = set(card["hosts"])
    # monthly inspection: months with an inspection of every host, from the copied JSON
    months = set()
    inspections = sorted(root.glob("sources/inspection/*/inspection.json"))
    assert inspections, "the pack holds no inspection"
    for path in inspections:
        doc = load_results(path)
        checks = [r for r in doc.results if isinstance(r, CheckResult)]
        covered = {c.host for c in checks} - {c.host for c in checks if c.status == "error"}
        if hosts <= covered:
            months.add(f"{doc.run.started_at.astimezone(TZ):%Y-%m}")
        for host in {c.host for c in checks}:
            row = f'id="insp-{doc.run.id}-{host}"'
            assert row in html
            counts = [
                sum(1 for c in checks if c.host == host and c.status == s)
                for s in ("pass", "warn", "fail", "waived", "not-applicable", "error")
            ]
            cells = html.split(row, 1)[1].split("</tr>", 1)[0]
            assert "".join(f"<td>{n}</td>" for n in counts) in cells
    due = goals["monthly_inspection"]["detail"]["months_due"]
    done = sum(1 for m in due if m in months)
    assert goals["monthly_inspection"]["value"] == round(100 * done / len(due), 1)
    # planned O&M: the rows add up to the measured share
    rows = goals["planned_om"]["detail"]["rows"]
    share = round(100 * sum(r["done"] for r in rows) / sum(r["due"] for r in rows), 1)
    assert goals["planned_om"]["value"] == share
    assert next(r for r in rows if r["activity"] == "inspection")["done"] == min(done, len(due))
    # fault handling: from the chaos summary in the pack, or no evidence
    chaos = sorted(root.glob("sources/chaos/*/summary.json"))
    if chaos:
        exps = [r for r in load_results(chaos[-1]).results if isinstance(r, ExperimentResult)]
        worst = max(r.time_to_recover_s for r in exps if r.time_to_recover_s is not None)
        assert goals["fault_handling"]["detail"]["worst_recover_s"] == worst
        for x in exps:
            assert f'id="exp-{x.name}"' in html
    else:
        assert goals["fault_handling"]["evidence"] is False
        assert goals["fault_handling"]["met"] is False
    # satisfaction: from the survey copied in; 2 of 3 answers are >= 4
    assert goals["satisfaction"]["measured"].startswith("66.7 % (2/3)")
    assert goals["satisfaction"]["met"] is False
    # no incident log: no evidence, not met, and the report says so
    assert goals["no_major_failure"]["evidence"] is False
    assert "无证据" in html.split('id="goal-no_major_failure"', 1)[1].split("</tr>", 1)[0]
    for g in goals.values():
        cell = html.split(f'id="goal-{g["id"]}"', 1)[1].split("</tr>", 1)[0]
        assert (g["measured"] if g["evidence"] else "无证据") in cell


def _row(html: str, row_id: str) -> str:
    assert f'id="{row_id}"' in html, row_id
    return html.split(f'id="{row_id}"', 1)[1].split("</tr>", 1)[0]


def test_patch_and_backup_tables_recomputed_from_the_pack(pack: dict[str, Path]) -> None:
    root = pack["zh"]
    html = (root / "report.zh.html").read_text(encoding="utf-8")
    # patches: one row per inspection and host, from its HLT-APT-001 result
    rows = 0
    for path in sorted(root.glob("sources/inspection/*/inspection.json")):
        doc = load_results(path)
        for r in doc.results:
            if isinstance(r, CheckResult) and r.control_id == "HLT-APT-001":
                cells = _row(html, f"apt-{doc.run.id}-{r.host}")
                actual = r.actual if len(r.actual) <= 120 else r.actual[:117] + "..."
                assert f"<td>{escape(actual)}</td><td>{r.status}</td>" in cells, cells
                rows += 1
    assert rows == html.count('id="apt-'), "a patch row that no inspection in the pack gives"
    # backups and drills: each finished job's duration from its start, the drill and the dumps
    db_hosts = [t.name for t in resolve(REPO / "inventories/lab", group_of("postgresql"))]
    for host in db_hosts:
        path = root / "hosts" / host / "records.json"
        data = json.loads(path.read_text())
        runs = sorted(data["unit_runs"], key=lambda u: u["usec"])
        started: dict[str, int] = {}
        for n, run in enumerate(runs):
            if run["result"] == "started":
                started[run["unit"]] = run["usec"]
                continue
            began = started.pop(run["unit"], None)
            secs = "-" if began is None else f"{(run['usec'] - began) / 1e6:.1f}"
            cells = _row(html, f"unit-{host}-{n}")
            assert f"<td>{run['unit']}</td>" in cells, cells
            assert f"<td>{secs}</td>" in cells, cells
        finished = sum(1 for r in runs if r["result"] != "started")
        assert html.count(f'id="unit-{host}-') == finished
        backups = html.split(f'id="backups-{host}">', 1)[1].split("</p>", 1)[0]
        assert f": {len(data['backups'])} —" in backups, backups
        drill = data.get("restore_drill")
        if isinstance(drill, dict):
            text = html.split(f'id="drill-{host}">', 1)[1].split("</p>", 1)[0]
            assert f"{drill['status']} — {drill['finished']} — {drill['seconds']} s" in text


def test_oscal_validates_with_trestle_and_nist(pack: dict[str, Path]) -> None:
    from trestle.oscal.assessment_results import AssessmentResults

    path = pack["zh"] / "oscal/assessment-results.json"
    model = AssessmentResults.oscal_read(path)
    assert model is not None
    assert len(model.results) == len(list(pack["zh"].glob("sources/inspection/*")))
    assert sh("make", "oscal-schema").rc == 0
    assert nist.errors(path) == []


def test_reports_render_and_pdf_is_not_blank(pack: dict[str, Path]) -> None:
    import pypdfium2 as pdfium

    for lang, directory in (("zh", pack["zh"]), ("en", pack["en"])):
        html = directory / f"report.{lang}.html"
        png = pack["base"] / f"report.{lang}.png"
        assert screenshot(html, png)
        shots = REPO / "reports/evidence-screens"
        shots.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, shots / png.name)  # kept for a person to look at
        page = pdfium.PdfDocument(directory / f"report.{lang}.pdf")[0]
        image = page.render(scale=0.5).to_pil().convert("L")
        lo, hi = image.getextrema()
        assert hi - lo > 100, f"first PDF page of {lang} looks blank"
