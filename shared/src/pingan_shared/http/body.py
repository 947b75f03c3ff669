"""Parse a JSON request body so that every way the parser can fail is the client's 400, naming the body."""

from __future__ import annotations

import json
from typing import Any

from pingan_shared.http.errors import UNPARSEABLE_BODY, body_not_json


def parse_json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except UNPARSEABLE_BODY as exc:
        raise body_not_json(exc) from exc
