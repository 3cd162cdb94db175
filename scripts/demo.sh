#!/usr/bin/env bash
# The main job on the embedded defaults (local files, SQLite store): a copy of the example
# project in build/demo, its sales notebook analysed, executed, migrated to a local "lake"
# folder, and the migrated copy executed without the migrated files (stork verify).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/venv.sh
demo=build/demo
rm -rf "$demo"
mkdir -p "$demo/notebooks"
cp notebooks/*.ipynb notebooks/make_data.py "$demo/notebooks/"
cat >"$demo/stork.toml" <<'TOML'
# The demo project's destinations (no secrets here: credentials come from the environment).
[destinations.lake]
url = "lake"          # a folder next to this file
layout = "mirror"
TOML
.venv/bin/python "$demo/notebooks/make_data.py" >/dev/null
stork=.venv/bin/stork
nb="$demo/notebooks/sales_analysis.ipynb"

echo "== stork analyze"
$stork analyze "$nb"
echo
echo "== stork run (execute the original, keep its outputs)"
$stork run "$nb"
echo
echo "== stork migrate --to lake"
$stork migrate "$nb" --to lake -o "$demo/notebooks/sales_analysis.migrated.ipynb"
echo
echo "== stork verify (run the migrated copy without its migrated files)"
(cd "$demo" && ../../$stork verify notebooks/sales_analysis.migrated.ipynb)
echo
echo "== stork jobs"
(cd "$demo" && ../../$stork jobs)
