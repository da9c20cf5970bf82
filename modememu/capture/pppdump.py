"""pppd's `record` file (the pppdump format): the raw line octets in both directions.

Unlike a pcap, this keeps what was really on the wire: flags, escapes, FCS,
aborted frames, noise between frames. tshark opens it directly, deframes each
direction itself and checks the FCS (`-o ppp.fcs_type:16-Bit`), which makes it
the strictest check of the framer. Layout, as pppd's `tty.c` writes it (the
`record` option, `record_write`) and `pppdump/pppdump.c` reads it:

- 07 + 4-octet start time (seconds since the epoch, big-endian), once;
- 06 + 1-octet or 05 + 4-octet time delta, in tenths of a second, written
  before a record only when the tenth-of-a-second clock has moved on; the clock
  starts at the whole second of the start time;
- 01 (sent) or 02 (received) + 2-octet length + that many octets;
- 03 (end of what was sent) or 04 (end of what was received).

The builders are pure; the writer only calls `write` on a binary stream the
caller opened, and flushes after each record as pppd does.
"""

from __future__ import annotations

import math

from modememu.capture.pcap import BinaryStream
from modememu.link.hdlc import FLAG, encode_raw, unescape
from modememu.link.ppp.pap import hide_password

SENT = 1
RECEIVED = 2
END_SENT = 3
END_RECEIVED = 4
DELTA_LONG = 5
DELTA_SHORT = 6
START_TIME = 7
MAX_CHUNK = 0xFFFF  # the length field is 16 bits
HOLD_LIMIT = 2 * (4 + 2 * 257 + 6)  # an escaped PAP request with the longest name and password
_FLAG = bytes([FLAG])
_PAP = b"\xc0\x23"


def start_record(start_time: float) -> bytes:
    """07 and the start time in whole seconds."""
    if not 0 <= start_time < 2**32:
        raise ValueError(f"start time must fit 32 unsigned bits of seconds: {start_time}")
    return bytes([START_TIME]) + int(start_time).to_bytes(4, "big")


def delta_record(tenths: int) -> bytes:
    """A time step of `tenths` tenths of a second; empty when there is none (pppd writes none)."""
    if tenths <= 0:
        return b""
    if tenths <= 0xFF:
        return bytes([DELTA_SHORT, tenths])
    return bytes([DELTA_LONG]) + min(tenths, 0xFFFFFFFF).to_bytes(4, "big")


def data_records(sent: bool, raw: bytes) -> bytes:
    """01/02 records carrying `raw`, split into chunks of at most 65535 octets."""
    code = bytes([SENT if sent else RECEIVED])
    return b"".join(
        code + len(chunk).to_bytes(2, "big") + chunk
        for chunk in (raw[at : at + MAX_CHUNK] for at in range(0, len(raw), MAX_CHUNK))
    )


class PppdumpWriter:
    """Raw line octets with their times into a pppd record file.

    With `hide_passwords` (the default) a PAP Authenticate-Request on the line
    is rewritten with its password as asterisks and a fresh FCS, so the record
    stays a valid capture without holding the secret. For that each direction's
    octets are held back until a flag closes the frame they belong to (at most
    `HOLD_LIMIT` octets: anything longer cannot be a PAP request).
    """

    def __init__(
        self, stream: BinaryStream, start_time: float, *, hide_passwords: bool = True
    ) -> None:
        self._stream = stream
        stream.write(start_record(start_time))
        stream.flush()
        self._tenths = int(start_time) * 10  # pppd zeroes the sub-second part
        self._hide = hide_passwords
        self._held = {True: b"", False: b""}

    def _step(self, time: float) -> bytes:
        now = math.floor(time * 10)
        step = now - self._tenths
        if step <= 0:  # no step, and a clock going backwards is not followed
            return b""
        self._tenths = now
        return delta_record(step)

    def data(self, time: float, sent: bool, raw: bytes) -> None:
        """Octets that went out (`sent`) or came in on the line at `time`."""
        if self._hide:
            raw = self._held[sent] + raw
            cut = raw.rfind(_FLAG) + 1
            if not cut and len(raw) <= HOLD_LIMIT:
                self._held[sent] = raw
                return
            cut = cut or len(raw)
            raw, self._held[sent] = hide_pap_passwords(raw[:cut]), raw[cut:]
        if not raw:
            return
        self._stream.write(self._step(time) + data_records(sent, raw))
        self._stream.flush()

    def end(self, time: float, sent: bool) -> None:
        """Mark the end of one direction (pppd writes 03 when its side of the line closes)."""
        held, self._held[sent] = self._held[sent], b""
        records = data_records(sent, hide_pap_passwords(held)) if held else b""
        self._stream.write(self._step(time) + records + bytes([END_SENT if sent else END_RECEIVED]))
        self._stream.flush()


def hide_pap_passwords(raw: bytes) -> bytes:
    """Line octets with every PAP Authenticate-Request re-framed with its password hidden."""
    if _PAP not in raw:  # C0 23 is never escaped, so no PAP frame can hide from this
        return raw
    return _FLAG.join(_hide_in_frame(part) if _PAP in part else part for part in raw.split(_FLAG))


def _hide_in_frame(raw: bytes) -> bytes:
    body = unescape(raw)[:-2]  # without the FCS
    at = body.find(_PAP)
    if at not in (0, 2) or body[at + 2 : at + 3] != b"\x01":
        return raw
    hidden = body[: at + 2] + hide_password(body[at + 2 :])
    return raw if hidden == body else encode_raw(hidden, leading_flag=False)[:-1]
