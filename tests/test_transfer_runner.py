"""The transfer runner on its own: a bounded pool of datasets at once, progress for the
doors (bytes, rate, time left) and for the store, the first failure stopping new
transfers, and the ``[transfer]`` settings of stork.toml. The backend here is a small
in-memory one (the real ones are tested against real servers elsewhere)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from stork_jupyter.config import load_config
from stork_jupyter.destinations import Backend, PutResult
from stork_jupyter.errors import ConfigError, StorkError
from stork_jupyter.store import Job, MetadataStore, Transfer
from stork_jupyter.transfer import (
    NullReporter,
    TransferItem,
    TransferProgress,
    TransferRunner,
    TransferSettings,
)

TIMEOUT = 10  # seconds any wait here may take


@dataclass
class Move:
    source: str
    key: str
    target: str
    size: int
    sha256: str = "x"
    table: str | None = None


class SlowBackend(Backend):
    """A destination kind of the test's own: sends each file in 4 steps; ``gate`` (a
    barrier) makes transfers meet."""

    kind = "memory"

    def exists(self, key: str) -> bool:
        return False

    def __init__(self, gate: threading.Barrier | None = None, fail: str | None = None):
        self.gate = gate
        self.fail = fail
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def put(self, source: Path, key: str, sha256: str, progress=None) -> PutResult:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.gate is not None:
                self.gate.wait(TIMEOUT)
            if key == self.fail:
                raise StorkError(f"{key} refused")
            size = source.stat().st_size
            for _ in range(4):
                progress(size // 4)
            return PutResult(f"mem://{key}", size, sha256)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def store(tmp_path: Path):
    with MetadataStore(f"sqlite:///{tmp_path / 'stork.db'}") as metadata:
        yield metadata


def _items(store: MetadataStore, tmp_path: Path, n: int) -> tuple[int, list[TransferItem]]:
    job = store.save(Job(kind="migrate", status="running"))
    items = []
    for i in range(n):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(b"x" * 4000)
        t = store.save(Transfer(job_id=job.id, source=path.name, status="pending",
                                state={"move": i}))
        items.append(TransferItem(Move(path.name, path.name, f"mem://{path.name}", 4000),
                                  t.id, path))
    return job.id, items


class Collect:
    def __init__(self):
        self.updates: list[TransferProgress] = []
        self.started: list = []

    def start(self, job_id, datasets):
        self.started = datasets

    def update(self, progress):
        self.updates.append(progress)

    def close(self, status):
        pass


def test_two_datasets_move_at_once_and_never_more(store, tmp_path):
    job_id, items = _items(store, tmp_path, 4)
    backend = SlowBackend(gate=threading.Barrier(2))  # breaks unless two meet
    runner = TransferRunner(store, job_id, backend, label="nb.ipynb", total_bytes=16000,
                            settings=TransferSettings(parallel=2))
    results = runner.run(items)
    assert [r.target for r in results] == [f"mem://f{i}.bin" for i in range(4)]
    assert backend.most == 2
    assert {t.status for t in store.list(Transfer, limit=None)} == {"completed"}
    assert store.get(Job, job_id).progress == 1.0


def test_progress_reaches_the_reporter_and_the_store(store, tmp_path):
    job_id, items = _items(store, tmp_path, 2)
    seen = Collect()
    TransferRunner(store, job_id, SlowBackend(), label="nb.ipynb", total_bytes=8000,
                   reporter=seen, settings=TransferSettings(parallel=1)).run(items)
    assert seen.started == [("f0.bin", 4000), ("f1.bin", 4000)]
    finals = [u for u in seen.updates if u.dataset and u.status == "completed"]
    assert [(u.dataset, u.bytes_done, u.bytes_total) for u in finals] == [
        ("f0.bin", 4000, 4000), ("f1.bin", 4000, 4000)]
    overall = [u for u in seen.updates if u.dataset is None]
    assert overall[-1].bytes_done == 8000 and overall[-1].fraction == 1.0
    assert all(u.rate >= 0 and (u.eta is None or u.eta >= 0) for u in seen.updates)
    assert [t.bytes_done for t in store.list(Transfer, order="oldest")] == [4000, 4000]


def test_the_first_failure_starts_nothing_new(store, tmp_path):
    job_id, items = _items(store, tmp_path, 4)
    runner = TransferRunner(store, job_id, SlowBackend(fail="f0.bin"), label="nb.ipynb",
                            total_bytes=16000, settings=TransferSettings(parallel=1))
    with pytest.raises(StorkError, match="f0.bin refused"):
        runner.run(items)
    statuses = [t.status for t in store.list(Transfer, limit=None, order="oldest")]
    assert statuses == ["failed", "pending", "pending", "pending"]


def test_a_reporter_sees_each_dataset_to_its_total(store, tmp_path):
    job_id, items = _items(store, tmp_path, 2)
    totals: dict[str, list[int]] = {}

    class Totals(NullReporter):
        def update(self, progress):
            if progress.dataset is not None:
                totals[progress.dataset] = [progress.bytes_total, progress.bytes_done]

    TransferRunner(store, job_id, SlowBackend(), label="nb.ipynb", total_bytes=8000,
                   reporter=Totals()).run(items)
    assert totals == {"f0.bin": [4000, 4000], "f1.bin": [4000, 4000]}


def test_transfer_settings_from_stork_toml(tmp_path):
    (tmp_path / "stork.toml").write_text("[transfer]\nparallel = 3\nchunk_rows = 500\n")
    assert TransferSettings.for_project(tmp_path) == TransferSettings(3, 500)
    assert TransferSettings.for_project(tmp_path, parallel=1).parallel == 1
    (tmp_path / "stork.toml").write_text("[transfer]\nparallel = 0\n")
    with pytest.raises(ConfigError, match="parallel must be an integer from 1 to 64"):
        load_config(tmp_path)
    (tmp_path / "stork.toml").write_text("[transfer]\nworkers = 2\n")
    with pytest.raises(ConfigError, match="no setting 'workers'"):
        load_config(tmp_path)
    (tmp_path / "stork.toml").unlink()
    assert TransferSettings.for_project(tmp_path) == TransferSettings(2, None)
