"""docker-compose.yml: valid against the Compose Specification schema (the copy that
check-jsonschema ships, `vendor.compose-spec`), and wired as docs/deploy.md says: services
configured only by environment, no committed secret, every bind mount present, the sim
profile, Prometheus scraping each service where it listens."""

from __future__ import annotations

import copy
import re
import subprocess

import pytest
import yaml

from .conftest import DEPLOY, REPO, run, tool
from .test_kubernetes import SERVICES, _names_in_code

INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}")
SECRETS = (
    "POSTGRES_PASSWORD",
    "POSTGRES_PROJECTOR_PASSWORD",
    "POSTGRES_QUERY_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "MQTT_INGEST_PASSWORD",
    "MQTT_SIM_PASSWORD",
    "NATS_INGEST_PASSWORD",
    "NATS_PROJECTOR_PASSWORD",
    "NATS_QUERY_PASSWORD",
    "NATS_ADMIN_PASSWORD",
)


def check_compose_schema(path) -> subprocess.CompletedProcess:
    return run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path), check=False)


def test_compose_file_matches_the_compose_specification():
    done = check_compose_schema(REPO / "docker-compose.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_rejects_a_misspelt_key(tmp_path, compose):
    compose = copy.deepcopy(compose)
    compose["services"]["ingest"]["enviroment"] = compose["services"]["ingest"].pop("environment")
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(compose))
    done = check_compose_schema(broken)
    assert done.returncode == 1 and "enviroment" in done.stdout + done.stderr


def test_tonypi_services_are_configured_only_through_the_environment(compose):
    code = _names_in_code()
    for name, port in SERVICES.items():
        service = compose["services"][name]
        assert "volumes" not in service and "env_file" not in service and "configs" not in service
        assert service["build"]["context"] == "."
        assert (REPO / service["build"]["dockerfile"]).is_file()
        env = service["environment"]
        assert env["HTTP_HOST"] == "0.0.0.0" and env[f"{name.upper()}_PORT"] == str(port)
        unread = sorted(k for k in env if f'"{k}"' not in code)
        assert unread == [], f"{name}: nothing reads {unread}"


def test_no_secret_value_is_committed(compose):
    text = (REPO / "docker-compose.yml").read_text()
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if key.endswith("PASSWORD"):
                assert INTERPOLATION.fullmatch(str(value)), f"{name}.{key} is a literal"
            if str(value).startswith("postgresql://"):
                assert re.fullmatch(r"postgresql://\w+:\$\{POSTGRES_\w*PASSWORD:\?[^}]*\}@.*", value), (
                    f"{name}.{key} must take its password from .env"
                )
    for required in SECRETS:
        if required != "MQTT_SIM_PASSWORD":  # the optional sim profile's
            assert f"${{{required}:?" in text, f"{required} must be required, never defaulted"


