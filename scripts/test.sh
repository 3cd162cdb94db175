#!/usr/bin/env bash
# The full test suite: virtualenv, PostgreSQL, lint, pytest (arguments go to pytest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/venv.sh
bash scripts/ensure_chromium.sh

bash scripts/ensure_postgres.sh >/dev/null
if [ -f test-artifacts/pg.env ]; then
    # A throwaway cluster was started for this run: use it, and stop it afterwards.
    # shellcheck disable=SC1091
    source test-artifacts/pg.env
    trap 'bash scripts/ensure_postgres.sh stop' EXIT
fi

.venv/bin/ruff check .
# the engine imports no door (the contract is in pyproject.toml)
.venv/bin/lint-imports
.venv/bin/python -m pytest -q "$@"
