"""PAP (RFC 1334 §2, protocol 0xC023): the peer sends user and password in clear.

Behaviour follows pppd's `upap.c`: the peer repeats its Authenticate-Request
every `restart` seconds (new Identifier each time) and gives up after
`max_requests`; the authenticator waits `timeout` seconds for a request, answers
the first well-formed one with Ack "Login ok" or Nak "Login incorrect" (pppd's
`check_passwd` in `auth.c`), and afterwards answers every repeat with the same
verdict, because the Ack may have been lost (RFC 1334 §2.2.1).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from modememu.link.ppp import wire
from modememu.link.ppp.auth import AUTHENTICATOR, PEER, AuthCore, pppd_quoted, pppd_visible

AUTH_REQ = 1
AUTH_ACK = 2
AUTH_NAK = 3
CODE_NAMES = {AUTH_REQ: "AuthReq", AUTH_ACK: "AuthAck", AUTH_NAK: "AuthNak"}  # pppd's printer

LOGIN_OK = b"Login ok"
LOGIN_INCORRECT = b"Login incorrect"
# pppd's log lines (upap.c; the authenticator's timeout logs nothing of its own in
# upap.c, so the reason is the one auth_peer_fail() closes LCP with).
NO_RESPONSE = "No response to PAP authenticate-requests"
PEER_FAILED = "PAP authentication failed"
REQUEST_TIMEOUT = "Authentication failed"


def _peer_failed(user: str) -> str:
    return f"PAP peer authentication failed for {user}"


class PapPeer(AuthCore):
    """This side authenticates itself with user and password."""

    protocol = "PAP"

    def __init__(
        self, user: str, password: bytes, *, restart: float = 3.0, max_requests: int = 10
    ) -> None:
        super().__init__()
        self._user = user.encode()
        self._password = bytes(password)
        if len(self._user) > 255 or len(self._password) > 255:
            raise ValueError("PAP user and password are limited to 255 octets each")
        if restart <= 0 or max_requests < 1:
            raise ValueError("restart must be positive and max_requests at least 1")
        self.restart = restart
        self.max_requests = max_requests
        self._ident = 0
        self._sent_ids: set[int] = set()
        self._transmits = 0

    def _describe(self) -> str:
        return f"user={self._user.decode(errors='replace')!r}"

    def _begin(self, now: float) -> None:
        self._request(now)

    def _request(self, now: float) -> None:
        self._ident = (self._ident + 1) & 0xFF
        self._sent_ids.add(self._ident)
        user = self._user[: self._room(wire.HEADER + 2)]
        password = self._password[: self._room(wire.HEADER + 2 + len(user))]
        self._send(
            AUTH_REQ, self._ident, bytes((len(user),)) + user + bytes((len(password),)) + password
        )
        self._transmits += 1
        self._deadline = now + self.restart

    def _expire(self, now: float) -> None:
        if self._transmits >= self.max_requests:
            self._fail(PEER, "", NO_RESPONSE)
        else:
            self._request(now)

    def _handle(self, packet: wire.ControlPacket, length: int, now: float) -> None:
        if packet.code not in (AUTH_ACK, AUTH_NAK):
            what = CODE_NAMES.get(packet.code, f"code=0x{packet.code:x}")
            self._drop(f"unexpected {what} at the peer", length)
            return
        if self.done:
            self._drop(f"{CODE_NAMES[packet.code]} after authentication finished", length)
            return
        if packet.ident not in self._sent_ids:
            self._drop(
                f"{CODE_NAMES[packet.code]} id=0x{packet.ident:x} answers no request", length
            )
            return
        data = packet.data
        if data and data[0] > len(data) - 1:
            self._drop("rcvd short packet", length)
            return
        message = data[1 : 1 + data[0]] if data else b""
        if packet.code == AUTH_ACK:
            self._succeed(PEER, "", pppd_visible(message))
        else:
            self._fail(PEER, "", PEER_FAILED)


class PapAuthenticator(AuthCore):
    """This side checks the peer's user and password against `secrets`."""

    protocol = "PAP"

    def __init__(self, secrets: Mapping[str, bytes], *, timeout: float = 30.0) -> None:
        super().__init__()
        self._secrets = {user: bytes(password) for user, password in secrets.items()}
        self.timeout = timeout  # 0 or less: wait for ever (pppd's pap-timeout 0)
        self._verdict: tuple[int, bytes] | None = None

    def _describe(self) -> str:
        return f"users={len(self._secrets)}"

    def _begin(self, now: float) -> None:
        if self.timeout > 0:
            self._deadline = now + self.timeout

    def _expire(self, now: float) -> None:
        self._verdict = (AUTH_NAK, b"")
        self._fail(AUTHENTICATOR, "", REQUEST_TIMEOUT)

    def _answer(self, ident: int) -> None:
        assert self._verdict is not None
        code, message = self._verdict
        message = message[: min(255, self._room(wire.HEADER + 1))]
        self._send(code, ident, bytes((len(message),)) + message)

    def _handle(self, packet: wire.ControlPacket, length: int, now: float) -> None:
        if packet.code != AUTH_REQ:
            what = CODE_NAMES.get(packet.code, f"code=0x{packet.code:x}")
            self._drop(f"unexpected {what} at the authenticator", length)
            return
        if self._verdict is not None:  # a repeat: the same answer, whatever it holds
            self._answer(packet.ident)
            return
        data = packet.data
        if not data or len(data) < data[0] + 2 or len(data) < data[0] + 2 + data[data[0] + 1]:
            self._drop("rcvd short packet", length)
            return
        user = data[1 : 1 + data[0]]
        password = data[data[0] + 2 : data[0] + 2 + data[data[0] + 1]]
        secret = self._secrets.get(user.decode("utf-8", "surrogateescape"))
        ok = secret is not None and hmac.compare_digest(secret, password)
        self._verdict = (AUTH_ACK, LOGIN_OK) if ok else (AUTH_NAK, LOGIN_INCORRECT)
        self._answer(packet.ident)
        name = pppd_quoted(user)
        if ok:
            self._succeed(AUTHENTICATOR, name, LOGIN_OK.decode())
        else:
            self._fail(AUTHENTICATOR, name, _peer_failed(name))


def hide_password(info: bytes) -> bytes:
    """A PAP packet with its Authenticate-Request password replaced by `*`s; others unchanged.

    The Length field is not trusted: a password that runs into the padding is
    hidden there too.
    """
    if info[:1] != b"\x01" or len(info) <= wire.HEADER:
        return info
    body = info[wire.HEADER :]
    start = body[0] + 2  # after Peer-ID-Length, Peer-ID and Passwd-Length
    if start > len(body):
        return info
    end = min(start + body[start - 1], len(body))
    return info[: wire.HEADER + start] + b"*" * (end - start) + body[end:]
