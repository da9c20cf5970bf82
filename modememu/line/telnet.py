"""Telnet (RFC 854/855, BINARY per RFC 856) between a TCP socket and the modem's data path.

A BBS reached by TCP dial-out often wants telnet: the codec strips commands
and negotiation from what the host sends (`receive_net`), escapes what the DTE
sends (`send_dte`), and queues its negotiation replies (`net_to_send`).

Data runs go through `bytes.find`, `replace` and slices only; the per-octet
state machine runs just for the octets of an IAC sequence, so a chunk without
IAC costs one `find` (and, in NVT mode, one scan for NUL). Every sequence may be
split anywhere between chunks: the concatenated output, the replies and the
events are the same as for the unsplit stream.

Negotiation is the simple form RFC 1143 starts from: an option is on or off
on each side, plus whether we asked to turn it on. A request that only
confirms the current state gets no answer, so two codecs never loop.

NVT line endings (RFC 854): CR travels as CR LF or CR NUL. Receiving in NVT
mode, a NUL right after a CR is dropped; a CR is handed on at once and only
the fate of the octet after it waits for the next chunk. Sending in NVT mode,
each CR goes out at once and the octet after it decides: LF goes as it is,
anything else gets a NUL before it. A CR that ends a chunk therefore leaves
its NUL (if any) for the start of the next chunk, so no split changes the bytes
on the wire and a typed Enter is not held back.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from modememu.events import Event

# Commands (RFC 854).
SE = 240
NOP = 241
DM = 242
BRK = 243
IP = 244
AO = 245
AYT = 246
EC = 247
EL = 248
GA = 249
SB = 250
WILL = 251
WONT = 252
DO = 253
DONT = 254
IAC = 255

# Options.
BINARY = 0  # RFC 856
ECHO = 1  # RFC 857
SGA = 3  # RFC 858, suppress go-ahead
STATUS = 5  # RFC 859
TIMING_MARK = 6  # RFC 860
TTYPE = 24  # RFC 1091, terminal type
NAWS = 31  # RFC 1073, window size
LINEMODE = 34  # RFC 1184
NEW_ENVIRON = 39  # RFC 1572

# TERMINAL-TYPE subnegotiation (RFC 1091).
TTYPE_IS = 0
TTYPE_SEND = 1

OPTION_NAMES = {
    BINARY: "BINARY",
    ECHO: "ECHO",
    SGA: "SUPPRESS-GO-AHEAD",
    STATUS: "STATUS",
    TIMING_MARK: "TIMING-MARK",
    TTYPE: "TERMINAL-TYPE",
    NAWS: "NAWS",
    LINEMODE: "LINEMODE",
    NEW_ENVIRON: "NEW-ENVIRON",
}

MAX_SUBNEGOTIATION = 256  # octets between IAC SB and IAC SE, option included
MAX_TERMINAL_TYPE = 40  # RFC 1010's limit on terminal type names

# TelnetMalformed.reason values.
UNKNOWN_COMMAND = "unknown command"  # IAC followed by an octet below SE
STRAY_SE = "IAC SE outside subnegotiation"
UNTERMINATED_SB = "subnegotiation ended without IAC SE"  # IAC <cmd> inside SB
OVERLONG_SB = "over-long subnegotiation"  # more than MAX_SUBNEGOTIATION octets, dropped
EMPTY_SB = "empty subnegotiation"  # IAC SB IAC SE: no option

Side = Literal["local", "remote"]  # local: we WILL/WONT; remote: the host WILL/WONT

_IAC = bytes([IAC])
_IAC_IAC = bytes([IAC, IAC])
_CR = b"\r"
_CR_NUL = b"\r\0"
_CR_NUL_LF = b"\r\0\n"
_CR_LF = b"\r\n"
_NUL = b"\0"
_LF = b"\n"

# Receive states.
_DATA = 0
_COMMAND = 1  # after IAC
_OPTION = 2  # after IAC WILL/WONT/DO/DONT
_SUB = 3  # inside IAC SB ...
_SUB_IAC = 4  # an IAC inside the subnegotiation


@dataclass(frozen=True, slots=True)
class TelnetEvent(Event):
    """Base of the telnet codec's events."""


@dataclass(frozen=True, slots=True)
class OptionChanged(TelnetEvent):
    """An option went on or off on one side (`local`: we do it; `remote`: the host does)."""

    option: int
    side: Side
    enabled: bool


@dataclass(frozen=True, slots=True)
class OptionRefused(TelnetEvent):
    """The host refused an option we asked for (BINARY, say); it stays off."""

    option: int
    side: Side


