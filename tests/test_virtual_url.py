"""`modememu://NAME?clock=virtual`: pyserial ports on modems in one virtual-time world.

Every duration asserted here is virtual time, read from the world's clock.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
import serial

import modememu  # noqa: F401 - registers the modememu:// scheme with pyserial
from modememu.drivers.urlhandler import protocol_modememu
from modememu.drivers.virtualport import (
    TX_BUFFER,
    VirtualPort,
    reset_virtual_world,
    sleep,
    virtual_world,
)
from modememu.events import Event, Stamped
from modememu.modem.events import (
    Connected,
    DataLost,
    DteLinesChanged,
    ModemLinesChanged,
    ParityDetected,
    ResultCode,
)

_names = itertools.count()
E = TypeVar("E", bound=Event)
# conexant-v92 down to V.22bis at 2400 bit/s, reporting that line rate (W2), not the DTE's
LIMIT_2400 = b"W2+MS=V22B,0,300,2400,300,2400"


def fresh_name() -> str:
    return f"v{next(_names)}"


def vurl(name: str, profile: str, number: str = "") -> str:
    query = f"clock=virtual&profile={profile}"
    if number:
        query += f"&number={number}"
    return f"modememu://{name}?{query}"


class Events:
    """Every event of the virtual world, stamped, from subscription on."""

    def __init__(self) -> None:
        self.stamped: list[Stamped] = []
        self._unsubscribe = virtual_world().bus.subscribe(self.stamped.append)

    def of(self, kind: type[E], source: str | None = None) -> list[tuple[float, E]]:
        """(time, event) of each event of this kind (from this source)."""
        return [
            (s.time, s.event)
            for s in self.stamped
            if isinstance(s.event, kind) and (source is None or s.source == source)
        ]

    def close(self) -> None:
        self._unsubscribe()


@pytest.fixture(autouse=True)
def fresh_world() -> Iterator[None]:
    reset_virtual_world()
    yield
    reset_virtual_world()  # fails the test if it left a port open


@pytest.fixture
def events() -> Iterator[Events]:
    recorder = Events()
    yield recorder
    recorder.close()


def open_port(name: str, profile: str, number: str = "", **kwargs: Any) -> VirtualPort:
    port = serial.serial_for_url(vurl(name, profile, number), **kwargs)
    assert isinstance(port, VirtualPort)
    return port


def command(port: VirtualPort, line: bytes, expect: bytes = b"OK\r\n") -> bytes:
    port.write(line + b"\r")
    reply = port.read_until(expect)
    assert reply.endswith(expect), reply
    return reply


def carrier_and_ring(port: VirtualPort) -> tuple[bool, bool]:
    return port.cd, port.ri


def now() -> float:
    return virtual_world().clock.now()


def call(a: VirtualPort, b: VirtualPort, number: str) -> None:
    """A dials `number` (B's), B answers by hand: both CONNECT 2400."""
    a.write(b"ATDT" + number.encode() + b"\r")
    assert b.read_until(b"RING\r\n").endswith(b"RING\r\n")
    command(b, b"ATA", b"CONNECT 2400\r\n")
    assert a.read_until(b"CONNECT 2400\r\n").endswith(b"CONNECT 2400\r\n")


# ----- a call between two virtual ports -----


def test_two_ports_call_talk_escape_and_hang_up(events: Events) -> None:
    na, nb = fresh_name(), fresh_name()
    profile = "hayes-smartmodem-2400"
    with (
        open_port(na, profile, "5551001", baudrate=2400, timeout=10) as a,
        open_port(nb, profile, "5551002", baudrate=2400, timeout=10) as b,
    ):
        command(b, b"AT&C1")  # this model's factory DCD is always on
        assert carrier_and_ring(b) == (False, False)
        a.write(b"ATX4DT5551002\r")
        assert b.read_until(b"RING\r\n") == b"\r\nRING\r\n"
        assert carrier_and_ring(b) == (False, True)  # RI is on while the RING sounds
        assert command(b, b"ATA", b"CONNECT 2400\r\n") == b"ATA\r\r\nCONNECT 2400\r\n"
        assert a.read_until(b"CONNECT 2400\r\n") == b"ATX4DT5551002\r\r\nCONNECT 2400\r\n"
        assert carrier_and_ring(b) == (True, False)

        rng = random.Random(1)
        a_to_b, b_to_a = rng.randbytes(1000), rng.randbytes(1500)
        a.write(a_to_b)
        b.write(b_to_a)
        assert b.read(len(a_to_b)) == a_to_b
        assert a.read(len(b_to_a)) == b_to_a

        sleep(1.5)  # guard time
        a.write(b"+++")
        sleep(1.5)  # guard time: the escape completes in silence
        a.timeout = 0
        assert a.read(100) == b"\r\nOK\r\n"
        a.timeout = 10
        assert command(a, b"ATH") == b"ATH\r\r\nOK\r\n"
        assert b.read(3) == b"+++"  # the escape characters went over the line as data
        assert carrier_and_ring(b) == (True, False)  # carrier loss waits S10 tenths
        assert b.read_until(b"NO CARRIER\r\n") == b"\r\nNO CARRIER\r\n"
        assert carrier_and_ring(b) == (False, False)

    ok_at = [t for t, e in events.of(ResultCode, na) if e == ResultCode("OK", 0, True)]
    gone_at = [t for t, e in events.of(ResultCode, nb) if e.text == "NO CARRIER"]
    assert gone_at[0] - ok_at[-1] == pytest.approx(1.4, abs=0.05)  # S10=14 on this model
    assert True in [e.ri for _, e in events.of(ModemLinesChanged, nb)]


def test_a_megabyte_through_2400_bits_per_second_with_rts_cts(events: Events) -> None:
    na, nb = fresh_name(), fresh_name()
    profile = "conexant-v92"  # &K3 RTS/CTS and \N3 error control by default
    opts = {"baudrate": 115200, "rtscts": True, "timeout": 10}
    with (
        open_port(na, profile, "5551001", **opts) as a,
        open_port(nb, profile, "5551002", **opts) as b,
    ):
        command(a, b"AT" + LIMIT_2400)
        command(b, b"AT" + LIMIT_2400)
        call(a, b, "5551002")
        assert a.cts
        links = [e for _, e in events.of(Connected)]
        assert links == [Connected("V22B", 2400, 2400, "LAPM", "V42B")] * 2

        size = 1 << 20
        data = random.Random(2).randbytes(size)
        view = memoryview(data)
        a.write_timeout = 0
        b.timeout = 1.0
        start = now()
        sent, got, rounds = 0, bytearray(), 0
        while len(got) < size:
            assert now() - start < 4 * size * 8 / 2400, f"stalled at {len(got)} of {size}"
            if sent < size:
                sent += a.write(view[sent : sent + 2 * TX_BUFFER])
            rounds += 1
            if rounds % 200 == 0:
                sleep(40)  # B stops reading for a while: its port must hold the modem off
            got += b.read(65536)
        elapsed = now() - start

        assert bytes(got) == data
        for port in (a, b):
            assert port.host.modem.data.lost_from_dte == 0
            assert port.host.modem.data.lost_to_dte == 0
            assert port.rx_lost == 0
        assert events.of(DataLost) == []
        assert elapsed >= size * 8 / 2400  # the line's pace, in virtual seconds
        # Both kinds of flow control did work: B's driver dropped RTS, A's modem dropped CTS.
        assert False in [e.rts for _, e in events.of(DteLinesChanged, nb)]
        assert False in [e.cts for _, e in events.of(ModemLinesChanged, na)]


def test_without_flow_control_the_modem_loses_what_it_cannot_take(events: Events) -> None:
    na, nb = fresh_name(), fresh_name()
    profile = "conexant-v92"
    opts = {"baudrate": 115200, "rtscts": False, "timeout": 10}
    with (
        open_port(na, profile, "5551001", **opts) as a,
        open_port(nb, profile, "5551002", **opts) as b,
    ):
        for port in (a, b):
            command(port, b"AT&K0\\N0" + LIMIT_2400)
        call(a, b, "5551002")

        size = 1 << 16
        data = random.Random(3).randbytes(size)
        assert a.write(data) == size  # 115200 bit/s into a 2400 bit/s line
        a.flush()
        got = bytearray()
        b.timeout = 5
        while chunk := b.read(65536):  # until the line has been quiet for 5 s
            got += chunk

    lost = [e for _, e in events.of(DataLost)]
    assert lost and {e.direction for e in lost} == {"from-dte"}
    assert lost == [e for _, e in events.of(DataLost, na)]  # all at A's modem
    assert len(got) < size
    assert sum(e.count for e in lost) + len(got) == size
    assert data.startswith(bytes(got[:4096]))  # what fitted went through in order


# ----- one port -----


def test_the_uart_paces_writes_and_write_timeouts_are_virtual() -> None:
    with open_port(fresh_name(), "conexant-v92", baudrate=1200) as port:  # 120 chars/s
        assert port.write(b"x" * 1000) == 1000
        assert port.out_waiting == 1000
        sleep(2.0)
        assert 1000 - 240 <= port.out_waiting <= 1000 - 232
        port.write_timeout = 0
        room = TX_BUFFER - port.out_waiting
        assert port.write(b"y" * TX_BUFFER) == room  # only what fits, at once
        assert port.out_waiting == TX_BUFFER
        port.write_timeout = 1.0
        start = now()
        with pytest.raises(serial.SerialTimeoutException):
            port.write(b"z" * 1000)  # needs 1000 / 120 s for room
        assert now() - start == pytest.approx(1.0)
        start, left = now(), port.out_waiting
        port.flush()
        assert port.out_waiting == 0
        assert now() - start == pytest.approx(left / 120, abs=0.05)


def test_reads_wait_in_virtual_time() -> None:
    with open_port(fresh_name(), "conexant-v92", timeout=2.5) as port:
        start = now()
        assert port.read(1) == b""
        assert now() - start == pytest.approx(2.5)
        port.write(b"AT\r")
        port.timeout = 0
        assert port.read(100) == b""  # timeout 0: no time passes, nothing has arrived
        port.timeout = None
        assert port.read(9) == b"AT\r\r\nOK\r\n"
        assert port.in_waiting == 0
        assert port.read(1) == b""  # nothing will ever come: returns instead of hanging


def test_a_7e1_port_reads_clean_text_and_the_modem_detects_even_parity(
    events: Events,
) -> None:
    name = fresh_name()
    with open_port(name, "conexant-v92", bytesize=7, parity="E", timeout=5) as port:
        assert command(port, b"AT") == b"AT\r\r\nOK\r\n"  # bit 7 stripped as a 7E1 UART does
        assert ParityDetected("E") in [e for _, e in events.of(ParityDetected, name)]
        assert "7E1" in command(port, b"AT&V").decode()


def test_dtr_and_rts_reach_the_modem_and_rtscts_owns_rts() -> None:
    name = fresh_name()
    with open_port(name, "conexant-v92") as port:
        modem = port.host.modem
        port.dtr = False
        port.rts = False
        assert (modem.dtr, modem.rts) == (False, False)
        port.rts = True
        port.rtscts = True
        port.rts = False  # the driver's line now: the receive buffer is empty, so on
        assert modem.rts
        assert port.baudrate == 9600
        port.baudrate = 19200
        assert "19200" in command(port, b"AT&V").decode()


def test_fileno_raises_and_the_clock_option_is_checked() -> None:
    name = fresh_name()
    with open_port(name, "conexant-v92") as port:
        with pytest.raises(serial.SerialException, match="file descriptor"):
            port.fileno()
        with pytest.raises(serial.SerialException, match="busy"):
            open_port(name, "conexant-v92")
        with pytest.raises(RuntimeError, match=name):
            reset_virtual_world()
    assert name not in virtual_world().ports
    with pytest.raises(serial.SerialException, match="clock") as info:
        serial.serial_for_url(f"modememu://{fresh_name()}?clock=warp")
    assert "\n" not in str(info.value)
    real = serial.serial_for_url(f"modememu://{fresh_name()}?clock=real", timeout=3)
    try:
        assert isinstance(real, protocol_modememu.Serial)
    finally:
        real.close()
