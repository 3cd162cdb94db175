"""Every pattern of issue 2's "Analysis must handle", on real .ipynb files built here.

Each test writes a notebook (and the data files it needs) into ``tmp_path``, runs
``analyze_notebook`` on it and asserts the exact list of accesses:
``(cell_index, line, api, mode, format, path, resolved)``, plus the reason where a
path is unresolved.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from stork_jupyter.analysis import analyze_notebook
from stork_jupyter.analysis.analyzer import analyze_cells


class Md(str):
    """A markdown cell's text (plain ``str`` items are code cells)."""


def build(tmp_path: Path, cells: list[str], files: dict[str, str | bytes] | None = None,
          name: str = "nb.ipynb") -> Path:
    """Write a real notebook and its data files; return the notebook's path."""
    nb = new_notebook()
    nb.cells = [new_markdown_cell(c) if isinstance(c, Md) else new_code_cell(c) for c in cells]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    for rel, content in (files or {}).items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def rows(analysis) -> list[tuple]:
    return [(a.cell_index, a.line, a.api, a.mode, a.format, a.path, a.resolved)
            for a in analysis.accesses]


def analyze(tmp_path: Path, cells: list[str], files: dict[str, str | bytes] | None = None):
    analysis = analyze_notebook(build(tmp_path, cells, files))
    assert analysis.problems == []
    return analysis


def unresolved(analysis) -> list[tuple]:
    return [(a.cell_index, a.line, a.reason) for a in analysis.accesses if not a.resolved]


# --------------------------------------------------------------------------- pandas


def test_pandas_readers(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd",
        "df = pd.read_csv('data/a.csv')\n"
        "t = pd.read_table('data/a.tsv', sep='\\t')\n"
        "p = pd.read_parquet('data/a.parquet', columns=['x'])\n"
        "j = pd.read_json('data/a.json', orient='records')\n"
        "x = pd.read_excel('data/a.xlsx', sheet_name='S')\n"
        "f = pd.read_feather('data/a.feather')\n"
        "k = pd.read_pickle('data/a.pkl')\n"
        "w = pd.read_fwf('data/a.txt', widths=[1, 2])\n"
        "h = pd.read_hdf('data/a.h5', key='k')",
    ], {"data/a.csv": "x\n1\n"})
    assert rows(a) == [
        (1, 1, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (1, 2, "pandas.read_table", "read", "csv", "data/a.tsv", True),
        (1, 3, "pandas.read_parquet", "read", "parquet", "data/a.parquet", True),
        (1, 4, "pandas.read_json", "read", "json", "data/a.json", True),
        (1, 5, "pandas.read_excel", "read", "excel", "data/a.xlsx", True),
        (1, 6, "pandas.read_feather", "read", "feather", "data/a.feather", True),
        (1, 7, "pandas.read_pickle", "read", "pickle", "data/a.pkl", True),
        (1, 8, "pandas.read_fwf", "read", "fwf", "data/a.txt", True),
        (1, 9, "pandas.read_hdf", "read", "hdf", "data/a.h5", True),
    ]
    assert [acc.kwargs for acc in a.accesses] == [
        {}, {"sep": "\t"}, {"columns": ["x"]}, {"orient": "records"}, {"sheet_name": "S"},
        {}, {}, {"widths": [1, 2]}, {"key": "k"},
    ]
    first = a.accesses[0]
    assert (first.col, first.cell_id, first.exists, first.size) == (5, "cell-1", True, 4)
    assert a.accesses[1].exists is False and a.accesses[1].size is None


def test_pandas_writers(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\ndf = pd.DataFrame({'a': [1]})",
        "df.to_csv('out/o.csv', index=False)\n"
        "df.to_parquet('out/o.parquet')\n"
        "df.to_json('out/o.json', orient='records', lines=True)\n"
        "df.to_excel('out/o.xlsx')\n"
        "df.to_feather('out/o.feather')\n"
        "df.to_pickle('out/o.pkl')\n"
        "text = df.to_csv()\n"
        "df['a'].to_csv(path_or_buf='out/s.csv')",
    ])
    assert rows(a) == [
        (1, 1, "pandas.DataFrame.to_csv", "write", "csv", "out/o.csv", True),
        (1, 2, "pandas.DataFrame.to_parquet", "write", "parquet", "out/o.parquet", True),
        (1, 3, "pandas.DataFrame.to_json", "write", "json", "out/o.json", True),
        (1, 4, "pandas.DataFrame.to_excel", "write", "excel", "out/o.xlsx", True),
        (1, 5, "pandas.DataFrame.to_feather", "write", "feather", "out/o.feather", True),
        (1, 6, "pandas.DataFrame.to_pickle", "write", "pickle", "out/o.pkl", True),
        # line 7: to_csv() without a path returns a string: no access
        (1, 8, "pandas.DataFrame.to_csv", "write", "csv", "out/s.csv", True),
    ]
    assert a.accesses[0].kwargs == {"index": False}
    assert a.accesses[2].kwargs == {"orient": "records", "lines": True}
    assert all(acc.exists is False for acc in a.accesses)


