"""SLIP framing (RFC 1055), chunk at a time.

A packet goes out as END, the packet with END and ESC escaped, END: the leading
END is Karn's double-END practice, so line noise before it becomes a bogus frame
the receiver drops. The deframer splits its input on END with `bytes.split`,
un-escapes with `split` and `join` (or `replace` when escapes are many), and
keeps at most one MTU of a frame in progress: a longer frame is discarded while
it streams in.

Receiving follows RFC 1055's reference receiver, as Linux (`slip_unesc`) does
near enough: END always ends a frame (an ESC just before it is dropped), ESC followed by anything
but ESC_END/ESC_ESC drops the ESC and keeps the octet, frames of 2 octets or
fewer are noise. Empty frames (END END) are the double-END practice, not errors.
CSLIP (RFC 1144 header compression) is recognised by the first octet and dropped.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from itertools import accumulate

from modememu.link.events import (
    CSLIP,
    OVER_MTU,
    RUNT,
    BadEscape,
    CslipUnsupported,
    FrameDropped,
    LinkEvent,
)

END = 0xC0
ESC = 0xDB
ESC_END = 0xDC
ESC_ESC = 0xDD

DEFAULT_MTU = 1006  # RFC 1055: "accept 1006-byte packets"
MIN_FRAME = 3  # Linux delivers only frames longer than 2 octets

_END = bytes([END])
_ESC = bytes([ESC])
_ESCAPED_END = bytes([ESC, ESC_END])
_ESCAPED_ESC = bytes([ESC, ESC_ESC])
_ESCAPE_PAIR = re.compile(re.escape(_ESC) + b"(.)", re.DOTALL)
_UNESCAPED = {bytes([ESC_END]): _END, bytes([ESC_ESC]): _ESC}
_FEW_ESCAPES = 32  # up to this many, un-escape by split; above, by replace (measured)


def encode_frame(packet: bytes, *, leading_end: bool = True) -> bytes:
    """One packet as it goes on the line: END, escaped packet, END."""
    body = packet.replace(_ESC, _ESCAPED_ESC).replace(_END, _ESCAPED_END)
    return b"".join((_END, body, _END)) if leading_end else body + _END


def _unescape(raw: bytes) -> tuple[bytes, int]:
    """Un-escape one END-free piece that has no unpaired ESC at its end.

    Returns the data and the number of bad escapes in it.
    """
    escapes = raw.count(_ESC)
    if escapes <= _FEW_ESCAPES:
        parts = raw.split(_ESC)
        if all(parts[1:]):  # else ESC ESC somewhere: leave it to the pairing below
            out = bytearray().join(parts)
            bad = 0
            for at in accumulate(map(len, parts[:-1])):  # where each escaped octet landed
                octet = out[at]
                if octet == ESC_END:
                    out[at] = END
                elif octet == ESC_ESC:
                    out[at] = ESC
                else:
                    bad += 1
            return bytes(out), bad
    elif escapes == raw.count(_ESCAPED_END) + raw.count(_ESCAPED_ESC):
        # Every ESC starts a valid pair, and valid pairs cannot overlap.
        return raw.replace(_ESCAPED_END, _END).replace(_ESCAPED_ESC, _ESC), 0
    bad = 0

    def unescape(match: re.Match[bytes]) -> bytes:
        nonlocal bad
        octet = match.group(1)
        out = _UNESCAPED.get(octet)
        if out is None:
            bad += 1
            return octet
        return out

    return _ESCAPE_PAIR.sub(unescape, raw), bad


def _trailing_escape(raw: bytes) -> bool:
    """Whether `raw` ends in an ESC that has no octet after it yet.

    ESCs pair up left to right (in ESC ESC the second is the octet after the
    first: a bad escape that keeps it), so that is when `raw` ends in an odd run
    of ESCs.
    """
    return raw[-1:] == _ESC and (len(raw) - len(raw.rstrip(_ESC))) % 2 == 1


@dataclass(slots=True)
class SlipStats:
    """What a SLIP deframer has seen; every received frame lands in exactly one counter.

    `bad_escapes` counts escape sequences, not frames (nor those in frames
    dropped for being over the MTU).
    """

    frames: int = 0  # delivered
    idle: int = 0  # empty frames (END END), the double-END practice
    runts: int = 0
    over_length: int = 0
    cslip: int = 0
    bad_escapes: int = 0


class SlipDeframer:
    """Packets out of a SLIP byte stream, fed in chunks of any size.

    `receive_data()` takes line octets; `next_frame()` returns the packets in
    order; `next_event()` returns what went wrong. Nothing raises on bad input.
    """

    def __init__(self, mtu: int = DEFAULT_MTU, *, min_frame: int = MIN_FRAME) -> None:
        if mtu < 1 or min_frame < 1:
            raise ValueError(f"mtu and min_frame must be positive, not {mtu}, {min_frame}")
        self.mtu = mtu
        self.min_frame = min_frame
        self.stats = SlipStats()
        self._frames: deque[bytes] = deque()
        self._events: deque[LinkEvent] = deque()
        # The frame in progress: octets already un-escaped, its length on the line,
        # an ESC waiting for its partner, bad escapes so far, and whether it is
        # already known to be too long (then only its length is kept).
        self._partial = bytearray()
        self._line = 0
        self._escape = False
        self._bad = 0
        self._toss = False

    # -- input -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        parts = data.split(_END)
        last = parts.pop()
        if parts:
            if self._line:
                self._feed(parts[0])
                self._end_partial()
                del parts[0]
            for raw in parts:
                if raw:
                    self._whole(raw)
                else:
                    self.stats.idle += 1
        if last:
            self._feed(last)

    def reset(self) -> None:
        """Forget a frame in progress (after carrier loss, say)."""
        self._partial.clear()
        self._line = self._bad = 0
        self._escape = self._toss = False

    # -- output ----------------------------------------------------------------

    def next_frame(self) -> bytes | None:
        return self._frames.popleft() if self._frames else None

    def next_event(self) -> LinkEvent | None:
        return self._events.popleft() if self._events else None

    @property
    def pending_octets(self) -> int:
        """Octets of the frame in progress held in memory (never more than the MTU)."""
        return len(self._partial)

    # -- internals -------------------------------------------------------------

    def _whole(self, raw: bytes) -> None:
        """A frame that arrived between two ENDs of one chunk."""
        line = len(raw)
        if line > 2 * self.mtu + 1:  # un-escaping at most halves it: over the MTU anyway
            self._over_mtu(line)
            return
        bad = 0
        if _ESC in raw:
            if raw[-1] == ESC and _trailing_escape(raw):
                raw = raw[:-1]
                bad = 1
            raw, more = _unescape(raw)
            bad += more
        self._deliver(raw, line, bad)

    def _feed(self, piece: bytes) -> None:
        """Part of a frame whose END has not arrived yet."""
        self._line += len(piece)
        if self._toss:
            return
        if self._escape:
            piece = _ESC + piece
            self._escape = False
        if len(piece) > 2 * (self.mtu - len(self._partial)) + 2:
            self._start_toss()
            return
        if _ESC in piece:
            if piece[-1] == ESC and _trailing_escape(piece):
                piece = piece[:-1]
                self._escape = True
            piece, bad = _unescape(piece)
            self._bad += bad
        self._partial += piece
        if len(self._partial) > self.mtu:
            self._start_toss()

    def _start_toss(self) -> None:
        self._toss = True
        self._escape = False
        self._partial.clear()

    def _end_partial(self) -> None:
        if self._toss:
            self._over_mtu(self._line)
        else:  # an ESC right before END is a bad escape too
            self._deliver(bytes(self._partial), self._line, self._bad + self._escape)
        self.reset()

    def _deliver(self, frame: bytes, line: int, bad: int) -> None:
        size = len(frame)
        if size > self.mtu:  # its bad escapes, if any, go unreported with it
            self._over_mtu(line)
            return
        if bad:
            self._bad_escapes(bad, line)
        if size < self.min_frame:
            if size:
                self.stats.runts += 1
                self._events.append(FrameDropped(RUNT, line))
            else:  # only a stray ESC: as empty as END END
                self.stats.idle += 1
        elif frame[0] >= 0x70:
            self.stats.cslip += 1
            self._events.append(CslipUnsupported(CSLIP, line, compressed=frame[0] >= 0x80))
        else:
            self.stats.frames += 1
            self._frames.append(frame)

    def _over_mtu(self, line: int) -> None:
        self.stats.over_length += 1
        self._events.append(FrameDropped(OVER_MTU, line))

    def _bad_escapes(self, count: int, line: int) -> None:
        self.stats.bad_escapes += count
        self._events.append(BadEscape(count, line))
