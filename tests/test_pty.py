"""`modememu modem --pty PATH` against real programs: chat, picocom (through tmux), pyserial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from serving import PROFILE, ModemProcess, Tmux, command, require, start_modem, wait_for

from modememu.profiles import load_profile

pytestmark = pytest.mark.peer


@pytest.fixture
def pty_modem(tmp_path: Path) -> Iterator[tuple[Path, ModemProcess]]:
    link = tmp_path / "modem"
    modem = start_modem(["--pty", str(link), "--profile", PROFILE], tmp_path)
    try:
        yield link, modem
    finally:
        modem.stop()


def test_ready_line_names_the_profile_and_the_link(
    pty_modem: tuple[Path, ModemProcess],
) -> None:
    link, modem = pty_modem
    assert modem.ready_line == f"ready {PROFILE} on {link}"
    assert link.is_symlink() and os.readlink(link).startswith("/dev/")


def test_chat_runs_a_dialer_script(pty_modem: tuple[Path, ModemProcess]) -> None:
    chat = require("chat")
    link, _ = pty_modem
    with link.open("rb") as stdin, link.open("wb") as stdout:
        proc = subprocess.run(
            [chat, "-v", "-s", "-t", "3", "", "ATZ", "OK", "AT&F", "OK", "ATI3", "OK"],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=30,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"ATI3" in proc.stderr and b"got it" in proc.stderr


def test_picocom_in_tmux_types_ati3(pty_modem: tuple[Path, ModemProcess]) -> None:
    picocom = require("picocom")
    tmux = require("tmux")
    link, _ = pty_modem
    expected = load_profile(PROFILE).info[3].strip().splitlines()[0]
    tmux_session = Tmux(tmux, "modememu-test")
    tmux_session.start(100, 30, f"{picocom} -b 115200 {link}")
    try:
        wait_for("picocom to start", lambda: "Terminal ready" in tmux_session.screen())
        tmux_session.keys("ATI3", "Enter")
        wait_for(f"{expected!r} on picocom's screen", lambda: expected in tmux_session.screen())
        assert "OK" in tmux_session.screen().split(expected, 1)[1]
        tmux_session.keys("C-a", "C-x")
        wait_for("picocom to quit (its session ends)", lambda: not tmux_session.alive())
    finally:
        tmux_session.close()


def test_the_far_program_can_close_and_reopen(pty_modem: tuple[Path, ModemProcess]) -> None:
    link, modem = pty_modem
    for _ in range(3):
        with serial.Serial(str(link), 115200, timeout=3) as port:
            port.reset_input_buffer()
            assert command(port, b"ATE0").endswith(b"OK\r\n")
            assert command(port, b"AT") == b"\r\nOK\r\n"
    assert modem.proc.poll() is None


def test_the_far_program_s_speed_reaches_the_modem(pty_modem: tuple[Path, ModemProcess]) -> None:
    link, _ = pty_modem
    with serial.Serial(str(link), 2400, timeout=3) as port:
        assert "DTE: 2400 8N1" in command(port, b"AT&V").decode()
        port.baudrate = 19200  # the kernel reports the change before the bytes written after it
        assert "DTE: 19200 8N1" in command(port, b"AT&V").decode()


def test_sigterm_exits_cleanly_and_removes_the_link(tmp_path: Path) -> None:
    link = tmp_path / "modem"
    modem = start_modem(["--pty", str(link), "--profile", PROFILE], tmp_path)
    assert link.is_symlink()
    assert modem.stop(signal.SIGTERM) == 0
    assert not link.exists() and not link.is_symlink()
    assert "Traceback" not in modem.stderr()


def test_sigint_exits_cleanly_too(tmp_path: Path) -> None:
    link = tmp_path / "modem"
    modem = start_modem(["--pty", str(link), "--profile", PROFILE], tmp_path)
    assert modem.stop(signal.SIGINT) == 0
    assert not link.is_symlink()


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modememu.cli", "modem", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert needle in proc.stderr
    assert proc.stdout == ""


def test_unknown_profile_is_one_line(tmp_path: Path) -> None:
    proc = _run_cli("--pty", str(tmp_path / "m"), "--profile", "no-such-modem")
    _assert_one_line_error(proc, "no-such-modem")


def test_pty_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    proc = _run_cli("--pty", str(tmp_path / "missing" / "m"), "--profile", PROFILE)
    _assert_one_line_error(proc, "missing")


def test_pty_over_a_regular_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    proc = _run_cli("--pty", str(target), "--profile", PROFILE)
    _assert_one_line_error(proc, "not a symlink")
    assert target.read_text() == "keep me"


def test_a_live_link_is_not_taken_over(pty_modem: tuple[Path, ModemProcess]) -> None:
    link, _ = pty_modem
    before = os.readlink(link)
    proc = _run_cli("--pty", str(link), "--profile", PROFILE)
    _assert_one_line_error(proc, "in use")
    assert os.readlink(link) == before


def test_a_stale_link_is_replaced(tmp_path: Path) -> None:
    link = tmp_path / "modem"
    link.symlink_to(tmp_path / "gone")
    modem = start_modem(["--pty", str(link), "--profile", PROFILE], tmp_path)
    try:
        assert os.readlink(link).startswith("/dev/")
    finally:
        assert modem.stop() == 0
