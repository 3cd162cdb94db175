"""tabular: reading a file in chunks exactly as the notebook's own pandas call would."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

from stork_jupyter.tabular import (  # noqa: E402
    TableSchema,
    TabularError,
    infer_schema,
    iter_frames,
    load_options,
    read_back,
    sql_names,
)


def same_frame(a, b) -> bool:
    return (a.equals(b) and list(map(str, a.dtypes)) == list(map(str, b.dtypes))
            and repr(a) == repr(b) and list(a.columns) == list(b.columns))


def streamed(path: Path, api: str, kwargs: dict, chunksize: int = 2):
    """The frame stork's two chunked passes give, and the schema."""
    opts = load_options(api, kwargs)
    schema = infer_schema(path, api, opts, chunksize=chunksize)
    frames = list(iter_frames(path, api, opts, schema, chunksize=chunksize))
    assert all(len(f) <= chunksize for f in frames)
    if not frames:
        return None, schema
    cats = [c for c in frames[0].columns if str(frames[0][c].dtype) == "category"]
    frame = pd.concat([f.astype({c: object for c in cats}) for f in frames],
                      ignore_index=True)
    # chunks carry their own categories; pandas (and the read-back) unify them
    return frame.astype({c: "category" for c in cats}), schema


from csv_cases import CSV_CASES  # noqa: E402


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_csv_chunks_equal_whole_read(tmp_path: Path, case: str) -> None:
    text, kwargs = CSV_CASES[case]
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    original = pd.read_csv(path, **kwargs)
    frame, schema = streamed(path, "pandas.read_csv", kwargs)
    assert [c.name for c in schema.columns] == list(original.columns)
    assert [c.dtype for c in schema.columns] == [str(t) for t in original.dtypes]
    assert schema.row_count == len(original)
    if len(original):
        assert same_frame(original, frame), (original, frame)


