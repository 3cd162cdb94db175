"""The setup cell inserted at the top of a migrated notebook: plain code, no stork import,
no secret. It says where the data lives and defines only the helpers the cells use."""

from __future__ import annotations

from .local_copy import LOCAL_IMPORTS, STORK_LOCAL
from .path_io import PATH_IO_METHODS
from .shell import SHELL_HELPERS

SETUP_KEY = "stork"  #: cell metadata key marking the setup cell

_HELPERS = {
    "stork_read": '''
def stork_read(url):
    """A migrated file's bytes as a file object (numpy, pickle, pyarrow... read it)."""
    with fsspec.open(url, "rb") as f:
        return io.BytesIO(f.read())
''',
    "stork_write": '''
def stork_write(url, write):
    """Call write(file) on a new file at url; it is stored when write returns."""
    with fsspec.open(url, "wb") as f:
        return write(f)
''',
    "stork_glob": '''
def stork_glob(pattern):
    """The URLs matching pattern where the data lives now, in sorted order."""
    fs = fsspec.core.url_to_fs(pattern)[0]
    return sorted(fs.unstrip_protocol(p) for p in fs.glob(pattern))
''',
    "stork_fetch": '''
def stork_fetch(url, path):
    """Copy the migrated file at url to the local path; False when there is none yet."""
    fs, where = fsspec.core.url_to_fs(url)
    try:
        fs.get_file(where, path)
    except FileNotFoundError:
        return False
    return True
''',
    "stork_store": '''
def stork_store(path, url):
    """Store the local file at path as the migrated file at url."""
    fs, where = fsspec.core.url_to_fs(url)
    fs.put_file(path, where)
''',
    "stork_local": STORK_LOCAL,
    "StorkPath": '''
class StorkPath:
    """A migrated file or folder by URL, with the pathlib methods this notebook uses."""

    def __init__(self, url):
        self.url = str(url)
        self.fs, self.path = fsspec.core.url_to_fs(self.url)

    def open(self, mode="r", **kwargs):
        return fsspec.open(self.url, mode, **kwargs).open()
''' + PATH_IO_METHODS + '''
    def exists(self):
        self.fs.invalidate_cache()
        return self.fs.exists(self.path)

    def is_file(self):
        self.fs.invalidate_cache()
        return self.fs.isfile(self.path)

    def is_dir(self):
        self.fs.invalidate_cache()
        return self.fs.isdir(self.path)

    def unlink(self, missing_ok=False):
        if not self.is_file():
            if missing_ok:
                return
            raise FileNotFoundError(self.url)
        self.fs.rm_file(self.path)

    def mkdir(self, *args, **kwargs):
        """Object stores have no folders to make."""

    def copy(self, target):
        self.fs.copy(self.path, StorkPath(target).path)
        return str(target)

    def rename(self, target):
        self.fs.mv(self.path, StorkPath(target).path)
        return StorkPath(target)

    def listdir(self):
        self.fs.invalidate_cache()
        return sorted(p.rstrip("/").rsplit("/", 1)[-1]
                      for p in self.fs.ls(self.path, detail=False))
''',
}
#: helpers that use fsspec
_FSSPEC = frozenset({"fsspec", "stork_read", "stork_write", "stork_glob", "StorkPath",
                     "stork_fetch", "stork_store"})


def setup_source(kind: str, destination: str, needs: set[str],
                 settings: dict | None = None) -> str:
    if kind == "postgresql":
        from .setup_postgres import postgres_setup_source

        settings = settings or {}
        return postgres_setup_source(settings["engine_url"], settings["schema"], needs)
    if kind == "s3":
        lines = [
            f"# Added by stork: this notebook's data lives at {destination}.",
            "# The endpoint and credentials come from the environment (AWS_ENDPOINT_URL,",
            "# AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile), never from this cell.",
        ]
    else:
        lines = [f"# Added by stork: this notebook's data lives in {destination}."]
    if "stork_local" in needs:  # (it fetches and stores through the two others)
        needs = needs | {"stork_fetch", "stork_store"} | LOCAL_IMPORTS
    helpers = [name for name in _HELPERS if name in needs]
    imports = []
    if "stork_read" in needs:
        imports.append("import io")
    imports += [f"import {m}" for m in ("atexit", "glob", "os", "pathlib", "shutil", "tempfile")
                if m in needs]
    if needs & _FSSPEC:
        imports.append("import fsspec")
    lines += imports
    source = "\n".join(lines)
    for name in helpers:
        source += "\n\n" + _HELPERS[name].strip("\n")
    for name, code in SHELL_HELPERS.items():
        if name in needs:
            source += "\n\n" + code.strip("\n")
    return source
