from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from pingan_shared.clock import FixedClock, ScaledClock, SystemClock
from pingan_shared.events.catalog import CATALOG, SCAN_ACCEPTED, Catalog, EventType, UnknownEventType
from pingan_shared.events.contracts import Contract, ScanAcceptedV1, ScanAcceptedV2, ScanMethod
from pingan_shared.events.envelope import Envelope, EnvelopeError
from pingan_shared.events.factory import EventFactory

T0 = datetime(2026, 11, 22, 20, 0, tzinfo=timezone(timedelta(hours=8)))


def _scan(**overrides: object) -> ScanAcceptedV2:
    fields: dict[str, object] = dict(scan_id="s1", team_id="安阳巡逻一队", member_id="张三", checkpoint_id="CP-1",
                                     device_time=T0, corrected_time=T0, received_at=T0)
    fields.update(overrides)
    return ScanAcceptedV2(**fields)  # type: ignore[arg-type]


def test_clocks() -> None:
    fixed = FixedClock(T0)
    fixed.advance(timedelta(days=28))
    assert fixed.now() == T0 + timedelta(days=28)
    assert fixed.now().tzinfo == UTC
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))
    scaled = ScaledClock(3600, epoch=T0)
    assert scaled.now() >= T0
    assert SystemClock().now().tzinfo == UTC


def test_envelope_round_trip_keeps_chinese_text_and_lineage() -> None:
    factory = EventFactory("patrol", FixedClock(T0), "dev.")
    topic, first = factory.make(SCAN_ACCEPTED, _scan(), key="安阳巡逻一队")
    _, caused = factory.make(SCAN_ACCEPTED, _scan(scan_id="s2"), key="安阳巡逻一队", causation=first)
    assert topic == "dev.patrol.scans"
    raw = first.to_bytes()
    assert "安阳巡逻一队".encode() in raw  # UTF-8, not \\u escapes
    assert Envelope.from_bytes(raw) == first
    assert caused.correlation_id == first.correlation_id and caused.causation_id == first.event_id
    decoded = CATALOG.decode(Envelope.from_bytes(raw))
    assert decoded == _scan()


@pytest.mark.parametrize("raw", [None, b"", b"{}", b"[1]", b'{"event_id": "x"}', "平安".encode()])
def test_envelope_rejects_garbage_with_a_reason(raw: bytes | None) -> None:
    with pytest.raises(EnvelopeError) as info:
        Envelope.from_bytes(raw)
    assert str(info.value)


def test_payloads_are_frozen_and_strict() -> None:
    scan = _scan()
    with pytest.raises(ValidationError):
        scan.scan_id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        _scan(unexpected="field")
    with pytest.raises(ValidationError):
        _scan(device_time=datetime(2026, 11, 22, 20, 0))  # naive time is ambiguous


def test_factory_refuses_the_wrong_payload_model() -> None:
    class Other(Contract):
        x: int

    with pytest.raises(TypeError):
        EventFactory("patrol", FixedClock(T0)).make(SCAN_ACCEPTED, Other(x=1), key="k")


class GreetingV2(Contract):
    text: str
    language: str


def _greeting_catalog() -> Catalog:
    catalog = Catalog()
    catalog.register(EventType("demo.greeting", 2, "demo", GreetingV2))
    catalog.register_upcaster("demo.greeting", 1, lambda p: {"text": p["message"], "language": "zh"})
    return catalog


def _envelope(version: int, payload: dict[str, object]) -> Envelope:
    return Envelope(event_id=uuid.uuid4(), type="demo.greeting", schema_version=version, occurred_at=T0,
                    producer="test", key="k", correlation_id=uuid.uuid4(), payload=payload)


def test_old_versions_are_upcast_and_newer_ones_refused() -> None:
    catalog = _greeting_catalog()
    upcast = catalog.decode(_envelope(1, {"message": "你好"}))
    assert upcast == GreetingV2(text="你好", language="zh")
    with pytest.raises(UnknownEventType, match="newer"):
        catalog.decode(_envelope(3, {}))
    with pytest.raises(UnknownEventType):
        catalog.get("no.such.type")
    with pytest.raises(ValueError):
        catalog.register(EventType("demo.greeting", 1, "demo", GreetingV2))


