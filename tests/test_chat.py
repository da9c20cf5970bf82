"""The chat(8) engine alone, on virtual time: matching, ABORT codes, timeouts, escapes."""

from __future__ import annotations

import pytest

from modememu.agents.chat import (
    CHAT_ABORT_BASE,
    CHAT_OK,
    CHAT_TIMEOUT,
    DEFAULT_TIMEOUT,
    MAX_BUFFER,
    Chat,
    ChatAborted,
    ChatBreak,
    ChatEvent,
    ChatExpect,
    ChatGot,
    ChatResult,
    ChatSay,
    ChatScript,
    ChatScriptError,
    ChatSent,
    ChatTimeout,
    visible,
)

DIAL = [
    "ABORT",
    "BUSY",
    "ABORT",
    "NO CARRIER",
    "TIMEOUT",
    "45",
    "",
    "ATZ",
    "OK",
    "ATDT5550100",
    "CONNECT",
    "",
]


def events(chat: Chat) -> list[ChatEvent]:
    out = []
    while (event := chat.next_event()) is not None:
        out.append(event)
    return out


def outcome(chat: Chat) -> ChatResult | None:
    """The result, read through a call so that type checkers do not keep an old narrowing."""
    return chat.result


def dialed(script: list[str] = DIAL, now: float = 0.0) -> Chat:
    """A chat that has sent ATZ, got OK, and sent the dial command."""
    chat = Chat(script)
    chat.start(now)
    assert chat.data_to_send() == b"ATZ\r"
    chat.receive_data(b"ATZ\r\r\nOK\r\n", now)
    assert chat.data_to_send() == b"ATDT5550100\r"
    return chat


def test_the_dial_script_runs_to_the_end() -> None:
    chat = dialed()
    chat.receive_data(b"ATDT5550100\r\r\nCONNECT 33600/ARQ\r\n", 20.0)
    assert chat.result is not None
    assert (chat.result.code, chat.result.ok) == (CHAT_OK, True)
    assert chat.matched == "CONNECT"
    assert chat.data_to_send() == b"\r"  # the final '' send is a bare CR, as chat's
    assert chat.get_timer() is None
    assert events(chat) == [
        ChatExpect(""),
        ChatGot(""),
        ChatSent("ATZ^M"),
        ChatExpect("OK"),
        ChatGot("ATZ^M^M^JOK"),
        ChatSent("ATDT5550100^M"),
        ChatExpect("CONNECT"),
        ChatGot("^M^JATDT5550100^M^M^JCONNECT"),
        ChatSent("^M"),
    ]


def test_leftover_is_everything_after_the_final_match() -> None:
    chat = dialed()
    line = b"\r\nCONNECT 33600/ARQ\r\n"
    ppp = b"\x7e\xff\x7d\x23\xc0\x21\x7e"
    chat.receive_data(line + ppp, 20.0)
    assert chat.leftover() == b" 33600/ARQ\r\n" + ppp
    assert chat.leftover() == b""  # taken once
    chat.receive_data(b"more", 20.1)  # after the end, octets still collect
    assert chat.leftover() == b"more"


def test_matching_works_across_chunk_boundaries() -> None:
    chat = dialed()
    for piece in (b"\r\nCO", b"NN", b"E"):
        chat.receive_data(piece, 5.0)
        assert chat.result is None
    chat.receive_data(b"CT 96", 5.0)
    assert chat.result is not None and chat.result.ok
    chat.receive_data(b"00\r\n", 5.0)
    assert chat.leftover() == b" 9600\r\n"


def test_matching_octet_by_octet() -> None:
    chat = dialed()
    for octet in b"\r\nCONNECT 1200\r\n":
        chat.receive_data(bytes([octet]), 5.0)
    assert chat.result is not None and chat.result.ok
    assert chat.leftover() == b" 1200\r\n"


def test_a_match_split_across_the_previous_search_is_found() -> None:
    chat = Chat(["ABCDEF"])
    chat.start(0.0)
    chat.receive_data(b"xxABC", 0.0)
    chat.receive_data(b"DEFyy", 0.0)
    assert chat.result is not None and chat.result.ok
    assert chat.leftover() == b"yy"


