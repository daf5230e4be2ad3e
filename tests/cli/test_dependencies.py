"""Which MQTT broker, NATS and PostgreSQL `tonypi up` uses: configured, already running,
or embedded. Against real sockets: the services the run was given (TEST_*_URL), which are
this machine's on the default addresses, or those `make test` embedded on free ports on a
machine without any (then nothing answers on the defaults, and the one test of "unset and
answering there" is skipped, saying so)."""

import subprocess
import sys

import pytest
from tonypi_cli.dependencies import DEPENDENCIES, choose, is_loopback
from tonypi_cli.probes import tcp_answers

from tests.conftest import MQTT_URL, NATS_URL, PG_ADMIN_URL
from tests.support.ports import free_port

from .conftest import BASE_ENV

# What the run was given, as `tonypi up`'s own variables (PostgreSQL: up's database on that server).
GIVEN = {
    "mqtt": MQTT_URL,
    "nats": NATS_URL,
    "postgres": PG_ADMIN_URL.rsplit("/", 1)[0] + "/tonypi_db",
}


async def default_answers(dependency) -> bool:
    url = dependency.parse({})
    return await tcp_answers(url.host, url.port)


@pytest.mark.parametrize("dependency", DEPENDENCIES, ids=lambda d: d.name)
@pytest.mark.integration  # reaches the brokers or starts `tonypi up`
async def test_unset_and_answering_on_the_default_address_is_used(dependency, tmp_path):
    if not await default_answers(dependency):
        pytest.skip(f"nothing answers at {dependency.default} here (make test embedded it on a free port)")
    choice = await choose(dependency, {}, tmp_path)
    assert (choice.how, choice.value, choice.embedded) == ("running", dependency.default, None)
    assert choice.describe() == f"{dependency.name}: using {choice.url.redacted} (already running)"


@pytest.mark.parametrize("dependency", DEPENDENCIES, ids=lambda d: d.name)
@pytest.mark.integration  # reaches the brokers or starts `tonypi up`
async def test_configured_and_answering_is_used_as_configured(dependency, tmp_path):
    env = {dependency.variable: GIVEN[dependency.name]}
    choice = await choose(dependency, env, tmp_path, embedded_when_down=True)
    assert (choice.how, choice.value, choice.answering, choice.embedded) == (
        "configured",
        GIVEN[dependency.name],
        True,
        None,
    )
    assert choice.describe() == f"{dependency.name}: using {choice.url.redacted} ({dependency.variable})"


@pytest.mark.parametrize("dependency", DEPENDENCIES, ids=lambda d: d.name)
async def test_configured_but_down_is_used_unless_asked_to_embed(dependency, tmp_path):
    port = free_port()
    scheme = dependency.default.split(":")[0]
    value = f"{scheme}://127.0.0.1:{port}" + ("/tonypi_db" if dependency.name == "postgres" else "")
    env = {dependency.variable: value}

    kept = await choose(dependency, env, tmp_path)
    assert (kept.how, kept.value, kept.answering, kept.embedded) == ("configured", value, False, None)
    assert "not answering yet, the services will retry" in kept.describe()

    embedded = await choose(dependency, env, tmp_path, embedded_when_down=True)
    assert embedded.how == "embedded" and embedded.value == value
    assert str(port) in embedded.embedded.spec.argv
    if embedded.embedded.data_dir is not None:
        assert embedded.embedded.data_dir.parent == tmp_path


def test_only_loopback_addresses_get_an_embedded_server():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("10.0.0.5") and not is_loopback("db.example")


@pytest.mark.integration  # reaches the brokers or starts `tonypi up`
async def test_up_uses_running_services_and_stops_everything_when_a_service_dies(tmp_path):
    """What answers is used, so nothing is embedded: the defaults when this machine's
    services run there, else the services the run was given, set in up's variables. A bad
    setting makes a service exit 2, which stops the run with exit code 1 and says why (one
    only ingest reads: a stream setting is refused by up's own declare step, before any
    service starts)."""
    on_defaults = all([await default_answers(d) for d in DEPENDENCIES])
    given = {} if on_defaults else {d.variable: GIVEN[d.name] for d in DEPENDENCIES}
    env = {
        **BASE_ENV,
        **given,
        "MQTT_RECEIVE_MAXIMUM": "70000",
        "TONYPI_DATA_DIR": str(tmp_path),
        "INGEST_PORT": str(free_port()),
        "PROJECTOR_PORT": str(free_port()),
        "QUERY_PORT": str(free_port()),
    }
    run = subprocess.run(
        [sys.executable, "-m", "tonypi_cli", "up", "--robots", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    for d in DEPENDENCIES:
        how = "already running" if on_defaults else d.variable
        assert f"{d.name}: using {d.parse(given).redacted} ({how})" in run.stdout
    assert "exited with code 2; stopping everything" in run.stdout
    assert "MQTT_RECEIVE_MAXIMUM=70000 must be at most 65535" in run.stdout
    assert run.stdout.rstrip().endswith("up: stopped")
    assert list(tmp_path.iterdir()) == []  # nothing embedded, nothing written


@pytest.mark.integration  # reaches the brokers or starts `tonypi up`
def test_a_malformed_url_is_one_line_naming_the_variable_and_exit_2(tmp_path):
    env = {**BASE_ENV, "NATS_URL": "http://127.0.0.1:4222", "TONYPI_DATA_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "tonypi_cli", "up"], env=env, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 2, run.stdout + run.stderr
    expected = "tonypi up: configuration error: NATS_URL='http://127.0.0.1:4222' must start with nats://"
    assert expected in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
