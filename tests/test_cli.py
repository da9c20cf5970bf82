"""The command line: listing, the demo, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from modememu.profiles import load_all

SHIPPED = (
    "hayes-smartmodem-1200",
    "hayes-smartmodem-2400",
    "zyxel-u1496e",
    "rockwell-rc288",
    "usr-courier-v34",
    "usr-sportster-56k",
    "conexant-v92",
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modememu.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr


def test_profiles_lists_every_profile_with_maker_model_and_top_modulation() -> None:
    proc = run("profiles")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["NAME", "MAKER"]
    for profile in load_all():
        row = next(line for line in lines if line.startswith(profile.name + " "))
        assert profile.maker in row and profile.model in row
        assert row.endswith(profile.top_modulation)
    assert {line.split()[0] for line in lines[1:]} == set(SHIPPED)


def test_the_at_tour_runs_and_exits_by_itself() -> None:
    proc = run("demo", "--tour")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "> ATI3" in out and "modem < OK" in out
    assert "modem < ERROR" in out
    assert "parity detected: E" in out
    assert "ACTIVE PROFILE:" in out
    assert "modem < 040" in out  # the S-register set and read back


def test_unknown_profile_is_one_line() -> None:
    assert_one_line_error(run("modem", "--pty", "/tmp/x", "--profile", "nope"), "nope")


def test_bad_profile_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[identity]\nmaker = 3\n")
    assert_one_line_error(run("modem", "--pty", "/tmp/x", "--profile", str(bad)), str(bad))


def test_bad_arguments_are_one_line() -> None:
    assert_one_line_error(run("modem"), "--pty")
    assert_one_line_error(run("modem", "--rfc2217", "localhost:99999"), "99999")
    assert_one_line_error(run("modem", "--pty", "/tmp/x", "--baud", "9600"), "--baud")
    assert_one_line_error(run("frobnicate"), "frobnicate")
