"""``stork_local``, as generated code: a call that needs a real file (PyTables opens HDF5
files by name, never from a stream) works on a local copy of the migrated file. Both
setup cells (S3 by URL, PostgreSQL by files-table key) take it and define only how a
file is fetched (``stork_fetch(where, path)``, False when there is none yet) and stored
back (``stork_store(path, where)``)."""

STORK_LOCAL = '''
def stork_local(where, mode, use, until_closed=False):
    """use(path) on a local copy of a migrated file, for what needs a real file: fetched
    first unless mode only writes, stored back when mode writes and the copy changed,
    once use returns (or, until_closed, once what it returned is closed); the copy is
    removed then."""
    folder = tempfile.mkdtemp(prefix="stork-")
    path = os.path.join(folder, where.rstrip("/").rsplit("/", 1)[-1])
    fetched, done = [], []

    def stamp():
        info = os.stat(path)
        return info.st_mtime_ns, info.st_size

    def finish(store):
        if not done:
            done.append(store)
            try:
                if store and mode != "r" and fetched != [stamp()]:
                    stork_store(path, where)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

    try:
        # (a new file has nothing to fetch; one opened to add to, "a", may be new)
        if mode not in ("w", "w-", "x") and stork_fetch(where, path):
            fetched.append(stamp())
        result = use(path)
    except BaseException:
        finish(False)
        raise
    if not until_closed:
        finish(True)
        return result
    close = result.close

    def close_and_store(*args, **kwargs):
        closed = close(*args, **kwargs)
        finish(True)
        return closed

    result.close = close_and_store  # (``with ... as store`` closes it too)
    # a store the notebook never closes is closed, and stored, when Python exits, as
    # PyTables closes (and so writes) an open local file then
    atexit.register(lambda: done or result.close())
    return result
'''

#: what ``stork_local`` uses besides the destination's fetch and store
LOCAL_IMPORTS = frozenset({"atexit", "os", "shutil", "tempfile"})
