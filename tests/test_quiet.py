"""Analyses in concurrent threads (the server's worker pool) leave Python's warning
filters as they found them."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stork_jupyter.analysis import analyze_cells
from stork_jupyter.notebook import nbformat

# "\d" is an invalid escape: parsing it warns, which the analysis silences
CELLS = [nbformat.v4.new_code_cell(f'import pandas as pd\ndf{i} = pd.read_csv("data\\d{i}.csv")')
         for i in range(40)]


def test_concurrent_analyses_restore_the_warning_filters(tmp_path: Path):
    before = list(warnings.filters)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: analyze_cells(CELLS, tmp_path, "nb.ipynb"),
                                range(16)))
    assert all(len(r.accesses) == len(CELLS) for r in results)
    assert warnings.filters == before
    with warnings.catch_warnings(record=True) as caught:  # and warnings still reach users
        warnings.simplefilter("always")
        warnings.warn("still heard", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["still heard"]
