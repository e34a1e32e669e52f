# The kit's own image: runs the runbooks headlessly, e.g. as a scheduled Cloud Run job (README, "Running against
# your own project", step 5: "Every night, as a Cloud Run job").
#   docker build -f docker/runbook.Dockerfile -t phase-runbooks .
#   docker run --rm -v "$PWD/reports:/app/reports" phase-runbooks                      # `runbook demo`
#   docker run --rm phase-runbooks overnight params/my-plan.yaml --target gcp          # a real project
# Build from the repository root (the context must contain the files copied below).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    RUNBOOK_HOME=/app/.runbook \
    RUNBOOK_PHASES=/app/params/phases.yaml

# git: the sandbox's source repository is a real git checkout.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# The dependencies, read from pyproject.toml alone: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])"

# Then the kit itself, without touching the dependencies: a code edit reinstalls only this.
COPY README.md ./
COPY runbook_lib/ runbook_lib/
RUN pip install --no-deps .

COPY notebooks/ notebooks/
COPY params/ params/

# Register this interpreter as the notebooks' kernel at build time (the runner would do it on first use).
RUN python -c "from runbook_lib.runner import ensure_kernelspec; ensure_kernelspec()"

# The default is `make demo`'s command: reset the sandbox, run its overnight plan, stop its services.
ENTRYPOINT ["runbook"]
CMD ["demo"]
