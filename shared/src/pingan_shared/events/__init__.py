"""Event contracts: the envelope, the payload models, and the catalog of types → topics."""

from pingan_shared.events.catalog import CATALOG, Catalog, EventType, UnknownEventType
from pingan_shared.events.envelope import Envelope, EnvelopeError, new_envelope

__all__ = ["CATALOG", "Catalog", "Envelope", "EnvelopeError", "EventType", "UnknownEventType", "new_envelope"]
