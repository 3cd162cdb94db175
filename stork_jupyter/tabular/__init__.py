"""Reading a tabular file the way the notebook's own ``pandas.read_*`` call would, in chunks.

An engine package: it imports no door (IPython, tornado, ipywidgets) and needs pandas
(and pyarrow for parquet/feather) only when called.

Two streaming passes over the file, with bounded memory:

1. :func:`infer_schema` reads the file chunk by chunk with the call's own parsing
   options and decides each column's final dtype as pandas would for the WHOLE file
   (an int column whose only float is in the last chunk is ``float64``; ints with a
   gap are ``float64``; a column mixing numbers and text is text...).
2. :func:`iter_frames` reads it again, every chunk forced to those dtypes (text
   columns read as text, so ``"007"`` stays ``"007"``).

:func:`read_back` says what ``pd.read_sql_query`` needs (``dtype=``, a few fix-ups)
so that the table it reads is ``.equals`` to what the original call gave.

What is streamed: CSV/TSV (``read_csv``/``read_table``, pandas' chunked reader),
parquet (pyarrow ``iter_batches``), JSON lines (``read_json(lines=True, chunksize=)``),
feather (Arrow IPC record batches). Read whole: JSON records/other orients and Excel.

The modules, each with one job:

- :mod:`.options`: which calls and keyword arguments can be loaded (``load_options``,
  ``api_name``), and :class:`TabularError`;
- :mod:`.schema`: the table model (``Column``, ``TableSchema``), PostgreSQL column types
  and SQL names;
- :mod:`.source`: one file read in chunks as the call reads it, with byte positions and
  located read failures;
- :mod:`.inference`: pass one, ``infer_schema``;
- :mod:`.frames`: pass two, ``iter_frames`` (chunks coerced to the schema);
- :mod:`.readback`: ``ReadBack`` / ``read_back``, the fix-ups of ``read_sql_query``;
  ``copy_types``, when a table reads back faster as COPY text through ``read_csv``.
"""

from __future__ import annotations

from .frames import iter_frames
from .inference import infer_schema
from .options import (
    LOAD_OPTIONS,
    SELECT_OPTIONS,
    TabularError,
    UnreadableFile,
    api_name,
    load_options,
)
from .readback import ReadBack, copy_types, read_back, read_back_kwargs
from .schema import MAX_IDENT, PG_TYPES, ROW_COLUMN, Column, TableSchema, sql_names

__all__ = ["Column", "LOAD_OPTIONS", "MAX_IDENT", "PG_TYPES", "ROW_COLUMN", "ReadBack",
           "SELECT_OPTIONS", "TableSchema", "TabularError", "UnreadableFile", "api_name",
           "infer_schema",
           "copy_types", "iter_frames", "load_options", "read_back", "read_back_kwargs",
           "sql_names"]
