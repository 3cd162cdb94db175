# make demo   set up .venv, then analyse, run, migrate and verify the sales notebook
# make test   the full suite (virtualenv, PostgreSQL, ruff, pytest)
# make lint   ruff

.PHONY: demo test lint venv data

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
