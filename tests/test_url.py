"""The `modememu://` pyserial URL: an emulated modem in this process, sync and asyncio."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import serial
import serial_asyncio_fast
from serving import PROFILE, command, wait_for

import modememu
from modememu.drivers import inprocess
from modememu.events import Event, Stamped
from modememu.modem.events import DteFormatChanged, DteLinesChanged, ParityDetected

_names = itertools.count()


def fresh_name() -> str:
    return f"t{next(_names)}"


def url(name: str, **options: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"profile": PROFILE, **options}.items())
    return f"modememu://{name}?{query}"


class Recorder:
    """Events of one in-process modem, collected on the loop thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._unsubscribe = inprocess.runtime().bus.subscribe(self._on)

    def _on(self, stamped: Stamped) -> None:
        if stamped.source == self.name:
            with self._lock:
                self._events.append(stamped.event)

    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def close(self) -> None:
        self._unsubscribe()


@pytest.fixture
def recorded() -> Iterator[Callable[[str], Recorder]]:
    recorders: list[Recorder] = []

    def make(name: str) -> Recorder:
        recorders.append(Recorder(name))
        return recorders[-1]

    yield make
    for recorder in recorders:
        recorder.close()


def test_importing_modememu_registers_the_scheme() -> None:
    assert modememu.URL_HANDLER_PACKAGE in serial.protocol_handler_packages


def test_at_gets_ok() -> None:
    with serial.serial_for_url(url(fresh_name()), timeout=3) as port:
        port.write(b"AT\r")
        assert port.read_until(b"OK\r\n") == b"AT\r\r\nOK\r\n"  # E1: the echo first
        assert command(port, b"ATE0").endswith(b"OK\r\n")
        port.write(b"AT\r")
        assert port.read(6) == b"\r\nOK\r\n"
        assert port.in_waiting == 0


def test_the_modem_lines_are_readable_bools() -> None:
    with serial.serial_for_url(url(fresh_name()), timeout=3) as port:
        lines = (port.cts, port.dsr, port.ri, port.cd)
        assert all(isinstance(value, bool) for value in lines)
        assert port.cts is True and port.ri is False
        assert port.cd is False  # &C1: carrier detect only follows a carrier
        command(port, b"AT&C0")
        assert port.cd is True  # &C0: DCD always on, seen as soon as the command ran


def test_dtr_and_rts_reach_the_modem(recorded: Callable[[str], Recorder]) -> None:
    name = fresh_name()
    recorder = recorded(name)
    with serial.serial_for_url(url(name), timeout=3) as port:
        port.dtr = False
        assert recorder.events()[-1] == DteLinesChanged(dtr=False, rts=True)
        port.rts = False
        assert recorder.events()[-1] == DteLinesChanged(dtr=False, rts=False)
        port.dtr = True
        port.rts = True
        assert recorder.events()[-1] == DteLinesChanged(dtr=True, rts=True)


def test_baud_rate_reaches_the_modem(recorded: Callable[[str], Recorder]) -> None:
    name = fresh_name()
    recorder = recorded(name)
    with serial.serial_for_url(url(name), baudrate=9600, timeout=3) as port:
        assert "DTE: 9600 8N1" in command(port, b"AT&V").decode()
        port.baudrate = 2400
        assert DteFormatChanged(2400, "8N1") in recorder.events()
        assert "DTE: 2400 8N1" in command(port, b"AT&V").decode()


def test_a_7e1_dte_reads_clean_text_and_the_modem_detects_even_parity(
    recorded: Callable[[str], Recorder],
) -> None:
    name = fresh_name()
    recorder = recorded(name)
    with serial.serial_for_url(url(name), 9600, bytesize=7, parity="E", timeout=3) as port:
        port.write(b"AT\r")
        reply = port.read_until(b"OK\r\n")
        assert reply == b"AT\r\r\nOK\r\n"  # echo and result, bit 7 stripped as a 7E1 UART does
        # The reply is sent before the modem's events are published: wait for them.
        wait_for("ParityDetected('E')", lambda: ParityDetected("E") in recorder.events())
        assert "DTE: 9600 7E1" in command(port, b"AT&V").decode()


