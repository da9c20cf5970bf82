"""Data-mode throughput: pty -> modem -> exchange -> modem -> pty, against socat.

Both relays run in this process's run, on the same machine, the same way: a
writer thread puts TOTAL bytes into one pty in 64 KiB writes and a reader
thread takes them from the other. modememu runs with pacing off (as fast as the
code goes, not at line rate). Prints one key=value line per figure.

    .venv/bin/python tools/bench_relay.py [--mib 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

from modememu.drivers.host import ModemHost
from modememu.drivers.pty import PtyPort
from modememu.drivers.runner import LoopClock
from modememu.drivers.world import World
from modememu.events import EventBus
from modememu.modem.modem import Mode
from modememu.profiles import load_profile

CHUNK = 64 * 1024
STALL_SECONDS = 30.0  # nothing arriving for this long means the relay lost bytes
PROFILE = "hayes-smartmodem-2400"  # trains in 3 s; with pacing off the rate does not matter


def open_raw(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_NOCTTY)
    tty.setraw(fd)
    return fd


def pump_through(a: Path, b: Path, total: int) -> float:
    """Write `total` bytes into `a`, read them from `b`; seconds from first write to last read."""
    writer_fd = open_raw(a, os.O_WRONLY)
    reader_fd = open_raw(b, os.O_RDONLY)
    block = os.urandom(CHUNK)
    got = 0
    failure: list[BaseException] = []

    def write() -> None:
        try:
            sent = 0
            while sent < total:
                sent += os.write(writer_fd, block[: min(CHUNK, total - sent)])
        except BaseException as exc:  # reported by the caller
            failure.append(exc)

    start = time.perf_counter()
    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    while got < total:
        ready, _, _ = select.select([reader_fd], [], [], STALL_SECONDS)
        data = os.read(reader_fd, CHUNK) if ready else b""
        if not data:
            break  # stalled (bytes lost somewhere) or closed: reported below
        got += len(data)
    elapsed = time.perf_counter() - start
    thread.join(timeout=10)
    os.close(writer_fd)
    os.close(reader_fd)
    if failure:
        raise failure[0]
    if got != total:
        raise SystemExit(f"bench_relay: only {got} of {total} bytes arrived")
    return elapsed


def bench_socat(workdir: Path, total: int) -> float:
    socat = shutil.which("socat")
    if socat is None:
        raise SystemExit("bench_relay: socat is not installed (tools/install-peers.sh)")
    a, b = workdir / "socat-a", workdir / "socat-b"
    proc = subprocess.Popen(
        [socat, "-b", str(CHUNK), f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not (a.exists() and b.exists()):
            if time.monotonic() > deadline:
                raise SystemExit("bench_relay: socat did not create its ptys")
            time.sleep(0.02)
        return pump_through(a, b, total)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


async def bench_modememu(workdir: Path, total: int) -> float:
    loop = asyncio.get_running_loop()
    clock = LoopClock(loop)
    bus = EventBus()
    world = World(clock, bus, pacing=False, loop=loop)
    profile = load_profile(PROFILE)
    hosts = [
        world.add(ModemHost(profile, clock, bus, name=n, number=num, pacing=False))
        for n, num in (("a", "5551001"), ("b", "5551002"))
    ]
    ports = [PtyPort(h, workdir / f"modememu-{h.name}", loop) for h in hosts]
    for port in ports:
        port.open()
    try:
        hosts[1].from_dte(b"ATE0S0=1\r")
        hosts[0].from_dte(b"ATE0X4DT5551002\r")
        for _ in range(600):
            if all(h.modem.mode is Mode.ONLINE for h in hosts):
                break
            await asyncio.sleep(0.05)
        else:
            raise SystemExit("bench_relay: the modems never connected")
        await asyncio.sleep(0.2)
        return await asyncio.to_thread(pump_through, ports[0].path, ports[1].path, total)
    finally:
        for port in ports:
            port.close()
        for host in hosts:
            host.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="MiB to move through each relay")
    args = parser.parse_args()
    total = args.mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as tmp:
        workdir = Path(tmp)
        socat_s = bench_socat(workdir, total)
        relay_s = asyncio.run(bench_modememu(workdir, total))
    relay, socat = total / relay_s / 1e6, total / socat_s / 1e6
    print(f"bytes={total}")
    print(f"relay_MBps={relay:.2f}")
    print(f"socat_MBps={socat:.2f}")
    print(f"relay_vs_socat={relay / socat:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
