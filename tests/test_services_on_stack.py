"""The ISP's services on our own stack, talked to by another stack over the in-memory link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tcppair import B_ADDR, TcpPair

from modememu.net.services import (
    CHARGEN_PORT,
    DAYTIME_PORT,
    DISCARD_PORT,
    ECHO_PORT,
    HTTP_PORT,
    chargen_bytes,
    standard_services,
)
from modememu.net.tcp.connection import TcpState

MOMENT = datetime(2026, 11, 21, 9, 30, 0, tzinfo=UTC)


@pytest.fixture
def pair() -> TcpPair:
    pair = TcpPair()
    for port, factory in standard_services(lambda: MOMENT).items():
        pair.b.serve(port, factory)
    return pair


def talk(pair: TcpPair, port: int, request: bytes = b"", *, want: int | None = None) -> bytes:
    """Send `request` and half-close (or, with `want`, read that much first); what came back."""
    conn = pair.a.connect(B_ADDR, port, pair.now)
    pair.run_until(lambda: pair.a.state(conn) is not TcpState.SYN_SENT)
    sent = 0
    got = bytearray()

    def done() -> bool:
        nonlocal sent
        if sent < len(request):
            sent += pair.a.send(conn, request[sent:], pair.now)
            if sent == len(request) and want is None:
                pair.a.close(conn, pair.now)
        got.extend(pair.a.receive(conn))
        if want is not None:
            return len(got) >= want
        return pair.a.state(conn) in (TcpState.TIME_WAIT, TcpState.CLOSED)

    if not request and want is None:
        pair.a.close(conn, pair.now)
    pair.run_until(done)
    if want is not None:  # our FIN; we keep reading what is still on its way, as a user would
        pair.a.close(conn, pair.now)

        def ended() -> bool:
            got.extend(pair.a.receive(conn))
            return pair.a.state(conn) in (TcpState.TIME_WAIT, TcpState.CLOSED)

        pair.run_until(ended)
    pair.run()
    return bytes(got)


def test_echo_returns_everything(pair: TcpPair) -> None:
    data = bytes(range(256)) * 300
    assert talk(pair, ECHO_PORT, data) == data


def test_discard_returns_nothing(pair: TcpPair) -> None:
    assert talk(pair, DISCARD_PORT, b"x" * 5000) == b""


def test_daytime_says_the_time_and_closes(pair: TcpPair) -> None:
    assert talk(pair, DAYTIME_PORT) == b"Saturday, November 21, 2026 09:30:00-UTC\r\n"


def test_chargen_streams_until_we_close(pair: TcpPair) -> None:
    got = talk(pair, CHARGEN_PORT, want=100_000)
    assert got[:100_000] == chargen_bytes(0, 100_000)


def test_http_serves_a_page(pair: TcpPair) -> None:
    reply = talk(pair, HTTP_PORT, b"GET / HTTP/1.0\r\nHost: isp\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 OK\r\n")
    assert b"Connection: close" in head
    assert b"modememu" in body
    assert f"Content-Length: {len(body)}".encode() in head
