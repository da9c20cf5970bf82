"""The monitor's DTE terminal and throughput panel: their models, then each in a tiny app."""

from __future__ import annotations

import random

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Sparkline

from modememu.events import Event, Stamped
from modememu.link.events import (
    ABORTED,
    BAD_FCS,
    CSLIP,
    OVER_LONG,
    RUNT,
    SHORT,
    BadEscape,
    CslipUnsupported,
    FrameDropped,
    UnescapedControlChars,
)
from modememu.modem.events import DataLost, Retrained
from modememu.net.events import PacketDropped, Retransmitted, TcpStateChanged
from modememu.tui.widgets.terminal import DOT, DteTerminal, TerminalModel
from modememu.tui.widgets.throughput import ThroughputModel, ThroughputPanel, octets


def focused(app: App[None]) -> Widget | None:
    return app.focused  # a call: mypy does not keep it narrowed across key presses


def stamp(event: Event, time: float = 0.0) -> Stamped:
    return Stamped(time, "caller", event)


# ----- the terminal's model -----


def test_crlf_starts_a_row_and_the_modem_echo_reads_as_typed() -> None:
    model = TerminalModel(width=40)
    model.feed(False, b"ATZ\r\r\nOK\r\n")
    assert model.lines == ["ATZ", "OK", ""]
    assert model.column == 0


def test_cr_returns_to_the_start_and_overwrites() -> None:
    model = TerminalModel(width=40)
    model.feed(False, b"RINGING\rOK")
    assert model.lines == ["OKNGING"]
    assert model.column == 2


def test_a_bare_lf_starts_a_row_at_the_first_column() -> None:
    model = TerminalModel(width=40)
    model.feed(False, b"one\ntwo")
    assert model.lines == ["one", "two"]


def test_backspace_steps_left_and_the_echoed_erase_rubs_out() -> None:
    model = TerminalModel(width=40)
    model.feed(False, b"ATDT12\x08 \x083")  # what a modem echoes for BS: BS SP BS
    assert model.lines == ["ATDT13"]
    model.feed(False, b"\r\x08\x08X")  # never left of the first column
    assert model.lines == ["XTDT13"]


def test_rows_wrap_at_the_width() -> None:
    model = TerminalModel(width=10)
    model.feed(False, b"0123456789")
    assert model.lines == ["0123456789"]  # the wrap waits for the next character
    model.feed(False, b"\r\n")
    assert model.lines == ["0123456789", ""]
    model.feed(False, b"abcdefghijKLM")
    assert model.lines == ["0123456789", "abcdefghij", "KLM"]


def test_binary_octets_are_dots_and_sent_octets_are_counted_not_shown() -> None:
    model = TerminalModel(width=80)
    model.feed(True, b"ATD\r")
    assert model.lines == [""] and model.sent == 4
    model.feed(False, b"\r\nCONNECT 33600/ARQ\r\n")
    model.feed(False, bytes([0x7E, 0xFF, 0x7D, 0x23, 0xC0, 0x21, 0x00, 0x7F, 0xB7, 0x1B]))
    assert model.lines == ["", "CONNECT 33600/ARQ", f"~{DOT}}}#{DOT}!{DOT * 4}"]
    assert model.received == 2 + 19 + 10


def test_the_version_changes_with_each_feed() -> None:
    model = TerminalModel()
    before = model.version
    model.feed(False, b"")
    assert model.version == before
    model.feed(True, b"A")
    assert model.version != before


def test_a_megabyte_of_binary_keeps_the_scrollback_bounded() -> None:
    rng = random.Random(8)
    data = rng.randbytes(1_000_000)
    chunked = TerminalModel(width=80, scrollback=500)
    for at in range(0, len(data), 4096):
        chunked.feed(False, data[at : at + 4096])
    whole = TerminalModel(width=80, scrollback=500)
    whole.feed(False, data)
    assert len(chunked.lines) == 500
    assert all(len(line) <= 80 for line in chunked.lines)
    assert set("".join(chunked.lines)) <= {chr(c) for c in range(0x20, 0x7F)} | {DOT}
    # the shortcuts for one big chunk show exactly what feeding it bit by bit shows
    assert whole.lines == chunked.lines and whole.column == chunked.column
    assert whole.received == chunked.received == 1_000_000


