"""Throughput on the caller's DTE line, as two sparklines, and the error counters.

The octets are counted where they cross the serial line between the DTE and
the modem (the app's tap calls `line`), so PPP and SLIP, framing and escapes
included, count alike. Rates are per second of *session* time: each redraw
calls `sample` with the session clock's time, and the octets since the last
sample are divided by the session time since it (a paused virtual clock adds
no sample). The errors come from events: framing drops by reason, SLIP bad
escapes, unescaped control characters, IP/TCP drops, TCP retransmissions,
octets a modem lost to a full buffer, and retrains.
"""

from __future__ import annotations

from collections import deque

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from modememu.events import Stamped
from modememu.link.events import (
    ABORTED,
    BAD_FCS,
    RUNT,
    SHORT,
    BadEscape,
    FrameDropped,
    UnescapedControlChars,
)
from modememu.modem.events import DataLost, Retrained
from modememu.net.events import PacketDropped, Retransmitted
from modememu.tui.widgets.text import show_text

HISTORY = 60  # samples kept per direction (the sparkline's width in bars at most)
# The counters, in the order shown.
COUNTERS = (
    "bad FCS",
    "aborts",
    "runts",
    "framing",
    "bad escapes",
    "ctl chars",
    "dropped",
    "retransmits",
    "lost",
    "retrains",
)
_BY_REASON = {BAD_FCS: "bad FCS", ABORTED: "aborts", SHORT: "runts", RUNT: "runts"}


def octets(count: float) -> str:
    """`512 B`, `33.6 kB`, `1.20 MB`: decimal units, as modem rates are quoted."""
    if count < 1000:
        return f"{count:.0f} B"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.2f} MB"


class ThroughputModel:
    """Octets each way on the DTE line, their rate at each sample, and error counts.

    Direction index 0 is "tx" (DTE → modem, `sent`), 1 is "rx" (modem → DTE).
    """

    def __init__(self, *, history: int = HISTORY) -> None:
        self.totals = [0, 0]
        self.rates: tuple[deque[float], deque[float]] = (
            deque(maxlen=history),
            deque(maxlen=history),
        )
        self.counts = dict.fromkeys(COUNTERS, 0)
        self._pending = [0, 0]  # octets since the last sample
        self._first: float | None = None  # time of the first octets, before any sample
        self._last: float | None = None  # time of the last sample
        self.version = 0  # changes whenever what is shown changes

    def line(self, time: float, sent: bool, nbytes: int) -> None:
        """`nbytes` octets crossed the DTE line at session time `time` (`sent`: DTE → modem)."""
        if nbytes <= 0:
            return
        side = 0 if sent else 1
        self.totals[side] += nbytes
        self._pending[side] += nbytes
        if self._last is None and self._first is None:
            self._first = time
        self.version += 1

    def take(self, stamped: Stamped) -> None:
        """Count the errors among the events (any source's: the app picks which to pass)."""
        event = stamped.event
        if isinstance(event, FrameDropped):
            key = _BY_REASON.get(event.reason, "framing")
            self.counts[key] += 1
        elif isinstance(event, BadEscape):
            self.counts["bad escapes"] += event.count
        elif isinstance(event, UnescapedControlChars):
            self.counts["ctl chars"] += event.count
        elif isinstance(event, PacketDropped):
            self.counts["dropped"] += 1
        elif isinstance(event, Retransmitted):
            self.counts["retransmits"] += 1
        elif isinstance(event, DataLost):
            self.counts["lost"] += event.count
        elif isinstance(event, Retrained):
            self.counts["retrains"] += 1
        else:
            return
        self.version += 1

    def sample(self, now: float) -> None:
        """The rates since the last sample, over session time; no sample while time stands."""
        if self._last is None:
            self._last = self._first if self._first is not None else now
        elapsed = now - self._last
        if elapsed <= 0:
            return
        for side in (0, 1):
            self.rates[side].append(self._pending[side] / elapsed)
            self._pending[side] = 0
        self._last = now
        self.version += 1

    def rate(self, sent: bool) -> float:
        """Octets per second at the last sample (0 before any)."""
        rates = self.rates[0 if sent else 1]
        return rates[-1] if rates else 0.0

    def label(self, sent: bool) -> str:
        """`tx  3.4 kB/s  12.0 kB`: the direction, its rate now and its total."""
        name = "tx" if sent else "rx"
        total = self.totals[0 if sent else 1]
        return f"{name} {octets(self.rate(sent)):>8}/s {octets(total):>9}"

    @property
    def errors(self) -> str:
        """`bad FCS 0 · aborts 0 · ...`; lost is in octets."""
        return " · ".join(
            f"{name} {octets(count) if name == 'lost' else count}"
            for name, count in self.counts.items()
        )


class ThroughputPanel(Vertical):
    """Two sparklines (DTE → modem, modem → DTE) with rate and total, and the errors."""

    DEFAULT_CSS = """
    ThroughputPanel {
        height: auto;
        border: round $secondary;
        padding: 0 1;
    }
    ThroughputPanel .throughput-row {
        height: 1;
    }
    ThroughputPanel .throughput-label {
        width: 26;
    }
    ThroughputPanel Sparkline {
        width: 1fr;
        height: 1;
    }
    ThroughputPanel #throughput-errors {
        height: auto;
        color: $text-muted;
    }
    """

    def __init__(
        self, *, history: int = HISTORY, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.model = ThroughputModel(history=history)
        self.border_title = "throughput"
        self._shown = -1  # the model's version on screen
        # held, not queried: a redraw may come while the app is taking its screen down
        self._tx_label = Static(
            self.model.label(True), id="throughput-tx-label", classes="throughput-label"
        )
        self._rx_label = Static(
            self.model.label(False), id="throughput-rx-label", classes="throughput-label"
        )
        self._tx = Sparkline([], id="throughput-tx")
        self._rx = Sparkline([], id="throughput-rx")
        self._errors = Static(self.model.errors, id="throughput-errors")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="throughput-row"):
            yield self._tx_label
            yield self._tx
        with Horizontal(classes="throughput-row"):
            yield self._rx_label
            yield self._rx
        yield self._errors

    # The model's inputs, for the app to call.

    def line(self, time: float, sent: bool, nbytes: int) -> None:
        self.model.line(time, sent, nbytes)

    def take(self, stamped: Stamped) -> None:
        self.model.take(stamped)

    def sample(self, now: float) -> None:
        self.model.sample(now)

    def show(self) -> None:
        """Push the model to the sparklines and labels, if it changed since the last show."""
        model = self.model
        if model.version == self._shown:
            return
        self._shown = model.version
        self._tx.data = list(model.rates[0])
        self._rx.data = list(model.rates[1])
        show_text(self._tx_label, model.label(True))
        show_text(self._rx_label, model.label(False))
        show_text(self._errors, model.errors, fixed=False)  # it wraps: its height may change

    @property
    def labels(self) -> tuple[str, str]:
        """What the tx and rx labels show now."""
        return str(self._tx_label.content), str(self._rx_label.content)

    @property
    def errors(self) -> str:
        """What the counters line shows now."""
        return str(self._errors.content)
