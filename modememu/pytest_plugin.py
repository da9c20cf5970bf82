"""pytest fixtures that give your tests emulated modems to drive.

Installed with modememu (the `pytest11` entry point `modememu`), so they are
there in every test without a conftest.py. There are four fixtures and two settings:

| fixture | gives |
|---|---|
| `modem_url` | `str`: a `modememu://` URL of a new modem, for `serial.serial_for_url` |
| `modem_pair` | `ModemPair`: two modems' URLs, and the number that reaches the answerer |
| `modem_pty` | `str`: a path linked to a pty with a modem behind it, for any program |
| `virtual_clock` | `VirtualClock`: this test's virtual time, starting at 0 |
| `modememu_profile` | setting: the profile of the fixtures' modems (`"usr-courier-v34"`) |
| `modememu_clock` | setting: `"real"` (default) or `"virtual"`, for `modem_url`, `modem_pair` |

The design: the fixtures only hand out addresses; the modems are the ones
modememu already runs inside the process, and a fixture's modem exists only for
the test's duration.

- In real time, all fixture modems live in the in-process runtime behind the
  `modememu://` URLs (`modememu.drivers.inprocess`: one loop thread, one
  exchange). So a `modem_pty` modem, a `modem_url` modem, a `modem_pair`'s
  modems and any URL you open yourself can dial each other and the built-in
  numbers (5550100 ...). A modem behind a URL starts when you open the URL.
- With `modememu_clock = "virtual"`, `modem_url` and `modem_pair` give
  `clock=virtual` URLs. Their modems live in the process's virtual world, which
  starts afresh for each test that uses `virtual_clock`, at t=0, and
  `virtual_clock` is that world's clock. Time moves only while your code waits in a
  port call (a read with a timeout, a write that must wait) or in
  `modememu.drivers.virtualport.sleep`, so a whole call takes milliseconds and
  gives the same result every run. A pty is served in real time: `modem_pty`
  refuses the virtual setting.
- Every fixture modem has a name (and in a pair a number) no other test uses.
  After the test, what it left open is closed: a URL's modem is taken away (a
  port still open on it reads "the modem went away"), a pty's link is removed,
  and every port of the test's virtual world is closed.

Both settings are fixtures, overridden like any other: define a fixture of the
same name in a conftest.py, module or class, or parametrize the name, directly
(`@pytest.mark.parametrize("modememu_profile", ["hayes-smartmodem-2400"])`) or
with `indirect=True`. Profiles are the names `modememu profiles` lists, or a
TOML file's path.

Importing this module is cheap: it imports `pytest` and `modememu` (whose
`__init__` registers the URL scheme with pyserial); the drivers are imported by
the fixtures when a test asks for one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest

if TYPE_CHECKING:
    from modememu.clock import VirtualClock

__all__ = [
    "DEFAULT_CLOCK",
    "DEFAULT_PROFILE",
    "ModemPair",
    "modem_pair",
    "modem_pty",
    "modem_url",
    "modememu_clock",
    "modememu_profile",
    "virtual_clock",
]

DEFAULT_PROFILE = "usr-courier-v34"  # as `modememu.profiles.DEFAULT_PROFILE`, without importing it
DEFAULT_CLOCK = "real"
_CLOCKS = ("real", "virtual")

# Names and numbers no other fixture modem of this process has; the numbers are
# outside the built-in services' 55501xx.
_serial = itertools.count(1)


def _fresh_name() -> str:
    return f"pytest-{next(_serial)}"


def _fresh_number() -> str:
    return f"5558{next(_serial):03d}"


@dataclass(frozen=True)
class ModemPair:
    """Two modems on one exchange: `caller` dials `number` and `answerer` rings.

    Unpacks as its two URLs: `caller_url, answerer_url = modem_pair`.
    """

    caller: str
    """URL of the modem that dials."""
    answerer: str
    """URL of the modem that is dialled."""
    number: str
    """The answerer's number: what the caller dials (`ATDT` + number)."""
    caller_number: str
    """The caller's number, for calls the other way."""

    def __iter__(self) -> Iterator[str]:
        yield self.caller
        yield self.answerer


@pytest.fixture
def modememu_profile(request: pytest.FixtureRequest) -> str:
    """The firmware profile of the fixtures' modems: `"usr-courier-v34"` unless overridden.

    Override it by defining a fixture of this name, or parametrize it (directly or
    with `indirect=True`): `@pytest.mark.parametrize("modememu_profile",
    ["hayes-smartmodem-2400", "zyxel-u1496e"])`.
    """
    return str(getattr(request, "param", DEFAULT_PROFILE))


@pytest.fixture
def modememu_clock(request: pytest.FixtureRequest) -> str:
    """Which time `modem_url` and `modem_pair` run on: `"real"` (default) or `"virtual"`.

    Real time suits code that waits on the wall clock (asyncio adapters,
    `time.sleep`, threads); virtual time runs a call in milliseconds (see
    `virtual_clock`). Override or parametrize it like `modememu_profile`.
    """
    return _checked_clock(getattr(request, "param", DEFAULT_CLOCK))


@pytest.fixture
def virtual_clock() -> Iterator[VirtualClock]:
    """This test's virtual time: the clock of a fresh virtual world, at t=0.

    Drive sans-I/O cores on it (`Modem.receive_data(data, now=virtual_clock.now())`,
    `call_at`, `advance`, `run`), or read how much virtual time the test's
    `clock=virtual` ports took: every such port opened during the test (by
    `modem_url` and `modem_pair` under `modememu_clock = "virtual"`, or by you) lives
    on this clock. Ports of the world still open after the test are closed.
    A virtual port left open by something outside the test is an error here,
    since its world cannot be replaced under it.
    """
    from modememu.drivers.virtualport import (  # noqa: PLC0415 - imported when used
        reset_virtual_world,
        virtual_world,
    )

    try:
        reset_virtual_world()
    except RuntimeError as exc:
        pytest.fail(f"virtual_clock: {exc} (opened outside this test)", pytrace=False)
    world = virtual_world()
    yield world.clock
    with world.lock:
        leftovers = list(world.ports.values())
    for port in leftovers:
        port.close()
    reset_virtual_world()


