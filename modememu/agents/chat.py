"""A chat(8) script engine: expect/send pairs against a modem, sans-I/O.

Scripts are written in chat's own syntax, as the words chat takes on its
command line: `["ABORT", "BUSY", "TIMEOUT", "45", "", "ATZ", "OK", "ATDT5550100",
"CONNECT", ""]`. Words alternate expect, send; `ABORT s`, `CLR_ABORT s`,
`TIMEOUT n` and `SAY s` are keywords where an expect string would stand. An
expect may carry sub-expects (`ogin:--ogin:`: on timeout send the middle part,
then expect the last). Sends get "\\r" appended unless they end in `\\c`;
`\\d` waits one second and `\\p` a tenth, as chat's do; `EOT` and `BREAK` are
chat's special sends.

Exit codes are chat's, so scripts and reports read the same as with the real
program: 0 success, 3 timeout, 4 + i when the i-th ABORT string (counting from
0, in the order given) was seen.

Matching works on chunks: the text received since the last match is searched
with `bytes.find` for the expected string and every ABORT string, and the one
that ends first wins (the expect string on a tie, as chat checks it first).
The buffer is bounded. What arrived after the final match is kept for the
caller (`leftover()`), because after CONNECT it is the start of the link.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from modememu.events import Event

CHAT_OK = 0
CHAT_TIMEOUT = 3
CHAT_ABORT_BASE = 4  # + index of the ABORT string that matched

DEFAULT_TIMEOUT = 45.0  # chat's default
DELAY = 1.0  # \d
PAUSE = 0.1  # \p
MAX_PATTERN = 1024  # chat's STR_LEN: longer expect/abort strings are refused
MAX_BUFFER = 4096  # received text kept while searching
MAX_LEFTOVER = 65536  # kept after the script ends, until the caller takes it
_SHOWN = 256  # at most this much received text in a ChatGot event


class ChatScriptError(ValueError):
    """A script word chat would refuse (missing keyword value, bad TIMEOUT ...)."""


# -- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatEvent(Event):
    """Base of the chat engine's events; texts show control characters as ^M etc."""


@dataclass(frozen=True, slots=True)
class ChatExpect(ChatEvent):
    text: str


@dataclass(frozen=True, slots=True)
class ChatGot(ChatEvent):
    """The expect string matched; `text` is what was received up to and including it."""

    text: str


@dataclass(frozen=True, slots=True)
class ChatSent(ChatEvent):
    """Octets written to the modem (one event per contiguous piece of a send)."""

    text: str


@dataclass(frozen=True, slots=True)
class ChatAborted(ChatEvent):
    string: str
    code: int


@dataclass(frozen=True, slots=True)
class ChatTimeout(ChatEvent):
    expected: str
    seconds: float


@dataclass(frozen=True, slots=True)
class ChatSay(ChatEvent):
    """A SAY keyword: text for the user, never sent."""

    text: str


@dataclass(frozen=True, slots=True)
class ChatBreak(ChatEvent):
    """`\\K` or BREAK: the script asks for a line break; a driver may send one."""


@dataclass(frozen=True, slots=True)
class ChatResult:
    code: int  # chat's exit status
    reason: str

    @property
    def ok(self) -> bool:
        return self.code == CHAT_OK


# -- the script -------------------------------------------------------------------------

_BREAK = object()  # a send piece: \K
Piece = bytes | float | object  # octets, a delay in seconds, or _BREAK


@dataclass(frozen=True, slots=True)
class _Abort:
    pattern: bytes


@dataclass(frozen=True, slots=True)
class _ClearAbort:
    pattern: bytes


@dataclass(frozen=True, slots=True)
class _Timeout:
    seconds: float


@dataclass(frozen=True, slots=True)
class _Say:
    text: str


@dataclass(frozen=True, slots=True)
class _Send:
    pieces: tuple[Piece, ...]


