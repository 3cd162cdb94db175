"""Accesses + destination + layout -> a ``MigrationPlan``: what moves where, which calls
change, and what cannot be migrated (and why). Planning moves nothing."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from types import SimpleNamespace

from .analysis import Analysis, DataAccess, catalog
from .analysis.paths import expand_glob
from .cells import where as cell_where
from .checksum import Digests, plan_digests
from .destinations import Backend, DestinationSpec
from .destinations.base import digest_value
from .names import NameBook, dataset_owner, reserved_name, suffixed
from .plan_files import folder_files, op_details
from .plan_types import (  # noqa: F401 - the plan's types, re-exported for the callers
    AccessEdit,
    Blocker,
    DatasetMove,
    MigrationPlan,
    plan_from_store,
    plan_to_store,
)
from .rewrite.support import unsupported_reason


def mirror_base(notebook: Path, root: Path) -> str:
    """``<notebook folder relative to the root>/<notebook stem>`` (DESIGN: mirror layout)."""
    folder = notebook.resolve().parent
    try:
        rel = folder.relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = ""
    return posixpath.normpath(posixpath.join(rel, notebook.stem)) if rel not in ("", ".") else (
        notebook.stem)


def project_base(notebook: Path, root: Path) -> str:
    """The notebook's folder relative to the root ("" at the root): in a project
    migration a file's key is its own path relative to the root, whichever notebook
    reads it, so a file several notebooks read has one key."""
    try:
        rel = notebook.resolve().parent.relative_to(root.resolve()).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel


def _under(base_key: str, rel: str) -> str:
    return posixpath.normpath(posixpath.join(base_key, rel) if base_key else rel)


def hash_sources(analysis: Analysis, nb_dir: Path) -> Digests:
    """The digests of the local files the analysis reads, begun now in a thread of their
    own (the plan waits for one only where it needs it; a context manager that stops
    the rest once the plan is made)."""
    files = []
    for a in analysis.accesses:
        if a.resolved and a.path and not a.remote and a.mode == "read" and (
                a.api not in _NEVER_MIGRATED):
            path = (nb_dir / a.path).resolve()
            if path.is_file():
                files.append(path)
    return plan_digests(files)


def build_plan(analysis: Analysis, notebook: Path, root: Path, spec: DestinationSpec,
               backend: Backend, allow_outside_root: bool = False,
               names: NameBook | None = None, project: bool = False,
               digests: Digests | None = None) -> MigrationPlan:
    """The plan; ``names`` (what the store and the destination hold) makes every name it
    takes free for its dataset: a name held by other data gets the next suffix.
    ``project``: keys mirror the project (``prefix/<path relative to the root>``), as a
    migration of several notebooks at once lays them out. ``digests``: the sources'
    (:func:`hash_sources`), else computed as they are needed."""
    nb_dir = notebook.resolve().parent
    root = root.resolve()
    base_key = project_base(notebook, root) if project else mirror_base(notebook, root)
    fold = project
    plan = MigrationPlan(str(notebook), spec.safe_url, spec.kind, spec.layout, base_key)
    keys: dict[str, str] = {}  # local path -> key, so one file keeps one key
    written: set[str] = set()
    moved: set[str] = set()
    globs: set[tuple[int, int, int]] = set()
    dest_prefix = backend.target("")
    pg = None
    if digests is None:
        digests = Digests()
    if backend.holds_tables:
        from .plan_postgres import PostgresPlanner  # (only for tables: not on a file plan)

        pg = PostgresPlanner(backend, plan, nb_dir, names=names, digests=digests)
        pg.note_accesses(analysis.accesses)
        plan.settings = {"engine_url": backend.sqlalchemy_url(), "schema": backend.schema}

    def key_for(a: DataAccess) -> str | None:
        """The key of ``a.path`` (one file keeps one key), None when the key a loop or a
        glob needs (its path, unchanged) holds other data."""
        if isinstance(a, str):  # a file of a listed folder
            a = SimpleNamespace(path=a, mode="read", expanded_from=None)
        path = a.path
        if path not in keys:
            keys[path] = _claim_key(a, nb_dir, base_key, spec.layout, set(keys.values()),
                                    names, plan, digests, fold)
        return keys[path]

    def taken_reason(a: DataAccess) -> str:
        natural = _key(a.path, base_key, spec.layout, set(), fold)
        holder = names.holder(reserved_name(backend, natural)) if names else "other data"
        return (f"{backend.target(natural)} already holds {holder}; the files of a loop or "
                "a glob keep their names, so this one cannot go there")

    for a in analysis.accesses:
        where = (a.cell_index, a.cell_id, a.line, a.code)
        if a.resolved and a.path and _at_destination(a.path, nb_dir, dest_prefix):
            plan.skipped.append(f"{cell_where(None, a.cell_index, a.line)}: {a.path} is already at "
                                "the destination")
            continue
        if a.remote:
            plan.skipped.append(f"{cell_where(None, a.cell_index, a.line)}: {a.path} is already remote")
            continue
        if not a.resolved or a.api in _NEVER_MIGRATED:
            plan.blockers.append(Blocker(*where, a.reason or "path unresolved"))
            continue
        absolute = (nb_dir / a.path).resolve()
        if not allow_outside_root and not absolute.is_relative_to(root):
            plan.blockers.append(Blocker(
                *where, f"{a.path} is outside the project root {root} (--allow-outside-root)"))
            continue
        if a.op == "mkdir" and spec.kind != "file":
            plan.skipped.append(f"cell {a.cell_index + 1}, line {a.line}: {a.code} is left as "
                                f"it is: a {spec.kind} destination has no folders to make")
            continue
        if a.format == "listing":
            _plan_listing(a, plan, backend, spec, nb_dir, base_key, key_for, written, moved,
                          globs, digests)
            continue
        if backend.holds_tables:
            pg.taken_reason = taken_reason(a) if names else ""
            _plan_postgres_access(a, pg, key_for(a), base_key, written, moved, globs)
            continue
        reason = unsupported_reason(a, spec.kind)
        if reason is None and a.expanded_from and a.expanded_from.startswith("default of"):
            reason = (f"the path is the {a.expanded_from}; move it out of the function "
                      "signature to migrate it")
        listing = _listing(a)
        nested = _nested(a)
        glob_fed = a.expanded_at and listing != "listdir" and not nested
        if reason is None and glob_fed and a.path_code and not a.path_code.isidentifier():
            reason = "the path is built from a glob result; only the glob's items can be moved"
        edit_action = "literal"
        if reason is None and a.expanded_from and not glob_fed:
            # a loop over literal paths: the code keeps enumerating them, under a base
            if spec.layout != "mirror":
                reason = "a loop's paths keep their folders only with layout = mirror"
            elif a.raw_path != a.path or os.path.isabs(a.raw_path or "") or (
                    a.path or "").startswith(".."):
                reason = f"the loop builds {a.raw_path!r}, not a plain relative path"
            else:
                edit_action = "prefix"
        if reason is not None:
            plan.blockers.append(Blocker(*where, reason))
            continue
        key = key_for(a)
        if key is None:
            plan.blockers.append(Blocker(*where, taken_reason(a)))
            continue
        problem = getattr(backend, "key_problem", None)
        if problem is not None and problem(key):
            plan.blockers.append(Blocker(*where, problem(key)))
            continue
        if a.mode == "write":
            written.add(a.path)
            if key not in plan.writes:
                plan.writes.append(key)
        elif a.path not in written and a.path not in moved:
            if absolute.is_dir() and a.optional:  # ``!ls data``: what the folder holds
                for rel in folder_files(nb_dir, a.path):
                    if rel not in written and rel not in moved:
                        moved.add(rel)
                        file = nb_dir / rel
                        plan.moves.append(DatasetMove(
                            rel, key_for(rel), backend.target(key_for(rel)), None,
                            file.stat().st_size, digests.of(file.resolve())))
            elif not absolute.is_file():
                if not a.optional:  # (``os.path.exists`` of a file not there: fine)
                    plan.blockers.append(Blocker(*where, f"source file {a.path} does not exist"))
                    continue
            else:
                moved.add(a.path)
                plan.moves.append(DatasetMove(a.path, key, backend.target(key), a.format,
                                              absolute.stat().st_size, digests.of(absolute)))
        if listing == "listdir":  # the listing itself lists the destination's folder
            add_listing_edit(plan, a, globs, backend.target(_listing_key(a, base_key)))
        base = None
        if edit_action == "prefix":  # (a project's root folder: the destination's own)
            base = backend.target(base_key) if base_key else backend.target("").rstrip("/")
        if nested:  # the listing inside the loop lists the destination's folders
            add_nested_edit(plan, a, globs, base)
        if glob_fed:
            at = tuple(a.expanded_at)
            if at not in globs:
                globs.add(at)
                pattern = a.expanded_from.split("'", 1)[1].rsplit("'", 1)[0]
                plan.edits.append(AccessEdit(
                    at[0], None, at[1], at[2], "glob", "read", "glob",
                    target=backend.target(_under(base_key, pattern))))
            continue
        plan.edits.append(AccessEdit(
            a.cell_index, a.cell_id, a.line, a.col, a.api, a.mode, edit_action,
            target=backend.target(key), base=base, code=a.code, details=op_details(a)))
    # one call expanded over a loop is one edit
    seen: set[tuple[int, int, int, str | None]] = set()
    unique = []
    for e in plan.edits:
        pos = (e.cell_index, e.line, e.col, e.details.get("role"))  # (shutil.copy: 2 paths)
        if e.action == "literal" or pos not in seen:
            unique.append(e)
        seen.add(pos)
    plan.edits = _drop_conflicts(unique, plan)
    _keep_used_owners(plan, backend)
    return plan


def _claim_key(a: DataAccess, nb_dir: Path, base_key: str, layout: str, taken: set[str],
               names: NameBook | None, plan: MigrationPlan, digests: Digests,
               fold: bool = False) -> str | None:
    """The first key for ``a.path`` that is free for its dataset: the layout's key, then
    ``stem-2.ext``... (a loop's or a glob's file keeps the layout's key, or None)."""
    key = _key(a.path, base_key, layout, taken, fold)
    if names is None:
        return key
    absolute = (nb_dir / a.path).resolve()
    if a.mode == "read" and absolute.is_file():
        # (wanted only where the name is held: the plan need not wait for the hash)
        owner, sha = dataset_owner(absolute), digests.later(absolute)
    else:  # a file the notebook writes: owned by the local path it wrote
        owner, sha = dataset_owner(absolute, write=True), None
    natural = _key(a.path, base_key, layout, set(), fold)
    n = 1
    while not names.free(reserved_name(names.backend, key), owner, sha, key=key):
        if a.expanded_from:
            return None
        n += 1
        key = suffixed(natural, n)
        while key in taken:
            n += 1
            key = suffixed(natural, n)
    plan.owners[reserved_name(names.backend, key)] = {
        "owner": owner, "sha256": sha, "source": absolute.as_posix()}
    return key


def _plan_listing(a: DataAccess, plan: MigrationPlan, backend: Backend,
                  spec: DestinationSpec, nb_dir: Path, base_key: str, key_for,
                  written: set[str], moved: set[str], globs: set[tuple[int, int, int]],
                  digests: Digests) -> None:
    """A glob or folder listing no call reads from (``len(glob("data/*.csv"))``): the
    files it lists move, and it lists them at the destination, under their own names."""
    where = (a.cell_index, a.cell_id, a.line, a.code)
    pattern = a.kwargs.get("pattern") or a.path
    reason = None
    if spec.layout != "mirror":
        reason = "a listing keeps its files' names only with layout = mirror"
    elif posixpath.normpath(pattern).startswith(".."):
        reason = f"{pattern} is not inside the notebook's folder"
    if reason is not None:
        plan.blockers.append(Blocker(*where, reason))
        return
    if a.op == "listdir":
        files = folder_files(nb_dir, a.path)
    else:
        files = [f for f in expand_glob(pattern, nb_dir, bool(a.kwargs.get("recursive")),
                                        hidden=a.api.startswith("pathlib."))
                 if (nb_dir / f).is_file()]
    for rel in files:
        rel = posixpath.normpath(rel)
        if rel in written or rel in moved:
            continue
        key = key_for(rel)
        if key != _under(base_key, rel):  # held by other data
            plan.blockers.append(Blocker(*where, f"{backend.target(_under(base_key, rel))} "
                                         "already holds other data; a listed file keeps its name"))
            return
        moved.add(rel)
        file = nb_dir / rel
        # (the digest its name was chosen with: one pass over the file)
        plan.moves.append(DatasetMove(rel, key, backend.target(key), None,
                                      file.stat().st_size, digests.of(file.resolve())))
    # (PostgreSQL lists the files table by key; the others list the destination by URL)
    where_to = (lambda key: key) if backend.holds_tables else backend.target
    if a.op == "listdir":
        add_listing_edit(plan, SimpleNamespace(expanded_at=[a.cell_index, a.line, a.col]), globs,
                         where_to(_under(base_key, a.path)))
    else:
        plan.edits.append(AccessEdit(
            a.cell_index, a.cell_id, a.line, a.col, a.api, "read", "glob_relative",
            target=where_to(base_key), code=a.code,
            details={"pattern": posixpath.normpath(pattern)}))


def _keep_used_owners(plan: MigrationPlan, backend: Backend) -> None:
    """Only the names the plan moves data to or the notebook writes are reserved."""
    used = {reserved_name(backend, m.key, m.table) for m in plan.moves}
    used |= {reserved_name(backend, k) for k in plan.writes}
    used |= {reserved_name(backend, table=e.table) for e in plan.edits
             if e.action == "table_write" and e.table}
    # (a digest asked for later, by then computed: the plan keeps plain values)
    plan.owners = {k: {**v, "sha256": digest_value(v["sha256"])}
                   for k, v in plan.owners.items() if k in used}


def _plan_postgres_access(a: DataAccess, pg, key: str, base_key: str, written: set[str],
                          moved: set[str], globs: set[tuple[int, int, int]]) -> None:
    plan = pg.plan
    loop_base = None
    nested = _nested(a)
    if a.expanded_from and a.expanded_from.startswith("default of"):
        outcome: list[AccessEdit] | str = (f"the path is the {a.expanded_from}; move it out of "
                                           "the function signature to migrate it")
    elif a.expanded_from and (not a.expanded_at or nested) and (a.raw_path != a.path or (
            a.path or "").startswith("..") or os.path.isabs(a.raw_path or "")):
        outcome = f"the loop builds {a.raw_path!r}, not a plain relative path"
    elif a.expanded_at and not (_listing(a) or nested) and a.path_code and (
            not a.path_code.isidentifier()):
        outcome = "the path is built from a glob result; only the glob's items can be moved"
    elif a.expanded_from and (not a.expanded_at or _listing(a) or nested) and not base_key:
        # (the files table's keys have no root folder to put a loop's paths under)
        outcome = ("a loop's paths in a notebook at the project's root are migrated to "
                   "postgresql one notebook at a time; migrate this notebook alone")
    else:
        if a.expanded_from and (not a.expanded_at or _listing(a) or nested):
            loop_base = base_key
        outcome = pg.access(a, key, loop_base, written, moved)
    if isinstance(outcome, str):
        plan.blockers.append(Blocker(a.cell_index, a.cell_id, a.line, a.code, outcome))
        return
    if a.mode == "write":
        written.add(a.path)
    plan.edits.extend(outcome)
    if nested:
        add_nested_edit(plan, a, globs, base_key)
        return
    if _listing(a) == "listdir":
        add_listing_edit(plan, a, globs, _listing_key(a, base_key))
        return
    if a.expanded_at and tuple(a.expanded_at) not in globs:
        at = tuple(a.expanded_at)
        globs.add(at)
        pattern = a.expanded_from.split("'", 1)[1].rsplit("'", 1)[0]
        plan.edits.append(AccessEdit(at[0], None, at[1], at[2], "glob", "read", "glob",
                                     target=_under(base_key, pattern)))


#: Accesses that are only ever reported: a call the catalog does not know, a shell line
#: that cannot be rewritten (their reason says why).
_NEVER_MIGRATED = frozenset({"unknown", "shell", *(
    s.api for s in catalog.ARCHIVE_FILES.values())})


def _listing(a: DataAccess) -> str | None:
    """``listdir`` when the path comes from a folder listing (``os.listdir(d)`` or
    ``Path(d).iterdir()``)."""
    origin = a.expanded_from or ""
    return "listdir" if origin.startswith("listdir '") and a.expanded_at else None


def _nested(a: DataAccess) -> str | None:
    """``glob`` or ``listdir`` when the path comes from a listing whose pattern or folder
    varies with an outer loop (``for label in [...]: glob(f"data/{label}/*.txt")``)."""
    origin = a.expanded_from or ""
    return origin.split(" ", 2)[1] if a.expanded_at and origin.startswith("nested ") else None


def add_nested_edit(plan: MigrationPlan, a: DataAccess, seen: set[tuple[int, int, int]],
                    base: str | None) -> None:
    """One edit per listing inside a loop: it lists the same relative names under
    ``base`` (the loop's reads are prefixed with it too)."""
    at = tuple(a.expanded_at or ())
    if at not in seen:
        seen.add(at)
        op = _nested(a)
        plan.edits.append(AccessEdit(at[0], None, at[1], at[2], op or "", "read",
                                     f"{op}_prefix", base=base))


def _listing_key(a: DataAccess, base_key: str) -> str:
    folder = (a.expanded_from or "").split("'", 1)[1].rsplit("'", 1)[0]
    return _under(base_key, folder)


def add_listing_edit(plan: MigrationPlan, a: DataAccess, seen: set[tuple[int, int, int]],
                     target: str) -> None:
    """One edit per ``os.listdir(d)`` call, however many files its loop reads."""
    at = tuple(a.expanded_at or ())
    if at not in seen:
        seen.add(at)
        plan.edits.append(AccessEdit(at[0], None, at[1], at[2], "os.listdir", "read",
                                     "listdir", target=target))


def _at_destination(path: str, nb_dir: Path, dest_prefix: str) -> bool:
    """Whether ``path`` (a URL, or a path as the analysis gives it: relative to the
    notebook's folder when inside it) is already under the destination; a folder
    destination may lie inside the notebook's folder (``--to ./lake``)."""
    if "://" not in path:
        path = posixpath.normpath(posixpath.join(nb_dir.as_posix(), path))
    return path.startswith(dest_prefix.rstrip("/") + "/")


def _drop_conflicts(edits: list[AccessEdit], plan: MigrationPlan) -> list[AccessEdit]:
    """A call whose loop options were partly blocked cannot be half rewritten."""
    blocked = {(b.cell_index, b.line, b.code) for b in plan.blockers}
    return [e for e in edits if e.action == "glob" or (e.cell_index, e.line, e.code) not in blocked]


def _key(path: str, base_key: str, layout: str, taken: set[str], fold: bool = False) -> str:
    if os.path.isabs(path):
        return _under("" if fold else base_key, f"_abs/{path.lstrip('/')}")
    if layout == "flat":
        name = posixpath.basename(path)
        stem, ext = posixpath.splitext(name)
        candidate, n = name, 2
        while candidate in taken:
            candidate, n = f"{stem}-{n}{ext}", n + 1
        return candidate
    if fold:  # a project: the file's own path under the root; "_up/" for those above it
        parts = _under(base_key, path).split("/")
        ups = 0
        while ups < len(parts) and parts[ups] == "..":
            ups += 1
        return posixpath.join(*["_up"] * ups, *parts[ups:])
    # each "../" becomes "_up/": a file above the notebook's folder stays under the
    # notebook's own key (normpath would fold it into a sibling notebook's folder) and
    # "../a.csv" and "../../a.csv" keep different keys
    parts = posixpath.normpath(path).split("/")
    ups = 0
    while ups < len(parts) and parts[ups] == "..":
        ups += 1
    return posixpath.join(base_key, *["_up"] * ups, *parts[ups:])
