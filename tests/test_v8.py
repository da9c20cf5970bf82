"""V.8 messages: the reference's octet examples, round trips, the joint menu, the receiver."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modememu.events import Event
from modememu.profiles import CARRIERS, load_profile
from modememu.vseries import v8
from modememu.vseries.v8 import (
    MODES,
    CallFunction,
    Sync,
    V8Malformed,
    V8Offer,
    V8Receiver,
    build_ci,
    build_cm,
    build_jm,
    frame,
    highest_common_mode,
    joint_menu,
    line_bits,
    line_seconds,
    offer_for,
    offer_from_profile,
    parse_message,
)

H = bytes.fromhex

# Modem kinds as +MS lists (what a firmware profile holds).
V21_ONLY = ("V21", "B103")
V22BIS = ("V22B", "V22", "V21", "B212", "B103")
V32BIS = ("V32B", "V32", "V22B", "V22", "V21", "B212", "B103")
V34 = ("V34", *V32BIS)
V90 = ("V90", *V34)
V92 = ("V92", *V90)

# spandsp's CM offering everything (§1.3), decoded.
EVERYTHING = V8Offer(
    modulations=frozenset({"V90", "V92", "V34", "V32", "V32B", "V22", "V22B", "V23C", "V21"}),
    other_modes=frozenset({"V.17", "V.29", "V.27ter", "V.26ter", "V.26bis", "V.23 half-duplex"}),
    lapm=True,
)


# -- the reference's examples (§1.2, §1.3, §4, §5) ------------------------------


def test_jm_v32bis_v22bis_v21_lapm() -> None:
    jm = offer_for(V32BIS, lapm=True)
    assert build_jm(jm) == H("C1 05 13 90 2A")
    assert parse_message(H("C1 05 13 90 2A")) == jm.normalized()
    assert highest_common_mode(jm) == "V32B"


def test_spandsp_cm_offering_everything() -> None:
    assert build_cm(EVERYTHING) == H("C1 65 D7 D7 2A")
    assert frame(build_cm(EVERYTHING), Sync.CM_JM) == H("E0 C1 65 D7 D7 2A")
    assert parse_message(H("C1 65 D7 D7 2A")) == EVERYTHING


def test_v90_client_cm() -> None:
    client = offer_for(V90, lapm=True)
    assert client.pcm == {"analog"}
    assert build_cm(client) == H("C1 65 13 90 2A 27")
    parsed = parse_message(H("C1 65 13 90 2A 27"))
    assert parsed is not None
    assert parsed.pcm == {"analog"}
    assert {"V90", "V34", "V32B", "V22B", "V21"} <= parsed.modulations


def test_v90_client_is_the_usr_sportster_profile() -> None:
    assert build_cm(offer_from_profile(load_profile("usr-sportster-56k"))) == H("C1 65 13 90 2A 27")


def test_spandsp_cross_check_everything_against_a_v32bis_answerer() -> None:
    """v8check cross with a V.32bis answerer: JM C1 05 13 90 2A, then V.32bis (§4)."""
    jm = joint_menu(EVERYTHING, offer_for(V32BIS, lapm=True))
    assert build_jm(jm) == H("C1 05 13 90 2A")
    assert highest_common_mode(jm) == "V32B"


def test_everything_against_everything_is_v90_with_a_digital_answerer() -> None:
    server = V8Offer(modulations=EVERYTHING.modulations, lapm=True, pcm=frozenset({"digital"}))
    client = V8Offer(modulations=EVERYTHING.modulations, lapm=True, pcm=frozenset({"analog"}))
    assert highest_common_mode(joint_menu(client, server)) == "V90"


def test_call_function_octets() -> None:
    assert build_ci() == H("C1")  # data
    assert build_ci(CallFunction.T30_TX) == H("81")  # fax Tx
    assert build_cm(V8Offer(modulations=frozenset({"V21"})))[0] == 0xC1
    assert frame(build_ci(), Sync.CI) == H("00 C1")


def test_category_tags_in_line_order() -> None:
    """§1.3 gives each tag as its low 5 bits on the line, b0 first."""
    tags = {
        v8.TAG_CALL_FUNCTION: "10000",
        v8.TAG_MODULATION: "10100",
        v8.TAG_PROTOCOLS: "01010",
        v8.TAG_PSTN_ACCESS: "10110",
        v8.TAG_PCM_AVAILABILITY: "11100",
    }
    for tag, line in tags.items():
        assert line_bits(bytes((tag,)), preamble=False)[1:6] == line


def test_linmodem_writes_the_same_codes_bit_reversed() -> None:
    """§1.3: linmodem's 0x83, 0xA0, EXT 0x08 and LAPM 0x54."""

    def reverse(octet: int) -> int:
        return int(f"{octet:08b}"[::-1], 2)

    lapm = v8.PROTOCOL_LAPM << 5 | v8.TAG_PROTOCOLS
    assert [reverse(o) for o in (0xC1, v8.TAG_MODULATION, v8.EXTENSION, lapm)] == [
        0x83,
        0xA0,
        0x08,
        0x54,
    ]
    assert lapm == 0x2A


