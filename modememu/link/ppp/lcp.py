"""LCP (RFC 1661 §5-6, RFC 1662 §7): the link's options, loopback detection, keepalives.

Options are kept in pppd's four records: `want` (what we would like to ask for),
`got` (what we ask for now, after the peer's Naks and Rejects; what it Acked),
`allow` (what we accept from the peer) and `his` (what we Acked of the peer's).
The negotiated link is then: we send with the peer's ACCM/PFC/ACFC and never
more than its MRU (`his`), and receive with ours (`got`).

Handled as pppd does: Quality-Protocol and unknown options are Rejected; a Nak
of a boolean option (PFC, ACFC) counts as a Reject; a malformed option rejects
the rest of the request; a request carrying our own magic number is Nak'd with
a fresh one, and ten Naks in a row of our magic mean "Serial line is looped
back."; Echo-Requests run on `echo_interval`, and `echo_failure` unanswered ones
close the link "Peer not responding".
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from modememu.link.events import LinkEvent
from modememu.link.ppp.fsm import ControlProtocol, Input, State
from modememu.link.ppp.wire import (
    CHAP,
    CONF_ACK,
    CONF_NAK,
    CONF_REJ,
    DISC_REQ,
    ECHO_REP,
    ECHO_REQ,
    LCP,
    PAP,
    PROT_REJ,
    Option,
    encode_options,
    parse_options,
)

# Option types (RFC 1661 §6, RFC 1662 §7.1).
MRU = 1
ACCM = 2
AUTH = 3
QUALITY = 4
MAGIC = 5
PFC = 7
ACFC = 8

MIN_MRU = 128  # pppd MINMRU
MAX_MRU = 16384  # pppd MAXMRU
DEFAULT_MRU = 1500
DEFAULT_ACCM = 0xFFFFFFFF
CHAP_MD5 = 5
LOOPBACK_FAIL = 10  # pppd lcp_loopbackfail: Naks of our magic in a row

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


@dataclass(frozen=True, slots=True)
class LcpOptions:
    """One of pppd's records. None means "not negotiated" for the optional ones."""

    mru: int | None = None  # None: the default 1500, not sent
    accm: int | None = None  # None: not negotiated, so 0xFFFFFFFF
    auth: int | None = None  # PAP or CHAP (MD5)
    magic: int | None = None
    pfc: bool = False
    acfc: bool = False


@dataclass(frozen=True, slots=True)
class LcpAllow:
    """What we accept when the peer asks for it."""

    mru: bool = True
    accm: bool = True
    pap: bool = False  # we can authenticate ourselves with PAP
    chap: bool = False  # ... with CHAP-MD5
    magic: bool = True
    pfc: bool = True
    acfc: bool = True


@dataclass(frozen=True, slots=True)
class LoopedBack(LinkEvent):
    """Our own magic number keeps coming back: the line is looped."""

    magic: int


@dataclass(frozen=True, slots=True)
class EchoTimeout(LinkEvent):
    """`count` Echo-Requests went unanswered (pppd: "No response to N echo-requests")."""

    count: int


@dataclass(frozen=True, slots=True)
class ProtocolRejected(LinkEvent):
    """The peer Protocol-Rejected one of our protocols."""

    protocol: int


@dataclass(frozen=True, slots=True)
class OwnEchoReply(LinkEvent):
    """An Echo-Reply carried our magic (pppd: "appear to have received our own echo-reply!")."""


@dataclass
class _Echo:
    interval: float = 0.0  # lcp-echo-interval; 0 = off
    failure: int = 0  # lcp-echo-failure; 0 = never give up
    pending: int = 0
    next_id: int = 0  # Echo ids start at 0, as pppd's do
    deadline: float | None = None


