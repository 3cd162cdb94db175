"""Destination backends: a local folder (temporary name, rename, sha256) and S3 through
a real moto server (sha256 metadata, skip when present, multipart, ETag checks)."""

from __future__ import annotations

import hashlib
import os
import random
import stat
import time
from pathlib import Path

import pytest

from stork_jupyter import checksum
from stork_jupyter.config import Config
from stork_jupyter.destinations import (
    DestinationError,
    LocalBackend,
    S3Backend,
    resolve_destination,
)
from stork_jupyter.destinations import s3 as s3_module
from stork_jupyter.destinations.base import DestinationTaken


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _source(tmp_path: Path, data: bytes, name: str = "src.bin") -> Path:
    path = tmp_path / "src" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


class Counter:
    """A progress callback that adds up the bytes it is told about."""

    def __init__(self) -> None:
        self.total = 0

    def __call__(self, n: int) -> None:
        self.total += n


# --------------------------------------------------------------------------- resolving


def test_destination_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = Config(root=tmp_path)
    assert resolve_destination(f"file://{tmp_path}/d", empty).url == f"{tmp_path}/d"
    rel = resolve_destination("./lake", empty)
    assert (rel.kind, rel.url, rel.layout) == ("file", f"{tmp_path}/lake", "mirror")
    s3 = resolve_destination("s3://bucket/pre/fix", empty, layout="flat")
    assert (s3.kind, s3.url, s3.layout) == ("s3", "s3://bucket/pre/fix", "flat")


def test_named_destination_from_stork_toml(tmp_path):
    from stork_jupyter.config import load_config

    (tmp_path / "stork.toml").write_text(
        '[destinations.lake]\nurl = "s3://team/lake"\nlayout = "flat"\n')
    spec = resolve_destination("lake", load_config(tmp_path))
    assert (spec.name, spec.url, spec.kind, spec.layout) == ("lake", "s3://team/lake", "s3",
                                                              "flat")


def test_s3_targets():
    assert S3Backend("s3://b/pre/").target("nb/data/a.csv") == "s3://b/pre/nb/data/a.csv"
    assert S3Backend("s3://b").target("a.csv") == "s3://b/a.csv"
    with pytest.raises(DestinationError, match="names no bucket"):
        S3Backend("s3:///nothing")


# --------------------------------------------------------------------------- local


def test_local_copy_is_verified_and_leaves_no_temporary(tmp_path):
    data = b"a,b\n1,2\n" * 1000
    src = _source(tmp_path, data)
    src.chmod(0o644)
    backend = LocalBackend(str(tmp_path / "dest"))
    backend.check()
    progress = Counter()
    put = backend.put(src, "nb/data/a.csv", _sha(data), progress)
    dest = tmp_path / "dest" / "nb" / "data" / "a.csv"
    assert dest.read_bytes() == data
    assert (put.target, put.bytes, put.sha256, put.skipped) == (str(dest), len(data), _sha(data),
                                                                  False)
    assert progress.total == len(data)
    assert [p.name for p in dest.parent.iterdir()] == ["a.csv"]  # no .part file
    # readable by whoever could read the source (a shared folder)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644


def test_local_identical_file_is_not_copied_again(tmp_path):
    data = b"same bytes\n"
    src = _source(tmp_path, data)
    backend = LocalBackend(str(tmp_path / "dest"))
    backend.put(src, "a.txt", _sha(data))
    dest = tmp_path / "dest" / "a.txt"
    before = dest.stat()
    progress = Counter()
    again = backend.put(src, "a.txt", _sha(data), progress)
    after = dest.stat()
    assert again.skipped and again.sha256 == _sha(data)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert progress.total == len(data)


def test_local_different_file_is_not_overwritten(tmp_path):
    """Another dataset's file at the name is left as it is (a sync that names its own
    earlier content may replace it: tests/reliability/test_names_put_time.py)."""
    backend = LocalBackend(str(tmp_path / "dest"))
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "a.txt").write_bytes(b"old content")
    data = b"new content"
    with pytest.raises(DestinationTaken):
        backend.put(_source(tmp_path, data), "a.txt", _sha(data))
    assert (tmp_path / "dest" / "a.txt").read_bytes() == b"old content"


def test_local_source_changed_since_planned_is_refused(tmp_path):
    src = _source(tmp_path, b"changed after planning")
    backend = LocalBackend(str(tmp_path / "dest"))
    with pytest.raises(DestinationError, match="changed while it was being copied"):
        backend.put(src, "a.txt", _sha(b"what was planned"))
    assert list((tmp_path / "dest").iterdir()) == []  # neither the file nor a temporary


