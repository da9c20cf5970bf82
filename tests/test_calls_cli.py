"""Calls through `modememu modem` processes, checked by real programs (chat, pyserial)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from serving import ModemProcess, command, require, start_modem

pytestmark = pytest.mark.peer


@pytest.fixture
def pty_modem(tmp_path: Path) -> Iterator[Path]:
    link = tmp_path / "modem"
    modem = start_modem(["--pty", str(link), "--number", "5551000"], tmp_path)
    try:
        yield link
    finally:
        modem.stop()


def run_chat(link: Path, *script: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    chat = require("chat")
    with link.open("rb") as stdin, link.open("wb") as stdout:
        return subprocess.run(
            [chat, "-v", "-s", "-t", "40", *script],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )


def test_chat_dials_the_echo_number_then_every_byte_value_echoes(pty_modem: Path) -> None:
    done = run_chat(
        pty_modem, "ABORT", "BUSY", "ABORT", "NO CARRIER", "", "ATZ", "OK", "ATX4DT5550102",
        "CONNECT",
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    with serial.Serial(str(pty_modem), 115200, timeout=10) as port:
        payload = bytes(range(256))
        port.write(payload)
        assert port.read(len(payload)) == payload


def test_chat_aborts_on_busy_with_exit_status_4(pty_modem: Path) -> None:
    done = run_chat(pty_modem, "ABORT", "BUSY", "", "ATX4DT5550199", "CONNECT")
    assert done.returncode == 4, done.stderr.decode(errors="replace")


def test_two_processes_call_over_tcp_and_s0_2_answers_on_the_second_ring(
    tmp_path: Path,
) -> None:
    answering: ModemProcess | None = None
    calling: ModemProcess | None = None
    try:
        answering = start_modem(
            ["--pty", str(tmp_path / "a"), "--listen", "127.0.0.1:0", "--profile",
             "hayes-smartmodem-2400"],
            tmp_path,
        )
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", answering.ready_line)
        assert match, answering.ready_line
        calling = start_modem(
            ["--pty", str(tmp_path / "b"), "--profile", "hayes-smartmodem-2400"], tmp_path
        )
        with serial.Serial(str(tmp_path / "a"), 2400, timeout=30) as a, serial.Serial(
            str(tmp_path / "b"), 2400, timeout=30
        ) as b:
            command(a, b"ATE0S0=2")
            command(b, b"ATE0X4")
            b.write(f'ATD"127.0.0.1:{match.group(1)}"\r'.encode())
            answered = a.read_until(b"CONNECT 2400\r\n")
            assert answered.endswith(b"CONNECT 2400\r\n"), answered
            assert answered.count(b"RING") == 2
            assert b.read_until(b"CONNECT 2400\r\n").endswith(b"CONNECT 2400\r\n")
            a.write(b"hello b")
            assert b.read(7) == b"hello b"
            b.write(b"hello a")
            assert a.read(7) == b"hello a"
    finally:
        for process in (calling, answering):
            if process is not None:
                process.stop()
