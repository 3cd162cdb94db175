"""Rows and tables for people: the same rows feed the CLI's text table and the magic's HTML."""

from __future__ import annotations

import html
from collections.abc import Sequence

from .analysis import Analysis, DataAccess
from .cells import cell_label, where

ANALYSIS_COLUMNS = ("cell", "line", "api", "mode", "format", "path", "status")


def human_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def access_status(a: DataAccess) -> str:
    if not a.resolved:
        return f"unresolved: {a.reason}"
    if a.remote:
        return "remote (not migrated)"
    if a.exists:
        return f"exists, {human_size(a.size)}"
    return "written here" if a.mode == "write" else "missing"


def analysis_rows(analysis: Analysis) -> list[tuple[str, ...]]:
    rows = []
    for a in analysis.accesses:
        cell = cell_label(a.cell_index, a.cell_id, word=False)
        fmt = a.format or ""
        if a.consumer and not a.consumer.startswith("."):
            fmt = f"{fmt} via {a.consumer}"
        rows.append((cell, str(a.line), a.api, a.mode, fmt, a.path or "?", access_status(a)))
    return rows


def problem_lines(analysis: Analysis) -> list[str]:
    return [f"{where(analysis.notebook, p.cell_index, p.line)}: {p.message}"
            for p in analysis.problems]


def text_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()
    out = [line(columns), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def html_table(columns: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(v)}</td>" for v in r)
        + "</tr>" for r in rows)
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='stork-table'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def analysis_summary(analysis: Analysis) -> str:
    n = len(analysis.accesses)
    return (f"{analysis.notebook}: {n} data access{'es' if n != 1 else ''} "
            f"({len(analysis.reads)} read, {len(analysis.writes)} write, "
            f"{len(analysis.unresolved)} unresolved)")


def analysis_text(analysis: Analysis) -> str:
    parts = [analysis_summary(analysis)]
    if analysis.accesses:
        parts.append(text_table(ANALYSIS_COLUMNS, analysis_rows(analysis)))
    parts += problem_lines(analysis)
    return "\n".join(parts)


def analysis_html(analysis: Analysis) -> str:
    out = html_table(ANALYSIS_COLUMNS, analysis_rows(analysis), analysis_summary(analysis))
    problems = problem_lines(analysis)
    if problems:
        out += "<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in problems) + "</ul>"
    return out


def migration_text(result, dry_run: bool = False) -> str:
    """What a migration did (or, for a dry run, would do), for a terminal."""
    plan = result.plan
    out = [f"{plan.notebook} -> {plan.destination} (layout {plan.layout})"]
    for m in plan.moves:
        out.append(f"  move   {m.source} -> {m.target} ({human_size(m.size)})")
    for e in plan.edits:
        if e.mode == "write" and e.action == "literal":
            out.append(f"  write  {where(None, e.cell_index, e.line)}: {e.target}")
    for s in plan.skipped:
        out.append(f"  skip   {s}")
    if result.diff:
        out += ["", result.diff, ""]
    if plan.blockers:
        out.append("Still reading local files:" if not dry_run else "Cannot be migrated:")
        out += [f"  {b.describe(plan.notebook)}" for b in plan.blockers]
    if dry_run:
        out.append(f"Dry run: {len(plan.moves)} file(s) would move, {len(result.changes)} "
                   "cell(s) would change; nothing was changed.")
    elif plan.empty:
        out.append(f"{plan.notebook}: no data access to migrate"
                   + (f"; copied unchanged to {result.output}" if result.output
                      and str(result.output) != plan.notebook else ""))
    else:
        sent = sum(not t.skipped for t in result.transfers)
        out.append(f"Migrated {len(plan.moves)} file(s) ({sent} sent, "
                   f"{len(result.transfers) - sent} already there), {len(result.changes)} "
                   f"cell(s) rewritten -> {result.output} (job {result.job_id})")
    return "\n".join(out)


JOB_COLUMNS = ("id", "kind", "status", "progress", "notebook", "destination", "finished")


def job_row(job) -> tuple[str, ...]:
    return (str(job.id), job.kind, job.status, f"{job.progress:.0%}", job.notebook or "",
            job.destination or "", job.finished_at or "")
