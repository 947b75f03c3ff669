"""Delivery's Prometheus metrics, registered once per service instance on the runtime's registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class DeliveryMetrics:
    attempts: Counter
    messages: Gauge
    notifications_pending: Gauge
    sending_overdue: Gauge
    dead_letters: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> DeliveryMetrics:
        return cls(
            attempts=Counter("pingan_alerts_delivery_attempts_total", "Delivery attempts by channel and outcome",
                             ["channel", "outcome"], registry=registry),
            messages=Gauge("pingan_alerts_delivery_messages", "Delivery messages by channel and status (as last "
                           "counted)", ["channel", "status"], registry=registry),
            notifications_pending=Gauge("pingan_alerts_delivery_notifications_pending",
                                        "Notifications not yet put into a message", registry=registry),
            sending_overdue=Gauge("pingan_alerts_delivery_sending_overdue", "Messages still in sending past their "
                                  "deadline (a sender died; any replica takes them back)", registry=registry),
            dead_letters=Gauge("pingan_alerts_delivery_dead_letters", "Dead letters not re-sent: messages that "
                               "failed every attempt (POST /v1/deliveries/dead-letters/{id}/resend)",
                               registry=registry),
        )
