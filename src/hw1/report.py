"""The homework report, written from the figure tables and the configuration alone.

:func:`hw1.summaries.summarize` turns a figure's tidy table into a
:class:`~hw1.summaries.common.FigureSummary` (the settings it was made with, a small table
of final numbers, one observation computed from the data). This module only renders
summaries: :func:`caption_rst` as a reStructuredText caption (for the Snakemake HTML
report), :func:`build_report` as ``report.md`` and ``report.html`` laid out like the
homework (parts 1-1, 1-2, 1-3, figures in the catalogue's order), after a Findings table that
sets the literature's claims beside our runs (:mod:`hw1.summaries.findings`).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hw1.catalogue import PARTS, ordered
from hw1.catalogue import figure as catalogued
from hw1.console import finding_line
from hw1.io import atomic_path, read_parquet
from hw1.summaries import summarize
from hw1.summaries.common import FigureSummary, display_table
from hw1.summaries.findings import NOT_RUN, Finding, findings

__all__ = ["build_report", "caption_rst", "rst_escape", "write_caption"]

# ----------------------------------------------------------------------------- RST caption

_RST_SPECIAL = re.compile(r"([\\`*_|\[\]<>])")


def rst_escape(text: str) -> str:
    """Backslash-escape reStructuredText inline markup characters."""
    return _RST_SPECIAL.sub(r"\\\1", str(text))


def caption_rst(summary: FigureSummary) -> str:
    """A standalone reStructuredText caption: settings, final numbers, observation.

    No section titles (it is included into other documents) and no ``{{``/``{%`` (the
    Snakemake report runs captions through Jinja)."""
    out = [f"**{rst_escape(summary.title)}** (part {summary.part})", "", "Setup:", ""]
    out += [f"- {rst_escape(s)}" for s in summary.settings]
    header, rows = display_table(summary.numbers)
    title = "Final numbers" + (f" ({summary.note})" if summary.note else "")
    out += ["", f".. list-table:: {rst_escape(title)}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append(f"   * - {rst_escape(row[0])}")
        out += [f"     - {rst_escape(c)}" for c in row[1:]]
    out += ["", f"**Observation.** {rst_escape(summary.observation)}", ""]
    text = "\n".join(out)
    return text.replace("{{", "{ {").replace("{%", "{ %").replace("{#", "{ #")


def write_caption(
    figure: str,
    table_path: str | os.PathLike,
    config: Mapping[str, Any],
    out_path: str | os.PathLike,
) -> FigureSummary:
    """Summarize ``figure`` from its table file and write its RST caption atomically: what
    the figure shows (from the catalogue), then the settings and numbers."""
    summary = summarize(figure, read_parquet(table_path), config)
    about = catalogued(figure).about
    head = [rst_escape(about), ""] if about else []
    head += [f"Settings and key numbers (computed from ``{Path(table_path).as_posix()}``):", ""]
    with atomic_path(out_path) as tmp:
        tmp.write_text("\n".join([*head, caption_rst(summary)]), encoding="utf-8")
    return summary


# ----------------------------------------------------------------------------- report


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def markdown_table(numbers: pd.DataFrame) -> str:
    """The numbers table in GitHub-flavoured Markdown."""
    header, rows = display_table(numbers)
    lines = [
        "| " + " | ".join(_md_cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(numbers: pd.DataFrame) -> str:
    """The numbers table as an HTML table (text escaped)."""
    header, rows = display_table(numbers)
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody>\n</table>"


REPORT_TITLE = "MLDS 2018 HW1, reproduced"
REPORT_INTRO = (
    "Written by the workflow from the figure tables (results/tables/*.parquet) and the "
    "configuration: every setting, number and observation below is computed from them."
)


FINDINGS_TITLE = "Findings"
FINDINGS_INTRO = (
    "Each row sets a claim of the literature beside our runs: where it comes from (and where "
    "our copy of the paper was read, docs/papers.md), the paper's number and protocol, ours, "
    "and a verdict by the criterion the row states (agrees, disagrees, mixed: its parts "
    "differ, inconclusive: the interval spans the criterion; not run: the experiment is not "
    "configured). Intervals are 95% percentile-bootstrap intervals over seeds or models with a"
    " fixed generator (hw1.stats), so a rerun gives the same numbers."
)
FINDINGS_HEADER = ("Claim", "Source", "Paper", "Ours", "Verdict", "Figure")


def verdict_text(f: Finding) -> str:
    """The verdict, its parts' verdicts where they differ, and its criterion (plain text)."""
    parts = ""
    if len({v for _, v in f.parts}) > 1:
        parts = " (" + ", ".join(f"{name}: {v}" for name, v in f.parts) + ")"
    return f"{f.verdict}{parts}; criterion: {f.criterion}"


def findings_markdown(rows: Sequence[Finding], images: Mapping[str, str]) -> list[str]:
    """The Findings section in Markdown: one table row per finding, its figure linked to the
    figure's image (no link where the figure was not drawn)."""
    out = [f"## {FINDINGS_TITLE}", "", FINDINGS_INTRO, ""]
    out.append("| " + " | ".join(FINDINGS_HEADER) + " |")
    out.append("|" + "|".join("---" for _ in FINDINGS_HEADER) + "|")
    for f in rows:
        link = (
            f"[{f.figure}]({images[f.figure]})"
            if f.figure in images and f.verdict != NOT_RUN
            else f"{f.figure} (not drawn)"
        )
        verdict = verdict_text(f).replace(f.verdict, f"**{f.verdict}**", 1)
        cells = [f.claim, f.source, f.paper, f.ours, verdict, link]
        out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return [*out, ""]


def findings_html(rows: Sequence[Finding], images: Mapping[str, str]) -> list[str]:
    """The Findings section in HTML: one table row per finding, its figure linked to the
    figure's section of the page."""
    e = html.escape
    out = [
        f'<section id="findings"><h2>{e(FINDINGS_TITLE)}</h2>',
        f"<p>{e(FINDINGS_INTRO)}</p>",
        '<table class="findings">',
        "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in FINDINGS_HEADER) + "</tr></thead>",
        "<tbody>",
    ]
    for f in rows:
        link = (
            f'<a href="#{e(f.figure, quote=True)}">{e(f.figure)}</a>'
            if f.figure in images and f.verdict != NOT_RUN
            else f"{e(f.figure)} (not drawn)"
        )
        rest = verdict_text(f)[len(f.verdict) :]
        verdict = f'<strong class="verdict">{e(f.verdict)}</strong>{e(rest)}'
        cells = [e(f.claim), e(f.source), e(f.paper), e(f.ours), verdict, link]
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return [*out, "</tbody></table></section>"]


def report_markdown(
    summaries: Sequence[FigureSummary],
    images: Mapping[str, str],
    rows: Sequence[Finding] = (),
) -> str:
    """The report as Markdown; ``images`` maps figure -> link relative to the report;
    ``rows``: the Findings table, after the introduction (none: no section)."""
    out = [f"# {REPORT_TITLE}", "", REPORT_INTRO, ""]
    if rows:
        out += findings_markdown(rows, images)
    for part, name in PARTS.items():
        items = [s for s in summaries if s.part == part]
        if not items:
            continue
        out += [f"## {part} {name}", ""]
        for s in items:
            out += [f"### {s.title}", "", f"Figure `{s.figure}`. Setup:", ""]
            out += [f"- {x}" for x in s.settings]
            out += ["", f"![{s.figure}]({images[s.figure]})", ""]
            out += [f"Final numbers ({s.note}):" if s.note else "Final numbers:", ""]
            out += [markdown_table(s.numbers), "", f"**Observation.** {s.observation}", ""]
    return "\n".join(out)


HTML_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
    "img{max-width:100%}table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}"
    "th{background:#eee}table.findings td{font-size:.9em}"
)


def report_html(
    summaries: Sequence[FigureSummary],
    images: Mapping[str, str],
    rows: Sequence[Finding] = (),
) -> str:
    """The same report as a standalone HTML page (images linked relative to the page, the
    Findings' figures to their sections)."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(REPORT_TITLE)}</title><style>{HTML_STYLE}</style></head><body>",
        f"<h1>{e(REPORT_TITLE)}</h1>",
        f"<p>{e(REPORT_INTRO)}</p>",
    ]
    if rows:
        out += findings_html(rows, images)
    for part, name in PARTS.items():
        items = [s for s in summaries if s.part == part]
        if not items:
            continue
        out.append(f'<h2 id="part-{e(part)}">{e(part)} {e(name)}</h2>')
        for s in items:
            out.append(f'<section id="{e(s.figure)}"><h3>{e(s.title)}</h3>')
            out.append(f"<p>Figure <code>{e(s.figure)}</code>. Setup:</p>")
            out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in s.settings) + "</ul>")
            out.append(
                f'<figure><img src="{e(images[s.figure], quote=True)}" alt="{e(s.figure)}">'
                "</figure>"
            )
            out.append(f"<p>Final numbers{f' ({e(s.note)})' if s.note else ''}:</p>")
            out.append(html_table(s.numbers))
            out.append(f"<p><strong>Observation.</strong> {e(s.observation)}</p></section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def build_report(
    tables: Mapping[str, str | os.PathLike],
    figures: Mapping[str, str | os.PathLike],
    config: Mapping[str, Any],
    out_md: str | os.PathLike,
    out_html: str | os.PathLike,
    out_findings: str | os.PathLike | None = None,
) -> list[FigureSummary]:
    """Write ``report.md`` and ``report.html`` from the figure tables (figure -> table
    path) and images (figure -> PNG path): the Findings table, then sections and figures in
    the homework's order; ``out_findings``: one line per figure of what it found and one per
    finding (the end-of-run summary)."""
    missing = [f for f in tables if f not in figures]
    if missing:
        raise KeyError(f"no figure image given for {missing}")
    frames = {f: read_parquet(tables[f]) for f in ordered(list(tables))}
    summaries = [summarize(f, t, config) for f, t in frames.items()]
    rows = findings(frames, config)
    for path, render in ((out_md, report_markdown), (out_html, report_html)):
        base = Path(path).resolve().parent
        links = {
            f: Path(os.path.relpath(Path(p).resolve(), base)).as_posix() for f, p in figures.items()
        }
        with atomic_path(path) as tmp:
            tmp.write_text(render(summaries, links, rows), encoding="utf-8")
    if out_findings is not None:
        lines = [finding_line(s.title, s.observation) for s in summaries]
        lines += [finding_line(f"Finding, {f.topic}", _finding_summary(f)) for f in rows]
        with atomic_path(out_findings) as tmp:
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return summaries


def _finding_summary(f: Finding) -> str:
    """A finding in one clause for the end-of-run summary: its verdict and its parts'."""
    if len({v for _, v in f.parts}) > 1:
        return f"{f.verdict} (" + ", ".join(f"{name}: {v}" for name, v in f.parts) + ")"
    return f.verdict
