# Two commands do all the set-up on a fresh machine with Python 3.11 and pip:
#   make demo   - (re)build the sandbox, run the overnight runbooks, print the morning-review report path
#   make test   - run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install sandbox clean bench bytecode

# uv installs what pip would (the same index, the same pins in pyproject.toml) in a third of the time: 35 s instead
# of 90-180 s on a 2-core machine, each clean CI clone's first step. --compile-bytecode does what pip does by
# default: without it, where PYTHONDONTWRITEBYTECODE is set, every kernel, service and CLI process compiled the
# packages it imports again (the test run took 25 minutes instead of 18). uv reads no pip.conf: an index of one's
# own is UV_INDEX_URL (or `.venv/bin/pip install -e '.[test]'` in the venv make created).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' || \
	  { echo "phase-runbooks needs Python 3.11 to 3.13; run make PYTHON=python3.11 ..."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24" "uv>=0.5,<1"
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# The kit's own bytecode, written once (changed files only; under a second): a night and a test run start hundreds
# of Python processes (kernels, phase services, the CLI), and where PYTHONDONTWRITEBYTECODE is set, as in many CI
# and container images, each compiled the library again (0.3-0.9 s a process). Not the sandbox's source template:
# it is the phases' code, copied into the sandbox's repository as it is.
bytecode: $(STAMP)
	$(PY) -m compileall -q -x 'source_template' runbook_lib

# `runbook demo` is the whole demo, shared with the Docker image's default command: reset the sandbox to
# the incident morning (the night redeploys for real in it), run params/overnight-sandbox.yaml, stop the
# services it started; finding the incident (verdicts fail or blocked) counts as success.
demo: $(STAMP) bytecode
	$(VENV)/bin/runbook demo

sandbox: $(STAMP)
	$(VENV)/bin/runbook sandbox init
	$(VENV)/bin/runbook sandbox status

# Two test processes (pytest-xdist), one per core of the 2-core machines CI runs on; PYTEST_WORKERS=0 runs
# them in this process (a debugger, -x on the first failure in file order).
PYTEST_WORKERS ?= 2
test: $(STAMP) bytecode
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench

clean:
	-$(VENV)/bin/runbook sandbox stop
	rm -rf .runbook reports .pytest_cache
