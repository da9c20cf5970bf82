"""A dial-up session told as text: one timestamped line per thing worth seeing.

It subscribes to the event bus and prints, from the caller's side, the AT
dialogue, the call progress and line handshake, CONNECT, every PPP frame in
pppd's debug format, every TCP segment with its real numbers, the data, the
close and the hang-up. The ISP's own view adds a line when a call starts and
ends. Other events (byte counts, timer ticks) stay in the JSONL log.
"""

from __future__ import annotations

from typing import TextIO

from modememu.agents.chat import ChatAborted, ChatGot, ChatSent, ChatTimeout
from modememu.agents.dialer import DialerFailed, DialerStep
from modememu.agents.isp import IspCallEnded, IspCallStarted
from modememu.events import Event, Stamped
from modememu.link.ppp.printer import log_line
from modememu.link.ppp.session import LinkEnded, PppFrame
from modememu.link.ppp.wire import IP
from modememu.modem.events import CallEnded, CallProgress, Connected, HandshakeStep
from modememu.net.events import ConnectionEnded, TcpSegmentSeen, TcpStateChanged
from modememu.net.tcp.wire import flag_names

# The handshake steps worth a line each (`modememu call` shows them all).
HANDSHAKE_STEPS = frozenset({"ANSam", "CM", "JM", "CJ", "V.8 done", "INFO1", "trained", "XID"})


class Transcript:
    """Prints a session from the side of the `caller` modem and of the `dialer`, its DTE."""

    def __init__(
        self, out: TextIO, *, caller: str, dialer: str, start: float = 0.0, others: bool = True
    ) -> None:
        self.out = out
        self.others = others  # also the ISP's lines (one transcript of several says them)
        self.start = start
        self.lines = 0
        self._caller = caller
        self._dialer = dialer

    def __call__(self, stamped: Stamped) -> None:
        if stamped.source == self._caller:
            line = _modem_line(stamped.event)
        elif stamped.source == self._dialer:
            line = _dialer_line(stamped.event)
        elif self.others:
            line = _isp_line(stamped.event)
        else:
            line = None
        if line is not None:
            self.say(stamped.time, *line)

    def say(self, time: float, who: str, text: str) -> None:
        print(f"{time - self.start:9.3f}s {who:<8} {text}", file=self.out)
        self.lines += 1


Line = tuple[str, str] | None  # (who, text), or nothing to print


def _modem_line(e: Event) -> Line:
    if isinstance(e, CallProgress):
        return "line", f"{e.step} {e.detail}".rstrip()
    if isinstance(e, HandshakeStep) and e.name in HANDSHAKE_STEPS:
        octets = f" {e.octets.hex(' ').upper()}" if e.octets else ""
        return "line", f"{e.by} {e.name}: {e.detail}{octets}"
    if isinstance(e, Connected):
        ec = e.error_control or "no error control"
        return "line", f"carrier {e.carrier} {e.tx_rate}/{e.rx_rate}, {ec}"
    if isinstance(e, CallEnded):
        return "line", f"call ended: {e.reason}"
    return None


def _dialer_line(e: Event) -> Line:
    if isinstance(e, ChatSent):
        return "dte >", e.text
    if isinstance(e, ChatGot):
        said = _last_line(e.text)
        return ("modem <", said) if said else None
    if isinstance(e, ChatAborted):
        return "chat", f"aborted on {e.string!r}"
    if isinstance(e, ChatTimeout):
        return "chat", f"no {e.expected!r} within {e.seconds:g} s"
    if isinstance(e, DialerStep):
        return "dialer", f"{e.step}: {e.detail}"
    if isinstance(e, DialerFailed):
        return "dialer", f"FAILED ({e.code}) {e.reason}"
    if isinstance(e, PppFrame):  # IP datagrams show as the TCP segments they carry
        return None if e.protocol == IP else ("pppd", log_line(e.sent, e.protocol, e.info))
    if isinstance(e, LinkEnded):
        return "pppd", f"Connection terminated: {e.reason} (exit {e.status})"
    if isinstance(e, TcpSegmentSeen):
        mss = f" mss={e.mss}" if e.mss is not None else ""
        return "tcp", (
            f"{e.src} > {e.dst} [{flag_names(e.flags)}] seq={e.seq} ack={e.ack} "
            f"win={e.window} len={e.length}{mss}"
        )
    if isinstance(e, TcpStateChanged):
        return "tcp", f"{e.old} -> {e.new}"
    if isinstance(e, ConnectionEnded):
        return "tcp", f"connection ended: {e.reason}"
    return None


def _isp_line(e: Event) -> Line:
    if isinstance(e, IspCallStarted):
        return "isp", f"call answered: {e.mode}, client {e.client}"
    if isinstance(e, IspCallEnded):
        return "isp", f"call over: {e.reason}"
    return None


def _last_line(text: str) -> str:
    """What the modem said, without the echo and blank lines before it."""
    lines = [line for line in text.replace("^M", "\n").replace("^J", "\n").split("\n") if line]
    return lines[-1] if lines else ""
