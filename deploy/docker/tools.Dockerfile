# syntax=docker/dockerfile:1
# tonypi-tools image: the `tonypi` CLI with every package, for the simulated fleet
# (`docker compose --profile sim up`) and one-off operator commands. Not a service:
# no port, no HEALTHCHECK. Build from the repository root:
#   docker build -f deploy/docker/tools.Dockerfile -t tonypi/tools .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY constraints.txt deploy/docker/third_party.py ./
COPY libs/events/pyproject.toml libs/events/
COPY libs/runtime/pyproject.toml libs/runtime/
COPY services/ingest/pyproject.toml services/ingest/
COPY services/projector/pyproject.toml services/projector/
COPY services/query/pyproject.toml services/query/
COPY cli/pyproject.toml cli/
# Third-party wheels first, from the pyproject files alone: a change to our code reuses
# this layer instead of downloading and building every dependency again.
RUN python third_party.py libs/events libs/runtime services/ingest services/projector services/query cli > requirements.txt \
 && pip wheel --wheel-dir /wheels -c constraints.txt -r requirements.txt
COPY libs libs
COPY services services
COPY cli cli
RUN pip wheel --wheel-dir /wheels --no-deps \
        ./libs/events ./libs/runtime ./services/ingest ./services/projector ./services/query ./cli \
 && python -m venv /opt/tonypi \
 && /opt/tonypi/bin/pip install --no-index --find-links /wheels -c constraints.txt tonypi-cli \
 && /opt/tonypi/bin/pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 tonypi \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin tonypi
COPY --from=build /opt/tonypi /opt/tonypi
ENV PATH=/opt/tonypi/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
HEALTHCHECK NONE
CMD ["tonypi", "--help"]
