"""PPP in HDLC-like framing on an async line (RFC 1662), chunk at a time.

A frame is `7E | FF 03 | protocol | information | FCS | 7E`: address and control
may be left out (ACFC) and a protocol below 0x100 may be one octet (PFC). The
FCS-16 covers address to information and goes out least significant octet
first. After the FCS is added, 7D, 7E and every character the send ACCM flags
are sent as 7D followed by the character XOR 0x20.

LCP packets always carry FF 03, and LCP codes 1-7 (Configure-*, Terminate-*,
Code-Reject) always go out with the default ACCM, whatever was negotiated
(RFC 1661 §5 and §6.6); `encode_frame` applies that rule itself.

The data path works on whole chunks with C-level bytes operations:
- FCS: the `fastcrc` package's CRC-16/IBM-SDLC, which is the PPP FCS. It runs at
  several GB/s; `binascii.crc_hqx` over bit-reversed octets gives the same value
  but caps framing at about 130 MB/s (tools/bench_framing.py measures both).
- Sending: the header is escaped, and its FCS register worked out, once per
  kind of frame (cached); the FCS is carried on over the information field,
  which is escaped on its own, and the two FCS octets are escaped by table.
- Escaping: two `replace` calls when only 7D and 7E need it (ACCM 0), otherwise
  two translated lanes interleaved by slice assignment, with 7E as a filler that
  one `translate(delete=)` removes.
- Un-escaping: one `split` at the 7Ds (capped, so its length also counts them)
  and one `join` into a bytearray, in which the octet after each 7D (where each
  part ends) is flipped in place; with many escapes, the octet after each 7D
  is flipped with one big-integer XOR instead, and the 7Ds are marked in a
  second lane so that a UTF-16 decode plus a Latin-1 encode (errors ignored)
  deletes them.
- Receiving: a chunk that is exactly one frame, 7E to 7E (a `find` for a flag
  between them comes back empty), is un-escaped and its FCS checked with its
  flags on, and a frame with the usual header is delivered straight from that
  buffer: the header and FCS are cut off in place, so the information field is
  copied once.

Receiving follows Linux `ppp_async` and pppdump: a frame ending in 7D 7E is an
"aborted packet", fewer than 3 octets a "short packet", a bad residue "bad FCS",
an information field over the MRU an "over-long packet" (discarded while it
streams, so memory never exceeds MRU + 6); 7E 7E is idle, not an error. Octets
before the first flag are skipped (hunting). Unescaped control characters that
the receive ACCM flags are counted and reported but kept in the frame, unless
the deframer is told to drop them (see test-peers.md, "Receive-side ACCM").
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from fastcrc import crc16

from modememu.link.events import (
    ABORTED,
    BAD_ADDRESS,
    BAD_FCS,
    BAD_PROTOCOL,
    OVER_LONG,
    SHORT,
    UNFRAMED,
    FrameDropped,
    LinkEvent,
    UnescapedControlChars,
)

FLAG = 0x7E
ESCAPE = 0x7D
TRANS = 0x20
ALL_STATIONS = 0xFF
UI = 0x03
LCP = 0xC021
DEFAULT_ACCM = 0xFFFFFFFF
DEFAULT_MRU = 1500
INIT_FCS = 0xFFFF
GOOD_FCS = 0xF0B8
MIN_FRAME = 3  # Linux and pppdump; RFC 1662 §4.3 says 4, but ACFC+PFC with no information is 3
OVERHEAD = 6  # address, control, 2-octet protocol and FCS around the information field
_LCP_DEFAULT_CODES = range(1, 8)  # Configure-Request .. Code-Reject

_sdlc = crc16.ibm_sdlc  # CRC-16/IBM-SDLC (X.25): the PPP FCS, init and final XOR included
_GOOD_SENT = GOOD_FCS ^ 0xFFFF  # the good residue as the checksum function reports it

_FLAG = bytes([FLAG])
_ESC = bytes([ESCAPE])
_ADDRESS_CONTROL = bytes([ALL_STATIONS, UI])
_XORED = [bytes([b ^ TRANS]) for b in range(256)]
_MASK = bytes(TRANS if b == ESCAPE else 0 for b in range(256))
_PAIR = re.compile(re.escape(_ESC) + b"(.)", re.DOTALL)
_FEW_ESCAPES = 96  # up to this many, un-escape by split; above, by lanes (measured)
_FEW_CHARS = 6  # send maps with up to this many characters escape by replace
_NOT_ESCAPABLE = frozenset(range(0x20, 0x40)) | {0x5E}  # pppd `escape` refuses these


def _register_before(octet: int, output: int) -> int:
    """The checksum value that `octet` turns into `output`: one CRC step run backwards.

    The register is the reported value XOR FFFF; a step XORs the octet in, then
    shifts right eight times, XORing in 8408 after each 1 shifted out. Run
    backwards, a set top bit says a 1 was shifted out.
    """
    register = output ^ 0xFFFF
    for _ in range(8):
        register = (register ^ 0x8408) << 1 | 1 if register & 0x8000 else register << 1
    return (register ^ octet) ^ 0xFFFF


# Checking a frame with its flags on saves cutting them off: started from
# _BEFORE_FLAG, the opening flag brings the FCS to its usual start, and the
# closing flag takes the good residue to _GOOD_FLAGGED.
_BEFORE_FLAG = _register_before(FLAG, int(_sdlc(b"")))
_GOOD_FLAGGED = int(_sdlc(_FLAG, _GOOD_SENT))


def fcs16(data: bytes, fcs: int = INIT_FCS) -> int:
    """RFC 1662 `pppfcs16`: the FCS register after `data`, starting from `fcs`.

    The value sent is `fcs16(frame) ^ 0xFFFF`, least significant octet first;
    over a frame with its FCS the register ends at GOOD_FCS.
    """
    return int(_sdlc(data, fcs ^ 0xFFFF)) ^ 0xFFFF


def _fcs_octets(body: bytes) -> bytes:
    return int(_sdlc(body)).to_bytes(2, "little")


def _fcs_good(frame: bytes | bytearray) -> bool:
    return int(_sdlc(frame)) == _GOOD_SENT


# -- sending -------------------------------------------------------------------


class _Escaper:
    """Transparency for one send map: 7D, 7E and the map's characters become 7D, c ^ 0x20.

    `escape(data)` escapes a chunk; `octet[c]` is one octet escaped (for the FCS).
    """

    __slots__ = ("_even", "_odd", "_pairs", "escape", "octet")

    def __init__(self, chars: frozenset[int]) -> None:
        # Replacing one character after another works when no replacement puts
        # in a character a later one replaces: 7D goes first, and no c ^ 0x20 may
        # be in the map (pppd's `escape 41,61` would be such a map).
        order = [ESCAPE, *sorted(chars - {ESCAPE})]
        self._pairs = [(bytes([c]), bytes([ESCAPE, c ^ TRANS])) for c in order]
        self.escape: Callable[[bytes], bytes | bytearray]
        if chars == {ESCAPE, FLAG}:  # ACCM 0, what pppd asks for: the common case
            self.escape = _escape_flags
        elif len(order) <= _FEW_CHARS and not any(c ^ TRANS in chars for c in chars):
            self.escape = self._replace
        else:
            self.escape = self._lanes
        # Lanes: each octet c becomes (7D, c ^ 0x20) or (c, 7E); no escaped value
        # is 7E (0x5E is never in the map) and 7E itself is always escaped, so
        # every 7E left is a filler.
        self._even = bytes(ESCAPE if c in chars else c for c in range(256))
        self._odd = bytes(c ^ TRANS if c in chars else FLAG for c in range(256))
        self.octet = [bytes([ESCAPE, c ^ TRANS]) if c in chars else bytes([c]) for c in range(256)]

    def _replace(self, data: bytes) -> bytes:
        for char, escaped in self._pairs:
            data = data.replace(char, escaped)
        return data

    def _lanes(self, data: bytes) -> bytearray:
        lanes = bytearray(2 * len(data))
        lanes[0::2] = data.translate(self._even)
        lanes[1::2] = data.translate(self._odd)
        return lanes.translate(None, _FLAG)


def _escape_flags(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x5d").replace(b"\x7e", b"\x7d\x5e")


@lru_cache(maxsize=64)
def _escaper(accm: int, escape: bytes) -> _Escaper:
    if not 0 <= accm <= 0xFFFFFFFF:
        raise ValueError(f"ACCM must be a 32-bit map, not {accm:#x}")
    bad = _NOT_ESCAPABLE.intersection(escape)
    if bad:
        raise ValueError(f"cannot escape {sorted(bad)} (0x20-0x3f and 0x5e)")
    chars = {c for c in range(32) if accm >> c & 1} | {ESCAPE, FLAG} | set(escape)
    return _Escaper(frozenset(chars))


def _header(protocol: int, acfc: bool, pfc: bool) -> bytes:
    if not 0 <= protocol <= 0xFFFF or protocol & 0x0101 != 0x0001:
        raise ValueError(f"not a PPP protocol number (odd, high octet even): {protocol:#x}")
    field = bytes([protocol]) if pfc and protocol < 0x100 else protocol.to_bytes(2, "big")
    return field if acfc else _ADDRESS_CONTROL + field


@dataclass(frozen=True, slots=True)
class _Sender:
    """What one kind of frame starts with, worked out once: see `_sender`."""

    escaper: _Escaper
    head: bytes  # the header, escaped
    flagged_head: bytes  # the same after an opening flag
    fcs: int  # the FCS register after the header, as the checksum function reports it


@lru_cache(maxsize=256)
def _sender(protocol: int, acfc: bool, pfc: bool, accm: int, escape: bytes) -> _Sender:
    escaper = _escaper(accm, escape)
    header = _header(protocol, acfc, pfc)
    head = bytes(escaper.escape(header))
    return _Sender(escaper, head, _FLAG + head, int(_sdlc(header)))


def escape_octets(data: bytes, accm: int = DEFAULT_ACCM, escape: bytes = b"") -> bytes:
    """RFC 1662 §4.2 transparency for `data` under a send map, flags not added.

    `accm` flags control characters 0x00-0x1f (bit n for character n); `escape`
    names more octets to escape, like pppd's `escape` option (not 0x20-0x3f or
    0x5e). 7D and 7E are always escaped.
    """
    return bytes(_escaper(accm, escape).escape(data))


def encode_raw(
    body: bytes,
    *,
    accm: int = DEFAULT_ACCM,
    escape: bytes = b"",
    leading_flag: bool = True,
) -> bytes:
    """Frame arbitrary address-to-information octets: FCS, escaping, flags.

    No header rules are applied (handy for tests and for sending odd frames on
    purpose); `encode_frame` is the normal way to send.
    """
    stuffed = _escaper(accm, escape).escape(body + _fcs_octets(body))
    return b"".join((_FLAG, stuffed, _FLAG)) if leading_flag else b"".join((stuffed, _FLAG))


def encode_frame(
    protocol: int,
    info: bytes,
    *,
    accm: int = DEFAULT_ACCM,
    acfc: bool = False,
    pfc: bool = False,
    escape: bytes = b"",
    leading_flag: bool = True,
) -> bytes:
    """One PPP packet as it goes on the line.

    `accm`, `acfc` and `pfc` are what the peer asked for (the defaults are the
    RFC's before LCP is up); LCP overrides them as RFC 1661 requires. With
    `leading_flag` False the frame relies on the previous frame's closing flag
    (RFC 1662 §4.4.2 allows that when frames follow each other closely).
    """
    if protocol == LCP:
        acfc = False
        if info[:1] and info[0] in _LCP_DEFAULT_CODES:
            accm = DEFAULT_ACCM
    # The header's escaping and FCS come from a cache; the information field is
    # escaped on its own and the FCS carried on over it, so it is copied once.
    sender = _sender(protocol, acfc, pfc, accm, escape)
    fcs = _sdlc(info, sender.fcs)
    escaper = sender.escaper
    return b"".join(
        (
            sender.flagged_head if leading_flag else sender.head,
            escaper.escape(info),
            escaper.octet[fcs & 0xFF],
            escaper.octet[fcs >> 8],
            _FLAG,
        )
    )


# -- receiving -----------------------------------------------------------------


def _trailing_escape(raw: bytes) -> bool:
    """Whether `raw` ends in a 7D still waiting for its octet (an odd run of 7Ds)."""
    return raw[-1:] == _ESC and (len(raw) - len(raw.rstrip(_ESC))) % 2 == 1


def _unescape_pairs(raw: bytes) -> bytes:
    """Undo transparency by pairing each 7D with the next octet, strictly left to right."""
    return _PAIR.sub(lambda m: _XORED[m.group(1)[0]], raw)


def _join_flipped(parts: list[bytes]) -> bytearray:
    """Octets split at each 7D, joined again with the octet after each 7D flipped.

    No part but the first may be empty (that would be 7D 7D, an escaped 0x5D).
    """
    out = bytearray().join(parts)
    at = 0
    for part in parts[:-1]:  # the octet after each 7D lands where the part before it ends
        at += len(part)
        out[at] ^= TRANS
    return out


def _unescape(raw: bytes) -> bytes | bytearray:
    """Undo transparency on flag-free octets that do not end in an unpaired 7D."""
    parts = raw.split(_ESC, _FEW_ESCAPES)  # its length counts the escapes, up to the limit
    if len(parts) == 1:
        return raw
    if len(parts) > _FEW_ESCAPES and _ESC in parts[-1]:
        return _unescape_lanes(raw)
    if not all(parts[1:]):
        return _unescape_pairs(raw)
    return _join_flipped(parts)


def _unescape_lanes(raw: bytes) -> bytes:
    """`_unescape` for octets with many escapes, in a fixed number of whole-chunk steps."""
    marks = raw.translate(_MASK)  # 0x20 where raw has 7D, else 0
    mask = int.from_bytes(marks, "little")
    if mask & mask << 8:  # 7D 7D somewhere
        return _unescape_pairs(raw)
    # Every 7D is an escape with its octet after it: flip the octet after each 7D
    # (shifting the mask one octet up), then read (octet, mark) as UTF-16 units,
    # so each 7D becomes U+207D, which a Latin-1 encode that ignores errors drops.
    size = len(raw)
    lanes = bytearray(2 * size)
    lanes[0::2] = (int.from_bytes(raw, "little") ^ mask << 8).to_bytes(size, "little")
    lanes[1::2] = marks
    return lanes.decode("utf-16-le").encode("latin-1", "ignore")


def unescape(raw: bytes) -> bytes:
    """Undo transparency on the octets between two flags (a capture's view of a frame)."""
    if _trailing_escape(raw):
        raw = raw[:-1]
    return bytes(_unescape(raw))


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """A received PPP frame with a good FCS."""

    protocol: int
    info: bytes
    address_control: bool = True  # FF 03 was present (False: compressed away, ACFC)
    compressed_protocol: bool = False  # the protocol field was one octet (PFC)


# HdlcFrame(...) fills a frozen dataclass through `object.__setattr__`, field by
# field; `_new_frame` sets the slots directly, in about half the time.
_set_protocol, _set_info, _set_address_control, _set_compressed = (
    HdlcFrame.__dict__[field].__set__
    for field in ("protocol", "info", "address_control", "compressed_protocol")
)


_bare_frame = HdlcFrame.__new__


def _new_frame(protocol: int, info: bytes, address_control: bool, compressed: bool) -> HdlcFrame:
    frame = _bare_frame(HdlcFrame)
    _set_protocol(frame, protocol)
    _set_info(frame, info)
    _set_address_control(frame, address_control)
    _set_compressed(frame, compressed)
    return frame


_COUNTERS = {
    ABORTED: "aborted",
    SHORT: "short",
    BAD_FCS: "bad_fcs",
    OVER_LONG: "over_long",
    BAD_ADDRESS: "bad_header",
    BAD_PROTOCOL: "bad_header",
}


@dataclass(slots=True)
class HdlcStats:
    """What an HDLC deframer has seen; every received frame lands in exactly one counter.

    `accm_chars` counts characters, `unframed` octets; the rest count frames.
    """

    frames: int = 0  # delivered
    idle: int = 0  # empty frames: 7E 7E
    aborted: int = 0  # "aborted packet": 7D 7E
    short: int = 0  # "short packet"
    bad_fcs: int = 0  # "BAD FCS"
    over_long: int = 0  # "over-long packet": information field over the MRU
    bad_header: int = 0  # FF without 03, or a protocol field ending in an even octet
    accm_chars: int = 0  # unescaped control characters the receive ACCM flags
    unframed: int = 0  # octets before the first flag


class HdlcDeframer:
    """PPP frames out of an async HDLC byte stream, fed in chunks of any size.

    `receive_data()` takes line octets; `next_frame()` returns good frames in
    order, with ACFC and PFC undone; `next_event()` returns what went wrong.
    `mru` and `recv_accm` may be changed at any time (after LCP negotiation).
    Nothing raises on bad input.
    """

    def __init__(
        self,
        mru: int = DEFAULT_MRU,
        recv_accm: int = DEFAULT_ACCM,
        *,
        drop_accm_chars: bool = False,
    ) -> None:
        self.mru = mru
        self.recv_accm = recv_accm
        self.drop_accm_chars = drop_accm_chars
        self.stats = HdlcStats()
        self._frames: deque[HdlcFrame] = deque()
        self._events: deque[LinkEvent] = deque()
        self._hunting = True
        # The frame in progress: octets already un-escaped, its length on the line,
        # a 7D waiting for its octet, whether it is already too long (then only
        # its length and escape state are kept), flagged control characters seen.
        self._partial = bytearray()
        self._line = 0
        self._escape = False
        self._toss = False
        self._ctl_count = 0
        self._ctl_chars: set[int] = set()

    @property
    def mru(self) -> int:
        return self._mru

    @mru.setter
    def mru(self, value: int) -> None:
        if not 1 <= value <= 0xFFFF:
            raise ValueError(f"MRU must be 1..65535, not {value}")
        self._mru = value
        self._limit = value + OVERHEAD

    @property
    def recv_accm(self) -> int:
        return self._recv_accm

    @recv_accm.setter
    def recv_accm(self, value: int) -> None:
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"ACCM must be a 32-bit map, not {value:#x}")
        self._recv_accm = value
        self._flagged = bytes(c for c in range(32) if value >> c & 1)
        self._unflagged = bytes(c for c in range(256) if c not in self._flagged)

    # -- input -----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        # The common case: the chunk is one frame, 7E to 7E, and none is in progress.
        if not self._line and data[:1] == _FLAG and data.find(FLAG, 1) == len(data) - 1 > 1:
            if self._hunting:
                self._hunting = False
            else:  # this opening flag right after the last closing one
                self.stats.idle += 1
            self._flagged_frame(data)
            return
        parts = data.split(_FLAG)
        last = parts.pop()
        if parts:
            if self._hunting:
                self._hunting = False
                skipped = self._line + len(parts[0])
                self._line = 0
                if skipped:
                    self.stats.unframed += skipped
                    self._events.append(FrameDropped(UNFRAMED, skipped))
                del parts[0]
            elif self._line:
                self._feed(parts[0])
                self._end_partial()
                del parts[0]
            for raw in parts:
                if raw:
                    self._whole(raw)
                else:
                    self.stats.idle += 1
        if last:
            if self._hunting:
                self._line += len(last)
            else:
                self._feed(last)

    def reset(self) -> None:
        """Forget a frame in progress and hunt for a flag again (after carrier loss, say)."""
        self._clear()
        self._hunting = True

    # -- output ----------------------------------------------------------------

    def next_frame(self) -> HdlcFrame | None:
        return self._frames.popleft() if self._frames else None

    def next_event(self) -> LinkEvent | None:
        return self._events.popleft() if self._events else None

    @property
    def pending_octets(self) -> int:
        """Octets of the frame in progress held in memory (at most MRU + 6)."""
        return len(self._partial)

    # -- internals -------------------------------------------------------------

    def _whole(self, raw: bytes) -> None:
        """A frame that arrived between two flags of one chunk."""
        line = len(raw)
        if self._flagged:
            found = raw.translate(None, self._unflagged)
            if found:
                self._control_chars(len(found), set(found))
                if self.drop_accm_chars:
                    raw = raw.translate(None, self._flagged)
                    if not raw:
                        self.stats.idle += 1
                        return
        if raw[-1] == ESCAPE and _trailing_escape(raw):
            self._drop(ABORTED, line)
        elif len(raw) > 2 * self._limit:  # un-escaping at most halves it
            self._drop(OVER_LONG, line)
        else:
            self._check(_unescape(raw), line)

    def _flagged_frame(self, data: bytes) -> None:
        """`_whole` for a frame still between its flags (un-escaping leaves 7E alone)."""
        if (
            data[-2] == ESCAPE
            or len(data) > 2 * self._limit + 2
            or (self._flagged and data.translate(None, self._unflagged))
        ):
            self._whole(data[1:-1])
            return
        parts = data.split(_ESC, _FEW_ESCAPES)  # as in `_unescape`
        frame: bytes | bytearray
        if len(parts) == 1:
            frame = data
        elif len(parts) > _FEW_ESCAPES and _ESC in parts[-1]:
            frame = _unescape_lanes(data)
        elif all(parts):  # the first part holds the opening flag
            frame = bytearray().join(parts)  # `_join_flipped`, inline: the hot path
            at = len(parts[0])
            for part in islice(parts, 1, None):
                frame[at] ^= TRANS
                at += len(part)
        else:
            frame = _unescape_pairs(data)
        size = len(frame)
        if (  # the usual frame, delivered here: FF 03, a two-octet protocol, good FCS
            8 <= size <= self._limit + 2
            and frame[1] == ALL_STATIONS
            and frame[2] == UI
            and frame[4] & ~frame[3] & 1
            and _sdlc(frame, _BEFORE_FLAG) == _GOOD_FLAGGED
        ):
            protocol = frame[3] << 8 | frame[4]
            if isinstance(frame, bytearray):  # ours to cut down in place: one copy, not two
                del frame[-3:]
                del frame[:5]
                info = bytes(frame)
            else:
                info = frame[5:-3]
            self.stats.frames += 1
            delivered = _bare_frame(HdlcFrame)  # `_new_frame`, inline
            _set_protocol(delivered, protocol)
            _set_info(delivered, info)
            _set_address_control(delivered, True)
            _set_compressed(delivered, False)
            self._frames.append(delivered)
            return
        self._check(frame[1:-1], len(data) - 2)

    def _feed(self, piece: bytes) -> None:
        """Part of a frame whose closing flag has not arrived yet."""
        self._line += len(piece)
        if self._flagged:
            found = piece.translate(None, self._unflagged)
            if found:
                self._ctl_count += len(found)
                self._ctl_chars.update(found)
                if self.drop_accm_chars:
                    piece = piece.translate(None, self._flagged)
        if self._escape:
            piece = _ESC + piece
        self._escape = piece[-1:] == _ESC and _trailing_escape(piece)
        if self._escape:
            piece = piece[:-1]
        if self._toss:
            return
        if len(piece) > 2 * (self._limit - len(self._partial)):
            self._start_toss()
            return
        self._partial += _unescape(piece)
        if len(self._partial) > self._limit:
            self._start_toss()

    def _start_toss(self) -> None:
        self._toss = True
        self._partial.clear()

    def _end_partial(self) -> None:
        line = self._line
        if self._ctl_count:
            self._control_chars(self._ctl_count, self._ctl_chars)
        if self._escape:
            self._drop(ABORTED, line)
        elif self._toss:
            self._drop(OVER_LONG, line)
        elif self._partial:
            self._check(self._partial, line)  # cut down in place; cleared below
        else:  # nothing but dropped control characters
            self.stats.idle += 1
        self._clear()

    def _clear(self) -> None:
        self._partial.clear()
        self._line = self._ctl_count = 0
        self._escape = self._toss = False
        self._ctl_chars = set()

    def _check(self, frame: bytes | bytearray, line: int) -> None:
        """Judge one un-escaped frame (address to FCS) and deliver it if good."""
        size = len(frame)
        if size > self._limit:
            self._drop(OVER_LONG, line)
            return
        if size < MIN_FRAME:
            self._drop(SHORT, line)
            return
        if not _fcs_good(frame):
            self._drop(BAD_FCS, line)
            return
        end = size - 2  # the FCS is checked: leave it out
        if frame[0] == ALL_STATIONS and frame[1] == UI and end > 3 and frame[3] & ~frame[2] & 1:
            # The usual header, FF 03 and a two-octet protocol (size <= MRU + 6 above)
            protocol, begin, full, compressed = frame[2] << 8 | frame[3], 4, True, False
        else:
            start = 0
            if frame[0] == ALL_STATIONS:  # no protocol starts with FF: it is an address
                if end < 2:
                    self._drop(SHORT, line)
                    return
                if frame[1] != UI:
                    self._drop(BAD_ADDRESS, line)
                    return
                start = 2
            if start >= end:
                self._drop(SHORT, line)
                return
            high = frame[start]
            if high & 1:  # a one-octet (PFC) protocol field
                protocol, begin, compressed = high, start + 1, True
            elif start + 2 > end:
                self._drop(SHORT, line)
                return
            elif frame[start + 1] & 1:
                protocol, begin, compressed = high << 8 | frame[start + 1], start + 2, False
            else:
                self._drop(BAD_PROTOCOL, line)
                return
            if end - begin > self._mru:
                self._drop(OVER_LONG, line)
                return
            full = start == 2
        if isinstance(frame, bytearray):  # ours to cut down: one copy, not two
            del frame[end:]
            del frame[:begin]
            info = bytes(frame)
        else:
            info = frame[begin:end]
        self.stats.frames += 1
        self._frames.append(_new_frame(protocol, info, full, compressed))

    def _drop(self, reason: str, line: int) -> None:
        counter = _COUNTERS[reason]
        setattr(self.stats, counter, getattr(self.stats, counter) + 1)
        self._events.append(FrameDropped(reason, line))

    def _control_chars(self, count: int, chars: set[int]) -> None:
        self.stats.accm_chars += count
        self._events.append(
            UnescapedControlChars(count, bytes(sorted(chars)), dropped=self.drop_accm_chars)
        )