def test_kwargs_are_literal_json(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\nimport numpy as np\nCOLS = ['a', 'b']",
        "pd.read_csv('a.csv', usecols=['a', 'b'], dtype={'a': 'int64', 'b': 'string'},\n"
        "            nrows=10, sep=';', header=None, na_values=['NA', '-'],\n"
        "            parse_dates=['d'], index_col=0, skiprows=(1, 2), decimal=',')",
        "pd.read_csv('b.csv', usecols=COLS, dtype={'a': np.int64}, converters=conv)",
    ])
    assert rows(a) == [
        (1, 1, "pandas.read_csv", "read", "csv", "a.csv", True),
        (2, 1, "pandas.read_csv", "read", "csv", "b.csv", True),
    ]
    assert a.accesses[0].kwargs == {
        "usecols": ["a", "b"], "dtype": {"a": "int64", "b": "string"}, "nrows": 10,
        "sep": ";", "header": None, "na_values": ["NA", "-"], "parse_dates": ["d"],
        "index_col": 0, "skiprows": [1, 2], "decimal": ",",
    }
    # names bound to literals are literals; the rest is kept as code
    assert a.accesses[1].kwargs == {
        "usecols": ["a", "b"],
        "dtype": {"__expr__": "{'a': np.int64}"},
        "converters": {"__expr__": "conv"},
    }


# --------------------------------------------------------------------------- open


def test_open_modes(tmp_path):
    a = analyze(tmp_path, [
        "f = open('a.txt')\n"
        "g = open('b.bin', 'rb')\n"
        "h = open('c.txt', 'w')\n"
        "i = open('d.txt', 'a', encoding='utf-8')\n"
        "j = open('e.txt', mode='r+')\n"
        "k = open('f.txt', 'x')\n"
        "m = open('g.bin', 'wb')\n"
        "n = open(file='h.txt', mode='rt')\n"
        "o = open('i.bin', 'ab')",
    ], {"a.txt": "hello"})
    assert rows(a) == [
        (0, 1, "open", "read", "text", "a.txt", True),
        (0, 2, "open", "read", "binary", "b.bin", True),
        (0, 3, "open", "write", "text", "c.txt", True),
        (0, 4, "open", "write", "text", "d.txt", True),
        (0, 5, "open", "write", "text", "e.txt", True),
        (0, 6, "open", "write", "text", "f.txt", True),
        (0, 7, "open", "write", "binary", "g.bin", True),
        (0, 8, "open", "read", "text", "h.txt", True),
        (0, 9, "open", "write", "binary", "i.bin", True),
    ]
    assert [acc.open_mode for acc in a.accesses] == ["r", "rb", "w", "a", "r+", "x", "wb", "rt",
                                                     "ab"]
    assert a.accesses[3].kwargs == {"encoding": "utf-8"}  # the mode is not a kwarg
    assert a.accesses[0].exists is True and a.accesses[0].size == 5


def test_open_mode_known_only_at_run_time(tmp_path):
    a = analyze(tmp_path, ["f = open('a.txt', mode_var)"])
    assert rows(a) == [(0, 1, "open", "read", "text", "a.txt", True)]
    assert a.accesses[0].open_mode is None


def test_open_handle_consumers_are_one_access(tmp_path):
    a = analyze(tmp_path, [
        "import csv\nimport json\nimport pickle\nimport yaml\nimport pandas as pd",
        "with open('a.json') as f:\n    config = json.load(f)",
        "with open('a.csv', newline='') as f:\n    reader = csv.reader(f)\n    rows = list(reader)",
        "with open('a.pkl', 'rb') as f:\n    model = pickle.load(f)",
        "with open('b.csv') as f:\n    df = pd.read_csv(f)",
        "with open('t.txt') as f:\n    text = f.read()",
        "with open('a.yaml') as f:\n    cfg = yaml.safe_load(f)",
        "with open('o.json', 'w') as f:\n    json.dump(config, f, indent=2)",
        "with open('o.csv', 'w', newline='') as f:\n    w = csv.writer(f)\n    w.writerow([1])",
        "with open('o.pkl', 'wb') as f:\n    pickle.dump(model, f)",
        "with open('o.txt', 'w') as f:\n    f.write('x')",
        "with open('d.csv') as f:\n    dr = csv.DictReader(f)",
        "model2 = pickle.load(open('m.pkl', 'rb'))\ndata = json.load(open('c.json'))",
        "raw = open('r.bin', 'rb').read()",
    ])
    assert rows(a) == [
        (1, 1, "open", "read", "json", "a.json", True),
        (2, 1, "open", "read", "csv", "a.csv", True),
        (3, 1, "open", "read", "pickle", "a.pkl", True),
        (4, 1, "open", "read", "csv", "b.csv", True),
        (5, 1, "open", "read", "text", "t.txt", True),
        (6, 1, "open", "read", "yaml", "a.yaml", True),
        (7, 1, "open", "write", "json", "o.json", True),
        (8, 1, "open", "write", "csv", "o.csv", True),
        (9, 1, "open", "write", "pickle", "o.pkl", True),
        (10, 1, "open", "write", "text", "o.txt", True),
        (11, 1, "open", "read", "csv", "d.csv", True),
        (12, 1, "open", "read", "pickle", "m.pkl", True),
        (12, 2, "open", "read", "json", "c.json", True),
        (13, 1, "open", "read", "binary", "r.bin", True),
    ]
    assert [acc.consumer for acc in a.accesses] == [
        "json.load", "csv.reader", "pickle.load", "pandas.read_csv", ".read()",
        "yaml.safe_load", "json.dump", "csv.writer", "pickle.dump", ".write()",
        "csv.DictReader", "pickle.load", "json.load", ".read()",
    ]
    assert [acc.col for acc in a.accesses[:2]] == [5, 5]
    assert (a.accesses[11].col, a.accesses[12].col) == (21, 17)


