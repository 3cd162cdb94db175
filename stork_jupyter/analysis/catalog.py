"""The catalog of data-access APIs: data, not code paths. Adding an API is one line.

Each entry says where the path is (positional index and keyword name), whether the
call reads or writes, and the format (``None``: taken from the file's extension).

Kinds:
- ``function``: a module-level callable, matched by its qualified name after aliases.
- ``method``: a method matched by name on any object that is not a module
  (``df.to_csv(...)``, ``fig.savefig(...)``).
- ``open``: returns a file handle; what later consumes the handle sets the format.
- ``consumer``: takes a handle (``json.load(f)``); with a path instead it is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiSpec:
    name: str  #: qualified name (function) or method name (method)
    api: str  #: the name reported in DataAccess.api
    mode: str  #: "read" or "write" ("open" entries: from the mode argument)
    format: str | None
    path_arg: int = 0
    path_kw: str | None = None
    kind: str = "function"
    mode_arg: int | None = None  #: for open-like calls: positional index of the mode
    default_mode: str = "r"
    #: only a literal (a connection URL) is an access; an engine/connection object is not
    literal_only: bool = False
    #: a file-system operation (``os.remove``...): the method of the migrated notebook's
    #: ``StorkPath`` helper that does it at the destination (see ``rewrite/``)
    op: str | None = None
    #: where the second path is, for calls that take two (``shutil.copy(src, dst)``)
    path2_arg: int | None = None
    path2_kw: str | None = None
    #: whether the call works on a file that need not exist (``os.path.exists``)
    may_be_missing: bool = False
    #: the ``mode`` argument (at ``mode_arg`` or by keyword, else ``default_mode``) says
    #: whether the call reads the file, writes it or both (``FILE_MODES``)
    file_modes: bool = False


def _f(name, mode, fmt, arg=0, kw=None, api=None):
    return ApiSpec(name, api or name, mode, fmt, arg, kw)


def _m(name, api, mode, fmt, arg=0, kw=None):
    return ApiSpec(name, api, mode, fmt, arg, kw, kind="method")


def _op(name, op, mode, kw="path", arg2=None, kw2=None, missing=False):
    """A file-system operation; ``mode`` is that of its (first) path."""
    return ApiSpec(name, name, mode, None, 0, kw, op=op, path2_arg=arg2, path2_kw=kw2,
                   may_be_missing=missing)


def _c(name, mode, fmt, arg=0, kw=None):
    return ApiSpec(name, name, mode, fmt, arg, kw, kind="consumer")


CATALOG: tuple[ApiSpec, ...] = (
    # pandas readers
    _f("pandas.read_csv", "read", "csv", 0, "filepath_or_buffer"),
    _f("pandas.read_table", "read", "csv", 0, "filepath_or_buffer"),
    _f("pandas.read_fwf", "read", "fwf", 0, "filepath_or_buffer"),
    _f("pandas.read_parquet", "read", "parquet", 0, "path"),
    _f("pandas.read_json", "read", "json", 0, "path_or_buf"),
    _f("pandas.read_excel", "read", "excel", 0, "io"),
    _f("pandas.read_feather", "read", "feather", 0, "path"),
    _f("pandas.read_pickle", "read", "pickle", 0, "filepath_or_buffer"),
    ApiSpec("pandas.read_hdf", "pandas.read_hdf", "read", "hdf", 0, "path_or_buf",
            mode_arg=2, default_mode="r", file_modes=True),
    _f("pandas.read_orc", "read", "orc", 0, "path"),
    _f("pandas.read_xml", "read", "xml", 0, "path_or_buffer"),
    _f("pandas.read_stata", "read", "stata", 0, "filepath_or_buffer"),
    _f("pandas.read_sas", "read", "sas", 0, "filepath_or_buffer"),
    _f("pandas.read_spss", "read", "spss", 0, "path"),
    _f("pandas.read_html", "read", "html", 0, "io"),
    _f("pandas.ExcelFile", "read", "excel", 0, "path_or_buffer"),
    # an HDFStore is a handle: ``store.put(k, df)`` and ``store[k]`` go through it
    ApiSpec("pandas.HDFStore", "pandas.HDFStore", "read", "hdf", 0, "path", "open", 1, "a",
            file_modes=True),
    # an ExcelWriter is a handle: ``df.to_excel(writer, ...)`` writes through it
    ApiSpec("pandas.ExcelWriter", "pandas.ExcelWriter", "write", "excel", 0, "path", "open",
            4, "wb"),
    # databases named by URL (``postgresql://...``): reported as remote, never migrated
    ApiSpec("pandas.read_sql", "pandas.read_sql", "read", "sql", 1, "con", literal_only=True),
    ApiSpec("pandas.read_sql_query", "pandas.read_sql_query", "read", "sql", 1, "con",
            literal_only=True),
    ApiSpec("pandas.read_sql_table", "pandas.read_sql_table", "read", "sql", 1, "con",
            literal_only=True),
    # pandas writers (DataFrame and Series methods)
    _m("to_csv", "pandas.DataFrame.to_csv", "write", "csv", 0, "path_or_buf"),
    _m("to_parquet", "pandas.DataFrame.to_parquet", "write", "parquet", 0, "path"),
    _m("to_json", "pandas.DataFrame.to_json", "write", "json", 0, "path_or_buf"),
    _m("to_excel", "pandas.DataFrame.to_excel", "write", "excel", 0, "excel_writer"),
    _m("to_feather", "pandas.DataFrame.to_feather", "write", "feather", 0, "path"),
    _m("to_pickle", "pandas.DataFrame.to_pickle", "write", "pickle", 0, "path"),
    ApiSpec("to_hdf", "pandas.DataFrame.to_hdf", "write", "hdf", 0, "path_or_buf", "method",
            default_mode="a", file_modes=True),
    _m("to_orc", "pandas.DataFrame.to_orc", "write", "orc", 0, "path"),
    _m("to_xml", "pandas.DataFrame.to_xml", "write", "xml", 0, "path_or_buffer"),
    ApiSpec("to_sql", "pandas.DataFrame.to_sql", "write", "sql", 1, "con", kind="method",
            literal_only=True),
    # builtin open and friends
    ApiSpec("builtins.open", "open", "read", None, 0, "file", "open", 1),
    ApiSpec("io.open", "open", "read", None, 0, "file", "open", 1),
    ApiSpec("codecs.open", "open", "read", None, 0, "filename", "open", 1),
    ApiSpec("gzip.open", "gzip.open", "read", None, 0, "filename", "open", 1, "rb"),
    ApiSpec("h5py.File", "h5py.File", "read", "hdf5", 0, "name", "open", 1),
    # an archive is a handle: its members (``z.open(name)``, ``z.read(name)``) are its data
    ApiSpec("zipfile.ZipFile", "zipfile.ZipFile", "read", "zip", 0, "file", "open", 1,
            file_modes=True),
    # handle consumers: they set the format of the access that opened the handle
    _c("json.load", "read", "json", 0, "fp"),
    _c("json.dump", "write", "json", 1, "fp"),
    _c("pickle.load", "read", "pickle", 0, "file"),
    _c("pickle.dump", "write", "pickle", 1, "file"),
    _c("csv.reader", "read", "csv", 0, "csvfile"),
    _c("csv.DictReader", "read", "csv", 0, "f"),
    _c("csv.writer", "write", "csv", 0, "csvfile"),
    _c("csv.DictWriter", "write", "csv", 0, "f"),
    _c("yaml.safe_load", "read", "yaml", 0, "stream"),
    _c("yaml.load", "read", "yaml", 0, "stream"),
    _c("yaml.safe_dump", "write", "yaml", 1, "stream"),
    _c("yaml.dump", "write", "yaml", 1, "stream"),
    # numpy
    _f("numpy.load", "read", None, 0, "file"),
    _f("numpy.loadtxt", "read", "text", 0, "fname"),
    _f("numpy.genfromtxt", "read", "text", 0, "fname"),
    _f("numpy.fromfile", "read", "binary", 0, "file"),
    _f("numpy.save", "write", "npy", 0, "file"),
    _f("numpy.savez", "write", "npz", 0, "file"),
    _f("numpy.savez_compressed", "write", "npz", 0, "file"),
    _f("numpy.savetxt", "write", "text", 0, "fname"),
    # pickle-likes with paths
    _f("joblib.load", "read", "pickle", 0, "filename"),
    _f("joblib.dump", "write", "pickle", 1, "filename"),
    # pyarrow
    _f("pyarrow.parquet.read_table", "read", "parquet", 0, "source"),
    _f("pyarrow.parquet.write_table", "write", "parquet", 1, "where"),
    _f("pyarrow.parquet.ParquetFile", "read", "parquet", 0, "source"),
    _f("pyarrow.csv.read_csv", "read", "csv", 0, "input_file"),
    _f("pyarrow.feather.read_feather", "read", "feather", 0, "source"),
    _f("pyarrow.feather.read_table", "read", "feather", 0, "source"),
    _f("pyarrow.feather.write_feather", "write", "feather", 1, "dest"),
    # polars
    _f("polars.read_csv", "read", "csv", 0, "source"),
    _f("polars.read_parquet", "read", "parquet", 0, "source"),
    _f("polars.read_json", "read", "json", 0, "source"),
    _f("polars.read_ndjson", "read", "json", 0, "source"),
    _f("polars.read_ipc", "read", "feather", 0, "source"),
    _f("polars.read_excel", "read", "excel", 0, "source"),
    _f("polars.scan_csv", "read", "csv", 0, "source"),
    _f("polars.scan_parquet", "read", "parquet", 0, "source"),
    _f("polars.scan_ndjson", "read", "json", 0, "source"),
    _f("polars.scan_ipc", "read", "feather", 0, "source"),
    _m("write_csv", "polars.DataFrame.write_csv", "write", "csv", 0, "file"),
    _m("write_parquet", "polars.DataFrame.write_parquet", "write", "parquet", 0, "file"),
    _m("write_ndjson", "polars.DataFrame.write_ndjson", "write", "json", 0, "file"),
    _m("write_ipc", "polars.DataFrame.write_ipc", "write", "feather", 0, "file"),
    # file-system operations on data paths
    _op("os.remove", "unlink", "write"),
    _op("os.unlink", "unlink", "write"),
    _op("os.path.exists", "exists", "read", missing=True),
    _op("os.path.isfile", "is_file", "read", missing=True),
    _op("os.path.isdir", "is_dir", "read", missing=True),
    _op("os.makedirs", "mkdir", "write", kw="name"),
    _op("os.mkdir", "mkdir", "write"),
    _op("os.rename", "rename", "read", "src", 1, "dst"),
    _op("os.replace", "rename", "read", "src", 1, "dst"),
    _op("shutil.move", "rename", "read", "src", 1, "dst"),
    _op("shutil.copy", "copy", "read", "src", 1, "dst"),
    _op("shutil.copyfile", "copy", "read", "src", 1, "dst"),
    _op("shutil.copy2", "copy", "read", "src", 1, "dst"),
    # images
    _f("cv2.imread", "read", "image", 0, "filename"),
    _f("cv2.imwrite", "write", "image", 0, "filename"),
    _f("PIL.Image.open", "read", "image", 0, "fp"),
    _f("matplotlib.pyplot.imread", "read", "image", 0, "fname"),
    _f("matplotlib.image.imread", "read", "image", 0, "fname"),
    _f("matplotlib.pyplot.savefig", "write", "image", 0, "fname"),
    _m("savefig", "matplotlib.figure.Figure.savefig", "write", "image", 0, "fname"),
    _f("imageio.imread", "read", "image", 0, "uri"),
    _f("imageio.imwrite", "write", "image", 0, "uri"),
    _f("skimage.io.imread", "read", "image", 0, "fname"),
    # model files
    _f("torch.load", "read", "torch", 0, "f"),
    _f("torch.save", "write", "torch", 1, "f"),
    _f("keras.models.load_model", "read", "keras", 0, "filepath"),
    _f("scipy.io.loadmat", "read", "matlab", 0, "file_name"),
    _f("geopandas.read_file", "read", "geo", 0, "filename"),
)

#: Writers that add a suffix to a path without it, as numpy does.
ADDED_SUFFIX: dict[str, str] = {
    "numpy.save": ".npy", "numpy.savez": ".npz", "numpy.savez_compressed": ".npz",
}

#: Other spellings of the same API (module re-exports), mapped to the catalog name.
ALIASES: dict[str, str] = {
    "open": "builtins.open",
    "posixpath.join": "os.path.join",
    "pathlib.PurePath": "pathlib.Path",
    "pathlib.PosixPath": "pathlib.Path",
    "pathlib.PurePosixPath": "pathlib.Path",
    "imageio.v2.imread": "imageio.imread",
    "imageio.v3.imread": "imageio.imread",
    "imageio.v2.imwrite": "imageio.imwrite",
    "imageio.v3.imwrite": "imageio.imwrite",
    "tensorflow.keras.models.load_model": "keras.models.load_model",
    "tf.keras.models.load_model": "keras.models.load_model",
    "keras.saving.load_model": "keras.models.load_model",
    "pandas.io.parquet.read_parquet": "pandas.read_parquet",
    "pandas.io.excel.ExcelWriter": "pandas.ExcelWriter",
    "pandas.io.excel.ExcelFile": "pandas.ExcelFile",
    "pandas.io.pytables.HDFStore": "pandas.HDFStore",
    "genericpath.exists": "os.path.exists",
    "posixpath.exists": "os.path.exists",
    "posixpath.isfile": "os.path.isfile",
    "genericpath.isfile": "os.path.isfile",
    "posixpath.isdir": "os.path.isdir",
    "genericpath.isdir": "os.path.isdir",
    "cv.imread": "cv2.imread",
}

#: What a ``file_modes`` call does to its file in each mode (HDF5 files, as PyTables opens
#: them, and zip archives): "a" and "r+" read what is there and write it back.
FILE_MODES: dict[str, tuple[str, ...]] = {
    "r": ("read",), "r+": ("read", "write"), "a": ("read", "write"), "w": ("write",),
    "w-": ("write",), "x": ("write",),
}

#: Methods of an archive handle that give one of its members (a file object or its
#: bytes): what reads them reads the archive, no file of its own.
ARCHIVE_MEMBERS: dict[str, frozenset[str]] = {
    "zipfile.ZipFile": frozenset({"open", "read"}),
}

#: Methods of an archive handle that use files of their own, by (handle, method): the
#: folder members are extracted to (the notebook's own when not given) or the file added.
#: Reported, never migrated: the reason says why (``ARCHIVE_FILE_REASONS``).
ARCHIVE_FILES: dict[tuple[str, str], ApiSpec] = {
    ("zipfile.ZipFile", "extractall"): ApiSpec(
        "extractall", "zipfile.ZipFile.extractall", "write", None, 0, "path", "method"),
    ("zipfile.ZipFile", "extract"): ApiSpec(
        "extract", "zipfile.ZipFile.extract", "write", None, 1, "path", "method"),
    ("zipfile.ZipFile", "write"): ApiSpec(
        "write", "zipfile.ZipFile.write", "read", None, 0, "filename", "method"),
}
ARCHIVE_FILE_REASONS: dict[str, str] = {
    "zipfile.ZipFile.extractall": "it writes the archive's members as local files; read "
    "them from the archive (z.open(name), z.read(name)) to migrate it",
    "zipfile.ZipFile.extract": "it writes an archive member as a local file; read it "
    "from the archive (z.open(name), z.read(name)) to migrate it",
    "zipfile.ZipFile.write": "it adds a local file to the archive; add its data "
    "(z.writestr(name, data)) to migrate it",
}

#: Methods of a path object that read or write the file it names: (mode, format).
PATH_METHODS: dict[str, tuple[str, str | None]] = {
    "read_text": ("read", "text"),
    "read_bytes": ("read", "binary"),
    "write_text": ("write", "text"),
    "write_bytes": ("write", "binary"),
    "exists": ("read", None),
    "is_file": ("read", None),
    "is_dir": ("read", None),
    "unlink": ("write", None),
    "mkdir": ("write", None),
}
#: Of those, the ones that work on a file that need not exist.
PATH_MAY_BE_MISSING = frozenset({"exists", "is_file", "is_dir", "unlink", "mkdir"})

FUNCTIONS: dict[str, ApiSpec] = {s.name: s for s in CATALOG if s.kind != "method"}
METHODS: dict[str, ApiSpec] = {s.name: s for s in CATALOG if s.kind == "method"}

#: Format from a file extension, for entries whose format depends on the file.
EXTENSION_FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "text", ".json": "json", ".jsonl": "json",
    ".ndjson": "json", ".parquet": "parquet", ".pq": "parquet", ".feather": "feather",
    ".arrow": "feather", ".xlsx": "excel", ".xls": "excel", ".pkl": "pickle",
    ".pickle": "pickle", ".joblib": "pickle", ".npy": "npy", ".npz": "npz",
    ".h5": "hdf5", ".hdf5": "hdf5", ".png": "image", ".jpg": "image", ".jpeg": "image",
    ".gif": "image", ".bmp": "image", ".tif": "image", ".tiff": "image",
    ".yaml": "yaml", ".yml": "yaml", ".log": "text", ".md": "text", ".xml": "xml",
    ".pt": "torch", ".pth": "torch", ".keras": "keras", ".orc": "orc",
    ".html": "html", ".htm": "html",
}


def canonical(qualname: str) -> str:
    """The catalog's name for a qualified name reached through imports."""
    return ALIASES.get(qualname, qualname)


def format_from_extension(path: str) -> str | None:
    dot = path.rfind(".")
    if dot == -1 or "/" in path[dot:]:
        return None
    return EXTENSION_FORMATS.get(path[dot:].lower())
