"""The line once trained: pacing at the true character cost, latency, noise, retrain."""

from __future__ import annotations

import re

import pytest
from callrig import Rig, Station, lines

from modememu.at.parity import Parity, encode
from modememu.drivers.exchange import Call
from modememu.line.channel import LAPM_N401, LAPM_OVERHEAD, Channel
from modememu.modem import events as ev
from modememu.modem.line import LineQuality
from modememu.modem.modem import DteFormat, Mode
from modememu.phonebook import Entry, Phonebook

LAPM_BITS = 8 * (LAPM_N401 + LAPM_OVERHEAD) / LAPM_N401  # a payload byte's share of a frame

# +MS carrier for each rate from 300 to 33600 (v-series.md §2).
RATES: dict[int, str] = {300: "V21", 1200: "V22", 2400: "V22B"}
RATES |= dict.fromkeys((4800, 7200, 9600, 12000, 14400), "V32B")
RATES |= dict.fromkeys(range(16800, 33601, 2400), "V34")


def pair(entry: Entry | None = None) -> tuple[Rig, Station, Station]:
    """Two Conexant modems; dialling 5557000 reaches the answerer over `entry`'s line."""
    book = Phonebook({"5557000": entry or Entry("5557000", "modem", modem="5557001")})
    rig = Rig(book)
    caller = rig.station("caller", "5557002", "conexant-v92")
    answerer = rig.station("answerer", "5557001", "conexant-v92")
    return rig, caller, answerer


def setup(station: Station, command: str, parity: Parity = Parity.NONE) -> None:
    station.send(encode(command.encode() + b"\r", parity))
    station.wait_for(encode(b"OK", parity))
    station.take()


def connect(caller: Station, answerer: Station, init: str, parity: Parity = Parity.NONE) -> None:
    setup(caller, init, parity)
    setup(answerer, init)
    setup(answerer, "ATS0=1")
    caller.send(encode(b"ATDT5557000\r", parity))
    caller.wait_for(encode(b"CONNECT", parity))
    answerer.wait_for(b"CONNECT")
    caller.take()
    answerer.take()


def measure(rig: Rig, sender: Station, receiver: Station, payload: bytes) -> tuple[bytes, float]:
    """Send `payload` as fast as flow control allows; what arrived and its payload rate.

    The rate is taken from the first arrival to the last, not counting the first
    slice, so the start-up of the pacer does not count.
    """
    arrivals: list[tuple[float, int]] = []
    got = bytearray()

    def sink(data: bytes) -> None:
        arrivals.append((rig.clock.now(), len(data)))
        got.extend(data)

    receiver.host.attach(sink)
    sent = 0
    while len(got) < len(payload):
        room = sender.modem.dte_room()
        if sent < len(payload) and room:
            sender.send(payload[sent : sent + room])
            sent += min(room, len(payload) - sent)
        if not rig.clock.step():
            break
    first_at, first_len = arrivals[0]
    return bytes(got), (len(got) - first_len) / (arrivals[-1][0] - first_at)


def forced(carrier: str, rate: int) -> str:
    return f"+MS={carrier},0,300,{rate},300,{rate}"


@pytest.mark.parametrize("rate", sorted(RATES))
@pytest.mark.parametrize("framing", ["8N1", "7E1", "LAPM"])
def test_pacing_is_within_half_a_percent_of_nominal(framing: str, rate: int) -> None:
    rig, caller, answerer = pair()
    ec = r"\N4" if framing == "LAPM" else r"\N0"
    parity = Parity.EVEN if framing == "7E1" else Parity.NONE
    connect(caller, answerer, "AT" + ec + "W2" + forced(RATES[rate], rate), parity)
    link = caller.modem.link
    assert link is not None and (link.tx_rate, link.rx_rate) == (rate, rate)
    assert link.error_control == ("LAPM" if framing == "LAPM" else None)
    assert caller.modem.framing == ("7E1" if framing == "7E1" else "8N1")
    bits = LAPM_BITS if framing == "LAPM" else 10  # 7E1: start, 7 data, parity, stop
    nominal = rate / bits
    size = int(nominal * max(20.0, 4000 / nominal))  # 20 s of data, at least 4000 bytes
    mask = 0x7F if framing == "7E1" else 0xFF
    payload = bytes(i & mask for i in range(size))
    if framing == "7E1":
        payload = encode(payload, Parity.EVEN)
    got, measured = measure(rig, caller, answerer, payload)
    assert got == (bytes(b & 0x7F for b in payload) if framing == "7E1" else payload)
    assert measured == pytest.approx(nominal, rel=0.005)


