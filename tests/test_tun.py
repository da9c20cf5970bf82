"""The TUN driver against the Linux kernel's own TCP, in a private network namespace.

The packets our side sends are hand-built (tests/handbuilt.py), so these tests
check the driver and the kernel, not our TCP against itself. Timeouts are only
failure guards: every wait returns as soon as the packet is there.
"""

from __future__ import annotations

import asyncio
import errno
import os
import select
import shutil
import socket
import stat
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from handbuilt import ACK, FIN, PSH, SYN, TcpSegment, checksum, parse_tcp, segment, syn
from serving import require, unavailable
from tshark import decode, problems
from tunrig import KERNEL, US, KernelNamespace, read_packet

import modememu.drivers.tun as tun_driver
from modememu.capture.pcap import SlipPcapWriter
from modememu.drivers.tun import (
    IFNAMSIZ,
    TUN_PATH,
    TunDevice,
    TunEndpoint,
    TunError,
    check_name,
    disable_ipv6,
    is_ipv4,
)

WAIT = 10.0  # failure guard for anything the kernel should answer at once
ISN = 0x1000_0000
OUR_PORT = 40000
NOBODY = "65534"

# A minimal IPv6 header (version 6, no payload, next header "none", :: -> ::1).
IPV6_PACKET = bytes([0x60, 0, 0, 0, 0, 0, 59, 64]) + bytes(16) + bytes(15) + b"\x01"
IPV4_PACKET = syn(US, OUR_PORT, KERNEL, 7, ISN)


@pytest.fixture
def ns() -> Iterator[KernelNamespace]:
    with KernelNamespace() as namespace:
        yield namespace


class Recorder:
    """Both directions of one TUN device, each packet also written to a raw IPv4 pcap."""

    def __init__(self, device: TunDevice, path: Path) -> None:
        self.device = device
        self.count = 0
        self._stream = path.open("wb")
        self._pcap = SlipPcapWriter(self._stream)

    def send(self, packet: bytes) -> None:
        self.device.write_packet(packet)
        self._record(packet)

    def expect(self, what: str, match: Callable[[TcpSegment], bool]) -> TcpSegment:
        """The first packet from the kernel that `match`es; fails with what came instead."""
        seen: list[str] = []
        deadline = time.monotonic() + WAIT
        while (left := deadline - time.monotonic()) > 0:
            packet = read_packet(self.device, left)
            if not packet:
                break
            self._record(packet)
            tcp = parse_tcp(packet)
            if match(tcp):
                return tcp
            seen.append(repr(tcp))
        raise AssertionError(f"no {what} from the kernel; it sent {seen or 'nothing'}")

    def close(self) -> None:
        self._stream.close()

    def _record(self, packet: bytes) -> None:
        self._pcap.packet(time.time(), packet)
        self.count += 1


def checksums_ok(packet: bytes) -> None:
    """Both checksums of an IPv4/TCP datagram verify with handbuilt.checksum (sum to zero)."""
    ihl = (packet[0] & 0x0F) * 4
    total = struct.unpack_from("!H", packet, 2)[0]
    pseudo = packet[12:20] + struct.pack("!BBH", 0, 6, total - ihl)
    assert checksum(packet[:ihl]) == 0, "bad IPv4 header checksum"
    assert checksum(pseudo + packet[ihl:total]) == 0, "bad TCP checksum"


# -- the kernel listens -----------------------------------------------------------


@pytest.mark.peer
def test_kernel_accepts_a_hand_built_handshake(ns: KernelNamespace, tmp_path: Path) -> None:
    tun = ns.open_tun()
    server = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((KERNEL, 7))
    server.listen(1)
    server.settimeout(WAIT)
    capture = tmp_path / "tun.pcap"
    wire = Recorder(tun, capture)
    try:
        wire.send(syn(US, OUR_PORT, KERNEL, 7, ISN))
        synack = wire.expect("SYN-ACK", lambda s: s.has(SYN | ACK))
        assert (synack.src, synack.sport, synack.dst, synack.dport) == (KERNEL, 7, US, OUR_PORT)
        assert synack.ack == ISN + 1
        assert synack.mss == 1460
        assert synack.ip_checksum_ok and synack.tcp_checksum_ok

        ours, theirs = ISN + 1, synack.seq + 1
        wire.send(segment(US, OUR_PORT, KERNEL, 7, seq=ours, ack=theirs, flags=ACK))
        conn, peer = server.accept()
        conn.settimeout(WAIT)
        assert peer == (US, OUR_PORT)

        # One round of data each way, so the capture has more than the handshake.
        hello = b"hello kernel\r\n"
        wire.send(segment(US, OUR_PORT, KERNEL, 7, seq=ours, ack=theirs, flags=PSH | ACK,
                          payload=hello))  # fmt: skip
        assert conn.recv(100) == hello
        ours += len(hello)
        wire.expect("ACK of our data", lambda s: s.has(ACK) and s.ack == ours)
        conn.sendall(b"hello modem\r\n")
        data = wire.expect("data", lambda s: bool(s.payload))
        assert (data.seq, data.payload) == (theirs, b"hello modem\r\n")
        theirs += len(data.payload)
        wire.send(segment(US, OUR_PORT, KERNEL, 7, seq=ours, ack=theirs, flags=ACK))
        conn.close()
        fin = wire.expect("FIN", lambda s: s.has(FIN))
        assert fin.seq == theirs
    finally:
        wire.close()

    assert tun.dropped_non_ipv4 == 0 and tun.dropped_writes == 0
    assert problems(capture) == []
    rows = decode(capture, "ip.src", "tcp.srcport", "tcp.flags.str")
    assert len(rows) == wire.count
    assert rows[0][:2] == [US, str(OUR_PORT)]
    assert rows[1][:2] == [KERNEL, "7"]


