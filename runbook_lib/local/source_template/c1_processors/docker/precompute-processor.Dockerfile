# Phase 4 precompute processors
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app

WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY shared/ ./shared/
COPY data_processors/__init__.py ./data_processors/__init__.py
COPY data_processors/precompute/ ./data_processors/precompute/

ENV PORT=8080
CMD exec gunicorn --bind :$PORT --workers 1 --threads 4 --timeout 540 data_processors.precompute.main_precompute_service:app
