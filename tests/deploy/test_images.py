"""The Dockerfiles, read with Docker's own parser (the `dockerfile` package wraps
moby/buildkit's), since no Docker engine runs here to build them: two stages, a slim
non-root runtime with a /livez HEALTHCHECK and nothing of the build left in it, every
local package a service needs copied in, every third-party package pinned. The health
check script itself runs against real HTTP servers."""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import dockerfile
import pytest
from aiohttp import web
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from tonypi_runtime.ops import OpsServer

from tests.support.ports import free_port

from .conftest import DEPLOY, REPO
from .test_kubernetes import SERVICES

DOCKER = DEPLOY / "docker"
HEALTHCHECK = DOCKER / "healthcheck.py"
LOCAL_SOURCES = {
    "tonypi-events": "libs/events",
    "tonypi-runtime": "libs/runtime",
    "tonypi-ingest": "services/ingest",
    "tonypi-projector": "services/projector",
    "tonypi-query": "services/query",
    "tonypi-cli": "cli",
}


def stages(path: Path) -> list[list[dockerfile.Command]]:
    out: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM":
            out.append([])
        if out:
            out[-1].append(command)
    return out


def instructions(stage, name: str) -> list[dockerfile.Command]:
    return [c for c in stage if c.cmd == name]


def pyproject(source: str) -> dict:
    return tomllib.loads((REPO / source / "pyproject.toml").read_text())


def local_closure(package: str) -> set[str]:
    """The package and every tonypi-* package it depends on, transitively."""
    found, todo = set(), [package]
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            for dep in pyproject(LOCAL_SOURCES[name])["project"]["dependencies"]:
                dep_name = canonicalize_name(Requirement(dep).name)
                if dep_name in LOCAL_SOURCES:
                    todo.append(dep_name)
    return found


def dockerignored(relative: str) -> bool:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return any(
        fnmatch.fnmatch(relative, p)
        or fnmatch.fnmatch(relative, p.removeprefix("**/"))
        or relative.startswith(p.rstrip("/") + "/")
        for p in patterns
    )


@pytest.mark.parametrize("service", SERVICES)
def test_service_image_is_two_stage_slim_and_non_root(service):
    path = DOCKER / f"{service}.Dockerfile"
    args = [c.value[0] for c in dockerfile.parse_file(str(path)) if c.cmd == "ARG"]
    assert "PYTHON_IMAGE=python:3.11-slim" in args
    build, runtime = stages(path)
    assert build[0].value == ("${PYTHON_IMAGE}", "AS", "build")
    assert runtime[0].value == ("${PYTHON_IMAGE}",)
    [user] = instructions(runtime, "USER")
    uid = user.value[0].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, "a numeric non-root uid lets Kubernetes check runAsNonRoot"
    for run in instructions(runtime, "RUN"):
        assert not re.search(r"\b(apt-get|apk|pip|gcc|make)\b", run.value[0]), (
            f"the runtime stage installs or builds: {run.value[0]}"
        )
    copies = instructions(runtime, "COPY")
    assert [c.value for c in copies if c.flags == ("--from=build",)] == [("/opt/tonypi", "/opt/tonypi")]
    assert [c.value[0] for c in copies if not c.flags] == ["deploy/docker/healthcheck.py"]


@pytest.mark.parametrize("service", SERVICES)
def test_healthcheck_probes_livez_on_the_service_port(service):
    _, runtime = stages(DOCKER / f"{service}.Dockerfile")
    [check] = instructions(runtime, "HEALTHCHECK")
    variable, port = f"{service.upper()}_PORT", str(SERVICES[service])
    assert check.json and check.value == ("CMD", "python", "/opt/tonypi/healthcheck.py", variable, port)
    pairs = [v for c in instructions(runtime, "ENV") for v in c.value]  # the parser gives k1, v1, k2, v2...
    env = dict(zip(pairs[::2], pairs[1::2], strict=True))
    assert env["HTTP_HOST"] == "0.0.0.0" and env[variable] == port
    assert [c.value for c in instructions(runtime, "EXPOSE")] == [(port,)]


@pytest.mark.parametrize("service", SERVICES)
def test_image_runs_the_services_console_script(service):
    _, runtime = stages(DOCKER / f"{service}.Dockerfile")
    [cmd] = instructions(runtime, "CMD")
    scripts = pyproject(f"services/{service}")["project"]["scripts"]
    assert cmd.json and list(cmd.value) == [f"tonypi-{service}"] and cmd.value[0] in scripts


