"""Assemble a pack: copy the sources, score the KPIs, write the report, OSCAL, index and sums.

Layout of reports/evidence/<period>/:
  index.html                       every file with a line saying what it is (offline)
  report.<lang>.html / .pdf        the O&M summary report (运维总结报告)
  scorecard.json                   the KPI goals as computed (targets from kpi.yml)
  kpi.yml                          the rules the scorecard used
  oscal/assessment-plan.json, oscal/assessment-results.json
  sources/<kind>/<run id>/…        every record the figures come from
  hosts/<host>/records.json        what the hosts' own records said (versions, backups, drills)
  operator/                        survey and incident log, when given
  SHA256SUMS, SM3SUMS (+ SHA256SUMS.sig, allowed_signers when signed)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opsproof import text
from opsproof.errors import ConfigError, OpsproofError
from opsproof.evidence import collect, kpi, oscal, report, sign, sums
from opsproof.evidence.period import TZ, Period
from opsproof.results import CheckResult


@dataclass(frozen=True)
class BuildOptions:
    period: Period
    out_root: Path
    sources: tuple[Path, ...]
    rules: Path
    inventory: str
    lang: text.Lang = "zh"
    survey: Path | None = None
    incidents: Path | None = None
    sign_key: Path | None = None
    force: bool = False
    read_hosts: bool = True
    prepared_by: str = "-"


@dataclass(frozen=True)
class Built:
    directory: Path
    gaps: tuple[collect.Gap, ...]
    goals: tuple[kpi.Goal, ...]
    files: int


def target_dir(options: BuildOptions) -> Path:
    """reports/evidence/<period>, or <period>.2, .3 … beside an existing pack (FORCE replaces)."""
    base = options.out_root / options.period.name
    if options.force or not base.exists():
        return base
    n = 2
    while (options.out_root / f"{options.period.name}.{n}").exists():
        n += 1
    return options.out_root / f"{options.period.name}.{n}"


def build(options: BuildOptions) -> Built:
    rules = kpi.load_rules(options.rules)  # a bad rules file stops here: nothing to score
    runs = collect.find_runs(options.sources, options.period, exclude=options.out_root)
    sel = collect.select(runs)
    gaps = collect.gaps_of(sel, options.period)
    records: list[collect.HostRecords] = []
    if options.read_hosts:
        records, host_gaps = collect.read_hosts(options.inventory, options.period)
        gaps += host_gaps
    hosts = _inventory_hosts(options.inventory, records)
    survey: tuple[int, ...] | None = None
    incidents: tuple[kpi.Incident, ...] | None = None
    try:
        survey = tuple(kpi.read_survey(options.survey)) if options.survey else None
    except ConfigError as err:
        gaps.append(collect.Gap(err.message, err.fix or "fix the file", 2))
    try:
        incidents = tuple(kpi.read_incidents(options.incidents)) if options.incidents else None
    except ConfigError as err:
        gaps.append(collect.Gap(err.message, err.fix or "fix the file", 2))

    out = target_dir(options)
    tmp = out.with_name(f".{out.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for run in sel.all:
            for f in run.files:
                dest = tmp / run.dest / f.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dest)
        records_dest = {}
        for rec in records:
            rel = f"hosts/{rec.host}/records.json"
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(
                json.dumps(rec.data, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
            records_dest[rec.host] = rel
        survey_dest = _copy_operator_file(options.survey, tmp, survey is not None)
        incidents_dest = _copy_operator_file(options.incidents, tmp, incidents is not None)
        shutil.copyfile(options.rules, tmp / "kpi.yml")

        times = [r.doc.run.finished_at for r in sel.all]
        as_of = max(times).astimezone(TZ) if times else options.period.start
        inputs = kpi.Inputs(
            period=options.period,
            as_of=as_of,
            selection=sel,
            hosts=tuple(hosts),
            records=tuple(records),
            records_dest=records_dest,
            survey=survey,
            survey_dest=survey_dest,
            incidents=incidents,
            incidents_dest=incidents_dest,
        )
        goals = kpi.score(rules, inputs)
        gaps += kpi.goal_gaps(goals)
        (tmp / "scorecard.json").write_text(
            json.dumps(
                {
                    "period": options.period.name,
                    "as_of": as_of.isoformat(),
                    "hosts": list(hosts),
                    "goals": [dataclasses.asdict(g) for g in goals],
                },
                indent=1,
                sort_keys=True,
                ensure_ascii=False,
                default=list,
            )
            + "\n",
            encoding="utf-8",
        )

        fingerprint = sign.fingerprint(options.sign_key) if options.sign_key else None
        if options.sign_key:
            (tmp / "allowed_signers").write_text(
                sign.allowed_signers_line(options.sign_key, options.prepared_by or "operator"),
                encoding="utf-8",
            )
        rin = report.ReportInput(
            period=options.period,
            as_of=as_of,
            selection=sel,
            goals=goals,
            records=records,
            records_dest=records_dest,
            incidents=incidents,
            prepared_by=options.prepared_by,
            fingerprint=fingerprint,
        )
        html_file = tmp / f"report.{options.lang}.html"
        html_file.write_text(report.render(rin, options.lang), encoding="utf-8")
        report.write_pdf(html_file, html_file.with_suffix(".pdf"))

        hashes = {p.as_posix(): sums.digest(tmp / p, "sha256") for p in sums.summed_files(tmp)}
        controls = sorted(
            {
                r.control_id
                for run in sel.inspections
                for r in run.doc.results
                if isinstance(r, CheckResult)
            }
        )
        oscal.write(oscal.plan(options.period.name, as_of, controls), tmp / oscal.PLAN_FILE)
        oscal.write(
            oscal.results(options.period.name, as_of, sel.inspections, hashes),
            tmp / oscal.RESULTS_FILE,
        )
        write_index(tmp, options, sel)
        files = sums.write_sums(tmp)
        if options.sign_key:
            sign.sign(tmp, options.sign_key)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():  # FORCE=1: replace the old pack only once the new one is complete
        shutil.rmtree(out)
    tmp.rename(out)
    return Built(out, tuple(gaps), tuple(goals), len(files))


def _copy_operator_file(path: Path | None, tmp: Path, ok: bool) -> str | None:
    if path is None or not path.is_file():
        return None
    rel = f"operator/{path.name}"
    (tmp / "operator").mkdir(exist_ok=True)
    shutil.copyfile(path, tmp / rel)
    return rel if ok else None


def _inventory_hosts(inventory: str, records: Sequence[collect.HostRecords]) -> list[str]:
    try:
        from opsproof import ssh_targets

        return sorted(t.name for t in ssh_targets.resolve(inventory))
    except OpsproofError:
        return sorted(r.host for r in records)


DESCRIBE = [
    ("index.html", "this page", "本页"),
    ("report.zh.html", "the O&M summary report (HTML)", "运维总结报告（HTML）"),
    ("report.zh.pdf", "the O&M summary report (PDF)", "运维总结报告（PDF）"),
    ("report.en.html", "the O&M summary report, English (HTML)", "运维总结报告英文版（HTML）"),
    ("report.en.pdf", "the O&M summary report, English (PDF)", "运维总结报告英文版（PDF）"),
    ("scorecard.json", "KPI scorecard as computed", "考核指标计算结果"),
    ("kpi.yml", "the KPI rules used", "考核规则"),
    ("oscal/assessment-plan.json", "OSCAL assessment plan", "OSCAL 评估计划"),
    ("oscal/assessment-results.json", "OSCAL assessment results", "OSCAL 评估结果"),
    ("allowed_signers", "public key the sums were signed with", "签名公钥"),
    ("SHA256SUMS", "SHA-256 of every file (sha256sum -c)", "全部文件 SHA-256 校验值"),
    ("SM3SUMS", "SM3 of every file (cksum -a sm3 -c)", "全部文件 SM3 校验值"),
    ("SHA256SUMS.sig", "SSH signature of SHA256SUMS", "SHA256SUMS 的 SSH 签名"),
    ("sources/inspection/", "a monthly inspection (巡检记录表, results, JUnit)", "月度巡检"),
    ("sources/chaos/", "chaos drills: summary and journals", "故障演练"),
    ("sources/perf-compare/", "performance before/after comparison", "性能优化对比"),
    ("sources/provision/", "a provisioning run: log and results", "部署/配置运行"),
    ("sources/drift/", "a drift check (check mode): log and results", "配置漂移检查"),
    ("hosts/", "the host's own records: versions, backups, restore drill", "主机记录"),
    ("operator/", "a file given by the operator (survey, incident log)", "运维方提供的文件"),
]


def describe(rel: str) -> str:
    for prefix, en, zh in DESCRIBE:
        if rel == prefix or (prefix.endswith("/") and rel.startswith(prefix)):
            return f"{zh} / {en}"
    return "-"


def write_index(root: Path, options: BuildOptions, sel: collect.Selection) -> None:
    names = [p.as_posix() for p in sums.walk(root)] + ["SHA256SUMS", "SM3SUMS"]
    if options.sign_key:
        names.append("SHA256SUMS.sig")
    names = sorted(set(names) | {"index.html"})
    rows = "".join(
        f'<tr><td><a href="{html.escape(n)}">{html.escape(n)}</a></td>'
        f"<td>{html.escape(describe(n))}</td></tr>"
        for n in names
    )
    (root / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>证据包 / Evidence pack {html.escape(options.period.name)}</title>"
        "<style>body{font-family:'Noto Sans CJK SC',sans-serif}td{padding:2px 8px}</style>"
        f"</head><body><h1>证据包 / Evidence pack {html.escape(options.period.name)}</h1>"
        f"<p>{len(sel.inspections)} inspections; verify: "
        "<code>sha256sum -c SHA256SUMS</code>, <code>cksum -a sm3 -c SM3SUMS</code>, "
        "<code>opsproof evidence verify DIR</code></p>"
        f"<table>{rows}</table></body></html>\n",
        encoding="utf-8",
    )


def now_local() -> dt.datetime:
    return dt.datetime.now(TZ)
