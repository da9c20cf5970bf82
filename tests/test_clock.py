"""The virtual clock jumps between deadlines; the loop clock drives the same core for real."""

from __future__ import annotations

import asyncio

import pytest

from modememu.clock import VirtualClock
from modememu.drivers.host import ModemHost
from modememu.drivers.runner import LoopClock
from modememu.events import EventBus, Stamped
from modememu.modem.events import ResultCode
from modememu.profiles import load_profile


def test_virtual_clock_runs_timers_in_deadline_order() -> None:
    clock = VirtualClock()
    fired: list[tuple[str, float]] = []
    clock.call_at(5.0, lambda: fired.append(("b", clock.now())))
    clock.call_at(1.5, lambda: fired.append(("a", clock.now())))
    cancelled = clock.call_at(3.0, lambda: fired.append(("x", clock.now())))
    cancelled.cancel()
    clock.run()
    assert fired == [("a", 1.5), ("b", 5.0)]
    assert clock.now() == 5.0


def test_advance_stops_at_the_horizon() -> None:
    clock = VirtualClock()
    fired: list[float] = []
    clock.call_later(2.0, lambda: fired.append(clock.now()))
    clock.advance(1.0)
    assert fired == [] and clock.now() == 1.0
    clock.advance(1.0)
    assert fired == [2.0]


def test_a_timer_in_the_past_runs_now_not_back_in_time() -> None:
    clock = VirtualClock(start=10.0)
    seen: list[float] = []
    clock.call_at(3.0, lambda: seen.append(clock.now()))
    clock.run()
    assert seen == [10.0]


def test_run_refuses_an_endless_timer_chain() -> None:
    clock = VirtualClock()

    def again() -> None:
        clock.call_later(0.0, again)

    clock.call_later(0.0, again)
    with pytest.raises(RuntimeError):
        clock.run(max_steps=1000)


async def test_the_same_core_runs_on_the_asyncio_clock() -> None:
    bus = EventBus()
    results: list[str] = []

    def on_event(stamped: Stamped) -> None:
        if isinstance(stamped.event, ResultCode):
            results.append(stamped.event.text)

    bus.subscribe(on_event)
    host = ModemHost(load_profile("rockwell-rc288"), LoopClock(), bus)
    out = bytearray()
    host.attach(out.extend)
    host.from_dte(b"ATE0X3S7=1D5550100\r")  # blind dial, NO CARRIER after S7 = 1 s
    assert results == []
    await asyncio.sleep(1.3)
    assert results == ["NO CARRIER"]
    assert out.endswith(b"\r\nNO CARRIER\r\n")
    host.close()
