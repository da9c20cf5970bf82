"""Async HDLC-like framing (RFC 1662): FCS, transparency, the deframer's verdicts."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modememu.link import events as ev
from modememu.link import hdlc
from modememu.link.hdlc import HdlcDeframer, HdlcFrame, HdlcStats, encode_frame, encode_raw

# RFC 1662 §2 vector (ppp-tcp.md): LCP ConfReq id=1 <asyncmap 0x0> <magic 0x11223344>
CONFREQ_INFO = bytes.fromhex("0101001002060000000005061122 3344")
CONFREQ_WIRE = bytes.fromhex(
    "7e ff 7d 23 c0 21 7d 21 7d 21 7d 20 7d 30 7d 22 7d 26 7d 20 7d 20 7d 20 7d 20"
    " 7d 25 7d 26 7d 31 22 33 44 27 66 7e"
)
IP = 0x0021
ECHO_REQUEST = bytes.fromhex("09010008 11223344")


# -- slow references, one octet at a time as the RFC describes them ---------------


def slow_fcs16(data: bytes, fcs: int = 0xFFFF) -> int:
    """RFC 1662 Appendix C.2 bit by bit: polynomial 0x8408 (reflected 0x1021)."""
    for octet in data:
        fcs ^= octet
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs


def slow_escape(data: bytes, accm: int, extra: bytes = b"") -> bytes:
    out = bytearray()
    for c in data:
        if c in (0x7D, 0x7E) or (c < 0x20 and accm >> c & 1) or c in extra:
            out += bytes([0x7D, c ^ 0x20])
        else:
            out.append(c)
    return bytes(out)


def slow_unescape(raw: bytes) -> tuple[bytes, bool]:
    """Un-escaped octets and whether a 7D was left waiting at the end."""
    out = bytearray()
    escape = False
    for c in raw:
        if escape:
            out.append(c ^ 0x20)
            escape = False
        elif c == 0x7D:
            escape = True
        else:
            out.append(c)
    return bytes(out), escape


def slow_deframe(
    stream: bytes, mru: int = 1500, accm: int = 0xFFFFFFFF, drop: bool = False
) -> tuple[list[HdlcFrame], list[ev.LinkEvent], HdlcStats]:
    """What a deframer must make of `stream`, written the plain way."""
    frames: list[HdlcFrame] = []
    events: list[ev.LinkEvent] = []
    stats = HdlcStats()
    if 0x7E not in stream:
        return frames, events, stats
    first = stream.index(0x7E)
    if first:
        stats.unframed += first
        events.append(ev.FrameDropped(ev.UNFRAMED, first))

    def drop_frame(reason: str, counter: str, line: int) -> None:
        setattr(stats, counter, getattr(stats, counter) + 1)
        events.append(ev.FrameDropped(reason, line))

    for raw in stream[first + 1 :].split(b"\x7e")[:-1]:
        line = len(raw)
        if not raw:
            stats.idle += 1
            continue
        flagged = [c for c in raw if c < 0x20 and accm >> c & 1]
        if flagged:
            stats.accm_chars += len(flagged)
            events.append(ev.UnescapedControlChars(len(flagged), bytes(sorted(set(flagged))), drop))
            if drop:
                raw = bytes(c for c in raw if c not in flagged)  # noqa: PLW2901
                if not raw:
                    stats.idle += 1
                    continue
        data, aborted = slow_unescape(raw)
        if aborted:
            drop_frame(ev.ABORTED, "aborted", line)
        elif len(data) > mru + 6:
            drop_frame(ev.OVER_LONG, "over_long", line)
        elif len(data) < 3:
            drop_frame(ev.SHORT, "short", line)
        elif slow_fcs16(data) != 0xF0B8:
            drop_frame(ev.BAD_FCS, "bad_fcs", line)
        else:
            body = data[:-2]
            address_control = body[:1] == b"\xff"
            if address_control and len(body) < 2:
                drop_frame(ev.SHORT, "short", line)
                continue
            if address_control and body[1] != 0x03:
                drop_frame(ev.BAD_ADDRESS, "bad_header", line)
                continue
            body = body[2:] if address_control else body
            if not body or (not body[0] & 1 and len(body) < 2):
                drop_frame(ev.SHORT, "short", line)
            elif body[0] & 1:
                if len(body) - 1 > mru:
                    drop_frame(ev.OVER_LONG, "over_long", line)
                else:
                    stats.frames += 1
                    frames.append(HdlcFrame(body[0], body[1:], address_control, True))
            elif not body[1] & 1:
                drop_frame(ev.BAD_PROTOCOL, "bad_header", line)
            elif len(body) - 2 > mru:
                drop_frame(ev.OVER_LONG, "over_long", line)
            else:
                stats.frames += 1
                frames.append(HdlcFrame(body[0] << 8 | body[1], body[2:], address_control, False))
    return frames, events, stats


# -- helpers ---------------------------------------------------------------------


def feed(deframer: HdlcDeframer, *chunks: bytes) -> list[HdlcFrame]:
    for chunk in chunks:
        deframer.receive_data(chunk)
    return drain_frames(deframer)


def drain_frames(deframer: HdlcDeframer) -> list[HdlcFrame]:
    out = []
    while (frame := deframer.next_frame()) is not None:
        out.append(frame)
    return out


def drain_events(deframer: HdlcDeframer) -> list[ev.LinkEvent]:
    out = []
    while (event := deframer.next_event()) is not None:
        out.append(event)
    return out


def deframe(*chunks: bytes, **options: int | bool) -> tuple[list[HdlcFrame], list[ev.LinkEvent]]:
    deframer = HdlcDeframer(**options)  # type: ignore[arg-type]
    frames = feed(deframer, *chunks)
    return frames, drain_events(deframer)


# -- FCS -------------------------------------------------------------------------


def test_fcs_check_value_and_good_residue() -> None:
    # CRC-16/X-25: check("123456789") = 0x906E; data + FCS leaves 0xF0B8.
    fcs = hdlc.fcs16(b"123456789") ^ 0xFFFF
    assert fcs == 0x906E
    assert hdlc.fcs16(b"123456789" + fcs.to_bytes(2, "little")) == hdlc.GOOD_FCS == 0xF0B8


def test_fcs_of_the_known_confreq() -> None:
    body = b"\xff\x03\xc0\x21" + CONFREQ_INFO
    assert hdlc.fcs16(body) ^ 0xFFFF == 0x6627


@given(st.binary(max_size=300), st.integers(0, 0xFFFF))
def test_fcs_matches_the_bitwise_reference(data: bytes, init: int) -> None:
    assert hdlc.fcs16(data, init) == slow_fcs16(data, init)
    split = len(data) // 3
    assert hdlc.fcs16(data[split:], hdlc.fcs16(data[:split])) == slow_fcs16(data)


# -- sending ---------------------------------------------------------------------


@given(st.integers(0, 255), st.integers(0, 0xFFFF))
def test_a_crc_step_run_backwards_is_undone_by_running_it_forwards(octet: int, output: int) -> None:
    before = hdlc._register_before(octet, output)
    assert hdlc.fcs16(bytes([octet]), before ^ 0xFFFF) ^ 0xFFFF == output


def test_known_lcp_confreq_bytes() -> None:
    assert encode_frame(hdlc.LCP, CONFREQ_INFO) == CONFREQ_WIRE


@pytest.mark.parametrize("code", range(1, 8))
def test_lcp_codes_1_to_7_always_use_default_framing(code: int) -> None:
    info = bytes([code, 1, 0, 4])
    default = encode_frame(hdlc.LCP, info)
    assert encode_frame(hdlc.LCP, info, accm=0, acfc=True, pfc=True) == default
    assert default == encode_raw(b"\xff\x03\xc0\x21" + info, accm=0xFFFFFFFF)
    assert default.startswith(b"\x7e\xff\x7d\x23\xc0\x21") and min(default) >= 0x20


def test_other_lcp_codes_use_the_accm_but_never_drop_address_control() -> None:
    wire = encode_frame(hdlc.LCP, ECHO_REQUEST, accm=0, acfc=True, pfc=True)
    assert wire.startswith(b"\x7e\xff\x03\xc0\x21\x09\x01\x00\x08")  # 03 and 00 not escaped
    assert deframe(wire)[0] == [HdlcFrame(hdlc.LCP, ECHO_REQUEST, True, False)]


def test_acfc_and_pfc_compress_other_protocols() -> None:
    info = b"\x45hello"
    assert encode_frame(IP, info, accm=0).startswith(b"\x7e\xff\x03\x00\x21\x45")
    assert encode_frame(IP, info, accm=0, acfc=True).startswith(b"\x7e\x00\x21\x45")
    assert encode_frame(IP, info, accm=0, pfc=True).startswith(b"\x7e\xff\x03\x21\x45")
    assert encode_frame(IP, info, accm=0, acfc=True, pfc=True).startswith(b"\x7e\x21\x45")
    # PFC only applies below 0x100
    assert encode_frame(0x8021, info, accm=0, acfc=True, pfc=True).startswith(b"\x7e\x80\x21")
    frames, _ = deframe(encode_frame(IP, info, accm=0, acfc=True, pfc=True))
    assert frames == [HdlcFrame(IP, info, address_control=False, compressed_protocol=True)]


def test_leading_flag_is_optional() -> None:
    with_flag = encode_frame(IP, b"abc", accm=0)
    without = encode_frame(IP, b"abc", accm=0, leading_flag=False)
    assert with_flag == b"\x7e" + without
    assert without.endswith(b"\x7e") and without.count(b"\x7e") == 1
    assert deframe(with_flag + without + without)[0] == [HdlcFrame(IP, b"abc")] * 3


def test_escaping_under_the_default_and_a_zero_accm() -> None:
    data = bytes(range(0x40)) + b"\x7d\x7e\x5d\x5e\xff"
    assert hdlc.escape_octets(data) == slow_escape(data, 0xFFFFFFFF)
    assert hdlc.escape_octets(data, 0) == data[:0x40] + b"\x7d\x5d\x7d\x5e\x5d\x5e\xff"
    xon_xoff = 1 << 0x11 | 1 << 0x13
    assert hdlc.escape_octets(b"\x11\x12\x13", xon_xoff) == b"\x7d\x31\x12\x7d\x33"


def test_extra_escapes_like_pppds_escape_option() -> None:
    assert hdlc.escape_octets(b"\xff\x5d\x41", 0, b"\xff\x5d") == b"\x7d\xdf\x7d\x7d\x41"
    # Maps where escaping one character yields another one in the map.
    data = b"\x41\x61\x5d\x7d\x01"
    for extra in (b"\x41\x61", b"\x5d", b"\x41\x61\x5d"):
        assert hdlc.escape_octets(data, 0, extra) == slow_escape(data, 0, extra), extra


@pytest.mark.parametrize("protocol", [0x0020, 0x0121, -1, 0x10000, 0xC020])
def test_invalid_protocol_numbers_are_refused(protocol: int) -> None:
    with pytest.raises(ValueError, match="protocol"):
        encode_frame(protocol, b"")


def test_invalid_send_maps_are_refused() -> None:
    with pytest.raises(ValueError, match="ACCM"):
        encode_frame(IP, b"", accm=1 << 32)
    for char in (b"\x5e", b"\x20", b"\x3f"):
        with pytest.raises(ValueError, match="cannot escape"):
            encode_frame(IP, b"", escape=char)
    with pytest.raises(ValueError, match="MRU"):
        HdlcDeframer(mru=0)
    with pytest.raises(ValueError, match="ACCM"):
        HdlcDeframer(recv_accm=-1)


@given(
    st.binary(max_size=400),
    st.integers(0, 0xFFFFFFFF),
    st.lists(st.integers(0x40, 0xFF).filter(lambda c: c != 0x5E), max_size=4).map(bytes),
)
def test_escaping_matches_the_reference(data: bytes, accm: int, extra: bytes) -> None:
    assert hdlc.escape_octets(data, accm, extra) == slow_escape(data, accm, extra)


@given(st.binary(max_size=600).map(lambda b: b.replace(b"\x7e", b"")))
def test_unescape_paths_agree_with_the_reference(raw: bytes) -> None:
    # Lots of 7Ds, in runs too, drive every path: split, lanes and pairwise.
    expected, waiting = slow_unescape(raw)
    if waiting:
        raw, expected = raw[:-1], slow_unescape(raw[:-1])[0]
    assert hdlc._unescape(raw) == expected
    assert hdlc._unescape_pairs(raw) == expected


@given(st.lists(st.sampled_from([b"\x7d", b"\x7d\x5d", b"\x7d\x5e", b"a", b"\x00"]), max_size=300))
def test_unescape_with_many_escapes(pieces: list[bytes]) -> None:
    raw = b"".join(pieces)
    expected, waiting = slow_unescape(raw)
    if waiting:  # the deframer never un-escapes a 7D that is still waiting
        raw = raw[:-1]
    assert hdlc._unescape(raw) == expected


def test_many_escapes_with_an_escaped_5d_among_them() -> None:
    raw = b"\x7d\x5e" * 100 + b"\x7d\x7d" + b"a"
    assert hdlc._unescape(raw) == b"\x7e" * 100 + b"\x5da"


# -- receiving -------------------------------------------------------------------


def test_known_confreq_decodes() -> None:
    frames, events = deframe(CONFREQ_WIRE)
    assert frames == [HdlcFrame(hdlc.LCP, CONFREQ_INFO, True, False)]
    assert events == []


def test_split_at_every_position() -> None:
    stream = (
        CONFREQ_WIRE
        + encode_frame(IP, bytes(range(256)), accm=0, leading_flag=False)
        + encode_frame(IP, b"\x7d\x7e\x7d" * 40, acfc=True, pfc=True)
        + encode_frame(0x8021, b"\x01\x02\x00\x04", escape=b"\x5d")
    )
    whole = deframe(stream)
    assert len(whole[0]) == 4
    assert [type(e) for e in whole[1]] == [ev.UnescapedControlChars]  # the ACCM 0 frame
    for cut in range(len(stream) + 1):
        assert deframe(stream[:cut], stream[cut:]) == whole, cut
    assert deframe(*(bytes([b]) for b in stream)) == whole


def test_idle_flags_are_not_errors() -> None:
    deframer = HdlcDeframer()
    assert feed(deframer, b"\x7e\x7e\x7e" + CONFREQ_WIRE + b"\x7e\x7e") == [
        HdlcFrame(hdlc.LCP, CONFREQ_INFO)
    ]
    assert drain_events(deframer) == []
    assert deframer.stats == HdlcStats(frames=1, idle=5)


def test_octets_before_the_first_flag_are_skipped() -> None:
    deframer = HdlcDeframer()
    frames = feed(deframer, b"CONNECT ", b"28800\r\n" + CONFREQ_WIRE)
    assert frames == [HdlcFrame(hdlc.LCP, CONFREQ_INFO)]
    assert drain_events(deframer) == [ev.FrameDropped(ev.UNFRAMED, 15)]
    assert deframer.stats.unframed == 15
    deframer.reset()
    assert feed(deframer, b"junk" + CONFREQ_WIRE) == [HdlcFrame(hdlc.LCP, CONFREQ_INFO)]
    assert drain_events(deframer) == [ev.FrameDropped(ev.UNFRAMED, 4)]


def test_aborted_packet() -> None:
    aborted = CONFREQ_WIRE[:-1] + b"\x7d\x7e"
    deframer = HdlcDeframer()
    assert feed(deframer, aborted + CONFREQ_WIRE[1:]) == [HdlcFrame(hdlc.LCP, CONFREQ_INFO)]
    assert drain_events(deframer) == [ev.FrameDropped(ev.ABORTED, len(aborted) - 2)]
    assert deframer.stats.aborted == 1
    # The escape may arrive in one chunk and the flag in the next.
    deframer = HdlcDeframer()
    assert feed(deframer, aborted[:-1], b"\x7e") == []
    assert deframer.stats.aborted == 1


def test_an_escaped_7d_before_the_flag_is_not_an_abort() -> None:
    # 7D 7D is an escaped 0x5D; only an odd run of 7Ds leaves one waiting.
    assert deframe(b"\x7ea\x7d\x7d\x7e") == ([], [ev.FrameDropped(ev.SHORT, 3)])
    assert deframe(b"\x7ea\x7d\x7d\x7d\x7e") == ([], [ev.FrameDropped(ev.ABORTED, 4)])
    wire = encode_frame(IP, b"a\x5d" * 10, accm=0, escape=b"\x5d")
    assert wire.count(b"\x7d\x7d") >= 10
    assert deframe(wire, recv_accm=0) == ([HdlcFrame(IP, b"a\x5d" * 10)], [])


def test_short_packets() -> None:
    for body in (b"\xff", b"\xff\x03", b"\x00", b"\xff\x03\x00"):
        wire = encode_raw(body)
        assert deframe(wire) == ([], [ev.FrameDropped(ev.SHORT, len(wire) - 2)]), body
    assert deframe(b"\x7eAB\x7e") == ([], [ev.FrameDropped(ev.SHORT, 2)])
    # Three octets are enough for a one-octet protocol with nothing after it.
    assert deframe(encode_raw(b"\x21")) == ([HdlcFrame(0x21, b"", False, True)], [])


def test_bad_fcs() -> None:
    wire = bytearray(encode_frame(IP, b"\x45" * 40, accm=0))
    wire[10] ^= 0x01
    deframer = HdlcDeframer(recv_accm=0)
    assert feed(deframer, bytes(wire)) == []
    assert drain_events(deframer) == [ev.FrameDropped(ev.BAD_FCS, len(wire) - 2)]
    assert deframer.stats.bad_fcs == 1


def test_bad_address_control_and_bad_protocol_field() -> None:
    deframer = HdlcDeframer()
    assert feed(deframer, encode_raw(b"\xff\x05\x00\x21x"), encode_raw(b"\x00\x20x")) == []
    assert [e.reason for e in drain_events(deframer) if isinstance(e, ev.FrameDropped)] == [
        ev.BAD_ADDRESS,
        ev.BAD_PROTOCOL,
    ]
    assert deframer.stats.bad_header == 2


def test_over_long_frames() -> None:
    deframer = HdlcDeframer(mru=100)
    ok, long = encode_frame(IP, bytes(100)), encode_frame(IP, bytes(101))
    assert feed(deframer, ok, long) == [HdlcFrame(IP, bytes(100))]
    assert drain_events(deframer) == [ev.FrameDropped(ev.OVER_LONG, len(long) - 2)]
    # With compressed headers the frame is shorter but the information field is not.
    assert feed(deframer, encode_frame(IP, bytes(101), acfc=True, pfc=True)) == []
    assert deframer.stats.over_long == 2


def test_an_endless_frame_is_discarded_while_it_streams() -> None:
    deframer = HdlcDeframer(mru=200)
    deframer.receive_data(b"\x7e")
    for _ in range(1000):
        deframer.receive_data(b"\x7d\x5d" * 50 + bytes(range(32)))
        assert deframer.pending_octets <= 200 + hdlc.OVERHEAD
    assert feed(deframer, b"\x7e" + CONFREQ_WIRE) == [HdlcFrame(hdlc.LCP, CONFREQ_INFO)]
    assert drain_events(deframer)[-1] == ev.FrameDropped(ev.OVER_LONG, 1000 * 132)


def test_mru_and_accm_can_change_after_negotiation() -> None:
    deframer = HdlcDeframer(mru=100)
    deframer.mru = 1500
    deframer.recv_accm = 0
    assert (deframer.mru, deframer.recv_accm) == (1500, 0)
    wire = encode_frame(IP, bytes(1000), accm=0)
    assert b"\x00" in wire
    assert feed(deframer, wire) == [HdlcFrame(IP, bytes(1000))]
    assert drain_events(deframer) == []


def test_unescaped_control_chars_are_reported_not_dropped() -> None:
    # The peer already sends with ACCM 0 while we still expect the default map
    # (a frame in flight around renegotiation): the frame is good, keep it.
    wire = encode_frame(IP, b"\x00\x01\x13abc", accm=0)
    controls = [c for c in wire if c < 0x20]  # 03 (control), 00 (protocol), maybe FCS
    assert len(controls) >= 5
    deframer = HdlcDeframer()
    assert feed(deframer, wire) == [HdlcFrame(IP, b"\x00\x01\x13abc")]
    chars = ev.UnescapedControlChars(len(controls), bytes(sorted(set(controls))), dropped=False)
    assert drain_events(deframer) == [chars]
    assert deframer.stats.accm_chars == len(controls)


def test_inserted_xoff_fails_the_fcs_unless_dropping_is_asked_for() -> None:
    wire = encode_frame(IP, b"payload")
    noisy = wire[:5] + b"\x13" + wire[5:]
    deframer = HdlcDeframer()
    assert feed(deframer, noisy) == []
    assert drain_events(deframer) == [
        ev.UnescapedControlChars(1, b"\x13", dropped=False),
        ev.FrameDropped(ev.BAD_FCS, len(noisy) - 2),
    ]
    deframer = HdlcDeframer(drop_accm_chars=True)
    assert feed(deframer, noisy[:6], noisy[6:]) == [HdlcFrame(IP, b"payload")]
    assert drain_events(deframer) == [ev.UnescapedControlChars(1, b"\x13", dropped=True)]
    # Nothing but control characters between two flags: idle once they are dropped.
    deframer = HdlcDeframer(drop_accm_chars=True)
    assert feed(deframer, b"\x7e\x11", b"\x13\x7e\x11\x7e") == []
    assert deframer.stats == HdlcStats(idle=2, accm_chars=3)
    assert drain_events(deframer) == [
        ev.UnescapedControlChars(2, b"\x11\x13", dropped=True),
        ev.UnescapedControlChars(1, b"\x11", dropped=True),
    ]
    # RFC 1662 §4.2: dropped before un-escaping, so 7D XOFF 5E is still an escaped 7E.
    assert feed(deframer, encode_raw(b"\x21\x7e", accm=0).replace(b"\x7d", b"\x7d\x13")) == [
        HdlcFrame(0x21, b"\x7e", False, True)
    ]


def test_every_frame_lands_in_one_counter() -> None:
    stream = (
        b"\x7e\x7e"
        + CONFREQ_WIRE
        + b"\x01\x02\x7e"
        + b"\x41\x7d\x7e"
        + encode_raw(b"\xff\x05\x00\x21")[1:]
        + b"\x00" * 3000
        + b"\x7e"
    )
    deframer = HdlcDeframer()
    feed(deframer, stream)
    s = deframer.stats
    assert (s.frames, s.idle, s.short, s.aborted, s.bad_header, s.over_long) == (1, 2, 1, 1, 1, 1)
    assert s == slow_deframe(stream)[2]


# -- properties ------------------------------------------------------------------

PROTOCOLS = st.sampled_from([0x0021, 0x0057, 0x002D, 0x8021, 0xC021, 0xC023, 0xC223, 0x80FD])
EXTRA = st.lists(st.integers(0x40, 0xFF).filter(lambda c: c != 0x5E), max_size=3).map(bytes)


@settings(max_examples=300)
@given(
    protocol=PROTOCOLS,
    info=st.binary(max_size=1500),
    accm=st.integers(0, 0xFFFFFFFF),
    acfc=st.booleans(),
    pfc=st.booleans(),
    extra=EXTRA,
    data=st.data(),
)
def test_round_trip(
    *,
    protocol: int,
    info: bytes,
    accm: int,
    acfc: bool,
    pfc: bool,
    extra: bytes,
    data: st.DataObject,
) -> None:
    wire = encode_frame(protocol, info, accm=accm, acfc=acfc, pfc=pfc, escape=extra)
    assert wire[0] == wire[-1] == 0x7E and wire.count(b"\x7e") == 2
    assert not any(c < 0x20 and accm >> c & 1 for c in wire)
    cut = data.draw(st.integers(0, len(wire)))
    deframer = HdlcDeframer(recv_accm=accm)
    frames = feed(deframer, wire[:cut], wire[cut:])
    lcp = protocol == hdlc.LCP
    assert frames == [HdlcFrame(protocol, info, not acfc or lcp, pfc and protocol < 0x100)]
    assert drain_events(deframer) == []


@settings(max_examples=300)
@given(
    protocol=PROTOCOLS | st.sampled_from([0x007D, 0x7D7F & ~0x0100]),
    info=st.binary(max_size=300),
    accm=st.sampled_from([0, 0xFFFFFFFF, 0x000A0000]) | st.integers(0, 0xFFFFFFFF),
    acfc=st.booleans(),
    pfc=st.booleans(),
    extra=EXTRA,
    leading_flag=st.booleans(),
)
def test_frames_match_the_reference_octet_for_octet(
    *,
    protocol: int,
    info: bytes,
    accm: int,
    acfc: bool,
    pfc: bool,
    extra: bytes,
    leading_flag: bool,
) -> None:
    # The sender escapes a cached header, the information and the FCS apart;
    # the line must still read as RFC 1662 frames the whole body at once.
    if protocol == hdlc.LCP:
        acfc = False
        accm = 0xFFFFFFFF if info[:1] and info[0] in range(1, 8) else accm
    address_control = b"" if acfc else b"\xff\x03"
    field = bytes([protocol]) if pfc and protocol < 0x100 else protocol.to_bytes(2, "big")
    body = address_control + field + info
    fcs = (slow_fcs16(body) ^ 0xFFFF).to_bytes(2, "little")
    expected = slow_escape(body + fcs, accm, extra) + b"\x7e"
    wire = encode_frame(
        protocol, info, accm=accm, acfc=acfc, pfc=pfc, escape=extra, leading_flag=leading_flag
    )
    assert wire == (b"\x7e" + expected if leading_flag else expected)


def _with_fcs_octet(octet: int) -> bytes:
    """An information field whose FCS has `octet` among its two octets."""
    for n in range(100_000):
        info = n.to_bytes(3, "big") + b"\x7d\x7e"  # escaped in the information too
        if octet in (hdlc.fcs16(b"\xff\x03\x00\x21" + info) ^ 0xFFFF).to_bytes(2, "little"):
            return info
    raise AssertionError("no such field")


@pytest.mark.parametrize("octet", [0x7D, 0x7E])
def test_an_escaped_fcs_octet_survives_the_one_frame_path(octet: int) -> None:
    info = _with_fcs_octet(octet)
    wire = encode_frame(IP, info, accm=0)
    assert wire.count(b"\x7d") == 3  # two in the information, one in the FCS
    assert deframe(wire, recv_accm=0) == ([HdlcFrame(IP, info)], [])
    assert deframe(wire[:4], wire[4:], recv_accm=0) == ([HdlcFrame(IP, info)], [])


def test_the_one_frame_path_checks_the_fcs_with_the_flags_on() -> None:
    wire = bytearray(encode_frame(IP, b"\x7dpayload", accm=0))
    wire[-2] ^= 0x01  # the FCS's last octet
    frames, events = deframe(bytes(wire), recv_accm=0)
    assert frames == []
    assert events == [ev.FrameDropped(ev.BAD_FCS, len(wire) - 2)]


NOISE = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"\x7e", b"\x7d", b"\x7d\x7e", b"\x7d\x7d", b"\xff\x03", b"\x11", b"\x13"]),
    st.builds(
        lambda p, i, a: encode_frame(p, i, accm=a),
        PROTOCOLS,
        st.binary(max_size=60),
        st.sampled_from([0, 0xFFFFFFFF, 0x000A0000]),
    ),
    st.builds(lambda n: b"\x7d\x5e" * n, st.integers(0, 200)),
)


@settings(max_examples=400)
@given(
    st.lists(NOISE, max_size=30).map(b"".join),
    st.lists(st.integers(0, 10_000), max_size=8),
    st.sampled_from([0, 0xFFFFFFFF, 0x000A0000]),
    st.booleans(),
    st.sampled_from([8, 64, 1500]),
)
def test_any_bytes_in_any_chunks_agree_with_the_reference(
    stream: bytes, cuts: list[int], accm: int, drop: bool, mru: int
) -> None:
    deframer = HdlcDeframer(mru=mru, recv_accm=accm, drop_accm_chars=drop)
    edges = [0, *sorted(c % (len(stream) + 1) for c in cuts), len(stream)]
    for start, end in pairwise(edges):
        deframer.receive_data(stream[start:end])
        assert deframer.pending_octets <= mru + hdlc.OVERHEAD
    frames, events, stats = slow_deframe(stream, mru, accm, drop)
    assert drain_frames(deframer) == frames
    assert drain_events(deframer) == events
    assert deframer.stats == stats


@given(st.binary(max_size=5000), st.integers(1, 64))
def test_any_bytes_never_raise_and_memory_stays_bounded(stream: bytes, step: int) -> None:
    deframer = HdlcDeframer(mru=128)
    for start in range(0, len(stream), step):
        deframer.receive_data(stream[start : start + step])
        assert deframer.pending_octets <= 128 + hdlc.OVERHEAD
    drain_frames(deframer)
    drain_events(deframer)
