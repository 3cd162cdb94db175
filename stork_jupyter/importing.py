"""``import``: bring migrated data back from its destination to local files, verified.

An engine module (no door imports).

- Files (folder, S3 objects, rows of the PostgreSQL files table) come back byte for byte,
  written to a temporary name, verified by sha256 against the dataset's recorded one,
  then renamed.
- PostgreSQL tables are read back as the notebook's own read gave them and re-exported
  with pandas to the original format (CSV: ``to_csv(index=False)`` with the read's
  separator; parquet; JSON lines), then verified by the row count and a content hash:
  the hash of the frame read from the table equals the hash of the frame that the
  notebook's read call gives on the exported file. A re-exported CSV is therefore EQUAL
  IN CONTENT to the original, not byte-identical to it, unless the original was itself
  written by pandas with the same options; when the original is still there unchanged
  (its sha256 is the recorded one) nothing is written.

``import_notebook`` brings back every dataset of a notebook's last completed migration
to its original path (refusing to overwrite a different existing file unless
``force``); ``undo_with_data`` then undoes the rewrite.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checksum import sha256_file
from .config import find_project_root
from .destinations import DestinationSpec, backends, open_backend
from .errors import StorkError
from .inventory import relative_to_root
from .store import Dataset, Datastore, Job, MetadataStore, Transfer, now_iso, open_store
from .transfer import (
    ProgressReporter,
    TransferProgress,
    add_history,
    as_reporter,
    process_identity,
)

_EXPORTS = {"read_csv", "read_table", "read_parquet", "read_json"}


@dataclass
class ImportedFile:
    source: str  #: where it came from (path, s3:// URL, PostgreSQL table or files row)
    path: str  #: the local file written (or found already there)
    bytes: int
    sha256: str
    rows: int | None = None
    verified: str = "sha256"  #: "sha256", or "rows+content" for a re-exported table
    skipped: bool = False  #: the file was already there with the recorded sha256
    dataset_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ImportResult:
    job_id: int | None
    files: list[ImportedFile] = field(default_factory=list)

    def text(self) -> str:
        out = []
        for f in self.files:
            how = "already there" if f.skipped else (
                f"{f.rows} rows, content verified" if f.verified == "rows+content"
                else "sha256 verified")
            out.append(f"  {f.source} -> {f.path} ({how})")
        sent = sum(not f.skipped for f in self.files)
        out.append(f"Imported {sent} file(s), {len(self.files) - sent} already there"
                   + (f" (job {self.job_id})" if self.job_id else ""))
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "files": [f.to_json() for f in self.files]}


# --------------------------------------------------------------------------- fetching


def _temp_next_to(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.import")


def _finish(tmp: Path, dest: Path, expected: str | None, what: str) -> str:
    digest = sha256_file(tmp)
    if expected and digest != expected:
        tmp.unlink(missing_ok=True)
        raise StorkError(f"{what} does not verify: its sha256 is {digest[:12]}..., the "
                         f"migrated file's was {expected[:12]}...; {dest} was not written")
    os.replace(tmp, dest)
    return digest


def fetch_file(backend, move, dest: Path, expected: str | None, report) -> ImportedFile:
    """A file's bytes from the destination to ``dest`` (temp name, sha256, rename)."""
    tmp = _temp_next_to(dest)
    try:
        backend.fetch(move.key, tmp, expected, report)
        digest = _finish(tmp, dest, expected, move.target)
    finally:
        tmp.unlink(missing_ok=True)
    return ImportedFile(move.target, str(dest), dest.stat().st_size, digest)


