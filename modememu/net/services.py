"""The small services an ISP of the 1990s answered on: echo, discard, daytime, chargen, HTTP.

Each is an `Application` (see `modememu.net.tcp.app`): one object per
connection, driven by the stack's callbacks, answering through its `Link`.
Sans-I/O like every core: no sockets, and no clock is read here. The `now`
the stack passes to callbacks is its monotonic time in seconds, good for
intervals but not a date, so services that tell the date (daytime, HTTP's
Date header) are handed a `wallclock` function by whoever builds them.

`standard_services(wallclock)` maps the well-known ports to factories, for
`stack.serve(port, factory)`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from modememu.net.tcp.app import Application, Link

ECHO_PORT = 7  # RFC 862
DISCARD_PORT = 9  # RFC 863
DAYTIME_PORT = 13  # RFC 867
CHARGEN_PORT = 19  # RFC 864
HTTP_PORT = 80  # RFC 1945

Wallclock = Callable[[], datetime]
"""Returns the current wall-clock time; naive values are taken as UTC."""


class Service:
    """Plumbing shared by the services: an outbox that waits for send space.

    `send()` may take fewer octets than offered; what is left waits here and
    goes out on `writable`. `_finish` closes once the outbox is empty, because
    `Link.close` only waits for data already handed to the stack.
    Unless a service says otherwise, received data are thrown away and the
    peer's FIN is answered with ours.
    """

    def __init__(self) -> None:
        self._outbox = bytearray()
        self._closing = False  # close once the outbox is out
        self._closed = False  # close() called, or the connection ended

    @property
    def backlog(self) -> int:
        """Octets waiting for send space."""
        return len(self._outbox)

    def opened(self, link: Link, now: float) -> None:
        pass

    def received(self, link: Link, data: bytes, now: float) -> None:
        pass

    def writable(self, link: Link, now: float) -> None:
        self._flush(link)

    def peer_closed(self, link: Link, now: float) -> None:
        self._finish(link)

    def ended(self, link: Link, now: float) -> None:
        self._closed = True
        self._outbox.clear()

    def _send(self, link: Link, data: bytes, limit: int | None = None) -> int:
        """Send `data` or queue it behind the outbox; returns octets dropped.

        `limit` bounds the outbox: what would take it past that is dropped.
        """
        if self._closed or self._closing:
            return 0
        if not self._outbox:
            space = link.send_space
            if space > 0:
                data = data[link.send(data[:space]) :]
        room = len(data) if limit is None else max(0, limit - len(self._outbox))
        self._outbox += data[:room]
        self._flush(link)
        return max(0, len(data) - room)

    def _flush(self, link: Link) -> None:
        if self._closed:
            return
        while self._outbox and (space := link.send_space) > 0:
            taken = link.send(bytes(self._outbox[:space]))
            if taken <= 0:
                break
            del self._outbox[:taken]
        if self._closing and not self._outbox:
            self._closed = True
            link.close()

    def _finish(self, link: Link) -> None:
        self._closing = True
        self._flush(link)


class Echo(Service):
    """RFC 862: everything received is sent back.

    The stack cannot refuse data on the application's behalf, so a peer that
    sends but never reads would grow the backlog without end. It is capped
    at `BACKLOG_LIMIT`: received data beyond it are still acknowledged by TCP
    but not echoed, and counted in `dropped`. On the peer's FIN the backlog
    is sent out in full, then the connection closed.
    """

    BACKLOG_LIMIT = 64 * 1024

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def received(self, link: Link, data: bytes, now: float) -> None:
        self.dropped += self._send(link, data, self.BACKLOG_LIMIT)


class Discard(Service):
    """RFC 863: received data are counted in `octets` and thrown away."""

    def __init__(self) -> None:
        super().__init__()
        self.octets = 0

    def received(self, link: Link, data: bytes, now: float) -> None:
        self.octets += len(data)


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def daytime_text(moment: datetime) -> str:
    """RFC 867's suggested form, in UTC: "Saturday, November 21, 2026 09:30:00-UTC".

    Names come from tables, not strftime, so the locale cannot change them.
    """
    t = _utc(moment)
    return f"{_DAYS[t.weekday()]}, {_MONTHS[t.month - 1]} {t.day}, {t.year} {t:%H:%M:%S}-UTC"


class Daytime(Service):
    """RFC 867: on connect, the date and time as one CRLF-ended line, then close."""

    def __init__(self, wallclock: Wallclock) -> None:
        super().__init__()
        self._wallclock = wallclock

    def opened(self, link: Link, now: float) -> None:
        self._send(link, (daytime_text(self._wallclock()) + "\r\n").encode("ascii"))
        self._finish(link)


CHARGEN_LINE = 72
_RING = bytes(range(0x21, 0x7F)) + b" "  # the 95 printable characters, "!" first
_DOUBLED = _RING + _RING
CHARGEN_CYCLE = b"".join(_DOUBLED[n : n + CHARGEN_LINE] + b"\r\n" for n in range(len(_RING)))
"""The 95 lines after which RFC 864's pattern repeats (95 * 74 octets).

