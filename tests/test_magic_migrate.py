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


def run(kc, code: str) -> tuple[dict, list[dict]]:
    """Execute ``code``; return the execute_reply content and the iopub outputs."""
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
