"""`modememu dial` against modems in other processes: a pty, RFC 2217, a modememu:// URL.

Every dial is a real `modememu dial` process on a real port, in real time. The
modems on ptys are Hayes 2400s with `--no-pacing`: V.22bis trains in about 8 s,
and the session after CONNECT takes no time. Timeouts here only guard against a
hang; nothing is asserted about how long anything took.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import ModemProcess, start_modem

from modememu.agents.dialer import (
    EXIT_BUSY,
    EXIT_CARRIER_LOST,
    EXIT_NO_ANSWER,
    EXIT_NO_CARRIER,
    EXIT_OK,
)
from modememu.drivers.dialport import EXIT_NOT_RUN

FAST_PROFILE = "hayes-smartmodem-2400"
GUARD = 50.0  # seconds: a dial that has not ended by then has hung
SEGMENT = re.compile(
    r"tcp +(?P<src>\S+) > (?P<dst>\S+) \[(?P<flags>[A-Z, ]+)\] seq=(?P<seq>\d+) ack=(?P<ack>\d+)"
)
# Python's own SIGINT handler, even when whoever started the tests ignores SIGINT.
WITH_SIGINT = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from modememu.cli import main; sys.exit(main())"
)


def dial(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modememu", "dial", *args],
        capture_output=True,
        text=True,
        timeout=GUARD,
        check=False,
    )


def read_until(proc: subprocess.Popen[str], text: str) -> str:
    """What `proc` printed up to and including the first line containing `text`."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = ""
    deadline = time.monotonic() + GUARD
    while text not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 4096).decode() if ready else ""
        if not chunk:
            raise AssertionError(f"never printed {text!r}:\n{seen}")
        seen += chunk
    return seen


@pytest.fixture
def pty_modem(tmp_path: Path) -> Iterator[tuple[Path, ModemProcess]]:
    link = tmp_path / "modem"
    modem = start_modem(["--pty", str(link), "--profile", FAST_PROFILE, "--no-pacing"], tmp_path)
    try:
        yield link, modem
    finally:
        modem.stop()


def check_session(out: str) -> None:
    """CONNECT, the link up, the three-way handshake, the echo, the close, the hang-up."""
    assert re.search(r"modem < +CONNECT", out) and "dialer   connected: CONNECT" in out
    segs = [m.groupdict() for m in SEGMENT.finditer(out)]
    syn, syn_ack, ack = segs[:3]
    assert (syn["flags"], syn_ack["flags"], ack["flags"]) == ("SYN", "SYN, ACK", "ACK")
    assert int(syn_ack["ack"]) == int(syn["seq"]) + 1
    assert int(ack["seq"]) == int(syn["seq"]) + 1 and int(ack["ack"]) == int(syn_ack["seq"]) + 1
    assert "echo matched" in out
    fins = [s for s in segs if "FIN" in s["flags"]]
    assert [s["src"] for s in fins] == [syn["src"], syn["dst"]]  # ours, then theirs
    assert "dialer   hangup:" in out
    assert out.rstrip().endswith("modememu dial: exit 0 (success)")


def test_ppp_over_a_pty_modem(pty_modem: tuple[Path, ModemProcess], tmp_path: Path) -> None:
    link, _ = pty_modem
    log = tmp_path / "dial.jsonl"
    proc = dial("--port", str(link), "--log", str(log), "5550100")
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    check_session(out)
    assert "sent [LCP ConfReq" in out and "rcvd [IPCP ConfAck" in out
    assert "LCP TermReq" in out
    # A pty has no modem lines: DTR cannot drop, so the dialer hangs up with +++ and ATH0.
    assert "no modem lines" in out and "hangup: +++ OK, ATH0 OK" in out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    types = {record["type"] for record in records}
    assert {"PortOpened", "DialerStep", "PppFrame", "TcpSegmentSeen"} <= types
    assert records[-1]["fields"] == {"step": "done", "detail": "exit 0: success"}


def test_slip_over_a_pty_modem(pty_modem: tuple[Path, ModemProcess]) -> None:
    link, _ = pty_modem
    proc = dial("--port", str(link), "--slip", "5550101")
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    check_session(proc.stdout)
    assert "link: SLIP: local 10.0.2.15 (from the banner)" in proc.stdout
    assert "pppd" not in proc.stdout


@pytest.mark.parametrize(
    ("init", "number", "code", "said"),
    [
        ("ATX4S7=5", "5550199", EXIT_BUSY, "BUSY"),  # X3/X4 detect busy
        ("ATX1S7=5", "5550199", EXIT_NO_CARRIER, "NO CARRIER"),  # X1 does not: S7 runs out
        ("ATX4S7=5", "5550198", EXIT_NO_CARRIER, "NO CARRIER"),  # rings, never answered
        ("ATX4S7=5", "5550198@", EXIT_NO_ANSWER, "NO ANSWER"),  # @: wait for a quiet answer
    ],
)
def test_calls_that_fail_exit_with_the_dialers_code(
    pty_modem: tuple[Path, ModemProcess], init: str, number: str, code: int, said: str
) -> None:
    link, _ = pty_modem
    proc = dial("--port", str(link), "--init", init, number)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert f"aborted on {said!r}" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith(f"modememu dial: exit {code} ")


