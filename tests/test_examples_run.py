"""The example notebooks run in a real kernel and their outputs are reproducible;
``stork_jupyter.execute`` reports failures and differences clearly."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from stork_jupyter.errors import ExecutionError, StorkError
from stork_jupyter.execute import cell_outputs, compare_outputs, execute_notebook

EXAMPLES = ["sales_analysis.ipynb", "feature_pipeline.ipynb", "log_processing.ipynb"]
REPO = Path(__file__).resolve().parent.parent


def _write_nb(path: Path, *cells) -> Path:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


# --------------------------------------------------------------------------- the files


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_notebook_is_clean(name):
    """Saved as nbformat 4.5 with cell ids, no outputs, kernel python3, a markdown title."""
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 3


# --------------------------------------------------------------------------- normalisation


def test_cell_outputs_normalises_like_nbval():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# title"),
            new_code_cell(
                "x",
                outputs=[
                    new_output("stream", name="stdout", text="a\n"),
                    new_output("stream", name="stderr", text="warn\n"),
                    new_output("stream", name="stdout", text="b\n"),
                    new_output(
                        "execute_result",
                        data={"text/plain": "1", "text/html": "<b>1</b>"},
                        execution_count=7,
                        metadata={"x": 1},
                    ),
                    new_output("display_data", data={"text/html": "<i>h</i>"}),
                    new_output("display_data", data={"image/png": "iVBOR"}),
                    new_output("error", ename="ValueError", evalue="bad", traceback=["..."]),
                ],
            ),
        ]
    )
    assert cell_outputs(nb) == [
        [],
        [
            {"output_type": "stream", "name": "stdout", "text": "a\nb\n"},
            {"output_type": "stream", "name": "stderr", "text": "warn\n"},
            {"output_type": "execute_result", "mime": "text/plain", "text": "1"},
            {"output_type": "display_data", "mime": "text/html", "text": "<i>h</i>"},
            {"output_type": "display_data", "mime": "image/png", "text": ""},
            {"output_type": "error", "ename": "ValueError", "evalue": "bad"},
        ],
    ]


def test_which_stream_the_kernel_flushed_first_makes_no_difference():
    """stdout and stderr are buffered apart: a slower run can flush its warnings before
    what it printed after them. Their texts are compared, not their order."""
    def cell(*streams):
        return new_notebook(cells=[new_code_cell("x", outputs=[
            new_output("stream", name=name, text=text) for name, text in streams])])

    printed_first = cell(("stdout", "['/a']\n"), ("stderr", "warn\n"))
    warned_first = cell(("stderr", "warn\n"), ("stdout", "['/a']\n"))
    assert compare_outputs(printed_first, warned_first) == []
    assert cell_outputs(warned_first)[0][0]["name"] == "stdout"
    assert compare_outputs(printed_first, cell(("stderr", "warn\n"), ("stdout", "['/b']\n")))


def test_compare_outputs_names_the_cell():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# t"),
            new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")]),
            new_code_cell("2", outputs=[new_output("execute_result", data={"text/plain": "2"})]),
        ]
    )
    other = copy.deepcopy(nb)
    assert compare_outputs(nb, other) == []
    other.cells[2].outputs[0]["execution_count"] = 99  # counts are ignored
    assert compare_outputs(nb, other) == []
    other.cells[2].outputs[0]["data"]["text/plain"] = "3"
    diffs = compare_outputs(nb, other)
    assert len(diffs) == 1 and diffs[0].startswith("cell 3:")
    assert "-2" in diffs[0] and "+3" in diffs[0]
    other.cells.append(new_code_cell("4"))
    assert any("3 and 4 cells" in d for d in compare_outputs(nb, other))


def test_execute_missing_notebook_is_a_stork_error(tmp_path):
    with pytest.raises(StorkError, match="no such notebook"):
        execute_notebook(tmp_path / "nope.ipynb")


def test_execute_module_imports_no_door():
    import subprocess

    code = (
        "import sys, stork_jupyter.execute; "
        "print(sorted(m for m in ('IPython', 'ipywidgets', 'tornado', 'nbclient') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- real kernels


@pytest.mark.slow
def test_kernel_is_this_python_and_runs_in_the_notebook_folder(tmp_path, run_nb, monkeypatch):
    monkeypatch.setenv("STORK_FIXTURE_PROBE", "inherited")
    folder = tmp_path / "nbdir"
    folder.mkdir()
    path = _write_nb(
        folder / "probe.ipynb",
        new_markdown_cell("# probe"),
        new_code_cell(
            "import os, sys\n"
            "print(sys.executable)\n"
            "print(sys.prefix)\n"
            "print(os.getcwd())\n"
            "print(os.environ.get('STORK_FIXTURE_PROBE'), os.environ.get('EXTRA_VAR'))"
        ),
    )
    nb, outputs = run_nb(path, env={"EXTRA_VAR": "extra"})
    assert outputs[0] == []
    lines = outputs[1][0]["text"].splitlines()
    assert lines[0] == sys.executable
    assert lines[1] == sys.prefix
    assert Path(lines[2]).resolve() == folder.resolve()
    assert lines[3] == "inherited extra"
    assert nb.metadata["language_info"]["name"] == "python"
    # The file itself is not written.
    assert nbformat.read(path, as_version=4).cells[1].outputs == []

    # In the repository's virtualenv (as `make test` runs), the kernel is the venv's.
    venv = REPO / ".venv"
    if Path(sys.prefix).resolve() == venv.resolve():
        assert Path(lines[1]).resolve() == venv.resolve()

    _, outputs = run_nb(path, cwd=tmp_path)
    assert Path(outputs[1][0]["text"].splitlines()[2]).resolve() == tmp_path.resolve()


@pytest.mark.slow
def test_failing_cell_raises_execution_error_with_its_index(tmp_path, run_nb):
    path = _write_nb(
        tmp_path / "bad.ipynb",
        new_markdown_cell("# bad"),
        new_code_cell("x = 1"),
        new_markdown_cell("text"),
        new_code_cell("raise KeyError('missing column')"),
        new_code_cell("print('never')"),
    )
    with pytest.raises(ExecutionError) as info:
        run_nb(path)
    err = info.value
    assert err.cell_index == 3 and err.ename == "KeyError"
    assert "bad.ipynb" in str(err) and "cell 4" in str(err) and "missing column" in str(err)

    nb, outputs = run_nb(path, allow_errors=True)
    assert outputs[3] == [
        {"output_type": "error", "ename": "KeyError", "evalue": "'missing column'"}
    ]
    assert outputs[4] == [{"output_type": "stream", "name": "stdout", "text": "never\n"}]


@pytest.mark.slow
def test_cell_timeout_raises_execution_error(tmp_path):
    path = _write_nb(tmp_path / "slow.ipynb", new_code_cell("import time\ntime.sleep(30)"))
    with pytest.raises(ExecutionError, match=r"cell 1 .*did not finish within 2 s"):
        execute_notebook(path, timeout=2)


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_and_is_reproducible(example_project, run_nb, name):
    path = example_project / name
    first_nb, first = run_nb(path)
    # Every code cell ran, without errors.
    for cell in first_nb.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None
            assert all(o["output_type"] != "error" for o in cell.outputs)
    assert sum(1 for outs in first if outs) >= 5  # the outputs are meaningful
    second_nb, second = run_nb(path)
    assert second == first
    assert compare_outputs(first_nb, second_nb) == []