def test_a_v1_scan_on_the_topic_is_read_as_v2_with_its_device_time_uncorrected() -> None:
    v1 = ScanAcceptedV1(scan_id="s1", team_id="一队", member_id="张三", checkpoint_id="CP-1", device_time=T0,
                        received_at=T0 + timedelta(hours=4), latitude=27.78, longitude=120.65, within_radius=True)
    old = Envelope(event_id=uuid.uuid4(), type=SCAN_ACCEPTED, schema_version=1, occurred_at=T0, producer="patrol",
                   key="一队", correlation_id=uuid.uuid4(), payload=v1.model_dump(mode="json"))
    decoded = CATALOG.decode(Envelope.from_bytes(old.to_bytes()))
    assert isinstance(decoded, ScanAcceptedV2)
    assert decoded.corrected_time == decoded.device_time == T0
    assert (decoded.sent_at, decoded.clock_offset_seconds, decoded.method, decoded.device_id) == (None,) * 4
    assert (decoded.latitude, decoded.within_radius, decoded.received_at) == (27.78, True, T0 + timedelta(hours=4))
    current = _scan(method=ScanMethod.QR, device_id="device-07", sent_at=T0, clock_offset_seconds=1.5)
    _, envelope = EventFactory("patrol", FixedClock(T0)).make(SCAN_ACCEPTED, current, key="一队")
    assert envelope.schema_version == 2 and CATALOG.decode(envelope) == current


def test_every_event_type_exports_a_json_schema(tmp_path: Path) -> None:
    written = CATALOG.export_json_schemas(tmp_path)
    assert {p.name for p in written} == {f"{name}.v{t.version}.schema.json" for name, t in CATALOG.types.items()}
    schema = json.loads((tmp_path / "patrol.scan-accepted.v2.schema.json").read_text())
    assert schema["properties"]["type"] == {"const": "patrol.scan-accepted"}
    assert "device_time" in schema["properties"]["payload"]["properties"]
    assert schema["x-topic"] == "patrol.scans"
    for event_type in CATALOG.types.values():
        assert issubclass(event_type.payload, BaseModel)
        assert event_type.payload.model_config.get("frozen"), f"{event_type.name} payload must be frozen"


def test_committed_schemas_match_the_catalog() -> None:
    """shared/schemas is the contract other teams read: regenerate with `make schemas` after a change."""
    directory = Path(__file__).parents[1] / "schemas"
    committed = {p.name.removesuffix(".schema.json"): json.loads(p.read_text()) for p in directory.glob("*.json")}
    assert committed == CATALOG.json_schemas(), "event contracts changed: run `make schemas` and commit"


def test_consumer_spec_takes_one_kind_of_handler_per_event_type() -> None:
    from pingan_shared.messaging.consumer import ConsumerSpec

    async def handler(*_: object) -> None: ...

    with pytest.raises(ValueError, match="both"):
        ConsumerSpec("g", handlers={SCAN_ACCEPTED: handler}, batch_handlers={SCAN_ACCEPTED: handler})
    spec = ConsumerSpec("g", handlers={SCAN_ACCEPTED: handler})
    assert spec.batch_handler_for(SCAN_ACCEPTED) is not None
    assert spec.batch_handler_for("other.type") is None
    assert spec.subscribed_topics(CATALOG) == ["patrol.scans"]


def test_an_alert_signal_sequence_starts_at_one_like_the_envelope_sequence() -> None:
    # AlertSignalV1.sequence allowed 0 while Envelope.sequence requires >= 1: one key's sequence, two contracts
    # disagreeing on its first value (a signal could carry a number no envelope can).
    from pingan_shared.events.alert_contracts import AlertSignalV1, SignalAction, SourceLink

    def signal(sequence: int | None) -> AlertSignalV1:
        return AlertSignalV1(action=SignalAction.TRIGGER, dedup_key="k", kind="inspection.task-overdue",
                             summary="逾期", source=SourceLink(service="inspection", entity_type="task",
                                                               entity_id="t1"), occurred_at=T0, sequence=sequence)

    assert signal(1).sequence == 1 and signal(None).sequence is None
    with pytest.raises(ValidationError):
        signal(0)
    assert Envelope.model_json_schema()["properties"]["sequence"]["anyOf"][0]["minimum"] == 1
    assert AlertSignalV1.model_json_schema()["properties"]["sequence"]["anyOf"][0]["minimum"] == 1
