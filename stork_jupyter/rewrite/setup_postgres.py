"""The setup cell of a notebook migrated to PostgreSQL: an engine from the environment
(no password: libpq reads PGPASSWORD or ~/.pgpass) and only the helpers its cells use."""

from __future__ import annotations

from .local_copy import LOCAL_IMPORTS, STORK_LOCAL
from .path_io import PATH_IO_METHODS
from .postgres import quote_ident
from .shell import SHELL_HELPERS

_FILES = '''
def stork_read(key):
    """A migrated file's bytes, from the files table, as a file object."""
    with STORK_PG.connect() as conn:
        data = conn.execute(sqlalchemy.text(
            f"SELECT bytes FROM {STORK_FILES} WHERE path = :key"), {"key": key}).scalar_one()
    return io.BytesIO(data)
'''
_PUT = '''
def stork_put(key, data):
    """Store a file's bytes in the files table, replacing an older version."""
    with STORK_PG.begin() as conn:
        conn.execute(sqlalchemy.text(
            f"CREATE TABLE IF NOT EXISTS {STORK_FILES} (path text PRIMARY KEY, "
            "bytes bytea NOT NULL, sha256 text NOT NULL, size bigint NOT NULL)"))
        conn.execute(sqlalchemy.text(
            f"INSERT INTO {STORK_FILES} (path, bytes, sha256, size) "
            "VALUES (:key, :data, :sha, :size) ON CONFLICT (path) DO UPDATE SET "
            "bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256, size = EXCLUDED.size"),
            {"key": key, "data": data, "sha": hashlib.sha256(data).hexdigest(),
             "size": len(data)})
'''
_WRITE = '''
def stork_write(key, write):
    """Call write(file), then keep what it wrote in the files table."""
    buffer = io.BytesIO()
    result = write(buffer)
    stork_put(key, buffer.getvalue())
    return result
'''
_OPEN = '''
class StorkUpload(io.BytesIO):
    """A file whose bytes go to the files table when it is closed."""

    def __init__(self, key):
        super().__init__()
        self.key = key

    def close(self):
        if not self.closed:
            stork_put(self.key, self.getvalue())
        super().close()


def stork_open(key, mode="r", **kwargs):
    """open() for a file in the files table: read it, or store it when closed."""
    raw = stork_read(key) if "r" in mode else StorkUpload(key)
    return raw if "b" in mode else io.TextIOWrapper(raw, **kwargs)
'''
_FETCH = '''
def stork_fetch(key, path):
    """Copy a file of the files table to the local path; False when there is none yet."""
    with STORK_PG.begin() as conn:
        conn.execute(sqlalchemy.text(
            f"CREATE TABLE IF NOT EXISTS {STORK_FILES} (path text PRIMARY KEY, "
            "bytes bytea NOT NULL, sha256 text NOT NULL, size bigint NOT NULL)"))
        data = conn.execute(sqlalchemy.text(
            f"SELECT bytes FROM {STORK_FILES} WHERE path = :key"), {"key": key}).scalar()
    if data is None:
        return False
    pathlib.Path(path).write_bytes(data)
    return True


def stork_store(path, key):
    """Keep the local file at path in the files table."""
    stork_put(key, pathlib.Path(path).read_bytes())
'''
_EXCEL_WRITER = '''
def stork_excel_writer(key, *args, **kwargs):
    """pandas.ExcelWriter whose workbook goes to the files table when it is closed."""
    upload = StorkUpload(key)
    writer = pandas.ExcelWriter(upload, *args, **kwargs)
    close = writer.close

    def close_and_store():
        close()
        upload.close()

    writer.close = close_and_store  # (``with ... as writer`` closes it too)
    return writer
'''
_CHUNKS = '''
class StorkChunks:
    """The frames of read_csv(..., chunksize=N), read a chunk at a time from the table:
    each made as the read makes it, the row numbers running on across chunks."""

    def __init__(self, chunks, make):
        self.chunks, self.make, self.start = chunks, make, 0

    def __iter__(self):
        return self

    def __next__(self):
        frame = self.make(next(self.chunks))
        if isinstance(frame.index, pandas.RangeIndex):
            frame.index = pandas.RangeIndex(self.start, self.start + len(frame))
        self.start += len(frame)
        return frame

    def get_chunk(self, size=None):
        if size is not None:
            raise ValueError("this reader gives chunks of the size its read asked for")
        return next(self)

    def close(self):
        getattr(self.chunks, "close", lambda: None)()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def stork_chunks(chunks, make=lambda frame: frame):
    return StorkChunks(iter(chunks), make)
'''
_READ_TABLE = '''
class StorkCopyOut(io.RawIOBase):
    """The CSV text of a COPY ... TO STDOUT (a message per row), as a file read while
    it arrives."""

    def __init__(self, copy):
        self.copy, self.rest = copy, bytearray()

    def readable(self):
        return True

    def readinto(self, buffer):
        while len(self.rest) < len(buffer):
            row = self.copy.read()
            if not row:
                break
            self.rest += row
        n = min(len(buffer), len(self.rest))
        buffer[:n] = self.rest[:n]
        del self.rest[:n]
        return n


def stork_read_table(query, types):
    """What pandas.read_sql_query(query, STORK_PG, dtype=types) gives for these plain
    columns, several times faster: the rows come as COPY's CSV text, read by read_csv."""
    raw = STORK_PG.raw_connection()
    try:
        conn = raw.driver_connection
        if type(conn).__module__.split(".")[0] != "psycopg":  # another driver
            return pandas.read_sql_query(query, STORK_PG, dtype=types)
        dates = [c for c, t in types.items() if t.startswith("datetime64")]
        read = functools.partial(
            pandas.read_csv, encoding="utf-8",
            dtype={c: t for c, t in types.items() if c not in dates}, parse_dates=dates,
            date_format="ISO8601", true_values=["t"], false_values=["f"],
            skip_blank_lines=False)  # (a NULL in a one-column table is an empty line)
        # the shortest exact text of each float, parsed exactly: pandas 3.1 always does
        # (and deprecates the option), earlier ones only when asked
        version = tuple(int(p) if p.isdigit() else 0 for p in pandas.__version__.split(".")[:2])
        if version < (3, 1):
            read = functools.partial(read, float_precision="round_trip")
        with conn.cursor() as cursor:
            # floats as their shortest exact text, timestamps in ISO, UTF-8 bytes
            cursor.execute("SET LOCAL extra_float_digits = 3")
            cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            cursor.execute("SET LOCAL client_encoding = 'UTF8'")
            with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER true)") as copy:
                frame = read(io.BufferedReader(StorkCopyOut(copy), 1 << 20))
        return frame.astype({c: types[c] for c in dates})  # (their unit, as the read gave)
    finally:
        raw.close()
'''
_GLOB = '''
def stork_glob_regex(pattern, hidden=False):
    """A regex of glob.glob's rules (recursive=True): '*' and '?' stay within a folder,
    a '**' folder spans any number of them, a hidden name matches only a leading '.'
    (hidden=True: any name, as pathlib's glob matches)."""
    parts = pattern.split("/")
    out = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            first = "[^/]" if hidden else "[^/.]"
            out.append(f"(?:{first}[^/]*/)*" if not last else f"(?:{first}[^/]*(?:/|$))*")
            continue
        item = "" if hidden or part.startswith(".") else "(?![.])"
        j = 0
        while j < len(part):
            ch = part[j]
            close = part.find("]", j + 2) if ch == "[" else -1
            if ch == "*":
                item += "[^/]*"
            elif ch == "?":
                item += "[^/]"
            elif close != -1:
                inner = part[j + 1:close]
                item += "[^" + inner[1:] + "]" if inner[:1] in "!^" and inner else f"[{inner}]"
                j = close
            else:
                item += re.escape(ch)
            j += 1
        out.append(item if last else item + "/")
    return re.compile("".join(out))


def stork_glob(pattern, hidden=False):
    """The files-table keys matching pattern as glob.glob matches files, sorted."""
    regex = stork_glob_regex(pattern, hidden)
    with STORK_PG.connect() as conn:
        keys = conn.execute(sqlalchemy.text(f"SELECT path FROM {STORK_FILES}")).scalars()
        return sorted(k for k in keys if regex.fullmatch(k))
'''
_TO_TABLE = '''
def stork_to_table(data, table, like):
    """Keep, as a table, the frame a later read of the written file gives back (data:
    the text to_csv() or the bytes to_parquet() gave instead of writing the file)."""
    if like == "csv":
        frame = pandas.read_csv(io.StringIO(data))
    else:
        frame = pandas.read_parquet(io.BytesIO(data))
    levels, span = [], None
    if isinstance(frame.index, pandas.RangeIndex):  # kept as numbers, not as a column
        if (frame.index.start, frame.index.step, frame.index.name) != (0, 1, None):
            span = [frame.index.start, frame.index.step, frame.index.name]
    else:
        levels = list(frame.index.names)
        frame = frame.rename_axis([f"_stork_index_{i}" for i in range(len(levels))])
        frame = frame.reset_index()
    meta = {"labels": list(frame.columns), "dtypes": [str(t) for t in frame.dtypes],
            "index": levels, "range": span, "like": like}
    out = frame.set_axis([str(c) for c in frame.columns], axis=1)
    out.insert(0, "_stork_row", range(len(out)))
    out.to_sql(table, STORK_PG, schema=STORK_SCHEMA, if_exists="replace", index=False)
    with STORK_PG.begin() as conn:
        conn.execute(sqlalchemy.text(
            f"CREATE TABLE IF NOT EXISTS {STORK_FRAMES} (name text PRIMARY KEY, meta text)"))
        conn.execute(sqlalchemy.text(
            f"INSERT INTO {STORK_FRAMES} VALUES (:name, :meta) "
            "ON CONFLICT (name) DO UPDATE SET meta = EXCLUDED.meta"),
            {"name": table, "meta": json.dumps(meta)})
'''
_FROM_TABLE = '''
def stork_from_table(table, usecols=None, nrows=None, index_col=None, columns=None):
    """Read back a table kept by stork_to_table, as reading the file would give it."""
    with STORK_PG.connect() as conn:
        meta = json.loads(conn.execute(sqlalchemy.text(
            f"SELECT meta FROM {STORK_FRAMES} WHERE name = :name"), {"name": table}
        ).scalar_one())
    quote = STORK_PG.dialect.identifier_preparer.quote
    query = f"SELECT * FROM {quote(STORK_SCHEMA)}.{quote(table)} ORDER BY _stork_row"
    if nrows is not None:
        query += f" LIMIT {int(nrows)}"
    frame = pandas.read_sql_query(query, STORK_PG).drop(columns="_stork_row")
    frame = frame.set_axis(meta["labels"], axis=1)
    frame = frame.astype(dict(zip(meta["labels"], meta["dtypes"])))
    if len(meta["index"]) == 1:  # pandas.Index: set_index would make a RangeIndex of 0, 1...
        frame.index = pandas.Index(frame.pop(meta["labels"][0])).rename(meta["index"][0])
    elif meta["index"]:
        frame = frame.set_index(meta["labels"][: len(meta["index"])])
        frame = frame.rename_axis(meta["index"])
    elif meta.get("range"):
        start, step, name = meta["range"]
        frame.index = pandas.RangeIndex(start, start + step * len(frame), step, name=name)
    if usecols is not None:
        names = {frame.columns[c] if isinstance(c, int) else c for c in usecols}
        frame = frame[[c for c in frame.columns if c in names]]
    if columns is not None:
        frame = frame[list(columns)]
    if index_col is not None:
        keys = index_col if isinstance(index_col, list) else [index_col]
        keys = [frame.columns[k] if isinstance(k, int) else k for k in keys]
        frame = frame.set_index(keys if isinstance(index_col, list) else keys[0])
        if meta.get("like") == "csv":  # read_csv leaves an index without header unnamed
            frame = frame.rename_axis([None if isinstance(n, str) and n.startswith("Unnamed: ")
                                       else n for n in frame.index.names])
    return frame
'''

