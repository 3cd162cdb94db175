"""The migrate magics in a real kernel: ``%%stork migrate`` replaces the cell's text (the
``set_next_input`` payload), runs the rewritten code, and ``%stork migrate`` rewrites the
saved notebook while leaving the magic's own cell alone."""

from __future__ import annotations

import queue
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.slow

TIMEOUT = 60


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path),
                              startup_timeout=TIMEOUT)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc, code: str, comms: list[dict] | None = None) -> tuple[dict, list[dict]]:
    """Execute ``code``; return the execute_reply content and the iopub outputs (comm
    messages the code sent go to ``comms``)."""
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
    outputs = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=TIMEOUT)
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        if msg["msg_type"] in ("stream", "execute_result", "display_data", "error"):
            outputs.append(msg["content"])
        if comms is not None and msg["msg_type"] in ("comm_open", "comm_msg", "comm_close"):
            comms.append({"msg_type": msg["msg_type"], **msg["content"]})
    return reply["content"], outputs


def text_of(outputs: list[dict]) -> str:
    parts = []
    for o in outputs:
        parts.append(o.get("text") or o.get("data", {}).get("text/plain", "")
                     or f"{o.get('ename')}: {o.get('evalue')}")
    return "\n".join(parts)


def test_kernel_is_this_python(kernel):
    _, outputs = run(kernel, "import sys; print(sys.executable)")
    assert text_of(outputs).strip() == sys.executable


def test_cell_magic_replaces_the_cell_and_runs_it(kernel, tmp_path: Path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a,b\n1,2\n3,4\n")
    dest = tmp_path / "dest"
    run(kernel, "%load_ext stork_jupyter\nimport pandas as pd\nD = 'data'")
    body = "df = pd.read_csv(D + '/x.csv')  # keep me\nprint(df.b.sum())"
    reply, outputs = run(kernel, f"%%stork migrate --to {dest}\n{body}")
    assert reply["status"] == "ok", text_of(outputs)
    assert text_of(outputs).strip() == "6"  # the rewritten code ran
    payload = [p for p in reply.get("payload", []) if p.get("source") == "set_next_input"]
    assert len(payload) == 1 and payload[0]["replace"] is True
    new_text = payload[0]["text"]
    copied = dest / "cell" / "data" / "x.csv"
    assert new_text == f'df = pd.read_csv("{copied}")  # keep me\nprint(df.b.sum())'
    assert "%%stork" not in new_text
    assert copied.read_text() == "a,b\n1,2\n3,4\n"


def test_cell_magic_refuses_a_run_time_path(kernel, tmp_path: Path):
    run(kernel, "%load_ext stork_jupyter\nimport pandas as pd")
    reply, outputs = run(kernel, "%%stork migrate --to dest\npd.read_csv(input())")
    assert reply["status"] == "error"
    text = text_of(outputs)
    assert "UsageError" in text and "input()" in text
    assert not (tmp_path / "dest").exists() or not any((tmp_path / "dest").iterdir())


def test_line_magic_rewrites_the_saved_notebook(kernel, tmp_path: Path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a\n1\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import pandas as pd"),
                nbformat.v4.new_code_cell("df = pd.read_csv('data/x.csv')"),
                nbformat.v4.new_code_cell("%load_ext stork_jupyter\n%stork migrate --to out")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    run(kernel, "%load_ext stork_jupyter")
    reply, outputs = run(kernel, f"%stork migrate {path.name} --to {tmp_path / 'moved'}")
    assert reply["status"] == "ok", text_of(outputs)
    assert "reload" in text_of(outputs)
    after = nbformat.read(path, as_version=4)
    sources = [c.source for c in after.cells]
    assert after.cells[0].metadata["stork"]["setup"] is True
    assert sources[2] == f"df = pd.read_csv('{tmp_path}/moved/nb/data/x.csv')"
    assert sources[3] == "%load_ext stork_jupyter\n%stork migrate --to out"  # left as is


def test_line_magic_with_output_writes_a_copy_and_leaves_the_notebook(kernel,
                                                                      tmp_path: Path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "y.csv").write_text("a\n1\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import pandas as pd"),
                nbformat.v4.new_code_cell("df = pd.read_csv('data/y.csv')")]
    path = tmp_path / "copyme.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    run(kernel, "%load_ext stork_jupyter")
    reply, outputs = run(kernel, f"%stork migrate {path.name} --to {tmp_path / 'moved2'} "
                                 f"-o {tmp_path / 'copy.ipynb'}")
    assert reply["status"] == "ok", text_of(outputs)
    assert f"the rewritten copy is {tmp_path / 'copy.ipynb'}" in text_of(outputs)
    assert path.read_bytes() == before
    copy = nbformat.read(tmp_path / "copy.ipynb", as_version=4)
    assert copy.cells[2].source == f"df = pd.read_csv('{tmp_path}/moved2/copyme/data/y.csv')"


def send_comm(kc, comm_id: str, data: dict) -> None:
    """What the JupyterLab panel sends on its comm (a frontend's comm_msg)."""
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))