@dataclass(frozen=True, slots=True)
class _Expect:
    pattern: bytes
    # Sub-expects: on timeout, send the first, then expect the second; and so on.
    fallbacks: tuple[tuple[_Send, bytes], ...] = ()


_Op = _Abort | _ClearAbort | _Timeout | _Say | _Send | _Expect
_KEYWORDS = frozenset({"ABORT", "CLR_ABORT", "TIMEOUT", "SAY"})


class ChatScript:
    """A parsed script: chat's words in, a list of operations out."""

    def __init__(self, words: list[str] | tuple[str, ...]) -> None:
        self.words = tuple(words)
        self.ops: tuple[_Op, ...] = tuple(_parse(self.words))

    def __repr__(self) -> str:
        return f"ChatScript({list(self.words)!r})"


def _parse(words: tuple[str, ...]) -> list[_Op]:
    ops: list[_Op] = []
    at = 0
    while at < len(words):
        word = words[at]
        if word in _KEYWORDS:
            if at + 1 >= len(words):
                raise ChatScriptError(f"{word} needs a value")
            value = words[at + 1]
            at += 2
            if word == "TIMEOUT":
                ops.append(_Timeout(_seconds(value)))
            elif word == "SAY":
                ops.append(_Say(value))
            else:
                pattern = _pattern(value)
                if not pattern:
                    raise ChatScriptError(f"{word} needs a non-empty string")
                ops.append(_Abort(pattern) if word == "ABORT" else _ClearAbort(pattern))
            continue
        ops.append(_expect(word))
        if at + 1 < len(words):
            ops.append(_send(words[at + 1]))
        at += 2
    return ops


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ChatScriptError(f"TIMEOUT {value!r} is not a number") from None
    if not 0 < seconds < float("inf"):
        raise ChatScriptError(f"TIMEOUT {value!r} must be positive")
    return seconds


def _expect(word: str) -> _Expect:
    parts = word.split("-")
    first = _pattern(parts[0])
    fallbacks = []
    for at in range(1, len(parts) - 1, 2):
        fallbacks.append((_send(parts[at]), _pattern(parts[at + 1])))
    if len(parts) % 2 == 0:  # "a-b": a trailing send with nothing to expect after it
        fallbacks.append((_send(parts[-1]), b""))
    return _Expect(first, tuple(fallbacks))


def _pattern(text: str) -> bytes:
    pieces = _clean(text, sending=False)
    pattern = b"".join(p for p in pieces if isinstance(p, bytes))
    if len(pattern) > MAX_PATTERN:
        raise ChatScriptError(f"expect string longer than {MAX_PATTERN}: {text[:40]!r}...")
    return pattern


def _send(word: str) -> _Send:
    if word == "EOT":
        word = "^D\\c"
    elif word == "BREAK":
        word = "\\K\\c"
    return _Send(tuple(_clean(word, sending=True)))


_SIMPLE = {"b": b"\b", "n": b"\n", "N": b"\0", "r": b"\r", "s": b" ", "t": b"\t", "\\": b"\\"}


def _clean(text: str, *, sending: bool) -> list[Piece]:
    """chat's escapes; a send ends in "\\r" unless `\\c` says otherwise."""
    pieces: list[Piece] = []
    run = bytearray()
    add_cr = sending

    def flush() -> None:
        if run:
            pieces.append(bytes(run))
            run.clear()

    chars = text.encode("latin-1", "replace")
    at = 0
    while at < len(chars):
        c = chars[at]
        at += 1
        if c == ord("^") and at < len(chars):
            run.append(chars[at] & 0x1F)
            at += 1
            continue
        if c != ord("\\") or at >= len(chars):
            run.append(c)
            continue
        e = chr(chars[at])
        at += 1
        if e in _SIMPLE:
            run += _SIMPLE[e]
        elif e in "01234567":
            digits = e
            while len(digits) < 3 and at < len(chars) and chr(chars[at]) in "01234567":
                digits += chr(chars[at])
                at += 1
            run.append(int(digits, 8) & 0xFF)
        elif e == "c" and sending:
            add_cr = False
        elif e in "dp" and sending:
            flush()
            pieces.append(DELAY if e == "d" else PAUSE)
        elif e == "K" and sending:
            flush()
            pieces.append(_BREAK)
        elif e == "q":
            pass  # chat's "quiet": only changes its log
        else:
            run += b"\\" + e.encode("latin-1")
    if add_cr:
        run += b"\r"
    flush()
    return pieces


