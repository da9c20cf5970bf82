"""A call as only its DTE knows it: the ATD line it sent and the result line it got.

`modememu dial` talks to a modem through a port, maybe in another process or a
real one: the modem's own call events never reach it. These call events are a
stand-in built from the DTE's view, for the renderer: dial tone, the digits of
the ATD line, ringback, an answer tone and training chosen from the CONNECT
line's rate, and CONNECT when it came. Where the real modem's timing is unknown,
the stand-in uses the times a typical call of that carrier takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modememu.audio.schedule import ANSWERER, CALLER
from modememu.events import Event, Stamped
from modememu.modem.dialstring import DialStringError, parse_dialstring
from modememu.modem.events import CallEnded, CallProgress, Connected, HandshakeStep

DIALTONE_WAIT = 0.5  # a modem listening for dial tone hears it this soon (X4)
DTMF_MS = 70  # S11 as most modems ship


@dataclass(frozen=True, slots=True)
class Training:
    """A typical handshake of a carrier: answer to CONNECT, and when its parts start."""

    carrier: str
    seconds: float  # the answer to CONNECT
    tone: str  # "ANSam" (V.8) or "ANS" (V.25)
    tone_at: float  # after the answer
    trained_at: float  # the training and data stand-in, after the answer


# Times as the emulated handshakes take them (modememu call between like modems).
V21 = Training("V21", 5.0, "ANS", 2.15, 4.5)
V22 = Training("V22", 6.6, "ANS", 2.15, 5.5)
V22B = Training("V22B", 7.1, "ANS", 2.15, 5.5)
V32B = Training("V32B", 7.9, "ANS", 2.15, 5.5)
V34 = Training("V34", 9.6, "ANSam", 0.2, 2.5)
V90 = Training("V90", 11.0, "ANSam", 0.2, 2.5)


def training_for(rate: int | None) -> Training:
    """The carrier a CONNECT rate most likely means (a DTE rate above 56000: V.34)."""
    if rate is None or rate > 56000:
        return V34
    for top, training in ((300, V21), (1200, V22), (2400, V22B), (14400, V32B), (33600, V34)):
        if rate <= top:
            return training
    return V90


def connect_rate(line: str) -> int | None:
    """The bit/s of a "CONNECT 33600/ARQ" line; None for a bare CONNECT (300 bit/s there)."""
    match = re.search(r"CONNECT\s*(\d+)", line.upper())
    if match is not None:
        return int(match.group(1))
    return 300 if line.strip().upper() == "CONNECT" else None


def dialed_number(line: str) -> tuple[str, bool, float] | None:
    """(digits, pulse, dial seconds) of the first ATD in `line`, or None (not a number)."""
    match = re.search(r"ATD([^\r\n^;]*)", line.upper())
    if match is None:
        return None
    text = match.group(1).strip()
    pulse = text.startswith("P")
    try:
        plan = parse_dialstring(text.lstrip("TP"), tone=not pulse, s8=2, s11=DTMF_MS)
    except DialStringError:
        return None
    if plan.host is not None or not plan.number:
        return None
    return plan.number, plan.pulse, plan.dial_seconds


def dte_call(
    dialed: tuple[float, str],
    connect: tuple[float, str] | None = None,
    ended: tuple[float, str] | None = None,
    source: str = CALLER,
) -> list[Stamped]:
    """Call events for the renderer from (time, ATD line), (time, CONNECT line) and
    (time, result) when the call failed instead ("BUSY", "NO CARRIER" ...)."""
    t, line = dialed
    parsed = dialed_number(line)
    number, pulse, dial_seconds = parsed if parsed is not None else ("", False, 0.0)
    events: list[tuple[float, Event]] = [(t, CallProgress("dialing", number, pulse=pulse))]
    placed = t + DIALTONE_WAIT + dial_seconds
    stop = connect[0] if connect is not None else ended[0] if ended is not None else None
    if stop is not None:
        placed = min(placed, stop)
    events.append((placed, CallProgress("placed", number)))
    if connect is not None:
        rate = connect_rate(connect[1])
        training = training_for(rate)
        answered = max(placed, connect[0] - training.seconds)
        events.append((placed, CallProgress("ringback")))
        events.append((answered, CallProgress("answered")))
        for after, name, detail in (
            (training.tone_at, training.tone, "with phase reversals"),
            (training.trained_at, "trained", training.carrier),
        ):
            if answered + after < connect[0]:
                step = HandshakeStep(after, ANSWERER, name, detail)
                events.append((answered + after, step))
        rx = rate or 0
        events.append((connect[0], Connected(training.carrier, rx, rx, None)))
    elif ended is not None:
        busy = "BUSY" in ended[1].upper()
        events.append((placed, CallProgress("busy" if busy else "ringback")))
        events.append((ended[0], CallEnded(ended[1].strip() or "no answer")))
    return [Stamped(time, source, event) for time, event in events]