def test_path_open_and_read_text(tmp_path):
    a = analyze(tmp_path, [
        "import json\nfrom pathlib import Path\np = Path('data') / 'x.json'",
        "with p.open() as f:\n    d = json.load(f)\ntext = p.read_text()\n"
        "Path('out.txt').write_text('x')\nblob = Path('b.bin').read_bytes()",
    ])
    assert rows(a) == [
        (1, 1, "pathlib.Path.open", "read", "json", "data/x.json", True),
        (1, 3, "pathlib.Path.read_text", "read", "text", "data/x.json", True),
        (1, 4, "pathlib.Path.write_text", "write", "text", "out.txt", True),
        (1, 5, "pathlib.Path.read_bytes", "read", "binary", "b.bin", True),
    ]


# --------------------------------------------------------------------------- other libraries


def test_numpy(tmp_path):
    a = analyze(tmp_path, [
        "import numpy as np",
        "a = np.load('a.npy')\n"
        "z = np.load('b.npz', allow_pickle=True)\n"
        "t = np.loadtxt('a.txt', delimiter=',')\n"
        "g = np.genfromtxt('g.csv', delimiter=',', skip_header=1)\n"
        "b = np.fromfile('f.bin', dtype='float32')\n"
        "np.save('o.npy', a)\n"
        "np.savez('o.npz', a=a, b=b)\n"
        "np.savetxt('o.txt', a, fmt='%d')",
    ])
    assert rows(a) == [
        (1, 1, "numpy.load", "read", "npy", "a.npy", True),
        (1, 2, "numpy.load", "read", "npz", "b.npz", True),
        (1, 3, "numpy.loadtxt", "read", "text", "a.txt", True),
        (1, 4, "numpy.genfromtxt", "read", "text", "g.csv", True),
        (1, 5, "numpy.fromfile", "read", "binary", "f.bin", True),
        (1, 6, "numpy.save", "write", "npy", "o.npy", True),
        (1, 7, "numpy.savez", "write", "npz", "o.npz", True),
        (1, 8, "numpy.savetxt", "write", "text", "o.txt", True),
    ]
    assert a.accesses[1].kwargs == {"allow_pickle": True}
    assert a.accesses[4].kwargs == {"dtype": "float32"}
    assert a.accesses[6].kwargs == {"a": {"__expr__": "a"}, "b": {"__expr__": "b"}}
    assert a.accesses[7].kwargs == {"fmt": "%d"}


def test_pickle_and_joblib(tmp_path):
    a = analyze(tmp_path, [
        "import pickle\nimport joblib",
        "m = joblib.load('m.joblib')\njoblib.dump(m, 'o.joblib')\njoblib.dump(m, filename='o2.pkl')",
        "with open('m.pkl', 'rb') as fh:\n    m2 = pickle.load(fh)\n"
        "pickle.dump(m2, open('o.pkl', 'wb'))",
    ])
    assert rows(a) == [
        (1, 1, "joblib.load", "read", "pickle", "m.joblib", True),
        (1, 2, "joblib.dump", "write", "pickle", "o.joblib", True),
        (1, 3, "joblib.dump", "write", "pickle", "o2.pkl", True),
        (2, 1, "open", "read", "pickle", "m.pkl", True),
        (2, 3, "open", "write", "pickle", "o.pkl", True),
    ]


def test_pyarrow_parquet(tmp_path):
    a = analyze(tmp_path, [
        "import pyarrow.parquet as pq\nimport pyarrow as pa",
        "t = pq.read_table('a.parquet', columns=['x'])\npq.write_table(t, 'o.parquet')\n"
        "pq.write_table(t, where='o2.parquet', compression='zstd')",
        "from pyarrow.parquet import read_table\nt2 = read_table('b.parquet')",
    ])
    assert rows(a) == [
        (1, 1, "pyarrow.parquet.read_table", "read", "parquet", "a.parquet", True),
        (1, 2, "pyarrow.parquet.write_table", "write", "parquet", "o.parquet", True),
        (1, 3, "pyarrow.parquet.write_table", "write", "parquet", "o2.parquet", True),
        (2, 2, "pyarrow.parquet.read_table", "read", "parquet", "b.parquet", True),
    ]
    assert a.accesses[0].kwargs == {"columns": ["x"]}
    assert a.accesses[2].kwargs == {"compression": "zstd"}


