"""S3 and S3-compatible stores (MinIO, moto...) through boto3.

Endpoint, keys and region come from the standard AWS environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``..., profiles), never from stork.
Objects carry their sha256 in metadata, so a second migration sends nothing
already there; uploads are verified against the ETag S3 computes (MD5, or the
MD5 of part MD5s for multipart uploads).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

from ..errors import MissingDependencyError
from .base import DestinationError, Progress, PutResult

PART_SIZE = 8 * 1024 * 1024
MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_WORKERS = 4


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


class S3Backend:
    kind = "s3"

    def __init__(self, url: str):
        self.bucket, self.prefix = split_s3_url(url)
        self.url = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = make_client()
        return self._client

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
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        endpoint = os.environ.get("AWS_ENDPOINT_URL") or "AWS"
        try:
            return fn(**kwargs)
        except NoCredentialsError:
            raise DestinationError(
                "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "or AWS_PROFILE") from None
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("404", "NoSuchBucket"):
                raise DestinationError(
                    f"bucket '{self.bucket}' does not exist at {endpoint}") from None
            if status == 403 or code in ("403", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                                         "AccessDenied"):
                raise DestinationError(
                    f"S3 at {endpoint} refused the credentials for bucket '{self.bucket}' "
                    f"({code or status})") from None
            raise DestinationError(f"S3 error on bucket '{self.bucket}': {e}") from None
        except BotoCoreError as e:
            raise DestinationError(f"cannot reach S3 at {endpoint}: {e}") from None

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
        size = source.stat().st_size
        head = self._existing(key)
        if head and head.get("Metadata", {}).get("sha256") == sha256 and head.get(
                "ContentLength") == size:
            if progress:
                progress(size)
            return PutResult(self.target(key), size, sha256, skipped=True)
        if size <= MULTIPART_THRESHOLD:
            data = source.read_bytes()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise DestinationError(f"{source} changed since it was planned")
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            reply = self._call(self.client.put_object, Bucket=self.bucket, Key=self.key(key),
                               Body=data, Metadata={"sha256": sha256})
            if progress:
                progress(size)
            self._verify(reply, md5, key)
            return PutResult(self.target(key), size, sha256)
        return self._put_multipart(source, key, sha256, size, progress)

    def _put_multipart(self, source: Path, key: str, sha256: str, size: int,
                       progress: Progress | None) -> PutResult:
        created = self._call(self.client.create_multipart_upload, Bucket=self.bucket,
                             Key=self.key(key), Metadata={"sha256": sha256})
        upload_id = created["UploadId"]

        def send(number: int, data: bytes) -> tuple[int, str, bytes]:
            digest = hashlib.md5(data, usedforsecurity=False)
            reply = self._call(self.client.upload_part, Bucket=self.bucket, Key=self.key(key),
                               UploadId=upload_id, PartNumber=number, Body=data)
            if reply["ETag"].strip('"') != digest.hexdigest():
                raise DestinationError(f"part {number} of {source} did not verify at S3")
            if progress:
                progress(len(data))
            return number, reply["ETag"], digest.digest()

        try:
            parts = self._send_parts(source, sha256, send)
            reply = self._call(
                self.client.complete_multipart_upload, Bucket=self.bucket, Key=self.key(key),
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e, _ in parts]})
        except BaseException:
            # a failed upload must not leave invisible parts behind (they are billed)
            self._abort(key, upload_id)
            raise
        combined = hashlib.md5(b"".join(d for _, _, d in parts), usedforsecurity=False)
        self._verify(reply, f"{combined.hexdigest()}-{len(parts)}", key)
        return PutResult(self.target(key), size, sha256, parts=len(parts))

    @staticmethod
    def _send_parts(source: Path, sha256: str, send) -> list[tuple[int, str, bytes]]:
        """Read ``source`` once, in order, hashing exactly the bytes sent; parts go out in
        parallel, with at most two per worker in memory."""
        digest = hashlib.sha256()
        parts: list[tuple[int, str, bytes]] = []
        with ThreadPoolExecutor(PART_WORKERS) as pool, open(source, "rb") as f:
            pending: deque = deque()
            number = 0
            try:
                while block := f.read(PART_SIZE):
                    number += 1
                    digest.update(block)
                    pending.append(pool.submit(send, number, block))
                    if len(pending) >= 2 * PART_WORKERS:
                        parts.append(pending.popleft().result())
                parts += [p.result() for p in pending]
            except BaseException:
                for p in pending:  # send no more parts of a failed upload
                    p.cancel()
                raise
        if digest.hexdigest() != sha256:
            raise DestinationError(f"{source} changed since it was planned")
        return parts

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
