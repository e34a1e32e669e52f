# Two commands do all the set-up on a fresh machine with Python 3.11 and pip:
#   make demo   - (re)build the sandbox, run the overnight runbooks, print the morning-review report path
#   make test   - run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install sandbox clean bench

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' || \
	  { echo "phase-runbooks needs Python 3.11 to 3.13; run make PYTHON=python3.11 ..."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# Exit 3 from `runbook overnight` means a runbook's verdict was fail or blocked: on the sandbox that
# is the incident being found, so the demo still succeeds. Services start on demand; stop them after.
# The night redeploys for real in the sandbox, so every demo starts from a reset: the incident morning.
demo: $(STAMP)
	$(VENV)/bin/runbook sandbox reset
	@trap '$(VENV)/bin/runbook sandbox stop >/dev/null' EXIT; \
	  $(VENV)/bin/runbook overnight params/overnight-sandbox.yaml; rc=$$?; \
	  if [ $$rc -eq 3 ]; then echo "Some runbooks found problems (verdict fail or blocked): open the report above."; exit 0; fi; \
	  exit $$rc

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
