"""Our TCP against the Linux kernel's, through a TUN device in a private namespace.

Both directions: our client talks to a kernel echo server, and a kernel client
talks to our echo service. Each exchange opens with the three-way handshake,
moves data both ways and ends with FIN both ways; the kernel must never answer
one of our segments with RST, and tshark must find the capture clean. The
clock is the real one here (the kernel does not run on ours); timeouts are
only failure guards.
"""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pppair import Pair
from tshark import decode, problems
from tunrig import KERNEL, US, KernelNamespace

from modememu.agents.dialer import Dialer, DialerConfig
from modememu.agents.isp import IspConfig
from modememu.capture.pcap import SlipPcapWriter
from modememu.drivers.agentdte import start_dialer
from modememu.drivers.host import ModemHost
from modememu.drivers.runner import LoopClock
from modememu.drivers.tun import TunDevice, TunEndpoint, TunGateway
from modememu.drivers.world import World
from modememu.events import EventBus, Stamped
from modememu.link.ppp.session import Phase
from modememu.net import events as ev
from modememu.net.services import Echo
from modememu.net.stack import NetStack
from modememu.net.tcp.connection import TcpConfig, TcpState
from modememu.net.tcp.wire import RST, SYN
from modememu.profiles import load_profile

WAIT = 15.0
MESSAGE = bytes(range(256)) * 40  # 10 KiB: several full segments each way
CONFIG = TcpConfig(msl=0.5)  # a short TIME-WAIT, so the test sees it end


