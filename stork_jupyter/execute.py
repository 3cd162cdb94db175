"""Run a notebook in a real kernel and compare what its cells print.

Used to check that a migrated notebook gives the same outputs as the original: run
both, normalise each cell's outputs with :func:`cell_outputs` (the way nbval compares
them) and list the differences with :func:`compare_outputs`.

nbclient (and through it jupyter_client and tornado) is imported only when a notebook
is executed, so importing this module stays cheap and door-free.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from .cells import cell_label
from .errors import ExecutionError, MissingDependencyError, NotebookError
from .notebook import nbformat

__all__ = ["execute_notebook", "cell_outputs", "compare_outputs", "kernel_argv"]

#: The kernel name that is pinned to the Python running Stork (see ``kernel_argv``).
NATIVE_KERNEL = "python3"


def kernel_argv(executable: str | None = None) -> list[str]:
    """The command line of an ipykernel running on ``executable`` (default: this Python)."""
    return [executable or sys.executable, "-m", "ipykernel_launcher", "--log-level=ERROR",
            "-f", "{connection_file}"]


def _text(value: Any) -> str:
    """Notebook text fields may be a string or a list of lines."""
    if isinstance(value, list):
        return "".join(value)
    return "" if value is None else str(value)


def _client_class() -> type:
    """Build the nbclient subclass lazily (nbclient pulls in jupyter_client and tornado)."""
    try:
        from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
        from nbclient import NotebookClient
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise MissingDependencyError("nbclient", "examples") from exc

    class _PinnedSpecs(KernelSpecManager):
        """``python3`` always means an ipykernel on this very interpreter.

        Without this, a ``python3`` kernelspec found first in the user's Jupyter path
        (``~/.local/share/jupyter/kernels``) could start some other Python, without the
        packages of this environment.
        """

        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            if kernel_name == NATIVE_KERNEL:
                return KernelSpec(
                    argv=kernel_argv(),
                    display_name="Python 3 (ipykernel)",
                    language="python",
                    resource_dir="",
                    metadata={"debugger": True},
                )
            return super().get_kernel_spec(kernel_name)

    class _Client(NotebookClient):
        current_index: int | None = None

        def create_kernel_manager(self):  # type: ignore[override]
            if not self.kernel_name:
                self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name") or ""
            self.km = self.kernel_manager_class(
                kernel_name=self.kernel_name or NATIVE_KERNEL,
                kernel_spec_manager=_PinnedSpecs(),
                config=self.config,
            )
            return self.km

        async def async_execute_cell(self, cell, cell_index, *args, **kwargs):  # type: ignore[override]
            self.current_index = cell_index
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    return _Client


def execute_notebook(
    path: Path | str,
    cwd: Path | str | None = None,
    timeout: int = 120,
    kernel_name: str = "python3",
    env: dict[str, str] | None = None,
    allow_errors: bool = False,
    startup_timeout: int = 60,
) -> nbformat.NotebookNode:
    """Execute the notebook at ``path`` in a fresh kernel and return the executed copy.

    The file is not written. The kernel runs in ``cwd`` (default: the notebook's
    folder) with this process's environment updated by ``env``. ``timeout`` bounds each
    cell, in seconds. The kernel named ``python3`` is always an ipykernel on
    ``sys.executable``.

    Raises :class:`ExecutionError` naming the notebook, the cell index (0-based among
    all cells) and the error when a cell raises (unless ``allow_errors``), times out,
    or the kernel dies; :class:`NotebookError` when the file is not a notebook.
    """
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError as exc:
        raise NotebookError(f"{path}: no such notebook.") from exc
    except Exception as exc:  # nbformat raises several kinds for malformed JSON
        raise NotebookError(f"{path}: not a readable notebook ({exc}).") from exc
    if kernel_name == NATIVE_KERNEL and importlib.util.find_spec("ipykernel") is None:
        raise MissingDependencyError("ipykernel", "examples")

    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    workdir = Path(cwd) if cwd is not None else path.resolve().parent
    client = _client_class()(
        nb,
        timeout=timeout,
        startup_timeout=startup_timeout,
        kernel_name=kernel_name,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(workdir)}},
    )
    kernel_env = {**os.environ, **(env or {})}

    def where() -> str:
        index = client.current_index
        if index is None:
            return f"{path}"
        cell_id = nb.cells[index].get("id")
        return f"{path}: {cell_label(index, cell_id)}"

    try:
        client.execute(env=kernel_env, cwd=str(workdir))
    except CellTimeoutError as exc:
        raise ExecutionError(
            f"{where()} did not finish within {timeout} s.",
            notebook=str(path),
            cell_index=client.current_index,
            ename="CellTimeoutError",
            evalue=str(exc),
        ) from exc
    except CellExecutionError as exc:
        raise ExecutionError(
            f"{where()} raised {exc.ename}: {exc.evalue}",
            notebook=str(path),
            cell_index=client.current_index,
            ename=exc.ename,
            evalue=exc.evalue,
        ) from exc
    except DeadKernelError as exc:
        raise ExecutionError(
            f"{where()}: the kernel died ({exc}).",
            notebook=str(path),
            cell_index=client.current_index,
            ename="DeadKernelError",
            evalue=str(exc),
        ) from exc
    except RuntimeError as exc:  # e.g. the kernel did not start in time
        raise ExecutionError(
            f"{path}: the kernel could not run the notebook ({exc}).",
            notebook=str(path),
            cell_index=client.current_index,
            ename=type(exc).__name__,
            evalue=str(exc),
        ) from exc
    return nb


#: The order stream entries take (the kernel buffers and flushes each stream apart: which
#: of stdout and stderr reaches the notebook first depends on timing, not on the code).
_STREAM_ORDER = ("stdout", "stderr")


def _normalise_cell(outputs: list[Any]) -> list[dict[str, str]]:
    normal: list[dict[str, str]] = []
    streams: dict[str, dict[str, str]] = {}
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            name = out.get("name", "stdout")
            if name in streams:
                streams[name]["text"] += _text(out.get("text"))
            else:
                streams[name] = {
                    "output_type": "stream",
                    "name": name,
                    "text": _text(out.get("text")),
                }
                normal.append(streams[name])
                # the streams stay where the first of them appeared, in one order
                first = next(i for i, o in enumerate(normal) if o["output_type"] == "stream")
                group = sorted(streams.values(), key=_stream_rank)
                normal[first:] = group + [o for o in normal[first:]
                                          if o["output_type"] != "stream"]
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {}) or {}
            if "text/plain" in data:
                mime = "text/plain"
            elif "text/html" in data:
                mime = "text/html"
            else:  # images and the like: compare which kinds were shown, not their bytes
                mime = ",".join(sorted(data))
            text = _text(data.get(mime)) if mime in ("text/plain", "text/html") else ""
            normal.append({"output_type": kind, "mime": mime, "text": text})
        elif kind == "error":
            normal.append(
                {
                    "output_type": "error",
                    "ename": _text(out.get("ename")),
                    "evalue": _text(out.get("evalue")),
                }
            )
    return normal


def _stream_rank(stream: dict[str, str]) -> tuple[int, str]:
    name = stream["name"]
    return (_STREAM_ORDER.index(name) if name in _STREAM_ORDER else len(_STREAM_ORDER), name)


def cell_outputs(nb: nbformat.NotebookNode | dict[str, Any]) -> list[list[dict[str, str]]]:
    """Each cell's outputs normalised for comparison, one list per cell (all cells).

    Markdown and raw cells give ``[]``, so index ``i`` is cell ``i`` of the notebook.
    A code cell gives, in order of first appearance: one ``stream`` entry per stream
    name (``stdout``/``stderr``, all its text joined; the two where the first of them
    appeared, stdout first: which one the kernel flushes first is timing), ``execute_result`` /
    ``display_data`` entries with their ``text/plain`` (``text/html`` only when there
    is no plain text), and ``error`` entries with ``ename``/``evalue``. Execution
    counts, metadata and tracebacks are dropped.
    """
    result: list[list[dict[str, str]]] = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            result.append([])
            continue
        result.append(_normalise_cell(cell.get("outputs", []) or []))
    return result


def _describe(out: dict[str, str]) -> str:
    kind = out["output_type"]
    if kind == "stream":
        return f"{out['name']}:\n{out['text']}"
    if kind == "error":
        return f"error: {out['ename']}: {out['evalue']}"
    return f"{kind} [{out['mime']}]:\n{out['text']}"


def describe_outputs(outputs: list[dict[str, str]]) -> str:
    """A cell's normalised outputs (:func:`cell_outputs`) as text, for a diff."""
    return "\n".join(_describe(o) for o in outputs)


def compare_outputs(
    expected_nb: nbformat.NotebookNode | dict[str, Any],
    actual_nb: nbformat.NotebookNode | dict[str, Any],
) -> list[str]:
    """Human-readable differences between the outputs of two runs, cell by cell.

    Empty when every cell's :func:`cell_outputs` are equal. Each difference names the
    cell index (among all cells) and shows a unified diff of the two outputs.
    """
    expected = cell_outputs(expected_nb)
    actual = cell_outputs(actual_nb)
    diffs: list[str] = []
    if len(expected) != len(actual):
        diffs.append(f"the notebooks have {len(expected)} and {len(actual)} cells")
    for index, (exp, act) in enumerate(zip(expected, actual, strict=False)):
        if exp == act:
            continue
        exp_text = "\n".join(_describe(o) for o in exp).splitlines()
        act_text = "\n".join(_describe(o) for o in act).splitlines()
        diff = "\n".join(
            difflib.unified_diff(exp_text, act_text, "expected", "actual", lineterm="", n=2)
        )
        if not diff:  # same text, different structure (e.g. stream order or output kind)
            diff = f"expected {exp!r}\nactual   {act!r}"
        diffs.append(f"{cell_label(index)}: outputs differ\n{diff}")
    return diffs
