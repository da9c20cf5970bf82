"""Helpers for tests that run `modememu modem` as a process and real programs against it."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import pytest
import serial

PROFILE = "usr-courier-v34"


def unavailable(message: str) -> NoReturn:
    """A missing prerequisite: fails under CI=true (peers must run there), skips elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def require(program: str) -> str:
    """The program's path; a missing peer fails under CI=true and skips elsewhere."""
    path = shutil.which(program)
    if path is None:
        unavailable(f"peer program {program!r} is not installed (tools/install-peers.sh)")
    return path


def wait_for(what: str, check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    """Signal one process we started, by its PID, and reap it (killing it if it hangs)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


class ModemProcess:
    """`modememu modem ARGS` with stderr in a file, started and waited on until ready."""

    def __init__(self, args: Sequence[str], workdir: Path, prefix: Sequence[str] = ()) -> None:
        self.stderr_path = workdir / f"modememu-{time.monotonic_ns()}.stderr"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(  # `prefix`: e.g. ip netns exec NAME (it execs)
            [*prefix, sys.executable, "-m", "modememu.cli", "modem", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.ready_line = ""

    def wait_ready(self, timeout: float = 20.0) -> str:
        """The `ready ...` line; fails with the process's stderr if it never comes."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buffer = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                raise AssertionError(
                    f"modememu never said ready (exit {self.proc.poll()}): {self.stderr()}"
                )
            buffer += chunk
        self.ready_line = buffer.split(b"\n", 1)[0].decode()
        return self.ready_line

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        code = stop_process(self.proc, sig)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        return code


def start_modem(args: Sequence[str], workdir: Path, *, prefix: Sequence[str] = ()) -> ModemProcess:
    modem = ModemProcess(args, workdir, prefix)
    try:
        modem.wait_ready()
    except BaseException:
        modem.stop(signal.SIGKILL)
        raise
    return modem


def command(port: serial.SerialBase, line: bytes, expect: bytes = b"OK\r\n") -> bytes:
    """Send an AT command line and read until `expect` (or the port's timeout)."""
    port.write(line + b"\r")
    return port.read_until(expect)


class Tmux:
    """A private tmux server with one session "S": keys in, the screen out, gone on `close`."""

    def __init__(self, tmux: str, name: str) -> None:
        self.tmux = tmux
        self.server = f"{name}-{os.getpid()}-{time.monotonic_ns()}"

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [self.tmux, "-L", self.server, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout

    def start(self, width: int, height: int, command: str) -> None:
        # COLUMNS/LINES from the test's own environment would override the pane's size.
        size = ("-e", f"COLUMNS={width}", "-e", f"LINES={height}")
        self("new-session", "-d", "-s", "S", "-x", str(width), "-y", str(height), *size, command)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "S")

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "S", *keys)

    def alive(self) -> bool:
        probe = [self.tmux, "-L", self.server, "has-session", "-t", "S"]
        return subprocess.run(probe, capture_output=True, timeout=10, check=False).returncode == 0

    def close(self) -> None:
        kill = [self.tmux, "-L", self.server, "kill-server"]
        subprocess.run(kill, capture_output=True, check=False)
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / self.server).unlink(missing_ok=True)  # a server that exited leaves it
