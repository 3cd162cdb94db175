"""Whether the process that runs a job is still alive: what a job records about its
process, and how a later process tells an interrupted job from a live one (a pid reused
by another process included)."""

from __future__ import annotations

import os
import socket
from typing import Any

from .store import Job


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a pid reused
    by another process; None where /proc is not available. 'Z' for a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    fields = data.rsplit(")", 1)[-1].split()
    if fields and fields[0] in ("Z", "X"):
        return "Z"
    return fields[19] if len(fields) > 19 else None


def process_identity() -> dict[str, Any]:
    """What a job records about the process running it (see :func:`process_gone`)."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "pid_start": _start_time(pid)}


def process_gone(options: dict[str, Any]) -> bool | None:
    """Whether the process a job's ``options`` name has ended: True (gone), False (alive),
    None (unknown: another host, or no pid recorded)."""
    pid = options.get("pid")
    if not isinstance(pid, int) or options.get("host") != socket.gethostname():
        return None
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        pass
    start = _start_time(pid)
    if start == "Z":
        return True
    recorded = options.get("pid_start")
    return bool(recorded and start and start != recorded)  # the pid was reused


def job_interrupted(job: Job) -> bool:
    """A ``running`` job whose process is gone (killed, crashed, machine restarted)."""
    return job.status == "running" and process_gone(job.options or {}) is True