def test_line_magic_hands_the_edits_to_the_open_document(kernel, tmp_path: Path):
    """With the panel listening on the comm, the saved file is left alone: the edits go
    to the panel (which applies them to the open document, unsaved)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a\n1\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import pandas as pd"),
                nbformat.v4.new_code_cell("df = pd.read_csv('data/x.csv')  # x")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()

    comms: list[dict] = []
    run(kernel, "%load_ext stork_jupyter", comms)
    [opened] = [c for c in comms if c["msg_type"] == "comm_open"]
    assert opened["target_name"] == "stork_jupyter" and opened["data"]["type"] == "hello"
    send_comm(kernel, opened["comm_id"], {"type": "ready", "path": "nb.ipynb"})

    comms.clear()
    reply, outputs = run(kernel, f"%stork migrate {path.name} --to {tmp_path / 'moved'}", comms)
    assert reply["status"] == "ok", text_of(outputs)
    assert "edit(s) to the notebook open in JupyterLab" in text_of(outputs)
    assert path.read_bytes() == before  # nothing on disk changed
    # (the progress widget's models talk on comms of their own)
    [sent] = [c for c in comms
              if c["msg_type"] == "comm_msg" and c["comm_id"] == opened["comm_id"]]
    data = sent["data"]
    assert data["type"] == "apply_edits" and data["path"] == "nb.ipynb"
    assert data["edits"] == [{
        "cell_id": nb.cells[1].id, "cell_index": 1, "cell_number": 2,
        "original_source": "df = pd.read_csv('data/x.csv')  # x",
        "new_source": f"df = pd.read_csv('{tmp_path}/moved/nb/data/x.csv')  # x"}]
    setup = data["setup_cell"]
    assert setup["metadata"]["stork"]["setup"] is True
    assert setup["before_cell_id"] == nb.cells[0].id and setup["index"] == 0
    # the rewritten copy, the data and the job (naming the user's notebook) exist
    output = Path(data["output"])
    assert output.parent.parent == tmp_path / ".stork" / "outputs"
    assert nbformat.read(output, as_version=4).cells[2].source == data["edits"][0]["new_source"]
    assert (tmp_path / "moved" / "nb" / "data" / "x.csv").read_text() == "a\n1\n"
    from stork_jupyter.store import Job, Record, open_store

    with open_store(tmp_path) as store:
        [job] = store.list(Job, limit=None)
        assert (job.id, job.notebook, job.status) == (data["job_id"], "nb.ipynb", "completed")
        assert [r.notebook for r in store.list(Record, limit=None)] == ["nb.ipynb"]

    # the panel's answer reaches the kernel between cells
    send_comm(kernel, opened["comm_id"], {"type": "applied", "job_id": job.id, "cells": 1})
    _, outputs = run(kernel, "from stork_jupyter.frontend_comm import LINK; print(LINK.replies)")
    assert f"'job_id': {job.id}" in text_of(outputs) and "'applied'" in text_of(outputs)


def test_loading_and_migrating_in_one_cell_rewrites_the_file_and_says_why(kernel,
                                                                         tmp_path: Path):
    """The panel's answer to ``%load_ext`` arrives after the cell: in the same cell the
    magic rewrites the saved file, and says how to have the open document take it."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a\n1\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import pandas as pd\ndf = pd.read_csv('data/x.csv')")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    reply, outputs = run(kernel, "%load_ext stork_jupyter\n"
                                 f"%stork migrate {path.name} --to {tmp_path / 'moved'}")
    assert reply["status"] == "ok", text_of(outputs)
    assert "rewritten on disk" in text_of(outputs)
    assert "load the extension in a cell of its own" in text_of(outputs)
    assert "moved" in nbformat.read(path, as_version=4).cells[1].source
    # a later cell, no panel answered: the file again, without the hint
    nbformat.write(nb, path)
    _, outputs = run(kernel, f"%stork migrate {path.name} --to {tmp_path / 'moved'}")
    assert "rewritten on disk" in text_of(outputs)
    assert "cell of its own" not in text_of(outputs)


def test_without_the_panel_the_comm_stays_unanswered(kernel, tmp_path: Path):
    """No frontend answered the comm (as under nbclient): not ready, the file path."""
    run(kernel, "%load_ext stork_jupyter")
    _, outputs = run(kernel, "from stork_jupyter.frontend_comm import LINK; print(LINK.ready)")
    assert text_of(outputs).strip() == "False"


def test_a_panel_connecting_later_opens_a_fresh_link(kernel, tmp_path: Path):
    """The page was reloaded after ``%load_ext``: the new panel opens a comm of its own,
    which becomes the link the magic sends its edits on."""
    comms: list[dict] = []
    run(kernel, "%load_ext stork_jupyter", comms)
    [hello] = [c for c in comms if c["msg_type"] == "comm_open"]  # nobody answered it
    kernel.shell_channel.send(kernel.session.msg("comm_open", {
        "comm_id": "fresh-comm", "target_name": "stork_jupyter",
        "data": {"type": "ready", "path": "nb.ipynb"}}))
    _, outputs = run(kernel, "from stork_jupyter.frontend_comm import LINK\n"
                             "print(LINK.ready, LINK.comm.comm_id, LINK.path)")
    assert text_of(outputs).split() == ["True", "fresh-comm", "nb.ipynb"]
    # the old comm closing (the old page's) leaves the new link alone
    kernel.shell_channel.send(kernel.session.msg("comm_close", {
        "comm_id": hello["comm_id"], "data": {}}))
    _, outputs = run(kernel, "print(LINK.ready, LINK.comm.comm_id)")
    assert text_of(outputs).split() == ["True", "fresh-comm"]
