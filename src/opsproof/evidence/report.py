"""The O&M summary report (运维总结报告) in HTML, from the pack's files only, and its PDF.

Chinese by default, English with lang="en". Every table names the pack file its figures come
from; a missing source is shown as "无证据 / no evidence". Rows carry ids (`insp-<run>-<host>`,
`goal-<id>`, `exp-<name>`, `perf-<subsystem>`) so a test can find each figure again. The same
inputs give the same bytes: no build time, sorted rows, fixed number formats.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from opsproof import placement, text
from opsproof.evidence.collect import HostRecords, Selection, SourceRun
from opsproof.evidence.kpi import Goal, Incident, experiments
from opsproof.evidence.period import TZ, Period
from opsproof.results import CheckResult, Comparison, LoadResult
from opsproof.text import Lang

STATUSES = ("pass", "warn", "fail", "waived", "not-applicable", "error")

# The wording (text.json's "summary_report" and "common" tables).
t = text.lookup("summary_report")


def e(value: object) -> str:
    return html.escape(str(value))


def link(path: str) -> str:
    return f'<a href="{e(path)}">{e(path)}</a>'


def table(head: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """rows: (row id, cells already escaped)."""
    if not rows:
        return ""
    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join(
        f'<tr id="{e(rid)}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        for rid, cells in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def local(moment: dt.datetime) -> str:
    return f"{moment.astimezone(TZ):%Y-%m-%d %H:%M}"


def num(value: float | None, fmt: str = ".1f") -> str:
    return "-" if value is None else format(value, fmt)


@dataclass(frozen=True)
class ReportInput:
    period: Period
    as_of: dt.datetime
    selection: Selection
    goals: Sequence[Goal]
    records: Sequence[HostRecords]
    records_dest: Mapping[str, str]
    incidents: Sequence[Incident] | None
    prepared_by: str
    fingerprint: str | None


def status_counts(run: SourceRun, host: str) -> Counter[str]:
    return Counter(
        r.status for r in run.doc.results if isinstance(r, CheckResult) and r.host == host
    )


def failing(run: SourceRun) -> dict[tuple[str, str], CheckResult]:
    return {
        (r.host, r.control_id): r
        for r in run.doc.results
        if isinstance(r, CheckResult) and r.status in ("fail", "error")
    }


def render(inp: ReportInput, lang: Lang) -> str:
    sel = inp.selection
    parts: list[str] = []
    commit = next((r.doc.run.git_commit for r in reversed(sel.all) if r.doc.run.git_commit), None)
    met = sum(1 for g in inp.goals if g.met)
    # cover
    parts.append(
        f'<section class="cover"><h1>{e(t("title", lang))}</h1>'
        f"<p class=big>{e(t('platform_name', lang))}</p><dl>"
        f"<dt>{e(t('period', lang))}</dt><dd>{e(inp.period.name)}</dd>"
        f"<dt>{e(t('as_of', lang))}</dt><dd>{e(local(inp.as_of))}</dd>"
        f"<dt>{e(t('prepared', lang))}</dt><dd>{e(inp.prepared_by)}</dd>"
        f"<dt>{e(t('reviewed', lang))}</dt><dd>__________</dd>"
        f"<dt>{e(t('commit', lang))}</dt><dd><code>{e(commit or '-')}</code></dd></dl></section>"
    )
    # executive summary
    open_now = failing(sel.inspections[-1]) if sel.inspections else {}
    parts.append(
        f"<h2>{e(t('summary', lang))}</h2><ul>"
        f'<li id="sum-goals">{e(t("goals_met", lang))}: {met}/{len(inp.goals)}</li>'
        f'<li id="sum-inspections">{e(t("inspections", lang)[2:].strip())}: '
        f"{len(sel.inspections)}</li>"
        f'<li id="sum-open">{e(t("open", lang))}: {len(open_now)}</li>'
        f'<li id="sum-drills">{e(t("incidents", lang)[2:].strip())}: '
        f"{len(experiments(sel.chaos))}</li></ul>"
    )
    # scope and assets
    rows = []
    for rec in sorted(inp.records, key=lambda r: r.host):
        pkgs = ", ".join(f"{k} {v}" for k, v in sorted(rec.data.get("packages", {}).items()))
        rows.append(
            (
                f"host-{rec.host}",
                [
                    e(rec.host),
                    e(", ".join(rec.groups)),
                    e(rec.data.get("os") or "-"),
                    e(pkgs),
                    link(inp.records_dest[rec.host]),
                ],
            )
        )
    parts.append(f"<h2>{e(t('scope', lang))}</h2>")
    parts.append(
        table([t(k, lang) for k in ("host", "groups", "os", "middleware", "source")], rows)
        or f"<p class=gap>{e(t('no_evidence', lang))}</p>"
    )
    # KPI scorecard
    rows = []
    for g in inp.goals:
        verdict = (
            (t("met", lang) if g.met else t("not_met", lang))
            if g.evidence
            else f"{t('no_evidence', lang)} / {t('not_met', lang)}"
        )
        measured = e(g.measured) if g.evidence else f"<b>{e(t('no_evidence', lang))}</b>"
        if g.id == "satisfaction":
            proxy = g.detail.get("proxy", {})
            apdex = proxy.get("apdex")
            measured += (
                f"<br><small>Apdex {num(apdex, '.3f')} ({e(t('proxy', lang))})"
                + (f" — {link(proxy['source'])}" if proxy.get("source") else "")
                + "</small>"
            )
        cls = "ok" if g.met else "bad"
        rows.append(
            (
                f"goal-{g.id}",
                [
                    e(t(g.id, lang)),
                    e(g.target),
                    measured,
                    f'<span class="{cls}">{e(verdict)}</span>',
                    "<br>".join(link(s) for s in g.sources) or "-",
                ],
            )
        )
    parts.append(f"<h2>{e(t('kpi', lang))}</h2>")
    parts.append(
        table([t(k, lang) for k in ("goal", "target", "measured", "result", "source")], rows)
    )
    # inspections
    parts.append(f"<h2>{e(t('inspections', lang))}</h2>")
    if not sel.inspections:
        parts.append(f"<p class=gap>{e(t('no_evidence', lang))}</p>")
    rows = []
    for run in sel.inspections:
        hosts = sorted({r.host for r in run.doc.results if isinstance(r, CheckResult)})
        for host in hosts:
            c = status_counts(run, host)
            rows.append(
                (
                    f"insp-{run.doc.run.id}-{host}",
                    [
                        e(local(run.doc.run.started_at)),
                        e(host),
                        *[str(c.get(s, 0)) for s in STATUSES],
                        link(f"{run.dest}/inspection.json"),
                    ],
                )
            )
    parts.append(table([t("date", lang), t("host", lang), *STATUSES, t("source", lang)], rows))
    if len(sel.inspections) >= 2:
        before, after = failing(sel.inspections[-2]), failing(sel.inspections[-1])
        fixed = sorted(set(before) - set(after))
        parts.append(
            f"<h3>{e(t('fixed', lang))}</h3><p id=fixed>"
            + (e(", ".join(f"{h} {c}" for h, c in fixed)) or e(t("none", lang)))
            + "</p>"
        )
    if sel.inspections:
        last = sel.inspections[-1]
        waived = sorted(
            (r for r in last.doc.results if isinstance(r, CheckResult) and r.waiver),
            key=lambda r: (r.host, r.control_id),
        )
        wrows = [
            (
                f"waiver-{r.host}-{r.control_id}",
                [
                    e(r.host),
                    e(r.control_id),
                    e(r.waiver.reason),
                    e(r.waiver.approved_by),
                    e(r.waiver.expires or "-"),
                ],
            )
            for r in waived
            if r.waiver
        ]
        parts.append(f"<h3>{e(t('waivers', lang))}</h3>")
        parts.append(
            table(
                [t(k, lang) for k in ("host", "control", "waivers", "approver", "expires")], wrows
            )
            or f"<p>{e(t('none', lang))}</p>"
        )
    # backups and restore drills
    parts.append(f"<h2>{e(t('backups', lang))}</h2>")
    db = [r for r in inp.records if placement.group_of("postgresql") in r.groups]
    if not db:
        parts.append(f"<p class=gap>{e(t('no_evidence', lang))}</p>")
    for rec in db:
        rows = []
        starts: dict[str, int] = {}
        for n, ur in enumerate(sorted(rec.data.get("unit_runs", []), key=lambda u: u["usec"])):
            if ur["result"] == "started":
                starts[ur["unit"]] = ur["usec"]
                continue
            began = starts.pop(ur["unit"], None)
            secs = (ur["usec"] - began) / 1e6 if began else None
            moment = dt.datetime.fromtimestamp(ur["usec"] / 1e6, TZ)
            rows.append(
                (
                    f"unit-{rec.host}-{n}",
                    [e(ur["unit"]), e(local(moment)), e(ur["result"]), num(secs)],
                )
            )
        parts.append(
            table([t(k, lang) for k in ("unit", "date", "result", "duration")], rows)
            or f"<p class=gap>{e(t('unit', lang))}: {e(t('no_evidence', lang))}</p>"
        )
        drill = rec.data.get("restore_drill")
        drill_text = (
            f"{drill.get('status')} — {drill.get('finished')} — {drill.get('seconds')} s — "
            f"{drill.get('dump')}"
            if isinstance(drill, dict)
            else t("no_evidence", lang)
        )
        parts.append(
            f'<p id="drill-{e(rec.host)}">{e(t("last_drill", lang))}: {e(drill_text)}</p>'
            f'<p id="backups-{e(rec.host)}">{e(t("backups_on_disk", lang))}: '
            f"{len(rec.data.get('backups', []))} — {link(inp.records_dest[rec.host])}</p>"
        )
    # patches
    parts.append(f"<h2>{e(t('patches', lang))}</h2>")
    rows = []
    for run in sel.inspections:
        for r in sorted(
            (
                r
                for r in run.doc.results
                if isinstance(r, CheckResult) and r.control_id == "HLT-APT-001"
            ),
            key=lambda r: r.host,
        ):
            rows.append(
                (
                    f"apt-{run.doc.run.id}-{r.host}",
                    [
                        e(local(run.doc.run.started_at)),
                        e(r.host),
                        e(_short(r.actual)),
                        e(r.status),
                        link(f"{run.dest}/inspection.json"),
                    ],
                )
            )
    parts.append(
        table([t(k, lang) for k in ("date", "host", "pending", "result", "source")], rows)
        or f"<p class=gap>{e(t('no_evidence', lang))}</p>"
    )
    # incidents and drills
    parts.append(f"<h2>{e(t('incidents', lang))}</h2>")
    rows = [
        (
            f"exp-{x.name}",
            [
                e(x.name),
                e(x.target or "-"),
                num(x.time_to_detect_s),
                num(x.time_to_recover_s),
                str(x.requests_during_fault),
                num(x.error_rate, ".3f"),
                str(x.writes_lost),
            ],
        )
        for x in experiments(sel.chaos)
    ]
    parts.append(
        table(
            [
                t(k, lang)
                for k in (
                    "experiment",
                    "host",
                    "detect",
                    "recover",
                    "requests",
                    "error_rate",
                    "lost",
                )
            ],
            rows,
        )
        or f"<p class=gap>{e(t('no_evidence', lang))}</p>"
    )
    if sel.chaos:
        parts.append(f"<p>{e(t('source', lang))}: {link(sel.chaos.dest + '/summary.json')}</p>")
    if inp.incidents:
        irows = [
            (f"inc-{n}", [e(i.start.isoformat()), e(i.description), num(i.outage_s / 60)])
            for n, i in enumerate(inp.incidents)
        ]
        parts.append(f"<h3>{e(t('incident_log', lang))}</h3>" + table(["start", "", "min"], irows))
    # performance
    parts.append(f"<h2>{e(t('perf', lang))}</h2>")
    parts.append(perf_section(sel.perf, lang))
    # problems and improvement plan
    parts.append(f"<h2>{e(t('problems', lang))}</h2>")
    rows = []
    if sel.inspections:
        last = sel.inspections[-1]
        for (host, cid), r in sorted(failing(last).items()):
            rows.append(
                (
                    f"open-{host}-{cid}",
                    [
                        e(host),
                        e(cid),
                        e(r.title_zh if lang == "zh" and r.title_zh else r.title),
                        e((r.remedy_zh if lang == "zh" and r.remedy_zh else r.remedy) or "-"),
                        "-",
                        "-",
                    ],
                )
            )
        for w in last.doc.results:
            if isinstance(w, CheckResult) and w.status == "waived" and w.waiver:
                rows.append(
                    (
                        f"open-{w.host}-{w.control_id}",
                        [
                            e(w.host),
                            e(w.control_id),
                            e(w.waiver.reason),
                            e(w.waiver.ticket or "-"),
                            e(w.waiver.approved_by),
                            e(w.waiver.expires or "-"),
                        ],
                    )
                )
    parts.append(
        table([t(k, lang) for k in ("host", "control", "open", "remedy", "owner", "due")], rows)
        or f"<p>{e(t('none', lang))}</p>"
    )
    # signature page
    parts.append(
        f'<section class="sign"><h2>{e(t("sign", lang))}</h2><p>{e(t("sign_line", lang))}</p>'
        f'<p id="fingerprint">{e(t("fingerprint", lang))}: '
        f"<code>{e(inp.fingerprint or t('unsigned', lang))}</code></p>"
        f"<p>{e(t('sums_note', lang))}</p></section>"
    )
    return page(t("title", lang) + " " + inp.period.name, "\n".join(parts), lang)


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def perf_section(run: SourceRun | None, lang: Lang) -> str:
    if run is None:
        return f"<p class=gap>{e(t('no_evidence', lang))}</p>"
    comps = sorted(
        (
            c
            for c in run.doc.results
            if isinstance(c, Comparison)
            and c.metric == "p95_ms"
            and c.scope in ("subsystem", "total")
        ),
        key=lambda c: (c.scope != "subsystem", c.subsystem),
    )
    apdex: dict[tuple[str, str], list[float]] = {}
    for r in run.doc.results:
        if isinstance(r, LoadResult) and r.scope in ("subsystem", "total") and r.apdex is not None:
            apdex.setdefault((r.subsystem, r.profile), []).append(r.apdex)

    def mean(values: list[float] | None) -> float | None:
        return sum(values) / len(values) if values else None

    rows = []
    bars = []
    top = max((v for c in comps for v in (c.baseline, c.candidate) if v is not None), default=1.0)
    for n, c in enumerate(comps):
        a_base = mean(apdex.get((c.subsystem, c.baseline_profile)))
        a_cand = mean(apdex.get((c.subsystem, c.candidate_profile)))
        rows.append(
            (
                f"perf-{c.subsystem}",
                [
                    e(c.subsystem),
                    num(c.baseline),
                    num(c.candidate),
                    num(c.ratio, ".2f"),
                    f"{num(a_base, '.3f')} → {num(a_cand, '.3f')}",
                ],
            )
        )
        y = 18 * n
        for k, (value, colour) in enumerate(((c.baseline, "#b0b0b0"), (c.candidate, "#2a6fb0"))):
            width = 0 if value is None else 300 * value / top
            bars.append(
                f'<rect x="120" y="{y + 8 * k}" width="{width:.1f}" height="7" fill="{colour}"/>'
            )
        bars.append(f'<text x="0" y="{y + 12}" font-size="10">{e(c.subsystem)}</text>')
    chart = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="440" height="{18 * len(comps) + 4}" '
        f'role="img">{"".join(bars)}</svg>'
    )
    head = [t(k, lang) for k in ("subsystem", "baseline", "candidate", "ratio", "apdex")]
    return (
        table(head, rows)
        + chart
        + f"<p>{e(t('source', lang))}: {link(run.dest + '/results.json')}</p>"
    )


CSS = """
@page { size: A4; margin: 18mm 15mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; font-size: 10pt; color: #222; }
h1 { font-size: 22pt; } h2 { font-size: 14pt; border-bottom: 1px solid #999; margin-top: 18pt; }
table { border-collapse: collapse; width: 100%; margin: 6pt 0; }
th, td { border: 1px solid #bbb; padding: 2pt 4pt; text-align: left; vertical-align: top;
  word-break: break-all; }
th { background: #eee; } .ok { color: #176b1f; } .bad, .gap { color: #a11; font-weight: bold; }
.cover { page-break-after: always; padding-top: 40mm; } .big { font-size: 16pt; }
.sign { page-break-before: always; } dt { font-weight: bold; } code { font-size: 8pt; }
"""


def page(title: str, body: str, lang: Lang) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{e(title)}</title><style>{CSS}</style></head>'
        f"<body>\n{body}\n</body></html>\n"
    )


def write_pdf(html_file: Path, pdf_file: Path) -> None:
    """The PDF of the HTML, offline (fonts from fonts-noto-cjk); the same bytes every time.

    Links become plain text in the PDF: WeasyPrint would write them as absolute file URLs of
    the folder the pack was built in, which would change the bytes from one folder to the next.
    """
    import re

    import weasyprint  # type: ignore[import-untyped]  # loads pango; no type information

    text = html_file.read_text(encoding="utf-8")
    text = re.sub(r'<a href="[^"]*">', '<span class="path">', text).replace("</a>", "</span>")
    document = weasyprint.HTML(string=text, base_url=None)
    # A fixed identifier (from the file name) and no creation date keep the bytes stable.
    document.write_pdf(str(pdf_file), pdf_identifier=html_file.name.encode())
