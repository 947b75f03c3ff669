"""After a broker loss the stream app is built anew under an id of its own.

A running faust app outlives a restart of the embedded broker, but its changelog topics are gone (faust declares them
only when an app starts; no client of ours creates a topic by naming it), and its own offset commits may have stored
offsets of the old log on the new broker (tansu takes a commit from any member), where the app would resume past
events the relay published again. Rewinding the group is not possible while its old members linger (tansu refuses
a commit from outside the group until their session ends). So the app's id — its consumer group and the prefix of
its changelog topics — carries the broker losses patrol's relay recorded (``broker_losses``): after loss *n* the app
is ``<prefix>patrol-live-loss<n>``, a new group with no offsets that reads the new topics from their start (the
relay's window, and what came since) and new changelogs, joined with the record's state (``record.RecordSeed``).
Every replica and every restart reads the same latest loss, so they agree on the id; without a loss it is
``<prefix>patrol-live`` as before.
"""

from __future__ import annotations


class BrokerLost(RuntimeError):
    """patrol's relay recorded a broker loss: the stream app is built anew under the loss's id."""


def app_id(base: str, loss: int) -> str:
    return f"{base}-loss{loss}" if loss else base