def test_local_copy_of_a_file_hashed_by_the_plan_checks_its_stat(tmp_path, monkeypatch):
    """The copy of a file this process hashed is not hashed again (the copy is still read
    back); a write since, size and modification time kept, shows in the change time."""
    monkeypatch.setattr(checksum, "RACY_NS", 0)  # (the test's own file counts as old)
    src = _source(tmp_path, b"planned bytes\n" * 1000)
    planned = checksum.sha256_file(src)
    backend = LocalBackend(str(tmp_path / "dest"))
    backend.put(src, "a.bin", planned)
    assert (tmp_path / "dest" / "a.bin").read_bytes() == src.read_bytes()

    time.sleep(0.05)  # past the file system's clock tick
    st = src.stat()
    with open(src, "r+b") as f:
        f.write(b"P")
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(DestinationError, match="changed while it was being copied"):
        backend.put(src, "b.bin", planned)
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["a.bin"]


def test_local_check_under_a_regular_file_fails(tmp_path):
    # permissions do not stop root, a regular file in the path does
    (tmp_path / "somefile").write_text("not a folder")
    backend = LocalBackend(str(tmp_path / "somefile" / "sub"))
    with pytest.raises(DestinationError, match="cannot be created"):
        backend.check()


def test_local_prepare_write_makes_the_folder(tmp_path):
    backend = LocalBackend(str(tmp_path / "dest"))
    backend.prepare_write("nb/out/r.csv")
    assert (tmp_path / "dest" / "nb" / "out").is_dir()


# --------------------------------------------------------------------------- S3


def test_s3_put_stores_the_sha256_and_skips_a_second_put(s3_endpoint, tmp_path):
    client = s3_endpoint.client()
    # with versioning on, every real PUT makes a version: a skipped put makes none
    client.put_bucket_versioning(Bucket=s3_endpoint.bucket,
                                 VersioningConfiguration={"Status": "Enabled"})
    data = b"region,amount\nN,1\n"
    src = _source(tmp_path, data)
    backend = S3Backend(f"{s3_endpoint.url}/lake")
    backend.check()
    progress = Counter()
    put = backend.put(src, "nb/data/a.csv", _sha(data), progress)
    assert (put.target, put.bytes, put.skipped, put.parts) == (
        f"{s3_endpoint.url}/lake/nb/data/a.csv", len(data), False, 1)
    assert progress.total == len(data)
    head = client.head_object(Bucket=s3_endpoint.bucket, Key="lake/nb/data/a.csv")
    assert head["Metadata"]["sha256"] == _sha(data)
    obj = client.get_object(Bucket=s3_endpoint.bucket, Key="lake/nb/data/a.csv")
    assert obj["Body"].read() == data

    again = backend.put(src, "nb/data/a.csv", _sha(data))
    assert again.skipped and again.target == put.target
    head2 = client.head_object(Bucket=s3_endpoint.bucket, Key="lake/nb/data/a.csv")
    assert head2["LastModified"] == head["LastModified"]
    versions = client.list_object_versions(Bucket=s3_endpoint.bucket, Prefix="lake/")
    assert len(versions["Versions"]) == 1


def test_s3_client_built_in_the_background_is_built_once_and_used(s3_endpoint, tmp_path,
                                                                   monkeypatch):
    built = []
    real = s3_module.make_client

    def counting():
        built.append(1)
        return real()

    monkeypatch.setattr(s3_module, "make_client", counting)
    backend = S3Backend(f"{s3_endpoint.url}/lake")
    backend.warm_up()
    backend.warm_up()  # (already under way: not a second client)
    backend.check()
    data = b"x\n1\n"
    put = backend.put(_source(tmp_path, data), "a.csv", _sha(data))
    assert (put.bytes, put.skipped, len(built)) == (len(data), False, 1)


def test_s3_client_that_cannot_be_built_fails_alike_in_the_background(tmp_path,
                                                                      monkeypatch):
    """Built in the background, a client's failure is raised by its first use, with the
    message it has when the client is built there."""
    config = tmp_path / "aws-config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    errors = []
    for early in (False, True):
        backend = S3Backend("s3://bucket/lake")
        if early:
            backend.warm_up()
        with pytest.raises(DestinationError) as raised:
            backend.check()
        errors.append(str(raised.value))
    assert errors[0] == errors[1]
    assert errors[0].startswith("cannot set up an S3 client") and "no-such-profile" in errors[0]


def test_s3_object_of_other_data_is_not_overwritten(s3_endpoint, tmp_path):
    client = s3_endpoint.client()
    client.put_object(Bucket=s3_endpoint.bucket, Key="a.csv", Body=b"someone else's")
    data = b"ours\n"
    with pytest.raises(DestinationTaken):
        S3Backend(s3_endpoint.url).put(_source(tmp_path, data), "a.csv", _sha(data))
    assert client.get_object(Bucket=s3_endpoint.bucket, Key="a.csv")["Body"].read() == (
        b"someone else's")


