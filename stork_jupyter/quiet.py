"""Silencing warnings around library calls, safely from several threads.

``warnings.catch_warnings`` saves and restores process-wide state: two threads doing it
at once (the server analyses notebooks in worker threads) can restore each other's
filters and leave warnings silenced for good. One lock makes each save/restore whole.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.RLock()  # re-entrant: quiet blocks nest (a cell, then its syntax error)


@contextmanager
def no_warnings() -> Iterator[None]:
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