def test_a_modememu_url_in_the_dialers_own_process() -> None:
    # The in-process Courier (V.34) has DTR and DCD: the hang-up is DTR, seen as DCD off.
    proc = dial("--port", "modememu://dial-test", "5550100")
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    check_session(proc.stdout)
    assert "DTR and DCD" in proc.stdout and "port     DCD on" in proc.stdout
    assert "hangup: DTR dropped, carrier lost" in proc.stdout


def test_rfc2217_port_with_modem_lines(tmp_path: Path) -> None:
    modem = start_modem(
        ["--rfc2217", "127.0.0.1:0", "--profile", FAST_PROFILE, "--no-pacing"], tmp_path
    )
    try:
        address = modem.ready_line.rsplit(" ", 1)[1]
        # The Hayes 2400 forces DCD on and ignores DTR by default (&C0 &D0): ask for both.
        proc = dial("--port", f"rfc2217://{address}", "--init", "AT&C1&D2", "5550100")
    finally:
        modem.stop()
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    check_session(proc.stdout)
    assert "hangup: DTR dropped, carrier lost" in proc.stdout


def test_a_port_that_goes_away_is_carrier_lost(pty_modem: tuple[Path, ModemProcess]) -> None:
    link, modem = pty_modem
    # The echo number returns our own LCP requests: PPP never comes up, the call stays.
    proc = subprocess.Popen(
        [sys.executable, "-m", "modememu", "dial", "--port", str(link), "5550102"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = read_until(proc, "dialer   connected:")
        modem.stop()
        out, err = proc.communicate(timeout=GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == EXIT_CARRIER_LOST, seen + out + err
    assert "port     lost:" in out and "exit 8 (carrier lost)" in out


def test_ctrl_c_closes_the_port_and_exits_130(pty_modem: tuple[Path, ModemProcess]) -> None:
    link, _ = pty_modem
    proc = subprocess.Popen(
        [sys.executable, "-c", WITH_SIGINT, "dial", "--port", str(link), "5550100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        read_until(proc, "dte >    ATDT5550100")
        proc.send_signal(2)  # SIGINT
        out, err = proc.communicate(timeout=GUARD)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err
    assert "interrupted" in out and "Traceback" not in err


@pytest.mark.parametrize(
    ("port", "says"),
    [
        ("{tmp}/no-such-port", "No such file or directory"),
        ("{tmp}/plain-file", "cannot open"),
        ("nosuch://x", "protocol 'nosuch' not known"),
        ("modememu://d?clock=virtual", "real time"),
        ("modememu://d?bogus=1", "unknown option 'bogus'"),
    ],
)
def test_a_port_that_cannot_be_opened_is_one_line(tmp_path: Path, port: str, says: str) -> None:
    (tmp_path / "plain-file").write_text("not a tty\n")
    proc = dial("--port", port.format(tmp=tmp_path), "5550100")
    assert proc.returncode == EXIT_NOT_RUN
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modememu: ") and says in lines[0]
    assert proc.stdout == ""


def test_a_busy_port_is_one_line(pty_modem: tuple[Path, ModemProcess]) -> None:
    import serial

    link, _ = pty_modem
    with serial.Serial(str(link), exclusive=True):
        proc = dial("--port", str(link), "5550100")
    assert proc.returncode == EXIT_NOT_RUN
    assert proc.stderr.strip() == f"modememu: {link}: port busy (another program has it open)"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--user", "alice", "5550100"], EXIT_NOT_RUN),  # no --password
        (["--slip", "--user", "a", "--password", "b", "5550101"], EXIT_NOT_RUN),
        (["--init", "ATZ\r", "5550100"], 2),  # argparse: one AT line only
        (["5550\\100"], EXIT_NOT_RUN),  # chat's escapes do not belong in a number
        (["--tcp", "example.com:7", "5550100"], 2),  # argparse: the dialer has no DNS
        (["--ppp", "--slip", "5550100"], 2),
        (["--timeout", "0", "5550100"], 2),
    ],
)
def test_bad_arguments_are_one_line(args: list[str], code: int) -> None:
    proc = dial("--port", "/dev/null", *args)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.strip().splitlines()[-1].startswith("modememu")


def test_an_isp_with_chap_users_from_a_file(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("# the ISP's users\nalice wonderland\n")
    link = tmp_path / "modem"
    modem = start_modem(
        ["--pty", str(link), "--profile", FAST_PROFILE, "--no-pacing",
         "--isp-users", str(users), "--isp-auth", "chap"],
        tmp_path,
    )  # fmt: skip
    try:
        good = dial("--port", str(link), "--user", "alice", "--password", "wonderland", "5550100")
        assert good.returncode == EXIT_OK, good.stdout + good.stderr
        assert "rcvd [CHAP Success" in good.stdout and "wonderland" not in good.stdout
        bad = dial("--port", str(link), "--user", "alice", "--password", "looking-glass", "5550100")
        assert bad.returncode == 6, bad.stdout + bad.stderr  # authentication failed
    finally:
        modem.stop()
