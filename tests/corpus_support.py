"""Helpers for the corpus of realistic notebooks (``tests/corpus``, issue 12).

- ``build_project(name, folder)``: the notebook and the data its generator writes.
- ``run_traced(notebook, root)``: execute a notebook with an audit hook that records every
  file the kernel really opens, removes, renames, copies or lists under ``root`` (and the
  files a shell line names). The hook is installed by an IPython startup file in a
  private ``IPYTHONDIR``: nothing is added to the notebook.
- ``comparable(nb)``: outputs with what legitimately varies between two runs masked
  (memory addresses, the project's own folder); data is never masked.
- ``known_failures()``: ``tests/corpus/known_failures.toml``, notebook -> check -> reason.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat

from stork_jupyter.execute import execute_notebook

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPUS = Path(__file__).resolve().parent / "corpus"
NOTEBOOK_DIR = CORPUS / "notebooks"
KNOWN_FAILURES = CORPUS / "known_failures.toml"
#: The checks a notebook goes through; the keys of known_failures.toml's tables.
CHECKS = ("analysis", "folder", "s3", "postgres")


def corpus_names() -> list[str]:
    return sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))


def known_failures() -> dict[str, dict[str, str]]:
    with KNOWN_FAILURES.open("rb") as handle:
        return tomllib.load(handle)


def _make_data_module() -> Any:
    spec = importlib.util.spec_from_file_location("corpus_make_data", CORPUS / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_MAKE_DATA: Any = None


def build_project(name: str, folder: Path) -> Path:
    """``folder/NAME.ipynb`` and its data; returns the notebook's path."""
    global _MAKE_DATA
    if _MAKE_DATA is None:
        _MAKE_DATA = _make_data_module()
    folder.mkdir(parents=True, exist_ok=True)
    _MAKE_DATA.make(name, folder)
    target = folder / f"{name}.ipynb"
    shutil.copy2(NOTEBOOK_DIR / f"{name}.ipynb", target)
    return target


# --------------------------------------------------------------------------- audit trace

#: Runs in the kernel before the first cell (IPython startup file). Records, as JSON
#: lines, the files under STORK_CORPUS_ROOT that the kernel touches.
_HOOK = r'''
import json as _json, os as _os, shlex as _shlex, sys as _sys

def _stork_corpus_hook():
    trace = _os.environ.get("STORK_CORPUS_TRACE")
    root = _os.environ.get("STORK_CORPUS_ROOT")
    if not trace or not root:
        return
    root = _os.path.realpath(root)
    busy = []
    WRITE_FLAGS = _os.O_WRONLY | _os.O_RDWR | _os.O_CREAT | _os.O_APPEND | _os.O_TRUNC

    def inside(p):
        if isinstance(p, bytes):
            p = _os.fsdecode(p)
        if not isinstance(p, (str, _os.PathLike)):
            return None
        p = _os.path.realpath(_os.path.join(_os.getcwd(), _os.fspath(p)))
        if p == root or p.startswith(root + _os.sep):
            return _os.path.relpath(p, root).replace(_os.sep, "/")
        return None

    def emit(event, paths, mode):
        rels = [r for r in (inside(p) for p in paths) if r is not None]
        if rels:
            # opened per record: a shell line's child closes every inherited descriptor
            # before it execs, and O_APPEND keeps lines from parent and child whole
            line = _json.dumps({"event": event, "paths": rels, "mode": mode}) + "\n"
            fd = _os.open(trace, _os.O_WRONLY | _os.O_APPEND | _os.O_CREAT)
            try:
                _os.write(fd, line.encode())
            finally:
                _os.close(fd)

    def hook(event, args):
        if busy or event not in EVENTS:
            return
        busy.append(1)
        try:
            if event == "open":
                path, mode, flags = args
                if isinstance(path, int):
                    return
                if mode is not None:
                    writing = any(c in str(mode) for c in "wax+")
                else:
                    writing = bool((flags or 0) & WRITE_FLAGS)
                emit("open", [path], "write" if writing else "read")
            elif event in ("os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree"):
                emit(event, [args[0]], "write")
            elif event in ("os.rename", "shutil.copyfile", "shutil.copytree", "shutil.move"):
                emit(event, [args[0]], "read")
                emit(event, [args[1]], "write")
            elif event in ("os.listdir", "os.scandir", "glob.glob"):
                emit(event, [args[0] if args[0] is not None else "."], "list")
            elif event in ("subprocess.Popen", "os.exec", "os.posix_spawn", "os.system"):
                argv = args[0] if event == "os.system" else args[1]
                words = []
                for a in ([argv] if isinstance(argv, (str, bytes)) else list(argv or [])):
                    a = _os.fsdecode(a) if isinstance(a, bytes) else str(a)
                    try:
                        words += _shlex.split(a)
                    except ValueError:
                        words += a.split()
                emit("shell", [w for w in words if _os.path.isfile(w)], "shell")
                emit("shell", [w for w in words if _os.path.isdir(w)], "list")
        except Exception:
            pass
        finally:
            busy.pop()

    EVENTS = {"open", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree", "os.rename",
              "shutil.copyfile", "shutil.copytree", "shutil.move", "os.listdir",
              "os.scandir", "glob.glob", "subprocess.Popen", "os.exec", "os.posix_spawn",
              "os.system"}
    _sys.addaudithook(hook)

_stork_corpus_hook()
del _stork_corpus_hook
'''


