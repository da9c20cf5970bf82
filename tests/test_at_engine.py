"""Command mode of the modem core: syntax, framing, S-registers, settings, NVRAM."""

from __future__ import annotations

import pytest
from dte import Dte

from modememu.modem.events import (
    CommandLine,
    DteFormatChanged,
    FlowControlChanged,
    HookChanged,
    ResultCode,
    StoredStateChanged,
)
from modememu.profiles import load_profile, profile_names

V250 = "conexant-v92"  # a profile whose firmware knows the V.250 '+' commands
# S7 (carrier wait) as the default profile ships it: a register every test can read.
S7 = f"{load_profile('usr-courier-v34').sregisters[7].default:03d}"


def test_ok_and_echo() -> None:
    dte = Dte()
    assert dte.at("AT") == "AT\r\r\nOK\r\n"
    dte.quiet()
    assert dte.at("AT") == "\r\nOK\r\n"


def test_lower_case_prefix_and_body() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("at s7?") == f"\r\n{S7}\r\n\r\nOK\r\n"


@pytest.mark.parametrize("prefix", ["At", "aT"])
def test_mixed_case_is_not_a_prefix(prefix: str) -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at(f"{prefix}I3") == ""
    assert dte.of_type(CommandLine) == [CommandLine("E0")]


def test_junk_before_at_is_ignored() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.send(b"\x00\xff+++garbage\x1b[2J AAT S7?\r") == f"\r\n{S7}\r\n\r\nOK\r\n".encode()


def test_spaces_are_ignored_between_commands() -> None:
    dte = Dte()
    assert dte.at("AT  E 0  S 7 = 3 5") .endswith("\r\nOK\r\n")
    assert dte.at("ATS7?") == "\r\n035\r\n\r\nOK\r\n"


def test_unknown_command_is_error_and_stops_the_line() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("ATS7=33J9S7=44") == "\r\nERROR\r\n"
    assert dte.at("ATS7?") == "\r\n033\r\n\r\nOK\r\n"  # ran up to the error, not past it


def test_syntax_error_runs_nothing() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("ATS7=33S") == "\r\nERROR\r\n"
    assert dte.at("ATS7?") == f"\r\n{S7}\r\n\r\nOK\r\n"


# ----- result framing: V, Q, S3, S4 -----


def test_v0_result_is_digits_and_cr_only() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("ATV0") == "0\r"
    assert dte.at("ATJ") == "4\r"
    assert dte.at("ATI3").endswith("\r\n0\r")  # info text: text CR LF, no header
    assert not dte.at("ATI3").startswith("\r\n")


def test_v1_frames_info_and_results_with_cr_lf() -> None:
    dte = Dte()
    dte.quiet()
    text = load_profile("usr-courier-v34").info[3].splitlines()
    assert dte.at("ATI3") == "\r\n" + "".join(f"{t}\r\n" for t in text) + "\r\nOK\r\n"


def test_s3_s4_apply_to_the_result_of_the_same_line() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("ATS4=33") == "\r!OK\r!"
    assert dte.send(b"ATS3=64S4=10\r") == b"@\nOK@\n"
    assert dte.send(b"ATS7?@") == f"@\n{S7}@\n@\nOK@\n".encode()


def test_q1_suppresses_results_but_not_information() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("ATQ1") == ""
    assert dte.at("ATS7?") == f"\r\n{S7}\r\n"
    assert dte.at("ATJ9") == ""
    codes = dte.of_type(ResultCode)
    assert [(c.text, c.shown) for c in codes if isinstance(c, ResultCode)][-1] == ("ERROR", False)
    assert dte.at("ATQ0") == "\r\nOK\r\n"


# ----- editing, repetition, limits -----


def test_a_slash_repeats_the_previous_line_without_terminator() -> None:
    dte = Dte()
    dte.quiet()
    dte.at("ATS7=41")
    assert dte.send(b"A/") == b"\r\nOK\r\n"
    dte.at("ATS7?")
    assert dte.send(b"A/") == b"\r\n041\r\n\r\nOK\r\n"


