"""The console in docker-compose.yml and deploy/k8s, checked without an engine or a cluster against the stack's own
topology (``pingan_stack.topology.CONSOLE``) and the console's settings: the same names in all three modes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from console.settings import ConsoleSettings

from pingan_shared.settings import PlatformSettings
from pingan_stack.topology import CONSOLE, PROCESSES, SERVICES

ROOT = Path(__file__).resolve().parents[3]


def known_names() -> set[str]:
    """Every environment name the console reads: its own (CONSOLE_…, the services' URLs) and the platform's."""
    names = {n.upper() for n in PlatformSettings.model_fields}
    for name, info in ConsoleSettings.model_fields.items():
        alias = info.validation_alias
        names |= set(getattr(alias, "choices", ())) or {f"CONSOLE_{name}".upper()}
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_compose_runs_the_console_on_8000_beside_the_services(compose: dict[str, Any]) -> None:
    console = compose["services"]["console"]
    assert console["build"] == {"context": ".", "dockerfile": "Dockerfile",
                                "args": {"SERVICE": "console", "PORT": str(CONSOLE.default_port)}}
    assert console["ports"] == ["8000:8000", "127.0.0.1:9000:9000"]  # metrics on the host's loopback only
    env = {k: str(v) for k, v in console["environment"].items()}
    assert set(env) <= known_names(), set(env) - known_names()
    assert env["CONSOLE_DATABASE_URL"].endswith(f"@postgres:5432/{CONSOLE.database}")
    assert env["CONSOLE_HTTP_PORT"] == "8000" and env["CONSOLE_HTTP_HOST"] == "0.0.0.0"
    assert env["CONSOLE_METRICS_PORT"] == "9000" and env["CONSOLE_METRICS_HOST"] == "0.0.0.0"
    for spec in SERVICES:  # each service at its compose name and port
        assert env[f"{spec.name.upper()}_URL"] == f"http://{spec.name}:{spec.default_port}"
    assert env["PINGAN_AUTH_SIGNING_KEY_FILE"] == "/keys/signing-key.pem" and console["volumes"] == [
        "auth-keys:/keys:ro"]
    assert "kafka" not in console["depends_on"]  # it neither produces nor consumes
    assert ":8000/ready" in " ".join(console["healthcheck"]["test"])
    # the databases the postgres image makes on its first start include the console's
    sql = (ROOT / "deploy/compose/initdb/01-databases.sql").read_text()
    assert all(f"CREATE DATABASE {spec.database};" in sql for spec in PROCESSES)
    # what compose sets is a configuration the console accepts (the ${NAME:-default}s as compose fills them in)
    filled = {k: v.split(":-", 1)[1][:-1] if v.startswith("${") else v for k, v in env.items()}
    ConsoleSettings(**{k.removeprefix("CONSOLE_").lower(): v for k, v in filled.items()
                       if k.startswith("CONSOLE_") and not k.startswith(("CONSOLE_S3_", "CONSOLE_PHOTO"))},
                    patrol_url=filled["PATROL_URL"])


def _k8s(kind: str, name: str) -> dict[str, Any]:
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((ROOT / "deploy/k8s" / resource).read_text()):
            if document and document["kind"] == kind and document["metadata"]["name"] == name:
                found: dict[str, Any] = document
                return found
    raise AssertionError(f"no {kind} {name} in deploy/k8s")


def test_kubernetes_runs_the_console_with_the_key_read_only_and_its_secrets() -> None:
    deployment = _k8s("Deployment", "console")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8000, "metrics": 9000}
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    env = {e["name"]: e for e in container["env"]}
    config = _k8s("ConfigMap", "pingan-platform")["data"]
    assert set(env) | set(config) <= known_names(), (set(env) | set(config)) - known_names()
    secret = _k8s("Secret", "pingan-secrets")["stringData"]
    for name in ("CONSOLE_DATABASE_URL", "CONSOLE_S3_ACCESS_KEY", "CONSOLE_S3_SECRET_KEY"):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": "pingan-secrets", "key": name} and name in secret
    assert secret["CONSOLE_DATABASE_URL"].endswith("/pingan_console")
    assert env["CONSOLE_COOKIE_SECURE"]["value"] == "true"  # behind TLS in production
    assert env["PINGAN_AUTH_SIGNING_KEY_FILE"]["value"] == "/keys/signing-key.pem"
    assert container["volumeMounts"] == [{"name": "auth-keys", "mountPath": "/keys", "readOnly": True}]
    assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "pingan-auth-keys", "readOnly": True}
    for spec in SERVICES:
        assert env[f"{spec.name.upper()}_URL"]["value"] == f"http://{spec.name}.pingan:{spec.default_port}"
    service = _k8s("Service", "console")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]  # never the metrics port
    # the services verify with the console's JWKS, at the Service's address
    assert config["PINGAN_AUTH_JWKS_URL"] == "http://console.pingan:8000/.well-known/jwks.json"
