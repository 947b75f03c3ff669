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
from pydantic import ValidationError

from pingan_shared.settings import PlatformSettings
from pingan_stack.topology import SERVICES, ServiceSpec, all_topics

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
    assert set(services) == {"kafka", "postgres", *SPECS}
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
    dockerfile = ROOT / service["build"]["dockerfile"]
    assert service["build"]["context"] == "."
    assert dockerfile == ROOT / "services" / name / "Dockerfile" and dockerfile.exists()
    assert f"{spec.default_port}:{spec.default_port}" in service["ports"]
    assert service["depends_on"] == {"kafka": {"condition": "service_healthy"},
                                     "postgres": {"condition": "service_healthy"}}
    assert f":{spec.default_port}/ready" in " ".join(service["healthcheck"]["test"])
    env = _environment(service)
    assert env[f"{spec.env_prefix}HTTP_PORT"] == str(spec.default_port)
    assert env[f"{spec.env_prefix}HTTP_HOST"] == "0.0.0.0"
    assert env[f"{spec.env_prefix}DATABASE_URL"].endswith(f"@postgres:5432/{spec.database}")
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    # every name compose sets is one the platform or the service reads: no typos that silently do nothing
    known = {n.upper() for n in PlatformSettings.model_fields} | _settings_env_names(spec)
    assert set(env) <= known, set(env) - known
    assert {"PINGAN_ENV", "PINGAN_AUTH_SECRET", "KAFKA_BOOTSTRAP_SERVERS"} <= set(env)


def test_compose_databases_are_created(compose: dict[str, Any]) -> None:
    mounts = " ".join(compose["services"]["postgres"]["volumes"])
    assert "./deploy/compose/initdb:/docker-entrypoint-initdb.d" in mounts
    sql = (ROOT / "deploy/compose/initdb/01-databases.sql").read_text()
    assert set(re.findall(r"CREATE DATABASE (\w+);", sql)) == {spec.database for spec in SERVICES}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_dockerfile_runs_the_service(name: str) -> None:
    text = (ROOT / "services" / name / "Dockerfile").read_text()
    port = SPECS[name].default_port
    assert f'CMD ["python", "-m", "{name}"]' in text
    assert f"EXPOSE {port}" in text
    assert f"--package pingan-{name}" in text and "--frozen" in text and "--no-dev" in text
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE), "runs as a non-root user"
    assert "HEALTHCHECK" in text


def _k8s_documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/kustomization.yaml").read_text())
    documents = []
    for resource in kustomization["resources"]:
        documents += [d for d in yaml.safe_load_all((ROOT / "deploy/k8s" / resource).read_text()) if d]
    return documents


def test_k8s_deployments_have_probes_and_the_same_env_names() -> None:
    documents = _k8s_documents()
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert set(deployments) == set(SPECS)
    config = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    secret = next(d for d in documents if d["kind"] == "Secret")["stringData"]
    assert config["PINGAN_ENV"] == "prod" and int(config["KAFKA_REPLICATION_FACTOR"]) >= 3
    for name, deployment in deployments.items():
        spec = SPECS[name]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["ports"][0]["containerPort"] == spec.default_port
        env = {e["name"] for e in container["env"]} | set(config)
        assert {f"{spec.env_prefix}DATABASE_URL", f"{spec.env_prefix}HTTP_PORT", "PINGAN_AUTH_SECRET",
                "KAFKA_BOOTSTRAP_SERVERS"} <= env
        known = {n.upper() for n in PlatformSettings.model_fields} | _settings_env_names(spec)
        assert env <= known, env - known
        assert f"{spec.env_prefix}DATABASE_URL" in secret
        assert deployment["spec"]["replicas"] >= 2


def test_the_k8s_secret_placeholder_cannot_start_production() -> None:
    """Applied unedited, the manifests must not run production on a secret published in this repository."""
    secret = next(d for d in _k8s_documents() if d["kind"] == "Secret")["stringData"]
    with pytest.raises(ValidationError, match="PINGAN_AUTH_SECRET"):
        PlatformSettings(pingan_env="prod", pingan_auth_secret=secret["PINGAN_AUTH_SECRET"])


def test_k8s_topics_are_the_stacks_topics() -> None:
    topics = [d for d in _k8s_documents() if d["kind"] == "KafkaTopic"]
    assert sorted(t["spec"]["topicName"] for t in topics) == all_topics()
    assert all(t["metadata"]["labels"]["strimzi.io/cluster"] == "pingan-kafka" for t in topics)
