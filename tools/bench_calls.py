"""1,000 simultaneous calls negotiated to CONNECT on the virtual clock, in one process.

Builds one `World` on a `VirtualClock` with 2 x CALLS modems, each with its own
number: CALLS callers and CALLS auto-answering (ATS0=1) answerers, the pairs
cycling through every ordered pair of shipped profiles (7 x 7 = 49). Every
caller dials its answerer (ATX4DT<number>; X1 on a profile whose X stops
below 4), then the clock runs in STEP-second slices until every caller's DTE
has printed CONNECT (or LIMIT virtual seconds have passed). Pacing is on, as
on a real port. Prints one key=value line per figure:

- calls, connected: calls placed, and callers whose DTE printed CONNECT;
  answered: answerers whose DTE printed CONNECT (for information).
- virtual_s: virtual seconds until the last caller connected (to the next STEP).
- setup_s: wall seconds to build the world and the 2 x CALLS modems (no calls):
  the peer, measured in this run.
- call_s: wall seconds from the first dial to the last CONNECT.
- wall_s: setup_s + call_s (target: below 10).
- per_call_ms: call_s / calls; call_vs_setup: call_s / setup_s.
- peak_rss_MiB: the process's peak resident set (ru_maxrss) after the timed pass.
- rss_bytes_per_call: RSS growth over the timed pass / calls (coarse: arenas).
- bytes_per_call: tracemalloc-traced bytes live after every call connected,
  less those live before the modems were made, / calls (target: below 100 KiB).
  Measured in a second, separate pass, so tracemalloc does not slow the timed one.
- setup_bytes_per_call: the same for the peer (modems made, nothing dialed);
  bytes_vs_setup: bytes_per_call / setup_bytes_per_call.

Exits 1 (naming each failed pair and the tail of its DTE text on stderr) when
any call did not connect. `--profile` runs the timed pass under cProfile and
prints the top entries by cumulative and by own time.

    .venv/bin/python tools/bench_calls.py [--calls 1000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import pstats
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

from modememu.clock import VirtualClock
from modememu.drivers.host import ModemHost
from modememu.drivers.world import World
from modememu.events import EventBus
from modememu.profiles import Profile, load_profile, profile_names

CALLS = 1000
STEP = 0.5  # virtual seconds per slice between CONNECT checks
LIMIT = 60.0  # virtual seconds: V.90 takes about 21, V.34 about 10
NUMBER_BASE = 7_000_000  # clear of the built-in 555-01xx service numbers
KIB = 1024
MIB = 1024 * 1024
TOP = 25


@dataclass
class Call:
    caller_profile: str
    answerer_profile: str
    caller: ModemHost
    answerer: ModemHost
    dial: bytes
    caller_dte: bytearray = field(default_factory=bytearray)
    answerer_dte: bytearray = field(default_factory=bytearray)

    @property
    def pair(self) -> str:
        return f"{self.caller_profile}->{self.answerer_profile}"


@dataclass
class Bench:
    clock: VirtualClock
    world: World
    calls: list[Call]


def pairs(profiles: list[Profile], count: int) -> list[tuple[Profile, Profile]]:
    """`count` (caller, answerer) profile pairs cycling through every ordered pair."""
    every = list(itertools.product(profiles, profiles))
    return [every[i % len(every)] for i in range(count)]


def dial_command(profile: Profile, number: str) -> bytes:
    """ATX4DT<number>, or the highest X the profile has when it stops below 4."""
    x = min(4, profile.settings["X"].high)
    return f"ATX{x}DT{number}\r".encode("ascii")


def build(profiles: list[Profile], count: int) -> Bench:
    """The world and its 2 x `count` modems, DTEs attached, nothing typed yet."""
    clock = VirtualClock()
    bus = EventBus()
    world = World(clock, bus)
    calls: list[Call] = []
    for i, (caller_p, answerer_p) in enumerate(pairs(profiles, count)):
        caller_no, answerer_no = str(NUMBER_BASE + 2 * i), str(NUMBER_BASE + 2 * i + 1)
        caller = world.add(ModemHost(caller_p, clock, bus, name=f"c{i}", number=caller_no))
        answerer = world.add(ModemHost(answerer_p, clock, bus, name=f"a{i}", number=answerer_no))
        call = Call(
            caller_p.name, answerer_p.name, caller, answerer, dial_command(caller_p, answerer_no)
        )
        caller.attach(call.caller_dte.extend)
        answerer.attach(call.answerer_dte.extend)
        calls.append(call)
    return Bench(clock, world, calls)


def place_and_run(bench: Bench) -> list[Call]:
    """Set answerers to auto-answer, dial every call, run the clock until all connect.

    Returns the calls whose caller never printed CONNECT within LIMIT.
    """
    for call in bench.calls:
        call.answerer.from_dte(b"ATS0=1\r")
    for call in bench.calls:
        call.caller.from_dte(call.dial)
    waiting = list(bench.calls)
    clock = bench.clock
    end = clock.now() + LIMIT
    while waiting and clock.now() < end:
        clock.advance(STEP)
        waiting = [c for c in waiting if b"CONNECT" not in c.caller_dte]
    return waiting


def close(bench: Bench) -> None:
    for call in bench.calls:
        call.caller.close()
        call.answerer.close()


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def timed_pass(
    profiles: list[Profile], count: int, profiler: cProfile.Profile | None
) -> tuple[dict[str, str], Bench, list[Call]]:
    gc.collect()
    rss_before = rss_bytes()
    start = time.perf_counter()
    bench = build(profiles, count)
    built = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    failed = place_and_run(bench)
    if profiler is not None:
        profiler.disable()
    done = time.perf_counter()
    rss_after = rss_bytes()
    setup_s, call_s = built - start, done - built
    connected = count - len(failed)
    answered = sum(b"CONNECT" in c.answerer_dte for c in bench.calls)
    figures = {
        "calls": str(count),
        "connected": str(connected),
        "answered": str(answered),
        "virtual_s": f"{bench.clock.now():.1f}",
        "setup_s": f"{setup_s:.3f}",
        "call_s": f"{call_s:.3f}",
        "wall_s": f"{setup_s + call_s:.3f}",
        "per_call_ms": f"{call_s / count * 1000:.3f}",
        "call_vs_setup": f"{call_s / setup_s:.2f}",
        # Linux reports ru_maxrss in KiB.
        "peak_rss_MiB": f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB / MIB:.1f}",
        "rss_bytes_per_call": str((rss_after - rss_before) // count),
    }
    return figures, bench, failed


def traced_now() -> int:
    """Bytes tracemalloc sees live, after collecting garbage."""
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    return current


def memory_pass(profiles: list[Profile], count: int) -> dict[str, str]:
    """Traced bytes per call after setup only (the peer) and after every call connected."""
    tracemalloc.start()
    try:
        before = traced_now()
        bench = build(profiles, count)
        after_setup = traced_now()
        place_and_run(bench)
        after_calls = traced_now()
        close(bench)
    finally:
        tracemalloc.stop()
    setup_bpc = (after_setup - before) / count
    call_bpc = (after_calls - before) / count
    return {
        "bytes_per_call": str(round(call_bpc)),
        "KiB_per_call": f"{call_bpc / KIB:.1f}",
        "setup_bytes_per_call": str(round(setup_bpc)),
        "bytes_vs_setup": f"{call_bpc / setup_bpc:.2f}",
    }


def print_profile(profiler: cProfile.Profile) -> None:
    root = str(Path(__file__).resolve().parent.parent) + "/"
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(TOP)
        print(f"# cProfile of the calls (not the setup), top {TOP} by {order}")
        print(out.getvalue().replace(root, ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS, help="simultaneous calls")
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the tracemalloc pass (bytes_per_call)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="run the calls under cProfile, print hot spots"
    )
    args = parser.parse_args()
    count: int = args.calls
    if count < 1:
        parser.error("--calls must be at least 1")
    profiles = [load_profile(name) for name in profile_names()]
    profiler = cProfile.Profile() if args.profile else None

    figures, bench, failed = timed_pass(profiles, count, profiler)
    for call in failed:
        tail = bytes(call.caller_dte[-200:])
        sys.stderr.write(
            f"bench_calls: no CONNECT: {call.pair} ({call.caller.name} dialing "
            f"{call.answerer.modem.number}); caller DTE ends {tail!r}; "
            f"answerer DTE ends {bytes(call.answerer_dte[-200:])!r}\n"
        )
    close(bench)
    del bench, failed
    if not args.no_memory:
        figures.update(memory_pass(profiles, count))
    if profiler is not None:
        figures["profiled"] = "1"  # the timed figures above ran under cProfile
    for key, value in figures.items():
        print(f"{key}={value}")
    if profiler is not None:
        print_profile(profiler)
    return 0 if figures["connected"] == figures["calls"] else 1


if __name__ == "__main__":
    sys.exit(main())