class Link:
    """Our stack on one side of the TUN device, pumped on the real clock, recorded to a pcap."""

    def __init__(self, device: TunDevice, stack: NetStack, pcap: Path) -> None:
        self.device = device
        self.stack = stack
        self.events: list[ev.NetEvent] = []
        self._stream = pcap.open("wb")
        self._pcap = SlipPcapWriter(self._stream)

    def pump_until(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not done():
            now = time.monotonic()
            if now > deadline:
                raise AssertionError(f"gave up waiting for {what}")
            self._flush()
            timer = self.stack.get_timer()
            wait = min(0.05, max(timer - now, 0.0)) if timer is not None else 0.05
            ready, _, _ = select.select([self.device.fileno()], [], [], wait)
            if ready:
                while packet := self.device.read_packet():
                    self._pcap.packet(time.time(), packet)
                    self.stack.receive_packet(packet, time.monotonic())
            self.stack.handle_timer(time.monotonic())
        self._flush()

    def _flush(self) -> None:
        while (packet := self.stack.next_packet()) is not None:
            self._pcap.packet(time.time(), packet)
            self.device.write_packet(packet)
        while (event := self.stack.next_event()) is not None:
            self.events.append(event)

    def close(self) -> None:
        self._stream.close()

    def received(self) -> list[ev.TcpSegmentSeen]:
        return [e for e in self.events if isinstance(e, ev.TcpSegmentSeen) and not e.sent]

    def states(self, connection: int) -> list[str]:
        return [
            e.new
            for e in self.events
            if isinstance(e, ev.TcpStateChanged) and e.connection == connection
        ]


def kernel_echo_server(listener: socket.socket) -> threading.Thread:
    """Accept one connection, echo until EOF, then close: a plain BSD-sockets server."""

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def kernel_echo(ns: KernelNamespace) -> threading.Thread:
    """A kernel echo server on KERNEL:7 inside the namespace."""
    listener = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((KERNEL, 7))
    listener.listen(1)
    return kernel_echo_server(listener)


def assert_clean(link: Link, pcap: Path) -> None:
    link.close()
    assert [s for s in link.received() if s.flags & RST] == [], "the kernel sent RST"
    assert problems(pcap) == []
    # tshark saw the same handshake: the first two segments are SYN and SYN-ACK.
    flags = [row[0] for row in decode(pcap, "tcp.flags.str")]
    assert len(flags) >= 3


@pytest.mark.peer
def test_our_client_talks_to_the_kernels_echo_server(tmp_path: Path) -> None:
    pcap = tmp_path / "client.pcap"
    with KernelNamespace() as ns:
        device = ns.open_tun()
        server = kernel_echo(ns)
        stack = NetStack(US, config=CONFIG)
        link = Link(device, stack, pcap)
        conn = stack.connect(KERNEL, 7, time.monotonic())
        link.pump_until(lambda: stack.state(conn) is TcpState.ESTABLISHED, "the handshake")
        sent = 0
        echoed = bytearray()

        def echoed_all() -> bool:
            nonlocal sent
            sent += stack.send(conn, MESSAGE[sent:], time.monotonic())
            echoed.extend(stack.receive(conn))
            return len(echoed) == len(MESSAGE)

        link.pump_until(echoed_all, "the echo")
        assert bytes(echoed) == MESSAGE
        stack.close(conn, time.monotonic())
        link.pump_until(lambda: stack.state(conn) is TcpState.CLOSED, "the close")
        server.join(WAIT)
        assert link.states(conn) == [
            "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED",
        ]  # fmt: skip
        first = link.received()[0]
        assert first.flags & SYN and first.mss == 1460  # the kernel's MSS for MTU 1500
        assert_clean(link, pcap)


@pytest.mark.peer
def test_the_kernel_talks_to_our_echo_service(tmp_path: Path) -> None:
    pcap = tmp_path / "server.pcap"
    with KernelNamespace() as ns:
        device = ns.open_tun()
        stack = NetStack(US, config=CONFIG)
        stack.serve(7, Echo)
        link = Link(device, stack, pcap)
        client = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.settimeout(WAIT)
        reply = bytearray()
        done = threading.Event()

        def talk() -> None:
            client.connect((US, 7))
            client.sendall(MESSAGE)
            client.shutdown(socket.SHUT_WR)  # our FIN-WAIT-2 ... their FIN
            while data := client.recv(65536):
                reply.extend(data)
            client.close()
            done.set()

        thread = threading.Thread(target=talk, daemon=True)
        thread.start()
        link.pump_until(done.is_set, "the kernel client to finish")
        link.pump_until(lambda: not stack.connections, "our side to close")
        thread.join(WAIT)
        assert bytes(reply) == MESSAGE
        states = [e.new for e in link.events if isinstance(e, ev.TcpStateChanged)]
        assert states == ["SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
        assert_clean(link, pcap)


@pytest.mark.peer
def test_a_ppp_link_carries_our_tcp_into_the_kernel_through_tun() -> None:
    # Our stack -> PPP client -> HDLC line -> PPP server -> TUN -> the kernel's TCP.
    pair = Pair.of(["noauth", f"{US}:{KERNEL}"], ["noauth", f"{KERNEL}:{US}"])
    pair.open()
    pair.run()  # LCP and IPCP on virtual time: no kernel involved yet
    assert pair.client.phase is Phase.RUNNING and pair.client.local_address == US
    with KernelNamespace() as ns:
        device = ns.open_tun()
        server = kernel_echo(ns)
        stack = NetStack(US, config=CONFIG)
        conn = stack.connect(KERNEL, 7, time.monotonic())
        sent = 0
        echoed = bytearray()
        deadline = time.monotonic() + WAIT
        while len(echoed) < len(MESSAGE) and time.monotonic() < deadline:
            now = pair.now = time.monotonic()
            sent += stack.send(conn, MESSAGE[sent:], now)
            while (packet := stack.next_packet()) is not None:
                pair.client.send_ip(packet, now)
            pair.step()  # octets over the line, both ways
            while (datagram := pair.server.next_datagram()) is not None:
                device.write_packet(datagram)
            if select.select([device.fileno()], [], [], 0.01)[0]:
                while packet := device.read_packet():
                    pair.server.send_ip(packet, now)
            pair.step()
            while (datagram := pair.client.next_datagram()) is not None:
                stack.receive_packet(datagram, now)
            stack.handle_timer(now)
            echoed.extend(stack.receive(conn))
        stack.close(conn, time.monotonic())
        server.join(0)
        assert bytes(echoed) == MESSAGE


@pytest.mark.peer
def test_an_isp_with_a_tun_gateway_lets_the_dialer_reach_a_kernel_listener() -> None:
    # The whole call on the real clock: a dialer on one modem dials the ISP at 5550100,
    # whose IP packets go into TUN, where the kernel's own TCP is the echo server.
    isp = IspConfig()
    with KernelNamespace() as ns:
        device = ns.open_tun(address=isp.server, peer=isp.pool)
        listener = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((isp.server, 7))
        listener.listen(1)
        server = kernel_echo_server(listener)
        events: list[Stamped] = []

        async def session() -> Dialer:
            loop = asyncio.get_running_loop()
            clock, bus = LoopClock(loop), EventBus()
            bus.subscribe(events.append)
            gateway = TunGateway(TunEndpoint(device), loop)
            world = World(clock, bus, loop=loop, gateway=gateway)
            caller = world.add(ModemHost(load_profile("zyxel-u1496e"), clock, bus, name="caller"))
            dialer = Dialer(DialerConfig(number="5550100"), seed=1)
            start_dialer(caller, clock, bus, dialer, source="dialer")
            deadline = loop.time() + 60
            while dialer.step != "done" and loop.time() < deadline:
                await asyncio.sleep(0.05)
            gateway.endpoint.detach()
            await world.close()
            return dialer

        dialer = asyncio.run(session())
        server.join(WAIT)
        assert dialer.result is not None and dialer.result.code == 0, dialer.result
        seen = [s.event for s in events if s.source == "dialer"]
        synack = next(e for e in seen if isinstance(e, ev.TcpSegmentSeen) and not e.sent)
        assert synack.flags & SYN and synack.mss == 1460  # the kernel's SYN-ACK (MTU 1500)
        assert not [e for e in seen if isinstance(e, ev.TcpSegmentSeen) and e.flags & RST]