def test_a_slash_with_no_history_answers_ok() -> None:
    dte = Dte()
    assert dte.send(b"A/") == b"A/\r\nOK\r\n"


def test_backspace_edits_the_line_and_echoes_bs_sp_bs() -> None:
    dte = Dte()
    reply = dte.send(b"ATS7=44\x085S7?\r")
    assert reply.startswith(b"ATS7=44\x08 \x085S7?\r")
    assert reply.endswith(b"\r\n045\r\n\r\nOK\r\n")


def test_backspace_never_deletes_the_at() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.send(b"AT\x08\x08\x08S7?\r") == f"\r\n{S7}\r\n\r\nOK\r\n".encode()


def test_backspace_follows_s5() -> None:
    dte = Dte()
    dte.quiet()
    dte.at("ATS5=35")
    assert dte.send(b"ATS7=44#5\r") == b"\r\nOK\r\n"
    assert dte.at("ATS7?") == "\r\n045\r\n\r\nOK\r\n"


def test_can_discards_the_line() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.send(b"ATS7=99\x18") == b"\r\nOK\r\n"
    assert dte.at("ATS7?") == f"\r\n{S7}\r\n\r\nOK\r\n"


@pytest.mark.parametrize("name", profile_names())
def test_line_overflow_is_error_and_runs_nothing(name: str) -> None:
    profile = load_profile(name)
    limit = profile.line_limit
    dte = Dte(name)
    dte.quiet()
    body = "S7=33" + "E0" * limit
    assert dte.at("AT" + body) == "\r\nERROR\r\n"
    assert dte.at("ATS7?") == f"\r\n{profile.sregisters[7].default:03d}\r\n\r\nOK\r\n"
    exact = ("S7=33" + "E0" * limit)[:limit]
    assert dte.at("AT" + exact) == "\r\nOK\r\n"


# ----- S-registers -----


@pytest.mark.parametrize("name", profile_names())
def test_every_s_register_range_is_enforced(name: str) -> None:
    profile = load_profile(name)
    dte = Dte(name)
    dte.quiet()
    for n, allowed in profile.sregisters.items():
        assert dte.at(f"ATS{n}?") == f"\r\n{allowed.default:03d}\r\n\r\nOK\r\n"
        if n in (3, 4, 5):
            continue  # changing the terminator or LF would change this test's own framing
        if n in profile.readonly_sregisters:
            assert dte.at(f"ATS{n}={allowed.default}") == "\r\nERROR\r\n", n
            continue
        assert dte.at(f"ATS{n}={allowed.high + 1}") == "\r\nERROR\r\n", n
        if allowed.low > 0:
            assert dte.at(f"ATS{n}={allowed.low - 1}") == "\r\nERROR\r\n", n
        assert dte.at(f"ATS{n}={allowed.high}") == "\r\nOK\r\n", n
        assert dte.at(f"ATS{n}?") == f"\r\n{allowed.high:03d}\r\n\r\nOK\r\n"
    missing = next(n for n in range(256) if n not in profile.sregisters)
    assert dte.at(f"ATS{missing}?") == "\r\nERROR\r\n"
    assert dte.at(f"ATS{missing}=1") == "\r\nERROR\r\n"


def test_bare_s_selects_for_query_and_set() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("ATS8") == "\r\nOK\r\n"
    assert dte.at("AT=7") == "\r\nOK\r\n"
    assert dte.at("AT?") == "\r\n007\r\n\r\nOK\r\n"


# ----- settings -----


@pytest.mark.parametrize("name", profile_names())
def test_every_profile_setting_is_accepted_in_range_only(name: str) -> None:
    profile = load_profile(name)
    dte = Dte(name)
    dte.quiet()
    for setting, allowed in profile.settings.items():
        if setting in ("E", "Q", "V"):
            continue  # they change the framing this test reads
        assert dte.at(f"AT{setting}{allowed.high}") == "\r\nOK\r\n", setting
        assert dte.at(f"AT{setting}{allowed.high + 1}") == "\r\nERROR\r\n", setting
    view = dte.at("AT&V")
    assert all(f"{s}{r.high}" in view for s, r in profile.settings.items() if s not in "EQV")


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
def test_x_levels_are_stored(level: int) -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at(f"ATX{level}") == "\r\nOK\r\n"
    assert f" X{level} " in dte.at("AT&V")