_PATH = '''
class StorkPath:
    """A migrated file or folder of the files table, with the pathlib methods this
    notebook uses."""

    def __init__(self, key):
        self.key = str(key)

    def _query(self, query, **params):
        with STORK_PG.begin() as conn:
            conn.execute(sqlalchemy.text(
                f"CREATE TABLE IF NOT EXISTS {STORK_FILES} (path text PRIMARY KEY, "
                "bytes bytea NOT NULL, sha256 text NOT NULL, size bigint NOT NULL)"))
            return conn.execute(sqlalchemy.text(query.format(files=STORK_FILES)),
                                {"key": self.key, **params}).fetchall()

    def open(self, mode="r", **kwargs):
        if "r" in mode and not self.is_file():
            raise FileNotFoundError(self.key)
        return stork_open(self.key, mode, **kwargs)
''' + PATH_IO_METHODS + '''
    def is_file(self):
        return bool(self._query("SELECT 1 FROM {files} WHERE path = :key"))

    def exists(self):
        return bool(self._query("SELECT 1 FROM {files} WHERE path = :key OR "
                                "starts_with(path, :folder) LIMIT 1", folder=self.key + "/"))

    def is_dir(self):
        return bool(self._query("SELECT 1 FROM {files} WHERE starts_with(path, :folder) "
                                "LIMIT 1", folder=self.key.rstrip("/") + "/"))

    def unlink(self, missing_ok=False):
        gone = self._query("DELETE FROM {files} WHERE path = :key RETURNING path")
        if not gone and not missing_ok:
            raise FileNotFoundError(self.key)

    def mkdir(self, *args, **kwargs):
        """The files table has no folders to make."""

    def copy(self, target):
        stork_put(str(target), self.read_bytes())
        return str(target)

    def rename(self, target):
        self.copy(target)
        self.unlink()
        return StorkPath(target)

    def listdir(self):
        rows = self._query("SELECT path FROM {files} WHERE starts_with(path, :folder)",
                           folder=self.key.rstrip("/") + "/")
        return sorted({r[0][len(self.key.rstrip("/")) + 1:].split("/", 1)[0] for r in rows})
'''

