# digestbot container image.
#
#   docker build -t digestbot .
#   docker run -d --init --name digestbot --env-file .env -v digestbot-data:/data digestbot
#
# The corpus (seeds/) and configuration (config/) are baked into /app; mount your own over
# /app/seeds or /app/config to replace them. The database and the heartbeat live on the /data volume.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: install the package and its dependencies into a self-contained virtual environment ------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# The locked dependencies first (pinned with hashes: the versions CI tested), in their own cached layer.
COPY requirements/app.txt ./requirements/app.txt
RUN /opt/venv/bin/pip install --require-hashes -r requirements/app.txt
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-deps /wheels/digestbot-*.whl \
 && /opt/venv/bin/digestbot --version

# --- runtime: the venv, the corpus and the configuration, run as an unprivileged user -----------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    DIGESTBOT_CONFIG=/app/config/config.yaml \
    DIGESTBOT_DB=/data/digestbot.sqlite3 \
    DIGESTBOT_HEARTBEAT=/data/heartbeat.json
RUN groupadd --system --gid 10001 digestbot \
 && useradd --system --uid 10001 --gid digestbot --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin digestbot \
 && mkdir -p /data \
 && chown digestbot:digestbot /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY config ./config
COPY seeds ./seeds
USER 10001:10001
VOLUME /data
# Healthy while the bot's heartbeat (rewritten every 30 s) is fresh, the gateway connected and the
# database answering; the start period covers the first corpus load and the gateway login.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["digestbot", "health"]
STOPSIGNAL SIGTERM
# Exec form: SIGTERM reaches the bot, which closes the gateway and the database. Run it with an init as PID 1
# (`init: true` in docker-compose.yml, `docker run --init`), which reaps the loader's worker processes.
CMD ["digestbot", "run"]
