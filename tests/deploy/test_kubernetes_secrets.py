"""Issue 16 rows 5 and 10 on Kubernetes: each pod gets only its own secrets, the brokers
run secured by default, and the one-shot setup (streams as the NATS admin, the database
logins as the owner) is a pair of Jobs beside each overlay, never in its main apply."""

from __future__ import annotations

import re

import pytest

from .conftest import OVERLAYS, SERVICE_SECRETS, by_kind, config_of, pod_spec, secret_of
from .test_kubernetes import service_workloads

# {workload: the secret-borne variables its container may see}
OWN = {
    "ingest": {"MQTT_PASSWORD", "NATS_PASSWORD"},
    "projector": {"DATABASE_URL", "NATS_PASSWORD"},
    "query": {"DATABASE_URL", "NATS_PASSWORD"},
}


def secret_variables(docs: list[dict], container: dict) -> dict[str, tuple[str, str]]:
    """{variable: (secret, key)} for every variable a container gets from a Secret."""
    secrets = by_kind(docs, "Secret")
    found = {}
    for ref in container.get("envFrom", []):
        if "secretRef" in ref:
            name = ref["secretRef"]["name"]
            found |= {key: (name, key) for key in secrets[name]["stringData"]}
    for var in container.get("env", []):
        source = var.get("valueFrom", {}).get("secretKeyRef")
        if source:
            found[var["name"]] = (source["name"], source["key"])
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_gets_only_its_own_secrets(rendered, overlay):
    docs = rendered[overlay]
    for name, workload in service_workloads(docs).items():
        [container] = pod_spec(workload)["containers"]
        held = secret_variables(docs, container)
        assert set(held) == OWN[name], f"{name} gets {sorted(held)}"
        assert held["NATS_PASSWORD"] == ("tonypi-nats", name), "its own NATS user's password"
        for variable, (secret, _key) in held.items():
            assert secret in (SERVICE_SECRETS[name], "tonypi-nats"), f"{name}.{variable} from {secret}"
        assert not pod_spec(workload).get("volumes") or all(
            "secret" not in v for v in pod_spec(workload)["volumes"]
        )
    users = {
        name: re.match(r"postgresql://(\w+):", secret_of(docs, SERVICE_SECRETS[name])["DATABASE_URL"]).group(
            1
        )
        for name in ("projector", "query")
    }
    assert users == {"projector": "tonypi_projector", "query": "tonypi_query"}
    ingest_env = {
        e["name"]: e.get("value")
        for e in pod_spec(by_kind(docs, "StatefulSet")["ingest"])["containers"][0]["env"]
    }
    assert ingest_env["MQTT_USERNAME"] == "ingest"
    config = config_of(docs)
    assert not any("PASSWORD" in key for key in config) and "DATABASE_URL" not in config, (
        "a secret in the ConfigMap"
    )
    assert not any("@" in value for value in config.values()), "credentials in a URL of the ConfigMap"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_mosquitto_runs_with_the_acl_and_a_password_file(rendered, overlay):
    docs = rendered[overlay]
    [container] = pod_spec(by_kind(docs, "StatefulSet")["mosquitto"])["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert set(env) == {"MOSQUITTO_PASSWORD_FILE"}, "no shared login, no anonymous mode"
    password_file = env["MOSQUITTO_PASSWORD_FILE"]["value"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    directory, _, key = password_file.rpartition("/")
    volumes = {v["name"]: v for v in pod_spec(by_kind(docs, "StatefulSet")["mosquitto"])["volumes"]}
    assert volumes[mounts[directory]["name"]]["secret"]["secretName"] == "mosquitto-passwd"
    assert key in secret_of(docs, "mosquitto-passwd")
    assert mounts["/tonypi/acl"]["subPath"] == "acl" and "/tonypi/entrypoint.sh" in mounts


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingest_runs_with_strict_identity_and_refuses_idless_topics(rendered, overlay):
    config = config_of(rendered[overlay])
    assert config["INGEST_STRICT_IDENTITY"] == "true"
    assert config["INGEST_IDLESS_TOPICS"] == "answers"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_setup_jobs_declare_the_streams_and_make_the_database_logins(rendered, overlay):
    jobs = by_kind(rendered[f"{overlay}/setup"], "Job")
    assert set(jobs) == {"tonypi-streams", "tonypi-db-roles"}
    projector = pod_spec(by_kind(rendered[overlay], "Deployment")["projector"])["containers"][0]
    docs = rendered[overlay]
    commands = {
        "tonypi-streams": ["tonypi", "streams", "declare"],
        "tonypi-db-roles": ["tonypi", "db", "roles"],
    }
    for name, job in jobs.items():
        [container] = pod_spec(job)["containers"]
        assert container["command"] == commands[name]
        assert container["image"] == projector["image"], "the deployed CLI"
        assert pod_spec(job)["restartPolicy"] == "Never"
    streams = pod_spec(jobs["tonypi-streams"])["containers"][0]
    assert {"name": "NATS_USER", "value": "admin"} in streams["env"]
    assert secret_variables(docs, streams) == {"NATS_PASSWORD": ("tonypi-nats", "admin")}
    assert streams["envFrom"] == [{"configMapRef": {"name": "tonypi-config"}}], (
        "the overlay's STREAM_REPLICAS"
    )
    roles = pod_spec(jobs["tonypi-db-roles"])["containers"][0]
    assert secret_variables(docs, roles) == {
        "DATABASE_URL": ("tonypi-db-admin", "DATABASE_URL"),
        "PROJECTOR_DATABASE_URL": ("tonypi-projector", "DATABASE_URL"),
        "QUERY_DATABASE_URL": ("tonypi-query", "DATABASE_URL"),
    }
    assert not any(d["kind"] == "Job" for d in docs), "Jobs stay out of the main apply"
    for workload in (*by_kind(docs, "Deployment").values(), *by_kind(docs, "StatefulSet").values()):
        for container in pod_spec(workload)["containers"]:
            held = {secret for secret, _key in secret_variables(docs, container).values()}
            assert "tonypi-db-admin" not in held, f"{workload['metadata']['name']} has the owner's login"
