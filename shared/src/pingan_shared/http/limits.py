"""Request body size limit: bodies over ``max_bytes`` get 413 in the one error shape, declared or streamed."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pingan_shared.http.errors import ApiError, error_response


class BodyTooLarge(ApiError):
    """Raised from ``receive`` once a streamed (chunked) body passes the limit.

    An HTTPException on purpose: FastAPI's body reading for pydantic-body routes turns any other
    exception into 400 "There was an error parsing the body" but re-raises HTTPExceptions, so the
    app's handler answers 413 in the error shape whichever route was reading."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"请求体超过 {max_bytes} 字节 (request body over {max_bytes} bytes)", field="(body)")


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413 before they are buffered (huge payloads)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or {}).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send, BodyTooLarge(self.max_bytes))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge as exc:  # read outside a route's exception handling (another middleware)
            await self._refuse(scope, send, exc)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, exc: BodyTooLarge) -> None:
        await error_response(exc)(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