@pytest.mark.parametrize("name", profile_names())
def test_identity_responses_come_from_the_profile(name: str) -> None:
    profile = load_profile(name)
    dte = Dte(name)
    dte.quiet()
    for n, text in profile.info.items():
        expected = "\r\n" + "".join(f"{t}\r\n" for t in text.splitlines()) + "\r\nOK\r\n"
        assert dte.at(f"ATI{n}") == expected
    missing = next(n for n in range(100) if n not in profile.info)
    assert dte.at(f"ATI{missing}") == "\r\nERROR\r\n"


# ----- NVRAM: &W, Z, &F, &Y, &Z -----


def test_write_then_reset_restores_the_stored_profile() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("ATS7=30&W") == "\r\nOK\r\n"
    assert isinstance(dte.of_type(StoredStateChanged)[-1], StoredStateChanged)
    dte.at("ATS7=40")
    assert dte.at("ATZ") == "\r\nOK\r\n"
    dte.quiet()  # the stored profile has echo on again
    assert dte.at("ATS7?") == "\r\n030\r\n\r\nOK\r\n"
    assert dte.at("AT&F") == "\r\nOK\r\n"
    dte.quiet()
    assert dte.at("ATS7?") == f"\r\n{S7}\r\n\r\nOK\r\n"


def test_stored_profile_one_and_power_up_choice() -> None:
    dte = Dte()
    dte.quiet()
    dte.at("ATS7=22&W1&Y1")
    state = dte.of_type(StoredStateChanged)[-1]
    assert isinstance(state, StoredStateChanged)
    assert state.state["powerup"] == 1
    assert dte.at("ATZ1") == "\r\nOK\r\n"
    assert dte.at("ATE0S7?") == "\r\n022\r\n\r\nOK\r\n"
    assert dte.at("AT&W2") == "\r\nERROR\r\n"


def test_stored_numbers() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("AT&Z1=5550102") == "\r\nOK\r\n"
    assert "1=5550102" in dte.at("AT&V")


def test_view_shows_active_stored_and_dte() -> None:
    dte = Dte()
    dte.quiet()
    view = dte.at("AT&V")
    for part in ("ACTIVE PROFILE:", "STORED PROFILE 0:", "STORED PROFILE 1:", "DTE: 115200 8N1"):
        assert part in view


# ----- extended syntax -----


def test_identity_the_v250_way() -> None:
    profile = load_profile(V250)
    dte = Dte(V250)
    dte.quiet()
    assert dte.at("AT+GMI") == f"\r\n{profile.gmi}\r\n\r\nOK\r\n"
    assert dte.at("AT+GMM;+GMR") == f"\r\n{profile.gmm}\r\n{profile.gmr}\r\n\r\nOK\r\n"
    assert dte.at("AT+GCAP") == "\r\n+GCAP: " + ",".join(profile.gcap) + "\r\n\r\nOK\r\n"
    assert dte.at("AT+GMI=?") == "\r\nOK\r\n"
    assert dte.at("AT+GMI?") == "\r\nERROR\r\n"


def test_pre_v250_firmware_refuses_extended_commands() -> None:
    dte = Dte("hayes-smartmodem-2400")
    dte.quiet()
    assert dte.at("AT+GMI") == "\r\nERROR\r\n"


