# The kit's own image: runs `runbook overnight` headlessly, e.g. as a scheduled Cloud Run job.
#   docker build -f docker/runbook.Dockerfile -t phase-runbooks .
#   docker run --rm -v "$PWD/reports:/app/reports" phase-runbooks                      # sandbox plan
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

# Dependencies first so code edits do not reinstall them.
COPY pyproject.toml README.md ./
COPY runbook_lib/ runbook_lib/
RUN pip install .

COPY notebooks/ notebooks/
COPY params/ params/

# Register this interpreter as the notebooks' kernel at build time (the runner would do it on first use).
RUN python -c "from runbook_lib.runner import ensure_kernelspec; ensure_kernelspec()"

ENTRYPOINT ["runbook"]
CMD ["overnight", "params/overnight-sandbox.yaml"]
