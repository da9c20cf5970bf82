"""CONNECT wording per maker family: the texts scripts and dialers parse."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from modememu.at.connect import NO_CODE, Connection, ResultLine, connect_lines

NO_EXT: dict[str, list[int]] = {}

V34_LAPM_V42B = Connection("V34", 28800, 28800, "LAPM", "V42B", 115200)
V34_LAPM = Connection("V34", 28800, 28800, "LAPM", None, 115200)
V32B_MNP5 = Connection("V32B", 14400, 14400, "MNP", "MNP5", 57600)
V32B_LAPM_V42B = Connection("V32B", 14400, 14400, "LAPM", "V42B", 57600)
V32B_PLAIN = Connection("V32B", 14400, 14400, None, None, 19200)
V32_LAPM = Connection("V32", 9600, 9600, "LAPM", None, 38400)
V22B_MNP5 = Connection("V22B", 2400, 2400, "MNP", "MNP5", 9600)
V22B_PLAIN = Connection("V22B", 2400, 2400, None, None, 9600)
V90 = Connection("V90", 28800, 48000, "LAPM", "V42B", 115200)


def texts(
    style: str,
    settings: Mapping[str, int],
    conn: Connection,
    extended: Mapping[str, Sequence[int]] = NO_EXT,
    family: str = "hayes",
) -> list[str]:
    return [line.text for line in connect_lines(style, family, settings, extended, conn)]


# --- X0 ---------------------------------------------------------------------


@pytest.mark.parametrize("style", ["hayes", "zyxel", "rockwell", "usr"])
def test_x0_is_plain_connect_in_every_style(style: str) -> None:
    settings = {"X": 0, "W": 1, "&A": 3}
    lines = connect_lines(style, "hayes", settings, NO_EXT, V34_LAPM_V42B)
    assert lines == [ResultLine("CONNECT", 1, True)]


def test_x0_keeps_the_v250_reports() -> None:
    ext = {"+MR": [1], "+ER": [1], "+DR": [1]}
    assert texts("usr", {"X": 0, "&A": 3}, V34_LAPM_V42B, ext) == [
        "+MCR: V34",
        "+MRR: 28800,28800",
        "+ER: LAPM",
        "+DR: V42B",
        "CONNECT",
    ]


def test_missing_x_counts_as_x0() -> None:
    assert texts("hayes", {}, V22B_PLAIN) == ["CONNECT"]


# --- V.250 intermediate reports ------------------------------------------------


def test_v250_reports_order_content_and_asymmetric_rates() -> None:
    ext = {"+MR": [1], "+ER": [1], "+DR": [1]}
    lines = connect_lines("hayes", "hayes", {"X": 4}, ext, V90)
    assert lines == [
        ResultLine("+MCR: V90", NO_CODE, False),
        ResultLine("+MRR: 28800,48000", NO_CODE, False),
        ResultLine("+ER: LAPM", NO_CODE, False),
        ResultLine("+DR: V42B", NO_CODE, False),
        ResultLine("CONNECT 48000", 1, True),
    ]


def test_v250_reports_mnp_is_alt() -> None:
    ext = {"+MR": [2], "+ER": [1], "+DR": [1]}
    assert texts("hayes", {"X": 4}, V22B_MNP5, ext) == [
        "+MCR: V22B",
        "+MRR: 2400,2400",
        "+ER: ALT",
        "+DR: ALT",
        "CONNECT 2400",
    ]


def test_v250_reports_none() -> None:
    ext = {"+ER": [1], "+DR": [1]}
    assert texts("hayes", {"X": 4}, V32B_PLAIN, ext) == [
        "+ER: NONE",
        "+DR: NONE",
        "CONNECT 14400",
    ]


def test_v92_carrier_printed_as_is() -> None:
    conn = Connection("V92", 31200, 50666, "LAPM", None, 115200)
    assert texts("hayes", {"X": 4}, conn, {"+MR": [1]})[:2] == [
        "+MCR: V92",
        "+MRR: 31200,50666",
    ]


def test_v250_reports_only_when_nonzero() -> None:
    ext = {"+MR": [0], "+ER": [1], "+DR": []}
    assert texts("hayes", {"X": 4}, V34_LAPM_V42B, ext) == ["+ER: LAPM", "CONNECT 28800"]


@pytest.mark.parametrize("style", ["hayes", "zyxel", "rockwell", "usr"])
def test_v250_reports_come_first_in_every_style(style: str) -> None:
    settings = {"X": 5, "W": 1, "&A": 3}
    lines = connect_lines(style, "rockwell", settings, {"+MR": [1]}, V34_LAPM_V42B)
    assert [line.text for line in lines[:2]] == ["+MCR: V34", "+MRR: 28800,28800"]
    assert lines[-1].final
    assert lines[-1].text.startswith("CONNECT")
    assert [line.final for line in lines].count(True) == 1


# --- hayes ------------------------------------------------------------------


def test_hayes_reports_rx_rate_with_its_code() -> None:
    assert connect_lines("hayes", "hayes", {"X": 4}, NO_EXT, V34_LAPM_V42B) == [
        ResultLine("CONNECT 28800", 32, True)
    ]
    assert connect_lines("hayes", "hayes", {"X": 1}, NO_EXT, V22B_PLAIN) == [
        ResultLine("CONNECT 2400", 10, True)
    ]


# --- usr --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "conn", "expected"),
    [
        (0, V34_LAPM_V42B, "CONNECT 28800"),
        (0, V22B_PLAIN, "CONNECT 2400"),
        (1, V34_LAPM_V42B, "CONNECT 28800/ARQ"),
        (1, V32B_PLAIN, "CONNECT 14400"),
        (2, V34_LAPM_V42B, "CONNECT 28800/ARQ/V34"),
        (2, V32B_MNP5, "CONNECT 14400/ARQ/V32"),
        (2, V32_LAPM, "CONNECT 9600/ARQ/V32"),
        (2, V90, "CONNECT 48000/ARQ/V90"),
        (2, V22B_MNP5, "CONNECT 2400/ARQ"),
        (2, V32B_PLAIN, "CONNECT 14400/V32"),
        (2, V22B_PLAIN, "CONNECT 2400"),
        (3, V34_LAPM_V42B, "CONNECT 28800/ARQ/V34/LAPM/V42BIS"),
        (3, V34_LAPM, "CONNECT 28800/ARQ/V34/LAPM"),
        (3, V22B_MNP5, "CONNECT 2400/ARQ/MNP/MNP5"),
        (3, V22B_PLAIN, "CONNECT 2400/NONE"),
        (3, V32B_PLAIN, "CONNECT 14400/V32/NONE"),
    ],
)
def test_usr_ampersand_a_levels(level: int, conn: Connection, expected: str) -> None:
    assert texts("usr", {"X": 1, "&A": level}, conn, family="usr") == [expected]


def test_usr_v92_indicator_is_v90() -> None:
    conn = Connection("V92", 31200, 50666, "LAPM", "V42B", 115200)
    assert texts("usr", {"X": 1, "&A": 3}, conn, family="usr") == [
        "CONNECT 50666/ARQ/V90/LAPM/V42BIS"
    ]


def test_usr_default_is_a1() -> None:
    assert texts("usr", {"X": 1}, V34_LAPM_V42B, family="usr") == ["CONNECT 28800/ARQ"]


def test_usr_numeric_codes_follow_the_rate() -> None:
    settings = {"X": 1, "&A": 3}
    assert connect_lines("usr", "usr", settings, NO_EXT, V34_LAPM_V42B) == [
        ResultLine("CONNECT 28800/ARQ/V34/LAPM/V42BIS", 107, True)
    ]
    assert connect_lines("usr", "usr", settings, NO_EXT, V32B_PLAIN) == [
        ResultLine("CONNECT 14400/V32/NONE", 25, True)
    ]


# --- zyxel ------------------------------------------------------------------


@pytest.mark.parametrize("x", [1, 2, 3, 4])
def test_zyxel_low_x_reports_dte_rate(x: int) -> None:
    assert connect_lines("zyxel", "hayes", {"X": x}, NO_EXT, V32B_MNP5) == [
        ResultLine("CONNECT 57600", 18, True)
    ]


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        (V32B_MNP5, "CONNECT 14400/ARQ/MNP5"),
        (V32B_LAPM_V42B, "CONNECT 14400/ARQ/V42b"),
        (V32_LAPM, "CONNECT 9600/ARQ/LAPM"),
        (Connection("V32", 9600, 9600, "MNP", None, 38400), "CONNECT 9600/ARQ/MNP"),
        (V22B_PLAIN, "CONNECT 2400/NONE"),
    ],
)
@pytest.mark.parametrize("x", [5, 6, 7])
def test_zyxel_high_x_reports_dce_rate_and_ec(x: int, conn: Connection, expected: str) -> None:
    assert texts("zyxel", {"X": x}, conn) == [expected]


def test_zyxel_high_x_numeric_code_is_for_dce_rate() -> None:
    assert connect_lines("zyxel", "hayes", {"X": 5}, NO_EXT, V32B_MNP5) == [
        ResultLine("CONNECT 14400/ARQ/MNP5", 13, True)
    ]


# --- rockwell ---------------------------------------------------------------


def test_rockwell_w0_dte_rate_only() -> None:
    assert connect_lines("rockwell", "rockwell", {"X": 4, "W": 0}, NO_EXT, V34_LAPM_V42B) == [
        ResultLine("CONNECT 115200", 19, True)
    ]


def test_rockwell_default_is_w0() -> None:
    assert texts("rockwell", {"X": 4}, V32B_PLAIN, family="rockwell") == ["CONNECT 19200"]


def test_rockwell_w1_reports_carrier_protocol_compression() -> None:
    settings = {"X": 4, "W": 1}
    assert connect_lines("rockwell", "rockwell", settings, NO_EXT, V34_LAPM_V42B) == [
        ResultLine("CARRIER 28800", NO_CODE, False),
        ResultLine("PROTOCOL: LAPM", NO_CODE, False),
        ResultLine("COMPRESSION: V.42BIS", NO_CODE, False),
        ResultLine("CONNECT 115200", 19, True),
    ]
    assert texts("rockwell", settings, V22B_MNP5, family="rockwell") == [
        "CARRIER 2400",
        "PROTOCOL: ALT",
        "COMPRESSION: CLASS 5",
        "CONNECT 9600",
    ]
    assert texts("rockwell", settings, V32B_PLAIN, family="rockwell") == [
        "CARRIER 14400",
        "PROTOCOL: NONE",
        "COMPRESSION: NONE",
        "CONNECT 19200",
    ]


def test_rockwell_w1_after_v250_reports() -> None:
    ext = {"+MR": [1], "+ER": [1], "+DR": [1]}
    assert texts("rockwell", {"X": 4, "W": 1}, V90, ext, family="rockwell") == [
        "+MCR: V90",
        "+MRR: 28800,48000",
        "+ER: LAPM",
        "+DR: V42B",
        "CARRIER 48000",
        "PROTOCOL: LAPM",
        "COMPRESSION: V.42BIS",
        "CONNECT 115200",
    ]


def test_rockwell_w2_dce_rate() -> None:
    assert connect_lines("rockwell", "rockwell", {"X": 4, "W": 2}, NO_EXT, V32B_PLAIN) == [
        ResultLine("CONNECT 14400", 15, True)
    ]


# --- errors -----------------------------------------------------------------


def test_unknown_style_is_named() -> None:
    with pytest.raises(ValueError, match="'courier'"):
        connect_lines("courier", "usr", {"X": 1}, NO_EXT, V34_LAPM_V42B)


@pytest.mark.parametrize(
    "conn",
    [
        Connection("K56", 28800, 48000, "LAPM", None, 115200),
        Connection("V34", 28800, 28800, "V42", None, 115200),
        Connection("V34", 28800, 28800, "LAPM", "V44", 115200),
        Connection("V34", 28800, 28800, "MNP", "V42B", 115200),
        Connection("V34", 28800, 28800, None, "MNP5", 115200),
    ],
)
def test_impossible_connections_are_refused(conn: Connection) -> None:
    with pytest.raises(ValueError):
        connect_lines("hayes", "hayes", {"X": 4}, NO_EXT, conn)


@pytest.mark.parametrize(("style", "key"), [("usr", "&A"), ("rockwell", "W")])
def test_unknown_levels_are_refused(style: str, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        connect_lines(style, "hayes", {"X": 4, key: 9}, NO_EXT, V34_LAPM_V42B)
