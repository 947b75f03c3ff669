"""The AsyncAPI document (pingan_shared.events.asyncapi) is valid AsyncAPI 3.0.0, lists every catalog event on each of
its topics, resolves every reference, describes the envelopes the producers really send, and is what
docs/asyncapi.json holds: a new event, topic or consumer group without its entry fails here until `make schemas`.

No maintained AsyncAPI 3 parser exists for Python (the official ones are JavaScript and Go), so the document is
checked against the official AsyncAPI 3.0.0 JSON Schema (asyncapi/spec-json-schemas, vendored with its licence in
asyncapi_spec/) with jsonschema-rs; that schema takes a reference as any URI, so the references are resolved here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI

from pingan_shared.clock import FixedClock
from pingan_shared.events.alert_contracts import AlertSignalV1, SignalAction, SourceLink
from pingan_shared.events.asyncapi import asyncapi_document, message_id, render, topics_of
from pingan_shared.events.catalog import (
    ALERT_SIGNAL,
    CATALOG,
    DEAD_LETTERED,
    DIRECTORY_ENTRY,
    SCAN_ACCEPTED,
    Catalog,
    EventType,
    UnknownEventType,
)
from pingan_shared.events.contracts import DeadLetteredV1, ScanAcceptedV2, ScanMethod
from pingan_shared.events.directory_contracts import DirectoryEntryV1, EntryKind
from pingan_shared.events.envelope import Envelope, new_envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.roster_contracts import NoShowV1
from pingan_shared.events.subscriptions import SERVICES, SUBSCRIPTIONS, Subscription
from pingan_shared.http.asyncapi import ASYNCAPI_PATH, install_asyncapi
from pingan_shared.http.openapi import install_openapi

ROOT = Path(__file__).parents[2]
CHECKED_IN = ROOT / "docs" / "asyncapi.json"
SPEC = Path(__file__).parent / "asyncapi_spec" / "asyncapi-3.0.0.schema.json"
T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document()


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"{ref}: the document refers only within itself"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref}: no {part!r}"
        node = node[part]
    return node


def payload_validator(document: dict[str, Any], event: str) -> jsonschema_rs.Validator:
    """A validator of ``event``'s message payload, resolving its references within the whole document."""
    message = document["components"]["messages"][event]
    return jsonschema_rs.Draft7Validator({**document, "$ref": message["payload"]["$ref"]})


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    validator = jsonschema_rs.Draft7Validator(json.loads(SPEC.read_text()))
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message[:300]}" for e in validator.iter_errors(document)]
    assert errors == []
    # and a broken one is not: the validator is not one that accepts anything
    broken = {**document, "operations": {"x": {"action": "publish", "channel": {"$ref": "#/channels/patrol.scans"}}}}
    assert not validator.is_valid(broken)


def test_every_reference_resolves_and_an_operation_sends_only_its_channels_messages(document: dict[str, Any]) -> None:
    found = refs(document)
    assert len(found) > 200
    for ref in found:
        resolve(document, ref)
    for operation_id, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        assert operation["messages"], operation_id
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{channel}/messages/"), (operation_id, message)
    # no JSON Schema keyword beyond draft 07, which AsyncAPI schemas are a superset of
    text = json.dumps(document["components"]["schemas"])
    assert not any(keyword in text for keyword in ('"$defs"', '"prefixItems"', '"unevaluatedProperties"'))


def test_every_catalog_event_has_its_message_on_each_of_its_topics(document: dict[str, Any]) -> None:
    channels, messages = document["channels"], document["components"]["messages"]
    assert set(channels) == set(CATALOG.topics()) | {f"deadletter.{s}" for s in SERVICES}
    for event_type in CATALOG.types.values():
        name = message_id(event_type)
        assert messages[name]["name"] == event_type.name
        assert messages[name]["payload"] == {"$ref": f"#/components/schemas/{name}"}
        for topic in topics_of(event_type):
            assert channels[topic]["messages"][name] == {"$ref": f"#/components/messages/{name}"}
            assert channels[topic]["address"] == "{prefix}" + topic
            senders = [o for o in document["operations"].values() if o["action"] == "send"
                       and o["channel"]["$ref"] == f"#/channels/{topic}"
                       and {"$ref": f"#/channels/{topic}/messages/{name}"} in o["messages"]]
            assert senders, f"nobody sends {name} on {topic}"
    assert set(messages) == {message_id(t) for t in CATALOG.types.values()}
    assert document["servers"]["embedded"]["protocol"] == "kafka"
    assert "信封" in document["info"]["description"] and "Envelope" in document["info"]["description"]
    signals = channels["inspection.alert-signals"]
    assert set(signals["messages"]) == {"alerts.signal.v1"} and "alert signals" in signals["description"]
    assert channels["directory.entries"]["bindings"]["kafka"]["topicConfiguration"] == {"cleanup.policy": ["compact"]}
    groups = {o["bindings"]["kafka"]["groupId"]["enum"][0] for o in document["operations"].values()
              if o["action"] == "receive" and "bindings" in o}
    assert groups == {s.group for s in SUBSCRIPTIONS}