def test_one_long_row_without_line_ends_wraps_into_a_bounded_scrollback() -> None:
    data = bytes(range(0x20, 0x7F)) * 10_000 + b"\xff" * 100_000
    for column in (0, 3):  # the shortcut keeps the wrap points of the cursor's column
        whole = TerminalModel(width=80, scrollback=100)
        whole.feed(False, b"x" * column)
        whole.feed(False, data)
        chunked = TerminalModel(width=80, scrollback=100)
        chunked.feed(False, b"x" * column)
        for at in range(0, len(data), 1000):
            chunked.feed(False, data[at : at + 1000])
        assert len(whole.lines) == 100
        assert whole.lines == chunked.lines and whole.column == chunked.column
        assert whole.lines[-1] == DOT * (whole.column)


# ----- the throughput model -----


def test_errors_are_counted_by_kind() -> None:
    model = ThroughputModel()
    events: list[Event] = [
        FrameDropped(BAD_FCS, 40),
        FrameDropped(BAD_FCS, 12),
        FrameDropped(ABORTED, 3),
        FrameDropped(SHORT, 2),
        FrameDropped(RUNT, 1),
        FrameDropped(OVER_LONG, 2000),
        CslipUnsupported(CSLIP, 30, True),
        BadEscape(2, 50),
        UnescapedControlChars(3, b"\x11\x13", False),
        PacketDropped("ip", "bad header checksum", 60),
        Retransmitted(1, "data", 1, 2.0),
        Retransmitted(1, "data", 2, 4.0),
        DataLost("to-dte", 1500, 1500),
        Retrained("V34", 28800, 28800, 33600, 33600),
    ]
    for event in events:
        model.take(stamp(event))
    assert model.counts == {
        "bad FCS": 2,
        "aborts": 1,
        "runts": 2,
        "framing": 2,
        "bad escapes": 2,
        "ctl chars": 3,
        "dropped": 1,
        "retransmits": 2,
        "lost": 1500,
        "retrains": 1,
    }
    assert model.errors.startswith("bad FCS 2 · aborts 1 · runts 2 · framing 2")
    assert "lost 1.5 kB · retrains 1" in model.errors


def test_other_events_change_nothing() -> None:
    model = ThroughputModel()
    version = model.version
    model.take(stamp(TcpStateChanged(1, "a", "b", "CLOSED", "SYN-SENT")))
    assert model.version == version
    assert set(model.counts.values()) == {0}


def test_rates_are_octets_per_second_of_session_time() -> None:
    model = ThroughputModel(history=3)
    model.sample(10.0)  # the first sample only sets the start
    assert list(model.rates[0]) == []
    model.line(10.1, True, 100)
    model.line(10.2, False, 2000)
    model.sample(10.5)
    assert model.rate(True) == 200.0 and model.rate(False) == 4000.0
    model.line(10.6, False, 1000)
    model.sample(10.5)  # no session time passed (paused): no sample
    assert list(model.rates[1]) == [4000.0]
    model.sample(12.5)
    assert model.rate(False) == 500.0 and model.rate(True) == 0.0
    model.sample(13.5)
    model.sample(14.5)
    assert list(model.rates[0]) == [0.0, 0.0, 0.0]  # the last `history` samples
    assert model.totals == [100, 3000]
    assert model.label(False) == "rx      0 B/s    3.0 kB"


def test_octets_before_the_first_sample_count_from_when_they_came() -> None:
    model = ThroughputModel()
    model.line(2.0, False, 300)
    model.line(2.5, False, 300)
    model.sample(3.0)
    assert model.rate(False) == 600.0


def test_octets_read_in_decimal_units() -> None:
    assert [octets(n) for n in (0, 999, 1000, 33_600, 1_234_567)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "33.6 kB",
        "1.23 MB",
    ]


# ----- the widgets in an app -----


class TerminalApp(App[None]):
    """The terminal, and app bindings on keys it types: `q` counts, escape leaves it."""

    AUTO_FOCUS = None  # as the monitor must: a focused terminal takes q, space, n, h
    BINDINGS = [Binding("q", "count_q", "Q"), Binding("escape", "leave", "Leave")]

    def __init__(self) -> None:
        super().__init__()
        self.terminal = DteTerminal(id="terminal")
        self.typed: list[bytes] = []
        self.qs = 0

    def compose(self) -> ComposeResult:
        yield self.terminal

    def on_dte_terminal_typed(self, message: DteTerminal.Typed) -> None:
        self.typed.append(message.data)

    def action_count_q(self) -> None:
        self.qs += 1

    def action_leave(self) -> None:
        self.set_focus(None)


