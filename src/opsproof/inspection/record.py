"""The inspection record (巡检记录表) in Markdown and HTML, from a results document only.

Chinese by default, English with lang="en". Header (platform, period, inspector, hosts),
counts by severity and status, failures first with their remedy, then warnings (health
measurements past their warning threshold) and waivers (justification, approver, expiry),
then a table per host with what each check found against what it expects (for a health
check: the measured values and the thresholds in force).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opsproof import text
from opsproof.inspection.evaluate import by_host
from opsproof.inspection.health import describe
from opsproof.results.model import CheckResult, ResultsDocument
from opsproof.text import Lang

SEVERITIES = ("critical", "high", "medium", "low", "info")
STATUSES = ("fail", "error", "warn", "waived", "pass", "not-applicable")

# The wording (text.json's "inspection_record" and "common" tables).
t = text.lookup("inspection_record")


@dataclass(frozen=True)
class Record:
    markdown: str
    html: str


def _title(r: CheckResult, lang: Lang) -> str:
    return (r.title_zh or r.title) if lang == "zh" else r.title


def _remedy(r: CheckResult, lang: Lang) -> str:
    """The remedy in the record's language (zh: the English one for results written before
    remedy_zh existed)."""
    return (r.remedy_zh or r.remedy or "") if lang == "zh" else (r.remedy or "")


def _cell(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def _expected(value: object) -> str:
    """A health threshold as 'warn >= 80 %, fail >= 90 %'; anything else as _cell."""
    if isinstance(value, dict) and "worse" in value and "fail" in value:
        return _cell(describe(value))
    return _cell(value)


def _ordered(results: Sequence[CheckResult]) -> list[CheckResult]:
    sev = {s: n for n, s in enumerate(SEVERITIES)}
    st = {s: n for n, s in enumerate(STATUSES)}
    return sorted(results, key=lambda r: (st[r.status], sev[r.severity], r.host, r.control_id))


def _findings_table(rows: list[CheckResult], lang: Lang) -> list[str]:
    """Markdown rows of failed or warned checks, each with what was found and the remedy."""
    lines = [
        f"| {t('host', lang)} | {t('control', lang)} | {t('severity', lang)} | "
        f"{t('actual', lang)} | {t('expected', lang)} | {t('remedy', lang)} |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.host} | {r.control_id} {_cell(_title(r, lang))} | {t(r.severity, lang)} | "
        f"{_cell(r.actual)} | {_expected(r.expected)} | {_cell(_remedy(r, lang))} |"
        for r in rows
    ]
    return lines


def render(doc: ResultsDocument, lang: Lang = "zh") -> Record:
    checks = [r for r in doc.results if isinstance(r, CheckResult)]
    failures = [r for r in _ordered(checks) if r.status in ("fail", "error")]
    warnings = [r for r in _ordered(checks) if r.status == "warn"]
    waived = [r for r in _ordered(checks) if r.waiver is not None]
    counts: Counter[tuple[str, str]] = Counter((r.severity, r.status) for r in checks)
    run = doc.run
    header = [
        (t("platform", lang), t("platform_name", lang)),
        (t("period", lang), f"{run.started_at:%Y-%m-%d %H:%M} – {run.finished_at:%H:%M} UTC"),
        (t("inspector", lang), run.operator),
        (t("hosts", lang), ", ".join(run.hosts)),
        (t("commit", lang), (run.git_commit or "-")[:12] + (" (dirty)" if run.git_dirty else "")),
    ]
    md = [f"# {t('title', lang)}", ""]
    md += [f"- **{k}**: {v}" for k, v in header]
    md += ["", f"## {t('summary', lang)}", ""]
    md.append("| " + " | ".join([t("severity", lang)] + [t(s, lang) for s in STATUSES]) + " |")
    md.append("|" + "---|" * (len(STATUSES) + 1))
    for sev in SEVERITIES:
        row = [counts[(sev, s)] for s in STATUSES]
        if any(row):
            md.append(f"| {t(sev, lang)} | " + " | ".join(str(n) for n in row) + " |")
    for heading, rows in (("failures", failures), ("warnings", warnings)):
        md += ["", f"## {t(heading, lang)}", ""]
        md += _findings_table(rows, lang) if rows else [t("none", lang)]
    md += ["", f"## {t('waivers', lang)}", ""]
    if waived:
        md.append(
            f"| {t('host', lang)} | {t('control', lang)} | {t('actual', lang)} | "
            f"{t('justification', lang)} | {t('approver', lang)} | {t('expires', lang)} |"
        )
        md.append("|---|---|---|---|---|---|")
        for r in waived:
            w = r.waiver
            assert w is not None
            ticket = f" ({w.ticket})" if w.ticket else ""
            md.append(
                f"| {r.host} | {r.control_id} {_cell(_title(r, lang))} | {_cell(r.actual)} | "
                f"{_cell(w.reason)}{_cell(ticket)} | {_cell(w.approved_by)} | "
                f"{w.expires.isoformat() if w.expires else '-'} |"
            )
    else:
        md.append(t("none", lang))
    md += ["", f"## {t('per_host', lang)}"]
    for host, rows in sorted(by_host(checks).items()):
        md += ["", f"### {host}", ""]
        md.append(
            f"| {t('control', lang)} | {t('severity', lang)} | {t('status', lang)} | "
            f"{t('actual', lang)} | {t('expected', lang)} | {t('refs', lang)} |"
        )
        md.append("|---|---|---|---|---|---|")
        for r in _ordered(rows):
            status = t(r.status, lang)
            if r.waiver:
                until = r.waiver.expires.isoformat() if r.waiver.expires else "-"
                status += (
                    f" ({t('waiver', lang)}: {r.waiver.reason}; {r.waiver.approved_by}; "
                    f"{t('expires', lang)} {until})"
                )
            md.append(
                f"| {r.control_id} {_cell(_title(r, lang))} | {t(r.severity, lang)} | "
                f"{_cell(status)} | {_cell(r.actual)} | {_expected(r.expected)} | "
                f"{_cell('; '.join(r.references))} |"
            )
    md += ["", t("sign", lang), ""]
    markdown = "\n".join(md)
    return Record(markdown, _html(markdown, lang))


def _html(markdown: str, lang: Lang) -> str:
    """A small, dependency-free rendering of the Markdown above (headings, lists, tables)."""
    body: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if not table:
            return
        head, *rows = table
        # Rows are coloured by their status cell (the per-host tables have one).
        status = (t("status", "zh"), t("status", "en"))
        col = next((i for i, c in enumerate(head) if c in status), None)
        body.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr></thead>")
        body.append(
            "<tbody>"
            + "".join(
                f'<tr class="{_row_class(r[col] if col is not None and col < len(r) else "")}">'
                + "".join(f"<td>{c}</td>" for c in r)
                + "</tr>"
                for r in rows
            )
            + "</tbody></table>"
        )
        table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            if re.fullmatch(r"\|(-+\|)+", line):  # the header separator
                continue
            cells = [
                html.escape(c.strip().replace("\\|", "|")) for c in line.strip("|").split(" | ")
            ]
            table.append(cells)
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            text = html.escape(line[2:]).replace("**", "")
            body.append(f'<p class="meta">{text}</p>')
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    flush()
    title = html.escape(t("title", lang))
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{title}</title><style>'
        "body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;margin:2em;}"
        "table{border-collapse:collapse;margin:1em 0;width:100%;font-size:13px}"
        "th,td{border:1px solid #999;padding:4px 6px;text-align:left;vertical-align:top}"
        "th{background:#eee}td:nth-child(2),td:nth-child(3){white-space:nowrap}"
        "tr.fail td{background:#fde2e2}tr.warn td{background:#ffe9c7}"
        "tr.waived td{background:#e3ecfa}"
        ".meta{margin:2px 0}"
        f"</style></head><body>\n{chr(10).join(body)}\n</body></html>\n"
    )


_STATUS_WORDS = {
    "fail": ("不符合", "无法检查", "fail", "error"),
    "warn": ("预警", "warn"),
    "waived": ("已豁免", "waived"),
}


def _row_class(status_cell: str) -> str:
    for cls, words in _STATUS_WORDS.items():
        if any(status_cell.startswith(w) for w in words):
            return cls
    return ""


def screenshot(html_file: Path, png_file: Path, *, timeout_s: float = 60) -> bool:
    """Render the HTML record in headless Chromium and save a PNG beside it.

    Returns False when Debian's chromium is not installed; raises on a failed render.
    """
    browser = shutil.which("chromium")
    if browser is None:
        return False
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1400,1800",
            f"--screenshot={png_file}",
            html_file.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if proc.returncode != 0 or not png_file.is_file():
        raise RuntimeError(f"chromium could not render {html_file}: {proc.stderr.strip()[-500:]}")
    return True