class Lcp(ControlProtocol):
    """The Link Control Protocol of one end."""

    protocol = LCP
    name = "LCP"
    extended_codes = frozenset({PROT_REJ, ECHO_REQ, ECHO_REP, DISC_REQ})

    def __init__(
        self,
        want: LcpOptions,
        allow: LcpAllow,
        magic_source: Callable[[], int],
        *,
        echo_interval: float = 0.0,
        echo_failure: int = 0,
        **automaton: Any,
    ) -> None:
        super().__init__(**automaton)
        self.want = want
        self.allow = allow
        self.magic_source = magic_source
        self.got = want
        self.his = LcpOptions()
        self.looped = False
        self._magic_naks = 0
        self._echo = _Echo(echo_interval, echo_failure)
        self._echo_request: tuple[int, bytes] = (0, b"")

    # -- our request ---------------------------------------------------------------

    def reset_options(self) -> None:
        magic = self.magic_source() if self.want.magic is not None else None
        self.got = replace(self.want, magic=magic)
        self._magic_naks = 0

    def build_request(self) -> bytes:
        return encode_options(_options_of(self.got))

    def check_nak(self, data: bytes, treat_as_reject: bool) -> bool:
        options, whole = parse_options(data)
        if not whole:
            return False
        got = self.got
        if not any(option.type == MAGIC for option in options):
            self._magic_naks = 0
        for option in options:
            value = _value(option)
            if option.type == MRU and value is not None and got.mru is not None:
                mru = max(MIN_MRU, min(value, self.want.mru or DEFAULT_MRU))
                got = replace(got, mru=None if treat_as_reject else mru)
            elif option.type == ACCM and value is not None and got.accm is not None:
                got = replace(got, accm=None if treat_as_reject else got.accm | value)
            elif option.type == AUTH and got.auth is not None:
                # We require one method: whatever the peer suggests, we keep asking for it.
                auth = None if treat_as_reject else self.want.auth
                got = replace(got, auth=auth)
            elif option.type == MAGIC and value is not None and got.magic is not None:
                self._magic_naks += 1
                if self._magic_naks >= LOOPBACK_FAIL:
                    self._loopback(got.magic)
                got = replace(got, magic=self.magic_source())  # never given up: loop detection
            elif option.type == PFC and got.pfc:
                got = replace(got, pfc=False)  # a Nak of a boolean option is a Reject
            elif option.type == ACFC and got.acfc:
                got = replace(got, acfc=False)
        self.got = got
        return True

    def check_reject(self, data: bytes) -> bool:
        options, whole = parse_options(data)
        sent = {option.type: option for option in _options_of(self.got)}
        if not whole or any(sent.get(option.type) != option for option in options):
            return False  # a Reject must repeat our options unchanged
        types = {option.type for option in options}
        self.got = replace(
            self.got,
            mru=None if MRU in types else self.got.mru,
            accm=None if ACCM in types else self.got.accm,
            auth=None if AUTH in types else self.got.auth,
            magic=None if MAGIC in types else self.got.magic,
            pfc=self.got.pfc and PFC not in types,
            acfc=self.got.acfc and ACFC not in types,
        )
        return True

    # -- the peer's request ------------------------------------------------------------

    def judge_request(self, data: bytes, reject_if_disagree: bool) -> tuple[int, bytes]:
        options, whole = parse_options(data)
        acks: list[Option] = []
        naks: list[Option] = []
        rejects: list[Option] = []
        his = LcpOptions()
        for option in options:
            verdict, better, his = self._judge(option, his)
            if verdict == CONF_NAK and reject_if_disagree and option.type != MAGIC:
                verdict = CONF_REJ
            if verdict == CONF_ACK:
                acks.append(option)
            elif verdict == CONF_NAK:
                naks.append(better or option)
            else:
                rejects.append(option)
        tail = b""
        if not whole:  # pppd: a malformed option rejects the rest of the request
            tail = data[sum(len(option.encode()) for option in options) :]
        self.his = his
        if rejects or tail:
            return CONF_REJ, encode_options(rejects) + tail
        if naks:
            return CONF_NAK, encode_options(naks)
        return CONF_ACK, data

    def _judge(self, option: Option, his: LcpOptions) -> tuple[int, Option | None, LcpOptions]:
        allow, value = self.allow, _value(option)
        kind, size = option.type, len(option.data)
        if kind == MRU and allow.mru and size == 2 and value is not None:
            if value < MIN_MRU:
                return CONF_NAK, Option(MRU, _U16.pack(MIN_MRU)), his
            return CONF_ACK, None, replace(his, mru=value)
        if kind == ACCM and allow.accm and size == 4 and value is not None:
            return CONF_ACK, None, replace(his, accm=value)
        if kind == AUTH and size >= 2 and (allow.pap or allow.chap):
            asked = _U16.unpack_from(option.data)[0]
            if asked == PAP and size == 2 and allow.pap:
                return CONF_ACK, None, replace(his, auth=PAP)
            if asked == CHAP and size == 3 and option.data[2] == CHAP_MD5 and allow.chap:
                return CONF_ACK, None, replace(his, auth=CHAP)
            return CONF_NAK, _auth_option(CHAP if allow.chap else PAP), his
        if kind == MAGIC and allow.magic and size == 4 and value is not None:
            if value and value == self.got.magic:
                return CONF_NAK, Option(MAGIC, _U32.pack(self.magic_source())), his
            return CONF_ACK, None, replace(his, magic=value)
        if kind == PFC and allow.pfc and size == 0:
            return CONF_ACK, None, replace(his, pfc=True)
        if kind == ACFC and allow.acfc and size == 0:
            return CONF_ACK, None, replace(his, acfc=True)
        return CONF_REJ, None, his  # Quality-Protocol, unknown, or wrong length

    # -- layer events ---------------------------------------------------------------------

    def layer_up(self) -> None:
        self._echo.pending = 0
        if self._echo.interval > 0:
            self._echo.deadline = self._now + self._echo.interval

    def layer_down(self) -> None:
        self._echo.deadline = None

    # -- LCP-only codes ------------------------------------------------------------------

    def extended_code(self, code: int, ident: int, data: bytes) -> None:
        if self.state is not State.OPENED:
            self._drop(f"code {code} outside Opened", len(data) + 4)
            return
        if code == PROT_REJ:
            if len(data) < 2:
                self._drop("short Protocol-Reject", len(data) + 4)
                return
            protocol = _U16.unpack_from(data)[0]
            if protocol == LCP:
                self.finish_reason = "Protocol-Reject for LCP"
                self.protocol_rejected(self._now)
                return
            self._events.append(ProtocolRejected(protocol))
        elif code == ECHO_REQ:
            self._echo_request = (ident, data[4:])
            self.fire(Input.RXR, self._now)
        elif code == ECHO_REP:
            magic = _U32.unpack_from(data)[0] if len(data) >= 4 else 0
            if self.got.magic and magic == self.got.magic:
                self._events.append(OwnEchoReply())
                return
            self._echo.pending = 0

    def echo_reply(self) -> None:
        ident, rest = self._echo_request
        self.send_packet(ECHO_REP, ident, _U32.pack(self.got.magic or 0) + rest)

    def protocol_reject(self, protocol: int, info: bytes) -> None:
        """Tell the peer we do not speak `protocol` (only in Opened, RFC 1661 §5.7)."""
        if self.state is State.OPENED:
            self.send_packet(PROT_REJ, self.next_id(), _U16.pack(protocol) + info)

    # -- keepalives ------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        deadlines = [d for d in (self._deadline, self._echo.deadline) if d is not None]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> None:
        echo = self._echo
        if echo.deadline is not None and now >= echo.deadline and self.state is State.OPENED:
            if echo.failure and echo.pending >= echo.failure:
                echo.deadline = None
                self._events.append(EchoTimeout(echo.pending))
                self.close(now, "Peer not responding")
                return
            self.send_packet(ECHO_REQ, echo.next_id, _U32.pack(self.got.magic or 0))
            echo.next_id = (echo.next_id + 1) & 0xFF
            echo.pending += 1
            echo.deadline = now + echo.interval
        super().handle_timer(now)

    def _loopback(self, magic: int | None) -> None:
        if not self.looped:
            self.looped = True
            self._events.append(LoopedBack(magic or 0))
            self.close(self._now, "Loopback detected")


def _value(option: Option) -> int | None:
    if len(option.data) == 2:
        return int(_U16.unpack(option.data)[0])
    if len(option.data) == 4:
        return int(_U32.unpack(option.data)[0])
    return None


def _auth_option(protocol: int) -> Option:
    if protocol == CHAP:
        return Option(AUTH, _U16.pack(CHAP) + bytes([CHAP_MD5]))
    return Option(AUTH, _U16.pack(PAP))


def _options_of(options: LcpOptions) -> list[Option]:
    """Our request in pppd's order: mru, asyncmap, auth, magic, pcomp, accomp."""
    out: list[Option] = []
    if options.mru is not None and options.mru != DEFAULT_MRU:
        out.append(Option(MRU, _U16.pack(options.mru)))
    if options.accm is not None:
        out.append(Option(ACCM, _U32.pack(options.accm)))
    if options.auth is not None:
        out.append(_auth_option(options.auth))
    if options.magic is not None:
        out.append(Option(MAGIC, _U32.pack(options.magic)))
    if options.pfc:
        out.append(Option(PFC, b""))
    if options.acfc:
        out.append(Option(ACFC, b""))
    return out
