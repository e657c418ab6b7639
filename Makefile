# Two commands on a fresh machine:  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# four workers on two cores: many tests wait on processes they started (endpoints, jobs, Ray nodes), so the
# suite's wall time fell from 22-25 to 19 minutes here (2026-12-03); beside the CPU hogs two are enough
PYTEST_ARGS ?= -n 4 --dist loadgroup
CONTENDED_ARGS ?= -n 2 --dist loadgroup

.PHONY: demo test test-contended lint install dev bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	rm -rf .loopml-demo
	LOOPML_HOME=$(CURDIR)/.loopml-demo $(VENV)/bin/loopml demo

# the same loop on a team stack started here: Ray (head + 2 workers, loopback only), PostgreSQL, S3 (moto),
# Redis; prints which node ran what and stops everything it started
demo-team: $(VENV)/.installed-dev
	$(PY) -m loopml.demo.team

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests bench examples
	PYTHONPATH=$(CURDIR)/src $(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy --strict src/loopml

test: $(VENV)/.installed-dev lint
	$(PY) -m pytest $(PYTEST_ARGS)

# the suite beside CPU hogs at 2x the cores: slower is fine, a failure is a defect (RELIABILITY case 48); a test
# that starts endpoints takes minutes there, so the per-test limit is 900 s instead of 120 s
test-contended: $(VENV)/.installed-dev lint
	$(PY) .ci/with-cpu-hogs --per-core 2 -- $(PY) -m pytest $(CONTENDED_ARGS) --timeout 900

bench: $(VENV)/.installed-dev
	@for b in bench/*.py; do echo "== $$b" >&2; $(PY) $$b || exit 1; done

clean:
	rm -rf .loopml .loopml-demo .pytest_cache build dist test-output
