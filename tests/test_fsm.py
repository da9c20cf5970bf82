"""The RFC 1661 automaton: every (state, event) cell, the restart timer and its counters.

The expected table below is typed in the RFC's own orientation (a row per event,
a column per state), independently of the transposed copy the code parses, so a
slip in either shows up as a failing cell.
"""

from __future__ import annotations

import pytest

from modememu.link.ppp import fsm
from modememu.link.ppp.fsm import Input, State
from modememu.link.ppp.wire import (
    CODE_REJ,
    CONF_ACK,
    CONF_NAK,
    CONF_REJ,
    CONF_REQ,
    TERM_ACK,
    TERM_REQ,
    build_packet,
    parse_packet,
)

RFC_1661_4_1 = """
Up    2      irc,scr/6 -         -             -      -      -        -         -          -
Down  -      -         0         tls/1         0      1      1        1         1          tld/1
Open  tls/1  1         irc,scr/6 3             5      5      6        7         8          9
Close 0      tlf/0     2         2             4      4      irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4
TO+   -      -         -         -             str/4  str/5  scr/6    scr/6     scr/8      -
TO-   -      -         -         -             tlf/2  tlf/3  tlf/3    tlf/3     tlf/3      -
RCR+  -      -         sta/2     irc,scr,sca/8 4      5      sca/8    sca,tlu/9 sca/8      tld,scr,sca/8
RCR-  -      -         sta/2     irc,scr,scn/6 4      5      scn/6    scn/7     scn/6      tld,scr,scn/6
RCA   -      -         sta/2     sta/3         4      5      irc/7    scr/6     irc,tlu/9  tld,scr/6
RCN   -      -         sta/2     sta/3         4      5      irc,scr/6 scr/6    irc,scr/8  tld,scr/6
RTR   -      -         sta/2     sta/3         sta/4  sta/5  sta/6    sta/6     sta/6      tld,zrc,sta/5
RTA   -      -         2         3             tlf/2  tlf/3  6        6         8          tld,scr/6
RUC   -      -         scj/2     scj/3         scj/4  scj/5  scj/6    scj/7     scj/8      scj/9
RXJ+  -      -         2         3             4      5      6        6         8          9
RXJ-  -      -         tlf/2     tlf/3         tlf/2  tlf/3  tlf/3    tlf/3     tlf/3      tld,irc,str/5
RXR   -      -         2         3             4      5      6        7         8          ser/9
"""  # noqa: E501 (the RFC's table, whole)


def expected_cells() -> dict[tuple[State, Input], tuple[list[str], State] | None]:
    cells: dict[tuple[State, Input], tuple[list[str], State] | None] = {}
    for line in RFC_1661_4_1.strip().splitlines():
        event, *row = line.split()
        assert len(row) == 10, line
        for state, cell in zip(State, row, strict=True):
            if cell == "-":
                cells[state, Input(event)] = None
            else:
                actions, _, target = cell.rpartition("/")
                cells[state, Input(event)] = (
                    [a for a in actions.split(",") if a],
                    State(int(target)),
                )
    return cells


CELLS = expected_cells()


class Probe(fsm.ControlProtocol):
    """An automaton with no options that records which actions ran."""

    protocol = 0x8021
    name = "TEST"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def layer_up(self) -> None:
        self.calls.append("tlu")

    def layer_down(self) -> None:
        self.calls.append("tld")

    def layer_started(self) -> None:
        self.calls.append("tls")

    def layer_finished(self) -> None:
        self.calls.append("tlf")

    def echo_reply(self) -> None:
        self.calls.append("ser")


# Callbacks are recorded as they run, packets after them: the order `observed` reports.
_ORDER = ["tld", "tlu", "tls", "tlf", "ser", "scr", "sca", "scn", "str", "sta", "scj"]
_SENT = {
    CONF_REQ: "scr",
    CONF_ACK: "sca",
    CONF_NAK: "scn",
    TERM_REQ: "str",
    TERM_ACK: "sta",
    CODE_REJ: "scj",
}


def observed(probe: Probe) -> list[str]:
    """The callbacks that ran and the packets that went out, as action names."""
    sent = []
    for packet in probe.packets_to_send():
        parsed = parse_packet(packet)
        assert parsed is not None
        sent.append(_SENT[parsed.code])
    return probe.calls + sent


@pytest.mark.parametrize(("state", "event"), [(s, e) for s in State for e in Input])
def test_every_cell(state: State, event: Input) -> None:
    probe = Probe()
    probe.state = state
    probe._restart_count = 5  # neither max: irc and zrc show as a change
    probe._reply = (CONF_ACK, b"") if event is not Input.RCR_MINUS else (CONF_NAK, b"")
    expected = CELLS[state, event]
    if expected is None:
        if event in (Input.UP, Input.DOWN, Input.OPEN, Input.CLOSE):
            with pytest.raises(fsm.IllegalEvent):
                probe.fire(event, 0.0)
        else:
            probe.fire(event, 0.0)
        assert probe.state is state
        assert probe.packets_to_send() == []
        assert probe.calls == []
        return
    actions, target = expected
    probe.fire(event, 0.0)
    assert probe.state is target
    counters = {"irc", "zrc"}
    assert observed(probe) == [a for a in _ORDER if a in actions and a not in counters]
    sending = "scr" in actions or "str" in actions
    if "irc" in actions:
        wanted = probe.max_terminate if "str" in actions else probe.max_configure
        assert probe._restart_count == wanted - sending
    elif "zrc" in actions:
        assert probe._restart_count == 0
    else:
        assert probe._restart_count == 5 - sending
    if target in (State.INITIAL, State.STARTING, State.CLOSED, State.STOPPED, State.OPENED):
        assert probe.get_timer() is None
    elif "scr" in actions or "str" in actions or "zrc" in actions:
        assert probe.get_timer() == probe.restart


