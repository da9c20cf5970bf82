"""The result lines a modem prints when a call connects, per maker family.

Makers never agreed on the CONNECT wording: USR (&A), ZyXEL (X) and Rockwell (W)
each grew their own, and V.250 added +MCR/+MRR/+ER/+DR reports on top. Software
in the field (chat scripts, BBS doors, PPP dialers) parses these texts, so each
profile names the style it speaks and this module renders it. Sans-I/O: it only
returns lines; the caller frames them (V, Q, S3/S4) with `results.frame_result`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from modememu.at.results import Result, connect_code

# Numeric code for lines that have no numeric form (V.250 +MCR/+MRR/+ER/+DR and
# Rockwell's CARRIER/PROTOCOL/COMPRESSION). A modem in V0 still prints them as
# text, so the framer must send `text` whatever the mode when code is NO_CODE.
NO_CODE = -1

CARRIERS = frozenset(
    {"B103", "V21", "V23C", "B212", "V22", "V22B", "V32", "V32B", "V34", "V90", "V92"}
)

# USR &A2/&A3 modulation indicator; carriers of 2400 bit/s and below have none.
_USR_MODULATION: dict[str, str] = {
    "V32": "V32", "V32B": "V32", "V34": "V34", "V90": "V90", "V92": "V90",
}  # fmt: skip

# Which error control each compression rides on (V.42bis needs LAPM, MNP5 needs MNP).
_COMPRESSION_NEEDS: dict[str, str] = {"V42B": "LAPM", "MNP5": "MNP"}

_V250_ER = {"LAPM": "LAPM", "MNP": "ALT", None: "NONE"}
_V250_DR = {"V42B": "V42B", "MNP5": "ALT", None: "NONE"}
_USR_PROTOCOL = {"LAPM": "LAPM", "MNP": "MNP"}
_USR_COMPRESSION = {"V42B": "V42BIS", "MNP5": "MNP5"}
_ZYXEL_FIELD = {"V42B": "V42b", "MNP5": "MNP5", "LAPM": "LAPM", "MNP": "MNP"}
_ROCKWELL_PROTOCOL = {"LAPM": "LAPM", "MNP": "ALT", None: "NONE"}
_ROCKWELL_COMPRESSION = {"V42B": "V.42BIS", "MNP5": "CLASS 5", None: "NONE"}

STYLES = ("hayes", "zyxel", "rockwell", "usr")


@dataclass(frozen=True, slots=True)
class Connection:
    """What the call settled, as this modem sees it."""

    carrier: str  # +MS carrier name: "B103", "V21", ..., "V92"
    tx_rate: int  # bit/s this modem transmits
    rx_rate: int  # bit/s this modem receives
    error_control: str | None  # "LAPM", "MNP" or None
    compression: str | None  # "V42B", "MNP5" or None
    dte_rate: int  # the serial port's rate, bit/s


@dataclass(frozen=True, slots=True)
class ResultLine:
    """One line to print; `code` is the V0 form (NO_CODE when it has none)."""

    text: str
    code: int
    final: bool  # True only for the CONNECT line itself


def connect_lines(
    style: str,
    family: str,
    settings: Mapping[str, int],
    extended: Mapping[str, Sequence[int]],
    conn: Connection,
) -> list[ResultLine]:
    """Every line the modem prints on connecting: intermediate reports, then CONNECT.

    `style` is the profile's connect_style (the wording), `family` its
    result_family (the numeric CONNECT table).
    """
    if style not in STYLES:
        raise ValueError(f"unknown connect style {style!r}")
    _check(conn)
    lines = _v250_reports(extended, conn)
    if settings.get("X", 0) == 0:
        # X0 is the Smartmodem 300 result set: plain CONNECT in every family.
        return [*lines, _final("CONNECT", int(Result.CONNECT))]
    if style == "hayes":
        lines.append(_connect(family, conn.rx_rate))
    elif style == "usr":
        lines.append(_usr(family, settings.get("&A", 1), conn))
    elif style == "zyxel":
        lines.append(_zyxel(family, settings["X"], conn))
    else:
        lines.extend(_rockwell(family, settings.get("W", 0), conn))
    return lines


def _check(conn: Connection) -> None:
    """Refuse a connection no modem could report, rather than print nonsense."""
    if conn.carrier not in CARRIERS:
        raise ValueError(f"unknown carrier {conn.carrier!r}")
    if conn.error_control not in (None, "LAPM", "MNP"):
        raise ValueError(f"unknown error control {conn.error_control!r}")
    if conn.compression is not None:
        needs = _COMPRESSION_NEEDS.get(conn.compression)
        if needs is None:
            raise ValueError(f"unknown compression {conn.compression!r}")
        if conn.error_control != needs:
            raise ValueError(f"{conn.compression} compression needs {needs} error control")


def _enabled(extended: Mapping[str, Sequence[int]], name: str) -> bool:
    """An extended report is on when the profile has it and its first value is nonzero."""
    values = extended.get(name)
    return values is not None and len(values) > 0 and values[0] != 0


def _v250_reports(extended: Mapping[str, Sequence[int]], conn: Connection) -> list[ResultLine]:
    """V.250 intermediate reports, in the order the standard gives: +MR, +ER, +DR."""
    texts: list[str] = []
    if _enabled(extended, "+MR"):
        texts += [f"+MCR: {conn.carrier}", f"+MRR: {conn.tx_rate},{conn.rx_rate}"]
    if _enabled(extended, "+ER"):
        texts.append(f"+ER: {_V250_ER[conn.error_control]}")
    if _enabled(extended, "+DR"):
        texts.append(f"+DR: {_V250_DR[conn.compression]}")
    return [ResultLine(text, NO_CODE, False) for text in texts]


def _final(text: str, code: int) -> ResultLine:
    return ResultLine(text, code, True)


def _connect(family: str, rate: int, suffix: str = "") -> ResultLine:
    """`CONNECT <rate><suffix>`; the numeric code depends on the rate only."""
    return _final(f"CONNECT {rate}{suffix}", connect_code(family, rate))


def _usr(family: str, level: int, conn: Connection) -> ResultLine:
    """USR &A0-&A3: each level adds detail (ARQ, modulation, protocol/compression)."""
    if level not in (0, 1, 2, 3):
        raise ValueError(f"unknown USR &A level {level}")
    ec = conn.error_control
    parts: list[str] = []
    if level >= 1 and ec is not None:
        parts.append("ARQ")
    if level >= 2 and conn.carrier in _USR_MODULATION:
        parts.append(_USR_MODULATION[conn.carrier])
    if level >= 3:
        parts.append(_USR_PROTOCOL[ec] if ec is not None else "NONE")
        if conn.compression is not None:
            parts.append(_USR_COMPRESSION[conn.compression])
    return _connect(family, conn.rx_rate, "".join(f"/{p}" for p in parts))


def _zyxel(family: str, x: int, conn: Connection) -> ResultLine:
    """ZyXEL chart: X1-X4 give the DTE speed, X5 and up the DCE speed with EC fields."""
    if x < 5:
        return _connect(family, conn.dte_rate)
    if conn.error_control is None:
        return _connect(family, conn.rx_rate, "/NONE")
    field = _ZYXEL_FIELD[conn.compression or conn.error_control]
    return _connect(family, conn.rx_rate, f"/ARQ/{field}")


def _rockwell(family: str, w: int, conn: Connection) -> list[ResultLine]:
    """Rockwell W0 DTE rate only, W1 CARRIER/PROTOCOL/COMPRESSION first, W2 DCE rate."""
    if w == 0:
        return [_connect(family, conn.dte_rate)]
    if w == 1:
        reports = [
            f"CARRIER {conn.rx_rate}",
            f"PROTOCOL: {_ROCKWELL_PROTOCOL[conn.error_control]}",
            f"COMPRESSION: {_ROCKWELL_COMPRESSION[conn.compression]}",
        ]
        lines = [ResultLine(text, NO_CODE, False) for text in reports]
        return [*lines, _connect(family, conn.dte_rate)]
    if w == 2:
        return [_connect(family, conn.rx_rate)]
    raise ValueError(f"unknown Rockwell W level {w}")
