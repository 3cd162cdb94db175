"""Which APIs can be rewritten for which destination kind, and how.

Shapes (S3):
- ``url``: the call takes a URL as it is (pandas and polars through fsspec);
- ``open``: ``open(p, mode)`` becomes ``fsspec.open(url, mode)``;
- ``read_bytes``: the path becomes ``stork_read(url)``, a file object from the setup cell;
- ``write_bytes``: the call becomes ``stork_write(url, lambda stork_file: call(stork_file))``;
- ``local`` (S3 and PostgreSQL, see ``local_copy``): the call becomes
  ``stork_local(url, mode, lambda stork_file: call(stork_file))``, on a local copy.
A filesystem destination takes every API with a new path.
"""

from __future__ import annotations

from ..analysis import DataAccess

S3_SHAPES: dict[str, str] = {
    **{f"pandas.{n}": "url" for n in (
        "read_csv", "read_table", "read_fwf", "read_parquet", "read_json", "read_excel",
        "read_feather", "read_pickle", "read_orc", "read_xml")},
    **{f"pandas.DataFrame.{n}": "url" for n in (
        "to_csv", "to_parquet", "to_json", "to_excel", "to_feather", "to_pickle", "to_orc",
        "to_xml")},
    **{f"polars.{n}": "url" for n in (
        "read_csv", "read_parquet", "read_json", "read_ndjson", "read_ipc", "scan_csv",
        "scan_parquet", "scan_ndjson", "scan_ipc")},
    "pandas.ExcelFile": "url", "pandas.ExcelWriter": "url",
    "open": "open",
    **{n: "read_bytes" for n in (
        "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "joblib.load", "torch.load",
        "PIL.Image.open", "matplotlib.pyplot.imread", "matplotlib.image.imread",
        "imageio.imread", "pyarrow.parquet.read_table", "pyarrow.parquet.ParquetFile",
        "pyarrow.feather.read_feather", "pyarrow.feather.read_table", "pyarrow.csv.read_csv",
        "scipy.io.loadmat", "pandas.read_html", "zipfile.ZipFile")},
    **{n: "write_bytes" for n in (
        "numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "joblib.dump",
        "torch.save", "pyarrow.parquet.write_table", "pyarrow.feather.write_feather")},
}


#: Calls that need a real file: PyTables opens HDF5 files by name only.
NEEDS_LOCAL_FILE = frozenset({"pandas.HDFStore", "pandas.read_hdf", "pandas.DataFrame.to_hdf"})
#: Calls that read from a file object but write their file when closed (an archive).
WRITES_WHEN_CLOSED = frozenset({"zipfile.ZipFile"})
#: Of the calls on a local copy, those whose result keeps the file open: the copy is
#: stored back when that result is closed, not when the call returns.
KEEPS_OPEN = frozenset({"pandas.HDFStore", "zipfile.ZipFile"})


def local_copy(api: str, writes: bool) -> bool:
    """Whether a migrated call works on a local copy of the file (``stork_local``):
    fetched first when its mode reads the file, stored back when its mode writes it.
    ``writes``: whether the call writes the file (in any of its accesses)."""
    return api in NEEDS_LOCAL_FILE or (writes and api in WRITES_WHEN_CLOSED)


def s3_shape(api: str, writes: bool = False) -> str | None:
    return "local" if local_copy(api, writes) else S3_SHAPES.get(api)


def is_file_op(api: str, op: str | None = None) -> bool:
    """File-system operations, pathlib methods and shell lines: rewritten through the
    setup cell's ``StorkPath`` (S3, PostgreSQL) or with the new path (a folder)."""
    return bool(op) or api.startswith(("pathlib.Path.", "shell."))


def unsupported_reason(access: DataAccess, kind: str) -> str | None:
    """Why this access cannot be rewritten for ``kind``, or None when it can."""
    if kind == "file" or is_file_op(access.api, access.op):
        return None
    if kind != "s3":
        return f"{kind} destinations are not supported yet"
    shape = s3_shape(access.api, access.mode == "write")
    if shape is None:
        return f"{access.api} needs a local file; it has no S3 form"
    if shape == "open":
        mode = access.open_mode
        if mode is None:
            return "the open() mode is only known at run time"
        if "+" in mode or "a" in mode:
            return f"open(..., {mode!r}) cannot update an object in place on S3"
    return None