def test_s3_source_changed_since_planned_is_refused(s3_endpoint, tmp_path):
    src = _source(tmp_path, b"changed after planning")
    with pytest.raises(DestinationError, match="changed since it was planned"):
        S3Backend(s3_endpoint.url).put(src, "a.txt", _sha(b"what was planned"))
    assert "Contents" not in s3_endpoint.client().list_objects_v2(Bucket=s3_endpoint.bucket)


def test_s3_large_file_goes_multipart(s3_endpoint, tmp_path):
    size = s3_module.MULTIPART_THRESHOLD + s3_module.PART_SIZE // 2 + 1
    data = random.Random(3).randbytes(size)
    src = _source(tmp_path, data, "big.bin")
    backend = S3Backend(f"{s3_endpoint.url}/lake")
    progress = Counter()
    put = backend.put(src, "big.bin", _sha(data), progress)
    expected_parts = -(-size // s3_module.PART_SIZE)
    assert put.parts == expected_parts > 1
    assert progress.total == size
    client = s3_endpoint.client()
    obj = client.get_object(Bucket=s3_endpoint.bucket, Key="lake/big.bin")
    assert obj["Body"].read() == data
    assert obj["ETag"].strip('"').endswith(f"-{expected_parts}")
    assert obj["Metadata"]["sha256"] == _sha(data)
    assert "Uploads" not in client.list_multipart_uploads(Bucket=s3_endpoint.bucket)
    assert backend.put(src, "big.bin", _sha(data)).skipped


def test_s3_large_file_hashed_by_the_plan_is_checked_by_its_stat(s3_endpoint, tmp_path,
                                                                monkeypatch):
    """A file this process hashed (the plan) goes up without a second hash; a write in
    between, even one that keeps the size and puts the modification time back, shows
    in the change time and aborts the upload, leaving nothing."""
    monkeypatch.setattr(checksum, "RACY_NS", 0)  # (the test's own file counts as old)
    size = s3_module.MULTIPART_THRESHOLD + 1
    data = random.Random(6).randbytes(size)
    src = _source(tmp_path, data, "big.bin")
    planned = checksum.sha256_file(src)
    backend = S3Backend(s3_endpoint.url)
    assert checksum.unchanged(src, planned)  # (so the parts are not hashed again)
    assert backend.put(src, "kept.bin", planned).parts > 1
    client = s3_endpoint.client()
    assert client.get_object(Bucket=s3_endpoint.bucket, Key="kept.bin")["Body"].read() == data

    time.sleep(0.05)  # past the file system's clock tick
    st = src.stat()
    with open(src, "r+b") as f:
        f.seek(size // 2)
        f.write(b"\0" if data[size // 2] else b"\1")
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(DestinationError, match="changed since it was planned"):
        backend.put(src, "changed.bin", planned)
    assert "Uploads" not in client.list_multipart_uploads(Bucket=s3_endpoint.bucket)
    assert [o["Key"] for o in client.list_objects_v2(Bucket=s3_endpoint.bucket)["Contents"]] == [
        "kept.bin"]


def test_s3_large_file_changed_since_planned_leaves_nothing(s3_endpoint, tmp_path):
    """The sha256 is computed over the bytes the parts send: a file that no longer has
    the planned checksum aborts the upload, leaving no object and no invisible parts."""
    size = s3_module.MULTIPART_THRESHOLD + 1
    src = _source(tmp_path, random.Random(4).randbytes(size), "big.bin")
    planned = _sha(random.Random(5).randbytes(size))
    with pytest.raises(DestinationError, match="changed since it was planned"):
        S3Backend(s3_endpoint.url).put(src, "big.bin", planned)
    client = s3_endpoint.client()
    assert "Uploads" not in client.list_multipart_uploads(Bucket=s3_endpoint.bucket)
    assert "Contents" not in client.list_objects_v2(Bucket=s3_endpoint.bucket)


def test_s3_multipart_parts_carry_crc32_checksums_and_the_object_verifies(s3_endpoint,
                                                                         tmp_path):
    """Each part is sent with S3's own CRC32 checksum (no MD5 pass on the client); the
    state records them, and the completed object's composite checksum is theirs."""
    size = s3_module.MULTIPART_THRESHOLD + s3_module.PART_SIZE + 17
    data = random.Random(11).randbytes(size)
    src = _source(tmp_path, data, "big.bin")
    ctx = s3_module.TransferContext()
    put = S3Backend(s3_endpoint.url).put_resumable(src, "big.bin", _sha(data), ctx)
    part = s3_module.PART_SIZE
    blocks = [data[i:i + part] for i in range(0, size, part)]
    assert put.parts == len(blocks) == 4
    assert ctx.state["checksum"] == "CRC32"
    assert [p["crc32"] for p in ctx.state["parts"]] == [s3_module.crc32_b64(b) for b in blocks]
    head = s3_endpoint.client().head_object(Bucket=s3_endpoint.bucket, Key="big.bin",
                                            ChecksumMode="ENABLED")
    composite = s3_module.composite_crc32([s3_module.crc32_b64(b) for b in blocks])
    assert head["ChecksumCRC32"].split("-")[0] == composite
    assert s3_endpoint.client().get_object(Bucket=s3_endpoint.bucket,
                                           Key="big.bin")["Body"].read() == data


def test_s3_parts_go_out_as_workers_free_up_with_a_bounded_number_in_flight(tmp_path,
                                                                          monkeypatch):
    """A slow part does not hold the others back: the next part is read as soon as any
    one is done (not only the oldest), and never more than ``PART_WORKERS`` parts are
    held in memory waiting for S3, whatever the file's size."""
    import threading

    monkeypatch.setattr(s3_module, "PART_WORKERS", 3)
    part = 1024
    data = random.Random(13).randbytes(8 * part + 5)  # 9 parts
    src = _source(tmp_path, data, "big.bin")
    last_needed = threading.Event()  # part 1 answers only once part 5 has been read
    lock = threading.Lock()
    flying = peak = 0

    def send(number: int, block: bytes):
        nonlocal flying, peak
        with lock:
            flying += 1
            peak = max(peak, flying)
        if number == 5:
            last_needed.set()
        if number == 1:
            assert last_needed.wait(10), "part 1 held back the reading of part 5"
        with lock:
            flying -= 1
        return s3_module._Part(number, f"etag-{number}", s3_module.crc32_b64(block), None)

    parts = S3Backend._send_parts(src, _sha(data), send, part)
    assert [p.number for p in parts] == list(range(1, 10))
    assert [p.crc for p in parts] == [s3_module.crc32_b64(data[i:i + part])
                                      for i in range(0, len(data), part)]
    assert peak <= 3


def test_s3_checksums_only_when_required_sends_parts_verified_by_md5(s3_endpoint, tmp_path,
                                                                     monkeypatch):
    """``AWS_REQUEST_CHECKSUM_CALCULATION=when_required`` (for stores without flexible
    checksums) is honoured as boto3 honours it: no part checksums, each part and the
    object verified by MD5 against their ETags."""
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    part = s3_module.PART_SIZE
    data = random.Random(14).randbytes(s3_module.MULTIPART_THRESHOLD + 3)
    src = _source(tmp_path, data, "big.bin")
    ctx = s3_module.TransferContext()
    put = S3Backend(s3_endpoint.url).put_resumable(src, "big.bin", _sha(data), ctx)
    assert put.parts == 3 and ctx.state["checksum"] is None
    assert all("crc32" not in p for p in ctx.state["parts"])
    md5s = [hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part)]
    obj = s3_endpoint.client().get_object(Bucket=s3_endpoint.bucket, Key="big.bin")
    assert obj["ETag"].strip('"') == f"{hashlib.md5(b''.join(md5s)).hexdigest()}-3"
    assert "ChecksumCRC32" not in s3_endpoint.client().head_object(
        Bucket=s3_endpoint.bucket, Key="big.bin", ChecksumMode="ENABLED")
    assert obj["Body"].read() == data


def test_s3_upload_started_without_part_checksums_resumes_verified_by_md5(s3_endpoint,
                                                                          tmp_path):
    """An interrupted upload recorded by a version that sent no part checksums goes on
    without them: its parts are verified by their MD5 against the ETag, as before."""
    part = s3_module.PART_SIZE
    data = random.Random(12).randbytes(2 * part + 5)
    src = _source(tmp_path, data, "big.bin")
    client = s3_endpoint.client()
    upload = client.create_multipart_upload(Bucket=s3_endpoint.bucket, Key="big.bin",
                                            Metadata={"sha256": _sha(data)})
    first = client.upload_part(Bucket=s3_endpoint.bucket, Key="big.bin", PartNumber=1,
                               UploadId=upload["UploadId"], Body=data[:part])
    ctx = s3_module.TransferContext(state={
        "upload_id": upload["UploadId"], "part_size": part, "created": True,
        "parts": [{"n": 1, "etag": first["ETag"], "size": part}]})
    put = S3Backend(s3_endpoint.url).put_resumable(src, "big.bin", _sha(data), ctx)
    assert put.parts == 3
    assert ctx.state["listed_parts"] == [1]
    assert all("crc32" not in p for p in ctx.state["parts"])
    md5s = [hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part)]
    obj = client.get_object(Bucket=s3_endpoint.bucket, Key="big.bin")
    assert obj["ETag"].strip('"') == f"{hashlib.md5(b''.join(md5s)).hexdigest()}-3"
    assert obj["Body"].read() == data
    assert "Uploads" not in client.list_multipart_uploads(Bucket=s3_endpoint.bucket)