#: Files a library opens in C, out of the audit hook's sight (and not written by the
#: run, which the before/after snapshot would show): notebook -> files.
UNTRACED_READS = {
    "html_tables": {"data/population.html"},  # pandas.read_html: lxml opens the path itself
}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def run_traced(notebook: Path, root: Path, timeout: int = 120) -> tuple[Any, list[dict]]:
    """Execute ``notebook`` (cwd: its folder) and return (executed notebook, trace).

    The trace also holds a ``snapshot`` record of the files the run created or changed
    (seen by comparing the folder before and after), which catches writes made in C
    (HDF5, parquet) that raise no audit event."""
    before = _snapshot(root)
    with tempfile.TemporaryDirectory(prefix="stork-corpus-ipython-") as tmp:
        ipython_dir = Path(tmp) / "ipython"
        startup = ipython_dir / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-stork-corpus-audit.py").write_text(_HOOK)
        trace = Path(tmp) / "trace.jsonl"
        trace.touch()
        nb = execute_notebook(notebook, timeout=timeout,
                              env={"IPYTHONDIR": str(ipython_dir),
                                   "STORK_CORPUS_TRACE": str(trace),
                                   "STORK_CORPUS_ROOT": str(root)})
        records = [json.loads(line) for line in trace.read_text().splitlines() if line]
    after = _snapshot(root)
    changed = sorted(p for p, stat in after.items() if before.get(p) != stat)
    records.append({"event": "snapshot", "paths": changed, "mode": "write"})
    records.append({"event": "untraced", "paths": sorted(UNTRACED_READS.get(notebook.stem, ())),
                    "mode": "read"})
    return nb, records


def traced_files(records: list[dict], notebook_name: str) -> set[str]:
    """The files (not folders) the run read or wrote, relative to the project."""
    files: set[str] = set()
    for rec in records:
        if rec["mode"] == "list" or rec["event"] in ("os.mkdir", "os.rmdir"):
            continue
        files.update(rec["paths"])
    return {f for f in files if not f.endswith(".ipynb") and not f.startswith(".")
            and f != notebook_name}


def traced_paths(records: list[dict]) -> set[str]:
    """Everything the trace names, folders that were listed included."""
    return {p for rec in records for p in rec["paths"]}


# --------------------------------------------------------------------------- outputs

_PAPERMILL_ERROR_TAGS = {"papermill-error-cell-tag"}
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,16}")
#: Where ipykernel says a warning came from: a file named after the kernel's pid and a
#: hash of the cell (``/tmp/ipykernel_1507/984941836.py:2``).
_CELL_FILE = re.compile(r"/tmp/ipykernel_\d+/\d+\.py")


def comparable(nb: Any, *folders: Path) -> Any:
    """A copy of ``nb`` whose output texts have memory addresses and the given folders
    (where the run happened) masked: both vary from run to run, the data does not."""
    nb = copy.deepcopy(nbformat.from_dict(nb))
    # papermill adds a banner and an anchor cell when a cell fails: the failing cell's
    # own outputs are what to compare
    nb.cells = [c for c in nb.cells
                if not set(c.get("metadata", {}).get("tags", [])) & _PAPERMILL_ERROR_TAGS]

    def mask(text: str) -> str:
        for folder in folders:
            text = text.replace(str(folder), "<project>")
        return _CELL_FILE.sub("<cell>", _ADDRESS.sub("0x<address>", text))

    for cell in nb.cells:
        for out in cell.get("outputs", []) or []:
            if "text" in out:
                text = out["text"]
                out["text"] = mask("".join(text) if isinstance(text, list) else text)
            for mime, value in (out.get("data") or {}).items():
                if mime.startswith("text/"):
                    out["data"][mime] = mask("".join(value) if isinstance(value, list)
                                             else value)
            if "evalue" in out:
                out["evalue"] = mask(out["evalue"])
    return nb


