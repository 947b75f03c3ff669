"""The AsyncAPI document tells what the services really do: each service's consumer groups (its ``consumers.py``, and
patrol's live view) are the document's receive operations, what it produces is among its send operations, the
servers are where docker compose, Kubernetes and `pingan up` put the broker, and every service serves the document
that docs/asyncapi.json holds at GET /asyncapi.json, which its OpenAPI lists with its one answer.

The services are bootstrapped, not started: nothing here connects to a database or a broker (a second of imports).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from patrol.live.stream import ROUND_EVENTS
from pingan_shared.directory.replica import OWNER
from pingan_shared.events.asyncapi import SERVERS
from pingan_shared.events.catalog import ALERT_SIGNAL, CATALOG, ROUTE_PUBLISHED, SCAN_ACCEPTED
from pingan_shared.events.subscriptions import DIRECTORY_OWNER, SERVICES, SUBSCRIPTIONS
from pingan_shared.http.asyncapi import ASYNCAPI_PATH
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack import topology
from pingan_stack.endpoints import DEFAULT_KAFKA_PORT

ROOT = Path(__file__).parents[1]
LIVE_GROUP = "patrol-live"
UNUSED_DATABASE = "postgresql://nobody@127.0.0.1:9/unused"  # bootstrapping connects to nothing


@pytest.fixture(scope="module")
def services() -> dict[str, Service]:
    built = {}
    for spec in topology.SERVICES:
        settings_module = importlib.import_module(f"{spec.name}.settings")
        settings_class = next(v for k, v in vars(settings_module).items() if k.endswith("Settings")
                              and getattr(v, "__module__", None) == settings_module.__name__)
        bootstrap = importlib.import_module(f"{spec.name}.bootstrap").bootstrap
        # the platform's settings as the test session has them (its JWKS), with no topic prefix
        built[spec.name] = bootstrap(platform=PlatformSettings(kafka_topic_prefix=""),
                                     settings=settings_class(database_url=UNUSED_DATABASE))
    return built


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return dict(json.loads((ROOT / "docs" / "asyncapi.json").read_text(encoding="utf-8")))


def test_the_documents_services_are_the_stacks() -> None:
    assert set(SERVICES) == {s.name for s in topology.SERVICES}
    assert DIRECTORY_OWNER == OWNER


def test_each_consumer_group_is_a_receive_operation_and_each_produced_topic_a_send(
        services: dict[str, Service], document: dict[str, Any]) -> None:
    for name, service in services.items():
        groups = {spec.group_id: (sorted(spec.event_types()), spec.subscribed_topics(CATALOG))
                  for spec in service.runtime.consumers}
        declared = {s.group: (sorted(s.events), s.topics_of(CATALOG))
                    for s in SUBSCRIPTIONS if s.service == name and s.group != LIVE_GROUP}
        assert groups == declared, f"{name}'s consumers differ from pingan_shared.events.subscriptions"
        for group, (_, topics) in groups.items():
            for topic in topics:
                operation = document["operations"][f"{group}-receives-{topic}"]
                assert operation["action"] == "receive" and operation["tags"] == [{"name": name}]
                assert operation["bindings"]["kafka"]["groupId"]["enum"] == [group]
        sends = {o["channel"]["$ref"].removeprefix("#/channels/") for o in document["operations"].values()
                 if o["action"] == "send" and o["tags"] == [{"name": name}]}
        assert set(service.runtime.produces) <= sends, name
        assert f"deadletter.{name}" in sends
        # whatever the document says a service sends on, the stack creates (pingan up: every topic at once)
        assert sends <= set(topology.all_topics())


def test_patrols_live_view_reads_what_the_document_says(services: dict[str, Service]) -> None:
    live = services["patrol"].app.state.live_coverage
    assert live is not None and live.app_id == LIVE_GROUP
    [declared] = [s for s in SUBSCRIPTIONS if s.group == LIVE_GROUP]
    assert {t for role, t in live.topics.items() if role != "deadletter"} == set(declared.topics_of(CATALOG))
    assert set(declared.events) == set(ROUND_EVENTS) | {SCAN_ACCEPTED, ROUTE_PUBLISHED, ALERT_SIGNAL}


async def test_every_service_serves_the_checked_in_document(services: dict[str, Service],
                                                            document: dict[str, Any]) -> None:
    for name, service in services.items():
        # the app without its lifespan: the route needs no database, broker or token
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get(ASYNCAPI_PATH)
            assert answer.status_code == 200, (name, answer.text[:300])
            assert answer.json() == document
            openapi = (await client.get("/openapi.json")).json()
        assert set(openapi["paths"][ASYNCAPI_PATH]["get"]["responses"]) == {"200"}, name


def test_the_servers_are_where_the_stack_puts_the_broker() -> None:
    def values(node: Any, key: str) -> set[str]:
        if isinstance(node, dict):
            return {str(v) for k, v in node.items() if k == key} | {x for v in node.values() for x in values(v, key)}
        if isinstance(node, list):
            return {x for item in node for x in values(item, key)}
        return set()

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert values(compose, "KAFKA_BOOTSTRAP_SERVERS") == {SERVERS["compose"]["host"]}
    assert "HOST://localhost:29092" in values(compose, "KAFKA_ADVERTISED_LISTENERS").pop()
    assert "localhost:29092" in SERVERS["compose"]["description"]
    k8s = [doc for doc in yaml.safe_load_all((ROOT / "deploy" / "k8s" / "config.yaml").read_text()) if doc]
    assert values(k8s, "KAFKA_BOOTSTRAP_SERVERS") == {SERVERS["kubernetes"]["host"]}
    embedded = SERVERS["embedded"]
    assert embedded["host"] == "127.0.0.1:{port}"
    assert embedded["variables"]["port"]["default"] == str(DEFAULT_KAFKA_PORT)
