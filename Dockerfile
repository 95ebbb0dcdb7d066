# Recurent in a container: a small, non-root image for the web server, the worker and backups.
# Build:  docker build -t recurent .
# Run:    docker compose up -d   (see compose.yaml and docs/operations.md)

# --- build: wheels of Recurent and everything it needs (gunicorn from the prod extra) -----------
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY recurent ./recurent
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[prod]"

# --- runtime -------------------------------------------------------------------------------------
FROM python:3.11-slim
# pg_dump/pg_restore for `recurent backup` and `recurent restore` on PostgreSQL.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /home/recurent --uid 10001 recurent \
 && mkdir -p /data /backups && chown recurent:recurent /data /backups
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels recurent[prod] && rm -rf /wheels
ENV DJANGO_SETTINGS_MODULE=recurent.settings.prod \
    RECURENT_DATA_DIR=/data \
    RECURENT_STATIC_ROOT=/home/recurent/static \
    PYTHONUNBUFFERED=1
# Static files are collected once, into the image (WhiteNoise serves them compressed, with
# far-future cache headers); the throwaway key exists only for this build step.
RUN RECURENT_SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-xx \
    recurent collectstatic --no-input -v0 && chown -R recurent:recurent /home/recurent
USER recurent
WORKDIR /home/recurent
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "recurent.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
