"""Every pair of shipped profiles, called through the exchange at several SNRs.

The expected link comes from the reference tables (v-series.md §2, §2.4), written
out here independently of the handshake code: the best modulation both modems
have that trains at the line's SNR, at the best rate both can do.
"""

from __future__ import annotations

import itertools
import math

import pytest
from callrig import Rig, Station, lines

from modememu.modem import events as ev
from modememu.phonebook import Entry, Phonebook
from modememu.profiles import Profile, load_profile, profile_names

SNRS = (41.0, 33.0, 27.0, 21.0, 14.0, 10.0, 6.0)
PROFILES = profile_names()
PAIRS = list(itertools.product(PROFILES, PROFILES))

# v-series.md §2.4: V.32bis selection thresholds (4800 heuristic), V.34 below 14400 alike.
V32BIS_SNR = {14400: 29.0, 12000: 26.0, 9600: 22.75, 7200: 19.75, 4800: 16.75}
V34_LOW_SNR = {14400: 29.0, 12000: 26.0, 9600: 22.75, 7200: 19.75, 4800: 16.75, 2400: 13.75}


def v34_rate(snr: float) -> int:
    """§2.4 heuristic: 14400 at 29 dB, one 2400 step per 1.125 dB up to 33600 at 38 dB."""
    if snr >= 29.0:
        return min(33600, 14400 + 2400 * math.floor((snr - 29.0) / 1.125))
    return max((r for r, need in V34_LOW_SNR.items() if snr >= need), default=0)


def expected(a: Profile, b: Profile, snr: float) -> tuple[set[str], int]:
    """(acceptable carriers, rate) of the best link two modems share on this line."""
    common = set(a.modulations) & set(b.modulations)
    cap = min(a.max_rate, b.max_rate)
    if "V34" in common and (rate := min(v34_rate(snr), cap)):
        return {"V34"}, rate
    if "V32B" in common:
        rate = max((r for r, need in V32BIS_SNR.items() if snr >= need and r <= cap), default=0)
        if rate:
            return {"V32B"}, rate
    if "V22B" in common and snr >= 8.0:
        return {"V22B"}, 2400 if snr >= 12.0 else 1200
    if common & {"V22", "B212"} and snr >= 8.0:
        return common & {"V22", "B212"}, 1200
    if common & {"V21", "B103"} and snr >= 5.0:
        return common & {"V21", "B103"}, 300
    return set(), 0


def connect_line(p: Profile, link: ev.Connected, x_default: int) -> str:
    """The CONNECT line each maker's factory settings print (at-commands.md §4.3)."""
    rx, arq = link.rx_rate, link.error_control is not None
    if x_default == 0:
        return "CONNECT"
    if p.connect_style == "usr":  # &A1: the ARQ marker for an error-corrected link
        return f"CONNECT {rx}/ARQ" if arq else f"CONNECT {rx}"
    if p.connect_style == "zyxel":  # X5: DCE rate, ARQ or NONE, then compression or protocol
        if not arq:
            return f"CONNECT {rx}/NONE"
        last = {"V42B": "V42b", "MNP5": "MNP5"}.get(link.compression or "", link.error_control)
        return f"CONNECT {rx}/ARQ/{last}"
    if p.connect_style == "rockwell":  # W0: the DTE rate only
        return f"CONNECT {p.default_dte_rate}"
    return f"CONNECT {rx}"


def call(caller_profile: str, answer_profile: str, snr: float) -> tuple[Station, Station]:
    book = Phonebook({"5557000": Entry("5557000", "modem", modem="5557001", snr_db=snr)})
    rig = Rig(book)
    caller = rig.station("caller", "5557002", caller_profile)
    answerer = rig.station("answerer", "5557001", answer_profile)
    answerer.at("ATS0=1")
    answerer.wait_for(b"OK")
    caller.at("ATDT5557000")
    rig.run(80)
    return caller, answerer


