"""The kustomize overlays: rendered by kustomize (kubectl's), validated against the
Kubernetes OpenAPI schemas (kubernetes-validate, strict: unknown fields are errors), and
checked for what the deployment design promises (replicas, probes, PDBs, HPA, references,
placeholder-only secrets). What each overlay adds: test_kubernetes_overlays.py."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from .conftest import (
    DATABASE_SECRETS,
    JOB_DIRS,
    OVERLAYS,
    REPO,
    SERVICE_SECRETS,
    by_kind,
    config_of,
    pod_spec,
    secret_of,
)

# The oldest Kubernetes we claim (HPA autoscaling/v2, PDB policy/v1 and the rest are GA
# there) and the newest the installed schemas know.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
RENDERS = [*OVERLAYS, *(f"{o}/{jobs}" for o in OVERLAYS for jobs in JOB_DIRS)]
NAMESPACES = {"dev": "tonypi-dev", "prod": "tonypi"}
SERVICES = {"ingest": 9101, "projector": 9102, "query": 8000}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


def schema_errors(docs: list[dict], version: str) -> list[str]:
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(str(p) for p in exc.path)
            errors.append(f"{doc['kind']}/{doc['metadata']['name']} at {path}: {exc.message}")
    return errors


def workloads(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["kind"] in WORKLOAD_KINDS]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", RENDERS)
def test_render_validates_against_the_kubernetes_schemas(rendered, name, version):
    docs = rendered[name]
    assert docs, f"{name} rendered nothing"
    assert schema_errors(docs, version) == []


def test_the_schema_check_rejects_a_misspelt_field(rendered):
    """The validator is strict: a typo would not slip through as an unknown field."""
    deployment = copy.deepcopy(by_kind(rendered["prod"], "Deployment")["projector"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    errors = schema_errors([deployment], KUBERNETES_VERSIONS[-1])
    assert len(errors) == 1 and "livenesProbe" in errors[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_lands_in_the_overlay_namespace(rendered, overlay):
    for name in (overlay, *(f"{overlay}/{jobs}" for jobs in JOB_DIRS)):
        for doc in rendered[name]:
            if doc["kind"] == "Namespace":
                assert doc["metadata"]["name"] == NAMESPACES[overlay]
            else:
                assert doc["metadata"].get("namespace") == NAMESPACES[overlay], doc["metadata"]["name"]


@pytest.mark.parametrize("name", RENDERS)
def test_every_container_has_requests_and_limits(rendered, name):
    for workload in workloads(rendered[name]):
        for container in pod_spec(workload)["containers"]:
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                assert set(resources.get(part, {})) >= {"cpu", "memory"}, (
                    f"{workload['metadata']['name']}/{container['name']} lacks {part}"
                )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_probe_livez_and_readyz_and_are_scraped(rendered, overlay):
    deployments = service_workloads(rendered[overlay])
    assert set(deployments) == set(SERVICES)
    for name, port in SERVICES.items():
        pod = deployments[name]["spec"]["template"]
        container = pod["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (
            ("livenessProbe", "/livez"),
            ("readinessProbe", "/readyz"),
            ("startupProbe", "/livez"),
        ):
            http = container[probe]["httpGet"]
            assert http["path"] == path, f"{name} {probe}"
            assert ports[http["port"]] == port, f"{name} {probe} probes the wrong port"
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
        assert annotations["prometheus.io/path"] == "/metrics"
        port_variable = f"{name.upper()}_PORT"
        assert {"name": port_variable, "value": str(port)} in container["env"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_run_as_non_root_without_privileges(rendered, overlay):
    for name in SERVICES:
        pod = pod_spec(service_workloads(rendered[overlay])[name])
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
        container = pod["containers"][0]["securityContext"]
        assert container["allowPrivilegeEscalation"] is False
        assert container["readOnlyRootFilesystem"] is True
        assert container["capabilities"]["drop"] == ["ALL"]


def service_workloads(docs: list[dict]) -> dict[str, dict]:
    """The three services' workloads: ingest is a StatefulSet, projector and query Deployments."""
    both = {**by_kind(docs, "Deployment"), **by_kind(docs, "StatefulSet")}
    return {name: w for name, w in both.items() if name in SERVICES}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingest_replicas_keep_persistent_sessions_under_stable_names(rendered, overlay):
    """Issue 8, row 7: each replica's MQTT client id is its pod name, stable in a StatefulSet,
    so a crash, restart or rescheduling resumes the session the broker kept."""
    ingest = by_kind(rendered[overlay], "StatefulSet")["ingest"]
    assert "ingest" not in by_kind(rendered[overlay], "Deployment")
    env = {e["name"]: e for e in pod_spec(ingest)["containers"][0]["env"]}
    assert env["MQTT_CLIENT_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert ingest["spec"]["serviceName"] in by_kind(rendered[overlay], "Service")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingest_replicas_share_one_mqtt_subscription(rendered, overlay):
    ingest = by_kind(rendered[overlay], "StatefulSet")["ingest"]
    assert ingest["spec"]["replicas"] >= 2
    group = config_of(rendered[overlay]).get("MQTT_SHARED_GROUP")
    assert group and not set(group) & set("/+#")
    refs = [
        ref["configMapRef"]["name"]
        for ref in pod_spec(ingest)["containers"][0]["envFrom"]
        if "configMapRef" in ref
    ]
    assert refs == ["tonypi-config"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_projector_runs_one_active_and_one_standby(rendered, overlay):
    projector = by_kind(rendered[overlay], "Deployment")["projector"]
    assert projector["spec"]["replicas"] == 2
    # A rolling update starts the new pod (as standby) before stopping an old one.
    assert projector["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_query_scales_on_cpu(rendered, overlay):
    query = by_kind(rendered[overlay], "Deployment")["query"]
    assert "replicas" not in query["spec"], "a fixed replica count fights the HPA on every apply"
    hpa = by_kind(rendered[overlay], "HorizontalPodAutoscaler")["query"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "query"}
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
    assert all(c["resources"]["requests"]["cpu"] for c in pod_spec(query)["containers"]), (
        "CPU utilisation is measured against the request"
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_query_at_its_maximum_fits_the_database_connections(rendered, overlay):
    """PostgreSQL allows 100 connections by default; the API's pools at full scale must
    leave room for the projectors, a replay and an operator (20 of them)."""
    from tonypi_query.config import load_settings

    config = config_of(rendered[overlay])
    pool = int(config["DB_POOL_MAX"]) if "DB_POOL_MAX" in config else load_settings({}).pool_max_size
    hpa = by_kind(rendered[overlay], "HorizontalPodAutoscaler")["query"]
    assert hpa["spec"]["maxReplicas"] * (pool + 1) <= 80  # + 1: the LISTEN connection


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_replicated_workload_has_a_disruption_budget(rendered, overlay):
    docs = rendered[overlay]
    budgets = list(by_kind(docs, "PodDisruptionBudget").values())
    replicated = [
        w for w in workloads(docs) if w["spec"].get("replicas", 2) > 1
    ]  # no replicas: the HPA's minimum (>= 1) rules
    assert {w["metadata"]["name"] for w in replicated} >= set(SERVICES)
    for workload in replicated:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(covering) == 1, f"{workload['metadata']['name']} has {len(covering)} PDBs"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budgets_still_let_a_node_drain(rendered, overlay):
    """A budget that allows no eviction at the workload's smallest size blocks every drain."""
    docs = rendered[overlay]
    autoscaled = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["minReplicas"]
        for h in by_kind(docs, "HorizontalPodAutoscaler").values()
    }
    for workload in workloads(docs):
        name = workload["metadata"]["name"]
        smallest = autoscaled.get(name, workload["spec"].get("replicas", 1))
        labels = workload["spec"]["template"]["metadata"]["labels"]
        for budget in by_kind(docs, "PodDisruptionBudget").values():
            if budget["spec"]["selector"]["matchLabels"].items() <= labels.items():
                spec = budget["spec"]
                allowed = spec.get("maxUnavailable", smallest - spec.get("minAvailable", 0))
                assert allowed >= 1, f"{name}: PDB allows no eviction at {smallest} replicas"


@pytest.mark.parametrize("name", RENDERS)
def test_every_reference_resolves(rendered, name):
    """ConfigMaps, Secrets and their keys named by pods exist in the same render (the
    replay Job's in its overlay's), so nothing fails at pod start for a missing name."""
    overlay = name.split("/")[0]
    available = {
        (d["kind"], d["metadata"]["name"]): {**d.get("data", {}), **d.get("stringData", {})}
        for d in rendered[overlay]
    }
    for workload in workloads(rendered[name]):
        spec = pod_spec(workload)
        for container in spec["containers"]:
            for ref in container.get("envFrom", []):
                kind, target = (
                    ("ConfigMap", ref["configMapRef"])
                    if "configMapRef" in ref
                    else ("Secret", ref["secretRef"])
                )
                assert (kind, target["name"]) in available, f"{kind} {target['name']}"
            for var in container.get("env", []):
                source = var.get("valueFrom", {})
                for key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                    if key in source:
                        data = available.get((kind, source[key]["name"]))
                        assert data is not None and source[key]["key"] in data, f"{kind} {source[key]}"
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in available


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_select_pods_and_ports_that_exist(rendered, overlay):
    docs = rendered[overlay]
    pods = [w["spec"]["template"] for w in workloads(docs)]
    for service in by_kind(docs, "Service").values():
        selector = service["spec"]["selector"]
        matching = [p for p in pods if selector.items() <= p["metadata"]["labels"].items()]
        assert matching, f"Service {service['metadata']['name']} selects no pod"
        named_ports = {p["name"] for pod in matching for c in pod["spec"]["containers"] for p in c["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in named_ports, f"{service['metadata']['name']}:{port['targetPort']}"


def _names_in_code() -> str:
    sources = [*REPO.glob("libs/*/tonypi_*/**/*.py"), *REPO.glob("services/*/tonypi_*/**/*.py")]
    return "\n".join(p.read_text() for p in sources)


def test_every_configured_variable_is_read_by_the_code(rendered):
    """A misspelt variable name in the ConfigMap or Secret would be silently ignored."""
    code = _names_in_code()
    for overlay in OVERLAYS:
        names = set(config_of(rendered[overlay]))
        for secret in {*SERVICE_SECRETS.values(), *DATABASE_SECRETS}:
            names |= set(secret_of(rendered[overlay], secret))
        unread = sorted(n for n in names if f'"{n}"' not in code)
        assert unread == [], f"{overlay}: nothing reads {unread}"


@pytest.mark.parametrize("name", RENDERS)
def test_secrets_hold_placeholders_only(rendered, name):
    for secret in by_kind(rendered[name], "Secret").values():
        assert "data" not in secret, "base64 data would hide what is committed"
        for key, value in secret["stringData"].items():
            assert value == "" or "REPLACE_ME" in value, f"{secret['metadata']['name']}.{key} holds a value"
