"""A terminal on the caller's DTE side, as minicom or picocom shows the serial line.

The model (`TerminalModel`) takes the octets the modem sends the DTE and keeps
what a glass terminal would show: CR returns to the start of the row, LF starts
a new row, backspace steps left, a row wraps at the width, printable ASCII is
drawn as is and any other octet as a middle dot (so PPP after CONNECT looks like
the line noise it looks like in minicom). Scrollback is bounded, and the octets
are handled a run at a time with bytes methods, never one by one: a full-speed
transfer costs little in `feed`, and drawing happens only in `show`.

The widget (`DteTerminal`) draws only the rows on screen (the Line API), and
when focused turns the keys typed into `Typed` messages: the app writes their
octets to the modem as the DTE.
"""

from __future__ import annotations

import re
from collections import deque

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

DOT = "·"  # how a non-printable octet is drawn
_DOT = 0xB7  # the same in latin-1, so translated rows decode straight to text
WIDTH = 80  # columns until the widget knows its size
SCROLLBACK = 500  # rows kept, the current one included
# Control octets the terminal acts on; every other non-printable becomes a dot.
CR, LF, BS = 0x0D, 0x0A, 0x08
_TABLE = bytes(b if 0x20 <= b <= 0x7E or b in (CR, LF, BS) else _DOT for b in range(256))
_CONTROLS = re.compile(rb"([\r\n\x08])")
_RUNS = re.compile(f"({DOT}+)")


class TerminalModel:
    """What a terminal of `width` columns shows of the octets fed to it, last rows kept."""

    def __init__(self, *, width: int = WIDTH, scrollback: int = SCROLLBACK) -> None:
        self.width = max(1, width)
        self.scrollback = max(2, scrollback)
        self._rows: deque[str] = deque(maxlen=self.scrollback - 1)  # done rows, oldest first
        self._row = bytearray()  # the cursor's row, translated (binary is _DOT)
        self.column = 0  # the cursor; == width when the next character wraps
        self.received = 0  # octets modem → DTE
        self.sent = 0  # octets DTE → modem (not drawn: the modem echoes what it takes)
        self.version = 0  # changes whenever what is shown changes

    def feed(self, sent: bool, data: bytes) -> None:
        """Octets on the DTE line: `sent` from the DTE to the modem, else toward the DTE."""
        if not data:
            return
        self.version += 1
        if sent:
            self.sent += len(data)
            return
        self.received += len(data)
        data = self._tail(data)
        for part in _CONTROLS.split(data.translate(_TABLE)):
            if len(part) == 1 and part[0] in (CR, LF, BS):
                code = part[0]
                if code == LF:
                    self._new_row()
                elif code == CR:
                    self.column = 0
                else:
                    self.column = max(0, min(self.column, self.width) - 1)
            elif part:
                self._write(part)

    def _tail(self, data: bytes) -> bytes:
        """Only what can still be on screen: whatever precedes the last `scrollback` LFs
        would scroll out anyway, so a megabyte in one chunk costs what its tail costs."""
        if len(data) < self.scrollback * self.width:
            return data
        end = len(data)
        for _ in range(self.scrollback - 1):
            end = data.rfind(b"\n", 0, end)
            if end < 0:
                return data
        self._rows.clear()
        self._row = bytearray()
        self.column = 0
        return data[end + 1 :]

    def _write(self, text: bytes) -> None:
        """Printable text (dots included) at the cursor, overwriting, wrapping at the width."""
        width = self.width
        at = 0
        first = width - min(self.column, width)  # what the cursor's row still holds
        skip = (len(text) - first) // width - self.scrollback
        if skip > 0:  # so many rows follow that all before them scroll out
            self._rows.clear()
            self._row = bytearray()
            self.column = 0
            at = first + skip * width
        while at < len(text):
            if self.column >= width:
                self._new_row()
            end = min(len(text), at + width - self.column)
            self._row[self.column : self.column + end - at] = text[at:end]
            self.column += end - at
            at = end

    def _new_row(self) -> None:
        """LF: the row scrolls up and the cursor starts the next one (LF acts as CR LF)."""
        self._rows.append(self._row.decode("latin-1"))
        self._row = bytearray()
        self.column = 0

    @property
    def lines(self) -> list[str]:
        """The rows to show, oldest first, the cursor's row last (it may be empty)."""
        return [*self._rows, self._row.decode("latin-1")]


