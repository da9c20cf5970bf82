"""The real slirp 1.0.17 as a SLIP or PPP peer on a pty, for interop tests.

slirp is a 1990s user-space "ISP": on its serial line it speaks SLIP or PPP
(LCP, IPCP with a real implementation), and it turns a TCP SYN to
10.0.2.2:PORT into a connect() to 127.0.0.1:PORT. Debian's amd64 build exits
right after its banner unless an LD_PRELOAD shim fixes its select() timeout
(tests/peers/slirp_select_shim.c; test-peers.md). The rig:

- builds the shim once per session with gcc;
- creates a private network namespace holding only `lo`, so slirp can reach
  nothing but what the rig puts there;
- starts an echo listener on 127.0.0.1:`rig.port` inside it (it reports each
  accepted connection: `rig.accepted`, `rig.wait_accepted()`);
- runs slirp inside it with stdin/stdout on a raw pty slave (plain `slirp` for
  SLIP, `slirp ppp initiate-options "mtu 1500" "mru 1500"` for PPP, so slirp
  sends its LCP Configure-Request without waiting for us), HOME and cwd in
  `tmp_path` (no ~/.slirprc, and its files land there), stderr in a file
  (`rig.stderr_text()`: the banner goes there, not onto the line);
- waits for "SLiRP Ready" before handing over, and on exit stops only the
  processes it started, by PID, and deletes only its own namespace.

Missing slirp, gcc or `ip`, or not root: the test fails under CI=true and skips
elsewhere (as `serving.require` does for other peers).

Line I/O: `rig.write(data)` puts octets on the line; `rig.read(timeout)` returns
as soon as something arrived (everything ready by then), b"" after `timeout`
with nothing. `rig.log` keeps both directions in order. If slirp exits, both
raise `SlirpExited` with its exit status and stderr.

Pumping a sans-I/O core (the project's convention: `receive_data(data, now)`,
`data_to_send()`, `get_timer()`, `handle_timer(now)`) against slirp on the real
clock is `rig.pump(core, done, timeout)`: it writes what the core has to send,
feeds what slirp sent, fires the core's timer when due, and stops when `done()`
is true (returns True) or at `timeout` (returns False). A PPP session test is:

    with SlirpRig("ppp", tmp_path) as rig:
        core = PppClient(...)          # whatever the core is called then
        assert rig.pump(core, lambda: core.ipcp_opened, timeout=30), rig.stderr_text()
        ...                            # then TCP to 10.0.2.2:rig.port; rig.wait_accepted(10)

Deframe by hand instead with `HdlcDeframer().receive_data(rig.read(1.0))` (PPP:
slirp's first octet is a flag) or `SlipDeframer` (SLIP: slirp sends nothing
until it has a packet, and leads with END only after idle, so its first octet
is END but back-to-back packets are separated by one END). The banner is on
stderr, never on the line; should a future setup put text there, note that
SlipDeframer has no hunt state and would deliver it as a frame.

Seen on the wire (Debian slirp 1:1.0.17-11): PPP mode sends `LCP ConfReq id=1
<mru 1500> <magic> <pcomp> <accomp>` at once and every 3 s until answered,
default ACCM, FF 03, 2-octet protocol; IPCP and TCP behave as ppp-tcp.md §6.1
says. TCP ISNs are 1 + k * 64000 (BSD's tcp_iss: +64000 per connection and per
500 ms tick while connections exist), so a first SYN sent right after start-up
gets 1, not 64001. slirp exits when the pty master closes, so a killed test run
leaves at most its namespace (named mmemu-slirp-PID-N) behind.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import itertools
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal, NoReturn, Protocol

import pytest
from serving import require, unavailable

Mode = Literal["slip", "ppp"]

SHIM_SOURCE = Path(__file__).parent / "peers" / "slirp_select_shim.c"
SLIRP_ARGS: dict[Mode, tuple[str, ...]] = {
    "slip": (),
    "ppp": ("ppp", "initiate-options", "mtu 1500", "mru 1500"),
}
HOST = "10.0.2.2"  # slirp's alias for its host: TCP to it goes to 127.0.0.1
CLIENT = "10.0.2.15"  # the address slirp gives (PPP) or expects (SLIP) the client
READY = "SLiRP Ready"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

# The listener inside the namespace: port first, then one line per accepted
# connection; each connection is echoed. It exits when its stdin (our pipe)
# closes, so it never outlives the test process.
LISTENER = r"""
import os, socket, sys, threading
def echo(conn):
    with conn:
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            conn.sendall(data)
def watch_stdin():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=watch_stdin, daemon=True).start()
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(16)
print("port", server.getsockname()[1], flush=True)
while True:
    conn, peer = server.accept()
    print("accepted", peer[0], peer[1], flush=True)
    threading.Thread(target=echo, args=(conn,), daemon=True).start()