def test_ms_is_validated_against_the_profile() -> None:
    profile = load_profile(V250)
    dte = Dte(V250)
    dte.quiet()
    top = profile.max_rate
    ms = f"{profile.top_modulation},1,300,{top},300,{top}"
    assert dte.at("AT+MS?") == f"\r\n+MS: {ms}\r\n\r\nOK\r\n"
    test = dte.at("AT+MS=?")
    assert test.startswith("\r\n+MS: (" + ",".join(profile.modulations) + "),(0,1),")
    assert dte.at("AT+MS=V32B,0,4800,9600") == "\r\nOK\r\n"
    assert dte.at("AT+MS?") == f"\r\n+MS: V32B,0,4800,9600,300,{top}\r\n\r\nOK\r\n"
    assert dte.at("AT+MS=B999") == "\r\nERROR\r\n"
    assert dte.at("AT+MS=V32B,2") == "\r\nERROR\r\n"
    assert dte.at("AT+MS=V32B,1,9600,4800") == "\r\nERROR\r\n"
    v34 = Dte("usr-courier-v34")
    v34.quiet()
    if "V90" not in load_profile("usr-courier-v34").modulations:
        assert v34.at("AT+MS=V90") == "\r\nERROR\r\n"


def test_ipr_lists_rates_and_fixes_the_dte_rate() -> None:
    profile = load_profile(V250)
    dte = Dte(V250)
    dte.quiet()
    assert dte.at("AT+IPR?") == "\r\n+IPR: 0\r\n\r\nOK\r\n"
    rates = ",".join(map(str, profile.dte_rates))
    assert dte.at("AT+IPR=?") == f"\r\n+IPR: (0,{rates})\r\n\r\nOK\r\n"
    assert dte.at("AT+IPR=12345") == "\r\nERROR\r\n"
    assert dte.at("AT+IPR=2400") == "\r\nOK\r\n"
    changed = dte.of_type(DteFormatChanged)
    assert changed[-1] == DteFormatChanged(2400, "8N1")


def test_fixed_rate_with_icf_sets_the_parity() -> None:
    dte = Dte(V250)
    dte.quiet()
    assert dte.at("AT+IPR=9600;+ICF=5,1") == "\r\nOK\r\n"  # 7 data bits, even parity
    view = bytes(b & 0x7F for b in dte.send(b"AT&V\r"))
    assert b"DTE: 9600 7E1" in view


def test_ifc_and_k_are_one_setting() -> None:
    dte = Dte(V250)
    dte.quiet()
    assert dte.at("AT+IFC?") == "\r\n+IFC: 2,2\r\n\r\nOK\r\n"
    assert dte.at("AT+IFC=0,0") == "\r\nOK\r\n"
    assert dte.of_type(FlowControlChanged)[-1] == FlowControlChanged(False, False)
    assert " &K0" in dte.at("AT&V")
    assert dte.at("AT&K4") == "\r\nOK\r\n"
    assert dte.of_type(FlowControlChanged)[-1] == FlowControlChanged(False, True)
    assert dte.at("AT+IFC?") == "\r\n+IFC: 1,1\r\n\r\nOK\r\n"
    assert "+IFC=1,1" in dte.at("AT&V").split("STORED PROFILE 0")[0]
    assert dte.at("AT+IFC=?") == "\r\n+IFC: (0-3),(0-2)\r\n\r\nOK\r\n"


def test_usr_flow_commands() -> None:
    dte = Dte("usr-courier-v34")
    dte.quiet()
    assert dte.at("AT&H1&R2") == "\r\nOK\r\n"
    assert dte.of_type(FlowControlChanged)[-1] == FlowControlChanged(True, False)
    assert dte.at("AT&H2&I1") == "\r\nOK\r\n"
    assert dte.of_type(FlowControlChanged)[-1] == FlowControlChanged(True, True)
    assert dte.at("AT&H0&R1&I0") == "\r\nOK\r\n"
    assert dte.of_type(FlowControlChanged)[-1] == FlowControlChanged(False, False)


def test_generic_extended_parameter_read_set_test() -> None:
    dte = Dte(V250)
    dte.quiet()
    assert dte.at("AT+ICF=?") == "\r\n+ICF: (0-6),(0-3)\r\n\r\nOK\r\n"
    assert dte.at("AT+ICF=,1") == "\r\nOK\r\n"
    assert dte.at("AT+ICF?") == "\r\n+ICF: 3,1\r\n\r\nOK\r\n"
    assert dte.at("AT+ICF=9") == "\r\nERROR\r\n"
    assert dte.at("AT+ICF=1,1,1") == "\r\nERROR\r\n"
    assert dte.at("AT+NOPE?") == "\r\nERROR\r\n"
    assert dte.at("AT+ICF?E1") == "\r\nERROR\r\n"  # an extended command needs ';' before more