@pytest.mark.peer
def test_ipv6_is_off_on_the_device(ns: KernelNamespace) -> None:
    tun = ns.open_tun()
    setting = f"/proc/sys/net/ipv6/conf/{tun.name}/disable_ipv6"
    if ns.run(["test", "-e", "/proc/sys/net/ipv6"]).returncode != 0:
        pytest.skip("this kernel has no IPv6")
    assert ns.run(["cat", setting]).stdout == "1\n"
    shown = ns.run(["ip", "-o", "addr", "show", "dev", tun.name]).stdout
    assert f"inet {KERNEL} peer {US}/32" in shown
    assert "inet6" not in shown
    assert "POINTOPOINT" in ns.run(["ip", "-o", "link", "show", "dev", tun.name]).stdout


# -- the kernel connects out -------------------------------------------------------


@pytest.mark.peer
@pytest.mark.parametrize("mtu", [1500, 576])
def test_kernel_connect_sends_a_syn_with_mss(ns: KernelNamespace, mtu: int) -> None:
    tun = ns.open_tun(mtu=mtu)
    client = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setblocking(False)
    assert client.connect_ex((US, 80)) == errno.EINPROGRESS
    packet = read_packet(tun, WAIT)
    assert packet, "the kernel sent no SYN"
    checksums_ok(packet)
    first = parse_tcp(packet)
    assert (first.src, first.dst, first.dport) == (KERNEL, US, 80)
    assert first.flags & (SYN | ACK) == SYN
    assert first.mss == mtu - 40


@pytest.mark.peer
async def test_endpoint_completes_a_kernel_connect(ns: KernelNamespace) -> None:
    loop = asyncio.get_running_loop()
    endpoint = TunEndpoint(ns.open_tun())
    packets: asyncio.Queue[bytes] = asyncio.Queue()
    endpoint.attach(loop, packets.put_nowait)
    try:
        client = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setblocking(False)
        assert client.connect_ex((US, 80)) == errno.EINPROGRESS
        first = parse_tcp(await asyncio.wait_for(packets.get(), WAIT))
        assert first.has(SYN) and first.mss == 1460

        ours = 0x2000_0000
        mss = struct.pack("!BBH", 2, 4, 1460)
        endpoint.send(segment(US, 80, KERNEL, first.sport, seq=ours, ack=first.seq + 1,
                              flags=SYN | ACK, options=mss))  # fmt: skip
        ack = parse_tcp(await asyncio.wait_for(packets.get(), WAIT))
        assert ack.flags & (SYN | ACK) == ACK
        assert (ack.seq, ack.ack) == (first.seq + 1, ours + 1)
        _, writable, _ = select.select([], [client], [], WAIT)
        assert writable and client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
        assert client.getpeername() == (US, 80)
        assert (endpoint.received, endpoint.sent) == (2, 1)
    finally:
        endpoint.detach()


# -- refusals ---------------------------------------------------------------------

_OPEN_AS_NOBODY = f"""
import sys
import modememu.drivers.tun as tun
tun.TUN_PATH = sys.argv[1]
try:
    tun.TunDevice.open(address={KERNEL!r}, peer={US!r})
except tun.TunError as error:
    print(error)
else:
    print("opened a TUN device without privileges")
"""


@pytest.fixture
def open_node(tmp_path: Path) -> Iterator[str]:
    """A world-readable-and-writable TUN device node, as many distributions ship it.

    Opening it then succeeds for anyone and TUNSETIFF is what refuses (EPERM),
    while the container's own /dev/net/tun may be mode 0600 (EACCES at open).
    """
    folder = Path(tempfile.mkdtemp(prefix="mmtest-tun-"))
    try:
        folder.chmod(0o755)
        node = folder / "tun"
        try:
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(10, 200))
        except OSError as error:
            pytest.skip(f"cannot make a device node here: {error.strerror}")
        node.chmod(0o666)
        yield str(node)
    finally:
        shutil.rmtree(folder)