#: helper -> (its code, the helpers and imports it uses)
_HELPERS: dict[str, tuple[str, set[str]]] = {
    "stork_put": (_PUT, {"hashlib"}),
    "stork_read": (_FILES, set()),
    "stork_write": (_WRITE, {"stork_put"}),
    "stork_open": (_OPEN, {"stork_read", "stork_put"}),
    "stork_excel_writer": (_EXCEL_WRITER, {"stork_open", "pandas"}),
    "stork_fetch": (_FETCH, {"stork_put", "pathlib"}),
    "stork_local": (STORK_LOCAL, {"stork_fetch", *LOCAL_IMPORTS}),
    "stork_glob": (_GLOB, {"re"}),
    "stork_chunks": (_CHUNKS, {"pandas"}),
    "stork_read_table": (_READ_TABLE, {"functools", "pandas"}),
    "stork_to_table": (_TO_TABLE, {"json", "pandas"}),
    "stork_from_table": (_FROM_TABLE, {"json", "pandas"}),
    "StorkPath": (_PATH, {"stork_open", "stork_put"}),
}
_IMPORTS = ("atexit", "functools", "hashlib", "io", "json", "os", "pathlib", "re", "shutil",
            "tempfile")


def postgres_setup_source(engine_url: str, schema: str, needs: set[str]) -> str:
    needs, grown = set(), set(needs)
    while grown - needs:  # helpers pull in the helpers they call, and theirs
        needs |= grown
        for name in needs:
            grown |= _HELPERS.get(name, ("", set()))[1]
    lines = [
        f"# Added by stork: this notebook's data lives in PostgreSQL, schema {schema!r} of",
        f"# {engine_url}",
        "# The password comes from PGPASSWORD or ~/.pgpass, never from this cell;",
        "# set STORK_PG_URL to read from another database.",
    ]
    imports = {"os", "io"} | {m for m in _IMPORTS if m in needs}
    lines += [f"import {m}" for m in _IMPORTS if m in imports]
    lines.append("")
    if "pandas" in needs:
        lines.append("import pandas")
    lines.append("import sqlalchemy")
    lines += [
        "",
        "STORK_PG = sqlalchemy.create_engine(",
        f'    os.environ.get("STORK_PG_URL", "{engine_url}"))',
        f"STORK_SCHEMA = {schema!r}",
        f"STORK_FILES = {quote_ident(schema, 'stork_files')!r}",
        f"STORK_FRAMES = {quote_ident(schema, 'stork_frames')!r}",
    ]
    source = "\n".join(lines)
    for name, (code, _) in _HELPERS.items():
        if name in needs:
            source += "\n\n\n" + code.strip("\n")
    for name, code in SHELL_HELPERS.items():
        if name in needs:
            source += "\n\n\n" + code.strip("\n")
    return source
