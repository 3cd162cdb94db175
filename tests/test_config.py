"""stork.toml, the project root, the store URL and URL redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from stork_jupyter.config import (
    Config,
    Destination,
    destination_kind,
    find_project_root,
    load_config,
    redact_url,
    resolve_store_url,
)
from stork_jupyter.errors import ConfigError

# -- find_project_root ---------------------------------------------------------


def test_project_root_is_folder_of_nearest_stork_toml(tmp_path: Path) -> None:
    (tmp_path / "stork.toml").write_text("")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    notebook = deep / "analysis.ipynb"
    notebook.write_text("{}")

    assert find_project_root(deep) == tmp_path.resolve()
    assert find_project_root(notebook) == tmp_path.resolve()


def test_nearest_stork_toml_wins(tmp_path: Path) -> None:
    (tmp_path / "stork.toml").write_text("")
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "stork.toml").write_text("")

    assert find_project_root(inner) == inner.resolve()
    assert find_project_root(inner / "not-yet-created") == inner.resolve()


def test_project_root_without_stork_toml_is_start(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    notebook = folder / "nb.ipynb"
    notebook.write_text("{}")

    assert find_project_root(folder) == folder.resolve()
    assert find_project_root(notebook) == folder.resolve()


def test_project_root_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()

    root = find_project_root(Path("sub"))

    assert root.is_absolute()
    assert root == (tmp_path / "sub").resolve()


# -- load_config ---------------------------------------------------------------


def test_missing_stork_toml_gives_empty_config(tmp_path: Path) -> None:
    config = load_config(tmp_path)

    assert config == Config(root=tmp_path.resolve())
    assert config.destinations == {}


def test_destinations_are_read(tmp_path: Path) -> None:
    (tmp_path / "stork.toml").write_text(
        """
[destinations.warehouse]
url = "postgresql://analyst@db.example.com:5432/sales?schema=raw"

[destinations.lake]
url = "s3://bucket/prefix"
layout = "flat"
region = "eu-west-1"

[destinations.backup]
url = "/mnt/backup"
"""
    )

    config = load_config(tmp_path)

    assert config.path == tmp_path.resolve() / "stork.toml"
    assert set(config.destinations) == {"warehouse", "lake", "backup"}
    lake = config.destination("lake")
    assert lake == Destination(
        name="lake", url="s3://bucket/prefix", layout="flat", options={"region": "eu-west-1"}
    )
    assert lake.kind == "s3"
    assert config.destinations["warehouse"].layout == "mirror"
    assert config.destinations["warehouse"].kind == "postgresql"
    assert config.destinations["backup"].kind == "file"
    assert lake.to_json()["kind"] == "s3"


def test_unknown_destination_names_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "stork.toml").write_text('[destinations.lake]\nurl = "s3://b/p"\n')

    with pytest.raises(ConfigError, match=r"No destination named 'sea'.*known: lake"):
        load_config(tmp_path).destination("sea")


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "stork.toml").write_text("[destinations.lake\nurl = ")

    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)

    message = str(info.value)
    assert str(tmp_path / "stork.toml") in message
    assert "not valid TOML" in message
    assert "\n" not in message


def test_bad_layout(tmp_path: Path) -> None:
    (tmp_path / "stork.toml").write_text(
        '[destinations.lake]\nurl = "s3://b/p"\nlayout = "nested"\n'
    )

    with pytest.raises(ConfigError, match=r"stork\.toml: destination 'lake' has layout 'nested'"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('destinations = "s3://b"\n', "must be a table"),
        ("[destinations]\nlake = 3\n", "must be a table"),
        ("[destinations.lake]\nlayout = 'flat'\n", "needs a 'url' string"),
        ("[destinations.lake]\nurl = 'ftp://h/p'\n", r"ftp:// destinations \(FTP\) are not supported"),
        ("[destinations.db]\nurl = 'postgresql://u:" + "hunter2@h/db'\n", "password or token"),
    ],
)
def test_bad_destinations(tmp_path: Path, body: str, problem: str) -> None:
    (tmp_path / "stork.toml").write_text(body)

    with pytest.raises(ConfigError, match=problem) as info:
        load_config(tmp_path)

    assert "hunter2" not in str(info.value)


def test_destination_kind() -> None:
    assert destination_kind("postgresql+psycopg://h/db") == "postgresql"
    assert destination_kind("postgres://h/db") == "postgresql"
    assert destination_kind("file:///tmp/x") == "file"
    assert destination_kind("relative/dir") == "file"
    with pytest.raises(ConfigError, match=r"gs:// destinations .* not supported"):
        destination_kind("gs://bucket")


# -- resolve_store_url -----------------------------------------------------------


def test_store_url_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORK_STORE", raising=False)

    url = resolve_store_url(None, tmp_path)

    assert url == f"sqlite:///{tmp_path.resolve().as_posix()}/.stork/stork.db"


def test_store_url_env_beats_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORK_STORE", "postgresql://team@db/stork")

    assert resolve_store_url(None, tmp_path) == "postgresql://team@db/stork"


def test_store_url_explicit_beats_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORK_STORE", "postgresql://team@db/stork")

    assert resolve_store_url("sqlite:////x/y.db", tmp_path) == "sqlite:////x/y.db"


def test_empty_env_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORK_STORE", "")

    assert resolve_store_url(None, tmp_path).endswith("/.stork/stork.db")


def test_store_path_is_sqlite_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STORK_STORE", raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)

    url = resolve_store_url("meta/s.db", tmp_path / "elsewhere")

    assert url == f"sqlite:///{cwd.resolve().as_posix()}/meta/s.db"


def test_store_path_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORK_STORE", str(tmp_path / "env.db"))

    assert resolve_store_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve().as_posix()}/env.db"


#: a made-up password, put into URLs here at run time (no credential in the source)
PW = "-".join(["not", "a", "real", "one"])


# -- redact_url --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"postgresql://u:{PW}@h/db", "postgresql://u@h/db"),
        (f"postgresql+psycopg://u:{PW}@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        (f"postgresql://:{PW}@h/db", "postgresql://h/db"),
        (f"postgresql://u:p@{PW}@h/db", "postgresql://u@h/db"),  # unencoded '@' in the password
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h/db?schema=raw", "postgresql://h/db?schema=raw"),
        (
            "postgresql://u@h/db?password=x&schema=raw&sslmode=require",
            "postgresql://u@h/db?schema=raw&sslmode=require",
        ),
        ("s3://bucket/p?aws_secret_access_key=x&token=y&api_key=z", "s3://bucket/p"),
        (f"s3://keyid:{PW}@bucket/prefix", "s3://keyid@bucket/prefix"),
        ("https://h/x?Access_Token=abc#frag", "https://h/x#frag"),
        ("sqlite:////abs/path/stork.db", "sqlite:////abs/path/stork.db"),
        ("sqlite:///rel.db", "sqlite:///rel.db"),
        ("file:///tmp/dir", "file:///tmp/dir"),
        ("data/sales.csv", "data/sales.csv"),
        (f"host=h dbname=d password={PW} user=u", "host=h dbname=d user=u"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_is_idempotent() -> None:
    url = f"postgresql://u:{PW}@h/db?password=x&schema=s"

    assert redact_url(redact_url(url)) == redact_url(url)
