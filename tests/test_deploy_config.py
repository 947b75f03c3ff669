"""docker-compose.yml, the Dockerfiles and deploy/k8s, checked without a Docker engine or a cluster.

Expectations come from the embedded stack's own topology (`pingan_stack.topology`) and the settings
classes, so compose, Kubernetes and `make up` cannot drift apart unnoticed.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pingan_shared.auth import RemoteKeys, TokenVerifier
from pingan_shared.settings import PlatformSettings
from pingan_stack.topology import PROCESSES, SERVICES, ServiceSpec, all_topics

ROOT = Path(__file__).resolve().parents[1]
SPECS = {spec.name: spec for spec in SERVICES}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _settings_env_names(spec: ServiceSpec) -> set[str]:
    module = importlib.import_module(f"{spec.name}.settings")
    settings = next(v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings")
    return {f"{spec.env_prefix}{field}".upper() for field in settings.model_fields}


def test_compose_has_kafka_in_kraft_mode_and_postgres(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) - {"console"} == {"kafka", "postgres", "minio", "minio-init", "keys", *SPECS}
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    kafka_env = _environment(kafka)
    assert "controller" in kafka_env["KAFKA_PROCESS_ROLES"] and "broker" in kafka_env["KAFKA_PROCESS_ROLES"]
    assert "KAFKA_CONTROLLER_QUORUM_VOTERS" in kafka_env
    assert "ZOOKEEPER" not in " ".join(kafka_env)
    assert services["postgres"]["image"].startswith("postgres:")
    for name in ("kafka", "postgres"):
        assert services[name]["healthcheck"]["test"]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_compose_service_matches_the_stack(compose: dict[str, Any], name: str) -> None:
    spec, service = SPECS[name], compose["services"][name]
    assert service["build"] == {"context": ".", "dockerfile": "Dockerfile",
                                "args": {"SERVICE": name, "PORT": str(spec.default_port)}}
    assert f"{spec.default_port}:{spec.default_port}" in service["ports"]
    assert service["depends_on"] == {"kafka": {"condition": "service_healthy"},
                                     "postgres": {"condition": "service_healthy"}}
    assert f":{spec.default_port}/ready" in " ".join(service["healthcheck"]["test"])
    env = _environment(service)
    assert env[f"{spec.env_prefix}HTTP_PORT"] == str(spec.default_port)
    assert env[f"{spec.env_prefix}HTTP_HOST"] == "0.0.0.0"
    # the metrics on their own port, reachable on the compose network and from the host's loopback, never published
    # beside the API on every interface
    assert env[f"{spec.env_prefix}METRICS_PORT"] == str(spec.default_metrics_port)
    assert env[f"{spec.env_prefix}METRICS_HOST"] == "0.0.0.0"
    published = [p for p in service["ports"] if p.endswith(f":{spec.default_metrics_port}")]
    assert published == [f"127.0.0.1:{spec.default_metrics_port}:{spec.default_metrics_port}"], service["ports"]
    assert env[f"{spec.env_prefix}DATABASE_URL"].endswith(f"@postgres:5432/{spec.database}")
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    # every name compose sets is one the platform or the service reads: no typos that silently do nothing
    known = {n.upper() for n in PlatformSettings.model_fields} | _settings_env_names(spec)
    assert set(env) <= known, set(env) - known
    assert {"PINGAN_ENV", "PINGAN_AUTH_JWKS_URL", "KAFKA_BOOTSTRAP_SERVERS"} <= set(env)


def test_compose_databases_are_created(compose: dict[str, Any]) -> None:
    mounts = " ".join(compose["services"]["postgres"]["volumes"])
    assert "./deploy/compose/initdb:/docker-entrypoint-initdb.d" in mounts
    sql = (ROOT / "deploy/compose/initdb/01-databases.sql").read_text()
    assert set(re.findall(r"CREATE DATABASE (\w+);", sql)) == {spec.database for spec in PROCESSES}


DOCKERFILE = ROOT / "Dockerfile"


def _instruction(text: str, keyword: str) -> str:
    """The last ``keyword`` instruction of the final stage, continuation lines joined."""
    joined = text.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.startswith(keyword + " ")][-1][len(keyword) + 1:]


def test_one_dockerfile_for_every_service() -> None:
    assert DOCKERFILE.exists()
    assert not list(ROOT.glob("services/*/Dockerfile")), "the per-service copies are gone"
    text = DOCKERFILE.read_text()
    # both stages declare the arguments they use (an ARG does not cross a FROM)
    assert text.count("ARG SERVICE") == 2 and text.count("ARG PORT") == 2
    assert 'test -n "$SERVICE"' in text, "a build without --build-arg SERVICE fails with a message"
    assert '--package "pingan-${SERVICE}"' in text and "--frozen" in text and "--no-dev" in text
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE), "runs as a non-root user"
    assert "EXPOSE ${PORT}" in text
    assert "PINGAN_SERVICE=${SERVICE}" in text and "PINGAN_SERVICE_PORT=${PORT}" in text


@pytest.mark.parametrize("name", ["alerts", "roster"])
def test_the_dockerfile_command_starts_the_named_service_on_all_interfaces(name: str) -> None:
    """Run the image's CMD here, as the container would, with its port taken: the service named by the
    build argument starts, listening on 0.0.0.0 and the built-in port unless the environment says otherwise."""
    import json
    import os
    import socket
    import subprocess
    import sys

    from pingan_stack.embedded import free_port

    command = json.loads(_instruction(DOCKERFILE.read_text(), "CMD"))
    assert command[0] == "python"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(SPECS[name].env_prefix)}
    env |= {"PINGAN_SERVICE": name, "PINGAN_SERVICE_PORT": str(port), "PINGAN_ENV": "test"}
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", port))
        holder.listen()
        done = subprocess.run([sys.executable, *command[1:]], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"port {port} on 0.0.0.0 is already in use (set {SPECS[name].env_prefix}HTTP_PORT)" in done.stderr


def test_the_dockerfile_healthcheck_asks_the_service_port() -> None:
    import http.server
    import json
    import os
    import subprocess
    import sys
    import threading

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    healthcheck = _instruction(DOCKERFILE.read_text(), "HEALTHCHECK")
    command = json.loads(healthcheck[healthcheck.index("CMD ") + 4:])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {**os.environ, "PINGAN_SERVICE": "roster", "PINGAN_SERVICE_PORT": "1"}
        down = subprocess.run([sys.executable, *command[1:]], capture_output=True, timeout=30, env=env)
        env["ROSTER_HTTP_PORT"] = str(server.server_address[1])  # the service's own setting wins
        up = subprocess.run([sys.executable, *command[1:]], capture_output=True, timeout=30, env=env)
    finally:
        server.shutdown()
    assert down.returncode != 0 and up.returncode == 0, up.stderr


def test_k8s_readme_builds_the_images_from_the_one_dockerfile() -> None:
    text = (ROOT / "deploy/k8s/README.md").read_text()
    assert "services/<name>/Dockerfile" not in text
    assert "--build-arg SERVICE=" in text and "--build-arg PORT=" in text


def _k8s_documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/kustomization.yaml").read_text())
    documents = []
    for resource in kustomization["resources"]:
        documents += [d for d in yaml.safe_load_all((ROOT / "deploy/k8s" / resource).read_text()) if d]
    return documents


def test_k8s_deployments_have_probes_and_the_same_env_names() -> None:
    documents = _k8s_documents()
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert set(deployments) - {"console"} == set(SPECS)  # the console's: services/console/tests/test_console_deploy.py
    config = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    secret = next(d for d in documents if d["kind"] == "Secret")["stringData"]
    assert config["PINGAN_ENV"] == "prod" and int(config["KAFKA_REPLICATION_FACTOR"]) >= 3
    for name, spec in SPECS.items():
        deployment = deployments[name]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["ports"][0]["containerPort"] == spec.default_port
        # Prometheus scrapes the metrics port; the Service exposes the API port only
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": spec.default_port, "metrics": spec.default_metrics_port}
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(spec.default_metrics_port)
        assert annotations["prometheus.io/path"] == "/metrics"
        values = {e["name"]: e.get("value") for e in container["env"]}
        assert values[f"{spec.env_prefix}METRICS_PORT"] == str(spec.default_metrics_port)
        assert values[f"{spec.env_prefix}METRICS_HOST"] == "0.0.0.0"
        service = next(d for d in documents if d["kind"] == "Service" and d["metadata"]["name"] == name)
        assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
        env = {e["name"] for e in container["env"]} | set(config)
        assert {f"{spec.env_prefix}DATABASE_URL", f"{spec.env_prefix}HTTP_PORT", "PINGAN_AUTH_JWKS_URL",
                "KAFKA_BOOTSTRAP_SERVERS"} <= env
        known = {n.upper() for n in PlatformSettings.model_fields} | _settings_env_names(spec)
        assert env <= known, env - known
        assert f"{spec.env_prefix}DATABASE_URL" in secret
        assert deployment["spec"]["replicas"] >= 2


def _compose_default(value: str) -> str:
    """``${NAME:-default}`` as compose fills it in when NAME is not set."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return match[1] if match else value


