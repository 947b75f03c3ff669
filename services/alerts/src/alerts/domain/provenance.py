"""Who may say what (DESIGN.md §3, provenance): every dedup key lives in its source's namespace, and a source
triggers or resolves only keys of its own.

A source is a platform service on Kafka (its own signal topic, ``<service>.alert-signals``, is its identity: the
inbox consumer refuses an envelope naming another producer than the topic's owner) or an outside system over
HTTP, whose namespace is its token's subject (``pingan token issue --role integration --subject grid`` sends
``grid:…`` keys). The platform services' namespaces are reserved: no token speaks for them, and no other source
may use a kind of theirs — the kinds are what select their built-in ladders (the 211 ladder's 问责 step records
accountability against a unit), so a kind names its source as the key does.

Because alerts refuses everything else at the door, an alert's dedup-key namespace *is* the source that raised
it: inspection's accountability consumer acts only on ``inspection:`` keys, and knows inspection raised them.
Pure rules, no I/O.
"""

from __future__ import annotations

from typing import Final

from pingan_shared.events.catalog import SIGNAL_SOURCES
from pingan_shared.refused import Refused

# Namespaces only the platform's own services speak in (their service names), whatever a token says: every source
# of signals on Kafka, and the services that send none (yet).
RESERVED_NAMESPACES: Final = frozenset({*SIGNAL_SOURCES, "alerts", "directory", "console", "platform"})
KEY_SEPARATOR: Final = ":"
KIND_SEPARATOR: Final = "."


class SignalRefused(Refused):
    """A signal its sender may not send: ``status`` 403 (the sender may not speak for anyone here) or 422 (this
    signal's ``field`` is outside the sender's namespace)."""


def namespace_of_key(dedup_key: str) -> str | None:
    """The namespace a dedup key lives in (``inspection`` for ``inspection:task:7:overdue``); None without one."""
    namespace, separator, rest = dedup_key.partition(KEY_SEPARATOR)
    return namespace if separator and namespace and rest else None


def namespace_of_kind(kind: str) -> str:
    """The namespace a kind names (``inspection`` for ``inspection.task-overdue``; a kind without a dot is its own)."""
    return kind.partition(KIND_SEPARATOR)[0]


def http_source(subject: str) -> str:
    """The namespace of an HTTP sender: its token's subject. Refused (403) when the subject cannot be one: a
    platform service's name, or a name with the key separator in it."""
    if subject in RESERVED_NAMESPACES:
        raise SignalRefused(403, f"命名空间 {subject} 为平台服务保留，令牌不能代其发送信号 (the namespace {subject!r} "
                                 "is reserved for the platform service of that name: its signals come only from its "
                                 "own Kafka topic)", "Authorization")
    if KEY_SEPARATOR in subject or not subject.strip():
        raise SignalRefused(403, f"令牌主体 {subject!r} 不能作为命名空间 (a token subject with ':' or only spaces "
                                 "cannot be a namespace; issue the integration token with a plain --subject such as "
                                 "grid)", "Authorization")
    return subject


def check_signal(source: str, *, dedup_key: str, kind: str) -> None:
    """Refuse (422 naming the field) a signal whose key is outside ``source``'s namespace, or whose kind belongs
    to another source's namespace (a platform kind, and with it that platform's built-in ladder)."""
    key_namespace = namespace_of_key(dedup_key)
    if key_namespace != source:
        raise SignalRefused(422, f"去重键须在来源自己的命名空间内，以 {source}: 开头 (a source triggers or resolves "
                                 f"only keys of its own namespace: {source}:…; this one is "
                                 f"{key_namespace + ':…' if key_namespace else 'in no namespace'})", "dedup_key")
    kind_namespace = namespace_of_kind(kind)
    if kind_namespace in RESERVED_NAMESPACES and kind_namespace != source:
        raise SignalRefused(422, f"告警类型 {kind} 属于 {kind_namespace}，{source} 不能使用 (the kind {kind!r} belongs "
                                 f"to {kind_namespace}: its built-in ladder applies only to {kind_namespace}'s own "
                                 "signals)", "kind")


def builtin_applies(kind: str, source: str) -> bool:
    """Whether a built-in ladder of ``kind`` may apply to an alert ``source`` raised: only to its own source."""
    return namespace_of_kind(kind) == source
