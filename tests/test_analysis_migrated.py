"""A migrated notebook's calls through the setup-cell helpers are not accesses to move
again: the analysis knows the helpers, whatever the destination."""

from __future__ import annotations

from pathlib import Path

from stork_jupyter.analysis import analyze_cells

SETUP = '''import io
import fsspec

def stork_read(url):
    with fsspec.open(url, "rb") as f:
        return io.BytesIO(f.read())

def stork_write(url, write):
    with fsspec.open(url, "wb") as f:
        return write(f)

def stork_glob(pattern):
    return []

def stork_open(key, mode="r"):
    return stork_read(key)
'''


def _accesses(*sources: str):
    cells = [{"cell_type": "code", "source": s, "id": f"c{i}"} for i, s in enumerate(sources)]
    return analyze_cells(cells, Path("/nonexistent")).accesses


def test_helper_calls_are_not_accesses():
    found = _accesses(
        SETUP,
        "import numpy as np\nimport pandas as pd\nimport json\n"
        "emb = np.load(stork_read('s3://lake/nb/data/emb.npy'))\n"
        "stork_write('s3://lake/nb/out/s.npy', lambda stork_file: np.save(stork_file, emb))\n"
        "parts = [pd.read_csv(p) for p in sorted(stork_glob('s3://lake/nb/data/*.csv'))]\n"
        "for p in stork_glob('s3://lake/nb/data/*.csv'):\n    pd.read_csv(p)\n"
        "with stork_open('nb/data/cfg.json') as f:\n    cfg = json.load(f)\n")
    assert found == []


def test_a_local_path_next_to_them_is_still_found():
    found = _accesses(SETUP, "import numpy as np\nnp.load(stork_read('s3://x/a.npy'))\n"
                             "np.load('data/local.npy')")
    assert [(a.cell_index, a.line, a.path) for a in found] == [(1, 3, "data/local.npy")]


def test_a_user_function_of_another_name_is_still_a_run_time_value():
    found = _accesses("def load(p):\n    return p\n", "import pandas as pd\npd.read_csv(load('x'))")
    assert len(found) == 1 and not found[0].resolved
    assert found[0].reason == "the result of load() is only known at run time"



def test_the_local_copies_of_the_setup_cells_are_not_accesses():
    """``stork_local`` and what it uses (S3 by URL, PostgreSQL by files-table key) act at
    the destination and on a temporary copy: analysed, they touch no file of the project."""
    from stork_jupyter.rewrite.setup_cell import setup_source
    from stork_jupyter.rewrite.setup_postgres import postgres_setup_source

    s3 = setup_source("s3", "s3://bkt/lake", {"stork_local"})
    pg = postgres_setup_source("postgresql://u@h/db", "lake", {"stork_local"})
    for source in (s3, pg):
        assert "def stork_local(" in source and "def stork_fetch(" in source
        assert "def stork_store(" in source
        assert _accesses(source) == []