RFC 864 numbers the ring from 0 and starts line 0 at character 0; its sample
output starts with "!", so the ring here is "!" .. "~" then space.
"""


def chargen_bytes(offset: int, length: int) -> bytes:
    """`length` octets of the endless chargen stream, starting `offset` octets in."""
    cycle = len(CHARGEN_CYCLE)
    offset %= cycle
    if offset + length <= cycle:
        return CHARGEN_CYCLE[offset : offset + length]
    whole, rest = divmod(length - (cycle - offset), cycle)
    return CHARGEN_CYCLE[offset:] + CHARGEN_CYCLE * whole + CHARGEN_CYCLE[:rest]


class Chargen(Service):
    """RFC 864: an endless stream of rotating lines, as fast as the peer takes it.

    Each `opened` / `writable` offers exactly `send_space` octets, once: the
    stack calls `writable` again when room grows, so no loop waits here.
    `sent` counts octets the stack accepted. Closes on the peer's FIN.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def opened(self, link: Link, now: float) -> None:
        self._fill(link)

    def writable(self, link: Link, now: float) -> None:
        self._fill(link)

    def _fill(self, link: Link) -> None:
        if self._closed or self._closing:
            return
        space = link.send_space
        if space > 0:
            self.sent += link.send(chargen_bytes(self.sent, space))


HTTP_HEADER_LIMIT = 8 * 1024
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")  # LF alone accepted, as RFC 9112 §2.2 allows
_VERSION = re.compile(r"HTTP/\d\.\d")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
}


def _page(title: str, text: str) -> bytes:
    return (
        "<!DOCTYPE html>\n<html><head><title>"
        f"{html.escape(title)}</title></head>\n<body><h1>{html.escape(title)}</h1>\n"
        f"<p>{html.escape(text)}</p></body></html>\n"
    ).encode()


class Http(Service):
    """A tiny HTTP/1.0 server: `GET /` and `HEAD /` answer a page, then close.

    The request is read up to its blank line (CRLF CRLF, or bare LFs); any
    body is ignored. A header section past `HTTP_HEADER_LIMIT` gets 431, a
    malformed request line 400, a path other than "/" 404, a method other
    than GET or HEAD 501. An HTTP/0.9 simple request ("GET /" with no
    version) gets the page alone, without headers, as RFC 1945 §6 says.
    A FIN before the request is complete is answered 400. With a `wallclock`
    the response carries a Date header.
    """

    def __init__(self, wallclock: Wallclock | None = None) -> None:
        super().__init__()
        self._wallclock = wallclock
        self._request = bytearray()
        self._request_line_seen = False
        self._answered = False
        self.status: int | None = None  # once answered; a 0.9 reply counts as its status

    def received(self, link: Link, data: bytes, now: float) -> None:
        if self._answered or self._closed:
            return
        # A blank line is at most 4 octets: only its tail can be in the new data,
        # so each octet is scanned a bounded number of times however it arrives.
        start = max(0, len(self._request) - 3)
        self._request += data
        blank = _BLANK_LINE.search(self._request, start, HTTP_HEADER_LIMIT)
        if blank is not None:
            self._answer_request(link, bytes(self._request[: blank.start()]))
            return
        if not self._request_line_seen:
            line_end = self._request.find(b"\n", 0, HTTP_HEADER_LIMIT)
            if line_end >= 0:
                self._request_line_seen = True
                words = self._request[:line_end].decode("latin-1").split()
                if len(words) == 2 and words[0] == "GET":
                    self._answer(link, *self._choose(link, "GET", words[1]), bare=True)
                    return
        if len(self._request) >= HTTP_HEADER_LIMIT:
            self._answer(link, 431, _page("431 Request Header Fields Too Large", "Too long."))

    def peer_closed(self, link: Link, now: float) -> None:
        if not self._answered and self._request:
            self._answer(link, 400, _page("400 Bad Request", "The request ended early."))
        self._finish(link)

    def _answer_request(self, link: Link, head: bytes) -> None:
        words = head.split(b"\n", 1)[0].decode("latin-1").split()
        if len(words) == 2 and words[0] == "GET":  # 0.9, its line and a blank in one segment
            self._answer(link, *self._choose(link, "GET", words[1]), bare=True)
            return
        if len(words) != 3 or not _VERSION.fullmatch(words[2]) or not _TOKEN.fullmatch(words[0]):
            self._answer(link, 400, _page("400 Bad Request", "Malformed request line."))
            return
        method, target = words[0], words[1]
        status, body = self._choose(link, method, target)
        self._answer(link, status, body, head_only=method == "HEAD")

    def _choose(self, link: Link, method: str, target: str) -> tuple[int, bytes]:
        if method not in ("GET", "HEAD"):
            return 501, _page("501 Not Implemented", f"{method} is not served here.")
        try:
            path = urlsplit(target).path or "/"
        except ValueError:
            return 400, _page("400 Bad Request", "Malformed target.")
        if path != "/":
            return 404, _page("404 Not Found", f"Nothing at {path}.")
        return 200, _page("modememu", f"Hello from modememu. You are {link.remote}.")

    def _answer(
        self, link: Link, status: int, body: bytes, *, head_only: bool = False, bare: bool = False
    ) -> None:
        self._answered = True
        self._request.clear()
        self.status = status
        if bare:
            response = body
        else:
            lines = [f"HTTP/1.0 {status} {_REASONS[status]}", "Server: modememu"]
            if self._wallclock is not None:
                lines.append("Date: " + format_datetime(_utc(self._wallclock()), usegmt=True))
            lines += [
                "Content-Type: text/html; charset=utf-8",
                f"Content-Length: {len(body)}",
                "Connection: close",
                "",
                "",
            ]
            response = "\r\n".join(lines).encode("latin-1") + (b"" if head_only else body)
        self._send(link, response)
        self._finish(link)


def standard_services(wallclock: Wallclock) -> dict[int, Callable[[], Application]]:
    """Port -> factory of a fresh application per connection, for `stack.serve`."""
    return {
        ECHO_PORT: Echo,
        DISCARD_PORT: Discard,
        DAYTIME_PORT: lambda: Daytime(wallclock),
        CHARGEN_PORT: Chargen,
        HTTP_PORT: lambda: Http(wallclock),
    }
