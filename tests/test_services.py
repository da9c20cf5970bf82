"""ISP services on the TCP stack's Application interface, driven through a fake Link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modememu.net import services as sv
from modememu.net.services import Chargen, Daytime, Discard, Echo, Http
from modememu.net.tcp.app import Application, Link

WHEN = datetime(2026, 11, 21, 9, 30, 0, tzinfo=UTC)  # a Saturday


class FakeLink:
    """A connection with a send buffer of `space` octets, recording what was sent."""

    def __init__(self, space: int = 1 << 20, remote: str = "10.0.2.15:1025") -> None:
        self.connection = 1
        self.local_port = 7
        self.remote = remote
        self.space = space
        self.sent = bytearray()
        self.closes = 0

    @property
    def send_space(self) -> int:
        return self.space

    def send(self, data: bytes) -> int:
        assert not self.closes, "send after close"
        taken = min(len(data), self.space)
        self.sent += data[:taken]
        self.space -= taken
        return taken

    def close(self) -> None:
        self.closes += 1


def drive(app: Application, link: Link) -> None:
    app.opened(link, 0.0)


def drain(app: Application, link: FakeLink, space: int = 1 << 20) -> None:
    """The peer read everything: room again, and the stack says so."""
    link.space = space
    app.writable(link, 1.0)


def test_fakes_fit_the_protocols() -> None:
    link: Link = FakeLink()
    apps: list[Application] = [Echo(), Discard(), Daytime(lambda: WHEN), Chargen(), Http()]
    assert link.send_space > 0
    assert len(apps) == 5


def test_standard_services_ports_and_fresh_instances() -> None:
    table = sv.standard_services(lambda: WHEN)
    assert sorted(table) == [7, 9, 13, 19, 80]
    assert isinstance(table[7](), Echo)
    assert isinstance(table[9](), Discard)
    assert isinstance(table[13](), Daytime)
    assert isinstance(table[19](), Chargen)
    assert isinstance(table[80](), Http)
    assert table[7]() is not table[7]()


# -- echo ---------------------------------------------------------------------------


def test_echo_round_trip_then_close_on_fin() -> None:
    app, link = Echo(), FakeLink()
    drive(app, link)
    app.received(link, b"hello ", 0.0)
    app.received(link, b"world", 0.0)
    assert link.sent == b"hello world"
    assert link.closes == 0
    app.peer_closed(link, 0.0)
    assert link.closes == 1


def test_echo_keeps_what_does_not_fit_and_sends_it_when_writable() -> None:
    app, link = Echo(), FakeLink(space=4)
    drive(app, link)
    app.received(link, b"abcdefgh", 0.0)
    assert link.sent == b"abcd"
    assert app.backlog == 4
    app.received(link, b"ij", 0.0)  # queued behind the backlog, not sent ahead of it
    app.peer_closed(link, 0.0)
    assert link.closes == 0  # the backlog goes first
    drain(app, link, space=3)
    assert link.sent == b"abcdefg"
    assert link.closes == 0
    drain(app, link)
    assert link.sent == b"abcdefghij"
    assert link.closes == 1
    drain(app, link)
    assert link.closes == 1


def test_echo_backlog_is_capped_and_the_excess_counted() -> None:
    app, link = Echo(), FakeLink(space=0)
    drive(app, link)
    data = bytes(range(256)) * 300  # 76800 octets
    app.received(link, data, 0.0)
    app.received(link, b"more", 0.0)
    assert app.backlog == Echo.BACKLOG_LIMIT
    assert app.dropped == len(data) + 4 - Echo.BACKLOG_LIMIT
    drain(app, link)
    assert link.sent == data[: Echo.BACKLOG_LIMIT]
    app.received(link, b"after", 0.0)  # room again: echoed once more
    assert link.sent.endswith(b"after")


def test_echo_stops_after_the_connection_ended() -> None:
    app, link = Echo(), FakeLink(space=2)
    drive(app, link)
    app.received(link, b"abcdef", 0.0)
    app.ended(link, 0.0)
    drain(app, link)
    assert link.sent == b"ab"
    assert app.backlog == 0


@given(
    chunks=st.lists(st.binary(min_size=1, max_size=300), max_size=20),
    spaces=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=20),
)
def test_echo_returns_exactly_what_arrived(chunks: list[bytes], spaces: list[int]) -> None:
    app, link = Echo(), FakeLink(space=spaces[0])
    drive(app, link)
    for i, chunk in enumerate(chunks):
        app.received(link, chunk, 0.0)
        drain(app, link, space=spaces[i % len(spaces)])
    app.peer_closed(link, 0.0)
    for space in [*spaces, 1 << 20]:
        assert link.closes == 0 or app.backlog == 0
        drain(app, link, space=space)
    assert link.sent == b"".join(chunks)
    assert link.closes == 1
    assert app.dropped == 0


# -- discard ------------------------------------------------------------------------


def test_discard_counts_sends_nothing_and_closes_on_fin() -> None:
    app, link = Discard(), FakeLink()
    drive(app, link)
    app.received(link, b"x" * 1000, 0.0)
    app.received(link, b"yz", 0.0)
    app.writable(link, 0.0)
    assert app.octets == 1002
    assert link.sent == b""
    assert link.closes == 0
    app.peer_closed(link, 0.0)
    assert link.closes == 1


# -- daytime ------------------------------------------------------------------------


def test_daytime_sends_rfc867_text_and_closes() -> None:
    app, link = Daytime(lambda: WHEN), FakeLink()
    drive(app, link)
    assert link.sent == b"Saturday, November 21, 2026 09:30:00-UTC\r\n"
    assert link.closes == 1


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (
            datetime(2026, 11, 21, 10, 30, tzinfo=timezone(timedelta(hours=1))),
            "Saturday, November 21",
        ),
        (
            datetime(1982, 2, 22, 17, 37, 43),
            "Monday, February 22, 1982 17:37:43-UTC",
        ),  # naive = UTC
        (datetime(2027, 1, 1, 0, 0, 5, tzinfo=UTC), "Friday, January 1, 2027 00:00:05-UTC"),
    ],
)
def test_daytime_text_is_utc_and_locale_free(moment: datetime, text: str) -> None:
    assert sv.daytime_text(moment).startswith(text)
    assert sv.daytime_text(moment).endswith("-UTC")


def test_daytime_waits_for_send_space_before_closing() -> None:
    app, link = Daytime(lambda: WHEN), FakeLink(space=10)
    drive(app, link)
    app.received(link, b"ignored", 0.0)
    assert link.sent == b"Saturday, "
    assert link.closes == 0
    drain(app, link)
    assert link.sent == b"Saturday, November 21, 2026 09:30:00-UTC\r\n"
    assert link.closes == 1


# -- chargen ------------------------------------------------------------------------

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))


def rfc864_line(n: int) -> bytes:
    """Line n as RFC 864 spells it out, one character at a time (line 0 starts at "!")."""
    return ("".join(PRINTABLE[(1 + n + k) % 95] for k in range(72)) + "\r\n").encode()


def test_chargen_first_lines_per_rfc864() -> None:
    app, link = Chargen(), FakeLink(space=74 * 3)
    drive(app, link)
    lines = bytes(link.sent).split(b"\r\n")
    assert lines[0] == b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh"
    assert lines[1].startswith(b'"#$%&')
    assert lines[1].endswith(b"ghi")
    assert [len(line) for line in lines] == [72, 72, 72, 0]
    assert link.sent == rfc864_line(0) + rfc864_line(1) + rfc864_line(2)


def test_chargen_cycle_wraps_through_space() -> None:
    cycle = sv.CHARGEN_CYCLE
    assert len(cycle) == 95 * 74
    assert cycle == b"".join(rfc864_line(n) for n in range(95))
    assert cycle[93 * 74 : 93 * 74 + 3] == b"~ !"
    assert cycle[94 * 74 : 94 * 74 + 2] == b" !"


def test_chargen_respects_send_space_and_closes_on_fin() -> None:
    app, link = Chargen(), FakeLink(space=0)
    drive(app, link)
    assert link.sent == b""
    drain(app, link, space=100)
    assert len(link.sent) == 100
    assert link.space == 0
    app.received(link, b"thrown away", 0.0)
    assert len(link.sent) == 100
    app.peer_closed(link, 0.0)
    assert link.closes == 1
    drain(app, link, space=100)
    assert len(link.sent) == 100


@given(st.lists(st.integers(min_value=0, max_value=20_000), max_size=12))
def test_chargen_stream_is_continuous(spaces: list[int]) -> None:
    app, link = Chargen(), FakeLink(space=0)
    drive(app, link)
    for space in spaces:
        drain(app, link, space=space)
    total = sum(spaces)
    assert app.sent == total == len(link.sent)
    assert link.sent == sv.chargen_bytes(0, total)
    cycles = total // len(sv.CHARGEN_CYCLE) + 1
    assert link.sent == (sv.CHARGEN_CYCLE * cycles)[:total]


# -- http ---------------------------------------------------------------------------


def http(request: bytes | list[bytes], space: int = 1 << 20) -> tuple[Http, FakeLink]:
    app, link = Http(), FakeLink(space=space)
    drive(app, link)
    for chunk in [request] if isinstance(request, bytes) else request:
        app.received(link, chunk, 0.0)
    return app, link


def split_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *fields = head.decode("latin-1").split("\r\n")
    headers = dict(field.split(": ", 1) for field in fields)
    return status, headers, body


def test_http_get_root() -> None:
    app, link = http(b"GET / HTTP/1.0\r\nHost: isp\r\nUser-Agent: Mosaic/2.0\r\n\r\n")
    status, headers, body = split_response(bytes(link.sent))
    assert status == "HTTP/1.0 200 OK"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Connection"] == "close"
    assert int(headers["Content-Length"]) == len(body)
    assert b"modememu" in body
    assert b"10.0.2.15:1025" in body
    assert len(body) < 512
    assert app.status == 200
    assert link.closes == 1


def test_http_head_has_headers_but_no_body() -> None:
    _, get = http(b"GET / HTTP/1.0\r\n\r\n")
    _, head = http(b"HEAD / HTTP/1.0\r\n\r\n")
    get_status, get_headers, get_body = split_response(bytes(get.sent))
    assert split_response(bytes(head.sent)) == (get_status, get_headers, b"")
    assert int(get_headers["Content-Length"]) == len(get_body) > 0
    assert head.closes == 1


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (b"GET /index.html HTTP/1.0\r\n\r\n", "HTTP/1.0 404 Not Found"),
        (b"GET /?q=1 HTTP/1.1\r\n\r\n", "HTTP/1.0 200 OK"),
        (b"GET http://isp/ HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK"),
        (b"POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", "HTTP/1.0 501 Not Implemented"),
        (b"DELETE /x HTTP/1.0\r\n\r\n", "HTTP/1.0 501 Not Implemented"),
        (b"GET / HTTP/1.0\n\n", "HTTP/1.0 200 OK"),
        (b"GET / HTTP/1.0\nHost: isp\r\n\r\n", "HTTP/1.0 200 OK"),
        (b"HELLO\r\n\r\n", "HTTP/1.0 400 Bad Request"),
        (b"GET / SMTP/1.0\r\n\r\n", "HTTP/1.0 400 Bad Request"),
        (b"G(T / HTTP/1.0\r\n\r\n", "HTTP/1.0 400 Bad Request"),
    ],
)
def test_http_statuses(request_: bytes, status: str) -> None:
    app, link = http(request_)
    got, headers, body = split_response(bytes(link.sent))
    assert got == status
    assert int(headers["Content-Length"]) == len(body)
    assert app.status == int(status.split()[1])
    assert link.closes == 1


def test_http_404_head_has_no_body() -> None:
    _, link = http(b"HEAD /nothing HTTP/1.0\r\n\r\n")
    status, headers, body = split_response(bytes(link.sent))
    assert status == "HTTP/1.0 404 Not Found"
    assert body == b""
    assert int(headers["Content-Length"]) > 0


def test_http_oversize_header_gets_431() -> None:
    app, link = http([b"GET / HTTP/1.0\r\n"] + [b"X-Pad: " + b"a" * 90 + b"\r\n"] * 100)
    status, _, _ = split_response(bytes(link.sent))
    assert status == "HTTP/1.0 431 Request Header Fields Too Large"
    assert link.closes == 1
    app.received(link, b"\r\n", 0.0)  # too late: nothing more is said
    assert link.sent.count(b"HTTP/1.0") == 1


@pytest.mark.parametrize(("extra", "status"), [(0, b"200"), (1, b"431")])
def test_http_limit_counts_the_blank_line(extra: int, status: bytes) -> None:
    start, end = b"GET / HTTP/1.0\r\nX: ", b"\r\n\r\n"
    pad = b"a" * (sv.HTTP_HEADER_LIMIT - len(start) - len(end) + extra)
    request = start + pad + end
    assert len(request) == sv.HTTP_HEADER_LIMIT + extra
    _, link = http(request)
    assert link.sent.startswith(b"HTTP/1.0 " + status + b" ")


def test_http_request_split_across_segments() -> None:
    app, link = http([b"GE", b"T / HT", b"TP/1.0\r", b"\n", b"\r\n"])
    assert link.sent.startswith(b"HTTP/1.0 200 OK\r\n")
    assert app.status == 200


def test_http_one_octet_at_a_time() -> None:
    request = b"GET / HTTP/1.0\r\nHost: isp\r\n\r\n"
    app, link = http([request[i : i + 1] for i in range(len(request))])
    assert app.status == 200
    app, link = http([b"GET / HTTP/1.0\r\n"] + [b"a"] * sv.HTTP_HEADER_LIMIT)
    assert app.status == 431
    assert link.closes == 1


@pytest.mark.parametrize("request_", [b"GET /\r\n", b"GET /\r\n\r\n", b"GET /\n"])
def test_http_09_simple_request_gets_the_page_alone(request_: bytes) -> None:
    _, link = http(request_)
    assert link.sent.startswith(b"<!DOCTYPE html>")
    assert b"10.0.2.15:1025" in link.sent
    assert link.closes == 1


def test_http_fin_mid_request_gets_400_and_an_idle_fin_just_a_close() -> None:
    app, link = http(b"GET / HTTP/1.0\r\nHost: i")
    assert link.sent == b""
    app.peer_closed(link, 0.0)
    assert link.sent.startswith(b"HTTP/1.0 400 Bad Request\r\n")
    assert link.closes == 1
    app, link = http([])
    app.peer_closed(link, 0.0)
    assert link.sent == b""
    assert link.closes == 1


def test_http_date_header_from_the_injected_wallclock() -> None:
    app, link = Http(lambda: WHEN), FakeLink()
    drive(app, link)
    app.received(link, b"GET / HTTP/1.0\r\n\r\n", 0.0)
    _, headers, _ = split_response(bytes(link.sent))
    assert headers["Date"] == "Sat, 21 Nov 2026 09:30:00 GMT"


def test_http_response_waits_for_send_space_then_closes() -> None:
    app, link = http(b"GET / HTTP/1.0\r\n\r\n", space=50)
    assert len(link.sent) == 50
    assert link.closes == 0
    drain(app, link, space=50)
    assert link.closes == 0
    drain(app, link)
    _, headers, body = split_response(bytes(link.sent))
    assert int(headers["Content-Length"]) == len(body)
    assert link.closes == 1


@given(st.data())
def test_http_answer_does_not_depend_on_segmentation(data: st.DataObject) -> None:
    request = b"GET / HTTP/1.0\r\nHost: isp\r\nAccept: */*\r\n\r\n"
    cuts = sorted(data.draw(st.sets(st.integers(1, len(request) - 1))))
    chunks = [request[a:b] for a, b in zip([0, *cuts], [*cuts, len(request)], strict=True)]
    _, whole = http(request)
    _, pieces = http(chunks)
    assert pieces.sent == whole.sent
    assert pieces.closes == 1
