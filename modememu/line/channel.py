"""One direction of a telephone line once the modems have trained: cost, delay, noise.

What a byte costs on the line depends on the link: without error control the
modem sends each character asynchronously as the DTE framed it (start, data,
parity and stop bits); with LAPM or MNP it sends synchronous frames whose flags,
address, control and FCS are shared by up to N401 octets. Noise is a bit error
rate: without error control the flipped bits reach the far DTE; with it, a bad
frame is sent again, so the data arrives intact and later.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

# LAPM: N401 = 128 octets of information per I frame (V.42 default); each frame adds
# one flag (the closing flag doubles as the next opening one), address, two octets
# of extended control and a 16-bit FCS. MNP class 4 frames carry up to 256 octets
# behind a header and a 16-bit CRC of about the same size.
LAPM_N401 = 128
LAPM_OVERHEAD = 6
MNP_BLOCK = 256
MNP_OVERHEAD = 7

# Noise below this bit error rate is too rare to matter: the line is clean.
NEGLIGIBLE_BER = 1e-9
# Heuristic (not sourced): a receiver trained exactly at its rate's SNR threshold
# sees 1e-6, and every dB of margin takes off a decade.
BER_AT_THRESHOLD = 1e-6


def char_bits(framing: str) -> int:
    """Bits an async character takes on the line: "8N1" → 10, "7E1" → 10, "8E2" → 12."""
    if len(framing) != 3 or not framing[0].isdigit() or not framing[2].isdigit():
        raise ValueError(f"framing must look like 8N1, not {framing!r}")
    data, parity, stop = int(framing[0]), framing[1].upper(), int(framing[2])
    if parity not in "NEOMS" or not 5 <= data <= 8 or stop not in (1, 2):
        raise ValueError(f"framing must look like 8N1, not {framing!r}")
    return 1 + data + (parity != "N") + stop


def frame_size(error_control: str | None) -> tuple[int, int]:
    """(payload octets, overhead octets) of one full frame under this protocol."""
    if error_control == "LAPM":
        return LAPM_N401, LAPM_OVERHEAD
    if error_control == "MNP":
        return MNP_BLOCK, MNP_OVERHEAD
    raise ValueError(f"no frames without error control ({error_control!r})")


def bits_per_byte(error_control: str | None, framing: str) -> float:
    """Line bits one payload byte costs: async characters, or its share of a frame."""
    if error_control is None:
        return float(char_bits(framing))
    payload, overhead = frame_size(error_control)
    return 8.0 * (payload + overhead) / payload


def bytes_per_second(rate: int, error_control: str | None, framing: str) -> float:
    """Payload throughput of a clean link at `rate` bit/s."""
    return rate / bits_per_byte(error_control, framing)


def ber_from_margin(margin_db: float) -> float:
    """Bit error rate of a receiver `margin_db` above its rate's SNR threshold."""
    ber = BER_AT_THRESHOLD * 10.0 ** (-margin_db)
    return 0.0 if ber < NEGLIGIBLE_BER else min(ber, 0.5)


def frame_success(ber: float, error_control: str) -> float:
    """The chance a whole frame arrives without a bit error."""
    payload, overhead = frame_size(error_control)
    return (1.0 - ber) ** (8 * (payload + overhead))


def retransmission_factor(ber: float, error_control: str | None) -> float:
    """How many times, on average, each frame is sent before it arrives intact.

    A frame that fails is sent again (REJ), so the expected number of sends is
    1/p for a frame success probability p. Without error control nothing is resent.
    """
    if error_control is None or ber <= 0.0:
        return 1.0
    success = frame_success(ber, error_control)
    if success <= 1e-6:
        return 1e6  # nothing gets through: the link is as good as down
    return 1.0 / success


@dataclass(frozen=True, slots=True)
class Delivery:
    at: float
    data: bytes


class Channel:
    """Bytes one modem sent, delivered to the other after the one-way latency.

    With `corrupt` (no error control on the link) each bit flips with
    probability `ber`; the generator is seeded, so a run can be repeated.
    """

    def __init__(self, *, latency: float = 0.0, ber: float = 0.0, seed: int = 0) -> None:
        if latency < 0 or not 0.0 <= ber <= 0.5:
            raise ValueError(f"latency must be ≥ 0 and ber in [0, 0.5] (got {latency}, {ber})")
        self.latency = latency
        self.ber = ber
        self.corrupt = False
        self.flipped_bits = 0
        self.corrupted_bytes = 0
        self._rng = random.Random(seed)
        self._skip = self._gap()  # bits to the next error
        self._queue: deque[Delivery] = deque()

    def put(self, data: bytes, now: float) -> None:
        if not data:
            return
        if self.corrupt and self.ber > 0.0:
            data = self._noisy(data)
        self._queue.append(Delivery(now + self.latency, data))

    def take(self, now: float) -> bytes:
        """Everything due by `now`, in order."""
        if not self._queue or self._queue[0].at > now:
            return b""
        out = bytearray()
        while self._queue and self._queue[0].at <= now:
            out += self._queue.popleft().data
        return bytes(out)

    def deadline(self) -> float | None:
        return self._queue[0].at if self._queue else None

    def pending(self) -> int:
        return sum(len(d.data) for d in self._queue)

    def clear(self) -> None:
        self._queue.clear()

    def _gap(self) -> int:
        """Bits until the next flipped one: geometric, so only errors cost work."""
        if self.ber <= 0.0:
            return -1
        if self.ber >= 0.5:
            return 0
        u = 1.0 - self._rng.random()  # (0, 1]
        return int(math.log(u) / math.log1p(-self.ber))

    def _noisy(self, data: bytes) -> bytes:
        bits = len(data) * 8
        if self._skip >= bits:
            self._skip -= bits
            return data
        out = bytearray(data)
        at = self._skip
        touched = set()
        while at < bits:
            out[at >> 3] ^= 1 << (at & 7)
            touched.add(at >> 3)
            self.flipped_bits += 1
            at += 1 + self._gap()
        self._skip = at - bits
        self.corrupted_bytes += sum(1 for i in touched if out[i] != data[i])
        return bytes(out)