@pytest.mark.parametrize("snr", SNRS)
def test_every_pair_connects_at_the_best_link_the_line_allows(snr: float) -> None:
    problems: list[str] = []
    for caller_name, answer_name in PAIRS:
        a, b = load_profile(caller_name), load_profile(answer_name)
        caller, answerer = call(caller_name, answer_name, snr)
        carriers, rate = expected(a, b, snr)
        got = [caller.events(ev.Connected), answerer.events(ev.Connected)]
        where = f"{caller_name} -> {answer_name} at {snr:g} dB"
        if not rate:
            if any(got):
                problems.append(f"{where}: connected, but nothing should train")
            continue
        if not all(len(g) == 1 for g in got):
            problems.append(f"{where}: no CONNECT ({bytes(caller.received)!r})")
            continue
        c, d = got[0][0], got[1][0]
        assert isinstance(c, ev.Connected) and isinstance(d, ev.Connected)
        if (c.carrier, c.tx_rate, c.rx_rate) != (d.carrier, d.rx_rate, d.tx_rate):
            problems.append(f"{where}: the ends disagree: {c} vs {d}")
        if c.carrier not in carriers or max(c.tx_rate, c.rx_rate) != rate:
            problems.append(f"{where}: {c.carrier} {c.tx_rate}/{c.rx_rate}, want {carriers} {rate}")
        if c.error_control != d.error_control or c.compression != d.compression:
            problems.append(f"{where}: error control differs: {c} vs {d}")
        for station, profile, link in ((caller, a, c), (answerer, b, d)):
            want = connect_line(profile, link, profile.settings["X"].default)
            if f"\r\n{want}\r\n".encode() not in station.received:
                problems.append(f"{where}: {profile.name} printed {bytes(station.received)!r}")
            if not lines(station).dcd:
                problems.append(f"{where}: {profile.name} has DCD off while online")
    assert not problems, "\n".join(problems)


def test_both_ends_run_error_control_whenever_both_have_it() -> None:
    caller, answerer = call("zyxel-u1496e", "usr-courier-v34", 41.0)
    link = caller.events(ev.Connected)[0]
    assert isinstance(link, ev.Connected)
    assert (link.carrier, link.rx_rate, link.error_control, link.compression) == (
        "V32B", 14400, "LAPM", "V42B"
    )
    assert b"CONNECT 14400/ARQ/V42b\r\n" in caller.received
    assert b"CONNECT 14400/ARQ\r\n" in answerer.received


def test_v250_reports_come_before_connect_when_enabled() -> None:
    book = Phonebook({"5557000": Entry("5557000", "modem", modem="5557001")})
    rig = Rig(book)
    caller = rig.station("caller", "5557002", "usr-sportster-56k")
    answerer = rig.station("answerer", "5557001", "conexant-v92")
    answerer.at("ATS0=1")
    answerer.wait_for(b"OK")
    answerer.take()
    answerer.at("AT+MR=2;+ER=1;+DR=1")
    answerer.wait_for(b"OK")
    answerer.take()
    caller.at("AT&A3DT5557000")
    caller.wait_for(b"CONNECT")
    answerer.wait_for(b"CONNECT")
    assert b"\r\nCONNECT 33600/ARQ/V34/LAPM/V42BIS\r\n" in caller.received
    assert bytes(answerer.received).split(b"\r\n\r\n")[-5:] == [
        b"+MCR: V34", b"+MRR: 33600,33600", b"+ER: LAPM", b"+DR: V42B", b"CONNECT 115200\r\n"
    ]


def test_a_56k_modem_gets_v90_from_the_isp_number() -> None:
    rig = Rig()
    a = rig.station("a", "5557002", "usr-sportster-56k")
    a.at("AT&A3X4DT5550100")
    a.wait_for(b"CONNECT")
    link = a.events(ev.Connected)[0]
    assert isinstance(link, ev.Connected)
    assert link.carrier == "V90" and link.rx_rate > 33600 and link.tx_rate <= 33600
    assert f"\r\nCONNECT {link.rx_rate}/ARQ/V90/LAPM/V42BIS\r\n".encode() in a.received


def test_error_control_required_hangs_up_on_a_modem_without_it() -> None:
    book = Phonebook({"5557000": Entry("5557000", "modem", modem="5557001")})
    rig = Rig(book)
    caller = rig.station("caller", "5557002", "hayes-smartmodem-2400")
    answerer = rig.station("answerer", "5557001", "usr-courier-v34")
    answerer.at("AT&M5S0=1")  # USR &M5: ARQ only
    answerer.wait_for(b"OK")
    caller.at("ATDT5557000")
    caller.wait_for(b"NO CARRIER")
    answerer.wait_for(b"NO CARRIER")
    assert not caller.events(ev.Connected) and not answerer.events(ev.Connected)
