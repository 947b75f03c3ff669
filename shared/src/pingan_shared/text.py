"""Text that PostgreSQL can store: the type of every string a client sends.

JSON lets a client send a NUL character (``"\\u0000"``) or a lone surrogate (``"\\ud800"``); Python
accepts both, PostgreSQL refuses both, and the request would fail as a 500 deep in a handler. Refusing
them at the edge turns that into a 422 naming the field. Chinese and any other valid Unicode pass.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def storable(value: str) -> str:
    """``value`` if PostgreSQL can store it (the check behind ``StorableStr``), else ValueError."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)") from None
    return value


StorableStr = Annotated[str, AfterValidator(storable)]


def echoable(value: str) -> str:
    """A client's string made safe to echo back in a JSON answer (lone surrogates become '?')."""
    return value.encode("utf-8", "replace").decode("utf-8")
