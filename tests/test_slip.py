"""SLIP framing (RFC 1055): encoding, the deframer's verdicts, interop with sliplib."""

from __future__ import annotations

from itertools import pairwise

import sliplib  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from modememu.link import events as ev
from modememu.link import slip
from modememu.link.slip import SlipDeframer, SlipStats, encode_frame

END, ESC = b"\xc0", b"\xdb"
IPV4 = b"\x45\x00\x00\x14" + bytes(16)  # a bare IPv4 header: first octet 0x45


# -- a slow reference: RFC 1055's receiver, one octet at a time ------------------


def slow_deframe(
    stream: bytes, mtu: int = slip.DEFAULT_MTU
) -> tuple[list[bytes], list[ev.LinkEvent], SlipStats]:
    frames: list[bytes] = []
    events: list[ev.LinkEvent] = []
    stats = SlipStats()
    for raw in stream.split(END)[:-1]:
        out = bytearray()
        bad = 0
        escape = False
        for c in raw:
            if escape:
                escape = False
                if c == 0xDC:
                    out.append(0xC0)
                elif c == 0xDD:
                    out.append(0xDB)
                else:
                    bad += 1
                    out.append(c)
            elif c == 0xDB:
                escape = True
            else:
                out.append(c)
        bad += escape
        if len(out) > mtu:
            stats.over_length += 1
            events.append(ev.FrameDropped(ev.OVER_MTU, len(raw)))
            continue
        if bad:
            stats.bad_escapes += bad
            events.append(ev.BadEscape(bad, len(raw)))
        if not out:
            stats.idle += 1
        elif len(out) < 3:
            stats.runts += 1
            events.append(ev.FrameDropped(ev.RUNT, len(raw)))
        elif out[0] >= 0x70:
            stats.cslip += 1
            events.append(ev.CslipUnsupported(ev.CSLIP, len(raw), compressed=out[0] >= 0x80))
        else:
            stats.frames += 1
            frames.append(bytes(out))
    return frames, events, stats


# -- helpers ---------------------------------------------------------------------


def deframe(*chunks: bytes, mtu: int = slip.DEFAULT_MTU) -> tuple[list[bytes], list[ev.LinkEvent]]:
    deframer = SlipDeframer(mtu)
    for chunk in chunks:
        deframer.receive_data(chunk)
    return drain(deframer)


def drain(deframer: SlipDeframer) -> tuple[list[bytes], list[ev.LinkEvent]]:
    frames, events = [], []
    while (frame := deframer.next_frame()) is not None:
        frames.append(frame)
    while (event := deframer.next_event()) is not None:
        events.append(event)
    return frames, events


# -- encoding --------------------------------------------------------------------


def test_encoding_escapes_esc_then_end() -> None:
    assert encode_frame(b"\xc0\xdb\xdc\xdd") == b"\xc0\xdb\xdc\xdb\xdd\xdc\xdd\xc0"
    assert encode_frame(b"\xdb\xdc") == b"\xc0\xdb\xdd\xdc\xc0"  # not DB DB DC DC
    assert encode_frame(b"") == b"\xc0\xc0"


def test_leading_end_is_the_default_and_optional() -> None:
    assert encode_frame(IPV4) == END + IPV4 + END
    assert encode_frame(IPV4, leading_end=False) == IPV4 + END


def test_encoding_matches_sliplib() -> None:
    packet = bytes(range(256)) * 3
    with sliplib.use_leading_end_byte(True):
        driver = sliplib.Driver()
    assert encode_frame(packet) == driver.send(packet)
    assert encode_frame(packet, leading_end=False) == sliplib.Driver().send(packet)


# -- decoding --------------------------------------------------------------------


def test_double_end_frames_and_idle() -> None:
    deframer = SlipDeframer()
    deframer.receive_data(encode_frame(IPV4) + encode_frame(IPV4 + b"x") + END)
    assert drain(deframer) == ([IPV4, IPV4 + b"x"], [])
    # END IPV4 END END IPV4x END END: three empty frames, none of them an error
    assert deframer.stats == SlipStats(frames=2, idle=3)


def test_a_packet_without_leading_end_and_split_ends() -> None:
    assert deframe(IPV4, END) == ([IPV4], [])
    assert deframe(IPV4[:5], IPV4[5:] + END + IPV4, END) == ([IPV4, IPV4], [])


def test_split_at_every_position() -> None:
    stream = b"".join(
        encode_frame(p) for p in (IPV4, b"\x45\xc0\xdb" * 30, b"\x45" + END * 3, b"\x45\xdb\xdb")
    )
    stream += END + b"\x45\xdb\x41\xdb\xdb\xdb" + END  # ESC A, ESC ESC, ESC END: all bad
    whole = deframe(stream)
    assert len(whole[0]) == 5 and whole[1] == [ev.BadEscape(3, 6)]
    for cut in range(len(stream) + 1):
        assert deframe(stream[:cut], stream[cut:]) == whole, cut
    assert deframe(*(bytes([b]) for b in stream)) == whole


def test_bad_escapes_keep_the_octet_and_are_counted() -> None:
    deframer = SlipDeframer()
    deframer.receive_data(b"\x45\x01\xdb\x41\x02" + END)
    assert drain(deframer) == ([b"\x45\x01\x41\x02"], [ev.BadEscape(1, 5)])
    # ESC ESC: the first escapes the second, which is kept; ESC then END: ESC dropped.
    deframer.receive_data(b"\x45\x01\xdb\xdb\xdc" + END + b"\x45\x01\x02\xdb" + END)
    assert drain(deframer) == (
        [b"\x45\x01\xdb\xdc", b"\x45\x01\x02"],
        [ev.BadEscape(1, 5), ev.BadEscape(1, 4)],
    )
    assert deframer.stats.bad_escapes == 3 and deframer.stats.frames == 3


