"""200 whole dial-up sessions at once on the virtual clock, in one process.

One `World` on a `VirtualClock`: SESSIONS caller modems, each with a dialer
as its DTE, all dialing the ISP at 5550100 at the same moment; the exchange
gives every call its own answering modem and ISP session (PPP server, TCP
echo service). Each session is the full story: AT dialogue, handshake,
CONNECT, LCP and IPCP, TCP handshake, echo, four-way close, LCP terminate,
hang-up. Pacing is on, as on a real line. Prints one key=value line per figure:

- sessions: sessions that ended with the dialer's exit 0; failed: the others.
- virtual_s: virtual seconds until the last session ended.
- wall_s: wall seconds for the whole run, building included (target: below 20).
- per_session_ms: wall_s / sessions.
- peak_rss_MiB: the process's peak resident set (ru_maxrss).

Exits 1, naming the failures, when any session did not succeed.

    .venv/bin/python tools/bench_sessions.py [--sessions 200]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from modememu.agents.dialer import Dialer, DialerConfig
from modememu.clock import VirtualClock
from modememu.dialup import PPP_NUMBER
from modememu.drivers.agentdte import start_dialer
from modememu.drivers.host import ModemHost
from modememu.drivers.world import World
from modememu.events import EventBus
from modememu.profiles import DEFAULT_PROFILE, load_profile

SESSIONS = 200
LIMIT = 600.0  # virtual seconds; one session takes about 13
MIB = 1024 * 1024


def run(sessions: int) -> tuple[list[Dialer], float]:
    clock = VirtualClock()
    bus = EventBus()
    world = World(clock, bus)
    profile = load_profile(DEFAULT_PROFILE)
    dialers = []
    for n in range(sessions):
        host = world.add(ModemHost(profile, clock, bus, name=f"caller-{n}"))
        dialer = Dialer(DialerConfig(number=PPP_NUMBER), seed=n)
        start_dialer(host, clock, bus, dialer, source=f"dialer-{n}")
        dialers.append(dialer)
    while any(d.step != "done" for d in dialers) and clock.now() < LIMIT and clock.step():
        pass
    return dialers, clock.now()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    args = parser.parse_args()
    start = time.perf_counter()
    dialers, virtual = run(args.sessions)
    wall = time.perf_counter() - start
    good = [d for d in dialers if d.result is not None and d.result.code == 0]
    failed = [d for d in dialers if d not in good]
    figures = {
        "sessions": len(good),
        "failed": len(failed),
        "virtual_s": round(virtual, 3),
        "wall_s": round(wall, 3),
        "per_session_ms": round(1000 * wall / max(len(dialers), 1), 3),
        "peak_rss_MiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB, 1),
    }
    for key, value in figures.items():
        print(f"{key}={value}")
    for n, dialer in enumerate(dialers):
        if dialer in failed:
            print(f"session {n}: {dialer.result or dialer.step}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
