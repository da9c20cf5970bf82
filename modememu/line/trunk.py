"""The trunk: line signalling and data between two modememu processes over TCP.

A plain TCP connection only carries bytes, so a call to another modememu would
lose ringing, busy, the answering modem's capabilities and hangups. The trunk
adds them without breaking plain hosts: the listening side first sends
`OFFER` (IAC WILL 0x4D, a private telnet option that telnet clients refuse and
raw clients ignore). A modememu caller that reads exactly those three bytes
first answers `ACCEPT` (IAC DO 0x4D) and then both sides speak frames; anything
else means the far end is an ordinary host.

A frame is one type byte, a 3-byte big-endian payload length, the payload.
DATA carries raw bytes; every other type carries a small JSON object:

- CALLER {"number", "modulations", "max_rate", "error_control"}: sent by the
  caller right after ACCEPT, who calls and what its modem offers
- RINGING {}: the far modem rings
- ANSWERED {"modulations", "max_rate", "error_control"}, or {"carrier": false}
  when the far end answered but will never send a carrier
- BUSY {}, HANGUP {}
- ROOM {"bytes": n}: flow-control credit on error-controlled calls, how many
  more DATA bytes the peer may send

The decoder never raises on what the peer sends: a bad frame is dropped,
counted and reported as a `TrunkMalformed` event. The one thing it cannot
survive is a length over `MAX_FRAME`: frame boundaries are lost for good, so it
marks itself `broken` and ignores the rest of the stream.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType

from modememu.events import Event

OFFER = b"\xff\xfb\x4d"  # IAC WILL 0x4D
ACCEPT = b"\xff\xfd\x4d"  # IAC DO 0x4D
REFUSE = b"\xff\xfe\x4d"  # IAC DONT 0x4D
HEADER = 4
MAX_FRAME = 64 * 1024  # payload bytes; also bounds what the decoder buffers


class FrameType(IntEnum):
    DATA = 1
    CALLER = 2
    RINGING = 3
    ANSWERED = 4
    BUSY = 5
    HANGUP = 6
    ROOM = 7


_TYPES = {t.value: t for t in FrameType}
_NO_FIELDS: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: `data` for DATA, `fields` (read-only) for signals."""

    type: FrameType
    data: bytes = b""
    fields: Mapping[str, object] = field(default_factory=lambda: _NO_FIELDS)


@dataclass(frozen=True, slots=True)
class TrunkMalformed(Event):
    """A frame from the peer was dropped; `count` is the total dropped so far."""

    reason: str
    count: int


def classify_offer(first: bytes) -> bool | None:
    """Whether the first bytes from a server are the trunk offer (None: too few to tell)."""
    if first.startswith(OFFER):
        return True
    if OFFER.startswith(first):
        return None
    return False


def _header(kind: int, length: int) -> bytes:
    return bytes((kind,)) + length.to_bytes(3, "big")


def encode_data(data: bytes) -> bytes:
    """DATA frames for `data`, split at MAX_FRAME; nothing at all for no data."""
    if len(data) <= MAX_FRAME:
        return _header(FrameType.DATA, len(data)) + data if data else b""
    view = memoryview(data)
    parts: list[bytes | memoryview] = []
    for at in range(0, len(data), MAX_FRAME):
        chunk = view[at : at + MAX_FRAME]
        parts += (_header(FrameType.DATA, len(chunk)), chunk)
    return b"".join(parts)


def encode_signal(kind: FrameType, **fields: object) -> bytes:
    """A signal frame; the fields must be JSON-serialisable."""
    if kind is FrameType.DATA:
        raise ValueError("DATA is not a signal: use encode_data")
    payload = json.dumps(fields, separators=(",", ":")).encode("utf-8")
    if len(payload) > MAX_FRAME:
        raise ValueError(f"{kind.name} payload of {len(payload)} bytes is over {MAX_FRAME}")
    return _header(kind, len(payload)) + payload


class TrunkDecoder:
    """Frames out of the trunk byte stream, fed in chunks split anywhere.

    Complete frames are sliced straight out of each chunk; only a frame cut by
    a chunk boundary is copied into the buffer, which therefore never holds
    more than one frame.
    """

    def __init__(self) -> None:
        self.malformed = 0
        self.broken = False
        self._buf = bytearray()
        self._events: deque[TrunkMalformed] = deque()

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame held (at most HEADER + MAX_FRAME)."""
        return len(self._buf)

    def next_event(self) -> TrunkMalformed | None:
        return self._events.popleft() if self._events else None

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        if self.broken or not data:
            return frames
        view = memoryview(data)
        pos = 0
        buf = self._buf
        if buf:  # finish the frame a previous chunk cut: header first, then payload
            if len(buf) < HEADER:
                pos = HEADER - len(buf)
                buf += view[:pos]
                if len(buf) < HEADER or not self._length_ok(buf):
                    return frames
            total = HEADER + int.from_bytes(buf[1:HEADER], "big")
            take = total - len(buf)
            buf += view[pos : pos + take]
            pos += take
            if len(buf) < total:
                return frames
            self._frame(buf[0], bytes(buf[HEADER:]), frames)
            buf.clear()
        end = len(view)
        while end - pos >= HEADER:
            header = view[pos : pos + HEADER]
            if not self._length_ok(header):
                return frames
            stop = pos + HEADER + int.from_bytes(header[1:], "big")
            if stop > end:
                break
            self._frame(header[0], bytes(view[pos + HEADER : stop]), frames)
            pos = stop
        buf += view[pos:]  # a cut frame (its header, if whole, was checked above)
        return frames

    def _length_ok(self, header: bytes | bytearray | memoryview) -> bool:
        length = int.from_bytes(header[1:HEADER], "big")
        if length <= MAX_FRAME:
            return True
        self.broken = True
        self._buf.clear()
        self._drop(f"frame length {length} over {MAX_FRAME}: stream cannot resync")
        return False

    def _frame(self, kind: int, payload: bytes, frames: list[Frame]) -> None:
        ftype = _TYPES.get(kind)
        if ftype is None:
            self._drop(f"unknown frame type {kind:#04x}")
        elif ftype is FrameType.DATA:
            frames.append(Frame(ftype, payload))
        else:
            try:
                fields = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                self._drop(f"{ftype.name} payload is not valid JSON")
                return
            if not isinstance(fields, dict):
                self._drop(f"{ftype.name} payload is not a JSON object")
                return
            frames.append(Frame(ftype, fields=MappingProxyType(fields)))

    def _drop(self, reason: str) -> None:
        self.malformed += 1
        self._events.append(TrunkMalformed(reason, self.malformed))