def test_runts() -> None:
    deframer = SlipDeframer()
    deframer.receive_data(END + b"\x45" + END + b"\x45\x00" + END + b"\x45\x00\x00" + END)
    assert drain(deframer) == (
        [b"\x45\x00\x00"],
        [ev.FrameDropped(ev.RUNT, 1), ev.FrameDropped(ev.RUNT, 2)],
    )
    assert deframer.stats == SlipStats(frames=1, idle=1, runts=2)
    # Only a stray ESC: nothing left, so it is idle (with a bad escape).
    assert deframe(END + ESC + END) == ([], [ev.BadEscape(1, 1)])


def test_over_mtu_frames_are_dropped() -> None:
    ok, long = b"\x45" + bytes(9), b"\x45" + bytes(10)
    deframer = SlipDeframer(mtu=10)
    deframer.receive_data(encode_frame(ok) + encode_frame(long) + encode_frame(b"\x45" + END * 9))
    frames, events = drain(deframer)
    assert frames == [ok, b"\x45" + END * 9]  # the escaped length does not count
    assert events == [ev.FrameDropped(ev.OVER_MTU, 11)]
    assert deframer.stats.over_length == 1


def test_an_endless_frame_is_discarded_while_it_streams() -> None:
    deframer = SlipDeframer(mtu=100)
    for _ in range(1000):
        deframer.receive_data(b"\x45\xdb\xdc" * 20)
        assert deframer.pending_octets <= 100
    deframer.receive_data(END + encode_frame(IPV4))
    assert drain(deframer) == ([IPV4], [ev.FrameDropped(ev.OVER_MTU, 60_000)])


def test_cslip_is_reported_unsupported() -> None:
    compressed = b"\xa4\x01\x02\x03"  # RFC 1144: 0x80 set
    uncompressed = b"\x75" + IPV4[1:]  # 0x7_: IPv4 header carrying a slot number
    deframer = SlipDeframer()
    deframer.receive_data(encode_frame(compressed) + encode_frame(uncompressed))
    assert drain(deframer) == (
        [],
        [
            ev.CslipUnsupported(ev.CSLIP, 4, compressed=True),
            ev.CslipUnsupported(ev.CSLIP, 20, compressed=False),
        ],
    )
    assert deframer.stats.cslip == 2
    assert all(isinstance(e, ev.FrameDropped) for e in deframe(encode_frame(compressed))[1])


def test_reset_forgets_a_partial_frame() -> None:
    deframer = SlipDeframer()
    deframer.receive_data(b"\x45garbage\xdb")
    deframer.reset()
    deframer.receive_data(IPV4 + END)
    assert drain(deframer) == ([IPV4], [])


def test_bad_arguments_are_refused() -> None:
    for mtu, min_frame in ((0, 3), (10, 0)):
        try:
            SlipDeframer(mtu, min_frame=min_frame)
        except ValueError:
            continue
        raise AssertionError((mtu, min_frame))


def test_interop_with_sliplib() -> None:
    packets = [IPV4, b"\x45" + bytes(range(256)), b"\x45\xc0\xdb\xdc\xdd"]
    sender = sliplib.Driver()  # no leading END: the packets just end with one
    assert deframe(b"".join(sender.send(p) for p in packets)) == (packets, [])
    receiver = sliplib.Driver()
    receiver.receive(b"".join(encode_frame(p) for p in packets))
    assert [receiver.get(block=False) for _ in packets] == packets


# -- properties ------------------------------------------------------------------

PACKETS = st.binary(min_size=2, max_size=1005).map(lambda b: b"\x45" + b)


@given(st.lists(PACKETS, max_size=4), st.data())
def test_round_trip(packets: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(p) for p in packets)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=4)))
    edges = [0, *cuts, len(stream)]
    assert deframe(*(stream[a:b] for a, b in pairwise(edges))) == (packets, [])


NOISE = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([END, ESC, ESC + END, ESC + ESC, b"\xdb\xdc", b"\xdb\xdd", b"\x70", b"\x80"]),
    st.builds(encode_frame, PACKETS.map(lambda p: p[:60])),
    st.builds(lambda n: b"\xdb\xdc" * n, st.integers(0, 300)),
)


@settings(max_examples=400)
@given(
    st.lists(NOISE, max_size=30).map(b"".join),
    st.lists(st.integers(0, 10_000), max_size=8),
    st.sampled_from([4, 64, 1006]),
)
def test_any_bytes_in_any_chunks_agree_with_the_reference(
    stream: bytes, cuts: list[int], mtu: int
) -> None:
    deframer = SlipDeframer(mtu)
    edges = [0, *sorted(c % (len(stream) + 1) for c in cuts), len(stream)]
    for start, end in pairwise(edges):
        deframer.receive_data(stream[start:end])
        assert deframer.pending_octets <= mtu
    frames, events, stats = slow_deframe(stream, mtu)
    assert drain(deframer) == (frames, events)
    assert deframer.stats == stats


@given(st.binary(max_size=5000), st.integers(1, 64))
def test_any_bytes_never_raise_and_memory_stays_bounded(stream: bytes, step: int) -> None:
    deframer = SlipDeframer(mtu=128)
    for start in range(0, len(stream), step):
        deframer.receive_data(stream[start : start + step])
        assert deframer.pending_octets <= 128
    drain(deframer)
