"""What a dial string asks for: a phone number and its dialing time, or a TCP host.

The AT engine has already taken `D`, one leading `T`/`P`, `L`, `S=n` and the
final `;`; what is left arrives upper-cased outside double quotes. Real modems
ignore characters they do not know, so a number like `(555) 010-2` still dials.

A string is a TCP host (as in tcpser) when it is quoted, has a `:` or a `[`,
has a letter that is not a dial letter (A-D, P, T, W, R), or is a dotted IPv4
address (four parts of at most three digits, each up to 255: `1.800.555.0102`
stays a phone number). A host spelled only in dial letters (`ABBA.CAB`) reads
as a number unless quoted: quoting is the unambiguous form (`ATD"host:port"`).

An empty number is not an error: a real modem given a bare `ATD` goes off-hook
in originate mode without dialing, and so does a string of modifiers only.
"""

from __future__ import annotations

import ipaddress
import string
from dataclasses import dataclass

DEFAULT_PORT = 23  # telnet, as tcpser assumes
MAX_HOSTNAME = 253  # DNS's limit on a name's text form
DIAL_LETTERS = frozenset("ABCDPTWR")
DIGITS = "0123456789*#ABCD"
SEPARATORS = frozenset(" ()-./")  # what a person writes in a number; ignored
FLASH_MS = 500
PULSE_MS = 100  # one break/make of the rotary dial (10 pulses/s)
BREAK_MS = 60  # of each pulse, the line is open this long, then closed (make) for the rest
INTERDIGIT_MS = 700
_HOST_CHARS = frozenset(string.ascii_letters + string.digits + "-.")


class DialStringError(Exception):
    """A dial string that cannot be dialed; `str()` is the one line to show the user."""


@dataclass(frozen=True, slots=True)
class DialPlan:
    """What to dial and how long dialing keeps the modem busy before the line answers."""

    number: str  # the dialled digits (0-9 * # A-D); "" for a host or a bare ATD
    host: tuple[str, int] | None  # (lower-cased host name or address, port)
    dial_seconds: float
    wait_dialtone: bool  # W: wait for a second dial tone
    wait_quiet: bool  # @: wait for quiet answer (else NO ANSWER)
    flash: bool  # !: hook flash
    # The digits go out as rotary pulses (ATDP). A string that switches mode midway
    # (`T9P555`) reports the mode of its last digit.
    pulse: bool = False


def parse_dialstring(text: str, *, tone: bool, s8: int, s11: int) -> DialPlan:
    """Read what is left of a dial string after the engine took its part.

    `tone` is the dial mode the engine settled (`T`/`P`/config), `s8` the
    comma pause in seconds and `s11` the DTMF tone length in milliseconds.
    """
    if '"' in text:
        return _host_plan(_quoted(text))
    body = text.upper()
    if _looks_like_host(body):
        return _host_plan(body)
    return _number_plan(body, tone=tone, s8=s8, s11=s11)


def parse_host(text: str, *, default_port: int | None = DEFAULT_PORT) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` as (lower-cased host, port).

    With `default_port` None a port is required (the phonebook wants it spelled out).
    Shared with the phonebook so that both accept exactly the same hosts.
    """
    port_text: str | None = None
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise DialStringError(f"unclosed '[' in host {text!r}")
        name, rest = text[1:close], text[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise DialStringError(f"unexpected {rest!r} after ']' in host {text!r}")
            port_text = rest[1:]
        try:
            name = str(ipaddress.IPv6Address(name))
        except ValueError:
            raise DialStringError(f"not an IPv6 address: {name!r}") from None
    else:
        name = text
        if ":" in text:
            name, _, port_text = text.rpartition(":")
            if ":" in name:
                raise DialStringError(f"an IPv6 address needs brackets ([addr]:port): {text!r}")
        _check_hostname(name)
    return name.lower(), _port(text, port_text, default_port)


def _check_hostname(name: str) -> None:
    if not name:
        raise DialStringError("empty host name")
    for c in name:
        if c not in _HOST_CHARS:
            raise DialStringError(f"bad character {c!r} in host name {name!r}")
    if len(name) > MAX_HOSTNAME:
        raise DialStringError(f"host name longer than {MAX_HOSTNAME} characters")


def _port(text: str, port_text: str | None, default_port: int | None) -> int:
    if port_text is None:
        if default_port is None:
            raise DialStringError(f"expected host:port, got {text!r}")
        return default_port
    if not port_text:
        raise DialStringError(f"missing port after ':' in {text!r}")
    # The length test keeps int() away from huge digit strings.
    ok = port_text.isascii() and port_text.isdigit() and len(port_text) <= 5
    if not ok or not 1 <= int(port_text) <= 65535:
        raise DialStringError(f"port must be 1..65535 (got {port_text!r})")
    return int(port_text)


def _quoted(text: str) -> str:
    """The host between the quotes; only separators may stand outside them."""
    parts = text.split('"')
    if len(parts) % 2 == 0:
        raise DialStringError("unterminated quote in dial string")
    if len(parts) > 3:
        raise DialStringError("more than one quoted part in dial string")
    before, inside, after = parts
    if not SEPARATORS.issuperset(before + after):
        raise DialStringError(f"text outside the quoted host in dial string {text!r}")
    return inside.strip()


def _looks_like_host(body: str) -> bool:
    if ":" in body or "[" in body:
        return True
    if any(c.isalpha() and c not in DIAL_LETTERS for c in body):
        return True
    parts = body.split(".")
    return len(parts) == 4 and all(
        p.isascii() and p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts
    )


def _host_plan(text: str) -> DialPlan:
    return DialPlan("", parse_host(text), 0.0, False, False, False)


def _number_plan(body: str, *, tone: bool, s8: int, s11: int) -> DialPlan:
    """Digits and modifiers, timed in whole milliseconds so the sum is exact.

    `R` (originate with the answer-mode carrier) is accepted and ignored: the
    line layer negotiates the carrier either way. `*`, `#` and A-D cannot be
    pulsed, so in pulse mode they are skipped as a rotary line would.
    """
    digits: list[str] = []
    ms = 0
    pulsed = not tone
    wait_dialtone = wait_quiet = flash = False
    for c in body:
        if c in DIGITS:
            if tone:
                digits.append(c)
                ms += 2 * s11  # the tone, then an equal gap
                pulsed = False
            elif c.isdigit():
                digits.append(c)
                ms += pulse_ms(c)
                pulsed = True
        elif c in "TP":
            tone = c == "T"
        elif c == ",":
            ms += s8 * 1000
        elif c == "W":
            wait_dialtone = True
        elif c == "@":
            wait_quiet = True
        elif c == "!":
            flash = True
            ms += FLASH_MS
        # Anything else (R, separators, unknown punctuation) is ignored.
    if not digits:
        pulsed = not tone
    return DialPlan("".join(digits), None, ms / 1000, wait_dialtone, wait_quiet, flash, pulsed)


def pulse_ms(digit: str) -> int:
    """How long a rotary dial takes over `digit`: its breaks (0 is ten), then the pause."""
    return (int(digit) or 10) * PULSE_MS + INTERDIGIT_MS
