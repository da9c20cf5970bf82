"""Telnet codec: negotiation, NVT and binary data, split-proofness, malformed input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from modememu.line import telnet as tn
from modememu.line.telnet import (
    BINARY,
    DO,
    DONT,
    ECHO,
    IAC,
    NAWS,
    SB,
    SE,
    SGA,
    TTYPE,
    WILL,
    WONT,
    OptionChanged,
    OptionRefused,
    TelnetCodec,
    TelnetEvent,
    TelnetMalformed,
)


def cmd(*octets: int) -> bytes:
    return bytes([IAC, *octets])


def events(codec: TelnetCodec) -> list[TelnetEvent]:
    out: list[TelnetEvent] = []
    while (event := codec.next_event()) is not None:
        out.append(event)
    return out


def binary_codec() -> TelnetCodec:
    """A codec whose host agreed to BINARY both ways."""
    codec = TelnetCodec()
    codec.start()
    codec.net_to_send()
    codec.receive_net(cmd(WILL, BINARY) + cmd(DO, BINARY))
    assert codec.net_to_send() == b""
    events(codec)
    return codec


# -- negotiation ------------------------------------------------------------------


def test_start_asks_for_binary_and_sga() -> None:
    codec = TelnetCodec()
    codec.start()
    assert codec.net_to_send() == (
        cmd(WILL, BINARY) + cmd(DO, BINARY) + cmd(DO, SGA) + cmd(WILL, SGA)
    )
    assert codec.net_to_send() == b""  # drained
    codec.start()  # asking again while the request is pending sends nothing
    assert codec.net_to_send() == b""
    assert not codec.binary_receive
    assert not codec.binary_send


def test_start_without_binary_asks_only_for_sga() -> None:
    codec = TelnetCodec(binary=False)
    codec.start()
    assert codec.net_to_send() == cmd(DO, SGA) + cmd(WILL, SGA)


def test_binary_both_ways_agreed() -> None:
    codec = TelnetCodec()
    codec.start()
    codec.net_to_send()
    assert codec.receive_net(cmd(WILL, BINARY) + b"x" + cmd(DO, BINARY)) == b"x"
    assert codec.net_to_send() == b""  # answers to our requests need no reply
    assert codec.binary_receive
    assert codec.binary_send
    assert events(codec) == [
        OptionChanged(BINARY, "remote", True),
        OptionChanged(BINARY, "local", True),
    ]


def test_host_refuses_binary() -> None:
    codec = TelnetCodec()
    codec.start()
    codec.net_to_send()
    codec.receive_net(cmd(WONT, BINARY) + cmd(DONT, BINARY))
    assert codec.net_to_send() == b""
    assert not codec.binary_receive
    assert not codec.binary_send
    assert events(codec) == [OptionRefused(BINARY, "remote"), OptionRefused(BINARY, "local")]


def test_binary_false_refuses_binary() -> None:
    codec = TelnetCodec(binary=False)
    codec.receive_net(cmd(DO, BINARY) + cmd(WILL, BINARY))
    assert codec.net_to_send() == cmd(WONT, BINARY) + cmd(DONT, BINARY)
    assert not codec.binary_send
    assert not codec.binary_receive
    assert events(codec) == []


def test_host_offering_binary_unasked_is_accepted() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(WILL, BINARY))
    assert codec.net_to_send() == cmd(DO, BINARY)
    assert codec.binary_receive
    assert not codec.binary_send


def test_will_echo_gets_do_echo() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(WILL, ECHO))
    assert codec.net_to_send() == cmd(DO, ECHO)
    assert codec.is_enabled(ECHO, "remote")
    assert events(codec) == [OptionChanged(ECHO, "remote", True)]


def test_we_refuse_to_echo() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(DO, ECHO))
    assert codec.net_to_send() == cmd(WONT, ECHO)
    assert not codec.is_enabled(ECHO, "local")


def test_sga_offered_by_host_is_accepted() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(WILL, SGA) + cmd(DO, SGA))
    assert codec.net_to_send() == cmd(DO, SGA) + cmd(WILL, SGA)
    assert codec.is_enabled(SGA, "remote")
    assert codec.is_enabled(SGA, "local")


def test_terminal_type() -> None:
    codec = TelnetCodec(terminal_type="VT100")
    codec.receive_net(cmd(DO, TTYPE))
    assert codec.net_to_send() == cmd(WILL, TTYPE)
    codec.receive_net(cmd(SB, TTYPE, tn.TTYPE_SEND, IAC, SE))
    assert codec.net_to_send() == cmd(SB, TTYPE, tn.TTYPE_IS) + b"VT100" + cmd(SE)
    codec.receive_net(cmd(SB, TTYPE, tn.TTYPE_SEND, IAC, SE))  # asked again: same answer
    assert codec.net_to_send() == cmd(SB, TTYPE, tn.TTYPE_IS) + b"VT100" + cmd(SE)
    assert codec.stats.subnegotiations == 2


def test_default_terminal_type_is_ansi() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(DO, TTYPE) + cmd(SB, TTYPE, tn.TTYPE_SEND, IAC, SE))
    assert codec.net_to_send() == cmd(WILL, TTYPE) + cmd(SB, TTYPE, tn.TTYPE_IS) + b"ANSI" + cmd(SE)


def test_terminal_type_send_without_do_is_ignored() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(SB, TTYPE, tn.TTYPE_SEND, IAC, SE))
    assert codec.net_to_send() == b""


def test_bad_terminal_type_is_rejected() -> None:
    for bad in ("", "x" * 41, "VT\xff", "A\r"):
        try:
            TelnetCodec(terminal_type=bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")


def test_unknown_options_are_refused() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(WILL, NAWS) + cmd(DO, NAWS) + cmd(WILL, 200) + cmd(DO, tn.LINEMODE))
    assert codec.net_to_send() == (
        cmd(DONT, NAWS) + cmd(WONT, NAWS) + cmd(DONT, 200) + cmd(WONT, tn.LINEMODE)
    )
    assert events(codec) == []
    assert not codec.is_enabled(NAWS, "local")


def test_confirmations_get_no_reply() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(WILL, ECHO))
    assert codec.net_to_send() == cmd(DO, ECHO)
    events(codec)
    # The host repeats itself; WONT/DONT for options already off confirm nothing new.
    codec.receive_net(cmd(WILL, ECHO) + cmd(WONT, NAWS) + cmd(DONT, NAWS) + cmd(DONT, ECHO))
    assert codec.net_to_send() == b""
    assert events(codec) == []


def test_two_codecs_settle() -> None:
    """Our replies fed to another codec (and back) die out: no negotiation loop."""
    a, b = TelnetCodec(), TelnetCodec(binary=False)
    a.start()
    b.start()
    for _ in range(10):
        b.receive_net(a.net_to_send())
        a.receive_net(b.net_to_send())
    assert a.net_to_send() == b""
    assert b.net_to_send() == b""
    assert a.is_enabled(SGA, "local")
    assert a.is_enabled(SGA, "remote")
    assert not a.binary_send
    assert not a.binary_receive


def test_host_turns_option_off() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(WILL, ECHO))
    codec.net_to_send()
    events(codec)
    codec.receive_net(cmd(WONT, ECHO))
    assert codec.net_to_send() == cmd(DONT, ECHO)  # acknowledged once
    assert not codec.is_enabled(ECHO, "remote")
    assert events(codec) == [OptionChanged(ECHO, "remote", False)]
    codec.receive_net(cmd(WONT, ECHO))
    assert codec.net_to_send() == b""


def test_binary_off_again_returns_to_nvt() -> None:
    codec = binary_codec()
    assert codec.receive_net(b"a\r\0b") == b"a\r\0b"
    codec.receive_net(cmd(WONT, BINARY) + cmd(DONT, BINARY))
    assert codec.net_to_send() == cmd(DONT, BINARY) + cmd(WONT, BINARY)
    assert codec.receive_net(b"a\r\0b") == b"a\rb"
    assert codec.send_dte(b"a\rb") == b"a\r\0b"


# -- data -------------------------------------------------------------------------


def test_iac_iac_received_is_one_ff() -> None:
    codec = TelnetCodec()
    assert codec.receive_net(b"a\xff\xffb\xff\xff\xff\xff") == b"a\xffb\xff\xff"
    assert codec.net_to_send() == b""


def test_ff_sent_is_doubled() -> None:
    codec = TelnetCodec()
    assert codec.send_dte(b"a\xffb\xff\xff") == b"a\xff\xffb\xff\xff\xff\xff"
    codec = binary_codec()
    assert codec.send_dte(b"\xff") == b"\xff\xff"


def test_commands_are_consumed() -> None:
    codec = TelnetCodec()
    data = b"a" + cmd(tn.NOP) + b"b" + cmd(tn.GA) + cmd(tn.DM) + cmd(tn.AYT) + b"c"
    assert codec.receive_net(data) == b"abc"
    assert codec.stats.commands == 4
    assert codec.net_to_send() == b""
    assert events(codec) == []


def test_nvt_receive_line_endings() -> None:
    codec = TelnetCodec()
    assert codec.receive_net(b"a\r\0b\r\nc\r\0\0d") == b"a\rb\r\nc\r\0d"


def test_nvt_receive_cr_at_chunk_end() -> None:
    codec = TelnetCodec()
    assert codec.receive_net(b"a\r") == b"a\r"  # handed on at once
    assert codec.receive_net(b"\0b") == b"b"  # its NUL still dropped
    assert codec.receive_net(b"\r") == b"\r"
    assert codec.receive_net(b"\n") == b"\n"
    assert codec.receive_net(b"\r") == b"\r"
    assert codec.receive_net(cmd(tn.NOP)) == b""  # a command does not end the wait
    assert codec.receive_net(b"\0") == b""
    assert codec.receive_net(b"\0") == b"\0"  # a NUL not after CR is data


def test_binary_receive_is_untouched() -> None:
    codec = binary_codec()
    data = bytes(range(255)) + b"\r\0\r\n\r"
    assert codec.receive_net(data) is data  # the fast path: no copy at all
    assert codec.receive_net(b"\0") == b"\0"


def test_plain_chunk_passes_without_copy_in_nvt() -> None:
    codec = TelnetCodec()
    data = b"hello, world\r\n" * 100
    assert codec.receive_net(data) is data


def test_nvt_send_line_endings() -> None:
    codec = TelnetCodec()
    assert codec.send_dte(b"a\rb\r\nc\r\r\n\r\xff") == b"a\r\0b\r\nc\r\0\r\n\r\0\xff\xff"


def test_nvt_send_cr_at_chunk_end() -> None:
    codec = TelnetCodec()
    assert codec.send_dte(b"ls\r") == b"ls\r"  # sent at once, the NUL waits
    assert codec.send_dte(b"\n") == b"\n"  # CR LF after all
    assert codec.send_dte(b"\r") == b"\r"
    assert codec.send_dte(b"x") == b"\0x"  # not LF: the NUL goes first
    assert codec.send_dte(b"\r") == b"\r"
    assert codec.send_dte(b"") == b""  # nothing decided yet
    assert codec.send_dte(b"\r") == b"\0\r"


def test_binary_send_is_untouched() -> None:
    codec = binary_codec()
    assert codec.send_dte(b"a\rb\r") == b"a\rb\r"
    assert codec.send_dte(b"c") == b"c"


# -- malformed input --------------------------------------------------------------


def test_overlong_subnegotiation_is_dropped() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(DO, TTYPE))
    codec.net_to_send()
    long_sb = cmd(SB, TTYPE, tn.TTYPE_SEND) + b"x" * tn.MAX_SUBNEGOTIATION + cmd(SE)
    assert codec.receive_net(long_sb + b"after") == b"after"
    assert codec.net_to_send() == b""  # not answered
    assert codec.stats.malformed == {tn.OVERLONG_SB: 1}
    assert codec.stats.subnegotiations == 0
    assert events(codec)[-1] == TelnetMalformed(tn.OVERLONG_SB, 1)
    codec.receive_net(long_sb)
    assert events(codec) == [TelnetMalformed(tn.OVERLONG_SB, 2)]


def test_longest_subnegotiation_is_kept() -> None:
    codec = TelnetCodec()
    body = bytes([NAWS]) + b"y" * (tn.MAX_SUBNEGOTIATION - 1)
    codec.receive_net(cmd(SB) + body + cmd(SE))
    assert codec.stats.subnegotiations == 1
    assert codec.stats.malformed_total == 0


def test_unknown_command_is_counted() -> None:
    codec = TelnetCodec()
    assert codec.receive_net(b"a" + cmd(0x41) + b"b" + cmd(0x00) + b"c") == b"abc"
    assert codec.stats.malformed == {tn.UNKNOWN_COMMAND: 2}
    assert events(codec) == [
        TelnetMalformed(tn.UNKNOWN_COMMAND, 1),
        TelnetMalformed(tn.UNKNOWN_COMMAND, 2),
    ]


def test_stray_se_and_empty_subnegotiation() -> None:
    codec = TelnetCodec()
    assert codec.receive_net(b"a" + cmd(SE) + cmd(SB, IAC, SE) + b"b") == b"ab"
    assert events(codec) == [TelnetMalformed(tn.STRAY_SE, 1), TelnetMalformed(tn.EMPTY_SB, 1)]
    assert codec.stats.malformed_total == 2


def test_subnegotiation_without_se() -> None:
    codec = TelnetCodec()
    codec.receive_net(cmd(DO, TTYPE))
    codec.net_to_send()
    # Unended at the end of the input: held, swallowing data, no error yet.
    assert codec.receive_net(cmd(SB, TTYPE, tn.TTYPE_SEND) + b"text") == b""
    assert events(codec) == [OptionChanged(TTYPE, "local", True)]
    # Another command ends it: the subnegotiation is dropped, the command obeyed.
    assert codec.receive_net(cmd(WILL, ECHO) + b"more") == b"more"
    assert codec.net_to_send() == cmd(DO, ECHO)  # no terminal type sent
    assert events(codec) == [
        TelnetMalformed(tn.UNTERMINATED_SB, 1),
        OptionChanged(ECHO, "remote", True),
    ]


def test_iac_at_end_of_input_waits() -> None:
    codec = TelnetCodec()
    assert codec.receive_net(b"a\xff") == b"a"
    assert codec.receive_net(b"\xff") == b"\xff"
    assert codec.receive_net(bytes([IAC, WILL])) == b""
    assert codec.receive_net(bytes([ECHO])) == b""
    assert codec.net_to_send() == cmd(DO, ECHO)


# -- split-proofness --------------------------------------------------------------

OPTIONS = st.sampled_from([BINARY, ECHO, SGA, TTYPE, NAWS, 200])
SPECIAL = st.sampled_from([0x00, 0x0A, 0x0D, 0xF0, 0xF1, 0xFA, 0xFB, 0xFD, 0xFF])
TOKENS = st.one_of(
    st.binary(max_size=12),
    st.lists(SPECIAL, max_size=4).map(bytes),
    st.sampled_from([b"\r\0", b"\r\n", b"\r", b"\xff\xff", cmd(tn.NOP), cmd(tn.GA)]),
    st.tuples(st.sampled_from([WILL, WONT, DO, DONT]), OPTIONS).map(lambda t: cmd(*t)),
    st.just(cmd(SB, TTYPE, tn.TTYPE_SEND, IAC, SE)),
    st.binary(max_size=300).map(lambda b: cmd(SB, NAWS) + b.replace(b"\xff", b"\xff\xff")),
    st.sampled_from([cmd(SE), cmd(0x41), cmd(SB), cmd(SB, IAC, SE)]),
)
STREAMS = st.lists(TOKENS, max_size=40).map(b"".join)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({p % (len(data) + 1) for p in points})
    return [data[a:b] for a, b in zip([0, *bounds], [*bounds, len(data)], strict=True)]


def feed(
    codec: TelnetCodec, chunks: list[bytes]
) -> tuple[bytes, bytes, list[TelnetEvent], bool, bool]:
    out = bytearray()
    net = bytearray()
    for chunk in chunks:
        out += codec.receive_net(chunk)
        net += codec.net_to_send()
    return bytes(out), bytes(net), events(codec), codec.binary_receive, codec.binary_send


def fresh(binary: bool) -> TelnetCodec:
    codec = TelnetCodec(binary=binary)
    codec.start()
    codec.net_to_send()
    return codec


@settings(max_examples=400)
@given(STREAMS, st.lists(st.integers(min_value=0), max_size=20), st.booleans())
def test_receive_is_split_proof(data: bytes, points: list[int], binary: bool) -> None:
    whole = feed(fresh(binary), [data])
    assert feed(fresh(binary), cut(data, points)) == whole
    assert feed(fresh(binary), [data[i : i + 1] for i in range(len(data))]) == whole


def send_all(codec: TelnetCodec, chunks: list[bytes]) -> bytes:
    return b"".join(codec.send_dte(chunk) for chunk in chunks)


def slow_nvt_send(data: bytes) -> bytes:
    """RFC 854 by the octet: IAC doubled, a CR not before LF gets a NUL."""
    out = bytearray()
    for i, octet in enumerate(data):
        out.append(octet)
        if octet == IAC:
            out.append(IAC)
        elif octet == 0x0D and data[i + 1 : i + 2] != b"\n" and i + 1 < len(data):
            out.append(0)
    return bytes(out)


@settings(max_examples=400)
@given(
    st.lists(st.sampled_from(b"\r\n\0\xffa"), max_size=60).map(bytes) | st.binary(max_size=80),
    st.lists(st.integers(min_value=0), max_size=20),
)
def test_send_is_split_proof(data: bytes, points: list[int]) -> None:
    whole = send_all(TelnetCodec(), [data])
    assert whole == slow_nvt_send(data)
    assert send_all(TelnetCodec(), cut(data, points)) == whole
    assert send_all(TelnetCodec(), [data[i : i + 1] for i in range(len(data))]) == whole
    assert send_all(binary_codec(), cut(data, points)) == data.replace(b"\xff", b"\xff\xff")


def slow_nvt_receive(data: bytes) -> tuple[bytes, int]:
    """Data out of a stream by the octet, for a codec that stays in NVT mode.

    Returns the data and the number of malformed sequences.
    """
    out = bytearray()
    bad = 0
    after_cr = False
    i = 0
    sub: int | None = None  # octets of a subnegotiation in progress
    while i < len(data):
        octet = data[i]
        i += 1
        if sub is not None:
            if octet != IAC:
                sub += 1
                continue
            if i == len(data):
                break
            nxt = data[i]
            i += 1
            if nxt == IAC:
                sub += 1
                continue
            if nxt == SE:
                bad += sub == 0 or sub > tn.MAX_SUBNEGOTIATION
                sub = None
                continue
            bad += 1 + (sub > tn.MAX_SUBNEGOTIATION)
            sub = None
            octet = IAC
            i -= 1  # treat nxt as the command after IAC
        if octet != IAC:
            if not (after_cr and octet == 0):
                out.append(octet)
            after_cr = octet == 0x0D
            continue
        if i == len(data):
            break
        command = data[i]
        i += 1
        if command == IAC:
            out.append(IAC)
            after_cr = False
        elif WILL <= command <= DONT:
            i += 1
        elif command == SB:
            sub = 0
        elif command <= SE:
            bad += 1
    if sub is not None and sub > tn.MAX_SUBNEGOTIATION:
        bad += 1
    return bytes(out), bad


@settings(max_examples=400)
@given(STREAMS | st.binary(max_size=200))
def test_receive_matches_a_slow_reference(data: bytes) -> None:
    codec = TelnetCodec(binary=False)  # never leaves NVT mode: BINARY is refused
    out = codec.receive_net(data)
    assert (out, codec.stats.malformed_total) == slow_nvt_receive(data)
    assert not codec.binary_receive
