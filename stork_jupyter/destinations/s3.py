"""S3 and S3-compatible stores (MinIO, moto...) through boto3.

Endpoint, keys and region come from the standard AWS environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``..., profiles), never from stork.
Objects carry their sha256 in metadata, so a second migration sends nothing
already there. The sha256 is computed while the parts are read for sending (one pass
over the file). Multipart uploads carry S3's own CRC32 checksum on every part
(``ChecksumAlgorithm=CRC32``, which botocore computes over the bytes it sends, as boto3's
``upload_file`` does): S3 refuses a part whose bytes do not match it, echoes it, and the
completed object's composite checksum is checked once at the end. A store that
echoes no checksum (some S3-compatible servers) is verified with the part's MD5 against
its ETag instead, as small single-request uploads are.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import zlib
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..background import Soon
from ..checksum import CHUNK, SourceDigest
from ..errors import MissingDependencyError
from .base import (
    Backend,
    DestinationError,
    DestinationTaken,
    Digest,
    Progress,
    PutResult,
    SourceChanged,
    TransferContext,
    digest_value,
)

PART_SIZE = 8 * 1024 * 1024
MULTIPART_THRESHOLD = 16 * 1024 * 1024
#: parts in flight at once; with one more being read, memory holds at most
#: (PART_WORKERS + 1) x part size of the file, whatever its size
PART_WORKERS = 8
MAX_PARTS = 10_000
CHECKSUM = "CRC32"  #: S3's part checksum, verified by S3 as each part arrives


def crc32_b64(data: bytes) -> str:
    """A part's CRC32 as S3 spells it (base64 of the big-endian 4 bytes)."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def composite_crc32(part_checksums: list[str]) -> str:
    """The checksum S3 gives a multipart object: the CRC32 of its parts' CRC32s."""
    raw = b"".join(base64.b64decode(c) for c in part_checksums)
    return crc32_b64(raw)


def split_s3_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    if not parsed.netloc:
        raise DestinationError(f"{url} names no bucket; use s3://bucket/prefix")
    return parsed.netloc, parsed.path.strip("/")


def make_client():
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise MissingDependencyError("boto3", "s3") from None
    config = Config(connect_timeout=5, read_timeout=60,
                    retries={"max_attempts": 2, "mode": "standard"})
    try:
        return boto3.session.Session().client("s3", config=config)
    except Exception as e:  # a broken profile or region is the user's to fix
        raise DestinationError(f"cannot set up an S3 client: {e}") from None


_CONTROL_NAMES = {"\n": "newline", "\r": "carriage return", "\t": "tab"}


@dataclass
class _Part:
    """A part at S3: its number, ETag, and how it verified (its CRC32, or its MD5)."""

    number: int
    etag: str
    crc: str | None
    md5: bytes | None