@pytest.mark.parametrize("image", [*SERVICES, "tools"])
def test_build_stage_copies_and_pins_everything_the_packages_need(image):
    build, _ = stages(DOCKER / f"{image}.Dockerfile")
    sources = [c.value[0] for c in instructions(build, "COPY")]
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such path"
        assert not dockerignored(source), f"COPY {source} is excluded by .dockerignore"
    script = " ".join(run.value[0] for run in instructions(build, "RUN"))
    top = "tonypi-cli" if image == "tools" else f"tonypi-{image}"
    for package in local_closure(top):
        source = LOCAL_SOURCES[package]
        assert any(source == s or source.startswith(s + "/") for s in sources), f"{source} not copied"
        assert f"./{source}" in script, f"{source} is not built"
    assert "constraints.txt" in sources
    for command in re.split(r"&&", script):
        if re.search(r"pip (wheel|install)", command) and "--no-deps" not in command:
            assert "-c constraints.txt" in command, f"unpinned: {command.strip()}"


def _pinned() -> set[str]:
    lines = (REPO / "constraints.txt").read_text().splitlines()
    return {
        canonicalize_name(line.split("==")[0]) for line in lines if "==" in line and not line.startswith("#")
    }


def _third_party_closure(package: str) -> set[str]:
    """Every third-party distribution `package` needs at run time, from the installed metadata."""
    found: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(package, frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for raw in metadata.requires(name) or []:
            req = Requirement(raw)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker and not any(req.marker.evaluate(env) for env in environments):
                continue
            dep = canonicalize_name(req.name)
            if dep not in LOCAL_SOURCES:
                found.add(dep)
            todo.append((dep, frozenset(req.extras)))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_every_third_party_package_in_the_image_is_pinned(service):
    """constraints.txt pins a package only if it lists it: one it misses would float."""
    unpinned = sorted(_third_party_closure(f"tonypi-{service}") - _pinned())
    assert unpinned == [], f"add to constraints.txt: {unpinned}"


def test_dockerignore_keeps_local_state_and_secrets_out():
    for path in (".git", ".venv", ".data", ".env", "services/ingest/tonypi_ingest.egg-info"):
        assert dockerignored(path), path


def _healthcheck(variable: str, port: int | str) -> subprocess.CompletedProcess:
    env = {**os.environ, variable: str(port)}
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), variable, "1"], env=env, capture_output=True, text=True, timeout=30
    )


async def test_healthcheck_passes_when_livez_answers():
    port = free_port()

    async def ready():
        return True, {}

    server = OpsServer("127.0.0.1", port, ready)
    await server.start()
    try:
        done = await asyncio.to_thread(_healthcheck, "QUERY_PORT", port)
    finally:
        await server.stop()
    assert done.returncode == 0, done.stderr


async def test_healthcheck_fails_when_livez_errs_or_nothing_listens():
    port = free_port()

    async def broken(_: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_get("/livez", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        erring = await asyncio.to_thread(_healthcheck, "INGEST_PORT", port)
    finally:
        await runner.cleanup()
    assert erring.returncode == 1 and "500" in erring.stderr
    silent = await asyncio.to_thread(_healthcheck, "INGEST_PORT", free_port())
    assert silent.returncode == 1 and "refused" in silent.stderr.lower()


@pytest.mark.parametrize("package", sorted(LOCAL_SOURCES))
def test_every_data_file_is_declared_package_data(package):
    """Images install wheels, not the source tree: a data file (catalogue, migration) that
    no package-data pattern names would be missing in the container only."""
    source = REPO / LOCAL_SOURCES[package]
    data = pyproject(LOCAL_SOURCES[package]).get("tool", {}).get("setuptools", {}).get("package-data", {})
    undeclared = []
    for module_dir in source.glob("tonypi_*"):
        if not module_dir.is_dir() or module_dir.name.endswith(".egg-info"):
            continue
        # As setuptools reads them: a package's own patterns are relative to its directory;
        # those under "*" apply in every (sub)package directory.
        own = data.get(module_dir.name, [])
        for path in module_dir.rglob("*"):
            if (
                path.is_file()
                and path.suffix not in (".py", ".pyc")
                and "__pycache__" not in path.parts
                and not any(fnmatch.fnmatch(path.relative_to(module_dir).as_posix(), p) for p in own)
                and not any(fnmatch.fnmatch(path.name, p) for p in data.get("*", []))
            ):
                undeclared.append(str(path.relative_to(REPO)))
    assert undeclared == [], f"add a package-data pattern for {undeclared}"