def test_compose_keeps_the_console_photos_in_a_minio_bucket_made_for_it(compose: dict[str, Any]) -> None:
    from console.photos.settings import PhotoSettings
    from console.photos.store import S3Store

    services = compose["services"]
    minio, init = services["minio"], services["minio-init"]
    assert "minio/minio:RELEASE." in minio["image"] and "minio/mc:RELEASE." in init["image"]  # pinned releases
    assert minio["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    assert "minio-data:/data" in minio["volumes"] and "minio-data" in compose["volumes"]
    assert "ports" not in minio, "the evidence store is reached over the compose network only"
    assert init["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert init["restart"] == "no"

    # the console's photo settings: names PhotoSettings reads, naming a bucket on this MinIO
    photos_env = {name: _compose_default(str(value)) for name, value in compose["x-console-photos"].items()}
    known = {f"CONSOLE_{name}".upper() for name in PhotoSettings.model_fields}
    assert set(photos_env) <= known, set(photos_env) - known
    settings = PhotoSettings(**{name.removeprefix("CONSOLE_").lower(): value for name, value in photos_env.items()})
    store = settings.photo_store_instance()
    assert isinstance(store, S3Store) and store.endpoint == "http://minio:9000"
    assert ":9000" in minio["command"]

    # minio-init makes that bucket and that key, from the same values
    init_env = _environment(init)
    script = init["command"][0].replace("$$", "$")
    assert init_env["PHOTO_BUCKET"] == store.bucket
    assert 'mc mb --ignore-existing "pingan/$PHOTO_BUCKET"' in script
    assert {name: init_env[name] for name in photos_env} == dict(compose["x-console-photos"])
    assert 'mc admin user add pingan "$CONSOLE_S3_ACCESS_KEY" "$CONSOLE_S3_SECRET_KEY"' in script
    assert 'mc admin policy attach pingan console-photos --user "$CONSOLE_S3_ACCESS_KEY"' in script
    assert '"arn:aws:s3:::$PHOTO_BUCKET/*"' in script and '"s3:*"' not in script  # that bucket's objects only
    assert init_env["MINIO_ROOT_PASSWORD"] == minio["environment"]["MINIO_ROOT_PASSWORD"]
    if "console" in services:  # the console service, once compose runs it, takes these settings and waits
        console = services["console"]
        assert {name: _environment(console).get(name) for name in photos_env} == dict(compose["x-console-photos"])
        assert console["depends_on"]["minio-init"] == {"condition": "service_completed_successfully"}


# What an operator must set for alerts to reach people by e-mail in production (names of AlertsSettings).
ALERTS_OPERATOR_SETTINGS = {"ALERTS_SMTP_HOST", "ALERTS_SMTP_PORT", "ALERTS_SMTP_FROM", "ALERTS_SMTP_USERNAME",
                            "ALERTS_SMTP_PASSWORD", "ALERTS_SMTP_STARTTLS", "ALERTS_DELIVERY_LINK_BASE_URL"}


def test_alerts_smtp_and_link_settings_are_in_compose_and_k8s(compose: dict[str, Any]) -> None:
    assert _settings_env_names(SPECS["alerts"]) >= ALERTS_OPERATOR_SETTINGS
    compose_env = _environment(compose["services"]["alerts"])
    assert set(compose_env) >= ALERTS_OPERATOR_SETTINGS, ALERTS_OPERATOR_SETTINGS - set(compose_env)
    documents = _k8s_documents()
    deployment = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "alerts")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert set(env) >= ALERTS_OPERATOR_SETTINGS, ALERTS_OPERATOR_SETTINGS - set(env)
    secret = next(d for d in documents if d["kind"] == "Secret")["stringData"]
    for name in ("ALERTS_SMTP_USERNAME", "ALERTS_SMTP_PASSWORD"):  # credentials come from the Secret
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "pingan-secrets", "key": name}
        assert name in secret


