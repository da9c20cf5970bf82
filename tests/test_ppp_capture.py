"""A whole PPP session between two modememu ends, as pppd's log and as captures tshark checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from handbuilt import syn
from pppair import Pair
from tshark import decode, problems

from modememu.capture.pcap import PppPcapWriter
from modememu.capture.pppdump import PppdumpWriter
from modememu.link.ppp.printer import log_line
from modememu.link.ppp.session import PppFrame

CLIENT = ["noipdefault", "usepeerdns", "user", "alice", "password", "wonderland"]
SERVER = ["10.0.2.2:10.0.2.15", "ms-dns", "10.0.2.3", "secret", "alice:wonderland"]
START = 1_700_000_000.0


def frames(pair: Pair, side: str) -> list[PppFrame]:
    return [e for e in pair.events[side] if isinstance(e, PppFrame)]


def test_the_log_reads_like_pppd() -> None:
    pair = Pair.of(CLIENT, [*SERVER, "require-pap"])
    pair.open()
    pair.run()
    log = [log_line(f.sent, f.protocol, f.info) for f in frames(pair, "client")]
    magic = r"<magic 0x[0-9a-f]+>"
    expected = [
        rf"sent \[LCP ConfReq id=0x1 <asyncmap 0x0> {magic} <pcomp> <accomp>\]",
        rf"rcvd \[LCP ConfReq id=0x1 <asyncmap 0x0> <auth pap> {magic} <pcomp> <accomp>\]",
        rf"sent \[LCP ConfAck id=0x1 <asyncmap 0x0> <auth pap> {magic} <pcomp> <accomp>\]",
        rf"rcvd \[LCP ConfAck id=0x1 <asyncmap 0x0> {magic} <pcomp> <accomp>\]",
        r'sent \[PAP AuthReq id=0x1 user="alice" password=<hidden>\]',
        r'rcvd \[PAP AuthAck id=0x1 "Login ok"\]',
        r"sent \[IPCP ConfReq id=0x1 <addr 0.0.0.0> <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>\]",
        r"rcvd \[IPCP ConfReq id=0x1 <addr 10.0.2.2>\]",
        r"sent \[IPCP ConfAck id=0x1 <addr 10.0.2.2>\]",
        r"rcvd \[IPCP ConfRej id=0x1 <ms-dns2 0.0.0.0>\]",
        r"sent \[IPCP ConfReq id=0x2 <addr 0.0.0.0> <ms-dns1 0.0.0.0>\]",
        r"rcvd \[IPCP ConfNak id=0x2 <addr 10.0.2.15> <ms-dns1 10.0.2.3>\]",
        r"sent \[IPCP ConfReq id=0x3 <addr 10.0.2.15> <ms-dns1 10.0.2.3>\]",
        r"rcvd \[IPCP ConfAck id=0x3 <addr 10.0.2.15> <ms-dns1 10.0.2.3>\]",
    ]
    assert len(log) == len(expected), "\n".join(log)
    for line, pattern in zip(log, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert not any("wonderland" in line for line in log)


def captured_session(tmp_path: Path, method: str) -> tuple[Path, Path, Pair]:
    """Run a session with `method`, a SYN each way; write the client's pcap and line record."""
    pcap_path, record_path = tmp_path / "client.pcap", tmp_path / "client.record"
    with pcap_path.open("wb") as pcap_file, record_path.open("wb") as record_file:
        pcap = PppPcapWriter(pcap_file)
        record = PppdumpWriter(record_file, START)

        def tap(sender: str, now: float, data: bytes) -> None:
            record.data(START + now, sender == "client", data)

        pair = Pair.of(CLIENT, [*SERVER, method])
        pair.tap = tap
        pair.open()
        pair.run()
        pair.client.send_ip(syn("10.0.2.15", 49152, "10.0.2.2", 80, 0x12345678), pair.now)
        pair.server.send_ip(syn("10.0.2.2", 80, "10.0.2.15", 49152, 0x9ABCDEF0), pair.now)
        pair.step()
        pair.client.close(pair.now)
        pair.run(until=lambda p: p.client.ended is not None and p.server.ended is not None)
        for frame in frames(pair, "client"):
            pcap.packet(START + pair.now, frame.sent, frame.protocol, frame.info)
    return pcap_path, record_path, pair


@pytest.mark.peer
@pytest.mark.parametrize("method", ["require-pap", "require-chap", "noauth"])
def test_captures_of_a_session_are_clean_and_hold_no_secret(tmp_path: Path, method: str) -> None:
    pcap_path, record_path, pair = captured_session(tmp_path, method)
    assert pair.client.ended is not None and pair.client.ended.reason == "User request"
    for path in (pcap_path, record_path):
        assert problems(path) == []
        assert b"wonderland" not in path.read_bytes()
    protocols = {row[0] for row in decode(pcap_path, "ppp.protocol")}
    wanted = {"0xc021", "0x8021", "0x0021"} | {
        "require-pap": {"0xc023"},
        "require-chap": {"0xc223"},
        "noauth": set(),
    }[method]
    assert wanted <= protocols
    # tshark deframed the raw line itself and found every frame the session sent.
    line_frames = decode(record_path, "frame.number")
    assert len(line_frames) == len(frames(pair, "client"))
    tcp = decode(pcap_path, "tcp.srcport", "tcp.flags.syn", display_filter="tcp")
    assert sorted(row[0] for row in tcp) == ["49152", "80"]


@pytest.mark.peer
def test_the_hidden_pap_password_is_still_a_valid_frame_on_the_line(tmp_path: Path) -> None:
    _, record_path, _ = captured_session(tmp_path, "require-pap")
    rows = decode(record_path, "pap.password", display_filter="pap.code == 1")
    assert rows and all(row == ["**********"] for row in rows)
