"""Reading and writing notebooks: one clear ``NotebookError`` for anything that is not one."""

from __future__ import annotations

import json
import os
import stat
import warnings

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from stork_jupyter.errors import NotebookError, StorkError
from stork_jupyter.notebook import (
    notebook_from_dict,
    parse_notebook,
    read_notebook,
    write_notebook,
    write_text_atomic,
)


def _nb_json(**overrides) -> str:
    nb = new_notebook(cells=[new_markdown_cell("# t"), new_code_cell("x = 1")])
    data = json.loads(nbformat.writes(nb))
    data.update(overrides)
    return json.dumps(data)


def test_reads_a_notebook(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(_nb_json())
    nb = read_notebook(path)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"]
    assert nb.cells[1].source == "x = 1"
    assert read_notebook(str(path)).cells[1].id == nb.cells[1].id


def test_list_sources_are_joined(tmp_path):
    data = json.loads(_nb_json())
    data["cells"][1]["source"] = ["a = 1\n", "b = 2"]
    nb = notebook_from_dict(data, "nb")
    assert nb.cells[1].source == "a = 1\nb = 2"


@pytest.mark.parametrize(("content", "message"), [
    ("{", "x.ipynb: not a notebook (invalid JSON at line 1, column 2)"),
    ("", "x.ipynb: not a notebook (invalid JSON at line 1, column 1)"),
    ("print('hello')\n", "x.ipynb: not a notebook (invalid JSON at line 1, column 1)"),
    ("[]", "x.ipynb: not a notebook (no cells)"),
    ('"cells"', "x.ipynb: not a notebook (no cells)"),
    ("{}", "x.ipynb: not a notebook (no cells)"),
    ('{"cells": []}', "x.ipynb: unsupported nbformat None (expected 4)"),
    ('{"cells": [], "nbformat": 5}', "x.ipynb: unsupported nbformat 5 (expected 4)"),
    ('{"cells": [], "nbformat": 2}', "x.ipynb: unsupported nbformat 2 (expected 4)"),
    ('{"cells": [], "nbformat": "4"}', "x.ipynb: unsupported nbformat '4' (expected 4)"),
    ('{"cells": [], "nbformat": 4.0}', "x.ipynb: unsupported nbformat 4.0 (expected 4)"),
])
def test_not_a_notebook(tmp_path, content, message):
    path = tmp_path / "x.ipynb"
    path.write_text(content)
    with pytest.raises(NotebookError) as info:
        read_notebook(path)
    assert str(info.value) == str(tmp_path / message)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, StorkError)


@pytest.mark.parametrize("data", [
    {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"x": 1}]},
    {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 7},
    {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ["code"]},
    {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
     "cells": [{"cell_type": "code", "source": 3, "metadata": {}, "outputs": []}]},
    {"nbformat": 3, "nbformat_minor": 0, "cells": []},
])
def test_malformed_structure_is_one_line(data):
    for read in (notebook_from_dict, lambda d, name: parse_notebook(json.dumps(d), name)):
        with pytest.raises(NotebookError) as info:
            read(data, "bad.ipynb")
        text = str(info.value)
        assert text.startswith("bad.ipynb: ") and "\n" not in text


def test_text_and_model_give_the_same_notebook():
    """A saved file is read from its text, an editor's model from its dict: the same
    notebook either way (upgrades, joined sources, outputs, missing ids)."""
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {},
          "worksheets": [{"metadata": {}, "cells": [
              {"cell_type": "code", "input": ["y = 2\n", "y"], "language": "python",
               "outputs": [], "metadata": {}}]}]}
    rich = json.loads(_nb_json())
    rich["cells"][1]["source"] = ["a = 1\n", "b = 2"]
    rich["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                    "text": ["1\n", "2\n"]}]
    no_ids = json.loads(_nb_json())
    for cell in no_ids["cells"]:
        del cell["id"]
    def without_new_ids(nb, data):  # ids an upgrade adds are random on each read
        if not any("id" in c for c in data.get("cells", [])):
            for cell in nb.cells:
                cell.pop("id", None)
        return nb

    for data in (v3, rich, no_ids):
        text = json.dumps(data, indent=1)
        assert without_new_ids(parse_notebook(text, "t.ipynb"), data) == without_new_ids(
            notebook_from_dict(json.loads(text), "t.ipynb"), data)
    assert parse_notebook(json.dumps(rich), "t").cells[1].outputs[0].text == "1\n2\n"


def test_missing_folder_and_unreadable(tmp_path):
    with pytest.raises(NotebookError, match=r"nope\.ipynb: no such notebook$"):
        read_notebook(tmp_path / "nope.ipynb")
    with pytest.raises(NotebookError, match=r"is a folder, not a notebook$"):
        read_notebook(tmp_path)
    binary = tmp_path / "b.ipynb"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(NotebookError, match=r"not a notebook \(not UTF-8 text\)$"):
        read_notebook(binary)
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.ipynb"
        locked.write_text(_nb_json())
        locked.chmod(0)
        with pytest.raises(NotebookError, match=r"cannot be read \(Permission denied\)$"):
            read_notebook(locked)


def test_old_formats_are_upgraded_without_warnings(tmp_path):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {},
          "worksheets": [{"metadata": {}, "cells": [
              {"cell_type": "code", "input": "y = 2", "language": "python", "outputs": [],
               "metadata": {}}]}]}
    no_ids = json.loads(_nb_json())
    for cell in no_ids["cells"]:
        del cell["id"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nb3 = parse_notebook(json.dumps(v3), "v3.ipynb")
        nb45 = parse_notebook(json.dumps(no_ids), "noids.ipynb")
    assert nb3.nbformat == 4 and nb3.cells[0].source == "y = 2"
    assert [c.source for c in nb45.cells] == ["# t", "x = 1"]


def test_write_notebook_is_atomic_and_keeps_the_mode(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(_nb_json())
    path.chmod(0o640)
    nb = read_notebook(path)
    nb.cells[1].source = "x = 2"
    write_notebook(nb, path)
    assert read_notebook(path).cells[1].source == "x = 2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_text().endswith("\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb"]  # no temporary left


def test_failed_atomic_write_leaves_the_original(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("original")
    with pytest.raises(TypeError):
        write_text_atomic(path, 12345)  # type: ignore[arg-type]
    assert path.read_text() == "original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
    write_text_atomic(path, "new\r\ntext")
    assert path.read_bytes() == b"new\r\ntext"  # newline="" writes the text as given
