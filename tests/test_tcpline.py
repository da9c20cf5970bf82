"""Calls over real loopback TCP: dialing hosts, telnet hosts, trunks and raw clients."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from types import TracebackType

import pytest

from modememu.drivers.exchange import Exchange
from modememu.drivers.farmodem import ServiceModems
from modememu.drivers.host import ModemHost
from modememu.drivers.runner import LoopClock
from modememu.drivers.tcpconn import TcpConnected, TcpFailed, TcpRefused, TrunkUnexpected
from modememu.drivers.tcpline import TcpDialer, TcpListener
from modememu.events import Event, EventBus, Stamped
from modememu.line.trunk import (
    ACCEPT,
    OFFER,
    FrameType,
    TrunkMalformed,
    encode_data,
    encode_signal,
)
from modememu.modem.events import Connected, DataLost, Ringing
from modememu.modem.line import LineCaps, LineQuality
from modememu.phonebook import Entry, Phonebook
from modememu.profiles import load_profile

WAIT = 30.0  # generous: a call takes a few seconds of real training time
IAC, SB, SE, WILL, DO, NOP = 255, 250, 240, 251, 253, 241
ECHO, SGA, TTYPE = 1, 3, 24


class Station:
    """One modem with a DTE that records what the modem says."""

    def __init__(self, rig: LoopRig, host: ModemHost) -> None:
        self.rig = rig
        self.host = host
        self.received = bytearray()
        host.attach(self.received.extend)

    def at(self, line: str) -> None:
        self.host.from_dte(line.encode("latin-1") + b"\r")

    def send(self, data: bytes) -> None:
        self.host.from_dte(data)

    def take(self) -> bytes:
        data = bytes(self.received)
        self.received.clear()
        return data

    async def wait_for(self, text: bytes, timeout: float = WAIT) -> None:
        await self.rig.until(
            lambda: text in self.received,
            timeout,
            lambda: f"{self.host.name} never got {text!r}; got {bytes(self.received)!r}",
        )


class LoopRig:
    """One process's worth of modems on the real loop: clock, bus, exchange, TCP dialer."""

    def __init__(self, phonebook: Phonebook | None = None, *, pacing: bool = False) -> None:
        self.loop = asyncio.get_running_loop()
        self.clock = LoopClock(self.loop)
        self.bus = EventBus()
        self.stamped: list[Stamped] = []
        self.bus.subscribe(self.stamped.append)
        self.exchange = Exchange(self.clock, self.bus, phonebook)
        ServiceModems(self.exchange, pacing=False)
        self.dialer = TcpDialer(self.exchange, self.loop, pacing=pacing)
        self.exchange.dialer = self.dialer
        self.hosts: list[ModemHost] = []

    def station(
        self, name: str, number: str = "", profile: str = "hayes-smartmodem-2400"
    ) -> Station:
        host = ModemHost(
            load_profile(profile), self.clock, self.bus, name=name, number=number, pacing=False
        )
        host.plug(self.exchange)
        self.exchange.register(number, host)
        self.hosts.append(host)
        return Station(self, host)

    def events_of(self, kind: type[Event], source: str | None = None) -> list[Event]:
        return [
            s.event
            for s in self.stamped
            if isinstance(s.event, kind) and (source is None or s.source == source)
        ]

    async def until(
        self, done: Callable[[], bool], timeout: float = WAIT, why: Callable[[], str] = str
    ) -> None:
        end = self.loop.time() + timeout
        while not done():
            if self.loop.time() > end:
                raise AssertionError(why() or "condition never came true")
            await asyncio.sleep(0.01)

    async def __aenter__(self) -> LoopRig:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.dialer.close()
        for host in self.hosts:
            host.close()
        await asyncio.sleep(0)


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


# ----- dialing out to plain hosts -----


