"""A Linux TUN device: IPv4 packets to and from the host kernel's own IP stack.

`TunDevice.open(address=..., peer=...)` creates a point-to-point interface
(`/dev/net/tun`, TUNSETIFF with IFF_TUN | IFF_NO_PI, so every read and write is
one bare IP datagram) and configures it with the classic ioctls on an AF_INET
datagram socket: local address, peer address, netmask 255.255.255.255, MTU, up.
IPv6 is switched off on it first, so the kernel sends no router solicitations
or MLD reports of its own: what comes out is what its IPv4 stack answers.

The interface lives in the network namespace of the thread that opens it and
disappears when the descriptor is closed (it is not made persistent). Once
open, the descriptor works from any thread.

Reads are non-blocking: `read_packet()` returns b"" when nothing is waiting.
Anything that is not IPv4 is dropped and counted (`dropped_non_ipv4`), as
DESIGN.md §8 asks of bad input. Refusals from the world (no permission, no
device, a bad name) are `TunError`, whose str() is one line for the user.

`TunEndpoint` is the asyncio side: it reads whenever the loop says the
descriptor is readable and hands each packet to a callback.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import ipaddress
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from modememu.drivers.errors import PortError

TUN_PATH = "/dev/net/tun"
DEFAULT_NAME = "mm%d"  # the kernel replaces %d with the first free number
IFNAMSIZ = 16  # includes the terminating NUL: names have at most 15 octets
MIN_MTU = 68  # RFC 791: every IPv4 host must take 68-octet datagrams
MAX_PACKET = 65535  # the IPv4 total length field

# <linux/if_tun.h>, <linux/sockios.h>, <linux/if.h>
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFDSTADDR = 0x8918
SIOCSIFNETMASK = 0x891C
SIOCSIFMTU = 0x8922
IFF_UP = 0x0001
IFF_POINTOPOINT = 0x0010
IFF_RUNNING = 0x0040

_IFREQ_SIZE = 40  # struct ifreq on 64-bit Linux: name[16] + a 24-octet union
_IFREQ_FLAGS = struct.Struct("16sH")
_IFREQ_INT = struct.Struct("16si")
_READ_SIZE = MAX_PACKET + 1  # one more than any IPv4 datagram, so nothing is cut
_DRAIN_LIMIT = 64  # packets handled per wakeup, so one busy device cannot starve the loop
_WRITE_DROPS = (errno.EAGAIN, errno.ENOBUFS, errno.EINVAL, errno.EIO)


class TunError(PortError):
    """The TUN device could not be opened or used; str() is one line for the user."""


def is_ipv4(packet: bytes) -> bool:
    """Whether `packet` can be an IPv4 datagram (version nibble 4, at least a minimal header)."""
    return len(packet) >= 20 and packet[0] >> 4 == 4


def check_name(name: str) -> bytes:
    """The interface name as the kernel takes it; TunError unless Linux would accept it."""
    raw = name.encode()
    if not raw:
        raise TunError("TUN device name is empty")
    if len(raw) >= IFNAMSIZ:
        raise TunError(f"TUN device name {name!r} is too long (at most {IFNAMSIZ - 1} octets)")
    if name in (".", "..") or any(c in "/:" or c.isspace() for c in name):
        raise TunError(f"TUN device name {name!r} is not valid (no '/', ':' or spaces)")
    if name.count("%") > 1 or ("%" in name and "%d" not in name):
        raise TunError(f"TUN device name {name!r} is not valid (the only pattern is one '%d')")
    return raw


def _ipv4(what: str, text: str) -> bytes:
    try:
        return ipaddress.IPv4Address(text).packed
    except ValueError:
        raise TunError(f"TUN {what} {text!r} is not an IPv4 address") from None


def _sockaddr(packed: bytes) -> bytes:
    """A struct sockaddr_in (family in host order, port 0), padded to 16 octets."""
    return struct.pack("=HH4s8x", socket.AF_INET, 0, packed)


def _ifreq(name: bytes, payload: bytes = b"") -> bytes:
    return (name.ljust(IFNAMSIZ, b"\0") + payload).ljust(_IFREQ_SIZE, b"\0")


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def _open_error(error: OSError, name: str, *, creating: bool) -> TunError:
    """A one-line TunError for a failure to open /dev/net/tun or to create the device."""
    code = error.errno
    if code in (errno.EACCES, errno.EPERM):
        what = f"create TUN device {name!r}" if creating else f"open {TUN_PATH}"
        return TunError(f"cannot {what}: permission denied (TUN needs root or CAP_NET_ADMIN)")
    if code == errno.ENOENT:
        return TunError(f"{TUN_PATH} is missing (modprobe tun)")
    if code in (errno.ENODEV, errno.ENXIO):
        return TunError(f"{TUN_PATH} has no driver behind it (modprobe tun)")
    if code == errno.EBUSY:
        return TunError(f"TUN device {name!r} is busy (another process has it open)")
    if code == errno.EINVAL:
        return TunError(
            f"cannot create TUN device {name!r}: invalid argument "
            "(is the name taken by an interface that is not a TUN device?)"
        )
    return TunError(f"cannot create TUN device {name!r}: {_reason(error)}")


class TunDevice:
    """One open TUN interface carrying bare IPv4 datagrams; see the module docstring.

    `TunDevice.open(...)` creates and configures a real interface. The
    constructor only wraps a descriptor that already delivers one packet per
    read (a real TUN fd, or in tests one end of a datagram socketpair); it
    takes ownership of `fd` and makes it non-blocking.
    """

    def __init__(self, fd: int, name: str, mtu: int = 1500) -> None:
        self._fd = fd
        self._name = name
        self.mtu = mtu
        self.dropped_non_ipv4 = 0  # packets read that were not IPv4
        self.dropped_writes = 0  # packets the kernel refused or had no room for
        os.set_blocking(fd, False)

    @classmethod
    def open(
        cls, name: str = DEFAULT_NAME, *, address: str, peer: str, mtu: int = 1500
    ) -> TunDevice:
        """Create the interface `name` (the kernel numbers a '%d'), `address` <-> `peer`, up.

        `address` is the kernel's end of the link, `peer` ours. Runs in the
        calling thread's network namespace.
        """
        raw_name = check_name(name)
        local, remote = _ipv4("address", address), _ipv4("peer address", peer)
        if not MIN_MTU <= mtu <= MAX_PACKET:
            raise TunError(f"TUN MTU {mtu} is out of range ({MIN_MTU}..{MAX_PACKET})")
        try:
            fd = os.open(TUN_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            raise _open_error(error, name, creating=False) from None
        try:
            flags = _IFREQ_FLAGS.pack(raw_name, IFF_TUN | IFF_NO_PI)
            answer = fcntl.ioctl(fd, TUNSETIFF, _ifreq(flags))
        except OSError as error:
            os.close(fd)
            raise _open_error(error, name, creating=True) from None
        actual = answer[:IFNAMSIZ].split(b"\0", 1)[0].decode()
        device = cls(fd, actual, mtu)
        try:
            device._configure(local, remote)
        except BaseException:
            device.close()
            raise
        return device

    def _configure(self, local: bytes, remote: bytes) -> None:
        disable_ipv6(self._name)  # before "up", or the kernel starts IPv6 at once
        raw_name = self._name.encode()
        steps = (
            ("set its address", SIOCSIFADDR, _sockaddr(local)),
            ("set its peer address", SIOCSIFDSTADDR, _sockaddr(remote)),
            ("set its netmask", SIOCSIFNETMASK, _sockaddr(b"\xff\xff\xff\xff")),
            ("set its MTU", SIOCSIFMTU, struct.pack("i", self.mtu)),
        )
        step = "open a control socket"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
                for what, request, payload in steps:
                    step = what
                    fcntl.ioctl(control, request, _ifreq(raw_name, payload))
                step = "bring it up"
                answer = fcntl.ioctl(control, SIOCGIFFLAGS, _ifreq(raw_name))
                _, flags = _IFREQ_FLAGS.unpack_from(answer)
                flags |= IFF_UP | IFF_RUNNING | IFF_POINTOPOINT
                fcntl.ioctl(control, SIOCSIFFLAGS, _ifreq(_IFREQ_FLAGS.pack(raw_name, flags)))
        except OSError as error:
            raise TunError(
                f"cannot configure TUN device {self._name!r}: {step}: {_reason(error)}"
            ) from None

    # -- the descriptor -----------------------------------------------------------

    @property
    def name(self) -> str:
        """The interface name the kernel gave (with '%d' filled in)."""
        return self._name

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def fileno(self) -> int:
        if self._fd < 0:
            raise TunError(f"TUN device {self._name!r} is closed")
        return self._fd

    def read_packet(self) -> bytes:
        """The next IPv4 datagram the kernel sent, or b"" if none is waiting (never blocks)."""
        fd = self.fileno()
        for _ in range(_DRAIN_LIMIT):
            try:
                packet = os.read(fd, _READ_SIZE)
            except BlockingIOError:
                return b""
            except OSError as error:
                raise TunError(f"reading TUN device {self._name!r}: {_reason(error)}") from None
            if not packet:
                return b""
            if is_ipv4(packet):
                return packet
            self.dropped_non_ipv4 += 1
        return b""  # only non-IPv4 so far; the descriptor stays readable for the rest

    def write_packet(self, packet: bytes) -> None:
        """Hand one IPv4 datagram to the kernel; one it refuses is dropped and counted."""
        if not packet or len(packet) > MAX_PACKET:
            raise ValueError(f"an IPv4 datagram has 1..{MAX_PACKET} octets, not {len(packet)}")
        fd = self.fileno()
        try:
            os.write(fd, packet)
        except OSError as error:
            if error.errno not in _WRITE_DROPS:
                raise TunError(f"writing TUN device {self._name!r}: {_reason(error)}") from None
            self.dropped_writes += 1

    def close(self) -> None:
        """Close the descriptor; the kernel then deletes the interface. Safe to repeat."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> TunDevice:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._fd < 0 else f"fd={self._fd}"
        return f"<TunDevice {self._name} {state} mtu={self.mtu}>"