class DteTerminal(ScrollView, can_focus=True):
    """Modem A's serial line as a terminal program shows it; typing goes to the modem."""

    DEFAULT_CSS = """
    DteTerminal {
        height: 1fr;
        border: round $primary;
        overflow-x: hidden;
        overflow-y: scroll;
        scrollbar-size-vertical: 1;
    }
    DteTerminal:focus {
        border: round $accent;
    }
    DteTerminal > .dte-terminal--binary {
        color: $text-disabled;
    }
    DteTerminal > .dte-terminal--cursor {
        text-style: reverse;
    }
    """
    COMPONENT_CLASSES = {"dte-terminal--binary", "dte-terminal--cursor"}

    class Typed(Message):
        """Octets typed (or pasted) into the terminal, for the app to send to the modem."""

        def __init__(self, data: bytes) -> None:
            super().__init__()
            self.data = data

    def __init__(
        self,
        *,
        scrollback: int = SCROLLBACK,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.model = TerminalModel(scrollback=scrollback)
        self.border_title = "terminal"
        self._rows: list[str] = [""]
        self._cursor = 0
        self._shown = -1  # the model's version on screen

    # ----- the screen -----

    def feed(self, sent: bool, data: bytes) -> None:
        """Octets on the DTE line (`sent`: DTE → modem); drawn at the next `show`."""
        self.model.feed(sent, data)

    def show(self) -> None:
        """Draw the model if it changed since the last show, scrolled to the end."""
        model = self.model
        if model.version == self._shown:
            return
        self._shown = model.version
        self._rows = model.lines
        self._cursor = min(model.column, model.width - 1)
        self.border_subtitle = f"rx {model.received} · tx {model.sent}"
        self.virtual_size = Size(model.width, len(self._rows))
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def on_resize(self, _: events.Resize) -> None:
        width = max(1, self.scrollable_content_region.width)
        if width != self.model.width:
            self.model.width = width
            self._shown = -1  # the cursor clamps to the new width

    def on_focus(self, _: events.Focus) -> None:
        self.refresh()  # the cursor appears now, not at the next show

    def on_blur(self, _: events.Blur) -> None:
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if index >= len(self._rows):
            return Strip.blank(width, base)
        text = self._rows[index]
        dim = base + self.get_component_rich_style("dte-terminal--binary")
        if self.has_focus and index == len(self._rows) - 1:
            column = self._cursor
            text = text.ljust(column + 1)
            cursor = base + self.get_component_rich_style("dte-terminal--cursor")
            segments = [
                *_segments(text[:column], base, dim),
                Segment(text[column], cursor),
                *_segments(text[column + 1 :], base, dim),
            ]
        else:
            segments = _segments(text, base, dim)
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, base)

    # ----- the keyboard -----

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Printable keys, Enter and Backspace are the modem's while focused, so app
        bindings on them (q, space, n, h ...) stand aside; Escape and Tab are not taken."""
        if key in ("enter", "backspace"):
            return True
        return character is not None and character.isprintable()

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            data = b"\r"
        elif event.key == "backspace":
            data = b"\x08"
        elif event.is_printable and event.character is not None:
            data = event.character.encode()
        else:
            return  # escape, tab, ctrl+... : for the app
        event.stop()
        event.prevent_default()
        self.post_message(self.Typed(data))

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        text = event.text.replace("\r\n", "\r").replace("\n", "\r")
        if text:
            self.post_message(self.Typed(text.encode()))


def _segments(text: str, plain: Style, dim: Style) -> list[Segment]:
    """`text` as segments, its runs of dots (binary octets) dim."""
    return [Segment(run, dim if run[0] == DOT else plain) for run in _RUNS.split(text) if run]