@pytest.fixture
def modem_url(
    request: pytest.FixtureRequest, modememu_profile: str, modememu_clock: str
) -> Iterator[str]:
    """A `modememu://` URL of a new emulated modem, with the `modememu_profile` profile.

    Open it with `serial.serial_for_url(modem_url, timeout=...)`; the modem runs
    from then on (in real time, or on `virtual_clock` under
    `modememu_clock = "virtual"`). Once at a time, as a real port. After the test the
    modem is closed, even if the test left its port open.
    """
    name = _fresh_name()
    with _closed_after(request, modememu_clock, name):
        yield _url(name, modememu_profile, modememu_clock)


@pytest.fixture
def modem_pair(
    request: pytest.FixtureRequest, modememu_profile: str, modememu_clock: str
) -> Iterator[ModemPair]:
    """Two emulated modems on the same exchange, each with a number: a `ModemPair`.

    `modem_pair.caller` dials `modem_pair.number` (`ATDT` + number) and
    `modem_pair.answerer` rings; it answers with `ATA`, or by itself after `ATS0=1`.
    Both have the `modememu_profile` profile and run on the `modememu_clock` time.
    A V.34 call takes about 12 seconds to CONNECT, as a real one did; under
    `modememu_clock = "virtual"` those are virtual seconds, which pass in
    milliseconds. Both modems are closed after the test.
    """
    caller, answerer = _fresh_name(), _fresh_name()
    caller_number, answerer_number = _fresh_number(), _fresh_number()
    with _closed_after(request, modememu_clock, caller, answerer):
        yield ModemPair(
            caller=_url(caller, modememu_profile, modememu_clock, caller_number),
            answerer=_url(answerer, modememu_profile, modememu_clock, answerer_number),
            number=answerer_number,
            caller_number=caller_number,
        )


@pytest.fixture
def modem_pty(
    modememu_profile: str, modememu_clock: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The path of a pty with an emulated modem behind it, served for the test's duration.

    Open it as a serial device (`serial.Serial(modem_pty, timeout=...)`) or hand
    it to the program under test, as `modememu modem --pty PATH` would serve it:
    data only (ptys have no modem lines and no parity), the speed the program
    sets reaches the modem. The modem runs in real time on the in-process loop,
    where it can dial the fixtures' other modems. Afterwards the modem stops and
    the link at the path is removed (a program still holding the pty open sees it hang up).
    """
    if _checked_clock(modememu_clock) != "real":
        pytest.fail(
            "modem_pty: a pty is served in real time; modememu_clock must be 'real'",
            pytrace=False,
        )
    # Imported when used, as every driver here: importing the plugin stays cheap.
    from modememu.drivers.host import ModemHost  # noqa: PLC0415
    from modememu.drivers.inprocess import runtime  # noqa: PLC0415
    from modememu.drivers.pty import PtyPort  # noqa: PLC0415
    from modememu.drivers.runner import LoopClock  # noqa: PLC0415
    from modememu.drivers.world import World  # noqa: PLC0415
    from modememu.profiles import load_profile  # noqa: PLC0415

    profile = load_profile(modememu_profile)
    name = _fresh_name()
    path = tmp_path_factory.mktemp("modememu") / "modem"
    rt = runtime()

    def start() -> tuple[ModemHost, PtyPort]:
        if rt.world is None:  # as the first URL modem makes it
            rt.world = World(LoopClock(rt.loop), rt.bus, loop=rt.loop)
        host = ModemHost(profile, LoopClock(rt.loop), rt.bus, name=name)
        rt.world.add(host)
        port = PtyPort(host, path, rt.loop)
        try:
            port.open()
        except BaseException:
            rt.world.remove(host)
            host.close()
            raise
        return host, port

    host, port = rt.call(start)

    def stop() -> None:
        port.close()
        if rt.world is not None:
            rt.world.remove(host)
        host.close()

    try:
        yield str(path)
    finally:
        rt.call(stop)


# ----- inside -----


def _checked_clock(value: object) -> str:
    if value not in _CLOCKS:
        pytest.fail(f"modememu_clock must be 'real' or 'virtual', got {value!r}", pytrace=False)
    return str(value)


def _url(name: str, profile: str, clock: str, number: str = "") -> str:
    options = {"profile": profile}
    if number:
        options["number"] = number
    if _checked_clock(clock) == "virtual":
        options["clock"] = "virtual"
    return f"modememu://{name}?{urlencode(options)}"


@contextmanager
def _closed_after(request: pytest.FixtureRequest, clock: str, *names: str) -> Iterator[None]:
    """Around the test: the world the modems `names` live in; after it, close those left open."""
    if _checked_clock(clock) == "virtual":
        request.getfixturevalue("virtual_clock")  # this test's world, torn down after us
    yield
    if clock == "virtual":
        from modememu.drivers.virtualport import virtual_world  # noqa: PLC0415

        world = virtual_world()
        with world.lock:
            leftovers = [port for name in names if (port := world.ports.get(name)) is not None]
        for port in leftovers:
            port.close()
    else:
        from modememu.drivers.inprocess import runtime  # noqa: PLC0415

        rt = runtime()
        for name in names:
            rt.close(name)  # nothing to do for a name not open
