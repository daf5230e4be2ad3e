# syntax=docker/dockerfile:1
# tonypi-ingest image. Build from the repository root (the build shares libs/):
#   docker build -f deploy/docker/ingest.Dockerfile -t tonypi/ingest .
ARG PYTHON_IMAGE=python:3.11-slim

# --- build: wheels for our packages and every dependency, pinned by constraints.txt ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY constraints.txt deploy/docker/third_party.py ./
COPY libs/events/pyproject.toml libs/events/
COPY libs/runtime/pyproject.toml libs/runtime/
COPY services/ingest/pyproject.toml services/ingest/
# Third-party wheels first, from the pyproject files alone: a change to our code reuses
# this layer instead of downloading and building every dependency again.
RUN python third_party.py libs/events libs/runtime services/ingest > requirements.txt \
 && pip wheel --wheel-dir /wheels -c constraints.txt -r requirements.txt
COPY libs/events libs/events
COPY libs/runtime libs/runtime
COPY services/ingest services/ingest
RUN pip wheel --wheel-dir /wheels --no-deps ./libs/events ./libs/runtime ./services/ingest \
 && python -m venv /opt/tonypi \
 && /opt/tonypi/bin/pip install --no-index --find-links /wheels -c constraints.txt tonypi-ingest \
 && /opt/tonypi/bin/pip uninstall --yes pip setuptools

# --- runtime: only the venv (pip removed); wheels and sources stay in the build stage ---
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 tonypi \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin tonypi
COPY --from=build /opt/tonypi /opt/tonypi
COPY deploy/docker/healthcheck.py /opt/tonypi/healthcheck.py
# Configuration comes only from the environment (docs/deploy.md); these are the
# container defaults: listen on every interface of the container, JSON log lines.
ENV PATH=/opt/tonypi/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    INGEST_PORT=9101 \
    LOG_FORMAT=json
USER 10001:10001
EXPOSE 9101
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "/opt/tonypi/healthcheck.py", "INGEST_PORT", "9101"]
CMD ["tonypi-ingest"]
