"""Loops over listings whose folder or pattern comes from an outer loop (issue 12: the
IMDB-style ``data/reviews/<label>/*.txt`` and Keras-style ``images/<label>/<file>``
layouts), and listings of a folder the notebook makes, migrated to a folder, S3 and
PostgreSQL: executed with the data moved away, every cell's outputs are the original's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from migrate_support import stork, without_setup, write_files, write_nb
from test_migrate_real_patterns import _destination

from stork_jupyter.execute import compare_outputs, execute_notebook

pytestmark = pytest.mark.slow

CELL_TIMEOUT = 120
ALL = ("file", "s3", "postgresql")
FILES = {
    "data/rev/pos/1.txt": "good\n", "data/rev/pos/2.txt": "great\n",
    "data/rev/neg/1.txt": "bad\n", "data/rev/pos.meta": "P\n", "data/rev/neg.meta": "N\n",
    "data/img/a/x.txt": "ax\n", "data/img/b/y.txt": "by\n", "data/img/b/z.txt": "bz\n",
}
CELLS = [
    ("import glob\nimport os", ALL),
    # the inner glob's pattern is built from the outer variable; after the inner loop
    # the outer variable is again one value per outer iteration
    ("for label in [\"pos\", \"neg\"]:\n"
     "    for path in sorted(glob.glob(os.path.join(\"data/rev\", label, \"*.txt\"))):\n"
     "        with open(path) as f:\n"
     "            print(label, os.path.basename(path), f.read().strip())\n"
     "    with open(f\"data/rev/{label}.meta\") as f:\n"
     "        print(label, f.read().strip())", ALL),
    ("for d in [\"a\", \"b\"]:\n    folder = os.path.join(\"data/img\", d)\n"
     "    for name in sorted(os.listdir(folder)):\n"
     "        with open(os.path.join(folder, name)) as f:\n"
     "            print(d, name, f.read().strip())\n    print(folder)", ALL),
    # the outer loop is itself a listing (PostgreSQL refuses a listing no call reads from)
    ("for d in sorted(os.listdir(\"data/img\")):\n"
     "    for name in sorted(os.listdir(os.path.join(\"data/img\", d))):\n"
     "        with open(os.path.join(\"data/img\", d, name)) as f:\n"
     "            print(d, name, f.read().strip())", ("file", "s3")),
    # a folder filter on the entries of a listing: the inner listing is of folders only
    ("for name in sorted(os.listdir(\"data/rev\")):\n"
     "    p = os.path.join(\"data/rev\", name)\n"
     "    if os.path.isdir(p):\n"
     "        for n in sorted(os.listdir(p)):\n"
     "            with open(os.path.join(p, n)) as f:\n"
     "                print(name, n, f.read().strip())\n"
     "    else:\n        print('file', name)", ("file", "s3")),
    # pathlib: iterdir, ``if not d.is_dir(): continue``, then the folder's own glob
    ("from pathlib import Path\n"
     "for d in sorted(Path(\"data/rev\").iterdir()):\n"
     "    if not d.is_dir():\n        continue\n"
     "    for f in sorted(d.glob(\"*.txt\")):\n"
     "        print(d.name, f.name, f.read_text().strip())", ("file", "s3")),
    ("from pathlib import Path\n"
     "for label in [\"pos\", \"neg\", \"pos.meta\"]:\n"
     "    d = Path(\"data/rev\") / label\n"
     "    if d.is_dir():\n"
     "        print(label, [f.read_text().strip() for f in sorted(d.glob(\"*.txt\"))])\n"
     "    if os.path.isdir(d):\n"
     "        for f in sorted(d.rglob(\"*.txt\")):\n"
     "            print(f.as_posix(), f.read_text().strip())", ALL),
    # a listing of a folder the notebook makes and fills lists the destination's folder
    ("import shutil\nos.makedirs(\"data/made\", exist_ok=True)\n"
     "shutil.copy(\"data/rev/pos.meta\", \"data/made/copy.meta\")\n"
     "print(sorted(os.listdir(\"data/made\")))", ("file", "s3")),
]


def _project(folder: Path, kind: str) -> Path:
    write_files(folder, FILES)
    return write_nb(folder / "nb.ipynb", *[c for c, kinds in CELLS if kind in kinds])


@pytest.mark.parametrize("kind", ALL)
def test_nested_listing_loops_migrate_and_give_the_same_outputs(kind, tmp_path, request,
                                                                 monkeypatch):
    original = execute_notebook(_project(tmp_path / "original", kind), timeout=CELL_TIMEOUT)
    project = tmp_path / "project"
    _project(project, kind)
    dest = _destination(kind, tmp_path, request)
    monkeypatch.chdir(project)

    result = stork("migrate", "nb.ipynb", "--to", dest, "-o", "migrated.ipynb")
    assert result.exit_code == 0, result.output
    shutil.move(project / "data", tmp_path / "data-moved-away")
    executed = execute_notebook(project / "migrated.ipynb", timeout=CELL_TIMEOUT)
    assert compare_outputs(original, without_setup(executed)) == []
    assert "good" in str(original.cells[2].outputs)  # the loops did read the files
    # (on S3 ``os.makedirs`` is left as it is: an empty local folder, no data in it)
    assert [p for p in (project / "data").rglob("*") if p.is_file()] == []