def test_polars(tmp_path):
    a = analyze(tmp_path, [
        "import polars as pl",
        "a = pl.read_csv('a.csv', separator=';')\nb = pl.read_parquet('a.parquet')\n"
        "c = pl.scan_csv('b.csv')\nd = pl.scan_parquet('b.parquet')\n"
        "e = pl.scan_ndjson('c.jsonl')\nf = pl.scan_ipc('d.arrow')",
    ])
    assert rows(a) == [
        (1, 1, "polars.read_csv", "read", "csv", "a.csv", True),
        (1, 2, "polars.read_parquet", "read", "parquet", "a.parquet", True),
        (1, 3, "polars.scan_csv", "read", "csv", "b.csv", True),
        (1, 4, "polars.scan_parquet", "read", "parquet", "b.parquet", True),
        (1, 5, "polars.scan_ndjson", "read", "json", "c.jsonl", True),
        (1, 6, "polars.scan_ipc", "read", "feather", "d.arrow", True),
    ]
    assert a.accesses[0].kwargs == {"separator": ";"}


def test_images(tmp_path):
    a = analyze(tmp_path, [
        "import cv2\nimport imageio\nimport matplotlib.pyplot as plt\nfrom PIL import Image",
        "img = cv2.imread('img/a.png')\ncv2.imwrite('out/a.png', img)\n"
        "pil = Image.open('img/b.jpg')\nm = plt.imread('img/c.png')\n"
        "i = imageio.imread('img/d.png')",
        "import imageio.v2 as iio\nimport PIL.Image\nj = iio.imread('img/e.png')\n"
        "k = PIL.Image.open('img/f.png')",
    ])
    assert rows(a) == [
        (1, 1, "cv2.imread", "read", "image", "img/a.png", True),
        (1, 2, "cv2.imwrite", "write", "image", "out/a.png", True),
        (1, 3, "PIL.Image.open", "read", "image", "img/b.jpg", True),
        (1, 4, "matplotlib.pyplot.imread", "read", "image", "img/c.png", True),
        (1, 5, "imageio.imread", "read", "image", "img/d.png", True),
        (2, 3, "imageio.imread", "read", "image", "img/e.png", True),
        (2, 4, "PIL.Image.open", "read", "image", "img/f.png", True),
    ]


def test_model_files(tmp_path):
    a = analyze(tmp_path, [
        "import h5py\nimport torch\nfrom tensorflow import keras",
        "w = torch.load('m.pt', map_location='cpu')\ntorch.save(w, 'o.pt')\n"
        "k = keras.models.load_model('k.keras')\nh = h5py.File('a.h5')\n"
        "h2 = h5py.File('b.h5', 'w')",
        "from keras.models import load_model\nk2 = load_model('k2.h5')\n"
        "with h5py.File('c.h5', 'r') as f:\n    x = f['x'][:]",
    ])
    assert rows(a) == [
        (1, 1, "torch.load", "read", "torch", "m.pt", True),
        (1, 2, "torch.save", "write", "torch", "o.pt", True),
        (1, 3, "keras.models.load_model", "read", "keras", "k.keras", True),
        (1, 4, "h5py.File", "read", "hdf5", "a.h5", True),
        (1, 5, "h5py.File", "write", "hdf5", "b.h5", True),
        (2, 2, "keras.models.load_model", "read", "keras", "k2.h5", True),
        (2, 3, "h5py.File", "read", "hdf5", "c.h5", True),
    ]
    assert a.accesses[0].kwargs == {"map_location": "cpu"}


# --------------------------------------------------------------------------- imports


def test_aliases_and_from_imports(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\nimport numpy as np\nfrom pandas import read_csv as rc\n"
        "from numpy import load\nimport pandas",
        "a = rc('a.csv')\nb = load('b.npy')\nc = pandas.read_parquet('c.parquet')\n"
        "d = np.loadtxt('d.txt')\ne = pd.read_json('e.json')",
        "from pandas import *\nf = read_excel('f.xlsx')",
        "import os.path\nfrom os.path import join as j\nfrom os import path as osp\n"
        "g = rc(j('data', 'g.csv'))\nh = rc(osp.join('data', 'h.csv'))\n"
        "i = rc(os.path.join('data', 'i.csv'))",
    ])
    assert rows(a) == [
        (1, 1, "pandas.read_csv", "read", "csv", "a.csv", True),
        (1, 2, "numpy.load", "read", "npy", "b.npy", True),
        (1, 3, "pandas.read_parquet", "read", "parquet", "c.parquet", True),
        (1, 4, "numpy.loadtxt", "read", "text", "d.txt", True),
        (1, 5, "pandas.read_json", "read", "json", "e.json", True),
        (2, 2, "pandas.read_excel", "read", "excel", "f.xlsx", True),
        (3, 4, "pandas.read_csv", "read", "csv", "data/g.csv", True),
        (3, 5, "pandas.read_csv", "read", "csv", "data/h.csv", True),
        (3, 6, "pandas.read_csv", "read", "csv", "data/i.csv", True),
    ]


