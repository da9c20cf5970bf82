"""One front-panel lamp (or RS-232 line indicator): dim, or lit with the `-on` class."""

from __future__ import annotations

from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static

BLINK = 0.15  # seconds a data lamp stays lit after data moved


class Led(Static):
    lit: reactive[bool] = reactive(False)

    def __init__(self, label: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(label, id=id, classes=classes)
        self.label = label
        self._off: Timer | None = None

    def watch_lit(self, lit: bool) -> None:
        self.set_class(lit, "-on")

    def blink(self, seconds: float = BLINK) -> None:
        """Light for a moment (data moved); a new blink restarts the moment."""
        if self._off is not None:
            self._off.stop()
        self.lit = True
        self._off = self.set_timer(seconds, self._out)

    def _out(self) -> None:
        self._off = None
        self.lit = False
