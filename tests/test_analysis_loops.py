"""Analysis of loops over listings that vary with an outer loop, and of existence
probes (issue 12)."""

from __future__ import annotations

from test_analysis_patterns import analyze, rows, unresolved

FILES = {"data/r/pos/1.txt": "a", "data/r/pos/2.txt": "b", "data/r/neg/9.txt": "c",
         "data/r/pos.meta": "p", "data/r/neg.meta": "n"}

FOLDERS = {k: v for k, v in FILES.items() if k.endswith(".txt")}


def _paths(a) -> list[str]:
    return [x.path for x in a.accesses if x.format != "listing"]


def test_an_inner_glob_built_from_the_outer_variable_gives_each_folder_its_own_files(
        tmp_path):
    a = analyze(tmp_path, [
        "import glob, os\n"
        "for label in ['pos', 'neg']:\n"
        "    for p in sorted(glob.glob(os.path.join('data/r', label, '*.txt'))):\n"
        "        open(os.path.join('data/r', label, os.path.basename(p))).read()"], FILES)
    # label and p vary together: no data/r/neg/1.txt from pairing every label with every file
    assert unresolved(a) == []
    assert _paths(a) == ["data/r/pos/1.txt", "data/r/pos/2.txt", "data/r/neg/9.txt"]


def test_an_inner_listdir_of_a_folder_built_from_the_outer_variable(tmp_path):
    a = analyze(tmp_path, [
        "import os\n"
        "for label in sorted(os.listdir('data/r')):\n"
        "    folder = os.path.join('data/r', label)\n"
        "    for name in os.listdir(folder):\n"
        "        open(os.path.join(folder, name)).read()"], FOLDERS)
    assert unresolved(a) == []
    assert sorted(p for p in _paths(a) if p.endswith(".txt")) == [
        "data/r/neg/9.txt", "data/r/pos/1.txt", "data/r/pos/2.txt"]


def test_after_the_inner_loop_the_outer_names_vary_with_the_outer_loop_again(tmp_path):
    a = analyze(tmp_path, [
        "import glob\n"
        "for label in ['pos', 'neg']:\n"
        "    for p in glob.glob(f'data/r/{label}/*.txt'):\n        open(p).read()\n"
        "    open(f'data/r/{label}.meta').read()\n"
        "open(f'data/r/{label}.meta').read()"], FILES)
    assert unresolved(a) == []
    assert [r for r in rows(a) if r[5].endswith(".meta")] == [
        (0, 5, "open", "read", "text", "data/r/pos.meta", True),
        (0, 5, "open", "read", "text", "data/r/neg.meta", True),
        (0, 6, "open", "read", "text", "data/r/neg.meta", True),  # the last label
    ]


def test_a_probe_of_a_missing_path_is_not_an_access_unless_the_notebook_writes_it(tmp_path):
    a = analyze(tmp_path, [
        "import os\nfrom pathlib import Path\n"
        "print(os.path.exists('data/r/pos.meta'), Path('data/gone.json').exists(),\n"
        "      os.path.isfile('data/nope.csv'), os.path.exists('data/r'))",
        "print(os.path.exists('out/x.txt'))\nPath('out/x.txt').write_text('x')"], FILES)
    assert [(r[0], r[2], r[5]) for r in rows(a)] == [
        (0, "os.path.exists", "data/r/pos.meta"), (0, "os.path.exists", "data/r"),
        (1, "os.path.exists", "out/x.txt"), (1, "pathlib.Path.write_text", "out/x.txt")]


def test_a_listing_of_a_folder_the_notebook_makes_is_reported(tmp_path):
    a = analyze(tmp_path, [
        "import os, shutil\nprint(os.listdir('data/later'))\n"
        "os.makedirs('data/staging')\nshutil.copy('data/r/pos.meta', 'data/staging/p.meta')",
        "print(os.listdir('data/staging'))"], FILES)
    # data/later is neither there nor made: not a data access
    assert [(x.cell_index, x.line, x.api, x.format, x.path) for x in a.accesses
            if x.format == "listing"] == [(1, 1, "os.listdir", "listing", "data/staging")]
