"""`modememu demo`: a whole dial-up session between two emulated modems, told as it happens.

The dialer (a DTE like chat + pppd) sits on the caller's modem and dials the
ISP number; the ISP's answering modem has the ISP agent as its DTE. Both
modems, the exchange and both agents run in this process on one clock: real
time by default (a V.34 call takes as long as it did), or the virtual clock
with `fast`, where the same session takes a fraction of a second.

The transcript shows the AT dialogue, the line handshake, CONNECT, LCP and
IPCP in pppd's words, the TCP segments with their real numbers, the echo, the
four-way close and the hang-up. The exit status is the dialer's.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from modememu.agents.dialer import EXIT_CODES, Dialer, DialerConfig, DialerResult, DialerStep
from modememu.agents.isp import IspConfig
from modememu.audio.render import render_call
from modememu.audio.schedule import AUDIO_EVENTS, modem_options
from modememu.audio.schedule import Options as AudioOptions
from modememu.audio.wav import CallWav, WavError
from modememu.capture.pcap import PppPcapWriter, SlipPcapWriter
from modememu.capture.pppdump import PppdumpWriter
from modememu.clock import Clock, VirtualClock
from modememu.drivers.agentdte import AgentDte, start_dialer
from modememu.drivers.host import ModemHost
from modememu.drivers.runner import LoopClock
from modememu.drivers.serve import JsonlLog
from modememu.drivers.world import World
from modememu.events import EventBus, Stamped
from modememu.link import slip
from modememu.link.ppp.session import PppFrame
from modememu.net.ipv4 import Ipv4Error, parse_ipv4
from modememu.phonebook import Phonebook
from modememu.profiles import DEFAULT_PROFILE, load_profile
from modememu.transcript import Transcript

PPP_NUMBER = "5550100"
SLIP_NUMBER = "5550101"
DEMO_USER = "demo"
DEMO_PASSWORD = "dial-up-1996"
DIALER = "dialer"  # the event source of the dialer: the transcript's and captures' side
LIMIT = 900.0  # seconds: a session that has not ended by then has hung


class DemoError(Exception):
    """A demo option that cannot work (one line for the CLI)."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    caller: str = DEFAULT_PROFILE
    answerer: str | None = None  # the ISP's modem; None: the phonebook's
    snr_db: float | None = None  # None: the phonebook's line
    slip: bool = False
    auth: str = ""  # "", "pap" or "chap"
    fast: bool = False
    log: Path | None = None
    pcap: Path | None = None
    record: Path | None = None
    wav: Path | None = None  # the call's sound: the mix, and FILE-caller/-answerer.wav

    @property
    def number(self) -> str:
        """The ISP number the dialer calls: PPP's or SLIP's."""
        return SLIP_NUMBER if self.slip else PPP_NUMBER

    def __post_init__(self) -> None:
        if self.auth not in ("", "pap", "chap"):
            raise DemoError(f"--auth must be pap or chap, not {self.auth!r}")
        if self.slip and self.auth:
            raise DemoError("--auth needs PPP: SLIP has no authentication")
        if self.slip and self.record is not None:
            raise DemoError("--record writes a pppd record: it needs PPP, not --slip")


class Recorders:
    """The files a session may be recorded to: JSONL events, a pcap, a pppd record."""

    def __init__(self, options: DemoOptions, start: float) -> None:
        self._files: list[BinaryIO] = []
        self.jsonl = JsonlLog(options.log, start) if options.log is not None else None
        self.online = False  # line octets count from CONNECT on
        self.ppp_pcap = self.slip_pcap = None
        self.pppdump = None
        self._deframers = {True: slip.SlipDeframer(), False: slip.SlipDeframer()}
        if options.pcap is not None:
            stream = self._open(options.pcap)
            if options.slip:
                self.slip_pcap = SlipPcapWriter(stream)
            else:
                self.ppp_pcap = PppPcapWriter(stream)
        if options.record is not None:
            self.pppdump = PppdumpWriter(self._open(options.record), start)
        # The call's sound: the line events kept, rendered and written at close.
        self.audio_host: ModemHost | None = None  # the caller's modem (its ATM and S11)
        self.audio_events: list[Stamped] = []
        self.wav: CallWav | None = None
        if options.wav is not None:
            try:
                self.wav = CallWav(options.wav)
            except WavError as exc:
                raise DemoError(str(exc)) from None

    def _open(self, path: Path) -> BinaryIO:
        try:
            stream = path.open("wb")
        except OSError as exc:
            raise DemoError(f"cannot write {path}: {exc.strerror or exc}") from None
        self._files.append(stream)
        return stream

    def event(self, stamped: Stamped) -> None:
        if self.jsonl is not None:
            self.jsonl(stamped)
        event = stamped.event
        if self.wav is not None and isinstance(event, AUDIO_EVENTS):
            self.audio_events.append(stamped)
        if isinstance(event, DialerStep) and event.step == "connected":
            self.online = True
        elif isinstance(event, PppFrame) and self.ppp_pcap is not None and stamped.source == DIALER:
            self.ppp_pcap.packet(stamped.time, event.sent, event.protocol, event.info)

    def line(self, time: float, sent: bool, data: bytes) -> None:
        """Octets between the dialer and its modem."""
        if not self.online:
            return
        if self.pppdump is not None:
            self.pppdump.data(time, sent, data)
        if self.slip_pcap is not None:
            deframer = self._deframers[sent]
            deframer.receive_data(data)
            while (packet := deframer.next_frame()) is not None:
                try:
                    parse_ipv4(packet)
                except Ipv4Error:
                    continue  # the banner line before the first END, say
                self.slip_pcap.packet(time, packet)

    def close(self) -> None:
        if self.wav is not None:
            if self.audio_events:
                self._write_audio(self.wav)
            self.wav.close()
        if self.jsonl is not None:
            self.jsonl.close()
        for stream in self._files:
            stream.close()

    def _write_audio(self, wav: CallWav) -> None:
        host = self.audio_host
        opts = modem_options(host.modem.engine.config) if host is not None else AudioOptions()
        wav.write(render_call(self.audio_events, opts, caller_source="caller"))


