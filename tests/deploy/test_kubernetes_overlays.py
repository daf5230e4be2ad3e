"""What each kustomize overlay adds: prod's three-node NATS cluster and external database,
dev's in-cluster PostgreSQL and single NATS, the replay Job beside each, and a private
overlay that replaces the placeholder secret as docs/deploy.md says."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .conftest import DATABASE_SECRETS, K8S, OVERLAYS, by_kind, config_of, pod_spec, render, secret_of


def test_prod_runs_nats_as_a_three_node_jetstream_cluster(rendered):
    docs = rendered["prod"]
    nats = by_kind(docs, "StatefulSet")["nats"]
    assert nats["spec"]["replicas"] == 3
    assert config_of(docs)["STREAM_REPLICAS"] == "3"
    headless = by_kind(docs, "Service")[nats["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"]
    [config_map] = [c for n, c in by_kind(docs, "ConfigMap").items() if n.startswith("nats-config")]
    conf = config_map["data"]["nats.conf"]
    routes = re.findall(r"nats://([\w.-]+):6222", conf)
    assert routes == [f"nats-{i}.{nats['spec']['serviceName']}" for i in range(3)]
    assert "jetstream" in conf and "server_name: $POD_NAME" in conf
    env = {e["name"] for e in pod_spec(nats)["containers"][0]["env"]}
    assert "POD_NAME" in env
    budget = by_kind(docs, "PodDisruptionBudget")["nats"]
    assert budget["spec"]["maxUnavailable"] == 1, "losing two of three nodes loses the quorum"


def database_hosts(docs: list[dict]) -> set[str]:
    urls = [secret_of(docs, name)["DATABASE_URL"] for name in DATABASE_SECRETS]
    return {re.match(r"postgresql://[^@]+@([^:/]+)", url).group(1) for url in urls}


def test_prod_uses_an_external_database(rendered):
    docs = rendered["prod"]
    assert "postgres" not in by_kind(docs, "StatefulSet")
    [host] = database_hosts(docs)
    assert host not in by_kind(docs, "Service")


def test_dev_runs_postgresql_and_one_nats_node_in_the_cluster(rendered):
    docs = rendered["dev"]
    statefulsets = by_kind(docs, "StatefulSet")
    assert statefulsets["postgres"]["spec"]["volumeClaimTemplates"]
    assert statefulsets["nats"]["spec"]["replicas"] == 1
    assert config_of(docs)["STREAM_REPLICAS"] == "1"
    assert database_hosts(docs) == {"postgres"} and "postgres" in by_kind(docs, "Service")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_replay_job_runs_the_deployed_projector_image(rendered, overlay):
    [job] = by_kind(rendered[f"{overlay}/replay"], "Job").values()
    container = pod_spec(job)["containers"][0]
    assert container["command"] == ["tonypi", "replay"]
    projector = by_kind(rendered[overlay], "Deployment")["projector"]
    assert container["image"] == pod_spec(projector)["containers"][0]["image"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert not any(d["kind"] == "Job" for d in rendered[overlay]), (
        "a Job in the main apply would rebuild the tables on every deploy"
    )


def test_a_private_overlay_replaces_the_placeholder_secret(tmp_path: Path):
    """The procedure docs/deploy.md gives for real secrets renders as it says (kustomize
    wants a relative path to the overlay, as a private repo next to this one would have)."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "projector.env").write_text(
        "DATABASE_URL=postgresql://tonypi_projector:s3cret@db.internal:5432/tonypi_db\n"
    )
    (private / "ingest.env").write_text("MQTT_PASSWORD=hunter22\n")
    (private / "passwd").write_text("ingest:$7$101$c2FsdA==$aGFzaA==\n")
    (private / "kustomization.yaml").write_text(f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - {os.path.relpath(K8S / "overlays" / "prod", private)}
secretGenerator:
  - name: tonypi-projector
    behavior: replace
    envs: [projector.env]
    options: {{disableNameSuffixHash: true}}
  - name: tonypi-ingest
    behavior: replace
    envs: [ingest.env]
    options: {{disableNameSuffixHash: true}}
  - name: mosquitto-passwd
    behavior: replace
    files: [passwd]
    options: {{disableNameSuffixHash: true}}
""")
    secrets = by_kind(render(private), "Secret")
    for name, keys in (
        ("tonypi-projector", {"DATABASE_URL"}),
        ("tonypi-ingest", {"MQTT_PASSWORD"}),
        ("mosquitto-passwd", {"passwd"}),
    ):
        assert secrets[name]["metadata"]["namespace"] == "tonypi"
        assert set(secrets[name]["data"]) == keys and "stringData" not in secrets[name]