def test_sync_patterns_on_the_line() -> None:
    """§1.2: 0xE0 is `0 00000111 1`, 0xC1 is `0 10000011 1`, and spandsp's 20-bit matches."""
    assert line_bits(H("E0"), preamble=False) == "0000001111"
    assert line_bits(H("C1"), preamble=False) == "0100000111"
    # minimodem --binary-output prints the data bits LSB first (§5).
    assert [line_bits(H(x), preamble=False)[1:9] for x in ("E0", "C1", "05")] == [
        "00000111",
        "10000011",
        "10100000",
    ]
    # spandsp shifts each bit in at bit 19: after preamble + sync, bit i is line bit i.
    registers = {Sync.CI: 0x803FF, Sync.CM_JM: 0xF03FF, Sync.V92: 0xAABFF}
    for kind, register in registers.items():
        bits = line_bits(frame(b"", kind))
        assert len(bits) == 20
        assert sum(int(b) << i for i, b in enumerate(bits)) == register


def test_cj_and_message_durations() -> None:
    assert H("00 00 00") == v8.CJ
    assert line_bits(v8.CJ, preamble=False) == "0000000001" * 3
    cm = H("C1 05 13 90 2A")
    assert len(line_bits(frame(cm, Sync.CM_JM))) == 70  # §1.4: 70 bits ...
    assert line_seconds(frame(cm, Sync.CM_JM)) == pytest.approx(0.233, abs=0.001)  # ... 233 ms


def test_timings_agree_with_the_measured_sequence() -> None:
    """§1.4: CM starts Te after ANSam/ is heard; the answerer needs two whole CMs."""
    assert v8.ANSAM_START == 0.2
    assert v8.CJ_SILENCE == 0.075
    assert pytest.approx(v8.ANSAM_DETECTED + v8.TE, abs=0.02) == v8.CM_START
    assert v8.TE >= v8.TE_MIN
    cm_time = line_seconds(frame(H("C1 05 13 90 2A"), Sync.CM_JM))
    assert 2 * cm_time <= v8.CM_ACCEPTED - v8.CM_START
    assert 2 * cm_time <= v8.JM_ACCEPTED - v8.CM_ACCEPTED
    times = (v8.ANSAM_START, v8.ANSAM_DETECTED, v8.CM_START, v8.CM_ACCEPTED)
    assert list(times) == sorted(times)
    assert v8.CM_ACCEPTED < v8.JM_ACCEPTED < v8.CJ_DETECTED < v8.V8_DONE == 4.3


# -- the mode table ----------------------------------------------------------------


def test_mode_bits_are_distinct_and_never_look_like_extension_markers() -> None:
    positions = [(m.octet, m.bit) for m in MODES]
    assert len(set(positions)) == len(MODES) == 13
    for m in MODES:
        # modn1/modn2 must not touch the extension marker, modn0 not the tag
        assert m.bit & (v8.EXTENSION_MASK if m.octet else v8.TAG_MASK) == 0
    assert set(CARRIERS) - {"B103", "B212"} == v8.EXPRESSIBLE


def test_family_bits() -> None:
    """V.8 has one bit for V.32/V.32bis, V.22/V.22bis and V.90/V.92."""
    for one, other in (("V32", "V32B"), ("V22", "V22B"), ("V90", "V92")):
        a = V8Offer(modulations=frozenset({one}))
        b = V8Offer(modulations=frozenset({other}))
        assert build_cm(a) == build_cm(b)
        parsed = parse_message(build_cm(a))
        assert parsed is not None
        assert {one, other} <= parsed.modulations


