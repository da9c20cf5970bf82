"""`modememu modem --port DEVICE` on one end of a socat pty pair, surviving the device's loss."""

from __future__ import annotations

import os
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from serving import PROFILE, ModemProcess, command, require, start_modem, stop_process, wait_for

pytestmark = pytest.mark.peer


class PtyPair:
    """`socat pty,link=A pty,link=B`: a data-only null modem between A and B."""

    def __init__(self, a: Path, b: Path) -> None:
        self.a, self.b = a, b
        self.socat = require("socat")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ends = [f"pty,raw,echo=0,link={end}" for end in (self.a, self.b)]
        self.proc = subprocess.Popen(
            [self.socat, "-d", "-d", *ends], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for("socat's links", lambda: self.a.is_symlink() and self.b.is_symlink())

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[PtyPair]:
    pty_pair = PtyPair(tmp_path / "A", tmp_path / "B")
    pty_pair.start()
    try:
        yield pty_pair
    finally:
        pty_pair.stop()


@pytest.fixture
def modem_on_a(pair: PtyPair, tmp_path: Path) -> Iterator[ModemProcess]:
    modem = start_modem(["--port", str(pair.a), "--baud", "115200", "--profile", PROFILE], tmp_path)
    try:
        yield modem
    finally:
        assert modem.stop() == 0
        assert "Traceback" not in modem.stderr()


def talk(device: Path) -> bytes:
    with serial.Serial(str(device), 115200, timeout=3) as dte:
        return command(dte, b"AT")


def test_at_over_the_pair(pair: PtyPair, modem_on_a: ModemProcess) -> None:
    assert modem_on_a.ready_line == f"ready {PROFILE} on {pair.a}"
    assert talk(pair.b) == b"AT\r\r\nOK\r\n"
    with serial.Serial(str(pair.b), 115200, timeout=3) as dte:
        assert "DTE: 115200 8N1" in command(dte, b"AT&V").decode()


def test_the_modem_waits_for_a_lost_device_and_reopens_it(
    pair: PtyPair, modem_on_a: ModemProcess
) -> None:
    assert talk(pair.b).endswith(b"OK\r\n")
    pair.stop()  # the device disappears, as a USB adapter being unplugged
    lost = f"port {pair.a} lost; waiting for it to return"
    wait_for("the lost line", lambda: lost in modem_on_a.stderr())
    assert modem_on_a.proc.poll() is None  # still running

    pair.start()  # plugged in again: same name, a new pty behind it
    wait_for("the back line", lambda: f"port {pair.a} back" in modem_on_a.stderr())
    assert talk(pair.b).endswith(b"OK\r\n")
    assert modem_on_a.stderr().count(lost) == 1


def test_a_missing_device_is_one_line(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "modememu.cli", "modem", "--port", str(tmp_path / "nothing")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "nothing" in proc.stderr


def test_a_device_held_by_another_modem_is_busy(
    pair: PtyPair, modem_on_a: ModemProcess, tmp_path: Path
) -> None:
    second = ModemProcess(["--port", str(pair.a), "--profile", PROFILE], tmp_path)
    try:
        assert second.proc.wait(timeout=30) != 0
    finally:
        second.stop()
    assert "busy" in second.stderr() and "Traceback" not in second.stderr()
    assert talk(pair.b).endswith(b"OK\r\n")  # the first one still has it


def test_a_fixed_ipr_rate_reclocks_the_uart(pair: PtyPair, tmp_path: Path) -> None:
    modem = start_modem(
        ["--port", str(pair.a), "--baud", "115200", "--profile", "conexant-v92"], tmp_path
    )
    try:
        with serial.Serial(str(pair.b), 115200, timeout=3) as dte:
            assert command(dte, b"AT+IPR=9600").endswith(b"OK\r\n")
        fd = os.open(pair.a, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            wait_for("the UART at 9600", lambda: termios.tcgetattr(fd)[5] == termios.B9600)
        finally:
            os.close(fd)
    finally:
        assert modem.stop() == 0