# --- tokens: one issuer holds the signing key, every service only its public JWKS (docs/auth.md) ------------------

SIGNING_KEY_FILE = "/keys/signing-key.pem"
CONSOLE_JWKS = ".well-known/jwks.json"


def test_compose_makes_the_signing_key_once_for_the_console_alone(compose: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINGAN_AUTH_JWKS")  # the test session's key source: compose's alone is judged here
    services = compose["services"]
    keys = services["keys"]
    # the `pingan` command's image, from the one Dockerfile; a one-shot that keeps a key already there
    assert keys["build"] == {"context": ".", "dockerfile": "Dockerfile", "args": {"SERVICE": "stack", "PORT": "0"}}
    assert keys["restart"] == "no" and keys["volumes"] == ["auth-keys:/keys"] and "auth-keys" in compose["volumes"]
    script = keys["command"][0]
    assert f"pingan auth keygen --out {SIGNING_KEY_FILE}" in script and f"chown 10001 {SIGNING_KEY_FILE}" in script
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE.read_text(), re.MULTILINE)  # whose uid 10001 is
    assert "useradd --create-home --uid 10001" in DOCKERFILE.read_text()
    assert dict(compose["x-console-auth"]) == {"PINGAN_AUTH_SIGNING_KEY_FILE": SIGNING_KEY_FILE}
    # the services verify with the console's JWKS; none of them sees the key or its volume
    platform = {name: _compose_default(str(value)) for name, value in compose["x-pingan-env"].items()}
    assert platform["PINGAN_AUTH_JWKS_URL"] == f"http://console:8000/{CONSOLE_JWKS}"
    assert platform["PINGAN_AUTH_ISSUER"] == "pingan"
    settings = PlatformSettings(**{name.lower(): value for name, value in platform.items()})
    assert settings.pingan_auth_audience is None and settings.pingan_auth_role_map == {}
    verifier = TokenVerifier.from_settings(settings)
    assert isinstance(verifier.keys, RemoteKeys) and verifier.keys.url == platform["PINGAN_AUTH_JWKS_URL"]
    for name in SPECS:
        assert "PINGAN_AUTH_SIGNING_KEY_FILE" not in _environment(services[name])
        assert not any("auth-keys" in str(v) for v in services[name].get("volumes", []))
    if "console" in services:  # the console, once compose runs it: the key, read-only, made before it starts
        console = services["console"]
        assert _environment(console)["PINGAN_AUTH_SIGNING_KEY_FILE"] == SIGNING_KEY_FILE
        assert "auth-keys:/keys:ro" in console["volumes"]
        assert console["depends_on"]["keys"] == {"condition": "service_completed_successfully"}
        assert "8000:8000" in console["ports"]