@pytest.mark.parametrize(
    ("text", "code", "string"),
    [(b"\r\nBUSY\r\n", CHAT_ABORT_BASE, "BUSY"), (b"\r\nNO CARRIER\r\n", 5, "NO CARRIER")],
)
def test_abort_strings_give_chats_exit_codes(text: bytes, code: int, string: str) -> None:
    chat = dialed()
    events(chat)
    chat.receive_data(text, 20.0)
    assert chat.result is not None
    assert chat.result.code == code
    assert chat.result.reason == f"abort on ({string})"
    assert chat.matched == string
    assert events(chat) == [ChatAborted(string, code)]
    assert chat.data_to_send() == b""  # nothing sent after an abort
    assert chat.get_timer() is None


def test_abort_split_across_chunks() -> None:
    chat = dialed()
    chat.receive_data(b"\r\nNO CAR", 3.0)
    chat.receive_data(b"RIER\r\n", 3.5)
    assert chat.result is not None and chat.result.code == 5


def test_whichever_string_ends_first_in_a_chunk_wins() -> None:
    chat = dialed()
    chat.receive_data(b"\r\nBUSY\r\n\r\nCONNECT\r\n", 1.0)
    assert chat.result is not None and chat.result.code == CHAT_ABORT_BASE
    chat = dialed()
    chat.receive_data(b"\r\nCONNECT\r\nBUSY\r\n", 1.0)
    assert chat.result is not None and chat.result.ok
    assert chat.leftover() == b"\r\nBUSY\r\n"


def test_abort_order_follows_the_script_not_the_line() -> None:
    chat = Chat(["ABORT", "ERROR", "ABORT", "BUSY", "ABORT", "NO DIALTONE", "", "ATDT1", "CONNECT"])
    chat.start(0.0)
    chat.receive_data(b"\r\nNO DIALTONE\r\n", 2.0)
    assert chat.result is not None and chat.result.code == CHAT_ABORT_BASE + 2


def test_expect_string_wins_a_tie_with_an_abort_string() -> None:
    chat = Chat(["ABORT", "CARRIER", "NO CARRIER"])  # both end on the same octet
    chat.start(0.0)
    chat.receive_data(b"NO CARRIER", 0.0)
    assert chat.result is not None and chat.result.ok


def test_timeout_is_exit_3_at_the_exact_deadline() -> None:
    chat = dialed(now=10.0)
    events(chat)
    assert chat.get_timer() == 10.0 + 45
    chat.handle_timer(54.9)
    assert outcome(chat) is None
    chat.handle_timer(55.0)
    result = outcome(chat)
    assert result is not None
    assert (result.code, result.reason) == (
        CHAT_TIMEOUT,
        "timeout waiting for (CONNECT)",
    )
    assert events(chat) == [ChatTimeout("CONNECT", 45.0)]


def test_timeout_restarts_for_each_expect_and_can_change() -> None:
    chat = Chat(["", "AT", "OK", "ATDT1", "TIMEOUT", "90", "CONNECT"])
    chat.start(0.0)
    assert chat.get_timer() == DEFAULT_TIMEOUT
    chat.receive_data(b"OK", 30.0)
    assert chat.get_timer() == 30.0 + 90


def test_backslash_c_suppresses_the_carriage_return() -> None:
    chat = Chat(["", "ATZ\\c", "OK", "\\c"])
    chat.start(0.0)
    assert chat.data_to_send() == b"ATZ"
    chat.receive_data(b"OK", 0.0)
    assert chat.data_to_send() == b""
    assert chat.result is not None and chat.result.ok


def test_delays_go_on_the_virtual_clock() -> None:
    chat = Chat(["", "\\d+++\\d\\c", "OK", "ATH0"])
    chat.start(100.0)
    assert chat.data_to_send() == b""
    assert chat.get_timer() == 101.0
    chat.receive_data(b"OK", 100.5)  # early: kept, and matched once the send is done
    chat.handle_timer(101.0)
    assert chat.data_to_send() == b"+++"
    assert chat.get_timer() == 102.0
    chat.handle_timer(102.0)
    assert chat.data_to_send() == b"ATH0\r"
    assert chat.result is not None and chat.result.ok


