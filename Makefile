# Two commands do all the set-up on a fresh machine with Python 3.11 and pip:
#   make demo   - build the sandbox, run the overnight runbooks, print the morning-review report path
#   make test   - run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install sandbox clean bench

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/runbook sandbox init
	$(VENV)/bin/runbook overnight params/overnight-sandbox.yaml

sandbox: $(STAMP)
	$(VENV)/bin/runbook sandbox init
	$(VENV)/bin/runbook sandbox status

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench

clean:
	-$(VENV)/bin/runbook sandbox stop
	rm -rf .runbook reports .pytest_cache