def test_env_example_lists_every_variable_with_empty_secrets(compose):
    used = set(INTERPOLATION.findall((REPO / "docker-compose.yml").read_text()))
    example = dict(
        line.split("=", 1)
        for line in (REPO / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert used - set(example) == set(), "variables compose reads but .env.example does not show"
    assert set(example) - used == set(), ".env.example shows variables compose never reads"
    for secret in SECRETS:
        assert example[secret] == "", f"{secret} must be a blank placeholder"
    assert ".env" in (REPO / ".dockerignore").read_text().split()


def mount(volume: str) -> tuple[str, str]:
    """(source, target) of a short-syntax volume; the source may be a `${VAR:?message}`."""
    source, target = re.fullmatch(r"(.*?):(/[^:]*)(?::ro)?", volume).groups()
    return source, target


def test_bind_mounts_exist_and_data_lives_on_volumes(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = mount(volume)[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            elif source.startswith("${"):
                assert INTERPOLATION.fullmatch(source), f"{name} mounts {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
    mounts = {
        name: {mount(v)[1] for v in compose["services"][name]["volumes"] if mount(v)[0] in compose["volumes"]}
        for name in ("mosquitto", "nats", "postgres", "prometheus", "grafana")
    }
    assert mounts["postgres"] == {"/var/lib/postgresql/data"}
    assert mounts["mosquitto"] == {"/mosquitto/data"}
    assert mounts["nats"] == {"/data"}
    mosquitto_conf = (DEPLOY / "k8s/base/mosquitto/mosquitto.conf").read_text()
    assert re.search(r"^persistence true$", mosquitto_conf, re.M)
    assert re.search(r"^persistence_location /mosquitto/data/$", mosquitto_conf, re.M)
    nats_conf = (DEPLOY / "k8s/components/nats-single/nats.conf").read_text()
    assert re.search(r"^\s*store_dir: /data/", nats_conf, re.M), "JetStream stores off the volume"


def test_dependencies_exist_and_can_become_healthy(compose):
    """What the schema cannot see: `depends_on` names a real service, and waiting for
    service_healthy needs a healthcheck there (our images declare theirs in the Dockerfile)."""
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", {})
        for target, condition in (
            depends.items()
            if isinstance(depends, dict)
            else ((t, {"condition": "service_started"}) for t in depends)
        ):
            assert target in services, f"{name} depends on unknown {target}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}: no healthcheck"


def test_mosquitto_is_tuned_for_ingest():
    """The broker settings docs/ingest.md says the deployment needs."""
    conf = (DEPLOY / "k8s/base/mosquitto/mosquitto.conf").read_text()
    assert re.search(r"^set_tcp_nodelay true$", conf, re.M), "QoS 1 crawls with Nagle's algorithm"
    assert int(re.search(r"^max_inflight_messages (\d+)$", conf, re.M).group(1)) >= 1000, "3.1.1 window"
    queued = int(re.search(r"^max_queued_messages (\d+)$", conf, re.M).group(1))
    assert queued == 0 or queued >= 10_000, "a full queue drops QoS 1 messages"


def test_published_ports_listen_where_configured(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("${PUBLISH_ADDRESS:-127.0.0.1}:"), f"{name} publishes {port} everywhere"


def test_scaling_design_ingest_shares_and_projector_stands_by(compose):
    projector = compose["services"]["projector"]
    replicas = {n: s for n, s in compose["services"].items() if n == "ingest" or n.startswith("ingest-")}
    assert len(replicas) >= 2
    assert {s["environment"]["MQTT_SHARED_GROUP"] for s in replicas.values()} == {"tonypi-ingest"}
    for name, service in replicas.items():
        assert "replicas" not in service.get("deploy", {}), f"{name}: replicas would share one client id"
        if name != "ingest":  # the others answer to "ingest" too: Prometheus scrapes them all
            assert "ingest" in service["networks"]["default"]["aliases"]
    assert projector["deploy"]["replicas"] == 2


def test_every_ingest_replica_keeps_a_persistent_session_under_its_own_fixed_id(compose):
    """Issue 8, row 7: without MQTT_CLIENT_ID an ingest crash lost what the broker held for it.
    The id is a literal, so a restarted or re-created container resumes the same session."""
    ids = [
        s["environment"].get("MQTT_CLIENT_ID")
        for n, s in compose["services"].items()
        if n == "ingest" or n.startswith("ingest-")
    ]
    assert all(ids) and len(set(ids)) == len(ids), ids
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids), "a fixed id, not an interpolation"


def test_sim_profile_adds_the_simulated_fleet(compose):
    profiled = {name: s["profiles"] for name, s in compose["services"].items() if "profiles" in s}
    assert profiled == {"sim": ["sim"]}, "only the fleet is optional; `docker compose up` starts the rest"
    sim = compose["services"]["sim"]
    assert sim["command"][:3] == ["tonypi", "simulate", "--robots"]
    assert sim["command"][3] == "${SIM_ROBOTS:-10}"
    assert sim["environment"]["MQTT_URL"] == compose["services"]["ingest"]["environment"]["MQTT_URL"]


def test_prometheus_scrapes_every_replica_of_each_service(compose):
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in SERVICES.items():
        [sd] = jobs[f"tonypi-{name}"]["dns_sd_configs"]
        assert sd["names"] == [name] and sd["type"] == "A", "one address per replica"
        assert sd["port"] == port == int(compose["services"][name]["environment"][f"{name.upper()}_PORT"])
    mounted = {mount(v)[1] for v in compose["services"]["prometheus"]["volumes"]}
    assert {f"/etc/prometheus/{rule}" for rule in config["rule_files"]} <= mounted


def test_grafana_is_provisioned_and_password_protected(compose):
    grafana = compose["services"]["grafana"]
    mounts = {mount(v)[1]: mount(v)[0] for v in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert mounts["/var/lib/grafana/dashboards"] == "./deploy/grafana/dashboards"
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/tonypi.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


@pytest.mark.parametrize("name", ["mosquitto", "nats", "postgres", "prometheus", "grafana"])
def test_third_party_images_are_pinned(compose, name):
    image = compose["services"][name]["image"]
    assert re.search(r":v?\d+\.\d+", image), f"{image} floats"


# What each TonyPi container may know (issue 16 row 5): its own logins, nobody else's.
OWN_SECRETS = {
    "ingest": {"MQTT_PASSWORD", "NATS_PASSWORD"},
    "ingest-2": {"MQTT_PASSWORD", "NATS_PASSWORD"},
    "projector": {"DATABASE_URL", "NATS_PASSWORD"},
    "query": {"DATABASE_URL", "NATS_PASSWORD"},
    "db-roles": {"DATABASE_URL", "PROJECTOR_DATABASE_URL", "QUERY_DATABASE_URL"},
    "streams": {"NATS_PASSWORD"},
    "sim": {"MQTT_PASSWORD"},
}


def secrets_in(environment: dict) -> dict[str, str]:
    """The variables that carry a secret from .env: {variable: the .env secret it holds}."""
    held = {}
    for key, value in environment.items():
        named = [v for v in INTERPOLATION.findall(str(value)) if v in SECRETS]
        if named:
            [held[key]] = named
    return held


def test_each_service_gets_only_its_own_secrets(compose):
    services = compose["services"]
    tonypi = {n for n, s in services.items() if str(s.get("image", "")).startswith("tonypi/")}
    assert tonypi == set(OWN_SECRETS)
    for name, expected in OWN_SECRETS.items():
        held = secrets_in(services[name]["environment"])
        assert set(held) == expected, f"{name} gets {sorted(held)}"
    own = {
        "ingest": ("MQTT_INGEST_PASSWORD", "NATS_INGEST_PASSWORD"),
        "projector": ("POSTGRES_PROJECTOR_PASSWORD", "NATS_PROJECTOR_PASSWORD"),
        "query": ("POSTGRES_QUERY_PASSWORD", "NATS_QUERY_PASSWORD"),
        "streams": ("NATS_ADMIN_PASSWORD",),
    }
    for name, passwords in own.items():
        assert set(secrets_in(services[name]["environment"]).values()) == set(passwords), name
    assert services["projector"]["environment"]["DATABASE_URL"].startswith("postgresql://tonypi_projector:")
    assert services["query"]["environment"]["DATABASE_URL"].startswith("postgresql://tonypi_query:")
    for name in ("ingest", "ingest-2"):
        assert "DATABASE_URL" not in services[name]["environment"], "ingest has no database access"
    for name in ("projector", "query"):
        assert not {k for k in services[name]["environment"] if k.startswith("MQTT_")}, (
            f"{name} needs no MQTT"
        )
    assert services["ingest"]["environment"]["MQTT_USERNAME"] == "ingest"  # the ACL's user


def test_one_shot_steps_run_before_the_services(compose):
    """The streams declared as the NATS admin, the database logins made by the owner; the
    services start only once both completed (issue 16: no service creates a stream)."""
    services = compose["services"]
    steps = {"streams": ["tonypi", "streams", "declare"], "db-roles": ["tonypi", "db", "roles"]}
    for step, command in steps.items():
        service = services[step]
        assert service["command"] == command and service["restart"] == "no"
        assert service["image"] == services["projector"]["image"], "the image that carries the CLI"
    assert services["streams"]["environment"]["NATS_USER"] == "admin"
    assert services["db-roles"]["environment"]["DATABASE_URL"].startswith("postgresql://tonypi:")
    needs = {"ingest": {"streams"}, "ingest-2": {"streams"}, "projector": set(steps), "query": set(steps)}
    for name, wanted in needs.items():
        depends = services[name]["depends_on"]
        for step in wanted:
            assert depends[step] == {"condition": "service_completed_successfully"}, f"{name} on {step}"


def test_brokers_are_secured_by_default(compose):
    """Row 10: Mosquitto with the ACL and a password file, NATS with auth.conf, ingest
    with strict identity and id-less topics refused, in the shipped compose file."""
    mosquitto = compose["services"]["mosquitto"]
    targets = {mount(v)[1]: mount(v)[0] for v in mosquitto["volumes"]}
    password_file = mosquitto["environment"]["MOSQUITTO_PASSWORD_FILE"]
    assert INTERPOLATION.fullmatch(targets[password_file]).group(1) == "MOSQUITTO_PASSWD"
    assert "${MOSQUITTO_PASSWD:?" in targets[password_file], "required: no broker without it"
    assert targets["/tonypi/acl"] == "./deploy/k8s/base/mosquitto/acl"  # beside entrypoint.sh
    assert not {k for k in mosquitto["environment"] if k.startswith("MQTT_")}, "no shared login"
    nats = {mount(v)[1]: mount(v)[0] for v in compose["services"]["nats"]["volumes"]}
    assert nats["/etc/nats/auth.conf"].endswith("nats-single/auth.conf")
    for name in ("ingest", "ingest-2"):
        env = compose["services"][name]["environment"]
        assert env["INGEST_STRICT_IDENTITY"] == "true"
        assert env["INGEST_IDLESS_TOPICS"] == "${INGEST_IDLESS_TOPICS:-answers}"
    for ignored in (".gitignore", ".dockerignore"):
        assert "mosquitto.passwd" in (REPO / ignored).read_text().split(), ignored
