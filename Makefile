# make demo   set up .venv, then analyse, run, migrate and verify the sales notebook
# make test   the full suite (virtualenv, PostgreSQL, ruff, pytest)
# make lint   ruff
# make bench  every benchmark, one table: stork against the reference tools (about 15 min)

.PHONY: demo test lint venv data bench

venv:
	bash scripts/venv.sh

data: venv
	.venv/bin/python notebooks/make_data.py

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

lint: venv
	.venv/bin/ruff check .

bench:
	bash scripts/bench.sh
