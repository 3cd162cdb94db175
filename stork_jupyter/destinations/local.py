"""A folder on a filesystem: files are copied to a temporary name, verified, then renamed."""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..checksum import CHUNK, sha256_file
from .base import DestinationError, Progress, PutResult


def folder_of(url: str) -> Path:
    if url.startswith("file://"):
        return Path(unquote(urlparse(url).path))
    return Path(url).expanduser().resolve()


class LocalBackend:
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
        dest = self.path(key)
        size = source.stat().st_size
        if dest.is_file() and dest.stat().st_size == size and sha256_file(dest) == sha256:
            if progress:
                progress(size)
            return PutResult(self.target(key), size, sha256, skipped=True)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        except OSError as e:
            raise DestinationError(f"cannot write to {dest.parent}: {e.strerror}") from None
        digest = hashlib.sha256()
        try:
            with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
                while block := src.read(CHUNK):
                    digest.update(block)
                    out.write(block)
                    if progress:
                        progress(len(block))
                out.flush()
                os.fsync(out.fileno())
            # mkstemp makes the file 0600: give the copy the source's permissions, as cp
            # does, or nobody else could read a shared folder's data
            os.chmod(tmp, source.stat().st_mode & 0o777)
            if digest.hexdigest() != sha256:
                raise DestinationError(f"{source} changed while it was being copied")
            if sha256_file(Path(tmp)) != sha256:  # read back what landed on disk
                raise DestinationError(f"the copy of {source} at {dest} does not verify")
            os.replace(tmp, dest)
        except OSError as e:
            raise DestinationError(f"cannot copy {source} to {dest}: {e.strerror}") from None
        finally:
            Path(tmp).unlink(missing_ok=True)
        return PutResult(self.target(key), size, sha256)
