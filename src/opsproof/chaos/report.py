"""The chaos summary: one results document (kind `chaos`, one `experiment` result each), and
the same table in Markdown and HTML for the auditors. Reports read the results; they never
re-measure."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from opsproof.results import ExperimentResult, ResultsDocument

COLUMNS = (
    "experiment",
    "fault",
    "target",
    "hypothesis before / after",
    "time to detect (s)",
    "time to recover (s)",
    "requests during fault",
    "error rate",
    "writes ack / failed / lost",
    "rollback verified",
    "alert: fired / resolved (s)",
    "mechanism / finding",
)


def _seconds(value: float | None, none: str) -> str:
    return none if value is None else f"{value:.1f}"


def row(r: ExperimentResult) -> list[str]:
    notes = "; ".join(x for x in (r.mechanism, r.finding) if x)
    return [
        r.name,
        r.fault,
        r.target or "",
        f"{'met' if r.hypothesis_met_before else 'NOT met'} / "
        f"{'met' if r.hypothesis_met_after else 'NOT met'}",
        _seconds(r.time_to_detect_s, "not detected"),
        _seconds(r.time_to_recover_s, "did not recover" if r.time_to_detect_s else "–"),
        str(r.requests_during_fault),
        f"{r.error_rate * 100:.1f} %",
        f"{r.writes_acknowledged} / {r.writes_failed} / {r.writes_lost}",
        "yes" if r.rollback_ok else "NO",
        alert_cell(r),
        notes,
    ]


def alert_cell(r: ExperimentResult) -> str:
    """The expected alert, fault -> firing and recovery -> resolved (from the receiver)."""
    if r.alert is None:
        return "–"
    if r.alert_fired_s is None:
        return r.alert if "(not checked" in r.alert else f"{r.alert}: not fired"
    resolved = "not resolved" if r.alert_resolved_s is None else f"{r.alert_resolved_s:.1f}"
    return f"{r.alert}: {r.alert_fired_s:.1f} / {resolved}"


def experiments(doc: ResultsDocument) -> list[ExperimentResult]:
    return [r for r in doc.results if isinstance(r, ExperimentResult)]


HEADER = """How to read it: *time to detect* is from the fault's injection to the first failed
health round (monitor: every subsystem's /health through nginx, every 0.5 s); *time to recover*
is from the fault's end (the kill itself, or the removal of the rules / fill / load) to the
first health round of the final unbroken passing run; *requests during fault* counts the
monitor's and the writer's requests from injection to recovery, and *error rate* is the share
of them that failed. *Writes*: acknowledged (201 with an id), failed (the client saw an error),
lost (acknowledged but missing from the database after recovery: must be 0). *Alert*: the
alert the experiment must raise, seconds from the fault to its firing notification and from
the recovery to its resolved notification, read from the alert receiver's file on the ops host."""


def markdown(doc: ResultsDocument, journals: Sequence[str] = ()) -> str:
    rows = [row(r) for r in experiments(doc)]
    out = [
        f"# Chaos experiments — run {doc.run.id}",
        "",
        f"Started {doc.run.started_at.isoformat()}, finished {doc.run.finished_at.isoformat()}, "
        f"operator {doc.run.operator}, inventory {doc.run.inventory}, commit "
        f"{(doc.run.git_commit or 'none')[:12]}{' (dirty)' if doc.run.git_dirty else ''}.",
        "",
        HEADER,
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    out += ["", "Journals (Chaos Toolkit): " + ", ".join(f"`{j}`" for j in journals), ""]
    return "\n".join(out)


def html_page(doc: ResultsDocument) -> str:
    rows = [row(r) for r in experiments(doc)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)

    def cls(r: ExperimentResult) -> str:
        bad = r.writes_lost or not r.rollback_ok or not r.hypothesis_met_after
        return ' class="bad"' if bad else ""

    body = "".join(
        f"<tr{cls(r)}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
        for r, cells in zip(experiments(doc), rows, strict=True)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Chaos experiments {html.escape(doc.run.id)}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:4px 8px;font-size:13px;vertical-align:top}"
        "th{background:#eee}tr.bad td{background:#fdd}</style></head><body>"
        f"<h1>Chaos experiments — run {html.escape(doc.run.id)}</h1>"
        f"<p>Started {html.escape(doc.run.started_at.isoformat())}, operator "
        f"{html.escape(doc.run.operator)}, inventory {html.escape(str(doc.run.inventory))}.</p>"
        f"<p>{html.escape(HEADER)}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>\n"
    )


def write(doc: ResultsDocument, directory: Path, journals: Sequence[str] = ()) -> None:
    (directory / "summary.md").write_text(markdown(doc, journals), encoding="utf-8")
    (directory / "summary.html").write_text(html_page(doc), encoding="utf-8")
