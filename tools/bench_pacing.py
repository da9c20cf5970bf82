"""Pacing on real ptys: payload throughput against nominal, 8N1, 7E1 and LAPM, 300 to 33600.

For each framing and each rate, two `modememu modem --pty` processes (the
Conexant V.92 profile): an answerer with `--listen 127.0.0.1:0` and a caller
that dials it with `ATD"127.0.0.1:PORT"`, so the call crosses the trunk between
two processes as it would between two machines. Each pty is opened as a DTE
with pyserial at 115200 (the caller at 7E1 for the 7E1 case: every byte it
types carries even parity, which is what tells the modem its framing). Both
modems get `AT\\N0` (no error control; `AT\\N4`, LAPM only, for LAPM), `W2` (CONNECT
shows the line rate) and `+MS=<carrier>,0,300,<rate>,300,<rate>`, the rate is
checked in the CONNECT text, then the caller's DTE writes as fast as the pty
takes it (the modem stops reading its pty while its buffer toward the line is
full, so the kernel holds the writer: no flow control needed, nothing lost).

The answerer's DTE times every read. The payload rate is the bytes after the
first read over the time from the first read to the last (the pacer's start-up
does not count); every case sends at least SECONDS seconds and at least
MIN_BYTES bytes of payload, so one pacer slice is well under 0.5 % of the
measurement. Nominal payload rates: rate/10 for 8N1 and 7E1 (start, 7 or 8
data bits, parity, stop), rate/(8*134/128) for LAPM (a 128-octet I frame plus
6 octets of flag, address, control and FCS). The data must also arrive intact.

Cases run concurrently, JOBS at a time, longest first; each has its own two
processes, ptys and TCP port, stopped by PID when the case ends, whatever
happened. Prints one key=value line per figure:

- <framing>_<rate>_ratio: measured / nominal payload rate ("failed" when the
  case did not connect at that rate or its data did not arrive intact).
- worst_ratio_error_pct: the largest |ratio - 1| in percent over measured cases.
- cases, within_half_percent: cases run, and cases within +-0.5 % of nominal.
- wall_s: wall seconds for the whole bench.

Exits 1 when any case failed or is outside +-0.5 %; reasons go to stderr.

    .venv/bin/python tools/bench_pacing.py [--quick] [--jobs 16] [--seconds 15]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import serial

from modememu.at.parity import Parity, encode
from modememu.line.channel import LAPM_N401, LAPM_OVERHEAD

PROFILE = "conexant-v92"
FRAMINGS = ("8N1", "7E1", "LAPM")
# The +MS carrier for each rate (as tests/test_line_model.py forces them).
CARRIERS: dict[int, str] = {300: "V21", 1200: "V22", 2400: "V22B"}
CARRIERS |= dict.fromkeys((4800, 7200, 9600, 12000, 14400), "V32B")
CARRIERS |= dict.fromkeys(range(16800, 33601, 2400), "V34")
QUICK_RATES = (1200, 9600, 33600)
LAPM_BITS = 8 * (LAPM_N401 + LAPM_OVERHEAD) / LAPM_N401  # a payload byte's share of a frame
TOLERANCE = 0.005
SECONDS = 15.0  # at least this long of data a case
MIN_BYTES = 3000  # and at least this many bytes
DTE_RATE = 115200
JOBS = 16
READY_S = 20.0  # for a modem process to print its ready line
COMMAND_S = 10.0  # for OK after an AT command
CONNECT_S = 60.0  # for CONNECT after dialling (V.34 takes about 10 s, V.90 about 21)
STALL_S = 15.0  # no data for this long: the case failed
SETTLE_S = 0.5  # after both CONNECTs, before the data starts
READ_SIZE = 65536
FAILURES = (b"NO CARRIER", b"BUSY", b"NO DIALTONE", b"NO ANSWER", b"ERROR")
CONNECT_LINE = re.compile(rb"CONNECT (\d+)[^\r\n]*\r\n")


class CaseError(Exception):
    """A case that could not be measured; str() is one line."""


@dataclass(frozen=True)
class Case:
    framing: str
    rate: int

    @property
    def key(self) -> str:
        return f"{self.framing}_{self.rate}"

    @property
    def nominal(self) -> float:
        """Payload bytes a second the line carries at this rate and framing."""
        return self.rate / (LAPM_BITS if self.framing == "LAPM" else 10)

    @property
    def parity(self) -> Parity:
        return Parity.EVEN if self.framing == "7E1" else Parity.NONE

    def init(self) -> str:
        """The AT command line both modems get: error control, W2 and the forced rate."""
        ec = "\\N4" if self.framing == "LAPM" else "\\N0"
        carrier = CARRIERS[self.rate]
        return f"ATE0{ec}W2+MS={carrier},0,300,{self.rate},300,{self.rate}"

    def size(self, seconds: float) -> int:
        return max(math.ceil(self.nominal * seconds), MIN_BYTES)

    def payload(self, seconds: float) -> tuple[bytes, bytes]:
        """What the caller's DTE types, and what the answerer's DTE must receive."""
        n = self.size(seconds)
        if self.framing == "7E1":
            data = bytes(i & 0x7F for i in range(n))
            return encode(data, Parity.EVEN), data
        data = bytes(i & 0xFF for i in range(n))
        return data, data


@dataclass
class Outcome:
    case: Case
    ratio: float | None = None
    error: str = ""
    measured: float = 0.0  # payload bytes a second
    data_s: float = 0.0
    connect_s: float = 0.0

    @property
    def within(self) -> bool:
        return self.ratio is not None and abs(self.ratio - 1.0) <= TOLERANCE


class ModemProcess:
    """`modememu modem ARGS`: stdout read for the ready line, stderr kept in a file."""

    def __init__(self, args: Sequence[str], stderr_path: Path) -> None:
        self.stderr_path = stderr_path
        self._stderr: IO[bytes] = stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modememu.cli", "modem", "--profile", PROFILE, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )

    def wait_ready(self) -> str:
        """The `ready ...` line; CaseError (with the process's stderr) if it never comes."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buffer = b""
        deadline = time.monotonic() + READY_S
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                tail = self.stderr_path.read_text(errors="replace").strip()[-300:]
                raise CaseError(f"modememu never said ready (exit {self.proc.poll()}): {tail}")
            buffer += chunk
        return buffer.split(b"\n", 1)[0].decode(errors="replace")

    def stop(self) -> None:
        """Stop this process (ours, by its PID) and reap it; kill it if it hangs."""
        proc = self.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        self._stderr.close()


def read_some(port: serial.Serial, timeout: float) -> bytes:
    """What the port has within `timeout` (b"" if nothing), parity bits stripped.

    Straight from the fd: setting pyserial's timeout would re-run tcsetattr, which a
    pty reports to the modem every time (and refuses for 7E1 after the first).
    """
    fd = port.fd
    assert fd is not None
    ready, _, _ = select.select([fd], [], [], max(0.0, timeout))
    data = os.read(fd, READ_SIZE) if ready else b""
    return bytes(b & 0x7F for b in data)


def read_until(port: serial.Serial, want: bytes, timeout: float, what: str) -> bytes:
    """Read the port until `want` appears; CaseError on a failure result or a timeout."""
    buffer = bytearray()
    deadline = time.monotonic() + timeout
    while want not in buffer:
        for failure in FAILURES:
            if failure in buffer:
                raise CaseError(f"{what}: {failure.decode()} ({bytes(buffer[-120:])!r})")
        left = deadline - time.monotonic()
        if left <= 0:
            raise CaseError(f"{what}: timed out ({bytes(buffer[-120:])!r})")
        buffer += read_some(port, min(left, 0.5))
    return bytes(buffer)


def command(port: serial.Serial, line: str, parity: Parity) -> None:
    port.write(encode(line.encode("ascii") + b"\r", parity))
    read_until(port, b"OK\r\n", COMMAND_S, line)


def connect_rate(port: serial.Serial, what: str) -> int:
    buffer = read_until(port, b"CONNECT", CONNECT_S, what)
    deadline = time.monotonic() + COMMAND_S
    while (match := CONNECT_LINE.search(buffer)) is None:
        if time.monotonic() > deadline:
            raise CaseError(f"{what}: no rate after CONNECT ({buffer[-120:]!r})")
        buffer += read_some(port, 0.5)
    return int(match.group(1))


def open_dte(path: Path, parity: Parity) -> serial.Serial:
    seven = parity is Parity.EVEN
    return serial.Serial(
        str(path),
        DTE_RATE,
        bytesize=serial.SEVENBITS if seven else serial.EIGHTBITS,
        parity=serial.PARITY_EVEN if seven else serial.PARITY_NONE,
        timeout=0.5,
    )


def stream(caller: serial.Serial, answerer: serial.Serial, sent: bytes, want: bytes) -> Outcome:
    """Write `sent` into the caller's pty, time every read on the answerer's; the rate."""
    fd = answerer.fd
    assert fd is not None
    failure: list[BaseException] = []

    def write() -> None:
        try:
            caller.write(sent)
        except BaseException as exc:  # reported below
            failure.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    arrivals: list[tuple[float, int]] = []
    got = bytearray()
    writer.start()
    try:
        while len(got) < len(want):
            ready, _, _ = select.select([fd], [], [], STALL_S)
            data = os.read(fd, READ_SIZE) if ready else b""
            now = time.monotonic()
            if not data:
                raise CaseError(f"data stalled after {len(got)} of {len(want)} bytes")
            arrivals.append((now, len(data)))
            got += data
    finally:
        writer.join(timeout=STALL_S)
    if failure:
        raise CaseError(f"writing: {failure[0]}")
    if bytes(got[: len(want)]) != want:
        bad = next(i for i, (x, y) in enumerate(zip(got, want, strict=False)) if x != y)
        raise CaseError(f"data corrupted from byte {bad} of {len(want)}")
    if len(arrivals) < 3:
        raise CaseError(f"only {len(arrivals)} reads: too few to time")
    (first_at, first_len), (last_at, _) = arrivals[0], arrivals[-1]
    outcome = Outcome(Case("", 0))
    outcome.measured = (len(got) - first_len) / (last_at - first_at)
    outcome.data_s = last_at - first_at
    return outcome


def run_case(case: Case, workdir: Path, seconds: float) -> Outcome:
    where = workdir / case.key
    where.mkdir()
    outcome = Outcome(case)
    modems: list[ModemProcess] = []
    ports: list[serial.Serial] = []
    try:
        answering = ModemProcess(
            ["--pty", str(where / "answerer"), "--listen", "127.0.0.1:0"], where / "a.stderr"
        )
        modems.append(answering)
        calling = ModemProcess(["--pty", str(where / "caller")], where / "c.stderr")
        modems.append(calling)
        match = re.search(r"listening on [^\s:]+:(\d+)", answering.wait_ready())
        if match is None:
            raise CaseError("the answerer's ready line has no listening port")
        calling.wait_ready()
        answerer = open_dte(where / "answerer", Parity.NONE)
        ports.append(answerer)
        caller = open_dte(where / "caller", case.parity)
        ports.append(caller)
        command(answerer, case.init(), Parity.NONE)
        command(answerer, "ATS0=1", Parity.NONE)
        command(caller, case.init(), case.parity)
        dialled = time.monotonic()
        caller.write(encode(f'ATX4D"127.0.0.1:{match.group(1)}"\r'.encode(), case.parity))
        rates = (connect_rate(caller, "caller"), connect_rate(answerer, "answerer"))
        outcome.connect_s = time.monotonic() - dialled
        if rates != (case.rate, case.rate):
            raise CaseError(f"connected at {rates[0]} (caller) / {rates[1]} (answerer)")
        time.sleep(SETTLE_S)
        answerer.reset_input_buffer()
        sent, want = case.payload(seconds)
        timed = stream(caller, answerer, sent, want)
        outcome.measured, outcome.data_s = timed.measured, timed.data_s
        outcome.ratio = timed.measured / case.nominal
    except (CaseError, OSError, serial.SerialException, termios.error) as exc:
        outcome.error = str(exc) or type(exc).__name__
    finally:
        for port in ports:
            with contextlib.suppress(OSError, serial.SerialException):
                port.close()
        for modem in reversed(modems):
            modem.stop()
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"only the rates {', '.join(map(str, QUICK_RATES))}"
    )
    parser.add_argument("--jobs", type=int, default=JOBS, help="cases running at once")
    parser.add_argument(
        "--seconds", type=float, default=SECONDS, help="least seconds of data a case"
    )
    args = parser.parse_args()
    jobs: int = args.jobs
    seconds: float = args.seconds
    if jobs < 1 or seconds <= 0:
        parser.error("--jobs and --seconds must be positive")
    rates = QUICK_RATES if args.quick else tuple(sorted(CARRIERS))
    cases = [Case(framing, rate) for framing in FRAMINGS for rate in rates]
    longest_first = sorted(cases, key=lambda c: c.size(seconds) / c.nominal, reverse=True)
    start = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="bench-pacing-") as tmp,
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        futures = {c: pool.submit(run_case, c, Path(tmp), seconds) for c in longest_first}
        outcomes = {c: f.result() for c, f in futures.items()}
    wall = time.monotonic() - start

    ratios: list[float] = []
    for case in cases:
        outcome = outcomes[case]
        if outcome.ratio is None:
            print(f"{case.key}_ratio=failed")
            sys.stderr.write(f"bench_pacing: {case.key}: {outcome.error}\n")
            continue
        ratios.append(outcome.ratio)
        print(f"{case.key}_ratio={outcome.ratio:.4f}")
        if not outcome.within:
            sys.stderr.write(
                f"bench_pacing: {case.key}: {outcome.measured:.2f} B/s against "
                f"{case.nominal:.2f} nominal over {outcome.data_s:.1f} s\n"
            )
    within = sum(outcomes[c].within for c in cases)
    worst = max((abs(r - 1.0) * 100 for r in ratios), default=math.nan)
    print(f"worst_ratio_error_pct={worst:.3f}")
    print(f"cases={len(cases)}")
    print(f"within_half_percent={within}")
    print(f"wall_s={wall:.1f}")
    return 0 if within == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