def disable_ipv6(name: str, proc: Path = Path("/proc/sys/net/ipv6/conf")) -> bool:
    """Switch IPv6 off on interface `name`; False when the kernel has no IPv6 for it."""
    setting = proc / name / "disable_ipv6"
    try:
        setting.write_text("1\n")
    except FileNotFoundError:
        return False
    except OSError as error:
        raise TunError(f"cannot disable IPv6 on {name!r}: {_reason(error)}") from None
    return True


class TunEndpoint:
    """A TunDevice on an asyncio loop: packets in through a callback, out through `send`."""

    def __init__(self, device: TunDevice) -> None:
        self.device = device
        self.received = 0
        self.sent = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_packet: Callable[[bytes], None] | None = None
        self._on_error: Callable[[TunError], None] | None = None

    def attach(
        self,
        loop: asyncio.AbstractEventLoop,
        on_packet: Callable[[bytes], None],
        on_error: Callable[[TunError], None] | None = None,
    ) -> None:
        """Call `on_packet(packet)` for each IPv4 datagram; `on_error` once if reading fails."""
        if self._loop is not None:
            raise RuntimeError("this TunEndpoint is already attached")
        self._loop, self._on_packet, self._on_error = loop, on_packet, on_error
        loop.add_reader(self.device.fileno(), self._readable)

    def detach(self) -> None:
        """Stop reading (the device stays open). Safe to repeat."""
        loop, self._loop = self._loop, None
        if loop is not None and not self.device.closed:
            loop.remove_reader(self.device.fileno())

    def send(self, packet: bytes) -> None:
        """Write one IPv4 datagram to the kernel."""
        self.device.write_packet(packet)
        self.sent += 1

    def close(self) -> None:
        """Detach and close the device."""
        self.detach()
        self.device.close()

    def _readable(self) -> None:
        assert self._on_packet is not None
        for _ in range(_DRAIN_LIMIT):
            try:
                packet = self.device.read_packet()
            except TunError as error:
                self.detach()
                if self._on_error is not None:
                    self._on_error(error)
                return
            if not packet:
                return
            self.received += 1
            self._on_packet(packet)


class TunGateway:
    """A `TunEndpoint` as the packet port of an ISP with `gateway` (farmodem.PacketPort)."""

    def __init__(self, endpoint: TunEndpoint, loop: asyncio.AbstractEventLoop) -> None:
        self.endpoint = endpoint
        self.loop = loop

    def send(self, packet: bytes) -> None:
        self.endpoint.send(packet)

    def listen(self, on_packet: Callable[[bytes], None]) -> None:
        self.endpoint.attach(self.loop, on_packet)

    def close(self) -> None:
        self.endpoint.close()
