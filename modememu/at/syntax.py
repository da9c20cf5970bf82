"""Command-line syntax (V.250 §5.2 to 5.4): a body after "AT" into a list of commands.

The body arrives upper-cased outside quotes with spaces and control characters
already removed by the line reader. Parsing is separate from executing so that a
line with a syntax error runs nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

VENDOR_PREFIXES = "&\\%*-:$"
EXT_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!%-./:_")
MAX_DIGITS = 10
# Commands after which the rest of the line is ignored (V.250: they end the line).
LINE_ENDERS = frozenset({"A", "O", "Z"})


class ExtKind(Enum):
    ACTION = "action"  # +X
    SET = "set"  # +X=v,...
    READ = "read"  # +X?
    TEST = "test"  # +X=?


@dataclass(frozen=True, slots=True)
class Basic:
    """A letter or prefixed letter with an optional number: E1, &K3, \\N3, Z."""

    name: str
    value: int | None


@dataclass(frozen=True, slots=True)
class SRegister:
    """`Sn=v`, `Sn?`, or a bare `Sn` that selects n for a later `?` or `=v`."""

    number: int | None  # None: the previously selected register
    value: int | None  # set this value
    query: bool


@dataclass(frozen=True, slots=True)
class Dial:
    """`D` and the dial string; `stay` when it ended with `;` (back to command mode)."""

    dialstring: str
    stay: bool


@dataclass(frozen=True, slots=True)
class StoreNumber:
    """`&Zn=number`: keep a telephone number for `DS=n`."""

    slot: int
    number: str


@dataclass(frozen=True, slots=True)
class Extended:
    name: str  # with its leading '+'
    kind: ExtKind
    values: tuple[str | None, ...] = ()  # SET: each value, None where omitted


Command = Basic | SRegister | Dial | StoreNumber | Extended


class AtSyntaxError(ValueError):
    """The body is not a valid command line; the whole line answers ERROR."""


class _Cursor:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def take(self) -> str:
        c = self.peek()
        self.pos += 1
        return c

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def number(self) -> int | None:
        start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        digits = self.text[start : self.pos]
        if not digits:
            return None
        if len(digits.lstrip("0")) > MAX_DIGITS:
            raise AtSyntaxError(f"number too long at {start}")
        return int(digits)

    def until_unquoted(self, stops: str) -> str:
        """Text up to (not including) the first stop character outside double quotes."""
        start = self.pos
        quoted = False
        while not self.at_end():
            c = self.peek()
            if c == '"':
                quoted = not quoted
            elif c in stops and not quoted:
                break
            self.pos += 1
        return self.text[start : self.pos]


def parse(body: str) -> list[Command]:
    """Parse a command body (the text between AT and the terminator)."""
    cur = _Cursor(body)
    out: list[Command] = []
    while not cur.at_end():
        c = cur.take()
        if c == "+":
            out.append(_extended(cur))
        elif c == "D":
            text = cur.until_unquoted(";")
            stay = cur.peek() == ";"
            if stay:
                cur.take()
            out.append(Dial(text, stay))
            if not stay:
                break
        elif c == "S":
            number = cur.number()
            if number is None:
                raise AtSyntaxError("S without a register number")
            out.append(_sregister_tail(cur, number))
        elif c == "?":
            out.append(SRegister(None, None, query=True))
        elif c == "=":
            out.append(SRegister(None, cur.number() or 0, query=False))
        elif c == ";":
            continue
        elif c in VENDOR_PREFIXES:
            letter = cur.take()
            if not letter.isalpha():
                raise AtSyntaxError(f"{c} without a letter")
            name = c + letter
            if name == "&Z":
                out.append(_store_number(cur))
                break
            out.append(Basic(name, cur.number()))
        elif c.isalpha():
            out.append(Basic(c, cur.number()))
            if c in LINE_ENDERS:
                break
        else:
            raise AtSyntaxError(f"unexpected {c!r}")
    return out


def _sregister_tail(cur: _Cursor, number: int) -> SRegister:
    if cur.peek() == "?":
        cur.take()
        return SRegister(number, None, query=True)
    if cur.peek() == "=":
        cur.take()
        return SRegister(number, cur.number() or 0, query=False)
    return SRegister(number, None, query=False)


def _store_number(cur: _Cursor) -> StoreNumber:
    slot = cur.number() or 0
    if cur.take() != "=":
        raise AtSyntaxError("&Z needs =number")
    return StoreNumber(slot, cur.text[cur.pos :])


def _extended(cur: _Cursor) -> Extended:
    start = cur.pos
    while cur.peek() in EXT_NAME_CHARS and cur.peek():
        cur.pos += 1
    name = "+" + cur.text[start : cur.pos]
    if len(name) < 2 or not name[1].isalpha() or len(name) > 17:
        raise AtSyntaxError(f"bad extended name {name!r}")
    if cur.peek() == "?":
        cur.take()
        kind = ExtKind.READ
        values: tuple[str | None, ...] = ()
    elif cur.peek() == "=" and cur.peek(1) == "?":
        cur.pos += 2
        kind, values = ExtKind.TEST, ()
    elif cur.peek() == "=":
        cur.take()
        raw = cur.until_unquoted(";")
        kind = ExtKind.SET
        values = tuple(v or None for v in _split_values(raw))
    else:
        kind, values = ExtKind.ACTION, ()
    if not cur.at_end():
        if cur.peek() != ";":
            raise AtSyntaxError(f"{name} must be followed by ';'")
        cur.take()
    return Extended(name, kind, values)


def _split_values(raw: str) -> list[str]:
    """Comma-separated values, commas inside double quotes kept."""
    values: list[str] = []
    current: list[str] = []
    quoted = False
    for c in raw:
        if c == '"':
            quoted = not quoted
            current.append(c)
        elif c == "," and not quoted:
            values.append("".join(current))
            current = []
        else:
            current.append(c)
    if quoted:
        raise AtSyntaxError("unterminated string")
    values.append("".join(current))
    return values
