"""A program as the far computer: started at carrier, its exit and the caller's hangup."""

from __future__ import annotations

import shutil
import signal
import sys

from test_tcpline import LoopRig

from modememu.drivers.execdte import ExecExited, ExecFailed, ExecStarted
from modememu.phonebook import Entry, Phonebook

UPPER = """
import sys
for line in sys.stdin:
    sys.stdout.write(line.upper())
    sys.stdout.flush()
    if line.strip() == "bye":
        break
"""
SLEEPER = """
import signal, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
sys.stdout.write("ready\\n")
sys.stdout.flush()
time.sleep(60)
"""


def book(*argv: str) -> Phonebook:
    """A phonebook whose number 5550150 runs `argv`."""
    return Phonebook({"5550150": Entry("5550150", "exec", argv=argv)})


async def test_program_answers_and_its_exit_is_no_carrier() -> None:
    argv = (sys.executable, "-u", "-c", UPPER)
    async with LoopRig(book(*argv)) as rig:
        a = rig.station("a")
        a.at("ATX4DT5550150")
        await a.wait_for(b"CONNECT 2400\r\n")
        a.take()
        a.send(b"hello, program\n")  # may arrive while the program is still starting
        await a.wait_for(b"HELLO, PROGRAM\n")
        a.send(b"bye\n")
        await a.wait_for(b"NO CARRIER")
        assert a.take() == b"HELLO, PROGRAM\nBYE\n\r\nNO CARRIER\r\n"
        started = rig.events_of(ExecStarted)
        assert len(started) == 1
        await rig.until(lambda: bool(rig.events_of(ExecExited)))
        assert rig.events_of(ExecExited) == [ExecExited(argv, 0)]


async def test_program_that_exits_at_once_still_gets_its_output_across() -> None:
    echo = shutil.which("echo")
    assert echo is not None
    async with LoopRig(book(echo, "short and sweet")) as rig:
        a = rig.station("a")
        a.at("ATX4DT5550150")
        await a.wait_for(b"NO CARRIER\r\n")
        after = b"\r\nCONNECT 2400\r\nshort and sweet\n\r\nNO CARRIER\r\n"
        assert a.take() == b"ATX4DT5550150\r" + after


async def test_program_that_cannot_start_drops_the_call() -> None:
    async with LoopRig(book("/nonexistent/modememu-test-program")) as rig:
        a = rig.station("a")
        a.at("ATX4DT5550150")
        await a.wait_for(b"CONNECT 2400\r\n")
        await a.wait_for(b"NO CARRIER\r\n")
        failed = rig.events_of(ExecFailed)
        assert len(failed) == 1 and isinstance(failed[0], ExecFailed)
        assert rig.events_of(ExecStarted) == []


async def test_caller_hangup_terminates_the_program() -> None:
    async with LoopRig(book(sys.executable, "-u", "-c", SLEEPER, "polite")) as rig:
        a = rig.station("a")
        a.at("AT&D2X4DT5550150")
        await a.wait_for(b"ready\n")
        a.host.set_dtr(False)
        await rig.until(lambda: bool(rig.events_of(ExecExited)))
        exited = rig.events_of(ExecExited)[0]
        assert isinstance(exited, ExecExited) and exited.returncode == -signal.SIGTERM


async def test_program_ignoring_terminate_is_killed() -> None:
    async with LoopRig(book(sys.executable, "-u", "-c", SLEEPER, "stubborn")) as rig:
        a = rig.station("a")
        a.at("AT&D2X4DT5550150")
        await a.wait_for(b"ready\n")
        a.host.set_dtr(False)
        await rig.until(lambda: bool(rig.events_of(ExecExited)))
        exited = rig.events_of(ExecExited)[0]
        assert isinstance(exited, ExecExited) and exited.returncode == -signal.SIGKILL
