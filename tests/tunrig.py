"""The Linux kernel's own TCP/IP in a private network namespace, reached through a TUN device.

`KernelNamespace` creates a namespace (`ip netns add mmtest-PID-N`) that holds
only `lo`, so the kernel behind the TUN device can reach nothing but what a
test puts there. One process does it all, without `ip netns exec`: a
dedicated thread opens /var/run/netns/NAME and calls setns(fd, CLONE_NEWNET)
through libc, which moves that thread alone into the namespace. Work that must
happen *inside* (opening the TUN device, creating sockets) runs on that
thread (`ns.call(fn)`); the descriptors it makes belong to the namespace for
good and work from any thread afterwards, so a test binds, listens, accepts,
selects and reads on its own thread. A sysctl under /proc/sys/net opened from
that thread is the namespace's, too.

    with KernelNamespace() as ns:
        tun = ns.open_tun()                       # kernel 192.0.2.1 <-> us 192.0.2.2
        server = ns.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind((KERNEL, 7)); server.listen()
        tun.write_packet(handbuilt.syn(US, 40000, KERNEL, 7, isn))
        reply = rig_read(tun, timeout=5)          # the kernel's SYN-ACK

On exit the rig closes every device and socket it handed out, stops its
thread and deletes the namespace, also when the test failed. A killed test
run leaves at most the namespace (`ip netns list`, named mmtest-PID-N).

Not root, no /dev/net/tun, no `ip`, or a namespace that cannot be made: the
test fails under CI=true and skips elsewhere (`serving.unavailable`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import itertools
import os
import queue
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar, cast

from serving import require, unavailable

from modememu.drivers.tun import TUN_PATH, TunDevice

T = TypeVar("T")

KERNEL = "192.0.2.1"  # the kernel's end of the link (TEST-NET-1, RFC 5737)
US = "192.0.2.2"  # our end: the address our packets come from
CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/var/run/netns")
COMMAND_TIMEOUT = 30.0

_serial = itertools.count()
_Job = tuple[Callable[[], object], "concurrent.futures.Future[object]"]


def _setns(fd: int, nstype: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns: {os.strerror(code)}")


class KernelNamespace:
    """A private network namespace and a thread inside it; see the module docstring."""

    def __init__(self) -> None:
        self.name = f"mmtest-{os.getpid()}-{next(_serial)}"
        self._ip = ""
        self._made = False
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._owned: list[TunDevice | socket.socket] = []

    # -- context manager --------------------------------------------------------

    def __enter__(self) -> KernelNamespace:
        self._ip = require("ip")
        if os.geteuid() != 0:
            unavailable("the kernel TCP rig needs root (network namespaces, TUN)")
        if not os.path.exists(TUN_PATH):
            unavailable(f"{TUN_PATH} is missing (modprobe tun)")
        try:
            self._make()
            self._start_thread()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close what the rig handed out, stop its thread, delete its namespace. Safe to repeat."""
        try:
            while self._owned:
                with contextlib.suppress(OSError):
                    self._owned.pop().close()
            if self._thread is not None:
                self._jobs.put(None)
                self._thread.join(timeout=COMMAND_TIMEOUT)
                self._thread = None
        finally:
            if self._made:
                subprocess.run([self._ip, "netns", "delete", self.name],
                               capture_output=True, timeout=COMMAND_TIMEOUT,
                               check=False)  # fmt: skip
                self._made = False

    # -- inside the namespace ----------------------------------------------------

    def call(self, function: Callable[[], T]) -> T:
        """Run `function()` on the thread inside the namespace; its result or its exception."""
        if self._thread is None:
            raise RuntimeError("the namespace is not entered")
        future: concurrent.futures.Future[object] = concurrent.futures.Future()
        self._jobs.put((function, future))
        return cast(T, future.result(timeout=COMMAND_TIMEOUT))

    def open_tun(
        self, address: str = KERNEL, peer: str = US, *, name: str = "mm%d", mtu: int = 1500
    ) -> TunDevice:
        """A TUN device inside the namespace: `address` is the kernel's end, `peer` ours."""
        device = self.call(lambda: TunDevice.open(name, address=address, peer=peer, mtu=mtu))
        self._owned.append(device)
        return device

    def socket(
        self, family: int = socket.AF_INET, type: int = socket.SOCK_STREAM, proto: int = 0
    ) -> socket.socket:
        """A kernel socket that belongs to the namespace (use it from any thread)."""
        sock = self.call(lambda: socket.socket(family, type, proto))
        self._owned.append(sock)
        return sock

    def run(
        self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """`argv` run inside the namespace (`ip netns exec`), output captured as text."""
        return subprocess.run([self._ip, "netns", "exec", self.name, *argv],
                              capture_output=True, text=True, timeout=timeout,
                              check=False)  # fmt: skip

    # -- setup ------------------------------------------------------------------

    def _make(self) -> None:
        made = subprocess.run([self._ip, "netns", "add", self.name],
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              check=False)  # fmt: skip
        if made.returncode != 0:  # e.g. a container without CAP_SYS_ADMIN
            unavailable(f"cannot create network namespace: {made.stderr.strip()}")
        self._made = True
        up = self.run([self._ip, "link", "set", "lo", "up"])
        if up.returncode != 0:
            raise AssertionError(f"cannot bring lo up in {self.name}: {up.stderr.strip()}")

    def _start_thread(self) -> None:
        entered: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._serve, args=(entered,), name=f"netns {self.name}", daemon=True
        )
        self._thread.start()
        try:
            entered.result(timeout=COMMAND_TIMEOUT)
        except OSError as error:
            unavailable(f"cannot enter network namespace {self.name}: {error}")
        try:  # a device that exists but is refused (a container's device cgroup)
            os.close(os.open(TUN_PATH, os.O_RDWR))
        except OSError as error:
            unavailable(f"cannot open {TUN_PATH}: {error.strerror}")

    def _serve(self, entered: concurrent.futures.Future[None]) -> None:
        try:
            fd = os.open(NETNS_DIR / self.name, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd, CLONE_NEWNET)
            finally:
                os.close(fd)
        except OSError as error:
            entered.set_exception(error)
            return
        entered.set_result(None)
        while (job := self._jobs.get()) is not None:
            function, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function())
            except BaseException as error:
                future.set_exception(error)


def read_packet(device: TunDevice, timeout: float) -> bytes:
    """The next packet from `device`, waiting up to `timeout` (a failure guard); b"" if none."""
    deadline = time.monotonic() + timeout
    while True:
        packet = device.read_packet()
        if packet:
            return packet
        left = deadline - time.monotonic()
        if left <= 0:
            return b""
        select.select([device], [], [], left)