def test_k8s_makes_the_signing_key_in_a_volume_and_services_fetch_the_public_jwks() -> None:
    documents = _k8s_documents()
    config = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    assert config["PINGAN_AUTH_JWKS_URL"] == f"http://console.pingan:8000/{CONSOLE_JWKS}"
    secret = next(d for d in documents if d["kind"] == "Secret")["stringData"]
    assert not any(name.startswith("PINGAN_AUTH") for name in secret), "no token secret or key in the Secret"
    [job] = [d for d in documents if d["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["pingan", "auth", "keygen", "--out", SIGNING_KEY_FILE]
    assert container["image"].startswith("ghcr.io/pingan/stack:")
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001}
    [volume] = pod["volumes"]
    [claim] = [d for d in documents if d["kind"] == "PersistentVolumeClaim"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert container["volumeMounts"] == [{"name": volume["name"], "mountPath": "/keys"}]
    for deployment in (d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] in SPECS):
        pod_spec = deployment["spec"]["template"]["spec"]
        assert claim["metadata"]["name"] not in str(pod_spec.get("volumes", []))
        env = {e["name"] for e in pod_spec["containers"][0]["env"]}
        assert not any(name.startswith("PINGAN_AUTH") for name in env), env


def test_k8s_opens_the_metrics_port_to_the_monitoring_namespace_only() -> None:
    policies = [d for d in _k8s_documents() if d["kind"] == "NetworkPolicy"]
    assert len(policies) == 1
    spec = policies[0]["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/part-of": "pingan"}}
    assert spec["policyTypes"] == ["Ingress"]
    rules = {tuple(p["port"] for p in rule["ports"]): rule.get("from") for rule in spec["ingress"]}
    assert rules[("http",)] is None  # the API, from anywhere
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    assert rules[("metrics",)] == [monitoring]
    assert set(rules) == {("http",), ("metrics",)}


def test_k8s_topics_are_the_stacks_topics() -> None:
    topics = [d for d in _k8s_documents() if d["kind"] == "KafkaTopic"]
    assert sorted(t["spec"]["topicName"] for t in topics) == all_topics()
    assert all(t["metadata"]["labels"]["strimzi.io/cluster"] == "pingan-kafka" for t in topics)
