"""`modememu modem`: one emulated modem on one port, until SIGINT or SIGTERM.

Whoever started us waits for the single `ready <profile> on <where>` line on
stdout. Every failure the user can cause (a bad path, a busy device, an address
in use, a bad state file) ends as one line from the CLI, never a traceback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from modememu.agents.isp import IspConfig
from modememu.drivers.errors import PortError
from modememu.drivers.host import ModemHost, StateFileError
from modememu.drivers.pty import PtyPort
from modememu.drivers.rfc2217 import Rfc2217Server
from modememu.drivers.runner import LoopClock
from modememu.drivers.serialport import SerialDevicePort
from modememu.drivers.tcpline import TcpListener
from modememu.drivers.tun import TunDevice, TunEndpoint, TunGateway
from modememu.drivers.world import World
from modememu.events import EventBus, Stamped
from modememu.phonebook import Phonebook
from modememu.profiles import Profile


@dataclass(frozen=True)
class ServeOptions:
    profile: Profile
    pty: Path | None
    device: str | None
    baud: int
    rfc2217: tuple[str, int] | None
    number: str
    state_file: Path | None
    force_8n1: bool
    log: Path | None
    phonebook: Phonebook | None = None
    listen: tuple[str, int] | None = None
    pacing: bool = True
    gateway: str | None = None  # "tun": the ISP's callers reach the host kernel
    isp: IspConfig | None = None  # the ISP behind 5550100/5550101 (users, auth)


def run_modem(options: ServeOptions) -> int:
    """Serve until told to stop; returns the exit status.

    Errors are printed here as `modememu: ...` rather than raised as `CliError`:
    under `python -m modememu.cli` the CLI's module is `__main__`, so a `CliError`
    imported from `modememu.cli` would be a different class and escape its handler.
    """
    try:
        return asyncio.run(_serve(options))
    except (PortError, StateFileError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(os_error_line(exc))


def _fail(line: str) -> int:
    sys.stderr.write(f"modememu: {line}\n")
    sys.stderr.flush()
    return 1


def os_error_line(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


class JsonlLog:
    """Every event as one JSON object a line: time (s since start), source, type, fields."""

    def __init__(self, path: Path, start: float) -> None:
        try:
            self._file: IO[str] = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise PortError(f"cannot write log {path}: {exc.strerror or exc}") from None
        self._start = start

    def __call__(self, stamped: Stamped) -> None:
        record = {
            "time": round(stamped.time - self._start, 6),
            "source": stamped.source,
            "type": type(stamped.event).__name__,
            "fields": dataclasses.asdict(stamped.event),
        }
        self._file.write(json.dumps(record, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


async def _serve(options: ServeOptions) -> int:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_one_line_errors)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    clock = LoopClock(loop)
    bus = EventBus()
    cleanups: list[Callable[[], Any]] = []
    try:
        _, _, where = await open_modem(options, loop, clock, bus, cleanups)
        sys.stdout.write(f"ready {options.profile.name} on {where}\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await close_all(cleanups)
    return 0


async def close_all(cleanups: list[Callable[[], Any]]) -> None:
    """Run what `open_modem` left to clean up, last opened first."""
    for cleanup in reversed(cleanups):
        result = cleanup()
        if asyncio.iscoroutine(result):
            await result


async def open_modem(
    options: ServeOptions,
    loop: asyncio.AbstractEventLoop,
    clock: LoopClock,
    bus: EventBus,
    cleanups: list[Callable[[], Any]],
) -> tuple[ModemHost, World, str]:
    """The modem of `modememu modem` on its port, in its world; where it is.

    What needs closing is appended to `cleanups` as it opens (see `close_all`),
    so a failure half-way leaves nothing open once they have run.
    """
    if options.log is not None:
        log = JsonlLog(options.log, clock.now())
        bus.subscribe(log)
        cleanups.append(log.close)
    host = ModemHost(
        options.profile,
        clock,
        bus,
        name="modem",
        number=options.number,
        force_8n1=options.force_8n1,
        state_file=options.state_file,
        pacing=options.pacing,
    )
    cleanups.append(host.close)
    gateway = _gateway(options, loop, cleanups)
    world = World(
        clock,
        bus,
        phonebook=options.phonebook,
        pacing=options.pacing,
        loop=loop,
        isp=options.isp,
        gateway=gateway,
    )
    cleanups.append(world.close)
    world.add(host)
    where = await _open_port(options, host, loop, cleanups)
    if options.listen is not None:
        where += " listening on " + await _listen(options.listen, world, host, cleanups)
    return host, world, where


def _gateway(
    options: ServeOptions, loop: asyncio.AbstractEventLoop, cleanups: list[Callable[[], Any]]
) -> TunGateway | None:
    """A TUN device for the ISP numbers, between the ISP's server and first client address."""
    if options.gateway is None:
        return None
    isp = options.isp or IspConfig()
    device = TunDevice.open(address=isp.server, peer=isp.pool)  # TunError: one line
    gateway = TunGateway(TunEndpoint(device), loop)
    cleanups.append(gateway.close)
    return gateway


async def _open_port(
    options: ServeOptions,
    host: ModemHost,
    loop: asyncio.AbstractEventLoop,
    cleanups: list[Callable[[], Any]],
) -> str:
    if options.pty is not None:
        pty = PtyPort(host, options.pty, loop)
        pty.open()
        cleanups.append(pty.close)
        return str(options.pty)
    if options.device is not None:
        device = SerialDevicePort(host, options.device, options.baud, loop)
        device.open()
        cleanups.append(device.close)
        return options.device
    if options.rfc2217 is not None:
        server = Rfc2217Server(host, options.rfc2217)
        bound_host, port = await server.start()
        cleanups.append(server.close)
        return f"{bound_host}:{port}"
    raise PortError("no port given (--pty, --port or --rfc2217)")


async def _listen(
    address: tuple[str, int], world: World, host: ModemHost, cleanups: list[Callable[[], Any]]
) -> str:
    listener = TcpListener(world.exchange, host, address[0], address[1], pacing=world.pacing)
    bound_host, port = await listener.start()
    cleanups.append(listener.close)
    return f"{bound_host}:{port}"


def _one_line_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Report errors in callbacks as one line; a serial port's own errors are its to report."""
    exc = context.get("exception")
    transport = context.get("transport")
    if transport is not None and type(transport).__name__ == "SerialTransport":
        return  # the port sees connection_lost and says "lost" itself
    detail = f": {exc}" if exc is not None else ""
    sys.stderr.write(f"modememu: {context.get('message', 'error')}{detail}\n")
    sys.stderr.flush()