async def test_raw_host_carries_bytes_and_its_close_is_no_carrier() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
            if b"bye" in data:
                break
        writer.close()

    server, port = await serve(echo)
    async with LoopRig() as rig:
        a = rig.station("a")
        a.at(f'ATX4D"127.0.0.1:{port}"')
        await a.wait_for(b"CONNECT 2400\r\n")
        a.take()
        a.send(b"hello, host\r\n")
        await a.wait_for(b"hello, host\r\n")
        assert a.take() == b"hello, host\r\n"
        a.send(b"bye")
        await a.wait_for(b"NO CARRIER")
        # The echo sent just before the close still arrives, before NO CARRIER.
        assert a.take() == b"bye\r\nNO CARRIER\r\n"
        connected = rig.events_of(TcpConnected)
        assert connected == [TcpConnected(f"127.0.0.1:{port}", "raw", incoming=False)]
    server.close()
    await server.wait_closed()


async def test_banner_waits_for_carrier_and_all_of_it_arrives_before_no_carrier() -> None:
    banner = b"".join(b"line %03d of the welcome screen\r\n" % n for n in range(20))

    async def greet_and_go(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner)  # at once, long before the caller has carrier
        await writer.drain()
        writer.close()

    server, port = await serve(greet_and_go)
    async with LoopRig(pacing=True) as rig:  # the far modem sends at 2400 bit/s
        a = rig.station("a")
        a.at(f'ATX4D"127.0.0.1:{port}"')
        await a.wait_for(b"NO CARRIER")
        echo = f'ATX4D"127.0.0.1:{port}"\r'.encode()
        assert a.take() == echo + b"\r\nCONNECT 2400\r\n" + banner + b"\r\nNO CARRIER\r\n"
    server.close()
    await server.wait_closed()