@dataclass(frozen=True, slots=True)
class TelnetMalformed(TelnetEvent):
    """The host sent something telnet does not allow; `count` is how often this reason so far."""

    reason: str
    count: int


@dataclass(slots=True)
class TelnetStats:
    """What the codec has consumed from the host besides data."""

    commands: int = 0  # NOP, GA, DM, AYT ... consumed
    negotiations: int = 0  # WILL/WONT/DO/DONT received
    subnegotiations: int = 0  # IAC SB ... IAC SE received whole
    malformed: dict[str, int] = field(default_factory=dict)  # by reason

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())


class TelnetCodec:
    """The telnet side of a TCP connection, fed in chunks of any size; nothing raises on input.

    Call `start()` once to queue our opening requests, then send `net_to_send()`
    before any data from `send_dte()`, after every call that may queue replies.
    """

    def __init__(self, *, binary: bool = True, terminal_type: str = "ANSI") -> None:
        if not (
            0 < len(terminal_type) <= MAX_TERMINAL_TYPE
            and terminal_type.isascii()
            and terminal_type.isprintable()
        ):
            raise ValueError(f"terminal type must be 1-40 printable ASCII, not {terminal_type!r}")
        self._binary = binary
        self.terminal_type = terminal_type
        self.stats = TelnetStats()
        accepted = {SGA} | ({BINARY} if binary else set())
        self._accept: dict[Side, frozenset[int]] = {
            "local": frozenset(accepted | {TTYPE}),
            "remote": frozenset(accepted | {ECHO}),
        }
        self._enabled: dict[Side, set[int]] = {"local": set(), "remote": set()}
        self._asked: dict[Side, set[int]] = {"local": set(), "remote": set()}
        self._out = bytearray()
        self._events: deque[TelnetEvent] = deque()
        self._state = _DATA
        self._verb = 0
        self._sub = bytearray()
        self._sub_length = 0  # octets of the subnegotiation so far, kept or not
        self._rx_after_cr = False  # the last data octet received (NVT) was a CR
        self._tx_after_cr = False  # the last octet sent (NVT) was a CR without its NUL/LF yet

    # -- negotiation -----------------------------------------------------------

    def start(self) -> None:
        """Queue our opening requests: BINARY both ways (if wanted), SGA both ways."""
        if self._binary:
            self._request("local", BINARY)
            self._request("remote", BINARY)
        self._request("remote", SGA)
        self._request("local", SGA)

    @property
    def binary(self) -> bool:
        """Whether BINARY is wanted at all (fixed: the refusals depend on it)."""
        return self._binary

    def is_enabled(self, option: int, side: Side) -> bool:
        return option in self._enabled[side]

    @property
    def binary_receive(self) -> bool:
        """The host sends binary (it agreed WILL BINARY): received data is not NVT."""
        return BINARY in self._enabled["remote"]

    @property
    def binary_send(self) -> bool:
        """We send binary (the host agreed DO BINARY): CR goes without NUL."""
        return BINARY in self._enabled["local"]

    # -- data ------------------------------------------------------------------

    def receive_net(self, data: bytes) -> bytes:
        """Octets from the socket in, data for the DTE out."""
        if self._state == _DATA:
            at = data.find(_IAC)
            if at < 0:
                return self._received(data)
        pieces: list[bytes] = []
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                at = data.find(_IAC, pos)
                if at < 0:
                    pieces.append(self._received(data[pos:]))
                    break
                if at > pos:
                    pieces.append(self._received(data[pos:at]))
                if at + 1 < end and data[at + 1] == IAC:  # IAC IAC: the common escape
                    pieces.append(_IAC)
                    self._rx_after_cr = False
                    pos = at + 2
                    continue
                self._state = _COMMAND
                pos = at + 1
            elif state == _SUB:
                at = data.find(_IAC, pos)
                stop = end if at < 0 else at
                self._collect(data, pos, stop)
                if at < 0:
                    break
                self._state = _SUB_IAC
                pos = at + 1
            else:
                octet = data[pos]
                pos += 1
                if state == _COMMAND:
                    if octet == IAC:
                        pieces.append(_IAC)
                        self._rx_after_cr = False
                        self._state = _DATA
                    else:
                        self._command(octet)
                elif state == _OPTION:
                    self._state = _DATA
                    self._negotiate(self._verb, octet)
                elif octet == SE:  # _SUB_IAC
                    self._state = _DATA
                    self._subnegotiation()
                elif octet == IAC:
                    self._collect(_IAC, 0, 1)
                    self._state = _SUB
                else:  # the host forgot IAC SE: drop the subnegotiation, obey the command
                    self._malformed(UNTERMINATED_SB)
                    self._command(octet)
        return b"".join(pieces)

    def send_dte(self, data: bytes) -> bytes:
        """Data from the DTE in, octets for the socket out (after `net_to_send()`)."""
        if not data:
            return data
        out = data.replace(_IAC, _IAC_IAC)
        if self.binary_send:
            self._tx_after_cr = False
            return out
        lead = _NUL if self._tx_after_cr and out[:1] != _LF else b""
        if _CR in out:
            out = out.replace(_CR, _CR_NUL)
            if _LF in out:  # a three-octet search is slow: only when CR LF may be there
                out = out.replace(_CR_NUL_LF, _CR_LF)
            self._tx_after_cr = data.endswith(_CR)
            if self._tx_after_cr:
                out = out[:-1]  # the NUL waits: the next octet may be LF
        else:
            self._tx_after_cr = False
        return lead + out if lead else out

    def net_to_send(self) -> bytes:
        """Replies and requests queued for the socket; send them before the next data."""
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_event(self) -> TelnetEvent | None:
        return self._events.popleft() if self._events else None

    # -- internals -------------------------------------------------------------

    def _received(self, run: bytes) -> bytes:
        """A run of data octets (no IAC) as the DTE gets it."""
        if not run or self.binary_receive:
            self._rx_after_cr = False
            return run
        if self._rx_after_cr and run[0] == 0:
            run = run[1:]
        self._rx_after_cr = run.endswith(_CR)  # before the pairs go: CR NUL ends in NUL
        if _NUL in run:  # one memchr; a two-octet search costs ~60 times more
            run = run.replace(_CR_NUL, _CR)
        return run

    def _command(self, octet: int) -> None:
        """The octet after IAC (not IAC itself)."""
        self._state = _DATA
        if WILL <= octet <= DONT:
            self._verb = octet
            self._state = _OPTION
        elif octet == SB:
            self._sub.clear()
            self._sub_length = 0
            self._state = _SUB
        elif octet == SE:
            self._malformed(STRAY_SE)
        elif octet > SE:
            self.stats.commands += 1
        else:
            self._malformed(UNKNOWN_COMMAND)

    def _collect(self, data: bytes, start: int, stop: int) -> None:
        """Subnegotiation octets `data[start:stop]`, kept up to the limit."""
        if start >= stop:
            return
        before = self._sub_length
        self._sub_length += stop - start
        if self._sub_length <= MAX_SUBNEGOTIATION:
            self._sub += data[start:stop]
        elif before <= MAX_SUBNEGOTIATION:
            self._sub.clear()
            self._malformed(OVERLONG_SB)

    def _subnegotiation(self) -> None:
        """IAC SE ended a subnegotiation: answer TERMINAL-TYPE SEND, ignore the rest."""
        if self._sub_length > MAX_SUBNEGOTIATION:
            return  # already reported
        if not self._sub:
            self._malformed(EMPTY_SB)
            return
        self.stats.subnegotiations += 1
        if bytes(self._sub) == bytes([TTYPE, TTYPE_SEND]) and TTYPE in self._enabled["local"]:
            self._out += bytes([IAC, SB, TTYPE, TTYPE_IS])
            self._out += self.terminal_type.encode("ascii")
            self._out += bytes([IAC, SE])
        self._sub.clear()

    def _request(self, side: Side, option: int) -> None:
        if option in self._enabled[side] or option in self._asked[side]:
            return
        self._asked[side].add(option)
        self._out += bytes([IAC, WILL if side == "local" else DO, option])

    def _negotiate(self, verb: int, option: int) -> None:
        """WILL/WONT (the host's side) or DO/DONT (ours) received."""
        self.stats.negotiations += 1
        side: Side = "remote" if verb in (WILL, WONT) else "local"
        on = verb in (WILL, DO)
        yes, no = (DO, DONT) if side == "remote" else (WILL, WONT)
        enabled, asked = self._enabled[side], self._asked[side]
        if on:
            if option in enabled:
                return  # a confirmation: answering it would loop
            if option in asked:
                asked.discard(option)  # the answer to our request
            elif option in self._accept[side]:
                self._out += bytes([IAC, yes, option])
            else:
                self._out += bytes([IAC, no, option])
                return
            enabled.add(option)
            self._events.append(OptionChanged(option, side, True))
        elif option in enabled:
            enabled.discard(option)
            self._out += bytes([IAC, no, option])
            self._events.append(OptionChanged(option, side, False))
        elif option in asked:
            asked.discard(option)
            self._events.append(OptionRefused(option, side))
        # else: already off, nothing to confirm

    def _malformed(self, reason: str) -> None:
        count = self.stats.malformed.get(reason, 0) + 1
        self.stats.malformed[reason] = count
        self._events.append(TelnetMalformed(reason, count))
