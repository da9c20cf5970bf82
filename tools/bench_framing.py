"""Throughput of the SLIP and HDLC framing cores; prints `key=value` lines.

- hdlc_default_accm_MBps, hdlc_accm0_MBps: payload megabytes per second through
  encode_frame plus HdlcDeframer (each 1500-octet random frame encoded once and
  decoded once, one receive_data call per frame, each result handed on and let
  go as a link does), under the default ACCM (0xffffffff, about one octet in
  eight escaped) and under ACCM 0.
- hdlc_*_encode_MBps / _decode_MBps: the two halves on their own.
- fcs_vs_crc_hqx: how much faster our FCS-16 (fastcrc) is than the stdlib way
  (binascii.crc_hqx over bit-reversed octets) on the same frames, this run;
  hdlc_fcs_ceiling_MBps: the most any encode plus decode could reach if each
  half computed the FCS with crc_hqx and did nothing else.
- slip_encode_vs_sliplib, slip_decode_vs_sliplib: sliplib's time over ours for
  the same packets and the same bytes on the line (above 1 means we are faster),
  measured in this run.

Each figure is the best of several rounds. Run: .venv/bin/python tools/bench_framing.py
"""

from __future__ import annotations

import os
import random
import time
from binascii import crc_hqx
from collections.abc import Callable

import sliplib  # type: ignore[import-untyped]

from modememu.link import hdlc, slip

FRAME = 1500
REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))
COUNT = 500
ROUNDS = 60
MB = 1e6


def best(*runs: Callable[[], object]) -> list[float]:
    """The best time of each run over ROUNDS rounds, the runs taking turns."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(ROUNDS):
        for run, spent in zip(runs, times, strict=True):
            start = time.perf_counter()
            run()
            spent.append(time.perf_counter() - start)
    return [min(spent) for spent in times]


def payloads(rng: random.Random, first: int | None = None) -> list[bytes]:
    out = []
    for _ in range(COUNT):
        data = bytearray(rng.randbytes(FRAME))
        if first is not None:
            data[0] = first
        out.append(bytes(data))
    return out


def bench_hdlc(name: str, accm: int, infos: list[bytes]) -> dict[str, float]:
    # The timed loops hand each result on and let it go, as a link does; the
    # round trip is checked once, untimed.
    wire = [hdlc.encode_frame(0x0021, info, accm=accm) for info in infos]

    def encode() -> None:
        for info in infos:
            hdlc.encode_frame(0x0021, info, accm=accm)

    def decode(deliver: Callable[[hdlc.HdlcFrame], object]) -> None:
        deframer = hdlc.HdlcDeframer(recv_accm=accm)
        for chunk in wire:
            deframer.receive_data(chunk)
            while (frame := deframer.next_frame()) is not None:
                deliver(frame)

    got: list[hdlc.HdlcFrame] = []
    decode(got.append)
    assert [f.info for f in got] == infos, f"{name}: round trip failed"
    size = FRAME * len(infos) / MB
    t_enc, t_dec = best(encode, lambda: decode(id))
    return {
        f"hdlc_{name}_MBps": size / (t_enc + t_dec),
        f"hdlc_{name}_encode_MBps": size / t_enc,
        f"hdlc_{name}_decode_MBps": size / t_dec,
    }


def bench_slip(packets: list[bytes]) -> dict[str, float]:
    with sliplib.use_leading_end_byte(True):
        driver = sliplib.Driver()
    ours = [slip.encode_frame(p) for p in packets]
    theirs = [driver.send(p) for p in packets]
    assert ours == theirs, "SLIP encodings differ"

    def decode_ours() -> list[bytes]:
        deframer = slip.SlipDeframer(mtu=FRAME)
        out = []
        for chunk in ours:
            deframer.receive_data(chunk)
            while (packet := deframer.next_frame()) is not None:
                out.append(packet)
        return out

    def decode_theirs() -> list[bytes]:
        receiver = sliplib.Driver()
        out = []
        for chunk in ours:
            receiver.receive(chunk)
            while (packet := receiver.get(block=False)) is not None:
                out.append(packet)
        return out

    assert decode_ours() == packets == decode_theirs(), "SLIP decodings differ"
    enc_ours, enc_theirs = best(
        lambda: [slip.encode_frame(p) for p in packets], lambda: [driver.send(p) for p in packets]
    )
    dec_ours, dec_theirs = best(decode_ours, decode_theirs)
    return {
        "slip_encode_vs_sliplib": enc_theirs / enc_ours,
        "slip_decode_vs_sliplib": dec_theirs / dec_ours,
    }


def main() -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    infos = payloads(rng)
    results: dict[str, float] = {}
    results |= bench_hdlc("default_accm", hdlc.DEFAULT_ACCM, infos)
    results |= bench_hdlc("accm0", 0, infos)
    t_hqx, t_fcs = best(
        lambda: [crc_hqx(info.translate(REVERSED), 0xFFFF) for info in infos],
        lambda: [hdlc.fcs16(info) for info in infos],
    )
    results["fcs_vs_crc_hqx"] = t_hqx / t_fcs
    results["hdlc_fcs_ceiling_MBps"] = FRAME * len(infos) / MB / (2 * t_hqx)
    results |= bench_slip(payloads(rng, first=0x45))  # IPv4-looking, not CSLIP
    for key, value in results.items():
        print(f"{key}={value:.2f}")


if __name__ == "__main__":
    main()
