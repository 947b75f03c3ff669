"""GET /asyncapi.json: the platform's AsyncAPI 3 document (every topic and event), beside the service's OpenAPI.

Every service serves the same document, the one docs/asyncapi.json holds (``pingan_shared.events.asyncapi``): the
events are the platform's contract, not one service's, and each operation in it names its service (its tag). Like
/openapi.json it needs no token and no database; it is built on the first request and its bytes kept.
"""

from __future__ import annotations

import functools

from fastapi import FastAPI
from fastapi.responses import Response

from pingan_shared.events.asyncapi import asyncapi_document, render

ASYNCAPI_PATH = "/asyncapi.json"


@functools.cache
def _body() -> bytes:
    return render(asyncapi_document()).encode()


def install_asyncapi(app: FastAPI) -> None:
    @app.get(ASYNCAPI_PATH, tags=["ops"], response_model=None, responses={200: {
        "description": "本平台全部主题与事件的 AsyncAPI 3.0.0 文件 (the AsyncAPI 3.0.0 document of every topic and "
                       "event of the platform: channels, messages, who sends and receives them)",
        "content": {"application/json": {"schema": {
            "type": "object", "required": ["asyncapi", "info", "channels", "operations", "components"],
            "properties": {"asyncapi": {"type": "string", "const": "3.0.0"}},
        }}},
    }})
    async def asyncapi() -> Response:
        return Response(_body(), media_type="application/json")
