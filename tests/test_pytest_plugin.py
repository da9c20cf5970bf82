"""The pytest plugin: its fixtures, used by test files that pytester runs as a user would.

Each generated file runs in a pytest subprocess that finds the plugin through its
`pytest11` entry point (after `pip install -e .`), exactly as a user's tests do.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import modememu
import modememu.pytest_plugin

pytest_plugins = ["pytester"]

ROOT = Path(modememu.__file__).resolve().parent.parent
README = ROOT / "README.md"


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Run `source` as a user's test module in a pytest subprocess."""
    pytester.makeini("[pytest]\ntimeout = 90\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=240)


# ----- the plugin is installed and cheap -----


def test_the_entry_point_is_declared_and_installed() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["pytest11"] == {
        "modememu": "modememu.pytest_plugin"
    }
    installed = importlib.metadata.entry_points(group="pytest11", name="modememu")
    assert [ep.value for ep in installed] == ["modememu.pytest_plugin"], (
        "reinstall to register the entry point: .venv/bin/pip install -e '.[test]'"
    )


def test_importing_the_plugin_is_cheap() -> None:
    code = (
        "import sys, modememu.pytest_plugin\n"
        "print('textual' in sys.modules, 'asyncio' in sys.modules,"
        " 'modememu.drivers' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "False", "False"]


def test_pytest_sees_the_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing() -> None:\n    pass\n")
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider", timeout=120)
    out = result.stdout.str()
    for name in (
        "modem_url",
        "modem_pty",
        "modem_pair",
        "virtual_clock",
        "modememu_profile",
        "modememu_clock",
    ):
        assert re.search(rf"^{name} .*modememu[/\\]pytest_plugin\.py", out, re.MULTILINE), name


# ----- the README's example is true -----


def readme_example() -> str:
    text = README.read_text()
    start = text.index("## Testing your code with modememu")
    match = re.search(r"```python\n(.*?)```", text[start:], re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    result = run(pytester, readme_example(), "-v")
    result.assert_outcomes(passed=3)


# ----- each fixture, as a user's test uses it -----


def test_modem_url_answers_ati3_and_is_closed_after(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import serial
        from modememu.drivers import inprocess

        left_open = []

        def test_ati3(modem_url: str) -> None:
            assert modem_url.startswith("modememu://")
            assert "profile=usr-courier-v34" in modem_url and "clock=" not in modem_url
            with serial.serial_for_url(modem_url, timeout=5) as port:
                port.write(b"ATI3\\r")
                assert port.read_until(b"OK\\r\\n") == (
                    b"ATI3\\r\\r\\nU.S. Robotics Courier V.Everything\\r\\n\\r\\nOK\\r\\n"
                )

        def test_leaves_its_port_open(modem_url: str) -> None:
            port = serial.serial_for_url(modem_url, timeout=5)
            port.write(b"AT\\r")
            assert port.read_until(b"OK\\r\\n").endswith(b"OK\\r\\n")
            left_open.append(port)

        def test_the_fixture_closed_it(modem_url: str) -> None:
            (port,) = left_open
            name = port.port.split("://", 1)[1].split("?", 1)[0]
            assert name not in inprocess.runtime().modems
            assert port.port != modem_url  # every test has a modem of its own
            try:
                port.read(1)
            except serial.SerialException as exc:
                assert "went away" in str(exc)
            else:
                raise AssertionError("a port on a closed modem still reads")
        """,
    )
    result.assert_outcomes(passed=3)


def test_modem_pty_serves_a_pty_and_removes_it_after(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import os
        import serial

        paths = []

        def test_ati3_on_the_pty(modem_pty: str) -> None:
            assert os.path.islink(modem_pty) and os.readlink(modem_pty).startswith("/dev/pts/")
            with serial.Serial(modem_pty, 19200, timeout=5) as port:
                port.write(b"ATI3\\r")
                reply = port.read_until(b"OK\\r\\n")
                assert reply.endswith(b"U.S. Robotics Courier V.Everything\\r\\n\\r\\nOK\\r\\n")
                port.write(b"AT&V\\r")
                assert b"DTE: 19200 8N1" in port.read_until(b"OK\\r\\n")  # the speed we set
            paths.append(modem_pty)

        def test_the_link_is_gone(modem_pty: str) -> None:
            (before,) = paths
            assert not os.path.lexists(before)
            assert modem_pty != before
        """,
    )
    result.assert_outcomes(passed=2)


def test_modem_pty_dials_a_modem_url(pytester: pytest.Pytester) -> None:
    """Fixture modems in real time share one exchange, the pty's included."""
    result = run(
        pytester,
        """
        import pytest
        import serial
        from modememu.pytest_plugin import ModemPair

        @pytest.mark.parametrize("modememu_profile", ["hayes-smartmodem-2400"])
        def test_pty_calls_url(modem_pty: str, modem_pair: ModemPair) -> None:
            with (
                serial.Serial(modem_pty, 2400, timeout=20) as pty,
                serial.serial_for_url(modem_pair.answerer, timeout=20) as answerer,
            ):
                pty.write(f"ATDT{modem_pair.number}\\r".encode())
                assert answerer.read_until(b"RING\\r\\n").endswith(b"RING\\r\\n")
        """,
    )
    result.assert_outcomes(passed=1)


PAIR_SESSION = """
    import time
    import pytest
    import serial
    from modememu.pytest_plugin import ModemPair

    def command(port: serial.SerialBase, line: bytes) -> bytes:
        port.write(line + b"\\r")
        reply = port.read_until(b"OK\\r\\n")
        assert reply.endswith(b"OK\\r\\n"), reply
        return reply

    def session(pair: ModemPair, connect: bytes, pause) -> None:
        caller_url, answerer_url = pair  # a pair unpacks as its two URLs
        assert (caller_url, answerer_url) == (pair.caller, pair.answerer)
        assert f"number={pair.number}" in pair.answerer
        assert f"number={pair.caller_number}" in pair.caller
        with (
            serial.serial_for_url(caller_url, timeout=30) as a,
            serial.serial_for_url(answerer_url, timeout=30) as b,
        ):
            command(a, b"ATE0X4&C1")  # &C1: DCD follows the carrier
            command(b, b"ATE0&C1")
            a.write(f"ATDT{pair.number}\\r".encode())
            assert b.read_until(b"RING\\r\\n").endswith(b"RING\\r\\n")
            b.write(b"ATA\\r")
            assert b.read_until(connect).endswith(connect)
            assert a.read_until(connect).endswith(connect)
            assert a.cd and b.cd
            a.write(b"ping")
            assert b.read(4) == b"ping"
            b.write(b"pong")
            assert a.read(4) == b"pong"
            pause(1.2)
            a.write(b"+++")
            assert a.read_until(b"OK\\r\\n").endswith(b"OK\\r\\n")
            command(a, b"ATH")
            assert b.read_until(b"NO CARRIER\\r\\n").endswith(b"NO CARRIER\\r\\n")
            assert not b.cd
"""


def test_modem_pair_calls_in_real_time(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        PAIR_SESSION
        + """
    @pytest.mark.parametrize("modememu_profile", ["hayes-smartmodem-2400"], indirect=True)
    def test_call(modem_pair: ModemPair, modememu_profile: str) -> None:
        assert modememu_profile == "hayes-smartmodem-2400"
        session(modem_pair, b"CONNECT 2400\\r\\n", time.sleep)
    """,
    )
    result.assert_outcomes(passed=1)


def test_modem_pair_calls_on_virtual_time(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        PAIR_SESSION
        + """
    from modememu.clock import VirtualClock
    from modememu.drivers.virtualport import sleep

    @pytest.fixture
    def modememu_clock() -> str:  # a user's override, for the whole module
        return "virtual"

    def test_v34_call(modem_pair: ModemPair, virtual_clock: VirtualClock) -> None:
        assert "clock=virtual" in modem_pair.caller
        started = time.monotonic()
        session(modem_pair, b"CONNECT 33600/ARQ\\r\\n", sleep)
        assert virtual_clock.now() > 12  # the handshake's virtual seconds ...
        assert time.monotonic() - started < 10  # ... took far less real time

    def test_each_test_starts_at_zero(modem_pair: ModemPair, virtual_clock: VirtualClock) -> None:
        assert virtual_clock.now() == 0.0
        session(modem_pair, b"CONNECT 33600/ARQ\\r\\n", sleep)
    """,
    )
    result.assert_outcomes(passed=2)


def test_virtual_clock_drives_cores_and_is_fresh_each_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import serial
        from modememu.clock import VirtualClock
        from modememu.drivers import virtualport
        from modememu.modem.modem import Modem
        from modememu.profiles import load_profile

        def test_a_core_on_virtual_time(virtual_clock: VirtualClock) -> None:
            assert virtual_clock.now() == 0.0
            modem = Modem(load_profile("hayes-smartmodem-2400"))
            modem.receive_data(b"ATI0\\r", now=virtual_clock.now())
            assert modem.data_to_send().endswith(b"OK\\r\\n")
            fired = []
            virtual_clock.call_at(2.5, lambda: fired.append(virtual_clock.now()))
            virtual_clock.advance(10)
            assert fired == [2.5] and virtual_clock.now() == 10.0

        def test_leaves_a_virtual_port_open(virtual_clock: VirtualClock) -> None:
            port = serial.serial_for_url("modememu://mine?clock=virtual", timeout=5)
            port.write(b"AT\\r")
            assert port.read_until(b"OK\\r\\n").endswith(b"OK\\r\\n")
            assert virtual_clock is virtualport.virtual_world().clock
            assert virtual_clock.now() > 0

        def test_its_world_was_closed(virtual_clock: VirtualClock) -> None:
            assert virtual_clock.now() == 0.0
            assert virtualport.virtual_world().ports == {}
            with serial.serial_for_url("modememu://mine?clock=virtual", timeout=5) as port:
                port.write(b"AT\\r")  # the name is free again
                assert port.read_until(b"OK\\r\\n").endswith(b"OK\\r\\n")
        """,
    )
    result.assert_outcomes(passed=3)


def test_the_settings_can_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def modememu_profile() -> str:
            return "zyxel-u1496e"
        """
    )
    result = run(
        pytester,
        """
        import pytest
        import serial

        def ate0(url: str) -> bytes:
            with serial.serial_for_url(url, timeout=5) as port:
                port.write(b"ATE0\\r")
                return port.read_until(b"OK\\r\\n")

        def test_conftest_override(modem_url: str) -> None:
            assert "profile=zyxel-u1496e" in modem_url

        @pytest.mark.parametrize("modememu_profile", ["rockwell-rc288", "conexant-v92"])
        def test_direct_parametrization(modem_url: str, modememu_profile: str) -> None:
            assert f"profile={modememu_profile}" in modem_url
            assert ate0(modem_url).endswith(b"OK\\r\\n")

        @pytest.mark.parametrize("modememu_clock", ["virtual"], indirect=True)
        def test_indirect_clock(modem_url: str) -> None:
            assert "clock=virtual" in modem_url
            assert ate0(modem_url).endswith(b"OK\\r\\n")

        @pytest.mark.parametrize("modememu_clock", ["sundial"])
        def test_a_bad_clock(modem_url: str) -> None:
            pass

        @pytest.mark.parametrize("modememu_clock", ["virtual"])
        def test_no_virtual_pty(modem_pty: str) -> None:
            pass
        """,
    )
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*modememu_clock must be 'real' or 'virtual', got 'sundial'*",
            "*modem_pty: a pty is served in real time; modememu_clock must be 'real'*",
        ],
        consecutive=False,
    )
