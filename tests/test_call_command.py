"""`modememu call`: one handshake between two emulated modems, as data and on the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from modememu.callcmd import CallResult, CallSetupError, format_text, run_call
from modememu.profiles import ProfileError

USR = "usr-courier-v34"
JSON_KEYS = {
    "result", "modulation", "tx_rate", "rx_rate", "error_control", "compression",
    "caller_connect", "answerer_connect", "events", "connect_seconds", "symbol_rate",
    "snr_db", "caller", "answerer",
}  # fmt: skip


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modememu.cli", "call", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def step_names(result: CallResult) -> list[str]:
    return [e.name for e in result.events]


def test_usr_to_usr_on_the_default_line_is_v34_33600_lapm_v42bis() -> None:
    r = run_call(USR, USR)
    assert r.connected and r.result == "CONNECT"
    assert (r.modulation, r.tx_rate, r.rx_rate) == ("V34", 33600, 33600)
    assert (r.error_control, r.compression) == ("LAPM", "V42B")
    assert r.caller_connect == ("CONNECT 33600/ARQ",)  # factory &A1
    assert r.answerer_connect == ("CONNECT 33600/ARQ",)
    assert r.symbol_rate == 3429
    assert r.connect_seconds is not None and r.connect_seconds > 0
    assert (r.caller, r.answerer, r.snr_db) == (USR, USR, 41.0)
    assert step_names(r)[-1] == "connect"


def test_usr_a3_shows_the_full_connect_text_on_that_side_only() -> None:
    r = run_call(USR, USR, caller_init=["AT&A3"])
    assert r.caller_connect == ("CONNECT 33600/ARQ/V34/LAPM/V42BIS",)
    assert r.answerer_connect == ("CONNECT 33600/ARQ",)


@pytest.mark.parametrize(
    ("caller", "modulation", "rate"),
    [("hayes-smartmodem-2400", "V22B", 2400), ("hayes-smartmodem-1200", "B212", 1200)],
)
def test_old_hayes_callers_get_their_own_low_speed_carrier(
    caller: str, modulation: str, rate: int
) -> None:
    r = run_call(caller, USR)
    assert (r.modulation, r.tx_rate, r.rx_rate) == (modulation, rate, rate)
    assert r.error_control is None and r.compression is None
    assert "CM" not in step_names(r)  # no V.8 without V.34 on both ends
    assert r.answerer_connect[-1] == f"CONNECT {rate}"


def test_zyxel_pair_is_v32bis_with_zyxel_connect_text() -> None:
    r = run_call("zyxel-u1496e", "zyxel-u1496e")
    assert (r.modulation, r.tx_rate, r.rx_rate) == ("V32B", 14400, 14400)
    assert (r.error_control, r.compression) == ("LAPM", "V42B")
    assert r.caller_connect == ("CONNECT 14400/ARQ/V42b",)  # factory X5: DCE rate and EC
    words = [e.word for e in r.events if e.word is not None]
    assert words and all(0 <= w <= 0xFFFF for w in words)
    assert step_names(r)[-1] == "connect"  # the timeline runs to the end


def test_rockwell_w1_prints_carrier_protocol_compression_then_dte_rate() -> None:
    r = run_call(USR, "rockwell-rc288", answerer_init=["ATW1"])
    assert r.connected and r.rx_rate is not None
    assert r.answerer_connect[:3] == (
        f"CARRIER {r.rx_rate}",
        "PROTOCOL: LAPM",
        "COMPRESSION: V.42BIS",
    )
    last = r.answerer_connect[-1]
    assert len(r.answerer_connect) == 4 and last.startswith("CONNECT ")
    assert last != f"CONNECT {r.rx_rate}"  # W1's CONNECT gives the DTE rate


def test_a_noisy_line_trains_slower_than_the_default_line() -> None:
    clean, noisy = run_call(USR, USR), run_call(USR, USR, snr_db=20.0)
    assert noisy.connected and noisy.snr_db == 20.0
    assert noisy.tx_rate is not None and clean.tx_rate is not None
    assert noisy.rx_rate is not None and clean.rx_rate is not None
    assert noisy.tx_rate < clean.tx_rate and noisy.rx_rate < clean.rx_rate


def test_a_dead_line_fails_with_no_carrier_and_keeps_the_timeline() -> None:
    r = run_call(USR, USR, snr_db=0.0)
    assert not r.connected and r.result == "NO CARRIER"
    assert r.modulation is None and r.caller_connect == ()
    assert "failed" in step_names(r)
    assert "NO CARRIER" in format_text(r)


def test_an_init_command_answering_error_is_refused() -> None:
    with pytest.raises(CallSetupError, match="ATJ9"):
        run_call(USR, USR, answerer_init=["ATJ9"])


def test_an_unknown_profile_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="no-such-modem"):
        run_call("no-such-modem", USR)


def test_text_output_has_the_timeline_and_the_summary() -> None:
    proc = cli("--from", USR, "--to", USR, "--from-init", "AT&A3")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    cm = next(line for line in out.splitlines() if " CM " in line)
    assert "caller" in cm and "C1 " in cm  # octets as spaced hex
    assert "V34" in out and "LAPM" in out and "V42B" in out
    assert "caller->answerer 33600" in out and "answerer->caller 33600" in out
    assert "CONNECT 33600/ARQ/V34/LAPM/V42BIS" in out


def test_json_output_is_one_object_with_every_key() -> None:
    proc = cli("--from", USR, "--to", USR, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert isinstance(data, dict) and data.keys() >= JSON_KEYS
    assert (data["modulation"], data["tx_rate"], data["rx_rate"]) == ("V34", 33600, 33600)
    assert (data["error_control"], data["compression"]) == ("LAPM", "V42B")
    assert data["caller_connect"] == ["CONNECT 33600/ARQ"]
    assert data["caller"] == USR and data["answerer"] == USR
    events = {e["name"]: e for e in data["events"]}
    for name in ("CM", "JM"):
        octets = events[name]["octets"]
        assert isinstance(octets, str) and bytes.fromhex(octets)
    assert set(events["CM"]) == {"t", "by", "name", "detail", "octets", "word", "rates"}


def test_json_rate_words_for_a_v32bis_pair() -> None:
    proc = cli("--from", "zyxel-u1496e", "--to", "zyxel-u1496e", "--json")
    data = json.loads(proc.stdout)
    assert data["modulation"] == "V32B" and data["symbol_rate"] is None
    assert any(isinstance(e["word"], int) for e in data["events"])


def test_json_failure_is_one_object_with_the_result_and_exit_1() -> None:
    proc = cli("--from", USR, "--to", USR, "--snr", "0", "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["result"] == "NO CARRIER" and data["events"]


def test_the_snr_option_reaches_the_line() -> None:
    proc = cli("--from", USR, "--to", USR, "--snr", "20", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["snr_db"] == 20.0 and data["tx_rate"] < 33600


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--from", "no-such-modem", "--to", USR), "no-such-modem"),
        (("--from", USR, "--to", USR, "--snr", "loud"), "--snr"),
        (("--from", USR, "--to", USR, "--snr", "61"), "--snr"),
        (("--from", USR, "--to", USR, "--snr", "nan"), "--snr"),
        (("--from", USR, "--to", USR, "--to-init", "ATJ9"), "ATJ9"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert needle in proc.stderr
    assert proc.stdout == ""