def test_bell_modes_are_not_in_the_octets() -> None:
    bell = V8Offer(modulations=frozenset({"B103", "B212"}))
    assert build_cm(bell) == H("C1 05 10 10")
    assert build_cm(offer_for(("B212", "B103", "V21"), lapm=False)) == H("C1 05 10 90")


def test_pcm_and_pstn_octets() -> None:
    offer = V8Offer(
        modulations=frozenset({"V90"}),
        pcm=frozenset({"analog", "digital", "v91"}),
        pstn_access=frozenset({"caller-cellular", "answerer-cellular", "digital-network"}),
        modn_octets=1,
    )
    assert build_cm(offer) == H("C1 25 ED E7")
    assert parse_message(H("C1 25 ED E7")) == offer.normalized()
    server = offer_for(V90, lapm=True, digital=True)
    assert build_cm(server)[-1] == 0x47


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"modulations": frozenset({"V99"})}, "unknown modulations"),
        ({"modulations": "V34"}, "set of names"),
        ({"other_modes": frozenset({"V.34 duplex"})}, "unknown other_modes"),
        ({"pcm": frozenset({"analogue"})}, "unknown pcm"),
        ({"pstn_access": frozenset({"isdn"})}, "unknown pstn_access"),
        ({"modn_octets": 0}, "modn_octets"),
        ({"modn_octets": 4}, "modn_octets"),
        ({"modulations": frozenset({"V21"}), "modn_octets": 2}, "need 3"),
    ],
)
def test_misuse_raises(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        V8Offer(**kwargs)  # type: ignore[arg-type]


def test_offers_are_frozen_and_hashable() -> None:
    offer = offer_for(V34, lapm=True)
    with pytest.raises(AttributeError):
        offer.lapm = False  # type: ignore[misc]
    assert hash(offer) == hash(offer_for(V34, lapm=True))


# -- round trips -----------------------------------------------------------------


def offer_from_bits(bits: int, *, lapm: bool) -> V8Offer:
    chosen = [m for i, m in enumerate(MODES) if bits >> i & 1]
    return V8Offer(
        modulations=frozenset(c for m in chosen for c in m.carriers),
        other_modes=frozenset(m.label for m in chosen if not m.carriers),
        lapm=lapm,
    )


@pytest.mark.parametrize("lapm", [False, True])
def test_every_subset_of_modes_round_trips(lapm: bool) -> None:
    seen: set[bytes] = set()
    for bits in range(1 << len(MODES)):
        offer = offer_from_bits(bits, lapm=lapm)
        message = build_cm(offer)
        assert len(message) == 4 + lapm
        assert parse_message(message) == offer
        seen.add(message)
    assert len(seen) == 1 << len(MODES)


@given(
    st.frozensets(st.sampled_from(CARRIERS)),
    st.booleans(),
    st.frozensets(st.sampled_from([name for name, _ in v8.PCM_AVAILABILITY])),
    st.frozensets(st.sampled_from([name for name, _ in v8.PSTN_ACCESS])),
    st.sampled_from(CallFunction),
)
def test_any_offer_parses_as_its_normal_form(
    carriers: frozenset[str],
    lapm: bool,
    pcm: frozenset[str],
    pstn: frozenset[str],
    call_function: CallFunction,
) -> None:
    offer = V8Offer(carriers, lapm, call_function, pcm=pcm, pstn_access=pstn)
    parsed = parse_message(build_cm(offer))
    assert parsed is not None
    assert parsed == offer.normalized()
    assert parsed.modulations == {
        c for m in MODES if not carriers.isdisjoint(m.carriers) for c in m.carriers
    }


@pytest.mark.parametrize("modn_octets", [1, 2, 3])
def test_modulation_octet_count_round_trips(modn_octets: int) -> None:
    offer = V8Offer(modulations=frozenset({"V34"}), modn_octets=modn_octets)
    message = build_cm(offer)
    assert message == H("C1 45 10 10")[: 1 + modn_octets]
    assert parse_message(message) == offer


# -- parsing what the line delivers ----------------------------------------------


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"", v8.EMPTY),
        (H("05 13 90 2A"), v8.NO_CALL_FUNCTION),
        (H("E0 C1 05 13 90 2A"), v8.NO_CALL_FUNCTION),  # sync left in
        (H("13 C1 05"), v8.NO_CALL_FUNCTION),
        (H("C1"), v8.NO_MODULATIONS),
        (H("C1 2A"), v8.NO_MODULATIONS),
        (H("C1 05 13 C1"), v8.REPEATED_CATEGORY),
        (H("C1 05 45"), v8.REPEATED_CATEGORY),
        (H("C1 05 2A 2A"), v8.REPEATED_CATEGORY),
        (H("C1 05 00 00 00"), v8.HOLDS_CJ),
    ],
)
def test_malformed_messages(message: bytes, reason: str) -> None:
    assert v8.decode(message) == reason
    assert parse_message(message) is None


