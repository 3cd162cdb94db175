"""Rows and tables for people: the same rows feed the CLI's text table and the magic's HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, timezone

from .analysis import Analysis, DataAccess
from .cells import cell_label, where

ANALYSIS_COLUMNS = ("cell", "line", "api", "mode", "format", "path", "status")


def human_size(n: int | None) -> str:
    """A size as people read it, the same everywhere (tables, widgets, messages):
    ``65 B``, ``11.5 KB``, ``12.3 MB`` (powers of 1024)."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def human_time(value: str | datetime | None) -> str:
    """A stored timestamp (ISO, UTC) as people read it: local time to the minute,
    ``2026-12-02 16:40``; "" when there is none. JSON keeps the stored value."""
    if not value:
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def access_status(a: DataAccess) -> str:
    if not a.resolved:
        return f"unresolved: {a.reason}"
    if a.remote:
        return "remote (not migrated)"
    if a.exists and a.format == "listing":
        return "lists a folder"
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


def move_line(m) -> str:
    """A plan's line for one file it sends; "copy": the originals stay where they are
    (undo and the -o source need them)."""
    text = f"  copy   {m.source} -> {m.target} ({human_size(m.size)})"
    return f"{text}\n         as the file's bytes: {m.note}" if m.note else text


def migration_text(result, dry_run: bool = False, with_diff: bool = True) -> str:
    """What a migration did (or, for a dry run, would do), for a terminal; its last line
    is the one-line summary."""
    plan = result.plan
    out = [f"{plan.notebook} -> {plan.destination} (layout {plan.layout})"]
    out += [move_line(m) for m in plan.moves]
    for e in plan.edits:
        if e.mode == "write" and e.action == "literal":
            out.append(f"  write  {where(None, e.cell_index, e.line)}: {e.target}")
    for s in plan.skipped:
        out.append(f"  skip   {s}")
    if result.diff and with_diff:
        out += ["", result.diff, ""]
    if plan.blockers:
        out.append("Still reading local files:" if not dry_run else "Cannot be migrated:")
        out += [f"  {b.describe(plan.notebook)}" for b in plan.blockers]
    if dry_run:
        out.append(f"Dry run: {len(plan.moves)} file(s) would be copied, {len(result.changes)} "
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


JOB_COLUMNS = ("id", "kind", "status", "progress", "notebook", "output", "destination",
               "finished")


def output_label(source: str | None, output: str | None) -> str:
    """The output notebook next to its source: "in place" when it is the source itself."""
    if not output:
        return ""
    return "in place" if output == source else output


def job_row(job) -> tuple[str, ...]:
    """A job as one row of :data:`JOB_COLUMNS` (status as stored; the doors put the
    state people read, ``interrupted`` included, in its place)."""
    source, output = job.notebooks()
    return (str(job.id), job.kind, job.status, f"{job.progress:.0%}", source or "",
            output_label(source, output), job.destination or "", human_time(job.finished_at))


TRANSFER_COLUMNS = ("id", "path", "destination", "size", "done", "rows", "status", "error")


def transfer_row(t) -> tuple[str, ...]:
    """A transfer as one row of :data:`TRANSFER_COLUMNS`: the source path (relative to
    the notebook), where it went, its size and how much of it was sent."""
    done = "" if t.bytes_total is None else human_size(t.bytes_done)
    return (str(t.id), t.source, t.target, human_size(t.bytes_total), done,
            "" if t.rows is None else f"{t.rows:,}", t.status, t.error or "")


def job_detail_text(job, transfers: Sequence, state: str | None = None) -> str:
    """``stork jobs N``: the job's fields, then its transfers as a table."""
    source, output = job.notebooks()
    counts = ", ".join(f"{k} {v}" for k, v in (job.counts or {}).items())
    pairs = [("notebook", source), ("output", output_label(source, output)),
             ("destination", job.destination), ("progress", f"{job.progress:.0%}"),
             ("created", human_time(job.created_at)), ("started", human_time(job.started_at)),
             ("finished", human_time(job.finished_at)), ("counts", counts),
             ("error", job.error)]
    width = max(len(k) for k, _ in pairs)
    out = [f"job {job.id}: {job.kind}, {state or job.status}"]
    out += [f"  {k.ljust(width)}  {v}" for k, v in pairs if v]
    if transfers:
        out += ["", f"{len(transfers)} transfer{'s' if len(transfers) != 1 else ''}:",
                text_table(TRANSFER_COLUMNS, [transfer_row(t) for t in transfers])]
    elif job.kind in ("migrate", "sync", "import"):
        out += ["", "no transfers"]
    return "\n".join(out)


_CELL_HEADER = re.compile(r"^--- a/.*? (cell \d+.*)$")
_DIFF_STYLE = {"+": "color:var(--jp-success-color1,#1a7f37);background:rgba(0,200,0,.08)",
               "-": "color:var(--jp-error-color1,#cf222e);background:rgba(255,0,0,.08)",
               "@": "color:var(--jp-ui-font-color2,#777)"}


def diff_cells(diff: str) -> list[tuple[str, list[str]]]:
    """A notebook diff (one ``--- a/NB cell N`` section per changed cell) as
    ``(cell label, lines)`` pairs, the file headers left out."""
    cells: list[tuple[str, list[str]]] = []
    for line in diff.splitlines():
        header = _CELL_HEADER.match(line)
        if header:
            cells.append((header.group(1), []))
        elif cells and not line.startswith("+++ b/"):
            cells[-1][1].append(line)
    return cells


def migration_display(result, dry_run: bool = False) -> tuple[str, str]:
    """(text, HTML) of a migration for a notebook's output: the one-line summary first,
    then the plan, then the diff; in HTML each changed cell is a collapsible, coloured
    section, as the panel shows it."""
    lines = migration_text(result, dry_run, with_diff=False).splitlines()
    summary, rest = lines[-1], lines[:-1]
    text = "\n".join([summary, *rest] + (["", result.diff] if result.diff else []))
    parts = [f"<div><b>{html.escape(summary)}</b></div>"]
    if rest:
        parts.append(f"<pre>{html.escape(chr(10).join(rest))}</pre>")
    for label, body in diff_cells(result.diff or ""):
        added = sum(line.startswith("+") for line in body)
        removed = sum(line.startswith("-") for line in body)
        code = "".join(
            f"<div style='{_DIFF_STYLE.get(line[:1], '')}'>{html.escape(line) or '&nbsp;'}</div>"
            for line in body)
        parts.append(f"<details class='stork-cell-diff'><summary>{html.escape(label)}: "
                     f"+{added} −{removed}</summary><pre style='margin:2px 0 6px'>{code}"
                     "</pre></details>")
    return text, "".join(parts)