"""

_namespace_serial = itertools.count()
_built_shims: dict[Path, Path] = {}


class SlirpExited(AssertionError):
    """slirp is gone (the pty reads EIO, or the process has ended)."""


class PumpableCore(Protocol):
    """A sans-I/O core as modememu writes them (`now` in `time.monotonic()` seconds here)."""

    def receive_data(self, data: bytes, now: float) -> None: ...

    def data_to_send(self) -> bytes: ...

    def get_timer(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


def build_shim(source: Path = SHIM_SOURCE) -> Path:
    """The shim compiled once per session into a temporary directory removed at exit."""
    source = source.resolve()
    built = _built_shims.get(source)
    if built is not None and built.exists():
        return built
    gcc = require("gcc")
    out_dir = Path(tempfile.mkdtemp(prefix="mmemu-slirp-shim-"))
    atexit.register(shutil.rmtree, out_dir, True)
    built = out_dir / "slirp_select_shim.so"
    done = subprocess.run(
        [gcc, "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o", str(built), str(source),
         "-ldl"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"building {source.name} failed:\n{done.stdout}{done.stderr}")
    _built_shims[source] = built
    return built


class SlirpRig:
    """slirp on a pty in a private namespace with an echo listener; see the module docstring."""

    def __init__(self, mode: Mode, tmp_path: Path) -> None:
        if mode not in SLIRP_ARGS:
            raise ValueError(f"mode must be 'slip' or 'ppp', not {mode!r}")
        self.mode: Mode = mode
        serial = next(_namespace_serial)
        self.workdir = tmp_path / f"slirp-{mode}-{serial}"
        self.namespace = f"mmemu-slirp-{os.getpid()}-{serial}"
        self.port = 0
        self.accepted = 0
        self.log: list[tuple[Literal["tx", "rx"], bytes]] = []
        self._ip = ""
        self._namespace_made = False
        self._listener: subprocess.Popen[bytes] | None = None
        self._listener_buffer = b""
        self.slirp: subprocess.Popen[bytes] | None = None
        self._master = -1
        self._stderr_path = self.workdir / "slirp.stderr"

    # -- context manager --------------------------------------------------------

    def __enter__(self) -> SlirpRig:
        slirp = require("slirp")
        self._ip = require("ip")
        if os.geteuid() != 0:
            unavailable("the slirp rig needs root (network namespaces)")
        shim = build_shim()
        try:
            self.workdir.mkdir(parents=True)
            self._make_namespace()
            self._start_listener()
            self._start_slirp(slirp, shim)
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
        """Stop what the rig started (by PID), close its fds, delete its namespace."""
        if self.slirp is not None:
            _stop(self.slirp)
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        if self._listener is not None:
            _stop(self._listener)
            for pipe in (self._listener.stdin, self._listener.stdout):
                if pipe is not None:
                    pipe.close()
        if self._namespace_made:
            subprocess.run([self._ip, "netns", "delete", self.namespace],
                           capture_output=True, timeout=30, check=False)  # fmt: skip
            self._namespace_made = False

    # -- line I/O ---------------------------------------------------------------

    def write(self, data: bytes, timeout: float = 10.0) -> None:
        """Put `data` on the line (all of it, waiting while the pty buffer is full)."""
        self.log.append(("tx", bytes(data)))
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            _, ready, _ = select.select([], [self._master], [], _left(deadline))
            if not ready:
                raise AssertionError(f"the pty took no data for {timeout} s")
            try:
                sent = os.write(self._master, view)
            except BlockingIOError:
                continue
            except OSError as error:
                self._exited(error)
            view = view[sent:]

    def read(self, timeout: float) -> bytes:
        """What slirp sent: returns once something arrived, b"" if nothing did within `timeout`."""
        ready, _, _ = select.select([self._master], [], [], max(0.0, timeout))
        if not ready:
            if self.slirp is not None and self.slirp.poll() is not None:
                self._exited(None)
            return b""
        chunks: list[bytes] = []
        while ready:
            try:
                chunk = os.read(self._master, 65536)
            except BlockingIOError:
                break
            except OSError as error:
                if error.errno != errno.EIO or not chunks:
                    self._exited(error)
                break
            chunks.append(chunk)
            ready, _, _ = select.select([self._master], [], [], 0)
        data = b"".join(chunks)
        self.log.append(("rx", data))
        return data

    def pump(self, core: PumpableCore, done: Callable[[], bool], timeout: float) -> bool:
        """Run `core` against slirp on the real clock until `done()`; False at `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            out = core.data_to_send()
            if out:
                self.write(out)
            if done():
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            timer = core.get_timer()
            if timer is not None and timer <= now:
                core.handle_timer(now)
                continue
            wait = deadline - now if timer is None else min(timer, deadline) - now
            data = self.read(min(wait, 0.5))
            if data:
                core.receive_data(data, time.monotonic())

    # -- the listener -----------------------------------------------------------

    def wait_accepted(self, timeout: float, count: int = 1) -> bool:
        """Whether the listener has accepted `count` connections in all, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        while self.accepted < count:
            line = self._listener_line(_left(deadline))
            if line is None:
                return False
            if line.startswith("accepted "):
                self.accepted += 1
        return True

    def _listener_line(self, timeout: float) -> str | None:
        """The listener's next stdout line, or None if none came within `timeout`."""
        assert self._listener is not None and self._listener.stdout is not None
        fd = self._listener.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._listener_buffer:
            ready, _, _ = select.select([fd], [], [], _left(deadline))
            if not ready:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return None
            self._listener_buffer += chunk
        line, self._listener_buffer = self._listener_buffer.split(b"\n", 1)
        return line.decode()

    # -- diagnostics ------------------------------------------------------------

    def stderr_text(self) -> str:
        """slirp's stderr so far: its banner, option errors, exit messages."""
        try:
            return self._stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def alive(self) -> bool:
        return self.slirp is not None and self.slirp.poll() is None

    # -- setup ------------------------------------------------------------------

    def _netns_exec(self, *args: str) -> list[str]:
        return [self._ip, "netns", "exec", self.namespace, *args]

    def _make_namespace(self) -> None:
        made = subprocess.run([self._ip, "netns", "add", self.namespace],
                              capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
        if made.returncode != 0:  # e.g. a container without CAP_SYS_ADMIN
            unavailable(f"cannot create network namespace: {made.stderr.strip()}")
        self._namespace_made = True
        subprocess.run(self._netns_exec(self._ip, "link", "set", "lo", "up"),
                       capture_output=True, timeout=30, check=True)  # fmt: skip

    def _start_listener(self) -> None:
        # `ip netns exec` execs its command, so these PIDs are the programs themselves.
        self._listener = subprocess.Popen(
            self._netns_exec(sys.executable, "-I", "-c", LISTENER),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=self.workdir,
        )
        line = self._listener_line(START_TIMEOUT)
        if line is None or not line.startswith("port "):
            raise AssertionError(f"the listener did not start (said {line!r})")
        self.port = int(line.split()[1])

    def _start_slirp(self, slirp: str, shim: Path) -> None:
        master, slave = os.openpty()
        self._master = master
        try:
            tty.setraw(slave)
            env = {k: v for k, v in os.environ.items() if k not in ("SLIRP_TTY", "LD_PRELOAD")}
            env.update(LD_PRELOAD=str(shim), HOME=str(self.workdir))
            with self._stderr_path.open("wb") as stderr:
                self.slirp = subprocess.Popen(
                    self._netns_exec(slirp, *SLIRP_ARGS[self.mode]),
                    stdin=slave,
                    stdout=slave,
                    stderr=stderr,
                    cwd=self.workdir,
                    env=env,
                    start_new_session=True,
                )
        finally:
            os.close(slave)  # slirp holds the only slave fds: its exit reads EIO here
        os.set_blocking(master, False)
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in self.stderr_text():
            if self.slirp.poll() is not None:
                self._exited(None)
            if time.monotonic() > deadline:
                raise AssertionError(f"slirp never said {READY!r}: {self.stderr_text()!r}")
            time.sleep(0.02)

    def _exited(self, error: OSError | None) -> NoReturn:
        code = None
        if self.slirp is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.slirp.wait(timeout=STOP_TIMEOUT)
        cause = f" ({error})" if error is not None else ""
        raise SlirpExited(f"slirp exited with {code}{cause}; stderr: {self.stderr_text()!r}")


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM one process we started, by PID; SIGKILL if it lingers; reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