# ----- calls without a line: dialing and answering end as a real modem's would -----


def test_dial_with_dial_tone_detection_and_no_line() -> None:
    dte = Dte()
    dte.quiet()
    dte.at("ATX4S6=2")
    s6 = 2
    assert dte.send(b"ATDT5550100\r") == b""
    assert dte.modem.get_timer() == pytest.approx(0.4 + s6)  # sent at t=0.4
    dte.clock.advance(s6)
    assert bytes(dte.received) == b"\r\nNO DIALTONE\r\n"
    assert [e.off_hook for e in dte.of_type(HookChanged) if isinstance(e, HookChanged)] == [
        True,
        False,
    ]


def test_blind_dial_waits_s7_for_carrier() -> None:
    dte = Dte()
    dte.quiet()
    dte.at("ATX3S7=30")
    start = dte.clock.now()
    dte.send(b"ATD5550100\r")
    assert dte.modem.get_timer() == pytest.approx(start + 30)
    dte.clock.advance(30)
    assert bytes(dte.received).endswith(b"\r\nNO CARRIER\r\n")


def test_a_dte_character_aborts_dialing() -> None:
    dte = Dte()
    dte.quiet()
    dte.send(b"ATD5550100\r")
    assert dte.send(b"x") == b"\r\nNO CARRIER\r\n"
    assert dte.modem.get_timer() is None


def test_answer_without_a_call() -> None:
    dte = Dte()
    dte.quiet()
    dte.send(b"ATA\r")
    dte.clock.advance(load_profile("usr-courier-v34").sregisters[7].default)
    assert bytes(dte.received) == b"\r\nNO CARRIER\r\n"


def test_redial_and_ambiguous_hosts() -> None:
    dte = Dte()
    dte.quiet()
    assert dte.at("ATDL") == "\r\nERROR\r\n"  # nothing to redial yet


def test_dtr_drop_under_d3_resets_after_s25() -> None:
    dte = Dte("rockwell-rc288")
    dte.quiet()
    assert dte.at("AT&D3S25=50S7=33") == "\r\nOK\r\n"
    now = dte.clock.now()
    dte.driver.input(lambda t: dte.modem.set_dtr(False, t))
    assert dte.modem.get_timer() == pytest.approx(now + 0.5)
    dte.clock.advance(0.49)
    assert dte.at("ATS7?").endswith("033\r\n\r\nOK\r\n")
    dte.clock.advance(0.1)
    default = load_profile("rockwell-rc288").sregisters[7].default
    assert dte.at("ATS7?") == f"ATS7?\r\r\n{default:03d}\r\n\r\nOK\r\n"  # ATZ: echo on


def test_dtr_blip_shorter_than_s25_is_ignored() -> None:
    dte = Dte("rockwell-rc288")
    dte.quiet()
    assert dte.at("AT&D3S7=33") == "\r\nOK\r\n"
    dte.driver.input(lambda t: dte.modem.set_dtr(False, t))
    dte.clock.advance(0.02)
    dte.driver.input(lambda t: dte.modem.set_dtr(True, t))
    dte.clock.advance(1)
    assert dte.at("ATS7?").endswith("033\r\n\r\nOK\r\n")


def test_zyxel_flow_is_its_own_h_command() -> None:
    dte = Dte("zyxel-u1496e")
    dte.quiet()
    assert dte.modem.flow.uart_rtscts and not dte.modem.flow.xon_xoff  # factory &H3
    assert dte.at("AT&K4") == "\r\nOK\r\n"  # error control on a ZyXEL: no flow change
    assert dte.of_type(FlowControlChanged) == []
    assert dte.at("AT&H4") == "\r\nOK\r\n"
    assert dte.of_type(FlowControlChanged)[-1] == FlowControlChanged(False, True)
