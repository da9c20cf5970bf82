"""A modem host on the virtual clock: NVRAM kept in a --state file, and the runner's timer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modememu.clock import VirtualClock
from modememu.drivers.host import ModemHost, StateFileError
from modememu.events import EventBus
from modememu.profiles import load_profile

PROFILE = load_profile("rockwell-rc288")


def host_with(state: Path) -> tuple[ModemHost, bytearray, VirtualClock]:
    clock = VirtualClock()
    host = ModemHost(PROFILE, clock, EventBus(), state_file=state)
    out = bytearray()
    host.attach(out.extend)
    return host, out, clock


def test_nvram_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "nvram.json"
    host, out, _ = host_with(state)
    host.from_dte(b"ATE0S7=33&W&Z0=5550102\r")
    assert out.endswith(b"\r\nOK\r\n")
    saved = json.loads(state.read_text())
    assert saved["profiles"][0]["sregs"]["7"] == 33
    assert saved["numbers"][0] == "5550102"
    host.close()

    again, out, _ = host_with(state)
    again.from_dte(b"ATS7?\r")
    assert out == b"\r\n033\r\n\r\nOK\r\n"  # E0 was stored too: no echo
    again.close()


def test_without_a_state_file_nothing_is_written(tmp_path: Path) -> None:
    clock = VirtualClock()
    host = ModemHost(PROFILE, clock, EventBus())
    host.from_dte(b"AT&W\r")
    assert list(tmp_path.iterdir()) == []
    host.close()


def test_bad_state_file_is_one_line(tmp_path: Path) -> None:
    state = tmp_path / "nvram.json"
    state.write_text("{not json")
    with pytest.raises(StateFileError) as info:
        host_with(state)
    assert str(info.value).startswith(str(state)) and "\n" not in str(info.value)


def test_values_a_profile_does_not_allow_are_dropped_on_load(tmp_path: Path) -> None:
    state = tmp_path / "nvram.json"
    state.write_text(json.dumps({"profiles": [{"sregs": {"7": 999}, "settings": {"E": 0}}]}))
    host, out, _ = host_with(state)
    host.from_dte(b"ATS7?\r")
    default = PROFILE.sregisters[7].default
    assert out == f"\r\n{default:03d}\r\n\r\nOK\r\n".encode()  # E0 kept, S7=999 refused
    host.close()


def test_the_runner_fires_the_core_timer_on_the_clock() -> None:
    host, out, clock = host_with(Path("/nonexistent/never-written.json"))
    host.from_dte(b"ATE0X3S7=5D123\r")
    assert out == b"ATE0X3S7=5D123\r"  # the line's own echo, before E0 ran
    out.clear()
    clock.advance(4.9)
    assert out == b""
    clock.advance(0.2)
    assert out == b"\r\nNO CARRIER\r\n"
    host.close()
