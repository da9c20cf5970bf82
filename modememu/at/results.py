"""Result codes and how they are framed for the DTE (V.250 §5.7, Q/V/S3/S4).

Numeric codes for CONNECT <rate> differ by maker: each family's table is data
here, and the profile names its family.
"""

from __future__ import annotations

from enum import IntEnum


class Result(IntEnum):
    OK = 0
    CONNECT = 1
    RING = 2
    NO_CARRIER = 3
    ERROR = 4
    NO_DIALTONE = 6
    BUSY = 7
    NO_ANSWER = 8

    @property
    def text(self) -> str:
        return self.name.replace("_", " ")


# CONNECT <rate> numeric codes per family (at-commands.md §4.3).
CONNECT_CODES: dict[str, dict[int, int]] = {
    "hayes": {
        1200: 5, 2400: 10, 4800: 11, 7200: 24, 9600: 12, 12000: 25, 14400: 13,
        16800: 15, 19200: 14, 21600: 29, 24000: 30, 26400: 31, 28800: 32,
        33600: 35, 38400: 28, 57600: 18, 115200: 33,
    },
    "rockwell": {
        600: 9, 1200: 5, 2400: 10, 4800: 11, 7200: 13, 9600: 12, 12000: 14,
        14400: 15, 19200: 16, 38400: 17, 57600: 18, 115200: 19, 230400: 20,
    },
    "usr": {
        1200: 5, 2400: 10, 4800: 18, 7200: 20, 9600: 13, 12000: 21, 14400: 25,
        16800: 43, 19200: 85, 21600: 91, 24000: 99, 26400: 103, 28800: 107,
    },
}  # fmt: skip


def connect_code(family: str, rate: int | None) -> int:
    """Numeric code for CONNECT at `rate` (plain CONNECT, 1, when the family has none)."""
    if rate is None:
        return int(Result.CONNECT)
    return CONNECT_CODES[family].get(rate, int(Result.CONNECT))


def frame_result(text: str, code: int, *, verbose: bool, s3: int, s4: int) -> bytes:
    """A final or unsolicited result: `<S3><S4>TEXT<S3><S4>` verbose, `n<S3>` numeric."""
    cr, lf = chr(s3), chr(s4)
    if verbose:
        return f"{cr}{lf}{text}{cr}{lf}".encode("latin-1")
    return f"{code}{cr}".encode("latin-1")


def frame_info(lines: list[str], *, verbose: bool, s3: int, s4: int) -> bytes:
    """Information text: a header line break in verbose mode, each line ended S3 S4."""
    cr, lf = chr(s3), chr(s4)
    body = "".join(f"{line}{cr}{lf}" for line in lines)
    return (f"{cr}{lf}{body}" if verbose else body).encode("latin-1", "replace")