class S3Backend(Backend):
    kind = "s3"

    def __init__(self, url: str):
        self.bucket, self.prefix = split_s3_url(url)
        self.url = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self._client = None
        self._client_soon: Soon | None = None

    def warm_up(self) -> None:
        """Build the client in the background (boto3's imports and service model, about
        a third of a second of Python), so that it overlaps the plan's sha256 of the
        files, which does not hold the interpreter. Its errors are raised by the first
        use of :attr:`client`, as when it is built there."""
        if self._client is None and self._client_soon is None:
            self._client_soon = Soon(make_client, name="stork-s3-client")

    @property
    def client(self):
        if self._client is None:
            soon, self._client_soon = self._client_soon, None
            self._client = soon.result() if soon is not None else make_client()
        return self._client

    @staticmethod
    def key_problem(key: str) -> str | None:
        """Why ``key`` cannot be an S3 key, or None. A control character (a newline in a
        file name) is legal in S3 but cannot travel in S3's XML replies: servers answer
        404 or 400 and the upload fails with a misleading error, so it is refused first."""
        bad = sorted({c for c in key if ord(c) < 0x20 or ord(c) == 0x7F})
        if not bad:
            return None
        names = ", ".join(_CONTROL_NAMES.get(c, f"U+{ord(c):04X}") for c in bad)
        return (f"the S3 key {key!r} would hold a control character ({names}), which S3 "
                "servers do not accept in keys; rename the file")

    def key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def target(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.key(key)}"

    def prepare_write(self, key: str) -> None:
        """Object stores have no folders to create."""

    def check(self) -> None:
        self._call(self.client.head_bucket, Bucket=self.bucket)

    def _call(self, fn, **kwargs):
        """Run one S3 call, turning botocore's errors into one clear sentence."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except (BotoCoreError, ClientError) as e:
            raise self._explained(e, kwargs) from None

    def _explained(self, e: Exception, kwargs: dict) -> DestinationError:
        """A botocore error of a call with ``kwargs`` as one clear sentence."""
        from botocore.exceptions import ClientError, NoCredentialsError

        endpoint = os.environ.get("AWS_ENDPOINT_URL") or "AWS"
        if isinstance(e, NoCredentialsError):
            return DestinationError(
                "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "or AWS_PROFILE")
        if not isinstance(e, ClientError):
            return DestinationError(f"cannot reach S3 at {endpoint}: {e}")
        code = str(e.response.get("Error", {}).get("Code", ""))
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # a bare 404 means "no bucket" only when the bucket was asked about: for an
        # object it is that object (or a key the server could not read)
        if code == "NoSuchBucket" or (code == "404" and "Key" not in kwargs):
            return DestinationError(f"bucket '{self.bucket}' does not exist at {endpoint}")
        if code in ("404", "NoSuchKey", "NoSuchUpload"):
            return DestinationError(
                f"S3 at {endpoint} found no {kwargs['Key']!r} in bucket '{self.bucket}' "
                f"({code})")
        if status == 403 or code in ("403", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                                     "AccessDenied"):
            return DestinationError(
                f"S3 at {endpoint} refused the credentials for bucket '{self.bucket}' "
                f"({code or status})")
        return DestinationError(f"S3 error on bucket '{self.bucket}': {e}")

    def _write_if(self, fn, head: dict | None, **kwargs):
        """A write that lands only where the plan left the name: on nothing
        (``IfNoneMatch="*"``), or on the very object ``head`` that this dataset may
        replace (``IfMatch`` its ETag). None when S3 refused it because another object
        is there now. A store without conditional writes (501) is written
        unconditionally: the head check before the write stands alone there."""
        from botocore.exceptions import BotoCoreError, ClientError

        condition = {"IfMatch": head["ETag"]} if head else {"IfNoneMatch": "*"}
        try:
            return fn(**condition, **kwargs)
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (
                    409, 412):
                return None
            if code == "NotImplemented" or status == 501:
                return self._call(fn, **kwargs)
            raise self._explained(e, kwargs) from None
        except BotoCoreError as e:
            raise self._explained(e, kwargs) from None

    def _replaceable(self, head: dict | None, ctx: TransferContext) -> bool:
        """The object ``head`` may be overwritten by this put: nothing is there, or this
        dataset's earlier content (a sync: ``state["replaces"]``, and no other owner)."""
        if head is None:
            return True
        meta = head.get("Metadata", {})
        replaces = ctx.state.get("replaces")
        return replaces is not None and meta.get("sha256") == replaces and meta.get(
            "owner") in (None, ctx.owner)

    def _taken_or_same(self, key: str, sha256: str, size: int, ctx: TransferContext
                       ) -> PutResult:
        """After S3 refused a conditional write: the object there now is this very
        content (shared: nothing of ours is there) or another dataset's."""
        head = self._existing(key)
        if head and head.get("Metadata", {}).get("sha256") == sha256 and head.get(
                "ContentLength") == size:
            ctx.record(created=False)
            return PutResult(self.target(key), size, sha256, skipped=True)
        raise DestinationTaken(self.target(key))

    def _existing(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as e:
            if str(e.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            return self._call(self.client.head_object, Bucket=self.bucket, Key=self.key(key))

    def put(self, source: Path, key: str, sha256: str, progress: Progress | None = None
            ) -> PutResult:
        ctx = TransferContext(progress=progress)
        try:
            return self.put_resumable(source, key, sha256, ctx)
        except BaseException:
            # not resumable: a failed upload must not leave invisible parts behind (they
            # are billed)
            self.abandon(key, ctx.state)
            raise

    def put_resumable(self, source: Path, key: str, sha256: str, ctx: TransferContext
                      ) -> PutResult:
        """Upload ``source`` as ``key``; above 16 MB as a multipart upload whose id and
        finished parts are recorded in ``ctx``. Given an earlier run's upload id, the
        parts S3 already has (ListParts) are checked against the MD5 of the source's
        bytes and not sent again; the rest are, then the upload is completed."""
        size = source.stat().st_size
        head = self._existing(key)
        if head and head.get("Metadata", {}).get("sha256") == sha256 and head.get(
                "ContentLength") == size:
            if ctx.state.get("upload_id"):  # finished by the run that was interrupted
                self.abandon(key, ctx.state)
            ctx.resumed(size)
            # sent by an interrupted run of this transfer (it recorded it would create it)
            return PutResult(self.target(key), size, sha256,
                             skipped=not ctx.state.get("created"))
        if not self._replaceable(head, ctx):
            # another dataset's object took the name since the plan saw it free
            raise DestinationTaken(self.target(key))
        created = ctx.state.get("created", head is None)
        if size <= MULTIPART_THRESHOLD:
            data = source.read_bytes()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise SourceChanged(f"{source} changed since it was planned")
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            ctx.record(durable=True, created=created)
            reply = self._write_if(self.client.put_object, head, Bucket=self.bucket,
                                   Key=self.key(key), Body=data,
                                   Metadata=self._metadata(sha256, ctx))
            if reply is None:
                return self._taken_or_same(key, sha256, size, ctx)
            ctx.progress(size)
            self._verify(reply, md5, key)
            return PutResult(self.target(key), size, sha256)
        return self._put_multipart(source, key, sha256, size, ctx, created, head)

    @staticmethod
    def _metadata(sha256: str, ctx: TransferContext) -> dict[str, str]:
        return {"sha256": sha256, **({"owner": ctx.owner} if ctx.owner else {})}

    def _put_multipart(self, source: Path, key: str, sha256: str, size: int,
                       ctx: TransferContext, created: bool, head: dict | None) -> PutResult:
        part_size = int(ctx.state.get("part_size") or PART_SIZE)
        upload_id = ctx.state.get("upload_id")
        # an upload an older version started without part checksums goes on without them
        checksum = ctx.state.get("checksum") if upload_id else CHECKSUM
        have = self._listed_parts(key, upload_id) if upload_id else None
        if have is not None:  # what S3 already holds of an earlier run (checked below)
            ctx.record(listed_parts=sorted(have))
        if have is None:  # a new upload (or the recorded one is gone: aborted or expired)
            checksum = self._part_checksum()
            created_upload = self._call(self.client.create_multipart_upload,
                                        Bucket=self.bucket, Key=self.key(key),
                                        Metadata=self._metadata(sha256, ctx),
                                        **({"ChecksumAlgorithm": checksum} if checksum
                                           else {}))
            upload_id, have = created_upload["UploadId"], {}
            # recorded before any part is sent: an interrupted run never orphans an upload
            ctx.record(durable=True, upload_id=upload_id, part_size=part_size, parts=[],
                       created=created, bucket=self.bucket, key=self.key(key),
                       checksum=checksum)

        def send(number: int, data: bytes) -> _Part:
            # botocore computes the part's CRC32 from these very bytes (one pass, as
            # boto3's upload_file does; given a header of ours it would also sign the
            # payload with sha256 over HTTPS) and S3 refuses the part if they differ
            extra = {"ChecksumAlgorithm": checksum} if checksum else {}
            reply = self._call(self.client.upload_part, Bucket=self.bucket, Key=self.key(key),
                               UploadId=upload_id, PartNumber=number, Body=data, **extra)
            crc = reply.get("ChecksumCRC32") if checksum else None
            md5 = None
            if crc is None:
                # no part checksum (an S3-compatible store without them): the ETag is the
                # MD5 of what arrived
                md5 = hashlib.md5(data, usedforsecurity=False)
                if reply["ETag"].strip('"') != md5.hexdigest():
                    raise DestinationError(f"part {number} of {source} did not verify at S3")
            ctx.add_part({"n": number, "etag": reply["ETag"], "size": len(data),
                          **({"crc32": crc} if crc else {})})
            ctx.progress(len(data))
            return _Part(number, reply["ETag"], crc, md5.digest() if md5 else None)

        parts = self._send_parts(source, sha256, send, part_size, have, ctx,
                                 with_crc=bool(checksum))
        if len(parts) > MAX_PARTS:  # pragma: no cover - 80 GB at 8 MB parts
            raise DestinationError(f"{source} needs more than {MAX_PARTS} parts")
        listed = [{"PartNumber": p.number, "ETag": p.etag,
                   **({"ChecksumCRC32": p.crc} if p.crc else {})} for p in parts]
        try:
            reply = self._write_if(
                self.client.complete_multipart_upload, head, Bucket=self.bucket,
                Key=self.key(key), UploadId=upload_id, MultipartUpload={"Parts": listed})
        except DestinationError:
            now = self._existing(key)  # completed by a call whose reply was lost?
            if not (now and now.get("Metadata", {}).get("sha256") == sha256):
                raise
            reply = now
        if reply is None:  # another object is there now: this upload must not stay
            self._abort(key, upload_id)
            ctx.record(upload_id=None)
            return self._taken_or_same(key, sha256, size, ctx)
        self._verify_multipart(reply, parts, size, key)
        ctx.record(upload_id=None)
        return PutResult(self.target(key), size, sha256, parts=len(parts))

    def _part_checksum(self) -> str | None:
        """CRC32 part checksums, unless the AWS configuration asks for checksums only
        where an operation requires them (``request_checksum_calculation =
        when_required``, the setting for stores without them): then, as boto3's
        ``upload_file`` does, none, and each part verifies by the MD5 of its ETag."""
        setting = getattr(self.client.meta.config, "request_checksum_calculation", None)
        return None if setting == "when_required" else CHECKSUM

    def _verify_multipart(self, reply: dict, parts: list[_Part], size: int, key: str) -> None:
        """The completed object is the parts that verified, in order: its composite CRC32
        (asked for when the reply lacks it), else the MD5 of the part MD5s in its ETag."""
        if all(p.crc for p in parts):
            expected = composite_crc32([p.crc for p in parts])
            got = reply.get("ChecksumCRC32")
            if got is None:
                head = self._call(self.client.head_object, Bucket=self.bucket,
                                  Key=self.key(key), ChecksumMode="ENABLED")
                got = head.get("ChecksumCRC32")
                if head.get("ContentLength") != size:
                    raise DestinationError(
                        f"S3 object {self.target(key)} has {head.get('ContentLength')} bytes, "
                        f"expected {size}")
            if got is not None and got.split("-")[0] != expected:
                raise DestinationError(
                    f"S3 object {self.target(key)} does not verify (CRC32 {got}, expected "
                    f"{expected}-{len(parts)})")
            if got is not None:
                return
        if all(p.md5 for p in parts):
            combined = hashlib.md5(b"".join(p.md5 for p in parts), usedforsecurity=False)
            self._verify(reply, f"{combined.hexdigest()}-{len(parts)}", key)
            return
        etag = str(reply.get("ETag", "")).strip('"')  # every part verified; count them
        if not etag.endswith(f"-{len(parts)}"):
            raise DestinationError(
                f"S3 object {self.target(key)} does not verify (ETag {etag}, expected "
                f"{len(parts)} parts)")

    def _listed_parts(self, key: str, upload_id: str) -> dict[int, dict] | None:
        """The parts S3 holds for ``upload_id`` (ListParts, every page): number ->
        {"etag", "size"}; None when the upload no longer exists."""
        from botocore.exceptions import ClientError

        parts: dict[int, dict] = {}
        marker = 0
        while True:
            try:
                page = self.client.list_parts(Bucket=self.bucket, Key=self.key(key),
                                              UploadId=upload_id, PartNumberMarker=marker)
            except ClientError as e:
                if str(e.response.get("Error", {}).get("Code")) in ("NoSuchUpload", "404"):
                    return None
                return self._call(self.client.list_parts, Bucket=self.bucket,
                                  Key=self.key(key), UploadId=upload_id)  # raises, explained
            for p in page.get("Parts", []):
                parts[int(p["PartNumber"])] = {"etag": p["ETag"], "size": int(p["Size"])}
            if not page.get("IsTruncated"):
                return parts
            marker = int(page["NextPartNumberMarker"])

    @staticmethod
    def _send_parts(source: Path, sha256: str, send, part_size: int = PART_SIZE,
                    have: dict[int, dict] | None = None,
                    ctx: TransferContext | None = None, with_crc: bool = True
                    ) -> list[_Part]:
        """Read ``source`` once, in order, checking (sha256) exactly the bytes sent (see
        ``checksum.SourceDigest``: not hashed again if this process hashed it unchanged); parts
        go out in parallel, at most ``PART_WORKERS`` in flight and one more read (the
        next part is read as soon as any one is done, not the oldest). A part in
        ``have`` (what S3 already holds) whose size and ETag match the MD5 of the
        source's bytes is not sent again."""
        digest = SourceDigest(source, sha256)
        parts: list[_Part] = []
        have = have or {}
        with ThreadPoolExecutor(PART_WORKERS) as pool, open(source, "rb") as f:
            flying: set[Future] = set()
            number = 0
            try:
                while block := f.read(part_size):
                    number += 1
                    digest.update(block)
                    held = have.get(number)
                    if held and held["size"] == len(block):
                        md5 = hashlib.md5(block, usedforsecurity=False)
                        if held["etag"].strip('"') == md5.hexdigest():
                            crc = crc32_b64(block) if with_crc else None
                            if ctx is not None:
                                ctx.add_part({"n": number, "etag": held["etag"],
                                              "size": len(block),
                                              **({"crc32": crc} if crc else {})})
                                ctx.resumed(len(block))
                            parts.append(_Part(number, held["etag"], crc, md5.digest()))
                            continue
                    flying.add(pool.submit(send, number, block))
                    del block  # the worker holds the only reference: freed once sent
                    if len(flying) >= PART_WORKERS:
                        done, flying = wait(flying, return_when=FIRST_COMPLETED)
                        parts += [p.result() for p in done]
                parts += [p.result() for p in wait(flying).done]
            except BaseException:
                for p in flying:  # send no more parts of a failed upload
                    p.cancel()
                raise
        if not digest.matches():
            raise SourceChanged(f"{source} changed since it was planned")
        return sorted(parts, key=lambda p: p.number)

    def abandon(self, key: str, state: dict, *, job_id: int | None = None,
                since: str | None = None) -> list[str]:
        """Abort the multipart upload an unfinished transfer left (best effort). With
        ``since`` (when the job started), of this key's unfinished uploads those that are
        the job's own or were begun after it started: one created just before a crash,
        before its id was recorded."""
        mine = {state["upload_id"]} if state.get("upload_id") else set()
        if since is None:
            chosen = sorted(mine)
        else:
            chosen = [upload_id for upload_id, begun in self._uploads(key)
                      if upload_id in mine or _not_before(begun, since)]
        for upload_id in chosen:
            self._abort(key, upload_id)
        return [f"multipart upload {u} of {self.target(key)}" for u in chosen]

    def _uploads(self, key: str) -> list[tuple[str, object]]:
        """The unfinished multipart uploads of ``key``: (id, when it was begun)."""
        reply = self._call(self.client.list_multipart_uploads, Bucket=self.bucket,
                           Prefix=self.key(key))
        return [(u["UploadId"], u.get("Initiated")) for u in reply.get("Uploads", [])
                if u["Key"] == self.key(key)]

    def exists(self, key: str) -> bool:
        return self._existing(key) is not None

    def identity(self) -> str:
        return f"s3://{self.bucket}"

    def reserved_name(self, key: str | None = None, table: str | None = None) -> str:
        return self.key(key) if table is None else f"table:{table}"

    def holds(self, key: str, sha256: str | None) -> bool:
        head = self._existing(key)
        return head is not None and (sha256 is None or head.get("Metadata", {}).get(
            "sha256") == sha256)

    def free_for(self, key: str, sha256: Digest) -> bool:
        from botocore.exceptions import BotoCoreError

        try:
            head = self._existing(key)
        except BotoCoreError as e:  # no credentials, no endpoint...
            raise DestinationError(f"cannot reach S3: {e}") from None
        return head is None or (sha256 is not None and head.get("Metadata", {}).get(
            "sha256") == digest_value(sha256))

    def fetch(self, key: str, dest: Path, expected_sha256: str | None,
              progress: Progress | None = None) -> None:
        reply = self._call(self.client.get_object, Bucket=self.bucket, Key=self.key(key))
        recorded = reply.get("Metadata", {}).get("sha256")
        if expected_sha256 and recorded and recorded != expected_sha256:
            raise DestinationError(f"{self.target(key)} holds other content than the migrated "
                                   "file (its sha256 metadata differs)")
        with open(dest, "wb") as out:
            for block in reply["Body"].iter_chunks(CHUNK):
                out.write(block)
                if progress:
                    progress(len(block))

    def remove(self, key: str) -> None:
        self._call(self.client.delete_object, Bucket=self.bucket, Key=self.key(key))

    def _abort(self, key: str, upload_id: str) -> None:
        # best effort: the error that stopped the upload is the one to report (an
        # unreachable endpoint cannot take the abort either)
        with contextlib.suppress(Exception):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key(key),
                                               UploadId=upload_id)

    def _verify(self, reply: dict, expected_etag: str, key: str) -> None:
        etag = str(reply.get("ETag", "")).strip('"')
        if etag != expected_etag and reply.get("ServerSideEncryption") != "aws:kms":
            raise DestinationError(
                f"S3 object {self.target(key)} does not verify (ETag {etag}, expected "
                f"{expected_etag})")


def _not_before(begun, since: str) -> bool:
    from datetime import datetime

    with contextlib.suppress(ValueError, TypeError):  # unknown or naive: not this job's
        return begun >= datetime.fromisoformat(since)
    return False