@pytest.mark.peer
@pytest.mark.parametrize("node", ["system", "world-writable"])
def test_unprivileged_open_is_one_clear_line(
    ns: KernelNamespace, node: str, request: pytest.FixtureRequest
) -> None:
    as_nobody = [require("setpriv"), f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                 sys.executable, "-I", "-c"]  # fmt: skip
    tried = ns.run([*as_nobody, "import modememu.drivers.tun"])
    if tried.returncode != 0:
        unavailable(f"this Python cannot run as an unprivileged user: {tried.stderr.strip()}")
    path = TUN_PATH if node == "system" else request.getfixturevalue("open_node")
    done = ns.run([*as_nobody, _OPEN_AS_NOBODY, path])
    assert (done.returncode, done.stderr) == (0, ""), done
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert "permission denied" in lines[0]
    assert "CAP_NET_ADMIN" in lines[0]
    assert "Traceback" not in done.stdout
    if node == "world-writable":  # the open succeeded; creating the interface is refused
        assert lines[0].startswith("cannot create TUN device 'mm%d': permission denied")


def test_missing_device_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tun_driver, "TUN_PATH", str(tmp_path / "no-tun"))
    with pytest.raises(TunError, match=r"no-tun is missing \(modprobe tun\)$"):
        TunDevice.open(address=KERNEL, peer=US)


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("x" * IFNAMSIZ, "too long"),
        ("", "empty"),
        ("a/b", "not valid"),
        ("a b", "not valid"),
        ("mm%s", "not valid"),
        ("m%d%d", "not valid"),
    ],
)
def test_bad_names_are_refused_before_anything_opens(name: str, complaint: str) -> None:
    with pytest.raises(TunError, match=complaint) as raised:
        TunDevice.open(name, address=KERNEL, peer=US)
    assert "\n" not in str(raised.value)


def test_names_the_kernel_takes() -> None:
    assert check_name("x" * (IFNAMSIZ - 1)) == b"x" * (IFNAMSIZ - 1)
    assert check_name("mm%d") == b"mm%d"


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"address": "192.0.2.300", "peer": US}, "not an IPv4 address"),
        ({"address": KERNEL, "peer": "::1"}, "not an IPv4 address"),
        ({"address": KERNEL, "peer": US, "mtu": 67}, "out of range"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], complaint: str) -> None:
    with pytest.raises(TunError, match=complaint):
        TunDevice.open(**kwargs)  # type: ignore[arg-type]


def test_tun_error_is_a_port_error() -> None:
    from modememu.drivers.errors import PortError

    assert issubclass(TunError, PortError)


# -- the packet filter, on a fake device ------------------------------------------


@pytest.fixture
def fake() -> Iterator[tuple[TunDevice, socket.socket]]:
    """A TunDevice on one end of a datagram socketpair (one packet per read, like TUN)."""
    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    device = TunDevice(ours.detach(), "fake0")
    with device, kernel:
        yield device, kernel


def test_is_ipv4() -> None:
    assert is_ipv4(IPV4_PACKET)
    assert not is_ipv4(IPV6_PACKET)
    assert not is_ipv4(b"")
    assert not is_ipv4(IPV4_PACKET[:19])


def test_non_ipv4_packets_are_dropped_and_counted(fake: tuple[TunDevice, socket.socket]) -> None:
    device, kernel = fake
    assert device.read_packet() == b""
    for packet in (IPV6_PACKET, b"\x45\x00", IPV4_PACKET, IPV6_PACKET):
        kernel.send(packet)
    assert device.read_packet() == IPV4_PACKET
    assert device.read_packet() == b""
    assert device.dropped_non_ipv4 == 3


def test_write_and_close(fake: tuple[TunDevice, socket.socket]) -> None:
    device, kernel = fake
    device.write_packet(IPV4_PACKET)
    assert kernel.recv(65536) == IPV4_PACKET
    with pytest.raises(ValueError, match=r"1\.\.65535"):
        device.write_packet(b"")
    device.close()
    device.close()
    assert device.closed
    with pytest.raises(TunError, match="closed"):
        device.read_packet()


async def test_endpoint_delivers_only_ipv4(fake: tuple[TunDevice, socket.socket]) -> None:
    device, kernel = fake
    endpoint = TunEndpoint(device)
    got: asyncio.Queue[bytes] = asyncio.Queue()
    endpoint.attach(asyncio.get_running_loop(), got.put_nowait)
    try:
        kernel.send(IPV6_PACKET)
        kernel.send(IPV4_PACKET)
        assert await asyncio.wait_for(got.get(), WAIT) == IPV4_PACKET
        endpoint.send(IPV4_PACKET)
        assert kernel.recv(65536) == IPV4_PACKET
        assert (endpoint.received, endpoint.sent, device.dropped_non_ipv4) == (1, 1, 1)
        with pytest.raises(RuntimeError, match="already attached"):
            endpoint.attach(asyncio.get_running_loop(), got.put_nowait)
    finally:
        endpoint.close()
    endpoint.detach()
    assert device.closed


def test_disable_ipv6_without_ipv6(tmp_path: Path) -> None:
    assert disable_ipv6("mm0", proc=tmp_path) is False
    (tmp_path / "mm0").mkdir()
    assert disable_ipv6("mm0", proc=tmp_path) is True
    assert (tmp_path / "mm0" / "disable_ipv6").read_text() == "1\n"
