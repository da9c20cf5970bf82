"""Dial strings: numbers and their dialing time, TCP hosts, and the one-line refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modememu.modem.dialstring import (
    DialPlan,
    DialStringError,
    parse_dialstring,
    parse_host,
)

S8, S11 = 2, 95  # the usual defaults: 2 s comma pause, 95 ms DTMF


def plan(text: str, *, tone: bool = True, s8: int = S8, s11: int = S11) -> DialPlan:
    return parse_dialstring(text, tone=tone, s8=s8, s11=s11)


# text -> (number, host, wait_dialtone, wait_quiet, flash)
EXAMPLES: dict[str, tuple[str, tuple[str, int] | None, bool, bool, bool]] = {
    "5550102": ("5550102", None, False, False, False),
    "555-0102": ("5550102", None, False, False, False),
    "(555)0102": ("5550102", None, False, False, False),
    "555.0102": ("5550102", None, False, False, False),
    "555/0102": ("5550102", None, False, False, False),
    "1.800.555.0102": ("18005550102", None, False, False, False),  # not an IPv4 address
    "9,5550102": ("95550102", None, False, False, False),
    "9W5550102": ("95550102", None, True, False, False),
    "5550102@": ("5550102", None, False, True, False),
    "!5550102": ("5550102", None, False, False, True),
    "R5550102": ("5550102", None, False, False, False),
    "*70,#5B": ("*70#5B", None, False, False, False),
    "": ("", None, False, False, False),
    ",,": ("", None, False, False, False),
    '"bbs.example.com:23"': ("", ("bbs.example.com", 23), False, False, False),
    '"BBS.Example.com"': ("", ("bbs.example.com", 23), False, False, False),
    '" bbs.example.com:23 "': ("", ("bbs.example.com", 23), False, False, False),
    '"[::1]:2323"': ("", ("::1", 2323), False, False, False),
    "BBS.EXAMPLE.COM:6400": ("", ("bbs.example.com", 6400), False, False, False),
    "BBS.EXAMPLE.COM": ("", ("bbs.example.com", 23), False, False, False),
    "127.0.0.1:6400": ("", ("127.0.0.1", 6400), False, False, False),
    "127.0.0.1": ("", ("127.0.0.1", 23), False, False, False),
    "LOCALHOST:6400": ("", ("localhost", 6400), False, False, False),
    "LOCALHOST": ("", ("localhost", 23), False, False, False),
    "RIME.BBS:23": ("", ("rime.bbs", 23), False, False, False),
    "[::1]:23": ("", ("::1", 23), False, False, False),
    "[::1]": ("", ("::1", 23), False, False, False),
    "[FE80::0001]:23": ("", ("fe80::1", 23), False, False, False),
    "bbs.example.com:23": ("", ("bbs.example.com", 23), False, False, False),
}


@pytest.mark.parametrize("text", list(EXAMPLES))
def test_examples(text: str) -> None:
    number, host, wait_dialtone, wait_quiet, flash = EXAMPLES[text]
    got = plan(text)
    assert (got.number, got.host, got.wait_dialtone, got.wait_quiet, got.flash) == (
        number,
        host,
        wait_dialtone,
        wait_quiet,
        flash,
    )
    if host is not None:
        assert got.dial_seconds == 0.0


@pytest.mark.parametrize(
    ("text", "tone", "seconds"),
    [
        ("5550102", True, 7 * 0.190),  # 7 digits, 95 ms tone + 95 ms gap each
        ("5550102", False, 8.7),  # pulses 5+5+5+10+1+10+2 = 38 -> 3.8 s, + 7 x 0.7 s
        ("0", False, 1.7),  # 0 is ten pulses
        ("1", False, 0.8),
        ("9,5550102", True, 2 + 8 * 0.190),
        ("9,,5", False, 1.6 + 4 + 1.2),
        ("P9T555", True, 1.6 + 3 * 0.190),  # modes switch mid-string
        ("T9P5", False, 0.19 + 1.2),
        ("!5", True, 0.5 + 0.19),
        ("W5@", True, 0.19),  # waits happen on the line, not while dialing
        ("*#AB", True, 4 * 0.190),
        ("*#AB5", False, 1.2),  # no pulse for * # A-D: skipped
        ("", True, 0.0),
    ],
)
def test_dial_seconds(text: str, tone: bool, seconds: float) -> None:
    assert plan(text, tone=tone).dial_seconds == pytest.approx(seconds, abs=1e-9)


def test_dial_seconds_are_exact() -> None:
    assert plan("5550102").dial_seconds == 1.33
    assert plan("5550102", tone=False).dial_seconds == 8.7
    assert plan("9,5550102", s8=3, s11=50).dial_seconds == 3.8
    assert plan("1", s11=255).dial_seconds == 0.51


def test_pulse_mode_skips_what_it_cannot_dial() -> None:
    assert plan("*70#5550102", tone=False).number == "705550102"
    assert plan("P*T*").number == "*"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"bbs.example.com:23', "unterminated quote in dial string"),
        ('"a""b"', "more than one quoted part in dial string"),
        (
            '9,"bbs.example.com"',
            "text outside the quoted host in dial string '9,\"bbs.example.com\"'",
        ),
        ('""', "empty host name"),
        ('"bbs.example.com:0"', "port must be 1..65535 (got '0')"),
        ("BBS.EXAMPLE.COM:65536", "port must be 1..65535 (got '65536')"),
        ("BBS.EXAMPLE.COM:23X", "port must be 1..65535 (got '23X')"),
        ("BBS.EXAMPLE.COM:9999999999", "port must be 1..65535 (got '9999999999')"),
        ("BBS.EXAMPLE.COM:", "missing port after ':' in 'BBS.EXAMPLE.COM:'"),
        (":23", "empty host name"),
        ('"bbs_x.example.com"', "bad character '_' in host name 'bbs_x.example.com'"),
        ("HELLO$", "bad character '$' in host name 'HELLO$'"),
        ('"bbs\nx"', "bad character '\\n' in host name 'bbs\\nx'"),
        ("::1", "an IPv6 address needs brackets ([addr]:port): '::1'"),
        ("[::1", "unclosed '[' in host '[::1'"),
        ("[::1]23", "unexpected '23' after ']' in host '[::1]23'"),
        ("[NOPE]:23", "not an IPv6 address: 'NOPE'"),
        ('"' + "a" * 254 + '"', "host name longer than 253 characters"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(DialStringError) as info:
        plan(text)
    assert str(info.value) == message


def test_parse_host_can_require_a_port() -> None:
    assert parse_host("bbs.example.com:6400", default_port=None) == ("bbs.example.com", 6400)
    assert parse_host("bbs.example.com", default_port=2323) == ("bbs.example.com", 2323)
    with pytest.raises(DialStringError, match=r"^expected host:port, got 'bbs'$"):
        parse_host("bbs", default_port=None)


@given(st.text())
def test_any_text_plans_or_fails_in_one_line(text: str) -> None:
    check(text)


@given(st.text(alphabet='0123456789ABCDPTWRXYZ*#,;@!:."[]()-/ \n$', max_size=30))
def test_dial_alphabet_plans_or_fails_in_one_line(text: str) -> None:
    check(text)


def check(text: str) -> None:
    try:
        got = parse_dialstring(text, tone=True, s8=S8, s11=S11)
    except DialStringError as exc:
        assert len(str(exc).splitlines()) == 1
        return
    assert set(got.number) <= set("0123456789*#ABCD")
    if got.host is None:
        assert got.dial_seconds >= 0
    else:
        name, port = got.host
        assert name == name.lower()
        assert 1 <= port <= 65535
        assert got.number == ""
        assert got.dial_seconds == 0.0