def test_unknown_categories_and_extensions_are_skipped() -> None:
    """§1.3: unknown extensions are skipped; T.66 and NSF are not decoded."""
    base = parse_message(H("C1 05 13 90 2A"))
    assert base is not None
    # a fourth modulation octet, extensions after the call function and protocols,
    # T.66, NSF and an unassigned tag (0x1B)
    assert parse_message(H("C1 10 05 13 90 17 2A 10 0E 0F 1B 1B")) == base


def test_protocol_values() -> None:
    assert parse_message(H("C1 05 13 90 0A")) == parse_message(H("C1 05 13 90"))
    for value in range(8):
        parsed = parse_message(bytes((0xC1, 0x05, value << 5 | v8.TAG_PROTOCOLS)))
        assert parsed is not None
        assert parsed.lapm == (value == 1)


def test_modn0_alone_and_an_extension_ending_the_message() -> None:
    parsed = parse_message(H("C1 65"))
    assert parsed is not None
    assert parsed.modn_octets == 1
    assert parsed.modulations == {"V90", "V92", "V34"}
    parsed = parse_message(H("C1 05 12"))
    assert parsed is not None
    assert parsed.modn_octets == 2
    assert parsed.modulations == {"V22", "V22B"}


@given(st.binary(max_size=16))
def test_parse_never_raises_and_is_stable(data: bytes) -> None:
    parsed = parse_message(data)
    if parsed is not None:
        assert parse_message(build_cm(parsed)) == parsed


@given(
    st.lists(
        st.sampled_from(
            [
                0x01,
                0x05,
                0x07,
                0x0A,
                0x0D,
                0x0E,
                0x0F,
                0x10,
                0x13,
                0xC1,
                0x2A,
                0x90,
                0xD7,
                0x65,
                0x00,
                0xFF,
            ]
        ),
        max_size=12,
    )
)
def test_parse_never_raises_on_near_valid_input(octets: list[int]) -> None:
    data = bytes(octets)
    parsed = parse_message(data)
    assert (parsed is None) == isinstance(v8.decode(data), str)


# -- the joint menu and the pick -------------------------------------------------


def test_joint_menu_keeps_the_cms_octet_count() -> None:
    answerer = offer_for(V34, lapm=True)
    short = V8Offer(modulations=frozenset({"V34", "V90"}), lapm=True, modn_octets=1)
    assert build_jm(joint_menu(short, answerer)) == H("C1 45 2A")
    only_v34 = V8Offer(modulations=frozenset({"V34"}), lapm=True)
    assert build_jm(joint_menu(only_v34, offer_for(V32BIS, lapm=True))) == H("C1 05 10 10 2A")
    assert build_jm(joint_menu(only_v34, answerer)) == H("C1 45 10 10 2A")


def test_joint_menu_intersects_modes_and_protocols() -> None:
    cm = offer_for(V34, lapm=False)
    answerer = V8Offer(
        modulations=frozenset({"V90", "V34", "V22B", "V23C"}),
        other_modes=frozenset({"V.17"}),
        lapm=True,
        pstn_access=frozenset({"digital-network"}),
    )
    jm = joint_menu(cm, answerer)
    assert jm.modulations == {"V34", "V22", "V22B"}
    assert jm.other_modes == set()
    assert not jm.lapm
    assert jm.pstn_access == {"digital-network"}  # the answerer speaks for itself
    assert jm.call_function is CallFunction.DATA


def test_joint_menu_takes_the_cms_call_function() -> None:
    fax = V8Offer(modulations=frozenset({"V21"}), call_function=CallFunction.T30_TX)
    jm = joint_menu(fax, offer_for(V34, lapm=True))
    assert build_jm(jm) == H("81 05 10 90")
    assert highest_common_mode(jm) is None  # not a data call


