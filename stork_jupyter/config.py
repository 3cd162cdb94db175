"""Project configuration: the project root, ``stork.toml`` and the store URL.

An engine module: it imports no door (IPython, tornado, click, ipywidgets).
``stork.toml`` names destinations and never holds secrets; credentials come from
the environment (AWS variables and profiles, ``PGPASSWORD``, ``.pgpass``).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

CONFIG_FILE = "stork.toml"
STORE_ENV = "STORK_STORE"
LAYOUTS = ("mirror", "flat")

# Query parameters whose value is a secret (matched anywhere in the name, any case).
_SECRET_PARAM = re.compile(r"pass(word|wd)?|pwd|secret|token|key|credential", re.IGNORECASE)
# libpq keyword/value strings ("host=h dbname=d password=x") are not URLs but carry secrets too.
_CONNINFO = re.compile(r"\b(host|hostaddr|dbname|user|port)\s*=")
_CONNINFO_PASSWORD = re.compile(r"\s*\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S*)", re.IGNORECASE)


@dataclass
class Destination:
    """A named destination from ``stork.toml``: ``[destinations.NAME]``."""

    name: str
    url: str
    layout: str = "mirror"  #: ``mirror`` or ``flat``
    options: dict[str, Any] = field(default_factory=dict)  #: any other keys of the table

    @property
    def kind(self) -> str:
        """``file``, ``s3`` or ``postgresql``, from the URL's scheme."""
        return destination_kind(self.url)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": redact_url(self.url),
            "layout": self.layout,
            "kind": self.kind,
            "options": self.options,
        }


@dataclass
class Config:
    """What ``stork.toml`` says; empty when the project has no such file."""

    root: Path
    path: Path | None = None  #: the ``stork.toml`` it was read from, if any
    destinations: dict[str, Destination] = field(default_factory=dict)
    #: ``[transfer]``: ``parallel`` (datasets at once, default 2) and ``chunk_rows``
    #: (rows per COPY chunk of a table load, default: about 16 MB of the file)
    transfer: dict[str, int] = field(default_factory=dict)

    def destination(self, name: str) -> Destination:
        """The destination called ``name``; ConfigError when there is none."""
        try:
            return self.destinations[name]
        except KeyError:
            known = ", ".join(sorted(self.destinations)) or "none"
            where = self.path or self.root / CONFIG_FILE
            raise ConfigError(
                f"No destination named {name!r} in {where} (known: {known})."
            ) from None


def find_project_root(start: Path) -> Path:
    """The folder of the nearest ``stork.toml`` at or above ``start``, else ``start``'s folder."""
    start = Path(start).expanduser().resolve()
    folder = start.parent if start.is_file() else start
    for candidate in (folder, *folder.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return folder


def load_config(root: Path) -> Config:
    """Read ``root/stork.toml``; a missing file gives an empty Config."""
    root = Path(root).expanduser().resolve()
    path = root / CONFIG_FILE
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return Config(root=root)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from exc
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror or exc}.") from exc
    return Config(root=root, path=path, destinations=_parse_destinations(data, path),
                  transfer=_parse_transfer(data, path))


_TRANSFER_KEYS = {"parallel": (1, 64), "chunk_rows": (1, 10_000_000)}


def _parse_transfer(data: dict[str, Any], path: Path) -> dict[str, int]:
    table = data.get("transfer", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'transfer' must be a table ([transfer]).")
    out: dict[str, int] = {}
    for key, value in table.items():
        if key not in _TRANSFER_KEYS:
            raise ConfigError(f"{path}: [transfer] has no setting {key!r} (known: "
                              f"{', '.join(_TRANSFER_KEYS)}).")
        low, high = _TRANSFER_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{path}: [transfer] {key} must be an integer from {low} to "
                              f"{high}, not {value!r}.")
        out[key] = value
    return out


def _parse_destinations(data: dict[str, Any], path: Path) -> dict[str, Destination]:
    tables = data.get("destinations", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: 'destinations' must be a table of [destinations.NAME] tables.")
    destinations: dict[str, Destination] = {}
    for name, table in tables.items():
        where = f"{path}: destination {name!r}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table with a 'url' key.")
        options = dict(table)
        url = options.pop("url", None)
        if not isinstance(url, str) or not url.strip():
            raise ConfigError(f"{where} needs a 'url' string.")
        layout = options.pop("layout", "mirror")
        if layout not in LAYOUTS:
            raise ConfigError(f"{where} has layout {layout!r}; use 'mirror' or 'flat'.")
        # stork.toml is meant to be committed: refuse a secret rather than spread it.
        if redact_url(url) != url:
            raise ConfigError(
                f"{where} has a password or token in its URL; "
                "put credentials in the environment (PGPASSWORD, .pgpass, AWS variables) instead."
            )
        try:
            destination_kind(url)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        destinations[name] = Destination(name=name, url=url.strip(), layout=layout, options=options)
    return destinations


def destination_kind(url: str) -> str:
    """``postgresql``, ``s3`` or ``file`` (plain paths and ``file://`` URLs)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme.startswith("postgres"):  # postgres, postgresql, postgresql+psycopg
        return "postgresql"
    if scheme in ("s3", "s3a"):
        return "s3"
    if scheme in ("", "file"):
        return "file"
    raise ConfigError(
        f"URL {redact_url(url)!r} has an unsupported scheme {scheme!r}; use file://, s3:// or postgresql://."
    )


def resolve_store_url(explicit: str | None, root: Path) -> str:
    """The metadata store URL: ``explicit`` (``--store``), else ``$STORK_STORE``, else the default.

    The default is ``sqlite:///<root>/.stork/stork.db``. A value containing ``://``
    is a SQLAlchemy URL; anything else is a SQLite file path, relative to the cwd.
    """
    value = explicit or os.environ.get(STORE_ENV) or None
    if value is None:
        path = Path(root).expanduser().resolve() / ".stork" / "stork.db"
        return f"sqlite:///{path.as_posix()}"
    if "://" in value:
        return value
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    return f"sqlite:///{path.resolve().as_posix()}"


def redact_url(url: str) -> str:
    """``url`` without its password or secret query parameters.

    A password after the user name is dropped (``postgresql://u@h/db`` stays). Strings
    that are not URLs (plain paths) come back unchanged, except a libpq ``password=`` keyword.
    """
    if "://" not in url:
        if _CONNINFO.search(url):
            return _CONNINFO_PASSWORD.sub("", url).strip()
        return url
    # Work on the string rather than urlsplit/urlunsplit: the round trip rewrites
    # some URLs (``sqlite:////abs`` loses a slash) and we must change only secrets.
    scheme, rest = url.split("://", 1)
    end = len(rest)
    for sep in "/?#":
        pos = rest.find(sep)
        if pos != -1:
            end = min(end, pos)
    netloc, tail = rest[:end], rest[end:]
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)  # rsplit: an unencoded '@' may sit in the password
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    path, query, fragment = _split_tail(tail)
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _SECRET_PARAM.search(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "") + fragment


def _split_tail(tail: str) -> tuple[str, str, str]:
    """Split ``/path?query#frag`` into (path, query, '#frag')."""
    fragment = ""
    if "#" in tail:
        tail, frag = tail.split("#", 1)
        fragment = f"#{frag}"
    path, _, query = tail.partition("?")
    return path, query, fragment
