"""Command-mode input: hunt for "AT", collect and edit the body, echo, enforce the limit.

Bytes are compared on their low 7 bits so a 7-bit DTE's parity bit does not hide
its letters; the raw A and T are reported so the modem can tell its parity.
`feed` stops after each thing the modem must act on (the prefix, a finished line,
`A/`, a cancelled line) and hands back the bytes it has not looked at yet,
because what the modem does next (E0, a new S3, ...) changes how they are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

CAN = 0x18
DEL = 0x7F
SPACE = 0x20
QUOTE = 0x22
_A_ANY_PARITY = re.compile(rb"[\x41\x61\xc1\xe1]")


@dataclass(frozen=True, slots=True)
class PrefixSeen:
    """An "AT" or "at": the raw bytes, parity bit and all."""

    a_byte: int
    t_byte: int


@dataclass(frozen=True, slots=True)
class LineDone:
    body: str  # upper-cased outside quotes, spaces and controls removed
    overflow: bool  # more characters came than the limit: answer ERROR, run nothing


@dataclass(frozen=True, slots=True)
class Repeat:
    """`A/`: run the previous line again, no terminator needed."""


@dataclass(frozen=True, slots=True)
class Cancelled:
    """CAN: the line so far is thrown away."""


Item = PrefixSeen | LineDone | Repeat | Cancelled


class _State(Enum):
    HUNT = 1
    GOT_A = 2
    BODY = 3


@dataclass(frozen=True, slots=True)
class Feed:
    echo: bytes  # what to echo (raw as received; the modem adds parity)
    item: Item | None
    rest: bytes  # not yet looked at


class LineReader:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._state = _State.HUNT
        self._a_byte = 0
        self._body: list[str] = []
        self._quoted = False
        self._overflow = False

    @property
    def in_line(self) -> bool:
        """True once "AT" has been seen and the line is not finished yet."""
        return self._state is _State.BODY

    @property
    def buffered(self) -> int:
        return len(self._body)

    def reset(self) -> None:
        self._state = _State.HUNT
        self._body.clear()
        self._quoted = False
        self._overflow = False

    def feed(self, data: bytes, *, s3: int, s5: int) -> Feed:
        if self._state is _State.HUNT:
            match = _A_ANY_PARITY.search(data)
            if match is None:
                return Feed(data, None, b"")
            # The A is echoed with what follows it: a T may change the parity it is sent in.
            start = match.start()
            self._state = _State.GOT_A
            self._a_byte = data[start]
            return Feed(data[:start], None, data[start + 1 :])
        echo = bytearray()
        for i, raw in enumerate(data):
            b = raw & 0x7F
            if self._state is _State.GOT_A:
                echo.append(self._a_byte)
                item, hunt_again = self._after_a(raw, b)
                if hunt_again:
                    return Feed(bytes(echo), None, data[i:])  # hunt again from this byte
                if item is not None:
                    echo.append(raw)
                    return Feed(bytes(echo), item, data[i + 1 :])
                continue  # another A: it waits for its T in turn
            echo.append(raw)
            if b == s3:
                done = LineDone("".join(self._body), self._overflow)
                self.reset()
                return Feed(bytes(echo), done, data[i + 1 :])
            if b == s5 or (b == DEL and s5 == 8):
                echo.pop()
                if self._body:
                    removed = self._body.pop()
                    if removed == '"':
                        self._quoted = not self._quoted
                    echo += b"\b \b"
            elif b == CAN:
                self.reset()
                return Feed(bytes(echo), Cancelled(), data[i + 1 :])
            elif b < SPACE or (b == SPACE and not self._quoted) or b == DEL:
                continue
            elif len(self._body) >= self.limit:
                self._overflow = True
            else:
                if b == QUOTE:
                    self._quoted = not self._quoted
                c = chr(b)
                self._body.append(c if self._quoted else c.upper())
        return Feed(bytes(echo), None, b"")

    def _after_a(self, raw: int, b: int) -> tuple[Item | None, bool]:
        """What the byte after an A means: (the item it completes, whether to hunt again)."""
        a = self._a_byte & 0x7F
        if (a, b) in ((0x41, 0x54), (0x61, 0x74)):  # "AT" or "at", never mixed case
            self._state = _State.BODY
            return PrefixSeen(self._a_byte, raw), False
        if b == ord("/"):
            self._state = _State.HUNT
            return Repeat(), False
        if b in (0x41, 0x61):
            self._a_byte = raw
            return None, False
        self._state = _State.HUNT
        return None, True