def test_the_same_name_twice_is_busy() -> None:
    name = fresh_name()
    with (
        serial.serial_for_url(url(name), timeout=1),
        pytest.raises(serial.SerialException, match="busy"),
    ):
        serial.serial_for_url(url(name))
    with serial.serial_for_url(url(name), timeout=3) as again:  # free after close
        assert command(again, b"AT").endswith(b"OK\r\n")
    assert name not in inprocess.runtime().modems


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("modememu://x?profile=no-such-modem", "no-such-modem"),
        ("modememu://x?profil=usr-courier-v34", "unknown option"),
        ("modememu://x?profile=a&profile=b", "more than once"),
        ("modememu://?profile=usr-courier-v34", "NAME"),
    ],
)
def test_bad_urls_raise_one_line_serial_exceptions(bad: str, needle: str) -> None:
    with pytest.raises(serial.SerialException, match=needle) as info:
        serial.serial_for_url(bad)
    assert "\n" not in str(info.value)
    assert "x" not in inprocess.runtime().modems


def test_timeouts() -> None:
    with serial.serial_for_url(url(fresh_name()), timeout=0) as port:
        assert port.read(10) == b""  # non-blocking
        port.timeout = 0.2
        assert port.read(10) == b""  # waits, then gives up
        port.write(b"AT\r")
        port.timeout = None
        assert port.read(9) == b"AT\r\r\nOK\r\n"  # blocks until all 9 came


def test_closed_port_refuses_use() -> None:
    port = serial.serial_for_url(url(fresh_name()), timeout=1)
    port.close()
    with pytest.raises(serial.PortNotOpenError):
        port.write(b"AT\r")
    with pytest.raises(serial.PortNotOpenError):
        _ = port.cts


async def test_pyserial_asyncio_fast_round_trip() -> None:
    name = fresh_name()
    reader, writer = await serial_asyncio_fast.open_serial_connection(url=url(name))
    try:
        writer.write(b"ATE0\r")
        await asyncio.wait_for(reader.readuntil(b"OK\r\n"), 5)
        writer.write(b"ATI3\r")
        reply = await asyncio.wait_for(reader.readuntil(b"OK\r\n"), 5)
        assert b"Courier" in reply
    finally:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 5)
    wait_for("the modem to leave the registry", lambda: name not in inprocess.runtime().modems)


def test_two_real_time_ports_call_each_other_by_number() -> None:
    """The in-process modems share one exchange: RING, ATA, CONNECT, data, +++, ATH."""
    a_number, b_number = (f"555{n:04d}" for n in (next(_names), next(_names)))
    with serial.serial_for_url(
        url(fresh_name(), profile="hayes-smartmodem-2400", number=a_number), timeout=20
    ) as a, serial.serial_for_url(
        url(fresh_name(), profile="hayes-smartmodem-2400", number=b_number), timeout=20
    ) as b:
        command(b, b"ATE0&C1")
        command(a, b"ATE0X4")
        a.write(f"ATDT{b_number}\r".encode())
        assert b.read_until(b"RING\r\n").endswith(b"RING\r\n")
        b.write(b"ATA\r")
        assert b.read_until(b"CONNECT 2400\r\n").endswith(b"CONNECT 2400\r\n")
        assert a.read_until(b"CONNECT 2400\r\n").endswith(b"CONNECT 2400\r\n")
        assert b.cd
        a.write(b"ping")
        assert b.read(4) == b"ping"
        b.write(b"pong")
        assert a.read(4) == b"pong"
        time.sleep(1.2)  # S12: a second of silence, +++, a second of silence
        a.write(b"+++")
        assert a.read_until(b"OK\r\n").endswith(b"OK\r\n")
        command(a, b"ATH")
        assert b.read_until(b"NO CARRIER\r\n").endswith(b"NO CARRIER\r\n")
        assert not b.cd
