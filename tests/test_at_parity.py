"""DTE parity detection from "AT": the bytes are built here from first principles."""

from __future__ import annotations

import pytest
from dte import Dte

from modememu.modem.events import ParityDetected


def with_parity(text: bytes, parity: str) -> bytes:
    """Each 7-bit character as an 8N1 receiver sees it when the sender adds `parity`."""
    out = bytearray()
    for c in text:
        ones = bin(c).count("1")
        high = {"E": ones % 2 == 1, "O": ones % 2 == 0, "M": True, "N": False}[parity]
        out.append(c | 0x80 if high else c)
    return bytes(out)


def parity_ok(byte: int, parity: str) -> bool:
    ones = bin(byte).count("1")
    return {"E": ones % 2 == 0, "O": ones % 2 == 1, "M": byte & 0x80 != 0, "N": byte < 0x80}[
        parity
    ]


@pytest.mark.parametrize("prefix", [b"AT", b"at"])
@pytest.mark.parametrize("parity", ["E", "O", "M"])
def test_parity_is_detected_and_every_reply_byte_carries_it(prefix: bytes, parity: str) -> None:
    dte = Dte()
    reply = dte.send(with_parity(prefix + b"\r", parity))
    assert dte.of_type(ParityDetected) == [ParityDetected(parity)]
    assert reply == with_parity(prefix + b"\r\r\nOK\r\n", parity)
    assert all(parity_ok(b, parity) for b in reply)
    # input is read on its 7 data bits, and replies keep the parity until the next AT
    reply = dte.send(with_parity(prefix + b"E0S12?\r", parity))
    assert reply == with_parity(prefix + b"E0S12?\r\r\n050\r\n\r\nOK\r\n", parity)


def test_known_wire_patterns() -> None:
    # at-commands.md §4.10: "AT" even = 41 D4, odd = C1 54; "at" even = E1 74, odd = 61 F4
    for wire, parity in [(b"\x41\xd4", "E"), (b"\xc1\x54", "O"), (b"\xe1\x74", "E"),
                         (b"\x61\xf4", "O"), (b"\xc1\xd4", "M")]:  # fmt: skip
        dte = Dte()
        dte.quiet()
        dte.send(wire + with_parity(b"\r", parity))
        assert dte.of_type(ParityDetected) == [ParityDetected(parity)]


def test_next_at_in_8n1_goes_back_to_8_bits() -> None:
    dte = Dte()
    dte.send(with_parity(b"AT\r", "M"))
    assert dte.send(b"AT\r") == b"AT\r\r\nOK\r\n"
    assert dte.of_type(ParityDetected) == [ParityDetected("M"), ParityDetected("N")]


def test_force_8n1_turns_detection_off() -> None:
    dte = Dte(force_8n1=True)
    dte.quiet()
    assert dte.send(with_parity(b"AT\r", "M")) == b"\r\nOK\r\n"  # still understood on 7 bits
    assert dte.of_type(ParityDetected) == []


def test_framing_shows_in_view() -> None:
    dte = Dte()
    dte.quiet()
    reply = dte.send(with_parity(b"AT&V\r", "O"))
    assert b"DTE: 115200 7O1" in bytes(b & 0x7F for b in reply)
