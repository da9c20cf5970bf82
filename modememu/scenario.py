"""`modememu run SCENARIO.toml`: a test bench described once, run as often as wanted.

A scenario names modems (profile, number, optionally a pty a program drives),
dialers that sit on some of them, the ISP behind 5550100/5550101 and extra
phonebook numbers. `demo` is the built-in scenario `DEMO`. Example:

    fast = true                     # the virtual clock; default: real time

    [isp]
    auth = "chap"                   # "", "pap" or "chap"
    users = { alice = "wonderland" }

    [numbers."5551234"]             # as in a --phonebook file
    service = "bbs"

    [[modem]]
    name = "pc"
    profile = "usr-courier-v34"

    [[dialer]]
    modem = "pc"
    number = "5550100"
    user = "alice"
    password = "wonderland"

The run ends when every dialer is done (exit status: the first dialer's code
that is not 0), or, with no dialers, when interrupted. Every mistake in the
file is one `ScenarioError` line naming the key and the problem.

`--wav FILE` records the sound of each dialer's call from its modem's events:
with one dialer to FILE (and FILE-caller.wav, FILE-answerer.wav), with several
to FILE-<modem>.wav (and FILE-<modem>-caller.wav ...) for each dialer's modem.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from modememu.agents.dialer import Dialer, DialerConfig
from modememu.agents.isp import IspConfig, IspConfigError
from modememu.audio.render import render_call
from modememu.audio.schedule import AUDIO_EVENTS, modem_options
from modememu.audio.wav import CallWav, WavError
from modememu.clock import Clock, VirtualClock
from modememu.drivers.agentdte import AgentDte, start_dialer
from modememu.drivers.host import ModemHost
from modememu.drivers.pty import PtyPort
from modememu.drivers.runner import LoopClock
from modememu.drivers.serve import JsonlLog
from modememu.drivers.world import World
from modememu.events import EventBus, Stamped
from modememu.phonebook import Phonebook, PhonebookError, parse_numbers
from modememu.profiles import DEFAULT_PROFILE, ProfileError, load_profile
from modememu.transcript import Transcript

LIMIT = 900.0  # seconds a run with dialers may take


class ScenarioError(Exception):
    """A scenario file that cannot run; the message is one line."""


@dataclass(frozen=True, slots=True)
class ModemSpec:
    name: str
    profile: str = DEFAULT_PROFILE
    number: str = ""
    pty: Path | None = None


@dataclass(frozen=True, slots=True)
class DialerSpec:
    modem: str
    config: DialerConfig


@dataclass(frozen=True, slots=True)
class Scenario:
    fast: bool = False
    isp: IspConfig = field(default_factory=IspConfig)
    phonebook: Phonebook = field(default_factory=Phonebook.default)
    modems: tuple[ModemSpec, ...] = ()
    dialers: tuple[DialerSpec, ...] = ()


DEMO = Scenario(
    modems=(ModemSpec("caller"),),
    dialers=(DialerSpec("caller", DialerConfig()),),
)

_TOP = ("fast", "isp", "numbers", "modem", "dialer")
_MODEM_KEYS = ("name", "profile", "number", "pty")
_DIALER_FIELDS = ("number", "init", "mode", "user", "password", "host", "port", "hangup")


def load(path: Path) -> Scenario:
    """Read and check a scenario file; ScenarioError names the first problem."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML: {' '.join(str(exc).split())}") from None
    return _Checker(path).scenario(doc)


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {key}: {problem}")

    def scenario(self, doc: Mapping[str, Any]) -> Scenario:
        for key in doc:
            if key not in _TOP:
                raise self.fail(key, f"unknown key (allowed: {', '.join(_TOP)})")
        fast = doc.get("fast", False)
        if not isinstance(fast, bool):
            raise self.fail("fast", "expected true or false")
        modems = tuple(
            self.modem(f"modem[{i}]", t) for i, t in enumerate(self.tables(doc, "modem"))
        )
        names = [m.name for m in modems]
        if len(set(names)) != len(names):
            raise self.fail("modem", "two modems have the same name")
        dialers = tuple(
            self.dialer(f"dialer[{i}]", t, names) for i, t in enumerate(self.tables(doc, "dialer"))
        )
        if len({d.modem for d in dialers}) != len(dialers):
            raise self.fail("dialer", "two dialers on one modem")
        if fast and any(m.pty is not None for m in modems):
            raise self.fail("fast", "a modem on a pty needs real time (fast = false)")
        return Scenario(fast, self.isp(doc.get("isp", {})), self.numbers(doc), modems, dialers)

    def tables(self, doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            raise self.fail(key, f"expected [[{key}]] tables")
        return value

    def known(self, where: str, table: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{where}.{key}", f"unknown key (allowed: {', '.join(allowed)})")

    def string(self, key: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.fail(key, "expected a string")
        return value

    def modem(self, where: str, table: Mapping[str, Any]) -> ModemSpec:
        for key in table:
            if key not in _MODEM_KEYS:
                raise self.fail(
                    f"{where}.{key}", f"unknown key (allowed: {', '.join(_MODEM_KEYS)})"
                )
        if "name" not in table:
            raise self.fail(where, "a modem needs a name")
        profile = self.string(f"{where}.profile", table.get("profile", DEFAULT_PROFILE))
        try:
            load_profile(profile)
        except ProfileError as exc:
            raise self.fail(f"{where}.profile", str(exc)) from None
        pty = table.get("pty")
        return ModemSpec(
            self.string(f"{where}.name", table["name"]),
            profile,
            self.string(f"{where}.number", table.get("number", "")),
            None if pty is None else Path(self.string(f"{where}.pty", pty)),
        )

    def dialer(self, where: str, table: Mapping[str, Any], modems: list[str]) -> DialerSpec:
        self.known(where, table, ("modem", *_DIALER_FIELDS))
        modem = self.string(f"{where}.modem", table.get("modem", ""))
        if modem not in modems:
            raise self.fail(f"{where}.modem", f"no modem named {modem!r}")
        fields = {k: table[k] for k in _DIALER_FIELDS if k in table}
        try:
            config = DialerConfig(**fields)
        except (TypeError, ValueError) as exc:
            raise self.fail(where, " ".join(str(exc).split())) from None
        return DialerSpec(modem, config)

    def isp(self, table: object) -> IspConfig:
        if not isinstance(table, dict):
            raise self.fail("isp", "expected a table")
        try:
            return IspConfig(**table)
        except TypeError as exc:
            raise self.fail("isp", " ".join(str(exc).split())) from None
        except IspConfigError as exc:
            raise self.fail("isp", str(exc)) from None

    def numbers(self, doc: Mapping[str, Any]) -> Phonebook:
        if "numbers" not in doc:
            return Phonebook.default()
        try:
            extra = parse_numbers(doc["numbers"], self.path)
        except PhonebookError as exc:
            raise ScenarioError(str(exc)) from None
        return Phonebook({**{e.number: e for e in Phonebook.default().entries()}, **extra})


# -- running ---------------------------------------------------------------------------


@dataclass
class Bench:
    """A scenario's world as built: its modems, dialers, and what closes them."""

    world: World
    dialers: list[Dialer]
    closers: list[Callable[[], object]]
    hosts: dict[str, ModemHost] = field(default_factory=dict)
    agents: list[AgentDte] = field(default_factory=list)  # one per dialer, in order

    @property
    def done(self) -> bool:
        return all(d.step == "done" for d in self.dialers)

    def status(self) -> int:
        codes = [d.result.code if d.result else 1 for d in self.dialers]
        return next((c for c in codes if c), 0)

    def close(self) -> None:
        """Close what was built, last built first (the virtual clock needs no more)."""
        for close in reversed(self.closers):
            close()

    async def aclose(self) -> None:
        """On a loop: close, then abandon TCP dials still connecting."""
        self.close()
        await self.world.close()


class _CallSound:
    """A dialer's call as heard on its modem: that modem's call events, rendered at the
    end with its speaker (ATM) and DTMF length (S11)."""

    def __init__(self, host: ModemHost, bus: EventBus, wav: CallWav) -> None:
        self.host = host
        self.wav = wav
        self.events: list[Stamped] = []
        bus.subscribe(self._event, source=host.name)

    def _event(self, stamped: Stamped) -> None:
        if isinstance(stamped.event, AUDIO_EVENTS):
            self.events.append(stamped)

    def close(self) -> None:
        opts = modem_options(self.host.modem.engine.config)
        self.wav.write(render_call(self.events, opts, caller_source=self.host.name))


def wav_paths(path: Path, modems: list[str]) -> dict[str, Path]:
    """Where each dialer's modem's call sound goes: FILE for one, FILE-<modem>.wav for more."""
    if len(modems) == 1:
        return {modems[0]: path}
    suffix = path.suffix or ".wav"
    return {m: path.with_name(f"{path.stem}-{m}{suffix}") for m in modems}


def _open_wavs(scenario: Scenario, wav: Path | None) -> dict[str, CallWav]:
    if wav is None or not scenario.dialers:
        return {}
    opened: dict[str, CallWav] = {}
    try:
        for modem, path in wav_paths(wav, [d.modem for d in scenario.dialers]).items():
            opened[modem] = CallWav(path)
    except WavError as exc:
        for w in opened.values():
            w.close()
        raise ScenarioError(str(exc)) from None
    return opened


def build_bench(
    scenario: Scenario,
    clock: Clock,
    out: TextIO,
    log: Path | None,
    loop: asyncio.AbstractEventLoop | None,
    *,
    wav: Path | None = None,
    subscribers: tuple[Callable[[Stamped], None], ...] = (),
) -> Bench:
    bus = EventBus()
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    closers: list[Callable[[], object]] = []
    wavs = _open_wavs(scenario, wav)
    closers += [w.close for w in wavs.values()]  # if the build fails; writing closes them too
    if log is not None:
        jsonl = JsonlLog(log, clock.now())
        bus.subscribe(jsonl)
        closers.append(jsonl.close)
    world = World(clock, bus, phonebook=scenario.phonebook, isp=scenario.isp, loop=loop)
    hosts: dict[str, ModemHost] = {}
    for spec in scenario.modems:
        host = ModemHost(load_profile(spec.profile), clock, bus, name=spec.name, number=spec.number)
        hosts[spec.name] = world.add(host)
        closers.append(host.close)
        if spec.pty is not None:
            assert loop is not None
            pty = PtyPort(host, spec.pty, loop)
            pty.open()
            closers.append(pty.close)
            print(f"{spec.name}: {spec.profile} on {spec.pty}", file=out)
    dialers, agents = [], []
    for n, wanted in enumerate(scenario.dialers):
        source = f"dialer-{wanted.modem}"
        bus.subscribe(
            Transcript(out, caller=wanted.modem, dialer=source, start=clock.now(), others=n == 0)
        )
        dialer = Dialer(wanted.config, seed=n)
        agents.append(start_dialer(hosts[wanted.modem], clock, bus, dialer, source=source))
        dialers.append(dialer)
        if wanted.modem in wavs:
            closers.append(_CallSound(hosts[wanted.modem], bus, wavs[wanted.modem]).close)
    return Bench(world, dialers, closers, hosts, agents)


def run(
    scenario: Scenario, out: TextIO, *, log: Path | None = None, wav: Path | None = None
) -> int:
    """Run a scenario to its end; the exit status. `wav`: see the module's docstring."""
    if scenario.fast:
        clock = VirtualClock()
        bench = build_bench(scenario, clock, out, log, None, wav=wav)
        try:
            while not bench.done and clock.now() < LIMIT and clock.step():
                pass
        finally:
            bench.close()
        return bench.status()
    return asyncio.run(_run_real(scenario, out, log, wav))


async def _run_real(scenario: Scenario, out: TextIO, log: Path | None, wav: Path | None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bench = build_bench(scenario, LoopClock(loop), out, log, loop, wav=wav)
    try:
        deadline = loop.time() + LIMIT
        while not stop.is_set() and (not bench.dialers or not bench.done):
            if bench.dialers and loop.time() > deadline:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    finally:
        await bench.aclose()
    return bench.status() if bench.dialers else 0
