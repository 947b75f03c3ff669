"""The live app's tables: changelog records are joined into what a table holds (``JoiningTable``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import faust


class JoiningTable(faust.Table):
    """A table whose changelog records are joined into what it holds, not written over it.

    Every value here only grows (members per checkpoint, a route's highest version, round flags that turn on), so
    joining is always right, and it makes recovery indifferent to the order and number of changelog records it
    reads. That matters: with ``recovery_buffer_size=1`` faust keeps reading a table's own changelog after recovery,
    and the restart test saw a restarted app keep an older value of a key that its agent had already updated."""

    join_values: Callable[[Any, Any], Any] = staticmethod(lambda _current, incoming: incoming)

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        for event in batch:
            current = None if event.message.value is None else self.data.get(self._to_key(event.key))

            def to_value(raw: Any, current: Any = current) -> Any:
                incoming = self._to_value(raw)
                return incoming if current is None or incoming is None else self.join_values(current, incoming)

            self.data.apply_changelog_batch([event], to_key=self._to_key, to_value=to_value)