def test_only_float_in_last_chunk_makes_float64(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    rows = [f"{i},{i * 2}" for i in range(5000)] + ["5000,0.5"]
    path.write_text("id,v\n" + "\n".join(rows) + "\n")
    original = pd.read_csv(path)
    assert str(original["v"].dtype) == "float64"
    frame, schema = streamed(path, "pandas.read_csv", {}, chunksize=1000)
    assert schema.column("v").dtype == "float64" and schema.column("v").pg_type == (
        "double precision")
    assert schema.column("id").dtype == "int64"
    assert same_frame(original, frame)


def test_text_in_last_chunk_keeps_numbers_as_written(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("code\n" + "".join(f"{i:05d}\n" for i in range(300)) + "ABC\n")
    original = pd.read_csv(path)
    frame, schema = streamed(path, "pandas.read_csv", {}, chunksize=100)
    assert schema.columns[0].pg_type == "text"
    assert frame["code"].iloc[0] == "00000"
    assert same_frame(original, frame)


def test_date_format_guessed_from_first_value_of_whole_file(tmp_path: Path) -> None:
    # the first value fixes the format for the whole file; a later chunk in another
    # format makes pandas keep the column as text, whatever that chunk alone would say
    path = tmp_path / "d.csv"
    path.write_text("d\n2024-01-01\n2024-01-02\n2024-01-03 10:00:00\n2024-01-04 11:00:00\n")
    original = pd.read_csv(path, parse_dates=["d"])
    frame, schema = streamed(path, "pandas.read_csv", {"parse_dates": ["d"]})
    assert schema.columns[0].dtype == str(original["d"].dtype)
    assert same_frame(original, frame)


@pytest.mark.parametrize("body", [
    "2024-01-01,1\n2024-01-02,2\n01,3\n02,4\n2024-01-05,5\n",  # a chunk read as numbers
    "2024-01-01,1\n2024-01-02,2\n,3\n,4\n2024-01-05,5\n",  # a chunk of gaps only
    "20240101,1\n20240102,2\n20240103,3\n",  # dates pandas reads as integers
    "20240101,1\n20240102,2\n 20240103,3\n 20240104,4\n",  # text that reads as integers
    "2024-01-01,1\nTRUE,2\nfalse,3\n2024-01-05,5\n",  # a chunk read as booleans
])
def test_dates_converted_after_the_read_as_pandas_parses_them(tmp_path: Path,
                                                               body: str) -> None:
    # dated columns are read as text and converted after each chunk; a chunk pandas
    # reads otherwise has the rest of the file parsed by the reader itself
    path = tmp_path / "d.csv"
    path.write_text("d,n\n" + body)
    original = pd.read_csv(path, parse_dates=["d"])
    frame, schema = streamed(path, "pandas.read_csv", {"parse_dates": ["d"]})
    assert schema.columns[0].dtype == str(original["d"].dtype)
    assert same_frame(original, frame), (original, frame)


def test_automatic_chunks_hold_about_8_mib_of_the_file(tmp_path: Path) -> None:
    """Memory: a chunk's frame is several times its bytes, so chunks stay small."""
    from stork_jupyter.tabular.source import auto_chunksize

    path = tmp_path / "wide.csv"
    row = "1," + "x" * 200 + ",2.5\n"
    path.write_text("a,b,c\n" + row * 20_000)
    rows = auto_chunksize(path)
    assert 1_000 <= rows * len(row) <= 9 * 1024 * 1024  # about 8 MiB (an estimate)


def test_read_table_defaults_to_tabs(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\tx, y\n2\tz\n")
    frame, _ = streamed(path, "pandas.read_table", {})
    assert same_frame(pd.read_table(path), frame)


def test_gzip_csv(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "g.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("a,b\n1,x\n2,y\n3,z\n")
    frame, _ = streamed(path, "pandas.read_csv", {})
    assert same_frame(pd.read_csv(path), frame)


def test_progress_reports_the_file_size(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("a,pad\n" + "".join(f"{i},{'x' * 90}\n" for i in range(20000)))
    opts = load_options("pandas.read_csv", {})
    schema = infer_schema(path, "pandas.read_csv", opts, chunksize=1000)
    seen: list[int] = []
    list(iter_frames(path, "pandas.read_csv", opts, schema, chunksize=1000,
                     progress=seen.append))
    assert sum(seen) == path.stat().st_size
    assert len(seen) > 1


# --------------------------------------------------------------------------- options


def test_load_options_keeps_parsing_drops_selecting() -> None:
    opts = load_options("pandas.read_csv", {
        "sep": ";", "usecols": ["a"], "nrows": 10, "index_col": "a", "dtype": {"a": "Int64"},
        "storage_options": {}})
    assert opts == {"sep": ";", "dtype": {"a": "Int64"}}
    assert load_options("read_parquet", {"columns": ["a"]}) == {}
    assert load_options("pd.read_csv", {"parse_dates": True, "index_col": "d"}) == {
        "parse_dates": ["d"]}


@pytest.mark.parametrize("kwargs, word", [
    ({"chunksize": 10}, "chunksize"),
    ({"converters": {"a": int}}, "converters"),
    ({"engine": "pyarrow"}, "engine"),
    ({"made_up_option": 1}, "made_up_option"),
    ({"dtype_backend": "pyarrow"}, "dtype_backend"),
])
def test_load_options_refuses_what_it_cannot_honour(kwargs: dict, word: str) -> None:
    with pytest.raises(TabularError, match=word):
        load_options("pandas.read_csv", kwargs)


def test_unknown_api_is_refused() -> None:
    with pytest.raises(TabularError, match="read_pickle"):
        load_options("pandas.read_pickle", {})


def test_excel_several_sheets_refused() -> None:
    with pytest.raises(TabularError, match="sheet_name"):
        load_options("pandas.read_excel", {"sheet_name": None})


# --------------------------------------------------------------------------- names


def test_sql_names_long_quoted_and_unique() -> None:
    long = "x" * 70
    names = sql_names([long, long + "y", 'Has "Quote" and Space', "UPPER", 0, "_stork_row",
                       ""])
    assert len(set(names)) == len(names)
    assert all(0 < len(n.encode()) <= 63 for n in names)
    assert names[2] == 'Has "Quote" and Space' and names[3] == "UPPER" and names[4] == "0"
    assert names[0] != names[1] and names[0].startswith("x" * 40)
    assert names[5] != "_stork_row"
    emoji = sql_names(["é" * 40])[0]
    assert len(emoji.encode()) <= 63
    emoji.encode().decode()  # still valid UTF-8


# --------------------------------------------------------------------------- failures


def test_dtype_failure_names_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,x\n" + "".join(f"{i},{i}\n" for i in range(3000)) + "3000,abc\n")
    with pytest.raises(TabularError) as err:
        infer_schema(path, "pandas.read_csv", {"dtype": {"x": "int64"}}, chunksize=1000)
    message = str(err.value)
    assert str(path) in message and "data row 3001" in message and "'x'" in message


def test_ragged_csv_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(TabularError, match="ragged.csv"):
        infer_schema(path, "pandas.read_csv", {})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TabularError, match="nope.csv"):
        infer_schema(tmp_path / "nope.csv", "pandas.read_csv", {})


def test_file_changed_between_passes(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("a\n1\n2\n")
    schema = infer_schema(path, "pandas.read_csv", {})
    path.write_text("a\n1\n2\n3\n")
    with pytest.raises(TabularError, match="changed"):
        list(iter_frames(path, "pandas.read_csv", {}, schema))


# --------------------------------------------------------------------------- other formats


def test_json_lines_chunks(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [{"a": i, "b": f"s{i}", "c": i % 2 == 0} for i in range(7)] + [
        {"a": 7.5, "b": None, "c": True}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    original = pd.read_json(path, lines=True)
    frame, schema = streamed(path, "pandas.read_json", {"lines": True}, chunksize=3)
    assert schema.column("a").dtype == "float64"
    assert same_frame(original, frame)


def test_json_records_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps([{"a": 1, "b": "x"}, {"a": None, "b": ""}, {"a": 3, "b": "z"}]))
    original = pd.read_json(path)
    frame, _ = streamed(path, "pandas.read_json", {})
    assert same_frame(original, frame)


def test_json_nested_values_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    path.write_text('{"a": [1, 2], "b": 1}\n{"a": [3], "b": 2}\n')
    with pytest.raises(TabularError, match="'a'"):
        infer_schema(path, "pandas.read_json", {"lines": True})


def test_parquet_types_and_row_groups(tmp_path: Path) -> None:
    df = pd.DataFrame({
        "i": [1, 2, 3, 4], "f": [1.5, None, -3.0, 1e21], "s": ["a", None, "", "é"],
        "b": [True, False, True, False], "bn": [True, None, False, True],
        "t": pd.to_datetime(["2024-01-01", None, "2024-01-03 10:00:00.123456",
                             "2024-01-04"], format="ISO8601"),
        "c": pd.Categorical(["x", "y", "x", None]),
    })
    df["n"] = pd.array([1, None, 3, 4], dtype="Int64")
    path = tmp_path / "p.parquet"
    df.to_parquet(path, row_group_size=2)
    original = pd.read_parquet(path)
    frame, schema = streamed(path, "pandas.read_parquet", {}, chunksize=2)
    assert [c.dtype for c in schema.columns] == [str(t) for t in original.dtypes]
    assert schema.column("c").pg_type == "text" and schema.column("c").dtype == "category"
    assert same_frame(original, frame)


def test_parquet_nested_column_refused(tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    pd.DataFrame({"id": [1, 2], "tags": [[1, 2], [3]]}).to_parquet(path)
    with pytest.raises(TabularError) as err:
        infer_schema(path, "pandas.read_parquet", {})
    assert "tags" in str(err.value) and "nested.parquet" in str(err.value)


def test_parquet_struct_column_refused(tmp_path: Path) -> None:
    path = tmp_path / "struct.parquet"
    pd.DataFrame({"id": [1, 2], "pt": [{"x": 1}, {"x": 2}]}).to_parquet(path)
    with pytest.raises(TabularError, match="pt"):
        infer_schema(path, "pandas.read_parquet", {})


def test_parquet_index_becomes_columns(tmp_path: Path) -> None:
    df = pd.DataFrame({"k": ["a", "b", "c"], "v": [1.0, 2.0, 3.0]})
    path = tmp_path / "idx.parquet"
    df[df.v > 1].to_parquet(path)  # an unnamed, non-range index is stored as a column
    frame, schema = streamed(path, "pandas.read_parquet", {})
    assert schema.index == ["__index_level_0__"] and schema.index_names == [None]
    assert list(frame.columns) == ["__index_level_0__", "k", "v"]
    assert read_back(schema).kwargs["index_col"] == "__index_level_0__"


def test_feather(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"a": range(10), "s": [f"v{i}" if i % 3 else None for i in range(10)]})
    path = tmp_path / "f.feather"
    df.to_feather(path)
    frame, _ = streamed(path, "pandas.read_feather", {}, chunksize=4)
    assert same_frame(pd.read_feather(path), frame)


def test_excel_without_engine_is_clear(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        import zipfile

        with zipfile.ZipFile(path, "w") as z:  # looks like xlsx; reading it needs openpyxl
            z.writestr("xl/workbook.xml", "<workbook/>")
        with pytest.raises(TabularError, match="x.xlsx.*openpyxl"):
            infer_schema(path, "pandas.read_excel", {})
        return
    pd.DataFrame({"a": [1, 2], "b": ["x", None]}).to_excel(path, index=False)
    frame, _ = streamed(path, "pandas.read_excel", {})
    assert same_frame(pd.read_excel(path), frame)


# --------------------------------------------------------------------------- schema json


def test_schema_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("a,b\n1,\n2,x\n")
    schema = infer_schema(path, "pandas.read_csv", {})
    data = json.loads(json.dumps(schema.to_json()))
    assert data["row_count"] == 2
    assert [f["pg_type"] for f in data["fields"]] == ["bigint", "text"]
    again = TableSchema.from_json(data)
    assert again.columns == schema.columns


def test_read_back_post_code_is_python() -> None:
    import ast

    schema = TableSchema.from_json({"row_count": 2, "fields": [
        {"name": "b", "sql_name": "b", "pg_type": "boolean", "dtype": "object", "nulls": 1},
        {"name": "t", "sql_name": "t", "pg_type": "timestamptz",
         "dtype": "datetime64[us, UTC+02:00]", "nulls": 0},
        {"name": "x" * 70, "sql_name": "x_1", "pg_type": "bigint", "dtype": "int64",
         "nulls": 0},
    ]})
    rb = read_back(schema)
    ast.parse("df" + rb.post_code())
    assert rb.fillna == ["b"] and rb.astype == {"t": "datetime64[us, UTC+02:00]"}
    assert rb.rename == {"x_1": "x" * 70}
    _ = io  # keep the import list stable
