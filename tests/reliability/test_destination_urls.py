"""Typos in a destination (issue 11, items 9, 11, 13): a destination that starts like a URL
is parsed as one, so a malformed URL or an unsupported scheme is one clear error and never
a local folder named like the URL; an S3 key S3 cannot hold is refused before anything
moves; an unknown job id is an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from migrate_support import assert_one_line_error, read_nb, small_project, stork

from stork_jupyter.urls import destination_kind, file_url_path

CELLS = ("import pandas as pd", "df = pd.read_csv('data/a.csv')\nprint(df.x.sum())")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    small_project(folder, *CELLS)
    monkeypatch.chdir(folder)
    monkeypatch.delenv("STORK_STORE", raising=False)
    return folder


def _entries(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.mark.parametrize(("to", "says"), [
    ("s3:/bucket", "s3://bucket/prefix"),
    ("s3//bucket", "without its ':'"),
    ("S3:bucket", "s3://bucket/prefix"),
    ("file://otherhost/tmp/x", "file:///absolute/folder"),
    ("file:relative/x", "file:///absolute/folder"),
    ("postgresql:/db", "postgresql://user@host:port/db"),
    ("gs://bucket/x", "Google Cloud Storage"),
    ("az://container/x", "Azure"),
    ("ftp://host/x", "not supported"),
    ("mystore://x", "unknown scheme 'mystore'"),
])
def test_a_malformed_or_unsupported_url_is_one_error_and_nothing_is_made(project, to, says):
    before = _entries(project)
    result = stork("migrate", "nb.ipynb", "--to", to, "-o", "out.ipynb", "--no-progress")
    line = assert_one_line_error(result, says)
    if "not supported" in says or "unknown" in says:
        assert "s3://bucket/prefix" in line and "postgresql://" in line  # what is
    assert _entries(project) == before  # no folder named like the URL, no notebook


@pytest.mark.parametrize("form", ["file:{}", "FILE://{}", "file://localhost{}"])
def test_file_urls_in_any_accepted_form_name_the_folder(project, tmp_path, form):
    lake = tmp_path / "lake"
    result = stork("migrate", "nb.ipynb", "--to", form.format(lake.as_posix()), "-o",
                   "out.ipynb", "--no-progress")
    assert result.exit_code == 0, result.output
    assert (lake / "nb" / "data" / "a.csv").read_text() == "x,y\n1,2\n3,4\n"
    source = "".join(c.source for c in read_nb(project / "out.ipynb").cells)
    assert f"{lake.as_posix()}/nb/data/a.csv" in source
    assert not any(p.name.lower().startswith("file:") for p in project.rglob("*"))


def test_what_is_a_url_and_what_is_a_folder():
    assert destination_kind("lake") == "file"
    assert destination_kind("./s3:/x") == "file"  # written as a path: a path
    assert destination_kind("C:/data") == "file"  # one letter: a drive, not a scheme
    assert destination_kind("S3://b/p") == "s3"
    assert destination_kind("postgresql+psycopg://u@h/db") == "postgresql"
    assert file_url_path("FILE:///tmp/a%20b") == "/tmp/a b"
    assert file_url_path("/tmp/x") is None


def test_a_stork_toml_destination_with_a_malformed_url_is_refused(project):
    (project / "stork.toml").write_text('[destinations.lake]\nurl = "s3:/team-data"\n')
    result = stork("migrate", "nb.ipynb", "--to", "lake", "-o", "out.ipynb")
    assert_one_line_error(result, "lake", "s3://bucket/prefix")
    assert not (project / "out.ipynb").exists()


def test_an_s3_key_with_a_newline_is_refused_before_anything_moves(project, s3_endpoint):
    (project / "data" / "a\nb.csv").write_text("x\n1\n")
    small_project(project, "import pandas as pd", "df = pd.read_csv('data/a\\nb.csv')",
                  files={})
    result = stork("migrate", "nb.ipynb", "--to", s3_endpoint.url, "-o", "out.ipynb",
                   "--no-progress")
    line = assert_one_line_error(result, "newline", "rename the file", "line 1")
    assert "does not exist" not in line
    assert not (project / "out.ipynb").exists()
    assert s3_endpoint.client().list_objects_v2(Bucket=s3_endpoint.bucket).get(
        "KeyCount", 0) == 0


def test_jobs_with_an_unknown_id_is_an_error(project):
    assert stork("migrate", "nb.ipynb", "--to", "lake", "-o", "out.ipynb",
                 "--no-progress").exit_code == 0
    assert_one_line_error(stork("jobs", "999"), "No job with id 999")
    assert_one_line_error(stork("jobs", "999", "--json"), "No job with id 999")
    assert stork("jobs", "1").exit_code == 0
