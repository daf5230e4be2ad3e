"""`make deploy-check` (deploy/check/, docs/deploy.md "The container check"), offline: its
compose override still fits docker-compose.yml as that file changes. The check itself
starts the stack (CI runs it); these fail in seconds, naming what to change, when a new
service, dependency, published port or replica would break it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from .conftest import DEPLOY, REPO, run

CHECK = DEPLOY / "check"
TONYPI = ("ingest", "ingest-2", "projector", "query")


class _ComposeLoader(yaml.SafeLoader):
    """Reads the Compose `!reset` / `!override` tags as the plain value they carry."""


def _plain(loader: yaml.SafeLoader, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    return (
        loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_scalar(node)
    )


_ComposeLoader.add_constructor("!reset", _plain)
_ComposeLoader.add_constructor("!override", _plain)


@pytest.fixture(scope="module")
def override() -> dict:
    return yaml.load((CHECK / "compose.check.yml").read_text(), Loader=_ComposeLoader)


def _array(name: str) -> list[str]:
    match = re.search(rf"^{name}=\(([^)]*)\)", (CHECK / "run.sh").read_text(), re.MULTILINE)
    assert match, f"deploy/check/run.sh no longer names {name}=(...)"
    return match.group(1).split()


def started_services() -> list[str]:
    """The services run.sh brings up, in its order: brokers, one-shots, then the services."""
    return [*_array("BROKERS"), *_array("ONE_SHOTS"), *_array("APPS")]


def test_the_one_shots_run_before_the_services_that_need_them(compose):
    """podman-compose waits on no depends_on condition: run.sh orders the steps itself, so a
    service's one-shot dependencies must come before it (the override drops them)."""
    one_shots, apps = _array("ONE_SHOTS"), _array("APPS")
    for name in apps:
        needed = set(compose["services"][name].get("depends_on", {}))
        assert needed <= {*_array("BROKERS"), *one_shots}, f"{name} needs {needed}: start it earlier"


def test_the_check_starts_the_tonypi_services_and_everything_they_depend_on(compose):
    started = started_services()
    assert set(TONYPI) <= set(started)
    for name in TONYPI:
        needed = set(compose["services"][name].get("depends_on", {}))
        assert needed <= set(started), (
            f"{name} depends on {needed - set(started)}, which the check does not start"
        )


def test_every_started_service_is_in_the_loopback_namespace_and_publishes_nothing(compose, override):
    for name in started_services():
        assert name in compose["services"], f"the check starts {name}, which docker-compose.yml lacks"
        checked = override["services"].get(name, {})
        assert checked.get("network_mode") == "host", f"{name}: network_mode: host (the namespace's loopback)"
        if compose["services"][name].get("ports"):
            assert checked.get("ports") == [], (
                f"{name} publishes ports: `ports: !reset []` in compose.check.yml"
            )
    assert set(override["services"]) <= set(compose["services"]), "compose.check.yml names unknown services"


def test_replicated_services_run_once_sharing_one_network(compose, override):
    for name in started_services():
        if compose["services"][name].get("deploy", {}).get("replicas", 1) > 1:
            assert override["services"][name]["deploy"]["replicas"] == 1, (
                f"{name}: its replicas would share a port"
            )


def test_tonypi_services_find_every_host_they_are_configured_with_on_loopback(compose, override):
    for name in TONYPI:
        environment = compose["services"][name]["environment"]
        hosts = {
            m.group(1)
            for value in environment.values()
            if isinstance(value, str)
            for m in re.finditer(r"://(?:[^@/]*@)?([A-Za-z][\w.-]*)", value)
        }
        mapped = dict(entry.split(":", 1) for entry in override["services"][name]["extra_hosts"])
        assert hosts <= set(mapped), f"{name} connects to {hosts - set(mapped)}: add it to extra_hosts"
        assert set(mapped.values()) == {"127.0.0.1"}


def test_stand_ins_replace_every_third_party_image_the_check_starts(compose, override):
    for name in started_services():
        if not compose["services"][name]["image"].startswith("tonypi/"):  # ours are built here
            assert override["services"][name]["image"] == "${CHECK_STANDINS_IMAGE}", (
                f"{name} runs {compose['services'][name]['image']}, which no registry here serves"
            )


def test_the_scripts_parse():
    for script in (*CHECK.glob("*.sh"), CHECK / "standins" / "postgres-entrypoint.sh"):
        shell = "sh" if script.read_text().startswith("#!/bin/sh") else "bash"
        run(shell, "-n", str(script))


def test_make_and_ci_run_the_check():
    assert "bash deploy/check/run.sh" in (REPO / "Makefile").read_text()
    assert "make deploy-check" in (REPO / ".ci" / "run").read_text()


def test_the_tonypi_services_listen_on_ports_of_their_own(compose, override):
    """One shared network: two services on one port would fail to start."""
    ports = {}
    for name in TONYPI:
        environment = {
            **compose["services"][name]["environment"],
            **override["services"][name].get("environment", {}),
        }
        port = next(value for key, value in environment.items() if key.endswith("_PORT"))
        assert port not in ports, f"{name} and {ports.get(port)} both listen on {port}"
        ports[port] = name


def test_no_package_host_is_written_in_the_repository():
    """Registries and mirrors come from the machine's own configuration (apt's sources,
    pip's config), never from a host named here; URLs to the stack's own services stay."""
    own = re.compile(r"https?://(127\.0\.0\.1|prometheus|\$\{?\w+|\{)[:/]")
    found = run(
        "git", "-C", str(REPO), "grep", "-nE", r"https?://", "--", "deploy", ".ci", "Makefile", check=False
    )
    hosts = [
        line
        for line in found.stdout.splitlines()
        if not all(own.match(u) for u in re.findall(r"https?://\S+", line))
    ]
    assert hosts == [], "\n".join(hosts)


def test_the_debian_archive_is_the_one_apt_uses(tmp_path):
    script = CHECK / "debian-mirror.sh"
    assert (
        run(
            "bash", str(script), env={"PATH": "/usr/bin:/bin", "DEBIAN_MIRROR": "http://m.test/debian/"}
        ).stdout
        == "http://m.test/debian\n"
    )
    if not (Path("/usr/bin/apt-get").exists() and Path("/etc/apt").is_dir()):
        pytest.skip("no apt on this machine")
    mirror = run("bash", str(script), env={"PATH": "/usr/bin:/bin"}).stdout.strip()
    sources = "\n".join(
        p.read_text()
        for p in (Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*"))
        if p.suffix in (".list", ".sources") and p.is_file()
    )
    assert mirror and mirror in sources, f"{mirror!r} is not in apt's sources"
