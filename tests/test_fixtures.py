"""The harness itself: a real fresh PostgreSQL database and a real S3 API over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import psycopg


def test_pg_dsn_is_a_fresh_real_database(pg_dsn):
    assert "stork_test_" in pg_dsn
    with psycopg.connect(pg_dsn, connect_timeout=10) as conn:
        dbname = conn.execute("select current_database()").fetchone()[0]
        assert dbname.startswith("stork_test_")
        assert pg_dsn.rstrip("/").endswith(dbname)
        user_tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        ).fetchone()[0]
        conn.execute("create table fixture_check (id int primary key, name text)")
        conn.execute("insert into fixture_check values (%s, %s), (%s, %s)", (1, "alpha", 2, "beta"))
        rows = conn.execute("select id, name from fixture_check order by id").fetchall()
        conn.execute("drop table fixture_check")
    assert user_tables == 0
    assert rows == [(1, "alpha"), (2, "beta")]


def test_s3_endpoint_environment(s3_endpoint):
    assert s3_endpoint.endpoint_url.startswith("http://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL"] == s3_endpoint.endpoint_url
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    assert "AWS_PROFILE" not in os.environ
    assert s3_endpoint.url == f"s3://{s3_endpoint.bucket}"


def test_s3_endpoint_boto3_roundtrip(s3_endpoint):
    import boto3

    # Default client: the endpoint comes from AWS_ENDPOINT_URL, as in a user's kernel.
    s3 = boto3.client("s3")
    s3.put_object(Bucket=s3_endpoint.bucket, Key="dir/hello.txt", Body=b"hello stork")
    body = s3.get_object(Bucket=s3_endpoint.bucket, Key="dir/hello.txt")["Body"].read()
    assert body == b"hello stork"
    listed = s3_endpoint.client().list_objects_v2(Bucket=s3_endpoint.bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["dir/hello.txt"]


def test_s3_endpoint_fresh_bucket_per_test(s3_endpoint):
    listed = s3_endpoint.client().list_objects_v2(Bucket=s3_endpoint.bucket)
    assert listed.get("KeyCount", 0) == 0


def test_s3_endpoint_s3fs_roundtrip(s3_endpoint):
    import s3fs

    fs = s3fs.S3FileSystem()  # endpoint and credentials from the environment
    fs.pipe(f"{s3_endpoint.bucket}/raw/bytes.bin", b"\x00\x01stork")
    assert fs.cat(f"{s3_endpoint.bucket}/raw/bytes.bin") == b"\x00\x01stork"
    s3_endpoint.client().put_object(Bucket=s3_endpoint.bucket, Key="raw/other.txt", Body=b"x")
    fs.invalidate_cache()
    assert sorted(fs.ls(f"{s3_endpoint.bucket}/raw")) == [
        f"{s3_endpoint.bucket}/raw/bytes.bin",
        f"{s3_endpoint.bucket}/raw/other.txt",
    ]


def test_s3_endpoint_pandas_roundtrip(s3_endpoint):
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    url = f"{s3_endpoint.url}/tables/x.csv"
    df.to_csv(url, index=False)
    back = pd.read_csv(url)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    obj = s3_endpoint.client().get_object(Bucket=s3_endpoint.bucket, Key="tables/x.csv")
    assert obj["Body"].read().decode().splitlines() == ["a,b", "1,x", "2,y", "3,z"]


def test_s3_endpoint_inherited_by_subprocess(s3_endpoint):
    """A child process (like a kernel) sees the same endpoint and credentials."""
    s3_endpoint.client().put_object(Bucket=s3_endpoint.bucket, Key="k.txt", Body=b"child")
    code = (
        "import boto3, sys; "
        f"sys.stdout.write(boto3.client('s3').get_object(Bucket='{s3_endpoint.bucket}', "
        "Key='k.txt')['Body'].read().decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout == "child"


def test_example_project_has_data(example_project):
    assert sorted(p.name for p in example_project.glob("*.ipynb")) == [
        "feature_pipeline.ipynb",
        "log_processing.ipynb",
        "sales_analysis.ipynb",
    ]
    data = example_project / "data"
    for rel in (
        "sales.csv",
        "returns.csv",
        "products.csv",
        "regions.json",
        "config.json",
        "embeddings.npy",
        "users.csv",
        "events.jsonl",
        "features/train.csv",
        "features/valid.csv",
        "features/part-000.csv",
        "features/part-001.csv",
        "features/part-002.csv",
        "logs/app-01.log",
        "logs/app-02.log",
        "logs/app-03.log",
    ):
        assert (data / rel).is_file(), rel
    total = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
    assert total < 2_000_000
    assert not (example_project / "out").exists()


def _snapshot(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_make_data_is_deterministic_and_idempotent(example_project, tmp_path):
    script = example_project / "make_data.py"
    first = _snapshot(example_project / "data")
    # Same bytes when written elsewhere (explicit target folder) ...
    other = tmp_path / "other"
    subprocess.run(
        [sys.executable, str(script), str(other)], check=True, timeout=120, capture_output=True
    )
    assert _snapshot(other) == first
    # ... and running again from another cwd rewrites nothing.
    again = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert " 0 file(s) written" in again.stdout
    assert _snapshot(example_project / "data") == first