# --------------------------------------------------------------------------- coverage

#: Each pattern of issue 12 ("What was seen" and the corpus brief) and a regular
#: expression that finds it in a notebook's code; every one must occur in the corpus.
PATTERNS = {
    "1: a read call spanning several lines": r"pd\.read_\w+\(\s*\n|pd\.read_\w+\([^)\n]*,\n",
    "2: to_csv(sys.stdout)": r"\.to_csv\(sys\.stdout\)",
    "2: to_json(sys.stdout, ...)": r"\.to_json\(sys\.stdout",
    "2: sys.stderr": r"file=sys\.stderr",
    "2: an io.StringIO buffer": r"io\.StringIO\(\)",
    "2: an io.BytesIO buffer": r"io\.BytesIO\(\)",
    "2: an open handle passed to a reader": r"with open\([^)]*\) as (\w+):\s*\n\s*\w+ = pd\.read_csv\(\1\)",
    "3: pd.read_html": r"pd\.read_html\(",
    "3: pd.ExcelFile and .parse()": r"pd\.ExcelFile\([\s\S]*\.parse\(",
    "3: with pd.ExcelWriter(...) as writer": r"with pd\.ExcelWriter\(",
    "3: pd.HDFStore": r"pd\.HDFStore\(",
    "3: os.remove": r"os\.remove\(",
    "3: os.unlink": r"os\.unlink\(",
    "3: os.rename": r"os\.rename\(",
    "3: shutil.copy": r"shutil\.copy\(",
    "3: shutil.move": r"shutil\.move\(",
    "3: os.path.exists": r"os\.path\.exists\(",
    "3: os.makedirs": r"os\.makedirs\(",
    "3: !cat": r"^!cat ",
    "3: !head -n": r"^!head -n ",
    "3: !wc -l": r"^!wc -l ",
    "3: !rm": r"^!rm ",
    "3: !ls": r"^!ls ",
    "4: an API the catalog does not list, on an existing file": r"zipfile\.ZipFile\(\"data/",
    "5: np.save without extension, then np.load with it": r"np\.save\(\"[^\".]+\"",
    "5: np.savez": r"np\.savez\(",
    "6: Path.read_text": r"\.read_text\(\)",
    "6: Path.read_bytes": r"\.read_bytes\(\)",
    "6: Path.write_text": r"\.write_text\(",
    "6: Path.write_bytes": r"\.write_bytes\(",
    "6: Path.open": r"\)\.open\(\)",
    "6: Path.exists": r"\)\.exists\(\)",
    "6: Path.glob": r"\.glob\(\"\*",
    "7: read_csv(..., index_col=0) on an unnamed first column": r"read_csv\([^)]*index_col=0",
    "7: dtype=str": r"dtype=str\b",
    "7: read_csv(..., chunksize=N)": r"read_csv\([^)]*chunksize=",
    "7: read_excel(..., sheet_name=None)": r"read_excel\([^)]*sheet_name=None",
    "7: pd.read_xml": r"pd\.read_xml\(",
    "7: missing text values": r"na_values=",
    "8: scratch file written then removed": r"open\(\"data/tmp\.txt\", \"w\"\)[\s\S]*os\.remove\(\"data/tmp\.txt\"\)",
    "9: a helper function called with constants": r"def load\(name\):[\s\S]*load\(\"train\"\)",
    "9: a loop over os.listdir": r"for \w+ in os\.listdir\(",
    "9: a loop over sorted(glob(...))": r"for \w+ in sorted\(glob",
    "9: a loop over Path.iterdir()": r"for \w+ in \w+\.iterdir\(\)",
    "9: a literal dict subscripted": r"pd\.read_csv\(PATHS\[\"",
    "9: for k, v in d.items()": r"for \w+, \w+ in PATHS\.items\(\)",
    "9: zip over literal lists": r"for \w+, \w+ in zip\(",
    "9: enumerate over a literal list": r"for \w+, \w+ in enumerate\(",
    "brief: pickled model": r"pickle\.dump\(",
    "brief: joblib": r"joblib\.dump\(",
    "brief: image folder": r"Image\.open\(",
    "brief: parquet artefacts": r"\.to_parquet\(\"",
}


def notebook_code(name: str) -> str:
    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")
