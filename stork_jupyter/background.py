"""Work begun now in a thread of its own, whose result is asked for later: set-up that
waits on Python (a client's imports and models) overlapping work that does not hold the
interpreter (hashing a big file)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Soon(Generic[T]):
    """``fn()`` running in a thread from now on; :meth:`result` waits for it and returns
    its value, or raises the very exception it raised (the same message as a direct
    call). The thread is not a daemon: an exit waits for it rather than stopping it
    halfway through an import."""

    def __init__(self, fn: Callable[[], T], name: str = "stork-soon"):
        self._fn: Callable[[], T] | None = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as e:  # raised again where the result is asked for
            self._error = e
        finally:
            self._fn = None

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