# -- the engine -----------------------------------------------------------------------


def visible(data: bytes) -> str:
    """Octets as chat -v logs them: ^M for CR, \\xNN above 0x7E."""
    out = []
    for octet in data:
        if octet < 0x20:
            out.append("^" + chr(octet + 0x40))
        elif octet == 0x7F:
            out.append("^?")
        elif octet > 0x7F:
            out.append(f"\\x{octet:02x}")
        else:
            out.append(chr(octet))
    return "".join(out)


class Chat:
    """One run of a `ChatScript`; see the module docstring.

    `start(now)` begins it; `receive_data` and `handle_timer` drive it; output
    comes from `data_to_send()` and `next_event()`. `result` is set once, when
    the script ends.
    """

    def __init__(self, script: ChatScript | list[str] | tuple[str, ...]) -> None:
        self.script = script if isinstance(script, ChatScript) else ChatScript(script)
        self.result: ChatResult | None = None
        self.matched = ""  # the last expect (or ABORT) string that matched
        self.timeout = DEFAULT_TIMEOUT
        self.dropped = 0  # received octets thrown away by the buffer bounds
        self._aborts: list[bytes] = []
        self._ops = self.script.ops
        self._pc = 0
        self._started = False
        self._buf = bytearray()  # received since the last match
        self._scanned = 0  # how much of _buf was already searched
        self._expect: _Expect | None = None
        self._pattern = b""  # the (sub-)expect string now wanted
        self._fallback = 0  # sub-expects used so far
        self._sending: deque[Piece] = deque()
        self._deadline: float | None = None
        self._delaying = False  # the deadline is a send's delay, not an expect's timeout
        self._out = bytearray()
        self._events: deque[ChatEvent] = deque()

    # -- inputs ---------------------------------------------------------------------

    def start(self, now: float) -> None:
        if self._started:
            raise RuntimeError("chat already started")
        self._started = True
        self._run(now)

    def receive_data(self, data: bytes, now: float) -> None:
        """Octets from the modem; before `start` they wait, after the end they are leftover."""
        if not data:
            return
        limit = MAX_LEFTOVER if self.result is not None else MAX_BUFFER
        self._buf += data
        if len(self._buf) > limit:
            cut = len(self._buf) - limit
            del self._buf[:cut]
            self.dropped += cut
            self._scanned = max(0, self._scanned - cut)
        if self._expect is not None and not self._delaying and not self._sending:
            self._search(now)

    def handle_timer(self, now: float) -> None:
        if self._deadline is None or now < self._deadline or self.result is not None:
            return
        self._deadline = None
        if self._delaying:
            self._delaying = False
            self._run(now)  # a \d or \p in a send has passed
        else:
            self._expect_timed_out(now)

    # -- outputs --------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_event(self) -> ChatEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        return None if self.result is not None else self._deadline

    def leftover(self) -> bytes:
        """Octets received after the last match, not yet taken; taking them clears them."""
        out = bytes(self._buf)
        self._buf.clear()
        self._scanned = 0
        return out

    # -- the machine ----------------------------------------------------------------

    def _run(self, now: float) -> None:
        """Carry out operations until one has to wait (an expect, a delay) or the end."""
        while self.result is None:
            if self._sending:
                if not self._send_pieces(now):
                    return
                if self._expect is not None:  # a sub-expect's send is done: expect again
                    self._begin_expect(now)
                    return
                continue
            if self._pc >= len(self._ops):
                self._finish(ChatResult(CHAT_OK, "script done"))
                return
            op = self._ops[self._pc]
            self._pc += 1
            if isinstance(op, _Abort):
                if op.pattern not in self._aborts:
                    self._aborts.append(op.pattern)
            elif isinstance(op, _ClearAbort):
                if op.pattern in self._aborts:
                    self._aborts.remove(op.pattern)
            elif isinstance(op, _Timeout):
                self.timeout = op.seconds
            elif isinstance(op, _Say):
                self._events.append(ChatSay(op.text))
            elif isinstance(op, _Send):
                self._sending.extend(op.pieces)
            else:
                self._expect, self._pattern, self._fallback = op, op.pattern, 0
                self._begin_expect(now)
                return

    def _begin_expect(self, now: float) -> None:
        self._events.append(ChatExpect(visible(self._pattern)))
        self._scanned = 0  # what was searched was searched for another string
        if not self._pattern:
            self._matched(0, now)
            return
        self._deadline = now + self.timeout
        self._search(now)

    def _send_pieces(self, now: float) -> bool:
        """Write send pieces up to the next delay; False while a delay runs."""
        while self._sending:
            piece = self._sending.popleft()
            if isinstance(piece, bytes):
                self._out += piece
                self._events.append(ChatSent(visible(piece)))
            elif isinstance(piece, float):
                self._deadline = now + piece
                self._delaying = True
                return False
            else:
                self._events.append(ChatBreak())
        return True

    def _search(self, now: float) -> None:
        """Find the earliest-ending match among the expect and ABORT strings."""
        buf = self._buf
        best: tuple[int, int] | None = None  # (end, rank): rank 0 expect, 1 + i ABORT i
        for rank, pattern in enumerate((self._pattern, *self._aborts)):
            at = buf.find(pattern, max(0, self._scanned - len(pattern) + 1))
            if at >= 0 and (best is None or at + len(pattern) < best[0]):
                best = (at + len(pattern), rank)
        self._scanned = len(buf)
        if best is None:
            keep = max(len(p) for p in (self._pattern, *self._aborts)) - 1
            if len(buf) > MAX_BUFFER // 2 and len(buf) > keep:
                cut = len(buf) - keep
                del buf[:cut]  # unmatched text that can no longer start a match
                self._scanned -= cut
            return
        end, rank = best
        if rank == 0:
            self._matched(end, now)
            return
        pattern = self._aborts[rank - 1]
        self.matched = pattern.decode("latin-1")
        code = CHAT_ABORT_BASE + rank - 1
        del buf[:end]
        self._scanned = 0
        self._events.append(ChatAborted(visible(pattern), code))
        self._finish(ChatResult(code, f"abort on ({visible(pattern)})"))

    def _matched(self, end: int, now: float) -> None:
        got = bytes(self._buf[:end])
        del self._buf[:end]
        self._scanned = 0
        self.matched = self._pattern.decode("latin-1")
        self._events.append(ChatGot(visible(got[-_SHOWN:])))
        self._expect, self._deadline = None, None
        self._run(now)

    def _expect_timed_out(self, now: float) -> None:
        expect = self._expect
        assert expect is not None
        self._events.append(ChatTimeout(visible(self._pattern), self.timeout))
        if self._fallback < len(expect.fallbacks):
            send, self._pattern = expect.fallbacks[self._fallback]
            self._fallback += 1
            self._sending.extend(send.pieces)
            self._run(now)
            return
        self._finish(ChatResult(CHAT_TIMEOUT, f"timeout waiting for ({visible(self._pattern)})"))

    def _finish(self, result: ChatResult) -> None:
        self.result = result
        self._expect, self._deadline, self._delaying = None, None, False
        self._sending.clear()