def test_the_code_table_has_every_legal_cell() -> None:
    legal = {key for key, cell in CELLS.items() if cell is not None}
    assert set(fsm.TABLE) == legal
    assert len(CELLS) == 160


def state_of(probe: Probe) -> State:
    """The state, read through a call so the type checker does not pin it."""
    return probe.state


def drain(probe: Probe) -> list[tuple[int, int]]:
    out = []
    for packet in probe.packets_to_send():
        parsed = parse_packet(packet)
        assert parsed is not None
        out.append((parsed.code, parsed.ident))
    return out


def test_configure_requests_every_3_s_ten_times_then_stopped() -> None:
    probe = Probe()
    probe.open(0.0)
    probe.up(0.0)
    times = [0.0]
    sent = drain(probe)
    while (deadline := probe.get_timer()) is not None:
        probe.handle_timer(deadline)
        sent += drain(probe)
        times.append(deadline)
    assert [code for code, _ in sent] == [CONF_REQ] * 10
    assert {ident for _, ident in sent} == {1}  # retransmissions keep the id, as pppd's do
    assert times == [3.0 * n for n in range(11)]
    assert probe.state is State.STOPPED
    assert probe.calls == ["tls", "tlf"]
    finished = [e for e in iter(probe.next_event, None) if isinstance(e, fsm.LayerFinished)]
    assert finished == [fsm.LayerFinished("TEST", "TEST: timeout sending Config-Requests")]


def test_two_terminate_requests_then_closed() -> None:
    probe = Probe()
    probe.state = State.OPENED
    probe.close(10.0, "User request")
    sent = drain(probe)
    while (deadline := probe.get_timer()) is not None:
        probe.handle_timer(deadline)
        sent += drain(probe)
    assert [code for code, _ in sent] == [TERM_REQ, TERM_REQ]
    assert probe.state is State.CLOSED
    assert probe.calls == ["tld", "tlf"]


def test_terminate_request_carries_the_reason() -> None:
    probe = Probe()
    probe.state = State.OPENED
    probe.close(0.0, "User request")
    (packet,) = probe.packets_to_send()
    assert packet == build_packet(TERM_REQ, 1, b"User request")


class Fussy(Probe):
    """Naks every request; records whether it was told to reject instead."""

    def __init__(self) -> None:
        super().__init__()
        self.told: list[bool] = []

    def judge_request(self, data: bytes, reject_if_disagree: bool) -> tuple[int, bytes]:
        self.told.append(reject_if_disagree)
        return (CONF_REJ if reject_if_disagree else CONF_NAK), data


def test_max_failure_turns_naks_into_rejects() -> None:
    probe = Fussy()
    probe.open(0.0)
    probe.up(0.0)
    for n in range(7):
        probe.receive(build_packet(CONF_REQ, n, b"\x01\x04\x05\xdc"), 0.1 * n)
    assert probe.told == [False] * 5 + [True] * 2
    codes = [code for code, _ in drain(probe)]
    assert codes.count(CONF_NAK) == 5
    assert codes.count(CONF_REJ) == 2


def test_replies_with_a_stale_id_are_dropped() -> None:
    probe = Probe()
    probe.open(0.0)
    probe.up(0.0)
    drain(probe)
    probe.receive(build_packet(CONF_ACK, 9), 0.5)
    assert state_of(probe) is State.REQ_SENT
    dropped = [e for e in iter(probe.next_event, None) if isinstance(e, fsm.PacketDropped)]
    assert dropped and "unexpected id" in dropped[0].reason
    probe.receive(build_packet(CONF_ACK, 1), 0.6)
    assert state_of(probe) is State.ACK_RCVD
    probe.receive(build_packet(CONF_ACK, 1), 0.7)  # only the first valid reply counts
    assert state_of(probe) is State.ACK_RCVD


@pytest.mark.parametrize("info", [b"", b"\x01", b"\x01\x01\x00\x03", b"\x01\x01\x00\x09abc"])
def test_impossible_lengths_are_dropped(info: bytes) -> None:
    probe = Probe()
    probe.open(0.0)
    probe.up(0.0)
    drain(probe)
    probe.receive(info, 0.1)
    assert probe.state is State.REQ_SENT
    assert drain(probe) == []


def test_unknown_code_is_code_rejected_truncated_to_the_peer_mru() -> None:
    probe = Probe()
    probe.state = State.OPENED
    probe.peer_mru = 64
    probe.receive(build_packet(77, 3, bytes(200)), 0.0)
    (packet,) = probe.packets_to_send()
    assert len(packet) == 64
    parsed = parse_packet(packet)
    assert parsed is not None and parsed.code == CODE_REJ
    assert parsed.data[:2] == bytes([77, 3])
