"""`yiyin serve` answers GET /api/v1/verify in its HTTP protocol, ahead of ASGI: over real sockets,
the answer is the one the ASGI route gives, rate limits and proxies are honoured, and the HTTP of
keep-alive, pipelining and closing connections is kept."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from yiyin.service.app import App

from .conftest import serving
from .test_web import qr_query


def _request(path: str, *headers: str, version: str = "1.1") -> bytes:
    return "\r\n".join([f"GET {path} HTTP/{version}", "Host: 127.0.0.1", *headers, "", ""]).encode("latin-1")


class Conn:
    """A raw HTTP/1.1 connection: write requests as they are, read responses one by one."""

    def __init__(self, base: str) -> None:
        url = urlparse(base)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=10)
        self.file = self.sock.makefile("rb")

    def send(self, *requests: bytes) -> None:
        self.sock.sendall(b"".join(requests))  # several at once: pipelined

    def response(self) -> tuple[int, dict[str, str], bytes]:
        status = int(self.file.readline().split()[1])
        headers: dict[str, str] = {}
        while (line := self.file.readline().rstrip(b"\r\n")):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.lower()] = value.strip()
        return status, headers, self.file.read(int(headers["content-length"]))

    def closed_by_server(self) -> bool:
        return self.file.read(1) == b""

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def _lookup_path(n: str, c: str, path: str = "/api/v1/verify") -> str:
    return f"{path}?n={quote(n)}&c={quote(c)}"


@pytest.fixture
def served(app: App, home: Path):  # type: ignore[no-untyped-def]
    with serving(home, {"YIYIN_RATE_LIMIT": "0/1"}, "--no-access-log") as (base, _):
        yield base


def test_the_lookup_answers_as_the_asgi_route_does(demo, served: str) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    conn = Conn(served)
    try:
        conn.send(_request(_lookup_path(n, c)))
        fast = conn.response()
        # the path spelled with an escape is not the protocol's: ASGI routes it to the same lookup
        conn.send(_request(_lookup_path(n, c, "/api/v1/%76erify")))
        routed = conn.response()
        conn.send(_request(_lookup_path(n, "0000-0000-0000-0000")))
        wrong = conn.response()
    finally:
        conn.close()
    assert fast[0] == routed[0] == 200 and fast[2] == routed[2]
    assert b'"number"' in fast[2] and n.encode() in fast[2]
    without_date = {k: v for k, v in fast[1].items() if k != "date"}
    assert without_date == {k: v for k, v in routed[1].items() if k != "date"}
    assert fast[1]["referrer-policy"] == "no-referrer" and fast[1]["cache-control"] == "no-store"
    assert fast[1]["content-type"] == "application/json" and "date" in fast[1]
    assert wrong[0] == 404 and b"not_found" in wrong[2] and n.encode() not in wrong[2]


def test_pipelined_requests_are_answered_in_order(demo, served: str) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    conn = Conn(served)
    try:
        # a lookup, a request for ASGI, a lookup that must wait for it, and a GET with a body
        with_body = _request(_lookup_path(n, c), "Content-Length: 5") + b"hello"
        conn.send(_request(_lookup_path(n, c)), _request("/healthz"), _request(_lookup_path(n, "bad")),
                  with_body, _request("/healthz"))
        got = [conn.response() for _ in range(5)]
    finally:
        conn.close()
    assert [status for status, _, _ in got] == [200, 200, 400, 200, 200]
    assert got[1][2] == b'{"status":"ok"}' and got[4][2] == b'{"status":"ok"}'
    assert b"invalid_code" in got[2][2] and got[0][2] == got[3][2]


@pytest.mark.parametrize("how", ["close", "http/1.0"])
def test_a_connection_asked_to_close_is_closed(demo, served: str, how: str) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    conn = Conn(served)
    try:
        conn.send(_request(_lookup_path(n, c), "Connection: close") if how == "close"
                  else _request(_lookup_path(n, c), version="1.0"))
        status, headers, body = conn.response()
        assert status == 200 and n.encode() in body
        assert headers.get("connection", "close") == "close"  # HTTP/1.0 closes unless told otherwise
        assert conn.closed_by_server()
    finally:
        conn.close()


def test_the_rate_limit_counts_the_client_a_trusted_proxy_names(app: App, home: Path, demo) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    with serving(home, {"YIYIN_RATE_LIMIT": "2/3600"}, "--no-access-log") as (base, _):
        conn = Conn(base)
        try:
            ask = _request(_lookup_path(n, c), "X-Forwarded-For: 203.0.113.9")
            conn.send(ask, ask, ask)
            first, second, third = (conn.response() for _ in range(3))
            conn.send(_request(_lookup_path(n, c), "X-Forwarded-For: 198.51.100.7"))
            other = conn.response()
            # the page and the escaped path (both through ASGI) draw on the same bucket
            conn.send(_request(_lookup_path(n, c, "/api/v1/%76erify"), "X-Forwarded-For: 203.0.113.9"))
            routed = conn.response()
        finally:
            conn.close()
    assert (first[0], second[0], third[0], other[0], routed[0]) == (200, 200, 429, 200, 429)
    assert b"rate_limited" in third[2] and int(third[1]["retry-after"]) > 0


def test_the_access_log_names_the_request_without_its_code(home: Path, demo) -> None:
    n, c = qr_query(demo.licence.issued.verify_url)
    with serving(home, {"YIYIN_RATE_LIMIT": "0/1"}) as (base, log):
        conn = Conn(base)
        try:
            conn.send(_request(_lookup_path(n, c)))
            assert conn.response()[0] == 200
            conn.send(_request("/healthz"))
            conn.response()  # written after the lookup's line: once it is answered, both are logged
        finally:
            conn.close()
        text = log.read_text(errors="replace")
    lines = [line for line in text.splitlines() if "/api/v1/verify" in line]
    assert len(lines) == 1 and '"GET /api/v1/verify?n=' in lines[0] and " 200" in lines[0]
    assert c not in text and quote(c) not in text and "c=…" in lines[0]


def test_the_protocol_finds_the_lookup_behind_uvicorns_wrappers(app: App) -> None:
    """What `yiyin serve` hands uvicorn: the protocol, which finds the public checks and the
    trusted proxies inside the application as uvicorn wraps it (or every lookup takes ASGI)."""
    import uvicorn
    from uvicorn.server import ServerState

    from yiyin.service.web import create_app
    from yiyin.service.web.lookup_protocol import LookupHttpProtocol, protocol_for

    assert protocol_for() is LookupHttpProtocol
    config = uvicorn.Config(create_app(app), http=protocol_for(), forwarded_allow_ips="10.0.0.1")
    config.load()
    loop = asyncio.new_event_loop()
    try:
        protocol = LookupHttpProtocol(config, ServerState(), {}, _loop=loop)
    finally:
        loop.close()
    assert protocol.checks is not None and protocol.checks.inline_reads
    assert "10.0.0.1" in protocol.proxies and "127.0.0.1" not in protocol.proxies


def test_many_clients_at_once_each_get_their_own_answers(demo, served: str) -> None:
    """8 keep-alive clients, 150 requests each, lookups of three documents mixed with requests
    that go through ASGI: every response belongs to its request."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    docs = [qr_query(d.issued.verify_url) for d in (demo.decision, demo.licence, demo.agreement)]

    def client(k: int) -> int:
        checked = 0
        with httpx.Client(base_url=served, timeout=10) as http:
            for i in range(150):
                n, c = docs[(i + k) % 3]
                if i % 5 == 4:
                    r = http.get("/healthz")
                    assert r.json() == {"status": "ok"}
                elif i % 7 == 6:
                    r = http.get("/api/v1/verify", params={"n": n, "c": "0000-0000-0000-0000"})
                    assert r.status_code == 404 and n not in r.text
                else:
                    r = http.get("/api/v1/verify", params={"n": n, "c": c})
                    assert r.status_code == 200 and r.json()["document"]["number"] == n, (n, r.text[:200])
                checked += 1
        return checked

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(client, range(8))) == 8 * 150