@pytest.mark.parametrize(
    ("caller", "answerer", "mode"),
    [
        (offer_for(V34, lapm=True), offer_for(V32BIS, lapm=True), "V32B"),
        (offer_for(V32BIS, lapm=True), offer_for(V34, lapm=True), "V32B"),
        (offer_for(V34, lapm=True), offer_for(V34, lapm=False), "V34"),
        (offer_for(V90, lapm=True), offer_for(V90, lapm=True, digital=True), "V90"),
        (offer_for(V92, lapm=True), offer_for(V92, lapm=True, digital=True), "V90"),
        (offer_for(V90, lapm=True, digital=True), offer_for(V90, lapm=True), "V90"),
        (offer_for(V90, lapm=True), offer_for(V90, lapm=True), "V34"),  # two clients
        (offer_for(V90, lapm=True, digital=True), offer_for(V90, lapm=True, digital=True), "V34"),
        (offer_for(V90, lapm=True), offer_for(V34, lapm=True), "V34"),
        (offer_for(V34, lapm=True), offer_for(V90, lapm=True, digital=True), "V34"),
        (offer_for(V34, lapm=True), offer_for(V22BIS, lapm=False), "V22B"),
        (offer_for(("V22", "V21"), lapm=False), offer_for(V34, lapm=True), "V22B"),
        (offer_for((*V34, "V23C"), lapm=True), offer_for(("V23C", "V21"), lapm=False), "V23C"),
        (offer_for(V34, lapm=True), offer_for(V21_ONLY, lapm=False), "V21"),
        (offer_for(V34, lapm=True), offer_for(("B212", "B103"), lapm=False), None),
    ],
)
def test_highest_common_mode(caller: V8Offer, answerer: V8Offer, mode: str | None) -> None:
    jm = joint_menu(caller, answerer)
    assert highest_common_mode(jm) == mode
    # the caller reaches the same answer from the JM it receives
    received = parse_message(build_jm(jm))
    assert received is not None
    assert highest_common_mode(received) == mode


def test_pcm_needs_the_availability_octet() -> None:
    bare = V8Offer(modulations=frozenset({"V90", "V34"}), modn_octets=1)
    assert highest_common_mode(bare) == "V34"
    assert highest_common_mode(replace_pcm(bare, "digital")) == "V90"
    assert highest_common_mode(replace_pcm(bare, "v91")) == "V34"


def replace_pcm(offer: V8Offer, *names: str) -> V8Offer:
    return replace(offer, pcm=frozenset(names))


@pytest.mark.parametrize(
    ("caller", "answerer", "mode"),
    [
        ("usr-courier-v34", "zyxel-u1496e", "V32B"),
        ("usr-sportster-56k", "rockwell-rc288", "V34"),
        ("conexant-v92", "usr-sportster-56k", "V34"),
        ("hayes-smartmodem-2400", "usr-courier-v34", "V22B"),
        ("hayes-smartmodem-1200", "usr-courier-v34", None),
    ],
)
def test_shipped_profiles(caller: str, answerer: str, mode: str | None) -> None:
    cm = offer_from_profile(load_profile(caller))
    assert highest_common_mode(joint_menu(cm, offer_from_profile(load_profile(answerer)))) == mode


offers = st.builds(
    V8Offer,
    modulations=st.frozensets(st.sampled_from(CARRIERS)),
    lapm=st.booleans(),
    pcm=st.frozensets(st.sampled_from([name for name, _ in v8.PCM_AVAILABILITY])),
)


@given(offers, offers, st.sampled_from([1, 2, 3]))
def test_joint_menu_properties(cm: V8Offer, answerer: V8Offer, modn_octets: int) -> None:
    needed = max((i + 1 for i, m in enumerate(cm.masks) if m), default=1)
    cm = replace(cm, modn_octets=max(needed, modn_octets))
    jm = joint_menu(cm, answerer)
    assert jm.modn_octets == cm.modn_octets
    assert len(build_jm(jm)) - jm.lapm - bool(jm.pcm) == 1 + cm.modn_octets
    assert jm.modulations <= cm.normalized().modulations
    assert jm.modulations <= answerer.normalized().modulations
    assert jm.lapm == (cm.lapm and answerer.lapm)
    mode = highest_common_mode(jm)
    assert mode is None or mode in jm.modulations
    if mode == "V90":
        assert {"V90", "V92"} & cm.modulations and {"V90", "V92"} & answerer.modulations
        assert ("analog" in cm.pcm and "digital" in answerer.pcm) or (
            "digital" in cm.pcm and "analog" in answerer.pcm
        )


