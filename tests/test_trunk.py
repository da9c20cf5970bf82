"""The trunk protocol: offer detection, frames round-tripping under any split, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modememu.line import trunk
from modememu.line.trunk import (
    ACCEPT,
    MAX_FRAME,
    OFFER,
    REFUSE,
    Frame,
    FrameType,
    TrunkDecoder,
    TrunkMalformed,
    classify_offer,
    encode_data,
    encode_signal,
)


def events(decoder: TrunkDecoder) -> list[TrunkMalformed]:
    out: list[TrunkMalformed] = []
    while (event := decoder.next_event()) is not None:
        out.append(event)
    return out


def raw_frame(kind: int, payload: bytes) -> bytes:
    return bytes((kind,)) + len(payload).to_bytes(3, "big") + payload


def test_negotiation_bytes() -> None:
    assert (OFFER, ACCEPT, REFUSE) == (b"\xff\xfb\x4d", b"\xff\xfd\x4d", b"\xff\xfe\x4d")


@pytest.mark.parametrize(
    ("first", "verdict"),
    [
        (b"", None),
        (b"\xff", None),
        (b"\xff\xfb", None),
        (OFFER, True),
        (OFFER + b"more", True),
        (b"W", False),
        (b"Welcome to the BBS", False),
        (b"\xff\xfd", False),  # a telnet server's own DO
        (b"\xff\xfb\x01", False),  # IAC WILL ECHO
        (b"\xff\xfb\x4c", False),
    ],
)
def test_classify_offer(first: bytes, verdict: bool | None) -> None:
    assert classify_offer(first) is verdict


def test_signal_round_trip() -> None:
    caller = encode_signal(
        FrameType.CALLER,
        number="5550102",
        modulations=["V34", "V32B"],
        max_rate=33600,
        error_control=True,
    )
    stream = (
        caller
        + encode_signal(FrameType.RINGING)
        + encode_signal(FrameType.ANSWERED, carrier=False)
        + encode_signal(FrameType.ROOM, bytes=4096)
        + encode_signal(FrameType.BUSY)
        + encode_signal(FrameType.HANGUP)
    )
    frames = TrunkDecoder().feed(stream)
    assert [f.type for f in frames] == [
        FrameType.CALLER,
        FrameType.RINGING,
        FrameType.ANSWERED,
        FrameType.ROOM,
        FrameType.BUSY,
        FrameType.HANGUP,
    ]
    assert frames[0].fields == {
        "number": "5550102",
        "modulations": ["V34", "V32B"],
        "max_rate": 33600,
        "error_control": True,
    }
    assert frames[1].fields == {}
    assert frames[2].fields == {"carrier": False}
    assert frames[3].fields == {"bytes": 4096}
    assert all(f.data == b"" for f in frames)


def test_frame_layout() -> None:
    assert encode_data(b"hi") == b"\x01\x00\x00\x02hi"
    assert encode_signal(FrameType.RINGING) == b"\x03\x00\x00\x02{}"
    assert encode_data(b"") == b""


def test_signal_fields_are_read_only() -> None:
    (frame,) = TrunkDecoder().feed(encode_signal(FrameType.ROOM, bytes=1))
    with pytest.raises(TypeError):
        frame.fields["bytes"] = 2  # type: ignore[index]


def test_encode_refuses_programming_errors() -> None:
    with pytest.raises(ValueError, match="encode_data"):
        encode_signal(FrameType.DATA)
    with pytest.raises(ValueError, match="over"):
        encode_signal(FrameType.CALLER, number="5" * MAX_FRAME)


def test_large_data_is_split_at_max_frame() -> None:
    data = bytes(range(256)) * (MAX_FRAME // 128 + 3)  # two full frames and a bit
    encoded = encode_data(data)
    assert len(encoded) == len(data) + 3 * trunk.HEADER
    frames = TrunkDecoder().feed(encoded)
    assert [len(f.data) for f in frames] == [MAX_FRAME, MAX_FRAME, len(data) - 2 * MAX_FRAME]
    assert b"".join(f.data for f in frames) == data


def test_a_full_frame_fed_a_byte_at_a_time() -> None:
    data = bytes(range(256)) * (MAX_FRAME // 256)
    encoded = encode_data(data)
    decoder = TrunkDecoder()
    out: list[Frame] = []
    for i in range(len(encoded)):
        out += decoder.feed(encoded[i : i + 1])
        assert decoder.pending_bytes <= trunk.HEADER + MAX_FRAME
    assert out == [Frame(FrameType.DATA, data)]
    assert decoder.pending_bytes == 0


frames_strategy = st.lists(
    st.one_of(
        st.binary(min_size=1, max_size=300).map(lambda b: Frame(FrameType.DATA, b)),
        st.builds(
            lambda kind, fields: Frame(kind, fields=fields),
            st.sampled_from([t for t in FrameType if t is not FrameType.DATA]),
            st.dictionaries(
                st.text(max_size=8),
                st.one_of(st.integers(), st.booleans(), st.text(max_size=10)),
                max_size=4,
            ),
        ),
    ),
    max_size=12,
)


def encode(frame: Frame) -> bytes:
    if frame.type is FrameType.DATA:
        return encode_data(frame.data)
    return encode_signal(frame.type, **dict(frame.fields))


@given(frames_strategy, st.lists(st.integers(min_value=0, max_value=5000), max_size=12))
def test_round_trip_under_any_split(frames: list[Frame], cuts: list[int]) -> None:
    stream = b"".join(encode(f) for f in frames)
    points = sorted({min(c, len(stream)) for c in cuts})
    decoder = TrunkDecoder()
    out: list[Frame] = []
    for a, b in zip([0, *points], [*points, len(stream)], strict=True):
        out += decoder.feed(stream[a:b])
    assert out == frames
    assert decoder.malformed == 0
    assert decoder.pending_bytes == 0


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (raw_frame(0, b"x"), "unknown frame type 0x00"),
        (raw_frame(0x99, b""), "unknown frame type 0x99"),
        (raw_frame(FrameType.RINGING, b""), "RINGING payload is not valid JSON"),
        (raw_frame(FrameType.ROOM, b"{bytes: 1}"), "ROOM payload is not valid JSON"),
        (raw_frame(FrameType.ROOM, b'{"bytes": 1'), "ROOM payload is not valid JSON"),
        (raw_frame(FrameType.CALLER, b'"\xff"'), "CALLER payload is not valid JSON"),
        (raw_frame(FrameType.CALLER, b"[" * 60000), "CALLER payload is not valid JSON"),
        (raw_frame(FrameType.HANGUP, b"[]"), "HANGUP payload is not a JSON object"),
        (raw_frame(FrameType.ANSWERED, b"null"), "ANSWERED payload is not a JSON object"),
    ],
)
def test_malformed_frames_are_dropped_and_counted(bad: bytes, reason: str) -> None:
    decoder = TrunkDecoder()
    good = encode_data(b"before") + bad + encode_data(b"after") + bad
    assert decoder.feed(good) == [
        Frame(FrameType.DATA, b"before"),
        Frame(FrameType.DATA, b"after"),
    ]
    assert decoder.malformed == 2
    assert events(decoder) == [TrunkMalformed(reason, 1), TrunkMalformed(reason, 2)]
    assert not decoder.broken


def test_oversize_length_breaks_the_stream_once() -> None:
    decoder = TrunkDecoder()
    oversize = bytes((FrameType.DATA,)) + (MAX_FRAME + 1).to_bytes(3, "big")
    out = decoder.feed(encode_data(b"ok") + oversize + encode_data(b"lost"))
    assert out == [Frame(FrameType.DATA, b"ok")]
    assert decoder.broken
    assert decoder.malformed == 1
    assert events(decoder) == [
        TrunkMalformed(f"frame length {MAX_FRAME + 1} over {MAX_FRAME}: stream cannot resync", 1)
    ]
    assert decoder.feed(encode_data(b"more") + oversize) == []
    assert decoder.malformed == 1
    assert events(decoder) == []
    assert decoder.pending_bytes == 0


def test_oversize_length_is_caught_as_soon_as_the_header_is_whole() -> None:
    decoder = TrunkDecoder()
    assert decoder.feed(b"\x01\xff") == []
    assert decoder.feed(b"\xff") == []
    assert decoder.malformed == 0  # two bytes of the length still to come
    assert decoder.feed(b"\xff" + b"x" * 100) == []
    assert decoder.broken
    assert decoder.pending_bytes == 0
    assert [e.reason for e in events(decoder)] == [
        f"frame length {0xFFFFFF} over {MAX_FRAME}: stream cannot resync"
    ]


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_garbage_never_raises(chunks: list[bytes]) -> None:
    decoder = TrunkDecoder()
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            assert isinstance(frame.type, FrameType)
        assert decoder.pending_bytes <= trunk.HEADER + MAX_FRAME
    assert len(events(decoder)) == decoder.malformed
