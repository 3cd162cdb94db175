"""File digests: a plan's hashes begun in the background, and a transfer that reads a
file this process already hashed, unchanged, without hashing it again."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from stork_jupyter import checksum
from stork_jupyter.checksum import Digests, SourceDigest, sha256_file, unchanged


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def no_racy_window(monkeypatch):
    """Files written by the test itself count as old enough to be remembered."""
    monkeypatch.setattr(checksum, "RACY_NS", 0)
    monkeypatch.setattr(checksum, "_known", checksum.OrderedDict())


def test_digests_begun_in_the_background_are_the_files_sha256(tmp_path):
    files = []
    for i in range(3):
        f = tmp_path / f"f{i}.bin"
        f.write_bytes(os.urandom(1000 + i) * 9)
        files.append(f)
    digests = Digests().start(files[:2])
    try:
        # asked in another order than begun, and one never begun
        assert [digests.of(f) for f in reversed(files)] == [
            _sha(f.read_bytes()) for f in reversed(files)]
        assert digests.later(files[0])() == _sha(files[0].read_bytes())
    finally:
        digests.close()


def test_a_missing_file_fails_where_its_digest_is_asked_for(tmp_path):
    missing = tmp_path / "gone.csv"
    digests = Digests().start([missing])
    try:
        with pytest.raises(FileNotFoundError):
            digests.of(missing)
    finally:
        digests.close()


def test_closing_stops_what_nobody_asked_for(tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(256 * 1024 * 1024)  # (sparse: costs no disk)
    digests = Digests().start([big])
    digests.close()
    assert digests._thread is not None and not digests._thread.is_alive()
    assert digests.of(big) == sha256_file(big)  # still right when asked for after all


def test_a_file_written_just_before_its_hash_is_not_remembered(tmp_path):
    f = tmp_path / "fresh.csv"
    f.write_text("a,b\n1,2\n")
    digest = sha256_file(f)
    assert not unchanged(f, digest)  # a write in the same clock tick would not show


def test_an_unchanged_file_is_trusted_and_any_write_shows(tmp_path, no_racy_window):
    f = tmp_path / "data.csv"
    f.write_bytes(b"x" * 5000)
    digest = sha256_file(f)
    assert unchanged(f, digest) and not unchanged(f, _sha(b"other"))
    trusted = SourceDigest(f, digest)
    trusted.update(b"ignored: the file is known")  # nothing is hashed
    assert trusted.matches()

    time.sleep(0.05)  # past the file system's clock tick
    st = f.stat()
    with open(f, "r+b") as out:  # same size, and the modification time put back
        out.write(b"y")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    assert not unchanged(f, digest)  # the change time cannot be put back
    assert not trusted.matches()


def test_a_source_digest_of_an_unknown_file_hashes_what_is_read(tmp_path):
    f = tmp_path / "data.csv"
    f.write_bytes(b"abc")
    check = SourceDigest(f, _sha(b"abc"))
    check.update(b"ab")
    check.restart()  # read again from the start
    check.update(b"abc")
    assert check.matches()
    wrong = SourceDigest(f, _sha(b"abc"))
    wrong.update(b"abd")
    assert not wrong.matches()


def test_a_name_asks_for_the_digest_only_where_something_is_there(tmp_path):
    """A plan need not wait for a big file's hash to choose a free name."""
    from stork_jupyter.destinations import LocalBackend
    from stork_jupyter.names import NameBook

    dest = tmp_path / "dest"
    (dest / "data").mkdir(parents=True)
    (dest / "data" / "held.csv").write_text("a\n1\n")
    asked = []

    def digest(content: bytes):
        return lambda: asked.append(content) or _sha(content)

    book = NameBook(LocalBackend(str(dest)))
    assert book.free("data/new.csv", "owner", digest(b"x"), key="data/new.csv")
    assert asked == []
    assert book.free("data/held.csv", "owner", digest(b"a\n1\n"), key="data/held.csv")
    assert not book.free("data/held.csv", "owner", digest(b"other"), key="data/held.csv")
    assert asked == [b"a\n1\n", b"other"]