def test_unrelated_calls_of_the_same_name_are_not_accesses(tmp_path):
    a = analyze(tmp_path, [
        "def read_csv(p):\n    return p\n\nx = read_csv('a.csv')",
        "import mylib\ny = mylib.read_csv('b.csv')\nz = mylib.load('c.npy')",
        "s = 'a,b'.split(',')\nd = {}.get('x')",
    ])
    assert rows(a) == []


# --------------------------------------------------------------------------- functions


def test_calls_inside_function_bodies(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\nDATA = 'data'",
        "def load_constant():\n    return pd.read_csv('data/a.csv')\n\n\n"
        "def load_default(path=DATA + '/b.csv'):\n    return pd.read_csv(path)\n\n\n"
        "def load_param(path):\n    return pd.read_csv(path)\n\n\n"
        "def load_keyword(*, name):\n    return pd.read_csv(f'{DATA}/{name}')",
        "load_param('data/c.csv')\nfetch = lambda p: pd.read_csv(p)",
        "class Loader:\n    def run(self, where):\n        return pd.read_parquet(where)",
    ])
    assert rows(a) == [
        (1, 2, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (1, 6, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        # load_param is called with a constant (cell 2): its body reads that file
        (1, 10, "pandas.read_csv", "read", "csv", "data/c.csv", True),
        (1, 14, "pandas.read_csv", "read", "csv", None, False),
        (2, 2, "pandas.read_csv", "read", "csv", None, False),
        (3, 3, "pandas.read_parquet", "read", "parquet", None, False),
    ]
    assert unresolved(a) == [
        (1, 14, "path is the function parameter 'name' of load_keyword()"),
        (2, 2, "a lambda parameter 'p'"),
        (3, 3, "path is the function parameter 'where' of run()"),
    ]
    assert a.accesses[0].col == 11


def test_function_result_used_as_a_path_is_unresolved(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\n\ndef make_path():\n    return 'data/a.csv'",
        "df = pd.read_csv(make_path())",
    ])
    assert rows(a) == [(1, 1, "pandas.read_csv", "read", "csv", None, False)]
    assert unresolved(a) == [(1, 1, "the result of make_path() is only known at run time")]


# --------------------------------------------------------------------------- path resolution


def test_names_from_earlier_cells_and_reassignment(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\npath = 'data/a.csv'",
        Md("Some text"),
        "first = pd.read_csv(path)\npath = 'data/b.csv'\nsecond = pd.read_csv(path)",
        "third = pd.read_csv(path)",
        "path = 'data/c.csv'",
        "fourth = pd.read_csv(path)",
    ])
    assert rows(a) == [
        (2, 1, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (2, 3, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (3, 1, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (5, 1, "pandas.read_csv", "read", "csv", "data/c.csv", True),
    ]
    assert [acc.cell_id for acc in a.accesses] == ["cell-2", "cell-2", "cell-3", "cell-5"]


def test_the_same_read_in_many_cells_is_found_in_each(tmp_path):
    cells = ["import pandas as pd\np = 'data/a.csv'"]
    cells += ["df = pd.read_csv(p)", "x = pd.read_csv(unknown_name)"] * 200
    a = analyze(tmp_path, cells)
    assert len(a.accesses) == 400
    assert rows(a)[:2] == [
        (1, 1, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (2, 1, "pandas.read_csv", "read", "csv", None, False),
    ]
    assert [acc.cell_index for acc in a.accesses] == list(range(1, 401))


def test_path_building(tmp_path):
    a = analyze(tmp_path, [
        "import os\nimport pandas as pd\nfrom pathlib import Path\nDATA = 'data'\nROOT = Path(DATA)",
        "a = pd.read_csv(os.path.join(DATA, 'sub', 'a.csv'))\n"
        "b = pd.read_csv(ROOT / 'b.csv')\n"
        "c = pd.read_csv(Path('data') / 'sub' / 'c.csv')\n"
        "d = pd.read_csv(ROOT.joinpath('sub', 'd.csv'))\n"
        "e = pd.read_csv(f'{DATA}/e.csv')\n"
        "f = pd.read_csv('{}/{}.csv'.format(DATA, 'f'))\n"
        "g = pd.read_csv('{d}/g.csv'.format(d=DATA))\n"
        "h = pd.read_csv(DATA + '/' + 'h.csv')\n"
        "i = pd.read_csv('%s/i.csv' % DATA)\n"
        "j = pd.read_csv(Path(DATA, 'j.csv'))\n"
        "k = pd.read_csv(str(ROOT / 'k.csv'))\n"
        "m = pd.read_csv((ROOT / 'm.txt').with_suffix('.csv'))\n"
        "n = pd.read_csv(f'{ROOT}/{\"n\"}.csv')\n"
        "o = pd.read_csv('./data/../data/o.csv')",
    ])
    paths = [acc.path for acc in a.accesses]
    assert paths == ["data/sub/a.csv", "data/b.csv", "data/sub/c.csv", "data/sub/d.csv",
                     "data/e.csv", "data/f.csv", "data/g.csv", "data/h.csv", "data/i.csv",
                     "data/j.csv", "data/k.csv", "data/m.csv", "data/n.csv", "data/o.csv"]
    assert [acc.line for acc in a.accesses] == list(range(1, 15))
    assert all(acc.resolved and acc.cell_index == 1 for acc in a.accesses)


def test_absolute_and_outside_paths(tmp_path):
    inside = tmp_path / "data" / "abs.csv"
    a = analyze(tmp_path, [
        "import pandas as pd",
        f"a = pd.read_csv({str(inside)!r})\nb = pd.read_csv('/elsewhere/b.csv')\n"
        "c = pd.read_csv('../up.csv')\n"
        f"d = pd.read_csv('file://{inside}')",
    ], {"data/abs.csv": "x\n"})
    assert rows(a) == [
        (1, 1, "pandas.read_csv", "read", "csv", "data/abs.csv", True),
        (1, 2, "pandas.read_csv", "read", "csv", "/elsewhere/b.csv", True),
        (1, 3, "pandas.read_csv", "read", "csv", "../up.csv", True),
        (1, 4, "pandas.read_csv", "read", "csv", "data/abs.csv", True),
    ]
    assert [acc.remote for acc in a.accesses] == [False] * 4
    assert [acc.exists for acc in a.accesses] == [True, False, False, True]


def test_loop_over_a_literal_list(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\nFILES = ['a.csv', 'b.csv', 'c.csv']",
        "for name in FILES:\n    df = pd.read_csv('data/' + name)",
        "for stem in ('x', 'y'):\n    pd.read_csv(f'data/{stem}/{stem}.csv')",
        "for name, sep in [('p.csv', ','), ('q.csv', ';')]:\n    pd.read_csv(name, sep=sep)",
        "frames = [pd.read_parquet(f'data/{n}.parquet') for n in ['u', 'v']]",
        "for n in ['a', 'b']:\n    p = f'data/{n}.json'\nlast = pd.read_json(p)",
        "for i, n in enumerate(['e', 'f']):\n    pd.read_csv(n + '.csv')",
    ])
    assert rows(a) == [
        (1, 2, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (1, 2, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (1, 2, "pandas.read_csv", "read", "csv", "data/c.csv", True),
        # one loop variable used twice gives its own values, not every combination
        (2, 2, "pandas.read_csv", "read", "csv", "data/x/x.csv", True),
        (2, 2, "pandas.read_csv", "read", "csv", "data/y/y.csv", True),
        (3, 2, "pandas.read_csv", "read", "csv", "p.csv", True),
        (3, 2, "pandas.read_csv", "read", "csv", "q.csv", True),
        (4, 1, "pandas.read_parquet", "read", "parquet", "data/u.parquet", True),
        (4, 1, "pandas.read_parquet", "read", "parquet", "data/v.parquet", True),
        # after the loop, p holds the value of the last iteration
        (5, 3, "pandas.read_json", "read", "json", "data/b.json", True),
        (6, 2, "pandas.read_csv", "read", "csv", "e.csv", True),
        (6, 2, "pandas.read_csv", "read", "csv", "f.csv", True),
    ]
    assert {acc.expanded_from for acc in a.accesses[:3]} == {
        "loop over ['a.csv', 'b.csv', 'c.csv']"}
    # the separator goes with its own file
    assert [acc.kwargs for acc in a.accesses[5:7]] == [{"sep": ","}, {"sep": ";"}]
    assert a.accesses[9].expanded_from is None


def test_nested_loops_give_every_combination(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\nfor year in ['2023', '2024']:\n    for part in ['a', 'b']:\n"
        "        pd.read_csv(f'data/{year}/{part}.csv')",
    ])
    assert [acc.path for acc in a.accesses] == [
        "data/2023/a.csv", "data/2023/b.csv", "data/2024/a.csv", "data/2024/b.csv"]
    assert {(acc.line, acc.col) for acc in a.accesses} == {(4, 8)}


def test_glob(tmp_path):
    files = {f"data/{n}": "x\n" for n in ("a.csv", "b.csv", "notes.txt", "img/1.png",
                                           "img/2.png", "img/deep/3.png")}
    a = analyze(tmp_path, [
        "import glob\nimport pandas as pd\nfrom pathlib import Path",
        "for f in glob.glob('data/*.csv'):\n    pd.read_csv(f)",
        "for f in Path('data').glob('*.csv'):\n    pd.read_csv(f)",
        "for f in Path('data/img').rglob('*.png'):\n    open(f, 'rb')",
        "for f in glob.glob('data/**/*.png', recursive=True):\n    open(f, 'rb')",
        "dfs = [pd.read_csv(p) for p in sorted(glob.glob('data/[ab].csv'))]",
        "for f in glob.glob('data/*.parquet'):\n    pd.read_parquet(f)",
        "for f in Path('data').glob('*.xlsx'):\n    pd.read_excel(f)",
    ], files)
    assert rows(a) == [
        (1, 2, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (1, 2, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (2, 2, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (2, 2, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (3, 2, "open", "read", "binary", "data/img/1.png", True),
        (3, 2, "open", "read", "binary", "data/img/2.png", True),
        (3, 2, "open", "read", "binary", "data/img/deep/3.png", True),
        (4, 2, "open", "read", "binary", "data/img/1.png", True),
        (4, 2, "open", "read", "binary", "data/img/2.png", True),
        (4, 2, "open", "read", "binary", "data/img/deep/3.png", True),
        (5, 1, "pandas.read_csv", "read", "csv", "data/a.csv", True),
        (5, 1, "pandas.read_csv", "read", "csv", "data/b.csv", True),
        (6, 2, "pandas.read_parquet", "read", "parquet", None, False),
        (7, 2, "pandas.read_excel", "read", "excel", None, False),
    ]
    assert unresolved(a) == [
        (6, 2, "the glob 'data/*.parquet' matches no file"),
        (7, 2, "the glob 'data/*.xlsx' matches no file"),
    ]
    assert a.accesses[0].expanded_from == "glob 'data/*.csv'"
    assert a.accesses[4].expanded_from == "glob 'data/img/**/*.png'"
    assert all(acc.exists and acc.size == 2 for acc in a.accesses if acc.resolved)


def test_run_time_values_are_never_guessed(tmp_path):
    a = analyze(tmp_path, [
        "import datetime\nimport os\nimport sys\nimport pandas as pd\n"
        "from datetime import datetime as dt\n\ndef get_path():\n    return 'data/a.csv'",
        "a = pd.read_csv(get_path())\n"
        "b = pd.read_csv(input('file? '))\n"
        "c = pd.read_csv(f'data/{datetime.datetime.now():%Y}.csv')\n"
        "d = pd.read_csv(f'data/{dt.now().date()}.csv')\n"
        "e = pd.read_csv(sys.argv[1])\n"
        "f = pd.read_csv(never_assigned)\n"
        "g = pd.read_csv(os.environ['DATA'])\n"
        "h = pd.read_csv(os.getenv('DATA', 'data/h.csv'))\n"
        "i = pd.read_csv(os.path.join(os.getcwd(), 'i.csv'))",
        "if flag:\n    p = 'data/a.csv'\nelse:\n    p = 'data/b.csv'\nj = pd.read_csv(p)",
    ])
    assert rows(a) == [(1, line, "pandas.read_csv", "read", "csv", None, False)
                       for line in range(1, 10)] + [
        (2, 5, "pandas.read_csv", "read", "csv", None, False)]
    assert unresolved(a) == [
        (1, 1, "the result of get_path() is only known at run time"),
        (1, 2, "the result of input() is only known at run time"),
        (1, 3, "the result of datetime.datetime.now() is only known at run time"),
        (1, 4, "the result of datetime.datetime.now() is only known at run time"),
        (1, 5, "'sys.argv[1]' is only known at run time"),
        (1, 6, "'never_assigned' is not assigned in an earlier cell"),
        (1, 7, "'os.environ['DATA']' is only known at run time"),
        (1, 8, "the result of os.getenv() is only known at run time"),
        (1, 9, "the result of os.getcwd() is only known at run time"),
        (2, 5, "'p' depends on the condition at line 1"),
    ]


def test_remote_paths(tmp_path):
    a = analyze(tmp_path, [
        "import numpy as np\nimport pandas as pd\nBUCKET = 's3://bucket/raw'",
        "a = pd.read_csv('s3://bucket/key.csv')\n"
        "b = pd.read_parquet(f'{BUCKET}/b.parquet')\n"
        "c = pd.read_csv('https://example.com/c.csv')\n"
        "d = pd.read_json('http://example.com/d.json')\n"
        "e = pd.read_sql('SELECT 1', 'postgresql://u@db.example.com:5432/sales')\n"
        "df = pd.DataFrame()\n"
        "df.to_sql('t', 'postgresql://u@h/db', if_exists='replace')\n"
        "np.save('s3://bucket/o.npy', e)",
        "import sqlalchemy\nengine = sqlalchemy.create_engine('postgresql://u@h/db')\n"
        "f = pd.read_sql_query('SELECT 1', engine)\ndf.to_sql('t', engine)",
    ])
    assert rows(a) == [
        (1, 1, "pandas.read_csv", "read", "csv", "s3://bucket/key.csv", True),
        (1, 2, "pandas.read_parquet", "read", "parquet", "s3://bucket/raw/b.parquet", True),
        (1, 3, "pandas.read_csv", "read", "csv", "https://example.com/c.csv", True),
        (1, 4, "pandas.read_json", "read", "json", "http://example.com/d.json", True),
        (1, 5, "pandas.read_sql", "read", "sql", "postgresql://u@db.example.com:5432/sales", True),
        (1, 7, "pandas.DataFrame.to_sql", "write", "sql", "postgresql://u@h/db", True),
        (1, 8, "numpy.save", "write", "npy", "s3://bucket/o.npy", True),
        # a connection object is not a path: no access, not an unresolved one
    ]
    assert all(acc.remote for acc in a.accesses)
    assert all(acc.exists is None and acc.size is None for acc in a.accesses)


def test_markdown_and_raw_cells_count_in_cell_index(tmp_path):
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# T"), nbformat.v4.new_raw_cell("pd.read_csv('no.csv')"),
                new_code_cell("import pandas as pd"), new_markdown_cell("text"),
                new_code_cell("\n\n# comment\ndf = pd.read_csv('a.csv')")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    a = analyze_notebook(path)
    assert rows(a) == [(4, 4, "pandas.read_csv", "read", "csv", "a.csv", True)]
    assert a.accesses[0].cell_id == nb.cells[4].id


def test_paths_are_relative_to_the_notebook_folder(tmp_path, monkeypatch):
    sub = tmp_path / "project" / "analysis"
    sub.mkdir(parents=True)
    nb = build(sub, ["import pandas as pd\ndf = pd.read_csv('data/a.csv')"], {"data/a.csv": "x\n"})
    monkeypatch.chdir(tmp_path)  # analysed from somewhere else
    a = analyze_notebook(Path("project/analysis/nb.ipynb"))
    assert rows(a) == [(0, 2, "pandas.read_csv", "read", "csv", "data/a.csv", True)]
    assert a.accesses[0].exists is True
    assert a.notebook == "project/analysis/nb.ipynb"
    assert nb.exists()


def test_analyze_cells_accepts_list_sources(tmp_path):
    cells = [{"cell_type": "code", "source": ["import pandas as pd\n", "pd.read_csv('a.csv')"]}]
    a = analyze_cells(cells, tmp_path)
    assert rows(a) == [(0, 2, "pandas.read_csv", "read", "csv", "a.csv", True)]
    assert a.accesses[0].cell_id is None


@pytest.mark.parametrize("source", [
    "s = 'a'\n" + "s += s\n" * 64 + "import pandas as pd\npd.read_csv(s)",
    "x = '{:>99999999}'.format('a')\nimport pandas as pd\npd.read_csv(x)",
    "r = list(range(10**12))\nimport pandas as pd\npd.read_csv(r)",
])
def test_huge_literal_values_are_not_built(tmp_path, source):
    a = analyze(tmp_path, [source])
    assert [(acc.resolved, acc.path) for acc in a.accesses] == [(False, None)]


def test_values_that_change_with_each_iteration_are_not_guessed(tmp_path):
    a = analyze(tmp_path, [
        "import pandas as pd\np = 'data'",
        "for part in ['a', 'b']:\n    p = p + '/' + part\n    pd.read_csv(p)",
        "pd.read_csv(p)",
        "q = 'data/first.csv'\nfor n in ['a', 'b']:\n    pd.read_csv(q)\n    q = 'data/next.csv'",
        "r = 'data/r.csv'\nwhile more():\n    r = 'data/other.csv'\npd.read_csv(r)",
        "s = 'data/s.csv'\nfor f in files_from_somewhere():\n    s = f\npd.read_csv(s)",
        "for n in ['x', 'y']:\n    t = f'data/{n}.csv'\n    pd.read_csv(t)\npd.read_csv(t)",
        "u = 'data/u.csv'\nwhile more():\n    pd.read_csv(u)\n    v = 'data/v.csv'\npd.read_csv(v)",
    ])
    assert rows(a) == [
        (1, 3, "pandas.read_csv", "read", "csv", None, False),
        (2, 1, "pandas.read_csv", "read", "csv", None, False),
        (3, 3, "pandas.read_csv", "read", "csv", None, False),
        (4, 4, "pandas.read_csv", "read", "csv", None, False),
        (5, 4, "pandas.read_csv", "read", "csv", None, False),
        # a value computed afresh in each iteration is fine, in the loop and after it
        (6, 3, "pandas.read_csv", "read", "csv", "data/x.csv", True),
        (6, 3, "pandas.read_csv", "read", "csv", "data/y.csv", True),
        (6, 4, "pandas.read_csv", "read", "csv", "data/y.csv", True),
        # names the loop does not change keep their value
        (7, 3, "pandas.read_csv", "read", "csv", "data/u.csv", True),
        (7, 5, "pandas.read_csv", "read", "csv", "data/v.csv", True),
    ]
    assert unresolved(a) == [
        (1, 3, "'p' changes from one iteration of the loop at line 1 to the next"),
        (2, 1, "'p' depends on how many times the loop at line 1 runs"),
        (3, 3, "'q' changes from one iteration of the loop at line 2 to the next"),
        (4, 4, "'r' depends on how many times the loop at line 2 runs"),
        (5, 4, "'s' depends on how many times the loop at line 2 runs"),
    ]