def test_the_payload_schemas_describe_the_envelopes_the_producers_send(document: dict[str, Any]) -> None:
    source = SourceLink(service="inspection", entity_type="task", entity_id="T-1")
    samples = [
        (SCAN_ACCEPTED, ScanAcceptedV2(scan_id="s1", team_id="一队", member_id="张三", checkpoint_id="CP-1",
                                       device_time=T0, corrected_time=T0, received_at=T0, method=ScanMethod.NFC),
         "一队", "patrol"),
        (ALERT_SIGNAL, AlertSignalV1(action=SignalAction.TRIGGER, dedup_key="inspection:task:T-1:overdue",
                                     kind="inspection.task-overdue", summary="整改逾期", source=source, occurred_at=T0),
         "inspection:task:T-1:overdue", "inspection"),
        (DIRECTORY_ENTRY, DirectoryEntryV1(code="330381102000", kind=EntryKind.TOWNSHIP, name="塘下镇"),
         "330381102000", "roster"),
        (DEAD_LETTERED, DeadLetteredV1(consumer_group="roster.scans", source_topic="patrol.scans", source_partition=0,
                                       source_offset=7, source_key="一队", source_event_id=None,
                                       source_event_type=None, reason="not JSON", raw_value="{"), "一队", "roster"),
    ]
    for name, payload, key, producer in samples:
        event_type = CATALOG.get(name)
        # as a producer's outbox or a consumer's dead-lettering makes it
        envelope = new_envelope(type=name, schema_version=event_type.version, payload=payload, key=key,
                                producer=producer, occurred_at=T0)
        message = document["components"]["messages"][message_id(event_type)]
        validator = payload_validator(document, message_id(event_type))
        sent = json.loads(envelope.to_bytes())
        assert validator.is_valid(sent), list(validator.iter_errors(sent))[:3]
        headers = {header: value.decode() for header, value in envelope.headers()}
        assert jsonschema_rs.Draft7Validator(message["headers"]).is_valid(headers)
        assert jsonschema_rs.Draft7Validator(message["bindings"]["kafka"]["key"]).is_valid(envelope.key)
        # what the catalog would refuse, the schema refuses too: another type, a payload missing a field
        assert not validator.is_valid({**sent, "type": "patrol.scan-flagged"})
        assert not validator.is_valid({**sent, "payload": {}})
        assert not jsonschema_rs.Draft7Validator(message["headers"]).is_valid({**headers, "schema_version": "9"})


def test_the_exported_json_schemas_resolve_their_nested_models() -> None:
    """shared/schemas: a payload's nested models (an enum, a link) sit where its references point."""
    for path in sorted((ROOT / "shared" / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text())
        for ref in refs(schema):
            resolve(schema, ref)
    scan = json.loads((ROOT / "shared" / "schemas" / "patrol.scan-accepted.v2.schema.json").read_text())
    _, envelope = EventFactory("patrol", FixedClock(T0)).make(SCAN_ACCEPTED, ScanAcceptedV2(
        scan_id="s1", team_id="一队", member_id="张三", checkpoint_id="CP-1", device_time=T0, corrected_time=T0,
        received_at=T0, method=ScanMethod.QR), key="一队")
    validator = jsonschema_rs.Draft202012Validator(scan)
    assert validator.is_valid(json.loads(envelope.to_bytes()))
    assert not validator.is_valid({**json.loads(envelope.to_bytes()), "payload": {
        **envelope.payload, "method": "bluetooth"}})


def test_the_checked_in_document_is_what_the_catalog_generates(document: dict[str, Any]) -> None:
    assert json.loads(CHECKED_IN.read_text(encoding="utf-8")) == document, (
        "docs/asyncapi.json differs from the catalog: run `make schemas` and commit it")
    assert render(document) == CHECKED_IN.read_text(encoding="utf-8")


def test_a_new_event_or_consumer_without_its_entry_changes_the_document_or_is_refused() -> None:
    grown = Catalog(types=dict(CATALOG.types), upcasters=dict(CATALOG.upcasters))
    grown.register(EventType("roster.period-closed", 1, "roster.periods", NoShowV1, "A rotation period closed; "
                                                                                     "key = period id."))
    document = asyncapi_document(grown)
    assert "roster.period-closed.v1" in document["components"]["messages"]
    assert document["operations"]["roster-sends-roster.periods"]["action"] == "send"
    assert json.loads(CHECKED_IN.read_text(encoding="utf-8")) != document  # the check above would fail

    stranger = Catalog(types=dict(CATALOG.types))
    stranger.register(EventType("board.panel-stale", 1, "board.panels", NoShowV1, "key = panel."))
    with pytest.raises(ValueError, match="board"):
        asyncapi_document(stranger)
    with pytest.raises(UnknownEventType):
        asyncapi_document(CATALOG, [*SUBSCRIPTIONS, Subscription("alerts", "alerts.x", ("alerts.nothing",), "?")])
    with pytest.raises(ValueError, match="none of its events"):
        asyncapi_document(CATALOG, [Subscription("alerts", "alerts.x", (SCAN_ACCEPTED,), "?",
                                                 topics=("roster.shifts",))])


async def test_the_route_serves_the_document_and_openapi_says_so(document: dict[str, Any]) -> None:
    app = FastAPI()
    install_asyncapi(app)
    install_openapi(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answer = await client.get(ASYNCAPI_PATH)
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        assert answer.json() == document
        operation = (await client.get("/openapi.json")).json()["paths"][ASYNCAPI_PATH]["get"]
    # the edge answers it without the database or a token: no 503, 401 or 422 to document
    assert set(operation["responses"]) == {"200"} and "security" not in operation


def test_an_envelope_is_what_the_document_calls_the_payload() -> None:
    """The envelope's fields are the payload's properties (a field added to the envelope changes the document)."""
    document = asyncapi_document()
    schema = document["components"]["schemas"][message_id(CATALOG.get(SCAN_ACCEPTED))]
    assert set(schema["properties"]) == set(Envelope.model_fields)
    assert schema["properties"]["key"]["maxLength"] == 500