# -- the receiver ----------------------------------------------------------------

JM = H("C1 05 13 90 2A")
CM = H("C1 65 13 90 2A 27")


def test_receiver_accepts_on_the_second_identical_copy() -> None:
    rx = V8Receiver()
    assert rx.feed(JM, 3.7) is None
    offer = rx.feed(JM, 3.9)
    assert offer == parse_message(JM)
    assert (rx.accepted, rx.accepted_at) == (offer, 3.9)
    assert rx.feed(JM, 4.1) is None  # a third copy adds nothing
    assert rx.malformed == 0
    assert rx.next_event() is None


def test_receiver_resets_on_a_different_message() -> None:
    rx = V8Receiver()
    assert rx.feed(JM, 0.0) is None
    assert rx.feed(CM, 0.2) is None
    assert rx.feed(JM, 0.4) is None
    assert rx.feed(JM, 0.6) == parse_message(JM)


def test_receiver_compares_octets_not_meaning() -> None:
    """spandsp compares raw copies: a protocol-none octet makes a different message."""
    rx = V8Receiver()
    assert rx.feed(H("C1 05 13 90"), 0.0) is None
    assert rx.feed(H("C1 05 13 90 0A"), 0.2) is None
    assert rx.feed(H("C1 05 13 90 0A"), 0.4) is not None


def test_receiver_counts_malformed_messages_and_reports_them() -> None:
    rx = V8Receiver()
    assert rx.feed(JM, 0.0) is None
    assert rx.feed(H("05 13"), 0.2) is None  # breaks the pair
    assert rx.feed(b"", 0.3) is None
    assert rx.feed(JM, 0.4) is None
    assert rx.feed(JM, 0.6) is not None
    assert rx.malformed == 2
    first, second = rx.next_event(), rx.next_event()
    assert first == V8Malformed(v8.NO_CALL_FUNCTION, 1)
    assert second == V8Malformed(v8.EMPTY, 2)
    assert isinstance(first, Event)
    assert rx.next_event() is None


def test_receiver_notes_cj() -> None:
    rx = V8Receiver()
    assert rx.feed(CM, 0.0) is None
    assert rx.feed(v8.CJ, 0.2) is None
    assert rx.cj_seen
    assert rx.malformed == 0
    assert rx.feed(CM, 0.4) is None  # CJ broke the pair
    rx.reset()
    assert not rx.cj_seen


def test_receiver_refuses_time_going_backwards() -> None:
    rx = V8Receiver()
    rx.feed(JM, 1.0)
    with pytest.raises(ValueError, match="backwards"):
        rx.feed(JM, 0.5)


@given(st.lists(st.binary(max_size=10), max_size=20))
def test_receiver_never_raises_on_line_noise(messages: list[bytes]) -> None:
    rx = V8Receiver()
    bad = 0
    for now, message in enumerate(messages):
        rx.feed(message, float(now))
        bad += parse_message(message) is None and not v8.is_cj(message)
    assert rx.malformed == bad
    counts = []
    while (event := rx.next_event()) is not None:
        counts.append(event.count)
    assert counts == list(range(1, bad + 1))


@given(st.lists(st.sampled_from([JM, CM, H("C1"), v8.CJ]), max_size=12))
def test_receiver_accepts_exactly_at_each_second_copy(messages: list[bytes]) -> None:
    rx = V8Receiver()
    run = 0
    previous: bytes | None = None
    for now, message in enumerate(messages):
        good = parse_message(message) is not None
        run = run + 1 if good and message == previous else (1 if good else 0)
        previous = message if good else None
        result = rx.feed(message, float(now))
        assert (result is not None) == (run == 2)


def test_exhaustive_pairs_of_two_octet_messages() -> None:
    """Every short message pair: a second copy is accepted iff the message parses."""
    for a, b in combinations(range(256), 2):
        message = bytes((a, b))
        rx = V8Receiver()
        rx.feed(message, 0.0)
        assert (rx.feed(message, 0.1) is not None) == (parse_message(message) is not None)
