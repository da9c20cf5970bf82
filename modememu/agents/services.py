"""Built-in answering services: the computer behind a number's answering modem.

Each is a tiny sans-I/O DTE: told when the call connects, fed what the caller
sent, and returning what it sends back. The ISP numbers echo until the ISP
agent arrives with the PPP/SLIP server.
"""

from __future__ import annotations

from typing import Protocol

BBS_GREETING = (
    b"\r\nWelcome to the modememu BBS.\r\n"
    b"Every line you type comes back to you. Hang up to leave.\r\n\r\n> "
)
BBS_LINE_LIMIT = 256


class Service(Protocol):
    def connected(self) -> bytes: ...

    def receive(self, data: bytes) -> bytes: ...


class Echo:
    """Returns every byte as it arrives."""

    def connected(self) -> bytes:
        return b""

    def receive(self, data: bytes) -> bytes:
        return data


class Bbs:
    """A greeting, then each line typed comes back after the caller ends it with CR."""

    def __init__(self) -> None:
        self._line = bytearray()

    def connected(self) -> bytes:
        self._line.clear()
        return BBS_GREETING

    def receive(self, data: bytes) -> bytes:
        out = bytearray()
        *done, rest = data.split(b"\r")
        for part in done:
            self._line += part
            line = bytes(self._line).replace(b"\n", b"")
            self._line.clear()
            out += b"\r\nYou said: " + line + b"\r\n> "
        self._line += rest
        del self._line[BBS_LINE_LIMIT:]
        return bytes(out)


SERVICES = ("echo", "bbs", "isp-ppp", "isp-slip")


def make_service(name: str) -> Service:
    if name == "bbs":
        return Bbs()
    if name in SERVICES:
        return Echo()
    raise ValueError(f"no such service: {name}")
