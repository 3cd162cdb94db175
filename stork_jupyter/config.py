"""Project configuration: the project root, ``stork.toml`` and the store URL.

An engine module: it imports no door (IPython, tornado, click, ipywidgets).
``stork.toml`` names destinations and never holds secrets; credentials come from
the environment (AWS variables and profiles, ``PGPASSWORD``, ``.pgpass``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .urls import destination_kind, redact_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

CONFIG_FILE = "stork.toml"
STORE_ENV = "STORK_STORE"
LAYOUTS = ("mirror", "flat")



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


def find_project_root(start: Path | str | None = None) -> Path:
    """The folder of the nearest ``stork.toml`` at or above ``start`` (a notebook or a
    folder; default: the working directory), else ``start``'s folder."""
    start = Path(Path.cwd() if start is None else start).expanduser().resolve()
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
