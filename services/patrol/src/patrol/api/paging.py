"""Opaque keyset cursors for listings ordered by (a time, then text keys): ``next_after`` of one page is
``after`` of the next. A cursor is base64url of the key as JSON; anything else is a 422 naming ``after``."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from pingan_shared.http.errors import ApiError


def encode(at: datetime, *keys: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), *keys], ensure_ascii=False).encode()).decode()


def decode(cursor: str | None, keys: int) -> tuple[datetime, list[str]] | None:
    """(time, keys) of a cursor ``encode`` wrote with ``keys`` text keys; None for no cursor."""
    if cursor is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not (isinstance(value, list) and len(value) == keys + 1 and all(isinstance(v, str) for v in value)):
            raise ValueError("not a cursor")
        for text in value:
            text.encode("utf-8")  # a lone surrogate: UnicodeError
            if "\x00" in text:
                raise ValueError("not storable")
        at = datetime.fromisoformat(value[0])
        if at.tzinfo is None:
            raise ValueError("not a cursor")
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
        raise ApiError(422, "after: not a cursor this listing gave (use next_after as it came)", field="query.after") \
            from None
    return at, value[1:]
