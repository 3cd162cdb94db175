"""People read cell numbers as JupyterLab shows them (1-based, all cells); JSON keeps the
0-based ``cell_index`` and adds ``cell_number``."""

from __future__ import annotations

import json

from click.testing import CliRunner
from test_analysis_patterns import Md, build

from stork_jupyter.cells import cell_label, where, with_cell_number
from stork_jupyter.cli import cli
from stork_jupyter.plan import MigrationPlan, plan_from_store, plan_to_store


def test_labels_are_one_based():
    assert cell_label(0) == "cell 1"
    assert cell_label(8, "abc") == "cell 9 (abc)"
    assert cell_label(8, word=False) == "9"
    assert where("nb.ipynb", 2, 4) == "nb.ipynb: cell 3, line 4"
    assert with_cell_number({"cell_index": 2, "line": 1}) == {
        "cell_index": 2, "cell_number": 3, "line": 1}


def test_cli_table_and_json_number_cells_as_jupyterlab(tmp_path):
    # cell 1 is markdown, as in most notebooks: the read is in JupyterLab's cell 3
    nb = build(tmp_path, [Md("# t"), "import pandas as pd", "df = pd.read_csv('a.csv')"],
               {"a.csv": "x\n1\n"})
    runner = CliRunner()
    table = runner.invoke(cli, ["analyze", str(nb), "--no-record"])
    assert table.exit_code == 0, table.output
    row = next(line for line in table.output.splitlines() if "pandas.read_csv" in line)
    assert row.split()[:2] == ["3", "(cell-2)"]
    raw = runner.invoke(cli, ["analyze", str(nb), "--no-record", "--json"])
    [access] = json.loads(raw.output)
    assert (access["cell_index"], access["cell_number"]) == (2, 3)


def test_blocker_message_and_plan_round_trip():
    plan = MigrationPlan.from_json({
        "notebook": "nb.ipynb", "destination": "/d", "kind": "file", "layout": "mirror",
        "base_key": "nb", "blockers": [{"cell_index": 4, "cell_id": None, "line": 2,
                                        "code": "pd.read_csv(input())", "reason": "r"}]})
    assert plan.blockers[0].describe("nb.ipynb") == (
        "nb.ipynb: cell 5, line 2: pd.read_csv(input()): r")
    data = plan.to_json()
    assert data["blockers"][0]["cell_number"] == 5
    # what a job keeps reads back to the same plan (cell_number is derived, not stored)
    assert plan_from_store(plan_to_store(plan)) == plan
