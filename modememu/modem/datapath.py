"""Online data between the DTE and the line: bounded buffers, flow control, pacing.

Toward the line, DTE bytes wait in a buffer of `DTE_BUFFER` bytes; above three
quarters the modem holds the DTE off (CTS or XOFF, as the modem's flow setting
says) and lets it go again below a quarter. Whatever arrives into a full buffer
is lost and counted, as it is in a real modem whose DTE ignores flow control.
The transmitter takes bytes at the link's payload rate (pacing), which the modem
works out from the line rate and what each byte costs on the line.

Toward the DTE, line bytes wait while the DTE holds RTS off, sent XOFF, or the
port cannot take more. With error control the far modem may only send what fits
(`line_room`), so nothing is lost; without it the buffer overflows and counts.
"""

from __future__ import annotations

from modememu.modem.line import Link

DTE_BUFFER = 4096  # toward the line
UNPACED_BUFFER = 65536  # toward the line when pacing is off (benchmarks, bulk tests)
LINE_WINDOW = 4096  # what an error-controlled far end may have in flight toward our DTE
HELD_BUFFER = 65536  # toward the DTE: room for what arrives while the DTE is not reading
PACE_SLICE = 0.05  # the transmitter sends at most this many seconds' worth at once
XON, XOFF = 0x11, 0x13
_FLOW_CHARS = bytes((XON, XOFF))
NO_LIMIT = 1 << 30
_EPSILON = 1e-6  # credit this close to a whole byte counts as the byte (float rounding)


class DataPath:
    def __init__(self, *, pacing: bool = True) -> None:
        self.pacing = pacing
        self.capacity = DTE_BUFFER if pacing else UNPACED_BUFFER
        self.to_line = bytearray()
        self.to_dte = bytearray()
        self.link: Link | None = None
        self.holding = False  # we hold the DTE off (CTS low or XOFF sent)
        self.dte_xoff = False  # the DTE sent XOFF: our output to it waits
        self.lost_from_dte = 0
        self.lost_to_dte = 0
        self.rate = 0.0  # payload bytes a second the transmitter may send
        self._credit = 0.0
        self._credit_at = 0.0

    def start(self, link: Link, now: float, rate: float) -> None:
        """Online on `link`, sending `rate` payload bytes a second (0 stops the sender)."""
        self.link = link
        self.rate = rate
        self._credit = 0.0
        self._credit_at = now

    def pause(self) -> None:
        """The sender stops (retraining, carrier lost); buffers and link stay."""
        self.rate = 0.0

    def stop(self) -> bytes:
        """The call is over: forget what was for the line, hand back what was for the DTE."""
        pending = bytes(self.to_dte)
        self.to_line.clear()
        self.to_dte.clear()
        self.link = None
        self.dte_xoff = False
        self.holding = False
        return pending

    # ----- DTE to line -----

    def from_dte(self, data: bytes, *, xon_xoff: bool) -> int:
        """Queue DTE bytes for the line; returns how many were lost to a full buffer."""
        if xon_xoff and (XON in data or XOFF in data):
            last = max(data.rfind(XON), data.rfind(XOFF))
            self.dte_xoff = data[last] == XOFF
            data = data.translate(None, _FLOW_CHARS)
        lost = _append(self.to_line, data, self.capacity)
        self.lost_from_dte += lost
        return lost

    def hold_changed(self) -> bool:
        """Recompute whether to hold the DTE off; True when that changed."""
        fill = len(self.to_line)
        holding = fill >= self.capacity * 3 // 4 or (self.holding and fill > self.capacity // 4)
        changed = holding != self.holding
        self.holding = holding
        return changed

    def take_for_line(self, limit: int, now: float) -> bytes:
        """What the transmitter sends now: at most `limit`, and no faster than the link."""
        n = min(limit, len(self.to_line))
        if self.pacing and self.link is not None and n:
            n = min(n, int(self._refill(now) + _EPSILON))
            self._credit -= n
        if n <= 0:
            return b""
        out = bytes(self.to_line[:n])
        del self.to_line[:n]
        return out

    def pace_deadline(self, now: float) -> float | None:
        """When the transmitter can send its next slice of what is waiting."""
        if not self.pacing or self.link is None or not self.to_line:
            return None
        rate = self.rate
        if rate <= 0:
            return None  # retraining: the far end's signal brings us back
        want = min(len(self.to_line), max(1.0, rate * PACE_SLICE))
        missing = want - self._refill(now)
        # With credit in hand the next pull takes it (data moves on every pump); a timer
        # is only for waiting on credit.
        return None if missing <= _EPSILON else now + missing / rate

    def _refill(self, now: float) -> float:
        rate = self.rate
        burst = max(1.0, rate * PACE_SLICE)
        # A timer on a real loop fires a little late; while bytes wait, the credit for
        # that lateness is kept (up to a second slice), or every slice would lose it.
        cap = 2 * burst if self.to_line else burst
        self._credit = min(cap, self._credit + (now - self._credit_at) * rate)
        self._credit_at = now
        return self._credit

    # ----- line to DTE -----

    def dte_room(self) -> int:
        return max(0, self.capacity - len(self.to_line))

    def line_room(self) -> int:
        """What the far end may send now. Without pacing the line is as fast as the code,
        so it is always held back (as error control would) lest any DTE be overrun."""
        if self.link is None or (self.pacing and not self.link.error_control):
            return NO_LIMIT
        return max(0, LINE_WINDOW - len(self.to_dte))

    def from_line(self, data: bytes) -> int:
        """Queue line bytes for the DTE; returns how many were lost to a full buffer."""
        lost = _append(self.to_dte, data, HELD_BUFFER)
        self.lost_to_dte += lost
        return lost

    def take_for_dte(self) -> bytes:
        out = bytes(self.to_dte)
        self.to_dte.clear()
        return out


def _append(buffer: bytearray, data: bytes, capacity: int) -> int:
    """Add what fits of `data` to `buffer`; return how many bytes did not fit."""
    room = max(0, capacity - len(buffer))
    buffer += data[:room]
    return max(0, len(data) - room)
