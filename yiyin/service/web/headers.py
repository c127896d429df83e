"""Security headers on every response, as plain ASGI middleware.

The verification page's URL carries the verification code: it is never sent on to another site
(Referrer-Policy), and the HTML pages may not be framed nor load anything from elsewhere. Plain
ASGI rather than Starlette's ``BaseHTTPMiddleware``, which wraps every response in a stream and a
task: on the public lookup that wrapping cost more than the lookup itself.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
ALWAYS = ((b"referrer-policy", b"no-referrer"), (b"x-content-type-options", b"nosniff"))
_HTML = ((b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"))


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                headers += [(k, v) for k, v in (*ALWAYS, *(_HTML if html else ())) if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