def test_two_stop_bits_cost_eleven_bits_a_character() -> None:
    rig, caller, answerer = pair()
    connect(caller, answerer, r"AT\N0W2" + forced("V32B", 9600))
    # The port says 8N2 (a real port reports its framing); the rate follows at once.
    caller.modem.set_dte_format(DteFormat(115200, stopbits=2), rig.clock.now())
    _, measured = measure(rig, caller, answerer, bytes(20000))
    assert measured == pytest.approx(9600 / 11, rel=0.005)


def call_of(rig: Rig, station: Station) -> Call:
    return rig.world.exchange.calls[id(station.host)]


def test_noise_corrupts_bytes_without_error_control() -> None:
    entry = Entry("5557000", "modem", modem="5557001", ber=1e-4)
    rig, caller, answerer = pair(entry)
    connect(caller, answerer, r"AT\N0W2" + forced("V32B", 9600))
    payload = bytes(range(256)) * 400
    got, _ = measure(rig, caller, answerer, payload)
    assert len(got) == len(payload)
    bad = sum(1 for x, y in zip(got, payload, strict=True) if x != y)
    expected = len(payload) * (1 - (1 - 1e-4) ** 8)  # a byte is bad if any of its 8 bits flipped
    assert expected == pytest.approx(81.9, abs=0.1)
    assert 0.6 * expected <= bad <= 1.4 * expected


def test_with_lapm_noise_costs_time_not_bytes() -> None:
    nominal = 9600 / LAPM_BITS
    entry = Entry("5557000", "modem", modem="5557001", ber=1e-4)
    rig, caller, answerer = pair(entry)
    connect(caller, answerer, r"AT\N4W2" + forced("V32B", 9600))
    payload = bytes(range(256)) * 100
    got, measured = measure(rig, caller, answerer, payload)
    assert got == payload
    frame_ok = (1 - 1e-4) ** (8 * (LAPM_N401 + LAPM_OVERHEAD))  # a frame without a bit error
    assert measured == pytest.approx(nominal * frame_ok, rel=0.01)
    assert measured < 0.92 * nominal


def test_latency_delays_every_byte_one_way() -> None:
    entry = Entry("5557000", "modem", modem="5557001", latency_ms=150)
    rig, caller, answerer = pair(entry)
    connect(caller, answerer, r"AT\N0W2" + forced("V32B", 9600))
    sent_at = rig.clock.now()
    caller.send(b"x")
    arrived = answerer.wait_for(b"x")
    assert 0.150 <= arrived - sent_at <= 0.150 + 0.01


def rate_of(text: bytes) -> int:
    match = re.search(rb"CONNECT (\d+)", text)
    assert match, text
    return int(match.group(1))


def test_the_noisy_number_connects_lower_than_a_clean_line() -> None:
    rates = {}
    for number in ("5550102", "5550196"):
        rig = Rig()
        a = rig.station("a")
        a.at(f"ATX4DT{number}")
        a.wait_for(b"CONNECT")
        rig.run(1)
        rates[number] = rate_of(a.take())
    assert rates == {"5550102": 33600, "5550196": 2400}


def test_retrain_falls_back_then_forward_then_loses_carrier() -> None:
    rig, caller, answerer = pair()
    connect(caller, answerer, "ATW2")
    call = call_of(rig, caller)
    rig.world.exchange.change_line(call, LineQuality(25.0))
    rig.run(0.5)
    assert caller.modem.data.rate == 0  # nothing moves while the modems retrain
    rig.run(5)
    for station in (caller, answerer):
        retrained = station.events(ev.Retrained)
        assert retrained == [ev.Retrained("V34", 9600, 9600, 33600, 33600)]
    caller.send(b"still here")
    answerer.wait_for(b"still here")
    rig.world.exchange.change_line(call, LineQuality(38.0))
    rig.run(5)
    assert caller.events(ev.Retrained)[-1] == ev.Retrained("V34", 33600, 33600, 9600, 9600)
    rig.world.exchange.change_line(call, LineQuality(3.0))
    for station in (caller, answerer):
        station.wait_for(b"NO CARRIER")
        assert not lines(station).dcd and station.modem.mode is Mode.COMMAND


def test_channel_counts_what_noise_did() -> None:
    channel = Channel(latency=0.5, ber=0.01, seed=7)
    channel.corrupt = True
    channel.put(bytes(10000), 0.0)
    assert channel.take(0.49) == b"" and channel.deadline() == 0.5
    out = channel.take(0.5)
    assert len(out) == 10000 and channel.corrupted_bytes == sum(1 for b in out if b)
    assert 0.6 * 800 < channel.flipped_bits < 1.4 * 800