async def test_keys_typed_into_the_terminal_go_to_the_modem_not_to_bindings() -> None:
    app = TerminalApp()
    async with app.run_test(size=(60, 12)) as pilot:
        assert focused(app) is None
        await pilot.click("#terminal")
        assert focused(app) is app.terminal
        await pilot.press("A", "T", "Z", "enter", "space", "backspace", "q")
        assert app.typed == [b"A", b"T", b"Z", b"\r", b" ", b"\x08", b"q"]
        assert app.qs == 0
        assert "q" not in app.screen.active_bindings  # not in the footer either
        app.post_message(events.Paste("ATI3\nATH\r\n"))
        await pilot.pause()
        assert app.typed[-1] == b"ATI3\rATH\r"
        await pilot.press("escape")  # not taken: the app's binding leaves the terminal
        assert focused(app) is None
        await pilot.press("q")
        assert app.qs == 1
        assert len(app.typed) == 8


async def test_the_terminal_shows_the_line_scrolled_to_the_end_with_a_cursor() -> None:
    app = TerminalApp()
    async with app.run_test(size=(60, 12)) as pilot:
        terminal = app.terminal
        width = terminal.model.width
        assert width < 60  # the border and the scrollbar take their columns
        terminal.feed(True, b"ATZ\r")  # counted, not drawn
        terminal.model.feed(False, b"".join(b"line %d\r\n" % n for n in range(100)))
        terminal.model.feed(False, b"ATZ\r\r\nOK\r\n")
        terminal.model.feed(False, b"CONNECT\r\n\x7e\xff\x03\xc0\x21")
        terminal.show()
        await pilot.pause()
        height = terminal.scrollable_content_region.height
        assert terminal.scroll_offset.y == terminal.max_scroll_y > 0
        shown = [terminal.render_line(y).text.rstrip() for y in range(height)]
        assert shown[-3:] == ["OK", "CONNECT", f"~{DOT}{DOT}{DOT}!"]
        assert str(terminal.border_subtitle) == f"rx {terminal.model.received} · tx 4"

        last = terminal.render_line(height - 1)
        assert len(last.text) == terminal.size.width
        dots = [segment for segment in last if DOT in segment.text]
        plain = [segment for segment in last if segment.text == "~"]
        assert dots[0].style != plain[0].style  # binary is drawn dim
        assert not any(segment.style and segment.style.reverse for segment in last)

        await pilot.click("#terminal")
        cursor = [s for s in terminal.render_line(height - 1) if s.style and s.style.reverse]
        assert [segment.text for segment in cursor] == [" "]  # after the `!`

        version = terminal.model.version
        terminal.show()  # nothing new: nothing redrawn
        assert terminal.model.version == version


async def test_the_throughput_panel_shows_rates_totals_and_errors() -> None:
    class ThroughputApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ThroughputPanel(id="throughput")

    app = ThroughputApp()
    async with app.run_test(size=(80, 10)) as pilot:
        panel = app.query_one(ThroughputPanel)
        panel.sample(0.0)
        for second in range(1, 6):
            panel.line(second - 0.5, True, 1000 * second)
            panel.line(second - 0.5, False, 33_600)
            panel.sample(float(second))
        panel.take(stamp(FrameDropped(BAD_FCS, 40)))
        panel.take(stamp(Retrained("V34", 28800, 28800, 33600, 33600)))
        panel.show()
        await pilot.pause()
        tx, rx = panel.labels
        assert tx.split() == ["tx", "5.0", "kB/s", "15.0", "kB"]
        assert rx.split() == ["rx", "33.6", "kB/s", "168.0", "kB"]
        assert "bad FCS 1" in panel.errors and "retrains 1" in panel.errors
        sparklines = app.query(Sparkline)
        assert [s.id for s in sparklines] == ["throughput-tx", "throughput-rx"]
        assert list(app.query_one("#throughput-tx", Sparkline).data or []) == [
            1000.0,
            2000.0,
            3000.0,
            4000.0,
            5000.0,
        ]
        assert all(s.size.width > 0 for s in sparklines)
