# make demo   set up .venv, make the example data, analyse the sales notebook
# make test   the full suite (virtualenv, PostgreSQL, ruff, pytest)
# make lint   ruff

.PHONY: demo test lint venv data

venv:
	bash scripts/venv.sh

data: venv
	.venv/bin/python notebooks/make_data.py

demo: data
	.venv/bin/stork analyze notebooks/sales_analysis.ipynb

test:
	bash scripts/test.sh

lint: venv
	.venv/bin/ruff check .
