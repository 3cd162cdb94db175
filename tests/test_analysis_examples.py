"""The exact accesses of the three example notebooks (each row checked against the source)."""

from __future__ import annotations

import nbformat
import pytest

from stork_jupyter.analysis import analyze_notebook

LOGS = "loop over ['app-01.log', 'app-02.log', 'app-03.log']"
PARTS = "glob 'data/features/part-*.csv'"

#: (cell_index, line, col, api, mode, format, path, resolved)
EXPECTED = {
    "sales_analysis.ipynb": [
        (3, 1, 8, "pandas.read_csv", "read", "csv", "data/sales.csv", True),
        (4, 1, 5, "open", "read", "json", "data/regions.json", True),
        (5, 1, 11, "pandas.read_csv", "read", "csv", "data/products.csv", True),
        (9, 2, 6, "pandas.read_csv", "read", "csv", "data/sales.csv", True),
        (10, 2, 10, "pandas.read_csv", "read", "csv", "data/returns.csv", True),
        (12, 1, 0, "os.makedirs", "write", None, "out", True),
        (12, 8, 0, "pandas.DataFrame.to_parquet", "write", "parquet", "out/summary.parquet", True),
        (13, 2, 8, "pandas.read_parquet", "read", "parquet", "out/summary.parquet", True),
    ],
    "feature_pipeline.ipynb": [
        (3, 1, 5, "open", "read", "json", "data/config.json", True),
        (5, 1, 8, "pandas.read_csv", "read", "csv", "data/features/train.csv", True),
        (6, 1, 19, "pandas.read_csv", "read", "csv", "data/features/part-000.csv", True),
        (6, 1, 19, "pandas.read_csv", "read", "csv", "data/features/part-001.csv", True),
        (6, 1, 19, "pandas.read_csv", "read", "csv", "data/features/part-002.csv", True),
        (7, 2, 8, "pandas.read_csv", "read", "csv", "data/features/valid.csv", True),
        (9, 1, 6, "numpy.load", "read", "npy", "data/embeddings.npy", True),
        (11, 7, 0, "os.makedirs", "write", None, "out", True),
        (11, 8, 5, "open", "write", "pickle", "out/model.pkl", True),
        (12, 1, 5, "open", "read", "pickle", "out/model.pkl", True),
        (12, 6, 0, "numpy.save", "write", "npy", "out/scores.npy", True),
        (14, 1, 9, "numpy.load", "read", "npy", "out/scores.npy", True),
    ],
    "log_processing.ipynb": [
        (3, 3, 9, "open", "read", "text", "data/logs/app-01.log", True),
        (3, 3, 9, "open", "read", "text", "data/logs/app-02.log", True),
        (3, 3, 9, "open", "read", "text", "data/logs/app-03.log", True),
        (6, 1, 0, "os.makedirs", "write", None, "out", True),
        (6, 3, 0, "pandas.DataFrame.to_csv", "write", "csv", "out/errors.csv", True),
        (7, 1, 14, "pandas.read_csv", "read", "csv", "out/errors.csv", True),
        (9, 1, 8, "pandas.read_csv", "read", "csv", "data/users.csv", True),
        (10, 1, 9, "pandas.read_json", "read", "json", "data/events.jsonl", True),
        (12, 2, 5, "open", "read", "text", "data/logs/app-02.log", True),
    ],
}

#: per notebook, per row: (kwargs, consumer, expanded_from)
DETAILS = {
    "sales_analysis.ipynb": [
        ({"parse_dates": ["date"]}, None, None),
        ({}, "json.load", None),
        ({"usecols": ["product_id", "name", "category"]}, None, None),
        ({}, None, None),
        ({}, None, None),
        ({"exist_ok": True}, None, None),
        ({"index": False}, None, None),
        ({}, None, None),
    ],
    "feature_pipeline.ipynb": [
        ({}, "json.load", None),
        ({}, None, None),
        ({}, None, PARTS),
        ({}, None, PARTS),
        ({}, None, PARTS),
        ({}, None, None),
        ({}, None, None),
        ({"exist_ok": True}, None, None),
        ({}, "pickle.dump", None),
        ({}, "pickle.load", None),
        ({}, None, None),
        ({}, None, None),
    ],
    "log_processing.ipynb": [
        ({}, None, LOGS),
        ({}, None, LOGS),
        ({}, None, LOGS),
        ({"exist_ok": True}, None, None),
        ({"index": False}, None, None),
        ({}, None, None),
        ({"dtype": {"user_id": "int64"}, "nrows": 50}, None, None),
        ({"lines": True}, None, None),
        ({}, ".read()", None),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_notebook_accesses(example_project, name):
    path = example_project / name
    analysis = analyze_notebook(path)
    assert analysis.problems == []
    assert [(a.cell_index, a.line, a.col, a.api, a.mode, a.format, a.path, a.resolved)
            for a in analysis.accesses] == EXPECTED[name]
    assert [(a.kwargs, a.consumer, a.expanded_from) for a in analysis.accesses] == DETAILS[name]
    assert all(a.reason is None and not a.remote for a in analysis.accesses)

    nb = nbformat.read(path, as_version=4)
    for a in analysis.accesses:
        cell = nb.cells[a.cell_index]
        assert cell.cell_type == "code"
        assert a.cell_id == cell.id
        # line and column point at the call in the cell's own source
        source_line = cell.source.split("\n")[a.line - 1]
        assert source_line[a.col:].startswith(a.code.split("\n")[0]), (a, source_line)
        # inputs exist with their real size; outputs are written by the notebook itself
        target = example_project / a.path
        if a.path.startswith("data/"):
            assert (a.exists, a.size) == (True, target.stat().st_size)
        else:
            # (and the folder os.makedirs makes for them)
            assert a.path.startswith("out/") or (a.api, a.path) == ("os.makedirs", "out")
            assert a.exists is False and a.size is None
