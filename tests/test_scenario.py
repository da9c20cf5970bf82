"""Scenario files (`modememu run`) and recorded sessions (`modememu replay`)."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import pytest

from modememu.dialup import DemoOptions, run_demo_session
from modememu.replay import ReplayError, replay
from modememu.scenario import DEMO, ScenarioError, load, run

BENCH = """
fast = true

[isp]
auth = "chap"
users = { alice = "wonderland" }

[numbers."5551234"]
service = "bbs"

[[modem]]
name = "pc"
profile = "usr-courier-v34"

[[modem]]
name = "amiga"
profile = "zyxel-u1496e"

[[dialer]]
modem = "pc"
number = "5550100"
user = "alice"
password = "wonderland"

[[dialer]]
modem = "amiga"
number = "5550101"
mode = "slip"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(text)
    return path


def test_a_bench_of_two_callers_runs_to_exit_0(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run(load(write(tmp_path, BENCH)), out) == 0
    text = out.getvalue()
    assert "CHAP Success" in text and "SLIP: local 10.0.2.16" in text
    assert text.count("done: exit 0: success") == 2


def test_a_failing_dialer_gives_its_exit_status(tmp_path: Path) -> None:
    busy = BENCH.replace('number = "5550101"', 'number = "5550199"')  # always busy
    assert run(load(write(tmp_path, busy)), io.StringIO()) == 1


def test_the_demo_is_a_built_in_scenario() -> None:
    out = io.StringIO()
    assert run(dataclasses.replace(DEMO, fast=True), out) == 0
    assert "done: exit 0: success" in out.getvalue()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("speed = 3\n", "speed: unknown key"),
        ("fast = 'yes'\n", "fast: expected true or false"),
        ("[[modem]]\nprofile = 'usr-courier-v34'\n", "modem[0]: a modem needs a name"),
        ("[[modem]]\nname = 'a'\nprofile = 'nope'\n", "modem[0].profile: unknown profile"),
        ("[[modem]]\nname = 'a'\ncolour = 1\n", "modem[0].colour: unknown key"),
        ("[[dialer]]\nmodem = 'ghost'\n", "dialer[0].modem: no modem named 'ghost'"),
        ("[isp]\nauth = 'eap'\n", "isp: auth must be"),
        ("[numbers.'x1']\nservice = 'echo'\n", "numbers.x1"),
        (
            "fast = true\n[[modem]]\nname = 'a'\npty = '/tmp/a'\n",
            "fast: a modem on a pty needs real time",
        ),
        ("fast = \n", "not valid TOML"),
    ],
)
def test_a_bad_scenario_is_one_line_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        load(write(tmp_path, text))
    message = str(raised.value)
    assert named in message and "\n" not in message


def test_a_recorded_session_replays_as_it_was_told(tmp_path: Path) -> None:
    log = tmp_path / "session.jsonl"
    live = io.StringIO()
    assert run_demo_session(live, DemoOptions(fast=True, log=log)) == 0
    again = io.StringIO()
    assert replay(log, again) == 0
    told = live.getvalue().splitlines()[1:-1]  # without the title and the summary
    assert again.getvalue().splitlines() == told


def test_replay_skips_what_does_not_fit_and_refuses_what_is_not_a_log(tmp_path: Path) -> None:
    log = tmp_path / "session.jsonl"
    run_demo_session(io.StringIO(), DemoOptions(fast=True, log=log))
    log.write_text(log.read_text() + "{not json\n")
    out = io.StringIO()
    assert replay(log, out) == 0
    assert "1 lines skipped" in out.getvalue()
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"\xff\xfe")
    with pytest.raises(ReplayError):
        replay(junk, io.StringIO())


def modememu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modememu", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_run_and_replay_commands(tmp_path: Path) -> None:
    bench, log = write(tmp_path, BENCH), tmp_path / "bench.jsonl"
    ran = modememu("run", str(bench), "--log", str(log))
    assert ran.returncode == 0, ran.stderr
    again = modememu("replay", str(log))
    assert again.returncode == 0 and again.stdout == ran.stdout
    bad = modememu("run", str(write(tmp_path, "[[dialer]]\nmodem = 'x'\n")))
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert "dialer[0].modem: no modem named 'x'" in bad.stderr
    missing = modememu("replay", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
