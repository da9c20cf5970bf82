"""`modememu demo`: a scripted conversation with an emulated modem, printed as it happens.

It runs the real modem core on the virtual clock, the same code a pty or serial
port would drive, and shows both sides: what the DTE typed and what came back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from modememu.at.parity import Parity, encode, strip
from modememu.clock import VirtualClock
from modememu.drivers.host import ModemHost
from modememu.drivers.world import World
from modememu.events import EventBus, Stamped
from modememu.modem.events import (
    CallEnded,
    CallProgress,
    Connected,
    HandshakeStep,
    ParityDetected,
)
from modememu.profiles import DEFAULT_PROFILE, load_profile


@dataclass(frozen=True, slots=True)
class Step:
    note: str
    typed: str
    parity: Parity = Parity.NONE  # the DTE's framing for this line
    v250: bool = False  # only on firmware that knows the '+' commands


SCRIPT = (
    Step("Who are you?", "ATI3"),
    Step("The product code", "ATI0"),
    Step("Identity the V.250 way", "AT+GMI;+GMM;+GMR", v250=True),
    Step("Which carriers +MS may choose from", "AT+MS=?", v250=True),
    Step("Set the escape guard time and read it back (three digits, as Hayes did)",
         "ATS12=40 S12?"),
    Step("An S-register value out of range is refused", "ATS3=200"),
    Step("An unknown command is an error", "ATJ9"),
    Step("Numeric results (V0): just the code and a CR", "ATV0"),
    Step("Back to words", "ATV1"),
    Step("A 7E1 terminal: the modem reads the parity from the bits of A and T",
         "AT", Parity.EVEN),
    Step("...and answers with even parity on every byte, until the next AT", "ATI0",
         Parity.EVEN),
    Step("An 8N1 terminal again", "AT"),
    Step("The active and stored profiles", "AT&V"),
)  # fmt: skip

# A call through the exchange: (note, what the DTE sends, seconds to let pass after it).
CALL: tuple[tuple[str, str, float], ...] = (
    ("Dial the echo service, listening for dial tone and busy (X4)", "ATX4DT5550102\r", 15.0),
    ("Online: whatever the DTE sends comes back from the far end", "hello, far end", 1.0),
    ("A second of silence, +++, a second of silence: the escape", "+++", 1.5),
    ("Online command mode; the call is still up. Hang up", "ATH\r", 0.5),
)


def _show(data: bytes) -> str:
    text = data.decode("latin-1")
    return text.replace("\r", "<CR>").replace("\n", "<LF>")


def run_demo(out: TextIO, profile_name: str = DEFAULT_PROFILE) -> int:
    profile = load_profile(profile_name)
    clock = VirtualClock()
    bus = EventBus()
    host = ModemHost(profile, clock, bus, name="modem")
    received = bytearray()
    host.attach(received.extend)
    notes: list[str] = []

    def on_event(stamped: Stamped) -> None:
        if isinstance(stamped.event, ParityDetected):
            notes.append(f"  [modem: DTE parity detected: {stamped.event.parity}]")

    bus.subscribe(on_event)
    print(f"modememu demo: {profile.maker} {profile.model} ({profile.name})", file=out)
    print("Commands are sent with E1 echo; the modem's replies are shown raw.\n", file=out)
    for step in SCRIPT:
        if step.v250 and not profile.gcap:
            continue
        wire = encode(step.typed.encode() + b"\r", step.parity)
        print(f"# {step.note}", file=out)
        framing = "8N1" if step.parity is Parity.NONE else f"7{step.parity.value}1"
        print(f"{clock.now():7.3f}s DTE ({framing}) > {step.typed}", file=out)
        if step.parity is not Parity.NONE:
            print(f"         on the wire: {wire.hex(' ')}", file=out)
        received.clear()
        host.from_dte(wire)
        clock.advance(0.2)
        reply = bytes(received)
        if step.parity is not Parity.NONE:
            print(f"         reply bytes: {reply[:16].hex(' ')} ...", file=out)
        for line in strip(reply, step.parity).decode("latin-1").split("\r\n"):
            if line.strip("\r"):
                print(f"         modem < {_show(line.encode('latin-1'))}", file=out)
        out.writelines(note + "\n" for note in notes)
        notes.clear()
        print(file=out)
    _call(out, host, clock=clock, bus=bus, received=received, notes=notes)
    host.close()
    print("Done: every line above came from the emulated modem's AT engine.", file=out)
    return 0


# The handshake steps the demo shows (`modememu call` shows them all).
DEMO_STEPS = frozenset({"ANSam", "CM", "JM", "CJ", "V.8 done", "INFO1", "trained", "XID"})


def _call(
    out: TextIO,
    host: ModemHost,
    *,
    clock: VirtualClock,
    bus: EventBus,
    received: bytearray,
    notes: list[str],
) -> None:
    """The same modem on a telephone line: a call to a built-in number, online, +++, ATH."""
    World(clock, bus).add(host)

    def on_event(stamped: Stamped) -> None:
        event = stamped.event
        if isinstance(event, CallProgress):
            detail = f" {event.detail}" if event.detail else ""
            notes.append(f"  [{stamped.time:7.3f}s line: {event.step}{detail}]")
        elif isinstance(event, Connected):
            ec = event.error_control or "no error control"
            rates = f"{event.tx_rate}/{event.rx_rate}"
            notes.append(f"  [{stamped.time:7.3f}s carrier: {event.carrier} {rates}, {ec}]")
        elif isinstance(event, HandshakeStep) and event.name in DEMO_STEPS:
            octets = f" {event.octets.hex(' ').upper()}" if event.octets else ""
            what = f"{event.by} {event.name}: {event.detail}{octets}"
            notes.append(f"  [{stamped.time:7.3f}s handshake: {what}]")
        elif isinstance(event, CallEnded):
            notes.append(f"  [{stamped.time:7.3f}s call ended: {event.reason}]")

    bus.subscribe(on_event, source=host.name)
    host.from_dte(b"ATE0\r")
    clock.advance(1.0)
    for note, typed, wait in CALL:
        print(f"# {note}", file=out)
        print(f"{clock.now():7.3f}s DTE > {_show(typed.encode())}", file=out)
        received.clear()
        host.from_dte(typed.encode())
        clock.advance(wait)
        out.writelines(line + "\n" for line in notes)
        notes.clear()
        for line in bytes(received).decode("latin-1").split("\r\n"):
            if line:
                print(f"         modem < {_show(line.encode('latin-1'))}", file=out)
        print(file=out)
