"""uvicorn's HTTP protocol, with the public JSON lookup answered as the request is parsed.

Every QR code scan and every crowd asks ``GET /api/v1/verify``. On SQLite its answer is one
read of a prepared answer on the event loop; through ASGI, uvicorn then spends more than the
read itself on the request: a task, an event and a cycle object per request, two coroutine
``send`` calls, a regular-expression check of every header and two socket writes. Here that
request is answered where httptools finishes parsing it, with the same function, rate limit
and headers as the ASGI route, in one write. Every other request, and any lookup that cannot be
answered at once (another response still being written on the connection, a client that is not
reading, a request expecting ``100 Continue``, a registry on PostgreSQL), goes through ASGI as
before.

It builds on :class:`uvicorn.protocols.http.httptools_impl.HttpToolsProtocol` (uvicorn's ``http``
setting takes a protocol class); :func:`protocol_for` falls back to uvicorn's own choice when the
installed uvicorn lacks what this relies on.
"""

from __future__ import annotations

from typing import Any

from yiyin.service.web.headers import ALWAYS
from yiyin.service.web.routes import query_values

_PATH = b"/api/v1/verify"

try:
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
except ImportError:  # no httptools: uvicorn's pure-Python protocol serves everything
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

_NEEDS = ("on_headers_complete", "on_message_complete", "on_body", "on_response_complete", "_unset_keepalive_if_required")


def protocol_for() -> Any:
    """The ``http`` setting for uvicorn: this protocol where it can work, else ``"auto"``."""
    if HttpToolsProtocol is None or not all(hasattr(HttpToolsProtocol, name) for name in _NEEDS):
        return "auto"
    return LookupHttpProtocol


def _find(app: Any) -> tuple[Any, Any]:
    """The application's public checks and uvicorn's trusted proxies, through uvicorn's wrappers."""
    proxies = None
    for _ in range(8):
        checks = getattr(getattr(app, "fast_lookup", None), "checks", None)
        if checks is not None:
            return checks, proxies
        if HttpToolsProtocol is not None and isinstance(app, ProxyHeadersMiddleware):
            proxies = app.trusted_hosts
        app = getattr(app, "app", None)
        if app is None:
            break
    return None, None


def _forwarded_reader(proxies: Any) -> Any:
    """How this uvicorn reads the client out of X-Forwarded-For: (host, port) from the header's
    value, or None where it offers no way this protocol knows (then lookups take ASGI)."""
    if hasattr(proxies, "get_trusted_client_address"):  # uvicorn 0.45 and later
        return proxies.get_trusted_client_address
    if hasattr(proxies, "get_trusted_client_host"):  # 0.31 to 0.44
        return lambda value: (proxies.get_trusted_client_host(value), 0)
    return None


if HttpToolsProtocol is not None:

    class LookupHttpProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """``HttpToolsProtocol`` that answers ``GET /api/v1/verify`` itself, on SQLite."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            checks, self.proxies = _find(self.app)
            self.forwarded = _forwarded_reader(self.proxies) if self.proxies is not None else None
            usable = checks is not None and checks.inline_reads and (self.proxies is None or self.forwarded is not None)
            self.checks = checks if usable else None
            self.lookup_pending: tuple[tuple[str, int] | None, bool] | None = None  # (client, keep alive)

        def on_headers_complete(self) -> None:
            if self.checks is None or not self._answerable():
                self.lookup_pending = None
                super().on_headers_complete()
                return
            keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
            self.lookup_pending = (self._client(), keep_alive)

        def _answerable(self) -> bool:
            url = self.url
            if not url.startswith(_PATH) or url[len(_PATH):len(_PATH) + 1] not in (b"", b"?"):
                return False
            if self.parser.get_method() != b"GET" or self.expect_100_continue or self.parser.should_upgrade():
                return False
            # answer now only if nothing on this connection is ahead of it, and the client reads
            return (self.cycle is None or self.cycle.response_complete) and not self.pipeline \
                and not self.flow.write_paused

        def _client(self) -> tuple[str, int] | None:
            """The client, or the one a trusted proxy names, as uvicorn's proxy middleware reads it."""
            if self.proxies is not None and self.client is not None and self.client[0] in self.proxies:
                forwarded = [value for name, value in self.headers if name == b"x-forwarded-for"]
                if forwarded:
                    host, port = self.forwarded(b", ".join(forwarded).decode("latin1"))
                    if host:
                        return host, port
            return self.client

        def on_body(self, body: bytes) -> None:
            if self.lookup_pending is None:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if self.lookup_pending is None:
                super().on_message_complete()
                return
            client, keep_alive = self.lookup_pending
            self.lookup_pending = None
            self._answer(client, keep_alive)

        def _answer(self, client: tuple[str, int] | None, keep_alive: bool) -> None:
            query = self.url.partition(b"?")[2].partition(b"#")[0]
            values = query_values(query, ("n", "c"))
            try:
                status, body, headers = self.checks.api_lookup_inline(
                    client[0] if client else None, values.get("n", ""), values.get("c", ""))
            except Exception as exc:
                self.logger.error("Exception in the public lookup", exc_info=exc)
                self._write_500()
                return
            out = [STATUS_LINE[status]]
            for name, value in (*self.server_state.default_headers, *headers, *ALWAYS):
                out += [name, b": ", value, b"\r\n"]
            if not keep_alive:
                out.append(b"connection: close\r\n")
            out += [b"\r\n", body]
            if self.access_log:
                self.access_logger.info('%s - "%s %s HTTP/%s" %d', "%s:%d" % client if client else "", "GET",
                                        self.url.decode("latin1"), self.parser.get_http_version(), status)
            self.transport.write(b"".join(out))
            if not keep_alive:
                self.transport.close()
            self.on_response_complete()

        def _write_500(self) -> None:
            self.transport.write(b"".join([
                STATUS_LINE[500], *(b"%s: %s\r\n" % pair for pair in self.server_state.default_headers),
                b"content-type: text/plain; charset=utf-8\r\ncontent-length: 21\r\nconnection: close\r\n\r\n",
                b"Internal Server Error"]))
            self.transport.close()
            self.server_state.total_requests += 1

