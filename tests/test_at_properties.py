"""Property tests: no byte stream breaks the command reader or the engine."""

from __future__ import annotations

from dte import Dte
from hypothesis import given, settings
from hypothesis import strategies as st

from modememu.modem.events import ResultCode
from modememu.profiles import load_profile

LIMIT = load_profile("usr-courier-v34").line_limit


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=8))
def test_any_bytes_never_raise_and_the_buffer_stays_bounded(chunks: list[bytes]) -> None:
    dte = Dte()
    for chunk in chunks:
        dte.send(chunk)
        assert dte.modem.reader.buffered <= LIMIT
        dte.clock.advance(60)  # let any dial or answer attempt finish


# Bodies that neither start a call nor change S3 or the line limit.
BODY = st.text(alphabet="EQVXIZHLMN&FCKW0123456789+?=;,\"GMIR ", max_size=LIMIT)
JUNK = st.binary(max_size=20).filter(lambda b: all(c & 0x7F not in (0x41, 0x61, 0x0D) for c in b))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(JUNK, st.sampled_from(["AT", "at"]), BODY), min_size=1, max_size=10))
def test_each_terminated_line_yields_exactly_one_final_result(
    lines: list[tuple[bytes, str, str]],
) -> None:
    dte = Dte()
    for junk, prefix, body in lines:
        before = len(dte.of_type(ResultCode))
        dte.send(junk + (prefix + body).encode() + b"\r")
        assert len(dte.of_type(ResultCode)) == before + 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="XLMN&CK0123456789= ", max_size=30), max_size=10))
def test_under_q1_no_result_is_sent(bodies: list[str]) -> None:
    dte = Dte()
    dte.at("ATE0Q1")
    for body in bodies:
        assert dte.at("AT" + body) == ""
    assert len(dte.of_type(ResultCode)) == len(bodies) + 1
