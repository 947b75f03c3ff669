"""Prometheus metrics, one registry per service instance (tests run several in one process).

Served on the service's metrics port only (``pingan_shared.metrics_server``), never on its API port.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)


class Metrics:
    def __init__(self, service: str) -> None:
        # No ``*_created`` samples (the time each labelled series was first counted): the one for
        # route="/v1/findings" would date the first covert finding of a cycle. A process-wide switch in
        # prometheus_client, read at every scrape; every service wants it off.
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"service": service}
        self._http_requests = Counter(
            "pingan_http_requests_total", "HTTP requests", ["method", "route", "status"],
            registry=self.registry,
        )
        self._http_seconds = Histogram(
            "pingan_http_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.events_published = Counter(
            "pingan_events_published_total", "Events published by the outbox relay", ["topic"],
            registry=self.registry,
        )
        self.events_consumed = Counter(
            "pingan_events_consumed_total", "Events consumed, by outcome", ["group", "type", "outcome"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "pingan_consumer_lag", "Messages behind the partition's end, after the last handled batch",
            ["group", "topic", "partition"], registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "pingan_outbox_backlog", "Outbox rows waiting to be published, parked rows not included "
            "(as last counted by the relay, at most a few seconds old)",
            registry=self.registry,
        )
        self.outbox_parked = Gauge(
            "pingan_outbox_parked", "Outbox rows the broker refused for good, kept until "
            "`pingan outbox retry` (as last counted by the relay)", registry=self.registry,
        )
        self.broker_losses = Counter(
            "pingan_broker_losses_total", "Times the relay found the broker had lost events it acknowledged (by how "
            "it was found); the kept outbox rows were put back to be published again", ["how"], registry=self.registry,
        )
        self.events_republished = Counter(
            "pingan_events_republished_total", "Kept outbox rows put back to be published again after a broker loss",
            ["topic"], registry=self.registry,
        )
        self.timers_fired = Counter(
            "pingan_timers_fired_total", "Durable timers fired, by outcome", ["kind", "outcome"],
            registry=self.registry,
        )
        self.timers_failed = Gauge(
            "pingan_timers_failed", "Timers whose handler failed every attempt: they fire no more until "
            "`pingan timers retry` (as last counted by the timer runner)", ["kind"], registry=self.registry,
        )
        self.broker_up = Gauge(
            "pingan_broker_up", "1 if the broker answered the service's last probe, else 0 (the service "
            "stays ready without it: writes wait in the outbox)", registry=self.registry,
        )
        self.info = Gauge("pingan_service_info", "Service identity", ["service"], registry=self.registry)
        self.info.labels(**labels).set(1)

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        self._http_requests.labels(method=method, route=route, status=str(status)).inc()
        self._http_seconds.labels(method=method, route=route).observe(seconds)
