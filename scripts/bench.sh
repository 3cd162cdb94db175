#!/usr/bin/env bash
# make bench: every benchmark in benchmarks/, printed as one table (arguments go to
# `python -m benchmarks`, e.g. --quick or --only s3,folder).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/venv.sh
bash scripts/ensure_postgres.sh >/dev/null
if [ -f test-artifacts/pg.env ]; then
    # a throwaway cluster was started: use it, and stop it afterwards
    # shellcheck disable=SC1091
    source test-artifacts/pg.env
    trap 'bash scripts/ensure_postgres.sh stop' EXIT
fi
PYTHONPATH="$PWD" .venv/bin/python -m benchmarks "$@"
