"""The line handshake step by step: when, which side, what, and the octets on the line."""

from __future__ import annotations

from textual.widgets import DataTable

from modememu.events import Stamped
from modememu.modem.events import Connected, HandshakeStep

COLUMNS = ("t", "side", "step", "octets", "detail")
MODE_STEP = "V.8 done"  # its detail names the mode both modems chose


class HandshakeTimeline(DataTable[str]):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.border_title = "handshake"
        self.mode = ""  # the chosen mode, then the carrier it trained to
        self.trained = ""  # the carrier and rates it trained to
        self.steps: list[HandshakeStep] = []
        self._pending: list[HandshakeStep] = []

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def take(self, stamped: Stamped) -> None:
        """An event of the caller's modem."""
        event = stamped.event
        if isinstance(event, HandshakeStep):
            self._pending.append(event)
            self.steps.append(event)
            if event.name == MODE_STEP:
                self.mode = event.detail.rsplit(" ", 1)[-1]
        elif isinstance(event, Connected):
            self.trained = f"{event.carrier} {event.tx_rate}/{event.rx_rate}"

    def show(self) -> None:
        if self._pending:
            for step in self._pending:
                octets = step.octets.hex(" ").upper()
                self.add_row(f"{step.t:7.3f}", step.by, step.name, octets, step.detail)
            self._pending.clear()
            self.move_cursor(row=self.row_count - 1)
        said = [f"mode {self.mode}"] if self.mode else []
        said += [f"trained {self.trained}"] if self.trained else []
        self.border_subtitle = ", ".join(said)

    def shown(self) -> list[list[str]]:
        """What the table shows, row by row (for tests and copy)."""
        return [[str(cell) for cell in self.get_row_at(i)] for i in range(self.row_count)]
