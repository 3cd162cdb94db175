"""Destination URLs: which kind of destination a string names, and how to show a URL
without its secrets. One module for both, so that they agree on what a URL is.

An engine module (no door imports). Every message, store row, log line and REST body
that shows a URL goes through :func:`redact_url`; a password never leaves this process
except to the database driver that needs it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from .errors import ConfigError

SUPPORTED = ("a folder (a path or file:///folder), s3://bucket/prefix or "
             "postgresql://user@host:port/db")

# Query parameters whose value is a secret (matched anywhere in the name, any case).
_SECRET_PARAM = re.compile(r"pass(word|wd)?|pwd|secret|token|key|credential", re.IGNORECASE)
# libpq keyword/value strings ("host=h dbname=d password=x") are not URLs but carry secrets too.
_CONNINFO = re.compile(r"\b(host|hostaddr|dbname|user|port)\s*=")
_CONNINFO_PASSWORD = re.compile(r"\s*\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S*)", re.IGNORECASE)
# RFC 3986 scheme; one letter is a Windows drive (C:\data), not a scheme.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")
_POSTGRES = re.compile(r"^postgres(ql)?(\+\w+)?$")
#: ``s3//bucket``: a URL that lost its colon, which would otherwise be a relative folder
_LOST_COLON = re.compile(r"^(file|s3a?|postgres(?:ql)?|gs|gcs|az|abfss?|wasbs?|hdfs|https?)//",
                         re.IGNORECASE)
#: well-known storage schemes Stork does not write to, named in the refusal
_OTHER_STORES = {"gs": "Google Cloud Storage", "gcs": "Google Cloud Storage",
                 "az": "Azure Blob Storage", "abfs": "Azure Data Lake", "abfss": "Azure Data Lake",
                 "wasb": "Azure Blob Storage", "wasbs": "Azure Blob Storage",
                 "adl": "Azure Data Lake", "hdfs": "HDFS", "http": "HTTP", "https": "HTTP",
                 "ftp": "FTP", "sftp": "SFTP", "ssh": "SSH", "webdav": "WebDAV"}


def url_scheme(text: str) -> str | None:
    """The scheme (lower case) of a string that starts like a URL (``s3:``,
    ``FILE:``), else None (a plain path)."""
    m = _SCHEME.match(text.strip())
    return m.group(1).lower() if m else None


def destination_kind(url: str) -> str:
    """``postgresql``, ``s3`` or ``file`` (plain paths and ``file:`` URLs).

    Anything that starts like a URL is parsed as one (``s3:/bucket`` is a malformed S3
    URL, not a folder named ``s3:``); ConfigError, one sentence, for a malformed URL
    or a scheme Stork does not write to."""
    text = url.strip()
    shown = redact_url(text)
    lost = _LOST_COLON.match(text)
    if lost:
        raise ConfigError(f"destination {shown!r} looks like a URL without its ':'; write "
                          f"{lost.group(1).lower()}://... (or ./{shown} for a folder)")
    scheme = url_scheme(text)
    if scheme is None:
        return "file"
    parts = urlsplit(text)
    slashes = text[len(scheme) + 1:].startswith("//")
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ConfigError(f"destination {shown!r} is not a valid file URL; write "
                              "file:///absolute/folder (or give the folder's path)")
        return "file"
    if scheme in ("s3", "s3a"):
        if not slashes or not parts.netloc:
            raise ConfigError(f"destination {shown!r} is not a valid S3 URL; write "
                              "s3://bucket/prefix")
        return "s3"
    if _POSTGRES.match(scheme):
        if not slashes:
            raise ConfigError(f"destination {shown!r} is not a valid PostgreSQL URL; write "
                              "postgresql://user@host:port/db")
        return "postgresql"
    if scheme in _OTHER_STORES:
        raise ConfigError(f"{scheme}:// destinations ({_OTHER_STORES[scheme]}) are not "
                          f"supported; Stork writes to {SUPPORTED}")
    raise ConfigError(f"destination {shown!r} has an unknown scheme {scheme!r}; Stork "
                      f"writes to {SUPPORTED}")


def file_url_path(url: str) -> str | None:
    """The folder a ``file:`` URL names (any case, ``file:/x`` or ``file:///x``), None
    for anything else."""
    if url_scheme(url) != "file":
        return None
    return unquote(urlsplit(url.strip()).path)


def split_password(url: str) -> tuple[str, str | None]:
    """(``url`` without the password of its user info, the password or None).

    A password people paste may hold unencoded ``/``, ``?`` or ``#``, which
    ``urlsplit`` would take for the end of the host part, leaving the secret in the
    "path" or "fragment" (and printing it). So the user info is found by hand: a
    ``:`` before the first ``/?#`` opens a password that runs to the last ``@`` (an
    unencoded ``@`` may sit in the password too). Better to hide too much of an odd
    URL than to show a secret."""
    if "://" not in url:
        return url, None
    scheme, rest = url.split("://", 1)
    end = min([p for p in (rest.find(c) for c in "/?#") if p != -1], default=len(rest))
    colon = rest.find(":")
    at = rest.rfind("@")
    if colon == -1 or colon >= end or at < colon:
        return url, None  # no password (a port's colon has no '@' after it)
    user, password = rest[:colon], rest[colon + 1:at]
    host = rest[at + 1:]
    return f"{scheme}://{user}@{host}" if user else f"{scheme}://{host}", unquote(password)


def redact_url(url: str) -> str:
    """``url`` without its password or secret query parameters, safe to show or store.

    A password after the user name is dropped (``postgresql://u@h/db`` stays). Strings
    that are not URLs (plain paths) come back unchanged, except a libpq ``password=``
    keyword."""
    if "://" not in url:
        if _CONNINFO.search(url):
            return _CONNINFO_PASSWORD.sub("", url).strip()
        return url
    url, _ = split_password(url)
    # the rest by string, not urlunsplit: the round trip rewrites some URLs
    # (``sqlite:////abs`` loses a slash) and only secrets may change
    head, sep, fragment = url.partition("#")
    base, qmark, query = head.partition("?")
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _SECRET_PARAM.search(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return base + (f"?{query}" if query else "") + (sep + fragment if sep else "")


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` (a driver's error message) with each of ``secrets`` replaced by ``***``
    and any URL in it redacted."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return " ".join(redact_url(word) if "://" in word else word for word in text.split(" "))


__all__ = ["SUPPORTED", "destination_kind", "file_url_path", "redact_url", "scrub",
           "split_password", "url_scheme"]