def frame_digest(df) -> str:
    """A content hash of a frame: its values row by row (pandas' own hashing), its
    column labels and dtypes."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    if not isinstance(df.index, pd.RangeIndex):
        h.update(pd.util.hash_pandas_object(df.index.to_frame(index=False), index=False)
                 .to_numpy().tobytes())
    return h.hexdigest()


def read_like_notebook(path: Path, api: str, options: dict):
    import pandas as pd

    from .tabular import api_name

    return getattr(pd, api_name(api).rsplit(".", 1)[-1])(path, **options)


def fetch_table(backend, move, dest: Path, row_count: int | None, report) -> ImportedFile:
    """A table re-exported to ``dest`` in its original format, verified by rows and
    content (see the module docstring)."""
    from .tabular import api_name

    name = api_name(move.api).rsplit(".", 1)[-1]
    if name not in _EXPORTS:
        raise StorkError(f"table {move.table} came from {move.source} read with {name}; "
                         "stork can re-export tables read with read_csv, read_table, "
                         "read_parquet and read_json only")
    df = backend.read_table(move.table, move.schema)
    expected_rows = row_count if row_count is not None else move.schema.get("row_count")
    if expected_rows is not None and len(df) != expected_rows:
        raise StorkError(f"table {move.table} has {len(df)} rows, {expected_rows} were "
                         f"migrated; {dest} was not written")
    options = dict(move.options or {})
    tmp = _temp_next_to(dest)
    try:
        if name in ("read_csv", "read_table"):
            sep = options.get("sep", options.get("delimiter", "\t" if name == "read_table"
                                                  else ","))
            df.to_csv(tmp, index=False, sep=sep, encoding=options.get("encoding", "utf-8"))
        elif name == "read_parquet":
            df.to_parquet(tmp, index=None if len(move.schema.get("index", [])) else False)
        else:
            if options.get("lines"):
                df.to_json(tmp, orient="records", lines=True)
            else:
                df.to_json(tmp, orient=options.get("orient") or "columns")
        report(tmp.stat().st_size)
        again = read_like_notebook(tmp, move.api, options)
        if len(again) != len(df) or frame_digest(again) != frame_digest(df):
            raise StorkError(f"table {move.table} re-exported as {dest.name} does not read "
                             f"back to the same data with {name}; {dest} was not written")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return ImportedFile(f"{backend.schema}.{move.table}", str(dest), dest.stat().st_size,
                        sha256_file(dest), rows=len(df), verified="rows+content")


def _fetch(backend, move, dest: Path, dataset: Dataset | None, report) -> ImportedFile:
    if move.table:
        return fetch_table(backend, move, dest, dataset.row_count if dataset else None, report)
    return fetch_file(backend, move, dest, move.sha256, report)


# --------------------------------------------------------------------------- doors' API


def _move_of(job: Job, target: str | None = None, table: str | None = None):
    from .plan import plan_from_store

    plan = plan_from_store(job.options["plan"])
    for move in plan.moves:
        if (table and move.table == table) or (not table and move.target == target):
            return move
    return None


def _reporter(reporter: ProgressReporter, job_id: int | None, name: str, total: int):
    done = [0]

    def report(n: int) -> None:
        done[0] += n
        reporter.update(TransferProgress(name, min(done[0], total), total, job_id=job_id))
    return report


def import_dataset(dataset_id: int, to: Path, *, root: Path | None = None,
                   store: str | None = None, force: bool = False,
                   progress: ProgressReporter | None = None) -> ImportResult:
    """Dataset ``dataset_id`` from its newest location to the local file ``to``."""
    root = Path(root) if root else find_project_root()
    reporter = as_reporter(progress)
    with open_store(root, store) as metadata:
        dataset = metadata.get(Dataset, dataset_id)
        locations = metadata.locations(dataset_id)
        if not locations:
            raise StorkError(f"dataset {dataset_id} ({dataset.source_path}) was never migrated")
        loc = locations[0]
        job = metadata.get(Job, loc.job_id) if loc.job_id else None
        move = _move_of(job, loc.url, loc.table_name) if job and "plan" in job.options else None
        if move is None or loc.datastore_id is None:
            raise StorkError(f"dataset {dataset_id}: the job that migrated it to {loc.url} "
                             "did not record how; it cannot be imported")
        datastore = metadata.get(Datastore, loc.datastore_id)
        backend = backends.open(datastore.kind, datastore.url)
        return _run_import(metadata, root, job, backend, [(move, Path(to), dataset)], force,
                           reporter)


def import_notebook(notebook: Path, *, store: str | None = None, force: bool = False,
                    progress: ProgressReporter | None = None
                    ) -> ImportResult:
    """Every dataset of ``notebook``'s last completed migration back to its original
    local path; a different existing file there is refused unless ``force``."""
    from .sync import last_migration

    notebook = Path(notebook)
    root = find_project_root(notebook.resolve().parent)
    with open_store(root, store) as metadata:
        job = last_migration(metadata, relative_to_root(notebook, root))
        if job is None:
            raise StorkError(f"{notebook}: no completed migration of this notebook to import")
        from .plan import plan_from_store

        plan = plan_from_store(job.options["plan"])
        nb_dir = Path(job.options["source_path"]).parent
        backend = open_backend(DestinationSpec.of_job(job))
        # one file per source: its bytes when they were moved as such, else the first
        # table loaded from it (the same file read with other options is another table)
        chosen: dict[str, object] = {}
        for move in plan.moves:
            if move.source not in chosen or (chosen[move.source].table and not move.table):
                chosen[move.source] = move
        wanted = []
        for move in chosen.values():
            dest = nb_dir / move.source
            dataset = metadata.dataset_by_path(job.project_id, relative_to_root(dest, root))
            wanted.append((move, dest, dataset))
        return _run_import(metadata, root, job, backend, wanted, force, as_reporter(progress))


def _run_import(metadata: MetadataStore, root: Path, origin: Job, backend,
                wanted: list, force: bool, reporter: ProgressReporter) -> ImportResult:
    # refuse before anything is written
    for move, dest, _ in wanted:
        if dest.exists() and not force and sha256_file(dest) != move.sha256:
            raise StorkError(f"{dest} exists and differs from the migrated {move.source}; "
                             "nothing was imported (use --force to overwrite it)")
    job = metadata.save(Job(
        project_id=origin.project_id, kind="import", notebook=origin.notebook,
        destination=origin.destination, status="running", started_at=now_iso(),
        options={"from_job": origin.id, "force": force, **process_identity(),
                 "history": [{"status": "running", "at": now_iso()}]}))
    result = ImportResult(job.id)
    total = sum(m.size for m, _, _ in wanted) or 1
    reporter.start(job.id, [(m.source, m.size) for m, _, _ in wanted])
    done = 0
    status = "failed"
    try:
        for move, dest, dataset in wanted:
            t = metadata.save(Transfer(job_id=job.id, dataset_id=dataset.id if dataset else None,
                                       source=move.target, target=str(dest), status="running",
                                       bytes_total=move.size, started_at=now_iso()))
            try:
                if dest.is_file() and sha256_file(dest) == move.sha256:
                    got = ImportedFile(move.target, str(dest), move.size, move.sha256,
                                       skipped=True)
                else:
                    got = _fetch(backend, move, dest, dataset,
                                 _reporter(reporter, job.id, move.source, move.size))
            except BaseException as e:
                metadata.update(Transfer, t.id, status="failed", error=str(e),
                                finished_at=now_iso())
                raise
            got.dataset_id = dataset.id if dataset else None
            result.files.append(got)
            done += move.size
            metadata.update(Transfer, t.id, status="completed", bytes_done=got.bytes,
                            sha256=got.sha256, rows=got.rows, finished_at=now_iso(),
                            state={"skipped": got.skipped, "verified": got.verified})
            metadata.update(Job, job.id, progress=min(done / total, 1.0))
            reporter.update(TransferProgress(move.source, move.size, move.size, got.rows,
                                             status="skipped" if got.skipped else "completed",
                                             job_id=job.id))
        status = "completed"
    except BaseException as e:
        add_history(metadata, job.id, "failed", str(e), finished_at=now_iso(),
                    error=str(e) or type(e).__name__)
        raise
    finally:
        reporter.close(status)
    add_history(metadata, job.id, "completed", progress=1.0, finished_at=now_iso(),
                counts={"datasets": len(result.files),
                        "sent": sum(not f.skipped for f in result.files),
                        "skipped": sum(f.skipped for f in result.files)})
    return result


def undo_with_data(notebook: Path, *, store: str | None = None, force: bool = False,
                   progress: ProgressReporter | None = None
                   ) -> tuple[ImportResult, int]:
    """Import every dataset of the notebook's last migration, then undo its rewrite:
    the notebook reads its local files again. Returns (import result, cells restored)."""
    from .undo import undo

    imported = import_notebook(notebook, store=store, force=force, progress=progress)
    return imported, undo(notebook, store)


__all__ = ["ImportResult", "ImportedFile", "frame_digest", "import_dataset",
           "import_notebook", "undo_with_data"]
