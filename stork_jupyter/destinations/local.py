"""A folder on a filesystem: files are copied to a temporary name, verified, then renamed."""

from __future__ import annotations

import hashlib
import os
import posixpath
import secrets
from pathlib import Path

from ..checksum import CHUNK, sha256_file
from ..urls import file_url_path
from .base import Backend, DestinationError, Progress, PutResult, SourceChanged, TransferContext


def folder_of(url: str) -> Path:
    path = file_url_path(url)
    if path is not None:
        return Path(path)
    return Path(url).expanduser().resolve()


class LocalBackend(Backend):
    kind = "file"

    def __init__(self, url: str):
        self.root = folder_of(url)
        self.url = self.root.as_posix()

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DestinationError(
                f"destination folder {self.root} cannot be created: {e.strerror}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise DestinationError(f"destination folder {self.root} is not writable")

    def path(self, key: str) -> Path:
        return self.root / key

    def target(self, key: str) -> str:
        return posixpath.join(self.url, key)

    def prepare_write(self, key: str) -> None:
        self.path(key).parent.mkdir(parents=True, exist_ok=True)

    def put(self, source: Path, key: str, sha256: str, progress: Progress | None = None
            ) -> PutResult:
        ctx = TransferContext(progress=progress)
        try:
            return self.put_resumable(source, key, sha256, ctx)
        finally:  # not resumable: a failed copy leaves no .part file
            self.abandon(key, ctx.state)

    def part_path(self, key: str, job_id: int | None) -> Path:
        """``<dest>.<job>.part`` next to the destination (a random tag without a job)."""
        dest = self.path(key)
        tag = str(job_id) if job_id is not None else secrets.token_hex(4)
        return dest.with_name(f"{dest.name}.{tag}.part")

    def put_resumable(self, source: Path, key: str, sha256: str, ctx: TransferContext
                      ) -> PutResult:
        """Copy ``source`` to ``<dest>.<job>.part`` and rename it to ``dest`` once its
        sha256 verifies. An earlier run's part file is continued: its bytes are compared
        with the source's first bytes (hashed again) and the copy goes on after them; a
        part that does not match starts over."""
        dest = self.path(key)
        # the source first: a missing one leaves nothing behind (its OSError names it)
        size = source.stat().st_size
        with open(source, "rb") as src:
            if dest.is_file() and dest.stat().st_size == size and sha256_file(dest) == sha256:
                ctx.resumed(size)
                # an interrupted run of this transfer that renamed its copy did send it
                return PutResult(self.target(key), size, sha256,
                                 skipped=not ctx.state.get("created"))
            part = Path(ctx.state["part"]) if ctx.state.get("part") else self.part_path(
                key, ctx.job_id)
            created = ctx.state.get("created", not dest.exists())
            existed = part.exists()
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                out = open(part, "r+b" if existed else "w+b")  # noqa: SIM115
            except OSError as e:
                raise DestinationError(f"cannot write to {dest.parent}: {e.strerror}") from None
            ctx.record(durable=True, part=str(part), created=created)
            try:
                with out:
                    done, digest = self._verified_prefix(src, out, size)
                    if existed:  # an earlier run's part: continued after its verified bytes
                        ctx.record(resumed_at=done)
                    ctx.resumed(done)
                    out.seek(done)
                    out.truncate()
                    while block := src.read(CHUNK):
                        digest.update(block)
                        out.write(block)
                        done += len(block)
                        ctx.record(offset=done)
                        ctx.progress(len(block))
                    out.flush()
                    os.fsync(out.fileno())
                # give the copy the source's permissions, as cp does, or nobody else could
                # read a shared folder's data
                os.chmod(part, source.stat().st_mode & 0o777)
                if digest.hexdigest() != sha256:
                    raise SourceChanged(f"{source} changed while it was being copied")
                if sha256_file(part) != sha256:  # read back what landed on disk
                    raise DestinationError(f"the copy of {source} at {dest} does not verify")
                os.replace(part, dest)
            except SourceChanged:
                part.unlink(missing_ok=True)
                raise
            except OSError as e:
                raise DestinationError(f"cannot copy {source} to {dest}: {e.strerror}") from None
        ctx.record(part=None, offset=size)
        return PutResult(self.target(key), size, sha256)

    @staticmethod
    def _verified_prefix(src, out, size: int):
        """``(n, digest)``: how many bytes of ``out`` (an earlier run's part) equal the
        source's first bytes, and the sha256 of those bytes so far; both files are left
        positioned at ``n``. A part that differs anywhere counts for nothing."""
        have = min(os.fstat(out.fileno()).st_size, size)
        digest = hashlib.sha256()
        done = 0
        while done < have:
            n = min(CHUNK, have - done)
            block, copied = src.read(n), out.read(n)
            if block != copied or len(block) != n:  # not the same data: start over
                src.seek(0)
                out.seek(0)
                return 0, hashlib.sha256()
            digest.update(block)
            done += n
        return done, digest

    def abandon(self, key: str, state: dict, *, job_id: int | None = None,
                since: str | None = None) -> list[str]:
        parts = {Path(state["part"])} if state.get("part") else set()
        if job_id is not None:  # a part begun just before a crash, not yet recorded
            parts.add(self.part_path(key, job_id))
        removed = []
        for p in parts:
            if p.exists():
                p.unlink()
                removed.append(str(p))
        return removed

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def free_for(self, key: str, sha256: str | None) -> bool:
        path = self.path(key)
        if not path.exists() and not path.is_symlink():
            return True
        return sha256 is not None and path.is_file() and sha256_file(path) == sha256

    def fetch(self, key: str, dest: Path, expected_sha256: str | None,
              progress: Progress | None = None) -> None:
        src = self.path(key)
        if not src.is_file():
            raise DestinationError(f"{src} does not exist any more")
        with open(src, "rb") as f, open(dest, "wb") as out:
            while block := f.read(CHUNK):
                out.write(block)
                if progress:
                    progress(len(block))

    def remove(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