async def test_fast_host_is_read_only_as_fast_as_the_modem_sends() -> None:
    payload = bytes(range(256)) * 96  # 24 KiB: six times the modem's buffer

    async def firehose(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(payload)
        await writer.drain()
        writer.close()

    server, port = await serve(firehose)
    async with LoopRig(pacing=True) as rig:  # V.34 with V.42: about 4 KiB/s
        a = rig.station("a", profile="usr-courier-v34")
        a.at(f'ATX4D"127.0.0.1:{port}"')
        await a.wait_for(b"NO CARRIER", timeout=60)
        text = a.take()
        start = text.index(b"CONNECT")
        start = text.index(b"\r\n", start) + 2
        assert text[start:] == payload + b"\r\nNO CARRIER\r\n"
        assert rig.events_of(DataLost) == []
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
async def test_refused_connection_is_busy(name: str) -> None:
    port = closed_port()
    async with LoopRig() as rig:
        a = rig.station("a")
        a.at(f'ATX4D"{name}:{port}"')
        await a.wait_for(b"BUSY\r\n")
        assert b"NO CARRIER" not in a.received
        failed = rig.events_of(TcpFailed)
        assert len(failed) == 1 and isinstance(failed[0], TcpFailed)
        assert failed[0].heard == "busy"


async def test_unresolvable_host_is_no_dialtone() -> None:
    async with LoopRig() as rig:
        a = rig.station("a")
        a.at('ATX4D"nonexistent.invalid:23"')
        await a.wait_for(b"NO DIALTONE\r\n")
        # The caller is told once: the line is not also released under it.
        await asyncio.sleep(0.2)
        assert a.take() == b'ATX4D"nonexistent.invalid:23"\r\r\nNO DIALTONE\r\n'


async def test_telnet_host_split_into_single_bytes_gives_clean_text() -> None:
    heard = bytearray()
    ttype_is = bytes([IAC, SB, TTYPE, 0]) + b"ANSI" + bytes([IAC, SE])

    async def bbs(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def dribble(data: bytes) -> None:
            for at in range(len(data)):
                writer.write(data[at : at + 1])
                await writer.drain()
                await asyncio.sleep(0.005)

        async def listen() -> None:
            while chunk := await reader.read(1024):
                heard.extend(chunk)

        listening = asyncio.create_task(listen())
        await dribble(bytes([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, TTYPE]))
        while b"go" not in heard:  # the caller has carrier and typed
            await asyncio.sleep(0.01)
        text = b"Wel" + bytes([IAC, NOP]) + b"come" + bytes([IAC, SB, TTYPE, 1, IAC, SE])
        await dribble(text + b"!\r\n")
        while ttype_is not in heard:
            await asyncio.sleep(0.01)
        writer.close()
        listening.cancel()

    server, port = await serve(bbs)
    book = Phonebook({"5551234": Entry("5551234", "tcp", host=("127.0.0.1", port), telnet=True)})
    async with LoopRig(book) as rig:
        a = rig.station("a")
        a.at("ATX4DT5551234")
        await a.wait_for(b"CONNECT 2400\r\n")
        a.take()
        a.send(b"go\r")
        await a.wait_for(b"NO CARRIER")
        assert a.take() == b"Welcome!\r\n\r\nNO CARRIER\r\n"
        assert ttype_is in heard  # our negotiation replies reached the host
        assert rig.events_of(TcpConnected)[0] == TcpConnected(
            f"127.0.0.1:{port}", "telnet", incoming=False
        )
    server.close()
    await server.wait_closed()


# ----- between two processes, and raw clients calling in -----


async def test_trunk_between_two_exchanges_rings_and_connects() -> None:
    async with LoopRig() as near, LoopRig() as far:
        target = far.station("target", "5550160", profile="hayes-smartmodem-1200")
        target.at("ATS0=2")
        await target.wait_for(b"OK\r\n")
        listener = TcpListener(far.exchange, target.host, "127.0.0.1", 0, pacing=False)
        _, port = await listener.start()
        caller = near.station("caller")
        caller.at(f'AT&D2X4D"127.0.0.1:{port}"')
        # Capabilities crossed both ways: the 2400 caller and the 1200 target agree on 1200.
        await target.wait_for(b"CONNECT")
        await caller.wait_for(b"CONNECT 1200\r\n")
        links = [*far.events_of(Connected, "target"), *near.events_of(Connected, "caller")]
        assert links == [Connected("B212", 1200, 1200, None)] * 2
        assert target.received.count(b"RING\r\n") == 2
        rings = far.events_of(Ringing, "target")
        assert [r.count for r in rings if isinstance(r, Ringing)] == [1, 2]
        assert near.events_of(TcpConnected)[0] == TcpConnected(
            f"127.0.0.1:{port}", "trunk", incoming=False
        )
        peer = far.events_of(TcpConnected)
        assert len(peer) == 1 and isinstance(peer[0], TcpConnected) and peer[0].mode == "trunk"
        target.take()
        caller.take()

        caller.send(b"ping over the trunk\r\n")
        await target.wait_for(b"ping over the trunk\r\n")
        target.send(b"pong back\r\n")
        await caller.wait_for(b"pong back\r\n")

        caller.host.set_dtr(False)  # &D2: the caller hangs up; the trunk says so
        await target.wait_for(b"NO CARRIER\r\n")
        await listener.close()


async def test_trunk_peer_sending_nonsense_is_counted_and_survived() -> None:
    heard = bytearray()
    done = asyncio.Event()

    async def fake_peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(OFFER)
        answer = await reader.readexactly(len(ACCEPT) + 4)
        assert answer[:3] == ACCEPT and answer[3] == FrameType.CALLER
        caller = await reader.readexactly(int.from_bytes(answer[4:], "big"))
        heard.extend(caller)
        writer.write(bytes([0x99, 0, 0, 1]) + b"?")  # unknown frame type
        writer.write(bytes([FrameType.RINGING, 0, 0, 3]) + b"{x}")  # not JSON
        writer.write(encode_signal(FrameType.ANSWERED, carrier=True, max_rate="fast"))
        caps = LineCaps(("V22B",), 2400).to_json()
        writer.write(encode_signal(FrameType.ANSWERED, **caps))
        await asyncio.sleep(8)  # V.25 answer tone, then V.22bis trains: about 7.3 s
        writer.write(encode_data(b"hello through the trunk"))
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.write(bytes([FrameType.DATA, 0xFF, 0xFF, 0xFF]))  # over MAX_FRAME: no resync
        await writer.drain()
        heard.extend(await reader.read())  # until the dialer hangs up and closes
        done.set()

    server, port = await serve(fake_peer)
    async with LoopRig() as rig:
        a = rig.station("a", "5550111")
        a.at(f'ATX4&M0D"127.0.0.1:{port}"')  # &M0: no V.42 detection to wait for
        await a.wait_for(b"CONNECT 2400\r\n")
        await a.wait_for(b"hello through the trunk")
        await a.wait_for(b"NO CARRIER\r\n")
        await asyncio.wait_for(done.wait(), WAIT)
        assert json.loads(heard[: heard.index(b"}}") + 2]) == {  # ends with the line's object
            "number": "5550111",
            **rig.hosts[0].caps().to_json(),
            "line": LineQuality().to_json(),
        }
        assert heard.endswith(encode_signal(FrameType.HANGUP))
        malformed = rig.events_of(TrunkMalformed)
        assert [m.count for m in malformed if isinstance(m, TrunkMalformed)] == [1, 2, 3]
        unexpected = rig.events_of(TrunkUnexpected)
        assert len(unexpected) == 1  # the ANSWERED with a rate that is not a number
    server.close()
    await server.wait_closed()


async def test_trunk_carries_busy_from_an_off_hook_target() -> None:
    async with LoopRig() as near, LoopRig() as far:
        target = far.station("target")
        target.at("ATH1")  # off-hook: a call to it finds the line busy
        await target.wait_for(b"OK\r\n")
        listener = TcpListener(far.exchange, target.host, "127.0.0.1", 0, pacing=False)
        _, port = await listener.start()
        caller = near.station("caller")
        caller.at(f'ATX4D"127.0.0.1:{port}"')
        await caller.wait_for(b"BUSY\r\n")
        assert b"RING" not in target.received
        assert near.events_of(TcpConnected)[0] == TcpConnected(
            f"127.0.0.1:{port}", "trunk", incoming=False
        )
        await listener.close()


async def test_raw_client_calls_the_target_and_a_second_one_hears_busy() -> None:
    async with LoopRig() as rig:
        target = rig.station("target")
        target.at("ATS0=1")
        await target.wait_for(b"OK\r\n")
        listener = TcpListener(rig.exchange, target.host, "127.0.0.1", 0, pacing=False)
        _, port = await listener.start()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.readexactly(len(OFFER)), WAIT) == OFFER
        await target.wait_for(b"CONNECT 2400\r\n")
        assert b"RING\r\n" in target.received
        await rig.until(lambda: len(rig.events_of(Connected)) == 2)  # target and gateway
        target.take()

        writer.write(b"hello from the client\r\n")
        await target.wait_for(b"hello from the client\r\n")
        target.send(b"hello from the modem\r\n")
        line = await asyncio.wait_for(reader.readuntil(b"\n"), WAIT)
        assert line == b"hello from the modem\r\n"

        second_reader, second_writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(second_reader.read(), WAIT) == OFFER + b"BUSY\r\n"
        second_writer.close()
        assert TcpRefused(f"127.0.0.1:{second_writer.get_extra_info('sockname')[1]}", "busy") in (
            rig.events_of(TcpRefused)
        )

        # The first call is untouched, both ways.
        target.send(b"still there?\r\n")
        line = await asyncio.wait_for(reader.readuntil(b"\n"), WAIT)
        assert line == b"still there?\r\n"
        writer.write(b"still here\r\n")
        await target.wait_for(b"still here\r\n")

        writer.close()  # the client hangs up: the gateway drops, the target loses carrier
        await target.wait_for(b"NO CARRIER\r\n")
        await listener.close()


async def test_raw_client_is_turned_away_while_target_dtr_is_off() -> None:
    async with LoopRig() as rig:
        target = rig.station("target")
        target.at("AT&D2S0=1")
        await target.wait_for(b"OK\r\n")
        target.host.set_dtr(False)
        await asyncio.sleep(0.2)  # longer than S25
        listener = TcpListener(rig.exchange, target.host, "127.0.0.1", 0, pacing=False)
        _, port = await listener.start()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), WAIT) == OFFER  # then closed, no BUSY
        writer.close()
        assert rig.events_of(Ringing) == []
        refused = rig.events_of(TcpRefused)
        assert len(refused) == 1 and isinstance(refused[0], TcpRefused)
        assert refused[0].reason == "refused"
        await listener.close()