@dataclass
class Session:
    """The world of one demo: the caller's modem, its dialer, the ISP behind the number."""

    clock: Clock
    bus: EventBus
    world: World
    caller: ModemHost
    dialer: Dialer
    agent: AgentDte

    @property
    def result(self) -> DialerResult | None:
        return self.dialer.result

    def redial(self, dialer: Dialer, agent: AgentDte) -> None:
        """The monitor put a new dialer on the caller (its `d` key)."""
        self.dialer, self.agent = dialer, agent


def _phonebook(options: DemoOptions) -> Phonebook:
    """The default numbers, with the ISP's modem and line as the options say."""
    changes: dict[str, object] = {}
    if options.answerer is not None:
        changes["profile"] = options.answerer
    if options.snr_db is not None:
        changes["snr_db"] = options.snr_db
    entries = {
        entry.number: (
            dataclasses.replace(entry, **changes)  # type: ignore[arg-type]
            if entry.number in (PPP_NUMBER, SLIP_NUMBER)
            else entry
        )
        for entry in Phonebook.default().entries()
    }
    return Phonebook(entries)


def build(
    options: DemoOptions,
    clock: Clock,
    subscribers: list[Callable[[Stamped], None]],
    tap: Callable[[float, bool, bytes], None] | None = None,
) -> Session:
    """Two modems, the exchange, the ISP and the dialer, ready to start."""
    bus = EventBus()
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    auth = {"auth": options.auth, "users": {DEMO_USER: DEMO_PASSWORD}} if options.auth else {}
    isp = IspConfig(**auth)  # type: ignore[arg-type]
    world = World(clock, bus, phonebook=_phonebook(options), isp=isp)
    caller = world.add(ModemHost(load_profile(options.caller), clock, bus, name="caller"))
    config = DialerConfig(
        number=options.number,
        mode="slip" if options.slip else "ppp",
        user=DEMO_USER if options.auth else "",
        password=DEMO_PASSWORD if options.auth else "",
    )
    dialer = Dialer(config, seed=1996)
    agent = start_dialer(caller, clock, bus, dialer, source=DIALER, tap=tap)
    return Session(clock, bus, world, caller, dialer, agent)


def run_demo_session(out: TextIO, options: DemoOptions) -> int:
    """Run one session and print it; the dialer's exit code."""
    for name in (options.caller, options.answerer):
        if name is not None:
            load_profile(name)  # a bad name is one line now, not a failed call later
    if options.fast:
        return _run_virtual(out, options)
    return asyncio.run(_run_real(out, options))


def _run_virtual(out: TextIO, options: DemoOptions) -> int:
    clock = VirtualClock()
    session, recorders = _start(out, options, clock, [])
    try:
        while session.dialer.step != "done" and clock.now() < LIMIT and clock.step():
            pass
    finally:
        recorders.close()
    return summarize(out, session.result)


async def _run_real(out: TextIO, options: DemoOptions) -> int:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def watch(stamped: Stamped) -> None:
        event = stamped.event
        if isinstance(event, DialerStep) and event.step == "done" and not done.done():
            done.set_result(None)

    session, recorders = _start(out, options, LoopClock(loop), [watch])
    try:
        await asyncio.wait_for(done, LIMIT)
    except TimeoutError:
        pass
    finally:
        recorders.close()
        await session.world.close()
    return summarize(out, session.result)


def _start(
    out: TextIO, options: DemoOptions, clock: Clock, extra: list[Callable[[Stamped], None]]
) -> tuple[Session, Recorders]:
    """Print the title, then build the world with the transcript and recorders listening: dial."""
    profile = load_profile(options.caller)
    mode = "SLIP" if options.slip else "PPP"
    auth = f", {options.auth.upper()}" if options.auth else ""
    caller = f"{profile.maker} {profile.model}"
    print(f"modememu demo: a {caller} dials the ISP at {options.number} ({mode}{auth})", file=out)
    start = clock.now()
    recorders = Recorders(options, start)
    transcript = Transcript(out, caller="caller", dialer=DIALER, start=start)
    session = build(options, clock, [transcript, recorders.event, *extra], recorders.line)
    recorders.audio_host = session.caller
    return session, recorders


def summarize(out: TextIO, result: DialerResult | None) -> int:
    """The closing line of a demo; the exit status."""
    if result is None:
        print("modememu demo: the session did not finish", file=out)
        return 1
    words = EXIT_CODES.get(result.code, "failed")
    why = "" if result.reason == words else f": {result.reason}"
    print(f"modememu demo: exit {result.code} ({words}){why}", file=out)
    return result.code
