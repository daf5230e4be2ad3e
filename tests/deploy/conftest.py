"""Fixtures for the deployment checks: the repo's deploy files, the tools that validate
them, and each kustomize overlay rendered once per session.

A missing tool fails the test that needs it, with the command that installs it; only a
tool PyPI does not carry is skipped, with its reason, outside CI (tests/support/tools.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod")
JOB_DIRS = ("replay", "setup")  # each overlay's directories of Jobs applied on demand
# Each service's own Secret (deploy/k8s/base/secret.yaml), and the database owner's.
SERVICE_SECRETS = {"ingest": "tonypi-ingest", "projector": "tonypi-projector", "query": "tonypi-query"}
DATABASE_SECRETS = ("tonypi-projector", "tonypi-query", "tonypi-db-admin")


def run(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def render(kustomization: Path) -> list[dict]:
    """`kubectl kustomize` (kustomize built into kubectl), parsed into documents."""
    out = run(tool("kubectl"), "kustomize", str(kustomization)).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """Every overlay and its on-demand Jobs, rendered: {"dev": [...], "dev/replay": [...],
    "dev/setup": [...], ...}."""
    out = {}
    for overlay in OVERLAYS:
        out[overlay] = render(K8S / "overlays" / overlay)
        for jobs in JOB_DIRS:
            out[f"{overlay}/{jobs}"] = render(K8S / "overlays" / overlay / jobs)
    return out


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def config_of(docs: list[dict]) -> dict[str, str]:
    return by_kind(docs, "ConfigMap")["tonypi-config"]["data"]


def secret_of(docs: list[dict], name: str) -> dict[str, str]:
    return by_kind(docs, "Secret")[name]["stringData"]


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())
