"""A folder on a filesystem: files are copied to a temporary name, verified, then renamed."""

from __future__ import annotations

import errno
import os
import posixpath
import secrets
from pathlib import Path

from ..checksum import CHUNK, SourceDigest, sha256_file
from ..urls import file_url_path
from .base import (
    Backend,
    DestinationError,
    DestinationTaken,
    Digest,
    Progress,
    PutResult,
    SourceChanged,
    TransferContext,
    digest_value,
)

#: errors of os.link on a filesystem (or mount) that has no hard links
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV,
             errno.ENOSYS}


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
        """``<dest>.<job>-<random>.part`` next to the destination: job ids are only
        unique within one store, and another store's job may write the same name."""
        dest = self.path(key)
        tag = secrets.token_hex(4) if job_id is None else f"{job_id}-{secrets.token_hex(4)}"
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
            if dest.exists() and not self._replaceable(dest, ctx.state.get("replaces")):
                # another dataset's file took the name since the plan saw it free
                raise DestinationTaken(str(dest))
            part = Path(ctx.state["part"]) if ctx.state.get("part") else self.part_path(
                key, ctx.job_id)
            created = ctx.state.get("created", not dest.exists())
            existed = part.exists()
            # recorded before the file exists: a crash right after leaves no part that
            # a cancel cannot find
            ctx.record(durable=True, part=str(part), created=created)
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                out = open(part, "r+b" if existed else "w+b")  # noqa: SIM115
            except OSError as e:
                raise DestinationError(f"cannot write to {dest.parent}: {e.strerror}") from None
            try:
                with out:
                    digest = SourceDigest(source, sha256)
                    done = self._verified_prefix(src, out, size, digest)
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
                if not digest.matches():
                    raise SourceChanged(f"{source} changed while it was being copied")
                if sha256_file(part) != sha256:  # read back what landed on disk
                    raise DestinationError(f"the copy of {source} at {dest} does not verify")
                if not self._publish(part, dest, sha256, ctx.state.get("replaces")):
                    ctx.record(part=None, offset=size, created=False)
                    return PutResult(self.target(key), size, sha256, skipped=True)
            except (SourceChanged, DestinationTaken):
                part.unlink(missing_ok=True)
                raise
            except OSError as e:
                raise DestinationError(f"cannot copy {source} to {dest}: {e.strerror}") from None
        ctx.record(part=None, offset=size)
        return PutResult(self.target(key), size, sha256)

    @staticmethod
    def _replaceable(dest: Path, replaces: str | None) -> bool:
        return replaces is not None and dest.is_file() and sha256_file(dest) == replaces

    def _publish(self, part: Path, dest: Path, sha256: str, replaces: str | None) -> bool:
        """Give the verified ``part`` the name ``dest``, never over another dataset's
        file: a hard link fails when ``dest`` exists (atomic, unlike a rename), whoever
        made it since the plan saw the name free. A file there with this very content is
        shared (False: nothing was written); one with ``replaces`` (this dataset's
        earlier content, a sync) is replaced; anything else is DestinationTaken."""
        try:
            os.link(part, dest)
        except FileExistsError:
            there = sha256_file(dest) if dest.is_file() and not dest.is_symlink() else None
            return _over_existing(part, dest, there, sha256, replaces)
        except OSError as e:
            if e.errno not in _NO_LINKS:
                raise
            # a filesystem without hard links: checked, then renamed (a small window)
            if dest.exists() or dest.is_symlink():
                there = sha256_file(dest) if dest.is_file() else None
                return _over_existing(part, dest, there, sha256, replaces)
            os.replace(part, dest)
            return True
        part.unlink()
        return True

    @staticmethod
    def _verified_prefix(src, out, size: int, digest: SourceDigest) -> int:
        """How many bytes of ``out`` (an earlier run's part) equal the source's first
        bytes (``digest`` has taken them); both files are left positioned there. A part
        that differs anywhere counts for nothing."""
        have = min(os.fstat(out.fileno()).st_size, size)
        done = 0
        while done < have:
            n = min(CHUNK, have - done)
            block, copied = src.read(n), out.read(n)
            if block != copied or len(block) != n:  # not the same data: start over
                src.seek(0)
                out.seek(0)
                digest.restart()
                return 0
            digest.update(block)
            done += n
        return done

    def abandon(self, key: str, state: dict, *, job_id: int | None = None,
                since: str | None = None) -> list[str]:
        # the part is recorded before it is created (see put_resumable)
        parts = {Path(state["part"])} if state.get("part") else set()
        removed = []
        for p in parts:
            if p.exists():
                p.unlink()
                removed.append(str(p))
        return removed

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def holds(self, key: str, sha256: str | None) -> bool:
        path = self.path(key)
        return path.is_file() and (sha256 is None or sha256_file(path) == sha256)

    def free_for(self, key: str, sha256: Digest) -> bool:
        path = self.path(key)
        if not path.exists() and not path.is_symlink():
            return True
        return sha256 is not None and path.is_file() and (
            sha256_file(path) == digest_value(sha256))

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


def _over_existing(part: Path, dest: Path, there: str | None, sha256: str,
                   replaces: str | None) -> bool:
    """``dest`` exists (its sha256 ``there``): the same content is shared (False: nothing
    written), this dataset's earlier content (``replaces``) is replaced, anything else is
    another dataset's."""
    if there == sha256:
        part.unlink()
        return False
    if replaces is None or there != replaces:
        raise DestinationTaken(str(dest))
    os.replace(part, dest)
    return True
