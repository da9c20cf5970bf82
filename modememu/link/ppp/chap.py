"""CHAP with MD5 (RFC 1994, protocol 0xC223): the secret never crosses the line.

The authenticator sends a random Challenge; the peer answers with
MD5(Identifier ‖ secret ‖ challenge value) and its name (§4.1). Behaviour follows
pppd's `chap-new.c`/`chap-md5.c` (2.4.x; `chap.c` in 2.5): challenge values of
16 + random(0..7) octets, "Access granted"/"Access denied", a Response whose
Identifier is not the last Challenge's is ignored, a repeated Response after the
verdict gets the same verdict again (the Success may have been lost), and the
peer answers every Challenge without a timer of its own. Unlike pppd, which
resends the very same Challenge, each retransmission here carries a new
Identifier and a new value, as RFC 1994 §4.1 asks.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from modememu.link.ppp import wire
from modememu.link.ppp.auth import AUTHENTICATOR, PEER, AuthCore, pppd_quoted, pppd_visible

CHALLENGE = 1
RESPONSE = 2
SUCCESS = 3
FAILURE = 4
CODE_NAMES = {CHALLENGE: "Challenge", RESPONSE: "Response", SUCCESS: "Success", FAILURE: "Failure"}

MD5_SIZE = 16
MIN_CHALLENGE = 16  # pppd chap-md5.c: 16 + drand48() * (24 - 16), so 16..23
MAX_CHALLENGE = 24
ACCESS_GRANTED = b"Access granted"
ACCESS_DENIED = b"Access denied"
# pppd's log lines: chap-new.c (peer's verdict, authenticator's failure); the
# challenge timeout is chap.c's (<= 2.4.1) line, chap-new.c logs none.
NO_RESPONSE = "Peer failed to respond to CHAP challenge"
PEER_FAILED = "CHAP authentication failed"


def chap_md5(ident: int, secret: bytes, challenge: bytes) -> bytes:
    """The Response value of RFC 1994 §4.1 for CHAP with MD5 (algorithm 5)."""
    return hashlib.md5(bytes((ident & 0xFF,)) + secret + challenge).digest()


def _random(random: Callable[[int], bytes], size: int) -> bytes:
    value = random(size)
    if len(value) != size:
        raise ValueError(f"random({size}) returned {len(value)} octets")
    return value


class ChapAuthenticator(AuthCore):
    """This side challenges the peer and checks its Response against `secrets[name]`."""

    protocol = "CHAP"

    def __init__(
        self,
        name: str,
        secrets: Mapping[str, bytes],
        random: Callable[[int], bytes],
        *,
        restart: float = 3.0,
        max_challenges: int = 10,
    ) -> None:
        super().__init__()
        self._name = name.encode()
        if len(self._name) > 255:
            raise ValueError("CHAP name is limited to 255 octets")
        if restart <= 0 or max_challenges < 1:
            raise ValueError("restart must be positive and max_challenges at least 1")
        self._secrets = {peer: bytes(secret) for peer, secret in secrets.items()}
        self._random = random
        self.restart = restart
        self.max_challenges = max_challenges
        self._ident = 0
        self._value = b""
        self._transmits = 0
        self._verdict: tuple[int, bytes] | None = None

    def _describe(self) -> str:
        return f"name={self._name.decode(errors='replace')!r}"

    def _begin(self, now: float) -> None:
        self._ident = _random(self._random, 1)[0]  # pppd starts from a random id
        self._challenge(now)

    def _challenge(self, now: float) -> None:
        self._ident = (self._ident + 1) & 0xFF
        size = MIN_CHALLENGE + _random(self._random, 1)[0] % (MAX_CHALLENGE - MIN_CHALLENGE)
        size = max(1, min(size, self._room(wire.HEADER + 1)))  # only a tiny MRU shortens it
        self._value = _random(self._random, size)
        name = self._name[: self._room(wire.HEADER + 1 + size)]
        self._send(CHALLENGE, self._ident, bytes((size,)) + self._value + name)
        self._transmits += 1
        self._deadline = now + self.restart

    def _expire(self, now: float) -> None:
        if self._transmits >= self.max_challenges:
            self._verdict = (FAILURE, b"")
            self._fail(AUTHENTICATOR, "", NO_RESPONSE)
        else:
            self._challenge(now)

    def _answer(self, ident: int) -> None:
        assert self._verdict is not None
        code, message = self._verdict
        self._send(code, ident, message[: self._room(wire.HEADER)])

    def _handle(self, packet: wire.ControlPacket, length: int, now: float) -> None:
        if packet.code != RESPONSE:
            what = CODE_NAMES.get(packet.code, f"code=0x{packet.code:x}")
            self._drop(f"unexpected {what} at the authenticator", length)
            return
        if packet.ident != self._ident:
            self._drop(
                f"Response id=0x{packet.ident:x} does not match Challenge id=0x{self._ident:x}",
                length,
            )
            return
        data = packet.data
        if len(data) < 2 or data[0] + 1 > len(data):
            self._drop("rcvd short packet", length)
            return
        if self._verdict is not None:  # a repeat: the same answer
            self._answer(packet.ident)
            return
        value, name = data[1 : 1 + data[0]], data[1 + data[0] :]
        secret = self._secrets.get(name.decode("utf-8", "surrogateescape"))
        ok = (
            secret is not None
            and len(value) == MD5_SIZE
            and hmac.compare_digest(chap_md5(packet.ident, secret, self._value), value)
        )
        self._verdict = (SUCCESS, ACCESS_GRANTED) if ok else (FAILURE, ACCESS_DENIED)
        self._answer(packet.ident)
        peer_name = pppd_quoted(name)
        if ok:
            self._succeed(AUTHENTICATOR, peer_name, ACCESS_GRANTED.decode())
        else:
            self._fail(AUTHENTICATOR, peer_name, f"Peer {peer_name} failed CHAP authentication")


class ChapPeer(AuthCore):
    """This side answers Challenges with `name` and `secret`; it has no timer (as pppd)."""

    protocol = "CHAP"

    def __init__(self, name: str, secret: bytes) -> None:
        super().__init__()
        self._name = name.encode()
        if len(self._name) > 255:
            raise ValueError("CHAP name is limited to 255 octets")
        self._secret = bytes(secret)
        self._responded = False
        self._peer_name = ""

    def _describe(self) -> str:
        return f"name={self._name.decode(errors='replace')!r}"

    def _begin(self, now: float) -> None:
        pass  # nothing to send until a Challenge arrives

    def _expire(self, now: float) -> None:
        pass  # never armed

    def _handle(self, packet: wire.ControlPacket, length: int, now: float) -> None:
        data = packet.data
        if packet.code == CHALLENGE:
            if len(data) < 2 or data[0] + 1 > len(data):
                self._drop("rcvd short packet", length)
                return
            value, name = data[1 : 1 + data[0]], data[1 + data[0] :]
            digest = chap_md5(packet.ident, self._secret, value)
            ours = self._name[: self._room(wire.HEADER + 1 + MD5_SIZE)]
            self._send(RESPONSE, packet.ident, bytes((MD5_SIZE,)) + digest + ours)
            self._responded = True
            self._peer_name = pppd_quoted(name)
        elif packet.code in (SUCCESS, FAILURE):
            what = CODE_NAMES[packet.code]
            if self.done:
                self._drop(f"{what} after authentication finished", length)
            elif not self._responded:
                self._drop(f"{what} before any Response", length)
            elif packet.code == SUCCESS:
                self._succeed(PEER, self._peer_name, pppd_visible(data))
            else:
                reason = f"{PEER_FAILED}: {pppd_visible(data)}" if data else PEER_FAILED
                self._fail(PEER, self._peer_name, reason)
        else:
            what = CODE_NAMES.get(packet.code, f"code=0x{packet.code:x}")
            self._drop(f"unexpected {what} at the peer", length)
