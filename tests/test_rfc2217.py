"""`modememu modem --rfc2217` against pyserial's own `rfc2217://` client."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from serving import PROFILE, ModemProcess, command, start_modem, wait_for

# pyserial 3.5's rfc2217 client still calls Thread.setDaemon/setName.
pytestmark = pytest.mark.filterwarnings(r"ignore:set(Daemon|Name)\(\) is deprecated")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, ModemProcess, Path]]:
    log = tmp_path / "events.jsonl"
    modem = start_modem(
        ["--rfc2217", "127.0.0.1:0", "--profile", PROFILE, "--log", str(log)], tmp_path
    )
    try:
        prefix = f"ready {PROFILE} on 127.0.0.1:"
        assert modem.ready_line.startswith(prefix), modem.ready_line
        port = int(modem.ready_line.removeprefix(prefix))
        assert port > 0  # the real port, not the 0 we asked for
        yield port, modem, log
    finally:
        assert modem.stop() == 0
        assert "Traceback" not in modem.stderr()


def logged(log: Path, kind: str) -> list[dict[str, object]]:
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return [r["fields"] for r in records if r["type"] == kind]


def test_at_gets_ok(server: tuple[int, ModemProcess, Path]) -> None:
    port, _, _ = server
    with serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", timeout=3) as dte:
        assert command(dte, b"AT") == b"AT\r\r\nOK\r\n"


def test_modem_lines_are_bools_and_follow_the_modem(
    server: tuple[int, ModemProcess, Path],
) -> None:
    port, _, _ = server
    with serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", timeout=3) as dte:
        lines = (dte.cts, dte.dsr, dte.ri, dte.cd)
        assert all(isinstance(value, bool) for value in lines)
        assert dte.cts is True and dte.cd is False  # &C1 and no carrier
        command(dte, b"AT&C0")
        wait_for("DCD on after AT&C0", lambda: dte.cd is True)  # NOTIFY_MODEMSTATE


def test_dtr_and_rts_reach_the_modem(server: tuple[int, ModemProcess, Path]) -> None:
    port, _, log = server
    with serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", timeout=3) as dte:
        dte.dtr = False
        dte.rts = False
        command(dte, b"AT")  # the settings were acknowledged; make sure all was logged
        dte.dtr = True
        dte.rts = True
        command(dte, b"AT")
    closed = [{"dtr": True, "rts": True}, {"dtr": False, "rts": True}]  # closing drops DTR
    wait_for("DTR to drop on close", lambda: logged(log, "DteLinesChanged")[-2:] == closed)
    changes = logged(log, "DteLinesChanged")
    assert changes[:3] == [
        {"dtr": False, "rts": True},
        {"dtr": False, "rts": False},
        {"dtr": True, "rts": False},
    ]


def test_baud_rate_reaches_the_modem(server: tuple[int, ModemProcess, Path]) -> None:
    port, _, _ = server
    with serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", timeout=3) as dte:
        dte.baudrate = 2400
        assert "DTE: 2400 " in command(dte, b"AT&V").decode()


def test_a_7e1_client_reads_clean_text(server: tuple[int, ModemProcess, Path]) -> None:
    port, _, log = server
    url = f"rfc2217://127.0.0.1:{port}"
    with serial.serial_for_url(url, 9600, bytesize=7, parity="E", timeout=3) as dte:
        assert command(dte, b"AT") == b"AT\r\r\nOK\r\n"
        assert "DTE: 9600 7E1" in command(dte, b"AT&V").decode()
    assert {"parity": "E"} in logged(log, "ParityDetected")


def test_a_second_client_is_turned_away(server: tuple[int, ModemProcess, Path]) -> None:
    port, _, _ = server
    with serial.serial_for_url(f"rfc2217://127.0.0.1:{port}", timeout=3) as dte:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as second:
            second.settimeout(5)
            message = b""
            while chunk := second.recv(4096):
                message += chunk
            assert b"busy" in message and message.count(b"\n") == 1
        assert command(dte, b"AT").endswith(b"OK\r\n")  # the first one is unharmed


def test_a_client_can_come_back(server: tuple[int, ModemProcess, Path]) -> None:
    port, _, _ = server
    for _ in range(3):
        with open_when_free(f"rfc2217://127.0.0.1:{port}") as dte:
            assert command(dte, b"AT").endswith(b"OK\r\n")


def open_when_free(url: str) -> serial.SerialBase:
    """Open, retrying while the server may not have seen the previous client leave."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return serial.serial_for_url(url, timeout=3)
        except serial.SerialException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_address_in_use_is_one_line(server: tuple[int, ModemProcess, Path]) -> None:
    port, _, _ = server
    proc = subprocess.run(
        [sys.executable, "-m", "modememu.cli", "modem", "--rfc2217", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and str(port) in proc.stderr
