"""`modememu demo`: a whole dial-up session, checked from its transcript and its captures."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tshark import decode, problems, require_tshark

from modememu.dialup import DemoError, DemoOptions, run_demo_session

SEGMENT = re.compile(
    r"tcp +(?P<src>\S+) > (?P<dst>\S+) \[(?P<flags>[A-Z, ]+)\] seq=(?P<seq>\d+) ack=(?P<ack>\d+) "
    r"win=\d+ len=(?P<len>\d+)"
)


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modememu", "demo", "--headless", "--fast", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def segments(transcript: str) -> list[dict[str, str]]:
    return [m.groupdict() for m in SEGMENT.finditer(transcript)]


def check_story(out: str) -> None:
    """CONNECT, IPCP up, the three-way handshake, the echo, the four-way close, the hang-up."""
    assert re.search(r"connected: CONNECT\b", out)
    assert "rcvd [IPCP ConfAck" in out or "SLIP: local 10.0.2.15" in out
    segs = segments(out)
    syn, syn_ack, ack = segs[:3]
    assert (syn["flags"], syn_ack["flags"], ack["flags"]) == ("SYN", "SYN, ACK", "ACK")
    assert int(syn_ack["ack"]) == int(syn["seq"]) + 1
    assert int(ack["seq"]) == int(syn["seq"]) + 1 and int(ack["ack"]) == int(syn_ack["seq"]) + 1
    assert "Hello from modememu" in out and "echo matched" in out
    fins = [i for i, s in enumerate(segs) if "FIN" in s["flags"]]
    ours, theirs = (segs[i] for i in fins)
    assert ours["src"] == syn["src"] and theirs["src"] == syn["dst"]
    # The four segments of the close: FIN, its ACK, the peer's FIN, our ACK of it.
    first_ack = next(s for s in segs[fins[0] + 1 :] if s["src"] == syn["dst"])
    assert first_ack["flags"] == "ACK" and int(first_ack["ack"]) == int(ours["seq"]) + 1
    last = segs[-1]
    assert last["flags"] == "ACK" and int(last["ack"]) == int(theirs["seq"]) + 1
    assert "call ended" in out and "hangup:" in out
    assert out.rstrip().endswith("modememu demo: exit 0 (success)")


def test_the_demo_tells_the_whole_ppp_session_and_exits_0() -> None:
    proc = demo()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_story(proc.stdout)
    assert "sent [LCP ConfReq" in proc.stdout and "LCP TermReq" in proc.stdout


@pytest.mark.parametrize("args", [["--slip"], ["--auth", "chap"], ["--auth", "pap"]])
def test_the_demo_with_slip_chap_and_pap(args: list[str]) -> None:
    proc = demo(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_story(proc.stdout)
    if "--auth" in args:
        method = args[1].upper()
        granted = "Access granted" if method == "CHAP" else "Login ok"
        assert f"rcvd [{method}" in proc.stdout and granted in proc.stdout
        assert "dial-up-1996" not in proc.stdout  # the password never shows


@pytest.mark.parametrize(
    ("caller", "answerer"),
    [
        ("usr-courier-v34", "conexant-v92"),
        ("usr-sportster-56k", "conexant-v92"),  # V.90
        ("hayes-smartmodem-1200", "usr-courier-v34"),  # &D0: hung up by +++ and ATH0
        ("hayes-smartmodem-2400", "rockwell-rc288"),
        ("zyxel-u1496e", "zyxel-u1496e"),  # V.32bis
    ],
)
def test_a_matrix_of_modem_pairs(caller: str, answerer: str) -> None:
    out = io.StringIO()
    code = run_demo_session(out, DemoOptions(caller=caller, answerer=answerer, fast=True))
    assert code == 0, out.getvalue()
    check_story(out.getvalue())


def test_the_captures_are_clean_under_tshark(tmp_path: Path) -> None:
    require_tshark()
    pcap, record, log = tmp_path / "d.pcap", tmp_path / "d.pppd", tmp_path / "d.jsonl"
    proc = demo("--pcap", str(pcap), "--record", str(record), "--log", str(log))
    assert proc.returncode == 0, proc.stderr
    assert problems(pcap) == [] and problems(record) == []
    protocols = {row[0] for row in decode(pcap, "_ws.col.Protocol")}
    assert {"PPP LCP", "PPP IPCP", "TCP"} <= protocols
    assert log.read_text().count("\n") > 50
    slip_pcap = tmp_path / "s.pcap"
    assert demo("--slip", "--pcap", str(slip_pcap)).returncode == 0
    assert problems(slip_pcap) == []
    flags = [row[0] for row in decode(slip_pcap, "tcp.flags.str")]
    assert len(flags) >= 9  # handshake 3, data 2+, close 4


def test_impossible_combinations_are_one_line_errors() -> None:
    for args in (["--slip", "--auth", "pap"], ["--slip", "--record", "x.pppd"]):
        proc = demo(*args)
        assert proc.returncode != 0
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    with pytest.raises(DemoError):
        DemoOptions(auth="eap")


def test_many_sessions_at_once_on_one_exchange() -> None:
    # tools/bench_sessions.py's world, small: every call gets its own ISP session
    # and address from the one pool, and every dialer ends with exit 0.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from bench_sessions import run  # type: ignore[import-not-found]

    dialers, _ = run(12)
    assert [d.result.code if d.result else None for d in dialers] == [0] * 12
    addresses = {d.local_address for d in dialers}
    assert len(addresses) == 12 and "10.0.2.15" in addresses


def test_a_poorer_line_trains_lower_and_the_session_still_completes() -> None:
    out = io.StringIO()
    assert run_demo_session(out, DemoOptions(fast=True, snr_db=24.0)) == 0, out.getvalue()
    text = out.getvalue()
    assert "training SNR 24 dB" in text
    rate = re.search(r"connected: CONNECT (\d+)", text)
    assert rate is not None and int(rate.group(1)) < 33600  # not the clean line's 33600
    check_story(text)


def test_an_unwritable_recording_is_one_line(tmp_path: Path) -> None:
    for option in ("--log", "--pcap", "--record"):
        proc = demo(option, str(tmp_path / "no-such-dir" / "file"))
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert "no-such-dir" in proc.stderr
