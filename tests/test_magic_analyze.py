"""``%stork analyze`` in a real kernel (nbclient), and finding the kernel's notebook."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_analysis_patterns import Md, build

from stork_jupyter.magics import current_notebook

SALES = "region,amount\nN,1\nS,2\n"


def _other(folder: Path) -> Path:
    return build(folder, [
        Md("# Other"),
        "import pandas as pd\nDATA = 'data'",
        "sales = pd.read_csv(f'{DATA}/sales.csv')",
        "sales.to_parquet('out/summary.parquet')",
        "x = pd.read_csv(input())",
    ], {"data/sales.csv": SALES}, name="other.ipynb")


def _outputs(cell) -> list[dict]:
    return list(cell.get("outputs", []))


def _html(cell) -> str:
    found = [o["data"]["text/html"] for o in _outputs(cell)
             if o.get("output_type") == "display_data" and "text/html" in o.get("data", {})]
    assert len(found) == 1, _outputs(cell)
    return found[0]


@pytest.mark.slow
def test_magic_analyzes_a_named_notebook(tmp_path, run_nb):
    _other(tmp_path)
    runner = build(tmp_path, ["%load_ext stork_jupyter", "%stork analyze other.ipynb",
                              "%stork analyze other.ipynb --store meta.db"], name="runner.ipynb")
    nb, outputs = run_nb(runner, env={"STORK_STORE": str(tmp_path / "default.db")})
    assert outputs[0] == []
    html = _html(nb.cells[1])
    assert html.startswith("<table class='stork-table'>")
    for expected in ("other.ipynb: 3 data accesses (2 read, 1 write, 1 unresolved)",
                     "<th style='text-align:left'>path</th>", "pandas.read_csv",
                     "data/sales.csv", f"exists, {len(SALES)} B", "out/summary.parquet",
                     "written here", "unresolved: the result of input() is only known at run time",
                     "3 (cell-2)"):
        assert expected in html, expected
    plain = [o for o in outputs[1] if o["output_type"] == "display_data"]
    assert "data/sales.csv" in plain[0]["text"]  # the text/plain twin
    # recorded in the store named by the environment, then in the one named by --store
    assert (tmp_path / "default.db").is_file() and (tmp_path / "meta.db").is_file()
    assert "data/sales.csv" in _html(nb.cells[2])


@pytest.mark.slow
def test_magic_finds_its_own_notebook_from_the_session(tmp_path, run_nb):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales.csv").write_text(SALES)
    nb_path = build(tmp_path, [
        "%load_ext stork_jupyter",
        "import pandas as pd\nsales = pd.read_csv('data/sales.csv')\nprint(len(sales))",
        "%stork analyze",
    ], name="self.ipynb")
    env = {"JPY_SESSION_NAME": str(nb_path), "STORK_STORE": str(tmp_path / "s.db")}
    nb, outputs = run_nb(nb_path, env=env)
    assert outputs[1] == [{"output_type": "stream", "name": "stdout", "text": "2\n"}]
    html = _html(nb.cells[2])
    assert "self.ipynb: 1 data access (1 read, 0 write, 0 unresolved)" in html
    assert "data/sales.csv" in html and "2 (cell-1)" in html


@pytest.mark.slow
def test_magic_errors_are_usage_errors_not_tracebacks(tmp_path, run_nb):
    nb_path = build(tmp_path, [
        "%load_ext stork_jupyter",
        "%stork nonsense",
        "%stork analyze missing.ipynb",
        "%stork analyze",
        "print('still running')",
    ], name="errors.ipynb")
    (tmp_path / "broken.ipynb").write_text("{not json")
    env = {"STORK_STORE": str(tmp_path / "s.db"), "JPY_SESSION_NAME": ""}
    nb, outputs = run_nb(nb_path, env=env, allow_errors=True)

    def error_text(index: int) -> str:
        """IPython shows a UsageError as one stderr message, without a traceback."""
        cell_outputs = _outputs(nb.cells[index])
        assert [o["output_type"] for o in cell_outputs] == ["stream"], cell_outputs
        assert cell_outputs[0]["name"] == "stderr"
        text = cell_outputs[0]["text"]
        assert text.startswith("UsageError: ") and "Traceback" not in text
        return text

    assert "invalid choice: 'nonsense'" in error_text(1)
    assert "missing.ipynb: no such notebook" in error_text(2)
    assert "Cannot tell which notebook this kernel runs" in error_text(3)
    assert outputs[4] == [{"output_type": "stream", "name": "stdout", "text": "still running\n"}]


def test_current_notebook_sources(tmp_path):
    root = tmp_path / "server-root"
    work = root / "project" / "sub"
    work.mkdir(parents=True)
    nb = work / "a.ipynb"
    nb.write_text("{}")
    other = tmp_path / "b.ipynb"
    other.write_text("{}")
    # VS Code's absolute path wins over the rest
    assert current_notebook({"__vsc_ipynb_file__": str(other), "__session__": str(nb)},
                            {"JPY_SESSION_NAME": str(nb)}, work) == other
    # JupyterLab: the session path, relative to the server root (an ancestor of the cwd)
    assert current_notebook({}, {"JPY_SESSION_NAME": "project/sub/a.ipynb"}, work) == nb
    assert current_notebook({"__session__": "project/sub/a.ipynb"}, {}, work) == nb
    # a missing absolute file is skipped for the next source
    assert current_notebook({"__vsc_ipynb_file__": str(tmp_path / "gone.ipynb")},
                            {"JPY_SESSION_NAME": str(nb)}, work) == nb
    # only the name is known and it is in the cwd
    assert current_notebook({}, {"JPY_SESSION_NAME": "elsewhere/a.ipynb"}, work) == work / "a.ipynb"
    from IPython.core.error import UsageError
    with pytest.raises(UsageError, match="Cannot tell which notebook"):
        current_notebook({}, {}, work)