def test_pause_is_a_tenth_of_a_second() -> None:
    chat = Chat(["", "A\\pT"])
    chat.start(0.0)
    assert chat.data_to_send() == b"A"
    assert chat.get_timer() == pytest.approx(0.1)
    chat.handle_timer(0.1)
    assert chat.data_to_send() == b"T\r"
    assert [e for e in events(chat) if isinstance(e, ChatSent)] == [ChatSent("A"), ChatSent("T^M")]


def test_escapes_and_control_characters() -> None:
    chat = Chat(["", "a\\sb\\tc\\nd\\\\e\\101^C\\N\\c"])
    chat.start(0.0)
    assert chat.data_to_send() == b"a b\tc\nd\\eA\x03\x00"


def test_escapes_work_in_expect_strings_too() -> None:
    chat = Chat(["OK\\r\\n", "x"])
    chat.start(0.0)
    chat.receive_data(b"OK\r", 0.0)
    assert chat.result is None
    chat.receive_data(b"\n", 0.0)
    assert chat.data_to_send() == b"x\r"


def test_sub_expect_sends_on_timeout_then_expects_again() -> None:
    chat = Chat(["TIMEOUT", "5", "ogin:--ogin:", "ppp"])
    chat.start(0.0)
    chat.handle_timer(5.0)
    assert chat.data_to_send() == b"\r"  # the empty middle part: a bare CR
    assert chat.get_timer() == 10.0
    chat.receive_data(b"\r\nlogin: ", 7.0)
    assert chat.data_to_send() == b"ppp\r"
    assert chat.result is not None and chat.result.ok
    kinds = [type(e).__name__ for e in events(chat)]
    assert kinds == ["ChatExpect", "ChatTimeout", "ChatSent", "ChatExpect", "ChatGot", "ChatSent"]


def test_sub_expect_runs_out_and_times_out() -> None:
    chat = Chat(["TIMEOUT", "2", "ogin:-BREAK-ogin:", "ppp"])
    chat.start(0.0)
    chat.handle_timer(2.0)
    assert ChatBreak() in events(chat)
    chat.handle_timer(4.0)
    assert chat.result is not None and chat.result.code == CHAT_TIMEOUT


def test_say_and_clr_abort() -> None:
    chat = Chat(["ABORT", "BUSY", "SAY", "dialing\n", "CLR_ABORT", "BUSY", "", "ATD1", "CONNECT"])
    chat.start(0.0)
    assert ChatSay("dialing\n") in events(chat)
    chat.receive_data(b"BUSY\r\nCONNECT", 1.0)
    assert chat.result is not None and chat.result.ok


def test_data_before_start_is_kept() -> None:
    chat = Chat(["OK", "ATDT1"])
    chat.receive_data(b"\r\nOK\r\n", 0.0)
    chat.start(0.5)
    assert chat.data_to_send() == b"ATDT1\r"


def test_the_buffer_stays_bounded_and_still_matches() -> None:
    chat = Chat(["ABORT", "NO CARRIER", "CONNECT"])
    chat.start(0.0)
    noise = bytes(range(256)) * 4
    for _ in range(1000):
        chat.receive_data(noise, 1.0)
        assert len(chat._buf) <= MAX_BUFFER
    chat.receive_data(b"CONN", 1.0)
    chat.receive_data(b"ECT", 1.0)
    assert chat.result is not None and chat.result.ok


def test_eot_is_control_d_without_cr() -> None:
    chat = Chat(["", "EOT"])
    chat.start(0.0)
    assert chat.data_to_send() == b"\x04"


@pytest.mark.parametrize(
    "words",
    [["ABORT"], ["TIMEOUT", "soon"], ["TIMEOUT", "-1"], ["ABORT", ""], ["x" * 2000, "y"]],
)
def test_bad_scripts_are_refused(words: list[str]) -> None:
    with pytest.raises(ChatScriptError):
        ChatScript(words)


def test_start_twice_is_misuse() -> None:
    chat = Chat(["OK"])
    chat.start(0.0)
    with pytest.raises(RuntimeError):
        chat.start(1.0)


def test_visible_shows_control_characters_as_chat_logs_them() -> None:
    assert visible(b"AT\r\n\x7f\xc0") == "AT^M^J^?\\xc0"
